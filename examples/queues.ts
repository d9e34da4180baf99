/**
 * Queues with limits: orders of three customers, at most two orders at a
 * time and one per customer, started by priority. Two workers share one
 * SQLite file; each order waits for a "packed" event, so it holds its slot
 * while it waits. The output shows which orders ran, in which order, and
 * that no customer ever had two at once.
 *
 * Run:  npm run example:queues
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRuntime, saga } from '../src/index.js';
import { SqliteStore } from '../src/sqlite.js';

type Order = { orderId: string; customerId: string };
const running = new Map<string, number>();

const order = saga('order')
  .input<Order>()
  .limits({ concurrency: 2, key: (o) => o.customerId, perKey: { concurrency: 1 } })
  .step('reserve', ({ input }) => {
    running.set(input.customerId, (running.get(input.customerId) ?? 0) + 1);
    const now = [...running.entries()].filter(([, n]) => n > 0).map(([c, n]) => `${c}×${n}`).join(' ');
    console.log(`  start ${input.orderId} (${input.customerId})   running now: ${now}`);
    return { reserved: true };
  })
  .waitFor('packed', { event: 'packed' })
  .step('ship', ({ input }) => {
    running.set(input.customerId, running.get(input.customerId)! - 1);
    return { shipped: input.orderId };
  })
  .build();

const dir = mkdtempSync(join(tmpdir(), 'orsa-queues-'));
const path = join(dir, 'orsa.db');
const workers = ['A', 'B'].map((w) => createRuntime({ sagas: [order], store: new SqliteStore({ path }), workerId: w, pollIntervalMs: 100 }));
try {
  const orders: [string, string, number][] = [
    ['o1', 'alice', 0], ['o2', 'alice', 0], ['o3', 'bob', 0], ['o4', 'carol', 0], ['o5', 'carol', 5], ['o6', 'bob', -1],
  ];
  console.log('starting 6 orders (o5 with priority 5, o6 with priority -1)');
  for (const [i, [orderId, customerId, priority]] of orders.entries()) {
    await workers[i % 2]!.startSaga(order, { orderId, customerId }, { id: orderId, priority });
  }
  console.log('counts:', JSON.stringify(await workers[0]!.counts()));
  // Pack whatever is waiting, one order at a time, until every order shipped.
  for (let packed = 0; packed < orders.length; ) {
    const waiting = await workers[0]!.list({ status: 'waiting' });
    if (waiting[0]) {
      await workers[packed % 2]!.send(waiting[0].id, 'packed');
      await workers[0]!.result(waiting[0].id);
      packed++;
    } else await sleep(20);
  }
  console.log('counts:', JSON.stringify(await workers[0]!.counts()));
} finally {
  await Promise.all(workers.map((w) => w.stop()));
  rmSync(dir, { recursive: true, force: true });
}
