/**
 * An order saga that uses every kind of step: a compensated step, a parallel
 * group (payment | a 2-step shipping branch), a goto loop that polls a fraud
 * review, a wait for a confirmation event, and a sleep. The services it talks
 * to are injected, so the example can watch them and the machines/ snapshot
 * needs none.
 */
import { z } from 'zod';
import { dependency, NonRetryableError, saga } from '../src/index.js';

export interface OrderInput {
  orderId: string;
  sku: string;
  quantity: number;
  amountCents: number;
  /** Makes the label printer refuse the order, to show the rollback. */
  failLabel?: boolean;
}

/** What the saga needs from the outside world. Each call receives the step's abort signal. */
export interface OrderServices {
  reserveStock(sku: string, quantity: number): Promise<{ reservationId: string }>;
  releaseStock(reservationId: string): Promise<void>;
  charge(orderId: string, amountCents: number, signal: AbortSignal): Promise<{ paymentId: string }>;
  refund(paymentId: string): Promise<void>;
  bookShipping(orderId: string, signal: AbortSignal): Promise<{ shipmentId: string }>;
  cancelShipping(shipmentId: string): Promise<void>;
  printLabel(shipmentId: string, fail: boolean): Promise<{ labelUrl: string }>;
  /** `pending` until the review is done: the saga polls it with a goto loop. */
  fraudReview(orderId: string): Promise<{ status: 'pending' | 'cleared' | 'rejected' }>;
  /** Readiness: resolves when the payment provider answers. */
  pingPayments(): Promise<void>;
}

/** The confirmation a customer sends (`handle.send('order.confirmed', …)`), validated by zod. */
export const OrderConfirmation = z.object({ confirmedBy: z.string().min(1) });

/** Most polls of the fraud review before the saga gives up (and rolls back). */
export const FRAUD_MAX_VISITS = 5;

/**
 * Declares the order saga over the given services.
 *
 * @example
 * ```ts
 * const order = createOrderSaga(createFakeOrderServices());
 * const handle = await order.start({ orderId: 'o-1', sku: 'mug', quantity: 2, amountCents: 2_400 });
 * await handle.send('order.confirmed', { confirmedBy: 'alice' });
 * await handle.result;
 * ```
 */
export function createOrderSaga(services: OrderServices) {
  const payments = dependency('payments', () => services.pingPayments());
  return saga('order')
    .input<OrderInput>()
    .step('reserveStock', ({ input }) => services.reserveStock(input.sku, input.quantity), {
      compensate: ({ result }) => services.releaseStock(result.reservationId),
    })
    .parallel('fulfil', {
      payment: (b) =>
        b.step('chargePayment', ({ input, signal }) => services.charge(input.orderId, input.amountCents, signal), {
          retry: { maxAttempts: 3, delayMs: 50 },
          uses: [payments],
          compensate: ({ result }) => services.refund(result.paymentId),
        }),
      shipping: (b) =>
        b
          .step('bookShipping', ({ input, signal }) => services.bookShipping(input.orderId, signal), {
            compensate: ({ result }) => services.cancelShipping(result.shipmentId),
          })
          .step('printLabel', ({ input, results }) => services.printLabel(results.bookShipping.shipmentId, input.failLabel === true)),
    })
    .step('checkFraud', ({ input }) => services.fraudReview(input.orderId), {
      goto: {
        targets: ['checkFraud'],
        // Poll again while the review is pending; FRAUD_MAX_VISITS bounds the loop.
        decide: ({ result }) => (result.status === 'pending' ? 'checkFraud' : null),
        maxVisits: FRAUD_MAX_VISITS,
      },
    })
    .step('assertNotFraud', ({ results }) => {
      if (results.checkFraud.status === 'rejected') throw new NonRetryableError('the fraud review rejected the order');
      return { cleared: true };
    })
    .waitFor('confirmation', { event: 'order.confirmed', timeoutMs: 5_000, schema: OrderConfirmation })
    // Gives the customer a short window to change their mind before the parcel leaves.
    .sleep('pickupWindow', 100)
    .step('notifyCustomer', ({ input, results }) => ({
      message: `order ${input.orderId} confirmed by ${results.confirmation.confirmedBy} ships with label ${results.printLabel.labelUrl}`,
    }))
    .build();
}

/**
 * In-memory services with small delays: the fraud review clears after
 * `fraudPolls` polls; every call is reported to `log`.
 *
 * @example
 * ```ts
 * const services = createFakeOrderServices({ log: console.log, fraudPolls: 3 });
 * ```
 */
export function createFakeOrderServices(options: { log?: (line: string) => void; fraudPolls?: number } = {}): OrderServices {
  const log = options.log ?? (() => {});
  const polls = new Map<string, number>();
  let seq = 0;
  const delay = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
    });
  return {
    async reserveStock(sku, quantity) {
      await delay(5);
      log(`inventory: reserved ${quantity} × ${sku}`);
      return { reservationId: `r-${++seq}` };
    },
    async releaseStock(id) {
      log(`inventory: released ${id}`);
    },
    async charge(orderId, amountCents, signal) {
      await delay(10, signal);
      log(`payments: charged ${(amountCents / 100).toFixed(2)} for ${orderId}`);
      return { paymentId: `p-${++seq}` };
    },
    async refund(id) {
      log(`payments: refunded ${id}`);
    },
    async bookShipping(orderId, signal) {
      await delay(20, signal);
      log(`shipping: booked a carrier for ${orderId}`);
      return { shipmentId: `s-${++seq}` };
    },
    async cancelShipping(id) {
      log(`shipping: cancelled ${id}`);
    },
    async printLabel(shipmentId, fail) {
      await delay(10);
      if (fail) throw new NonRetryableError(`the label printer refused shipment ${shipmentId}`);
      return { labelUrl: `https://labels.example/${shipmentId}.pdf` };
    },
    async fraudReview(orderId) {
      const count = (polls.get(orderId) ?? 0) + 1;
      polls.set(orderId, count);
      await delay(5);
      return { status: count < (options.fraudPolls ?? 1) ? 'pending' : 'cleared' };
    },
    async pingPayments() {},
  };
}

/** The saga over in-memory services, as `machines/` records it. */
export const order = createOrderSaga(createFakeOrderServices());
