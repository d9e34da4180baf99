import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, NonRetryableError, saga, SagaFailedError, type Runtime } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { MemoryStore } from '../src/stores/memory/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

/** Counts the commits a store makes. */
function counting(store: SagaStore) {
  const counts = { insert: 0, update: 0 };
  const wrapped = {} as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(store))) {
    const value = (store as unknown as Record<string, unknown>)[key];
    if (typeof value === 'function' && key !== 'constructor') wrapped[key] = value.bind(store);
  }
  wrapped.insert = (...args: Parameters<SagaStore['insert']>) => (counts.insert++, store.insert(...args));
  wrapped.update = (...args: Parameters<SagaStore['update']>) => (counts.update++, store.update(...args));
  return { store: wrapped as unknown as SagaStore, counts };
}

const runtimes: Runtime[] = [];
const track = (runtime: Runtime) => (runtimes.push(runtime), runtime);
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

const threeSteps = saga('three')
  .input<{ n: number }>()
  .step('a', ({ input }) => input.n + 1)
  .step('b', ({ results }) => results.a * 2)
  .step('c', ({ results }) => `=${results.b}`)
  .build();

describe('durable runtime', () => {
  it('stores a saga in one commit to start and one commit per step', async () => {
    const { store, counts } = counting(new MemoryStore());
    const runtime = track(createRuntime({ sagas: [threeSteps], store }));
    const { id } = await runtime.startSaga(threeSteps, { n: 1 });
    await expect(runtime.result(id)).resolves.toEqual({ a: 2, b: 4, c: '=4' });
    expect(counts).toEqual({ insert: 1, update: 3 });
    const history = await runtime.history(id);
    expect(history.map((h) => `${h.type}${h.step ? `:${h.step}` : ''}`)).toEqual([
      'saga.started',
      'step.started:a',
      'step.completed:a',
      'step.started:b',
      'step.completed:b',
      'step.started:c',
      'step.completed:c',
      'saga.completed',
    ]);
    expect((await runtime.get(id))?.status).toBe('completed');
  });

  it('persists to a SQLite file by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orsa-default-'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const runtime = track(createRuntime({ sagas: [threeSteps] }));
      const { id } = await runtime.startSaga(threeSteps, { n: 2 });
      await runtime.result(id);
      await runtime.stop();
      const store = new SqliteStore({ path: join(dir, '.orsa/orsa.db') });
      await store.init();
      expect((await store.get(id))?.status).toBe('completed');
      await store.close();
    } finally {
      process.chdir(cwd);
    }
  });

  it('runs a saga started twice with the same id only once', async () => {
    let runs = 0;
    const once = saga('once').step('a', () => ++runs).build();
    const runtime = track(createRuntime({ sagas: [once], store: new MemoryStore() }));
    const first = await runtime.startSaga(once, undefined, { id: 'order-7' });
    const second = await runtime.startSaga(once, undefined, { id: 'order-7' });
    await runtime.result('order-7');
    expect([first.created, second.created]).toEqual([true, false]);
    expect(runs).toBe(1);
  });

  it('resumes a crashed worker\'s saga in another worker once its lease expires, with the same idempotency key', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const keys: string[] = [];
    const blocking = (hang: boolean) =>
      saga('handover')
        .step('a', () => 'A')
        .step('b', ({ idempotencyKey }) => {
          keys.push(idempotencyKey);
          return hang ? new Promise<string>(() => {}) : 'B';
        })
        .version('1')
        .build();
    const crashed = createRuntime({ sagas: [blocking(true)], store, clock, leaseMs: 10_000, workerId: 'w1', onError: () => {} });
    const { id } = await crashed.startSaga('handover', undefined);
    await clock.advance(10);
    expect(keys).toHaveLength(1);
    // w1 dies without stopping: no more renewals, its lease simply runs out.
    (crashed as unknown as { running: boolean }).running = false;
    const survivor = track(createRuntime({ sagas: [blocking(false)], store, clock, leaseMs: 10_000, workerId: 'w2' }));
    await survivor.start();
    await clock.advance(5_000);
    expect(keys).toHaveLength(1);
    await clock.advance(10_000);
    await expect(survivor.result(id)).resolves.toEqual({ a: 'A', b: 'B' });
    expect(keys).toEqual([`${id}:b#1`, `${id}:b#1`]);
  });

  it('keeps a waiting saga out of memory and wakes it when due, also after a restart', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const sleepy = saga('sleepy').step('a', () => 1).sleep('nap', 3_600_000).step('b', () => 2).build();
    const first = createRuntime({ sagas: [sleepy], store, clock, pollIntervalMs: 1_000 });
    const { id } = await first.startSaga(sleepy, undefined);
    await clock.advance(10);
    const parked = await store.get(id);
    expect(parked).toMatchObject({ status: 'waiting', owner: null, dueAt: clock.now() - 10 + 3_600_000 });
    expect((first as unknown as { live: Map<string, unknown> }).live.size).toBe(0);
    await first.stop();
    await clock.advance(3_600_000);
    const second = track(createRuntime({ sagas: [sleepy], store, clock }));
    await second.start();
    await clock.advance(10);
    await expect(second.result(id)).resolves.toEqual({ a: 1, b: 2 });
  });

  it('stores events first and delivers them to a waiting saga, even one sent before it waits', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const approval = saga('approval')
      .step('a', () => new Promise<number>((r) => clock.setTimeout(() => r(1), 100)))
      .waitFor('first', { event: 'approved' })
      .waitFor('second', { event: 'shipped', timeoutMs: 86_400_000 })
      .build();
    const runtime = track(createRuntime({ sagas: [approval], store, clock }));
    const { id } = await runtime.startSaga(approval, undefined);
    await runtime.send(id, 'approved', { by: 'ann' });
    await clock.advance(200);
    expect((await store.get(id))?.status).toBe('waiting');
    await runtime.stop();
    // No worker runs it now: the event waits in the store.
    const other = createRuntime({ sagas: [approval], store, clock });
    await other.send(id, 'shipped', { tracking: 'T1' });
    expect((await store.inbox(id)).map((e) => e.name)).toEqual(['shipped']);
    track(other);
    await other.start();
    await clock.advance(10);
    await expect(other.result(id)).resolves.toEqual({ a: 1, first: { by: 'ann' }, second: { tracking: 'T1' } });
    expect(await store.inbox(id)).toEqual([]);
    expect((await other.history(id)).filter((h) => h.type === 'event.received')).toHaveLength(2);
  });

  it('cancels and retries a failed compensation through the store', async () => {
    const clock = createTestClock();
    let refundUp = false;
    const undone: string[] = [];
    const refund = saga('refund')
      .step('charge', () => 1, {
        compensate: () => {
          if (!refundUp) throw new Error('refund API down');
          undone.push('charge');
        },
        compensateRetry: 0,
      })
      .waitFor('ok', { event: 'ok' })
      .build();
    const runtime = track(createRuntime({ sagas: [refund], store: new MemoryStore(), clock }));
    const { id } = await runtime.startSaga(refund, undefined);
    await clock.advance(10);
    await runtime.cancel(id);
    await clock.advance(10);
    expect((await runtime.get(id))?.status).toBe('failed');
    refundUp = true;
    await runtime.retryCompensation(id);
    await clock.advance(10);
    const error = await runtime.result(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SagaFailedError);
    expect((error as SagaFailedError).status).toBe('cancelled');
    expect(undone).toEqual(['charge']);
  });

  it('calls the manager hooks and reports counts by status', async () => {
    const calls: string[] = [];
    const counts: unknown[] = [];
    const clock = createTestClock();
    const failing = saga('failing').step('x', () => {
      throw new NonRetryableError('no');
    }).build();
    const runtime = track(
      createRuntime({
        sagas: [threeSteps, failing],
        store: new MemoryStore(),
        clock,
        hooks: {
          onStartup: () => void calls.push('startup'),
          onStore: (r) => void calls.push(`store:${r.sagaName}:${r.status}`),
          onComplete: (r, results) => void calls.push(`complete:${r.sagaName}:${JSON.stringify(results)}`),
          onAbort: (r, e) => void calls.push(`abort:${r.sagaName}:${e.status}`),
          onShutdown: () => void calls.push('shutdown'),
        },
        monitor: { intervalMs: 1_000, report: (c) => void counts.push(c) },
      }),
    );
    await runtime.startSaga(threeSteps, { n: 0 }).then(({ id }) => runtime.result(id));
    await runtime.startSaga(failing, undefined).then(({ id }) => runtime.result(id).catch(() => {}));
    await clock.advance(1_000);
    await runtime.stop();
    expect(calls).toContain('startup');
    expect(calls).toContain('complete:three:{"a":1,"b":2,"c":"=2"}');
    expect(calls).toContain('abort:failing:compensated');
    // One write to start, one per step.
    expect(calls.filter((c) => c.startsWith('store:three'))).toHaveLength(4);
    expect(calls.at(-1)).toBe('shutdown');
    expect(counts.at(-1)).toMatchObject({ completed: 1, compensated: 1, running: 0 });
  });
});

describe('versions and bad records', () => {
  it('does not resume a saga whose version is not registered, leaves its record untouched and lists it with the problem', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const v1 = saga('pay').step('a', () => new Promise(() => {})).version('1').build();
    const v2 = saga('pay').step('a', () => 'v2').version('2').build();
    const old = createRuntime({ sagas: [v1], store, clock, leaseMs: 1_000, onError: () => {} });
    const { id } = await old.startSaga(v1, undefined);
    (old as unknown as { running: boolean }).running = false; // crashes
    await clock.advance(2_000);
    const before = await store.get(id);
    const errors: unknown[] = [];
    const runtime = track(createRuntime({ sagas: [v2], store, clock, onError: (e) => errors.push(e) }));
    await runtime.start();
    await clock.advance(5_000);
    expect(await store.get(id)).toEqual(before);
    expect(errors[0]).toMatchObject({ code: 'VERSION_NOT_REGISTERED' });
    expect((errors[0] as Error).message).toMatch(/"pay" version 1.*registered: 2/);
    expect((await runtime.get(id))?.problem?.code).toBe('VERSION_NOT_REGISTERED');
  });

  it('finishes old instances on the old version when both are registered side by side', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const v1 = saga('pay').step('a', () => new Promise<string>((r) => clock.setTimeout(() => r('v1'), 50_000))).version('1').build();
    const v2 = saga('pay').step('a', () => 'v2').version('2').build();
    const old = createRuntime({ sagas: [v1], store, clock, leaseMs: 1_000, onError: () => {} });
    const { id: oldId } = await old.startSaga(v1, undefined);
    (old as unknown as { running: boolean }).running = false;
    await clock.advance(2_000);
    const runtime = track(createRuntime({ sagas: [v1, v2], store, clock }));
    const { id: newId } = await runtime.startSaga('pay', undefined);
    await clock.advance(60_000);
    await expect(runtime.result(newId)).resolves.toEqual({ a: 'v2' });
    await expect(runtime.result(oldId)).resolves.toEqual({ a: 'v1' });
  });

  it('reports a corrupt record, leaves its snapshot as it was, and goes on with the others', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const slow = saga('slow').step('a', () => new Promise<string>((r) => clock.setTimeout(() => r('ok'), 5_000))).build();
    const crashed = createRuntime({ sagas: [slow], store, clock, leaseMs: 1_000, onError: () => {} });
    const bad = await crashed.startSaga(slow, undefined);
    const good = await crashed.startSaga(slow, undefined);
    (crashed as unknown as { running: boolean }).running = false;
    const record = (await store.get(bad.id))!;
    await store.update(bad.id, { rowVersion: record.rowVersion, owner: record.owner! }, { status: 'running', snapshot: '{"value":"a","context":{"sagaId"', dueAt: record.dueAt, leaseUntil: record.leaseUntil }, [], { now: clock.now() });
    await clock.advance(2_000);
    const errors: unknown[] = [];
    const runtime = track(createRuntime({ sagas: [slow], store, clock, onError: (e) => errors.push(e) }));
    await runtime.start();
    await clock.advance(10_000);
    await expect(runtime.result(good.id)).resolves.toEqual({ a: 'ok' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'CORRUPT_RECORD' });
    expect((await store.get(bad.id))?.snapshot).toBe('{"value":"a","context":{"sagaId"');
    expect((await runtime.get(bad.id))?.problem?.code).toBe('CORRUPT_RECORD');
  });

  it('fails a step whose result JSON cannot carry, before anything is written, naming the step', async () => {
    const store = new MemoryStore();
    const bad = saga('bad').step('ok', () => 1).step('leaky', () => ({ callback: () => {} })).build();
    const runtime = track(createRuntime({ sagas: [bad], store }));
    const { id } = await runtime.startSaga(bad, undefined);
    const error = (await runtime.result(id).catch((e: unknown) => e)) as SagaFailedError;
    expect(error.step).toBe('leaky');
    expect(error.error?.message).toMatch(/step "leaky" returned a result that cannot be stored as JSON \(\$\.callback is a function\)/);
    const { context } = JSON.parse((await store.get(id))!.snapshot);
    expect(context.results).toEqual({ ok: 1 });
  });
});
