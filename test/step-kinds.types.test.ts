import { describe, expectTypeOf, it, type Assertion } from 'vitest';
import { saga, type ErrorRecord } from '../src/index.js';
import type { ExploreReport } from '../src/testing.js';

describe('step kinds: types', () => {
  it('types the compensation of a step declared compensateOnFailure as result or error', () => {
    saga('t').step('charge', () => ({ paymentId: 'p' }), {
      compensateOnFailure: true,
      compensate: (ctx) => {
        if (ctx.failed) {
          expectTypeOf(ctx.error).toEqualTypeOf<ErrorRecord>();
          expectTypeOf(ctx.result).toEqualTypeOf<undefined>();
        } else {
          expectTypeOf(ctx.result).toEqualTypeOf<{ paymentId: string }>();
          expectTypeOf(ctx.error).toEqualTypeOf<undefined>();
        }
      },
    });
  });

  it('keeps the plain result for an ordinary compensation', () => {
    saga('t').step('charge', () => 42, {
      compensate: (ctx) => {
        expectTypeOf(ctx.result).toEqualTypeOf<number>();
        // @ts-expect-error: only a compensateOnFailure compensation receives an error
        void ctx.failed;
      },
    });
  });

  it('takes pivot: boolean and retry: "forever" (or an Infinity policy), nothing else', () => {
    saga('t').step('ship', () => 1, { pivot: true }).step('notify', () => 2, { retry: 'forever' }).step('close', () => 3, { retry: { maxAttempts: Infinity } });
    // @ts-expect-error: pivot is a boolean
    saga('t').step('ship', () => 1, { pivot: 'yes' });
    // @ts-expect-error: retry takes a number, a policy or 'forever'
    saga('t').step('notify', () => 1, { retry: 'always' });
    // @ts-expect-error: compensateOnFailure needs a boolean
    saga('t').step('charge', () => 1, { compensateOnFailure: 1, compensate: () => {} });
  });

  it('adds toHaveNoViolations to vitest assertions', () => {
    expectTypeOf<Assertion<ExploreReport>>().toHaveProperty('toHaveNoViolations').toEqualTypeOf<() => ExploreReport>();
  });
});
