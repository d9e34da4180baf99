/**
 * An order saga with every kind of step: reserve stock (compensated), a
 * parallel group (charge payment | book shipping → print label), a goto loop
 * polling a fraud review, a wait for the customer's confirmation event, and a
 * sleep. Two runs: one completes, and one where the label printer fails and
 * everything that completed is compensated, in reverse order.
 *
 * Run:  npm run example:order
 */
import { SagaFailedError } from '../src/index.js';
import { createFakeOrderServices, createOrderSaga, type OrderInput } from '../machines/order.saga.js';
import { printObservations } from './print-observations.js';

const services = createFakeOrderServices({ log: (line) => console.log(`                 service ${line}`), fraudPolls: 3 });
const order = createOrderSaga(services);

async function placeOrder(title: string, input: OrderInput): Promise<void> {
  console.log(`\n=== ${title}`);
  const handle = await order.start(input, { observer: printObservations(), sagaId: input.orderId });
  // The customer confirms a little later; the saga waits for it at `confirmation`.
  // An event sent before the saga waits for it is kept, and one sent after it ended is ignored.
  const confirm = setTimeout(() => {
    console.log('                 (customer sends order.confirmed)');
    void handle.send('order.confirmed', { confirmedBy: 'alice@example.com' });
  }, 150);
  try {
    const results = await handle.result;
    console.log(`completed: ${results.notifyCustomer.message}`);
    console.log(`fraud review polled until "${results.checkFraud.status}"; payment ${results.chargePayment.paymentId}`);
  } catch (error) {
    if (!(error instanceof SagaFailedError)) throw error;
    console.log(`rolled back: step ${error.step} failed (${error.error?.message}); status ${error.status}`);
    console.log(`compensated, newest first: ${error.report.compensated.join(' → ')}; still undone: [${error.report.undone.join(', ')}]`);
  } finally {
    clearTimeout(confirm);
  }
}

await placeOrder('an order that completes', { orderId: 'order-1', sku: 'mug', quantity: 2, amountCents: 2_400 });
await placeOrder('an order whose label cannot be printed', { orderId: 'order-2', sku: 'teapot', quantity: 1, amountCents: 3_900, failLabel: true });
