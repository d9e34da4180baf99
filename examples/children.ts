/**
 * Child sagas: an order saga starts a payment saga and a shipping saga as
 * children. Each child is a saga of its own (own record, lease and history,
 * linked to the order). The second order's shipping fails, so the order rolls
 * back: its completed payment child is asked to roll back too, and refunds.
 *
 * Run:  npm run example:children
 * It runs on the embedded SQLite default (.orsa/orsa.db) in a temporary directory.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, NonRetryableError, saga, SagaFailedError } from '../src/index.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Order = { orderId: string; amount: number; address: string };

const payment = saga('payment')
  .input<{ orderId: string; amount: number }>()
  .step('authorize', async ({ input }) => (await pause(50), { authId: `auth-${input.orderId}` }), {
    compensate: ({ result }) => void console.log(`    ⤺ payment: release authorization ${result.authId}`),
  })
  .step('capture', async ({ input, idempotencyKey }) => (await pause(50), { chargeId: `ch-${input.orderId}`, amount: input.amount, key: idempotencyKey }), {
    compensate: ({ result }) => void console.log(`    ⤺ payment: refund ${result.amount} (charge ${result.chargeId})`),
  })
  .build();

const shipping = saga('shipping')
  .input<{ orderId: string; address: string }>()
  .step('book', async ({ input }) => (await pause(50), { bookingId: `bk-${input.orderId}` }), {
    compensate: ({ result }) => void console.log(`    ⤺ shipping: cancel booking ${result.bookingId}`),
  })
  .step('label', async ({ input }) => {
    await pause(50);
    if (input.address.includes('Atlantis')) throw new NonRetryableError(`no courier delivers to ${input.address}`);
    return { tracking: `TR-${input.orderId}` };
  })
  .build();

const order = saga('order')
  .input<Order>()
  .step('reserve', async ({ input }) => (await pause(30), { reservation: `res-${input.orderId}` }), {
    compensate: ({ result }) => void console.log(`    ⤺ order: release stock ${result.reservation}`),
  })
  .child('payment', payment, ({ input }) => ({ orderId: input.orderId, amount: input.amount }))
  .child('shipping', shipping, ({ input }) => ({ orderId: input.orderId, address: input.address }))
  .step('confirm', ({ results }) => `paid by ${results.payment.capture.chargeId}, tracking ${results.shipping.label.tracking}`)
  .build();

process.chdir(mkdtempSync(join(tmpdir(), 'orsa-children-')));
const runtime = createRuntime({ sagas: [order], pollIntervalMs: 100 });
await runtime.start();

for (const input of [
  { orderId: 'order-1', amount: 120, address: '1 Main St' },
  { orderId: 'order-2', amount: 80, address: '7 Deep Sea Rd, Atlantis' },
]) {
  console.log(`\n${input.orderId}: ${input.amount} to ${input.address}`);
  const { id } = await runtime.startSaga(order, input, { id: input.orderId });
  try {
    const results = await runtime.result<{ confirm: string }>(id);
    console.log(`  ✔ ${id} completed: ${results.confirm}`);
  } catch (error) {
    if (!(error instanceof SagaFailedError)) throw error;
    console.log(`  ✘ ${id} ${error.status}: step "${error.step}" failed: ${error.error?.message}`);
    console.log(`    undone, newest first: ${error.report.compensated.join(', ')}`);
  }
  // The children are sagas of their own, linked to the order.
  const children = await runtime.list({ parentId: id });
  for (const child of children.sort((a, b) => a.id.localeCompare(b.id))) {
    // A completed child waits for its parent's end (it may still be rolled back); the order's end releases it.
    await runtime.result(child.id).catch(() => {});
    child.status = (await runtime.get(child.id))!.status;
    const history = await runtime.history(child.id);
    console.log(`  child ${child.id} (${child.sagaName}): ${child.status}; ${history.map((e) => e.type + (e.step ? ` ${e.step}` : '')).join(' → ')}`);
  }
}

await runtime.stop();
console.log(`\nThe store is in ${process.cwd()}/.orsa/orsa.db: npx orsa show order-2 --db ${process.cwd()}/.orsa/orsa.db`);
