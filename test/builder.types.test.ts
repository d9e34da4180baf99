import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { saga } from '../src/index.js';

describe('builder types', () => {
  it('types each step result from its function, with no casts', () => {
    saga('t')
      .input<{ amount: number }>()
      .step('rates', async () => ({ USD: 3.2 }))
      .step('base', ({ input, results }) => {
        expectTypeOf(input).toEqualTypeOf<{ amount: number }>();
        expectTypeOf(results.rates).toEqualTypeOf<{ USD: number }>();
        return input.amount * results.rates.USD;
      })
      .step('label', ({ results }) => {
        expectTypeOf(results.base).toEqualTypeOf<number>();
        return `${results.base}`;
      });
  });

  it('resolves run() with every step result', () => {
    const s = saga('t').step('a', () => 1).step('b', async () => 'x').build();
    expectTypeOf(s.run).returns.resolves.toEqualTypeOf<{ a: number; b: string }>();
  });

  it('rejects an unknown step name in results', () => {
    saga('t')
      .step('a', () => 1)
      .step('b', ({ results }) => {
        // @ts-expect-error: no step "c" was declared before
        return results.c;
      });
  });

  it('rejects a wrong result type', () => {
    saga('t')
      .step('a', () => 'text')
      .step('b', ({ results }) => {
        // @ts-expect-error: results.a is a string
        const n: number = results.a;
        return n;
      });
  });

  it('rejects a duplicate step name', () => {
    saga('t')
      .step('a', () => 1)
      // @ts-expect-error: "a" is already declared
      .step('a', () => 2);
  });

  it('gives a compensation the result of the step it follows', () => {
    saga('t')
      .step('file', () => ({ path: '/tmp/x' }))
      .compensate(({ result }) => {
        expectTypeOf(result).toEqualTypeOf<{ path: string }>();
      })
      .step('other', () => 1, {
        compensate: ({ result }) => {
          expectTypeOf(result).toEqualTypeOf<number>();
        },
      });
  });

  it('merges the results of every parallel branch after the group', () => {
    saga('t')
      .step('order', () => 'o')
      .parallel('book', {
        hotel: (b) => b.step('hotel', ({ results }) => {
          expectTypeOf(results.order).toEqualTypeOf<string>();
          return 1;
        }),
        flight: (b) => b.step('flight', () => true).step('seat', ({ results }) => {
          expectTypeOf(results.flight).toEqualTypeOf<boolean>();
          // @ts-expect-error: a sibling branch's result is not available inside the branch
          void results.hotel;
          return 'A';
        }),
      })
      .step('done', ({ results }) => {
        expectTypeOf(results.hotel).toEqualTypeOf<number>();
        expectTypeOf(results.seat).toEqualTypeOf<string>();
        return null;
      });
  });

  it('types goto targets as earlier steps (or the step itself)', () => {
    saga('t')
      .step('a', () => 1)
      .step('b', () => 2, { goto: { targets: ['a', 'b'], decide: ({ result }) => (result > 1 ? 'a' : null) } });
    saga('t')
      .step('a', () => 1)
      // @ts-expect-error: "z" is not a step
      .step('b', () => 2, { goto: { targets: ['z'], decide: () => null } });
  });

  it('infers the input from a schema and a waited payload from its schema', () => {
    saga('t')
      .input(z.object({ id: z.string() }))
      .waitFor('payment', { event: 'paid', schema: z.object({ ref: z.string() }) })
      .step('x', ({ input, results }) => {
        expectTypeOf(input).toEqualTypeOf<{ id: string }>();
        expectTypeOf(results.payment).toEqualTypeOf<{ ref: string }>();
      });
  });
});
