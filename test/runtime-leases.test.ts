import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, MemoryStore, SagaFailedError, saga, type Clock, type Runtime, type TestClock } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

/*
 * Leases and fencing: a step receives a fencing token that grows with every
 * claim; a live worker that keeps losing the lease while a step runs makes
 * that step fail with LEASE_LOST instead of bouncing forever; renewal never
 * drops a saga whose start has not committed yet.
 */

const dir = mkdtempSync(join(tmpdir(), 'orsa-leases-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runtimes: Runtime[] = [];
const track = (runtime: Runtime) => (runtimes.push(runtime), runtime);
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

/**
 * One worker's view of a shared simulated clock whose timers can be held, as
 * a blocked event loop holds them: while stalled, nothing this worker
 * scheduled (lease renewal, polls) runs; it all runs, late, once it resumes.
 */
function stallable(base: TestClock): { clock: Clock; stall: () => void; resume: () => void } {
  let stalled = false;
  const held: (() => void)[] = [];
  const cleared = new Set<unknown>();
  const clock: Clock = {
    now: () => base.now(),
    setTimeout(callback, ms) {
      const handle: unknown = base.setTimeout(() => (stalled ? held.push(() => !cleared.delete(handle) && callback()) : callback()), ms);
      return handle;
    },
    clearTimeout(handle) {
      cleared.add(handle);
      base.clearTimeout(handle);
    },
  };
  return {
    clock,
    stall: () => void (stalled = true),
    resume: () => {
      stalled = false;
      for (const run of held.splice(0)) run();
    },
  };
}

const LEASE_MS = 1_000;

describe('a step that blocks its worker longer than the lease', () => {
  it('fails with LEASE_LOST after 3 losses instead of bouncing between two workers forever; fencing tokens grow', async () => {
    const base = createTestClock();
    const path = join(dir, 'bounce.db');
    const runs: { worker: string; token: number; key: string }[] = [];
    const workers = ['A', 'B'].map((name) => {
      const view = stallable(base);
      const definition = saga('blocky')
        .version('1')
        .step('reserve', () => 'r', { compensate: () => {} })
        .step('crunch', async ({ fencingToken, idempotencyKey }) => {
          runs.push({ worker: name, token: fencingToken, key: idempotencyKey });
          view.stall(); // the event loop is blocked: no renewal, no poll
          await new Promise<void>((resolve) => base.setTimeout(() => resolve(), 3 * LEASE_MS));
          view.resume();
          return 'done';
        })
        .build();
      const errors: unknown[] = [];
      const runtime = track(
        createRuntime({ sagas: [definition], store: new SqliteStore({ path }), clock: view.clock, workerId: name, leaseMs: LEASE_MS, pollIntervalMs: 200, onError: (e) => errors.push(e) }),
      );
      return { runtime, definition, errors };
    });
    await Promise.all(workers.map((w) => w.runtime.start()));
    const { id } = await workers[0]!.runtime.startSaga(workers[0]!.definition, undefined);
    const outcome = workers[0]!.runtime.result(id).catch((e: unknown) => e);
    for (let i = 0; i < 60; i++) await base.advance(500);
    const error = await outcome;
    expect(error).toBeInstanceOf(SagaFailedError);
    const failed = error as SagaFailedError;
    expect(failed.status).toBe('compensated');
    expect(failed.step).toBe('crunch');
    expect(failed.error?.code).toBe('LEASE_LOST');
    expect(failed.error?.message).toMatch(/step "crunch" lost its lease 3 times.*raise leaseMs, or move CPU-bound work off the event loop/);
    // Bounded: the first run plus one per counted loss at most, then no more, however long we wait.
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.length).toBeLessThanOrEqual(5);
    expect(new Set(runs.map((r) => r.worker))).toEqual(new Set(['A', 'B']));
    expect(new Set(runs.map((r) => r.key))).toEqual(new Set([`${id}:crunch#1`]));
    const tokens = runs.map((r) => r.token);
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
    expect(new Set(tokens).size).toBe(tokens.length);
    const count = runs.length;
    await base.advance(20 * LEASE_MS);
    expect(runs.length).toBe(count);
    expect(workers.flatMap((w) => w.errors)).toEqual([]);
  });

  it('keeps a saga whose lease lapsed while no other worker took it: the step runs once, nothing is counted', async () => {
    // An overloaded worker alone on its store misses renewals; its fence still holds, so nothing was lost.
    const base = createTestClock();
    const view = stallable(base);
    const runs: string[] = [];
    const definition = saga('lonely')
      .version('1')
      .step('crunch', async ({ idempotencyKey }) => {
        runs.push(idempotencyKey);
        view.stall();
        await new Promise<void>((resolve) => base.setTimeout(() => resolve(), 3 * LEASE_MS));
        view.resume();
        return 'done';
      })
      .step('after', () => 'ok')
      .build();
    const errors: unknown[] = [];
    const runtime = track(
      createRuntime({ sagas: [definition], store: new SqliteStore({ path: join(dir, 'lonely.db') }), clock: view.clock, workerId: 'A', leaseMs: LEASE_MS, pollIntervalMs: 200, onError: (e) => errors.push(e) }),
    );
    await runtime.start();
    const { id } = await runtime.startSaga(definition, undefined);
    const outcome = runtime.result(id).catch((e: unknown) => e);
    for (let i = 0; i < 30; i++) await base.advance(500);
    expect(await outcome).toEqual({ crunch: 'done', after: 'ok' });
    expect(runs).toEqual([`${id}:crunch#1`]);
    const { context } = JSON.parse((await runtime.store.get(id))!.snapshot);
    expect(context.leaseLosses ?? {}).toEqual({});
    expect(await runtime.store.inbox(id)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('does not count a takeover after a crash as a lease loss', async () => {
    const base = createTestClock();
    const path = join(dir, 'crash.db');
    const crashed = stallable(base);
    let runs = 0;
    const make = (stallOnFirst: boolean) =>
      saga('crashy')
        .version('1')
        .step('work', async () => {
          runs++;
          if (stallOnFirst) {
            crashed.stall(); // and never resumes: this worker is gone
            await new Promise(() => {});
          }
          return 'ok';
        })
        .build();
    const a = track(createRuntime({ sagas: [make(true)], store: new SqliteStore({ path }), clock: crashed.clock, workerId: 'A', leaseMs: LEASE_MS, onError: () => {} }));
    const b = track(createRuntime({ sagas: [make(false)], store: new SqliteStore({ path }), clock: base, workerId: 'B', leaseMs: LEASE_MS, pollIntervalMs: 200 }));
    await b.start();
    const { id } = await a.startSaga('crashy', undefined);
    for (let i = 0; i < 10; i++) await base.advance(500);
    await expect(b.result(id)).resolves.toEqual({ work: 'ok' });
    expect(runs).toBe(2);
    const { context } = JSON.parse((await b.store.get(id))!.snapshot);
    expect(context.leaseLosses ?? {}).toEqual({});
  });
});

const url = process.env.ORSA_TEST_PG_URL;

/** The store, with every insert held until `gate` resolves: a start whose commit has not happened yet. */
function heldInserts(store: SagaStore, gate: Promise<void>): SagaStore {
  const wrapped: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(store))) {
    const value = (store as unknown as Record<string, unknown>)[key];
    if (typeof value === 'function' && key !== 'constructor') wrapped[key] = value.bind(store);
  }
  wrapped.insert = async (...args: Parameters<SagaStore['insert']>) => (await gate, store.insert(...args));
  return wrapped as unknown as SagaStore;
}

describe.each([
  ['memory', async () => ({ store: new MemoryStore() as SagaStore, done: async () => {} })],
  [
    'PostgreSQL',
    async () => {
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      const schema = `orsa_test_${randomBytes(6).toString('hex')}`;
      return { store: new PostgresStore({ pool, schema }) as SagaStore, done: async () => (await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`), await pool.end()) };
    },
  ],
] as const)('lease renewal on %s', (kind, make) => {
  it.skipIf(kind === 'PostgreSQL' && !url && !process.env.CI)('keeps a saga whose start is not committed yet: no drop, no stall until the lease expires', async () => {
    const { store, done } = await make();
    try {
      const clock = createTestClock();
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let runs = 0;
      const s = saga('slow-insert').step('once', () => ++runs).build();
      const errors: unknown[] = [];
      const runtime = track(createRuntime({ sagas: [s], store: heldInserts(store, gate), clock, leaseMs: 3_000, onError: (e) => errors.push(e) }));
      await runtime.start();
      const started = runtime.startSaga(s, undefined, { id: `held-${kind}` });
      await clock.advance(2_500); // two renewals run while the insert has not committed
      open();
      await started;
      for (let i = 0; i < 5 && runs === 0; i++) await clock.advance(10);
      await expect(runtime.result(`held-${kind}`)).resolves.toEqual({ once: 1 });
      expect(runs).toBe(1);
      expect(errors).toEqual([]);
      await runtime.stop();
    } finally {
      await done();
    }
  });
});

describe.skipIf(!url && !process.env.CI)('one live worker on PostgreSQL', () => {
  it('runs every step of 1,000 concurrently started sagas exactly once (renewal keeps uncommitted starts)', async () => {
    if (!url) throw new Error('ORSA_TEST_PG_URL is not set, and CI is: set it to the test server URL');
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    const schema = `orsa_test_${randomBytes(6).toString('hex')}`;
    const runsByKey = new Map<string, number>();
    // The side effect happens at once, the step then takes a little while (a call to another service).
    const effect = async ({ idempotencyKey }: { idempotencyKey: string }, result: number) => {
      runsByKey.set(idempotencyKey, (runsByKey.get(idempotencyKey) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return result;
    };
    const three = saga('pg-once')
      .input<{ n: number }>()
      .step('a', (ctx) => effect(ctx, 1))
      .step('b', (ctx) => effect(ctx, 2))
      .step('c', (ctx) => effect(ctx, 3))
      .build();
    const errors: unknown[] = [];
    try {
      // A short lease: renewal (every leaseMs / 3) runs many times while starts are in flight.
      const runtime = track(createRuntime({ sagas: [three], store: new PostgresStore({ pool, schema }), leaseMs: 3_000, onError: (e) => errors.push(e) }));
      await runtime.start();
      const ids = await Promise.all(Array.from({ length: 1_000 }, (_, n) => runtime.startSaga(three, { n }).then((r) => r.id)));
      const results = await Promise.all(ids.map((id) => runtime.result(id)));
      expect(results.every((r) => JSON.stringify(r) === '{"a":1,"b":2,"c":3}')).toBe(true);
      expect(runsByKey.size).toBe(3_000);
      const twice = [...runsByKey].filter(([, n]) => n !== 1);
      expect(twice).toEqual([]);
      expect(errors).toEqual([]);
      await runtime.stop();
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  }, 120_000);
});
