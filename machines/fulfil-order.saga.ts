/**
 * Composition: an order that runs a payment as a child saga, then reserves
 * stock for each line item, 5 at a time. The child step (`payment`) and the map
 * (`lines`) are states of their own kind in the chart. A line the warehouse
 * cannot reserve for good releases every reservation already made (newest
 * first), refunds the payment by rolling the completed child saga back (the
 * child ends `compensated`), and cancels the order.
 */
import { NonRetryableError, saga } from '../src/index.js';

export interface LineItem {
  sku: string;
  quantity: number;
}

/** More than this many units of one line cannot be reserved. */
export const MAX_QUANTITY = 100;

/** The child saga: authorise, then capture; each is undone if the parent rolls back. */
export const orderPayment = saga('order-payment')
  .input<{ orderId: string; amountCents: number }>()
  .step('authorise', ({ input }) => ({ authorisation: `A-${input.orderId}`, amountCents: input.amountCents }), { compensate: () => {} })
  .step('capture', ({ results }) => ({ paymentId: `P-${results.authorise.authorisation}` }), { retry: 2, compensate: () => {} })
  .build();

export const fulfilOrder = saga('fulfil-order')
  .input<{ orderId: string; amountCents: number; lines: LineItem[] }>()
  .step('openOrder', ({ input }) => ({ orderId: input.orderId }), { compensate: () => {} })
  .child('payment', orderPayment, ({ input }) => ({ orderId: input.orderId, amountCents: input.amountCents }))
  .map(
    'lines',
    ({ input }) => input.lines,
    (b) =>
      b.step(
        'reserve',
        ({ item }) => {
          if (item.quantity > MAX_QUANTITY) throw new NonRetryableError(`cannot reserve ${item.quantity} × ${item.sku}`);
          return { reservation: `R-${item.sku}` };
        },
        { retry: 2, compensate: () => {} },
      ),
    { concurrency: 5 },
  )
  .step('confirm', ({ results }) => `paid ${results.payment.capture.paymentId}, ${results.lines.length} lines reserved`)
  .build();
