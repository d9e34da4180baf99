import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, MemoryStore, saga, type Runtime } from '../src/index.js';

/*
 * How the durable runtime schedules itself: one wake-up timer per process
 * for timed waits, and a backlog claimed until it is drained.
 */

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

describe('scheduling of the durable runtime', () => {
  it('keeps one wake-up timer however many sagas sleep, and wakes each one when it falls due', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const napper = saga('napper').input<number>().step('a', ({ input }) => input).sleep('nap', 60_000).step('b', ({ results }) => results.a + 1).build();
    const runtime = createRuntime({ sagas: [napper], store, clock, pollIntervalMs: 3_600_000 });
    runtimes.push(runtime);
    await runtime.start();
    const parked = async (count: number) => {
      for (let i = 0; i < count; i++) {
        await runtime.startSaga(napper, i, { id: `nap-${count}-${i}` });
        await clock.advance(10); // a different due time each
      }
      for (let i = 0; i < count; i++) expect((await runtime.get(`nap-${count}-${i}`))!.status).toBe('waiting');
      return clock.pending();
    };
    const withOne = await parked(1);
    const withForty = await parked(40);
    expect(withForty).toBe(withOne);
    await clock.advance(60_000);
    for (const count of [1, 40]) {
      for (let i = 0; i < count; i++) expect(await runtime.result(`nap-${count}-${i}`)).toEqual({ a: i, b: i + 1 });
    }
  });

  it('claims a backlog larger than claimBatch at start, without waiting for later polls', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const build = (done: boolean) =>
      saga('backlog').version('1').input<number>().step('a', ({ input }) => (done ? input * 2 : new Promise<number>(() => {}))).build();
    const first = createRuntime({ sagas: [build(false)], store, clock, workerId: 'first' });
    await first.start();
    for (let i = 0; i < 23; i++) await first.startSaga('backlog', i, { id: `b-${i}` });
    await first.stop(); // 23 sagas stopped inside step a
    await clock.advance(30_000); // their dueAt: the lease the stopped worker held has run out
    const second = createRuntime({ sagas: [build(true)], store, clock, claimBatch: 5, pollIntervalMs: 3_600_000, workerId: 'second' });
    runtimes.push(second);
    await second.start();
    // The clock has not moved: only the polls start() ran can have claimed them.
    const owners = new Set((await store.list({ sagaName: 'backlog' })).map((r) => r.status === 'completed' || r.owner === 'second'));
    expect(owners).toEqual(new Set([true]));
    for (let i = 0; i < 23; i++) expect(await second.result(`b-${i}`)).toEqual({ a: 2 * i });
  });
});
