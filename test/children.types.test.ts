import { describe, expectTypeOf, it } from 'vitest';
import { saga } from '../src/index.js';

const payment = saga('payment')
  .input<{ amount: number }>()
  .step('charge', ({ input }) => ({ chargeId: 'c', amount: input.amount }))
  .build();

describe('child steps: types', () => {
  it("types results[name] as the child saga's results", () => {
    saga('order')
      .input<{ total: number }>()
      .child('payment', payment, ({ input }) => ({ amount: input.total }))
      .step('ship', ({ results }) => {
        expectTypeOf(results.payment).toEqualTypeOf<{ charge: { chargeId: string; amount: number } }>();
        return results.payment.charge.chargeId;
      });
  });

  it("checks the child's input against the child saga's input type", () => {
    // @ts-expect-error: amount must be a number
    saga('order').input<{ total: string }>().child('payment', payment, ({ input }) => ({ amount: input.total }));
    saga('order')
      .step('quote', () => 12)
      .child('payment', payment, ({ results }) => {
        expectTypeOf(results.quote).toEqualTypeOf<number>();
        return { amount: results.quote };
      });
  });

  it('refuses a name already used, and a misspelt result', () => {
    // @ts-expect-error: the name is taken
    saga('order').step('payment', () => 1).child('payment', payment, () => ({ amount: 1 }));
    saga('order')
      .child('payment', payment, () => ({ amount: 1 }))
      // @ts-expect-error: there is no step "paymnet"
      .step('ship', ({ results }) => results.paymnet);
  });
});
