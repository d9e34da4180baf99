import { describe, expectTypeOf, it } from 'vitest';
import { saga, type SagaDefinition } from '../src/index.js';

describe('map: types', () => {
  it('types each element of the result as the branch results, and the item in every step and compensation', () => {
    const def = saga('t')
      .input<{ orders: { sku: string; qty: number }[] }>()
      .step('batch', () => ({ id: 'b-1' }))
      .map('ship', ({ input }) => input.orders, (b) => b
        .step('reserve', ({ item, index, results }) => {
          expectTypeOf(item).toEqualTypeOf<{ sku: string; qty: number }>();
          expectTypeOf(index).toEqualTypeOf<number>();
          expectTypeOf(results.batch).toEqualTypeOf<{ id: string }>();
          return { reservation: `${results.batch.id}:${item.sku}` };
        })
        .compensate(({ result, item }) => {
          expectTypeOf(result).toEqualTypeOf<{ reservation: string }>();
          expectTypeOf(item.qty).toEqualTypeOf<number>();
        })
        .step('charge', async ({ results }) => {
          expectTypeOf(results.reserve).toEqualTypeOf<{ reservation: string }>();
          return 42;
        }, { compensate: ({ result }) => expectTypeOf(result).toEqualTypeOf<number>() }), { concurrency: 5 })
      .step('after', ({ results }) => {
        expectTypeOf(results.ship).toEqualTypeOf<{ reserve: { reservation: string }; charge: number }[]>();
        return results.ship.length;
      })
      .build();
    expectTypeOf(def).toEqualTypeOf<
      SagaDefinition<{ orders: { sku: string; qty: number }[] }, { batch: { id: string }; ship: { reserve: { reservation: string }; charge: number }[]; after: number }>
    >();
  });

  it('refuses, at compile time, other kinds in a branch and a reused name', () => {
    saga('t').map('m', () => [1], (b) =>
      // @ts-expect-error: a map branch holds plain steps only
      b.waitFor('w', { event: 'e' }),
    );
    saga('t').map('m', () => [1], (b) =>
      // @ts-expect-error: a map branch holds plain steps only
      b.sleep('z', 10),
    );
    // @ts-expect-error: step names are unique in a saga, branches included
    saga('t').step('x', () => 1).map('m', () => [1], (b) => b.step('x', () => 2));
    // @ts-expect-error: goto is not an option of a branch step
    saga('t').map('m', () => [1], (b) => b.step('x', () => 2, { goto: { targets: ['x'], decide: () => null } }));
  });
});
