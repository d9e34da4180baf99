import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, MemoryStore, saga, SagaFailedError, type Runtime, type SagaLimits, type TestClock } from '../src/index.js';
import type { SagaStore } from '../src/stores/types.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { sendCommand } from '../src/cli/control.js';

const url = process.env.ORSA_TEST_PG_URL;
const dir = mkdtempSync(join(tmpdir(), 'orsa-queues-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Input = { customer: string; n: number };

/** A database shared by the runtimes of one test: `open()` gives each runtime a store of its own on it. */
interface Shared {
  open(): SagaStore;
  /** Runs raw SQL on it (odd rows), with `{t}` for the sagas table. */
  raw(sql: string): Promise<void>;
  done(): Promise<void>;
}

function sqliteDb(): Shared {
  const path = join(dir, `${randomBytes(6).toString('hex')}.db`);
  return {
    open: () => new SqliteStore({ path }),
    raw: async (sql) => {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(path);
      db.prepare(sql.replaceAll('{t}', 'orsa_sagas')).run();
      db.close();
    },
    done: async () => {},
  };
}

function postgresDb(): Shared {
  const schema = `orsa_test_q_${randomBytes(6).toString('hex')}`;
  const pools: pg.Pool[] = [];
  const pool = () => {
    const made = new pg.Pool({ connectionString: url, max: 4 });
    pools.push(made);
    return made;
  };
  const admin = pool();
  return {
    open: () => new PostgresStore({ pool: pool(), schema }),
    raw: async (sql) => void (await admin.query(sql.replaceAll('{t}', `"${schema}".sagas`))),
    done: async () => {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await Promise.all(pools.map((p) => p.end()));
    },
  };
}

const skipPg = !url && !process.env.CI;

/** Advances the simulated clock in small steps, letting real I/O through, until `done` holds. */
async function until(clock: TestClock, done: () => Promise<boolean> | boolean, stepMs = 50, rounds = 400): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await done()) return;
    await clock.advance(stepMs);
    await sleep(2);
  }
  throw new Error('the condition never held');
}

/**
 * A saga that holds a slot until it is sent `finish`: `enter` and `leave` count, per key and in all,
 * how many sagas are between them, and keep the largest counts seen.
 */
function holdingSaga(limits: SagaLimits<Input>, name = 'job') {
  const seen = { total: 0, maxTotal: 0, byKey: new Map<string, number>(), maxByKey: 0, entered: [] as number[] };
  const definition = saga(name)
    .input<Input>()
    .limits(limits)
    .step('enter', ({ input }) => {
      seen.total++;
      const n = (seen.byKey.get(input.customer) ?? 0) + 1;
      seen.byKey.set(input.customer, n);
      seen.maxTotal = Math.max(seen.maxTotal, seen.total);
      seen.maxByKey = Math.max(seen.maxByKey, n);
      seen.entered.push(input.n);
      return input.n;
    })
    .waitFor('finish', { event: 'finish' })
    .step('leave', ({ input }) => {
      seen.total--;
      seen.byKey.set(input.customer, seen.byKey.get(input.customer)! - 1);
      return true;
    })
    .build();
  return { definition, seen };
}

describe.each([
  ['SQLite', sqliteDb],
  ['PostgreSQL', postgresDb],
] as const)('queues with limits on %s', (kind, makeDb) => {
  const skip = kind === 'PostgreSQL' && skipPg;

  it.skipIf(skip)('never runs more than the per-key and total limits across two runtimes on one database', async () => {
    const db = makeDb();
    const clock = createTestClock();
    const { definition, seen } = holdingSaga({ concurrency: 3, key: (i: Input) => i.customer, perKey: { concurrency: 1 } });
    const errors: unknown[] = [];
    const runtimes = ['A', 'B'].map((w) =>
      createRuntime({ sagas: [definition], store: db.open(), clock, workerId: w, pollIntervalMs: 200, onError: (e) => errors.push(e) }),
    );
    try {
      const ids: string[] = [];
      for (let n = 0; n < 12; n++) ids.push((await runtimes[n % 2]!.startSaga(definition, { customer: `c${n % 4}`, n })).id);
      const store = db.open();
      await store.init();
      const finished = new Set<string>();
      await until(clock, async () => {
        const active = await store.list({ sagaName: 'job', status: ['running', 'waiting', 'compensating'] });
        expect(active.length).toBeLessThanOrEqual(3);
        const waiting = active.filter((r) => r.status === 'waiting' && !finished.has(r.id));
        // Finish one waiting saga at a time, through either runtime.
        if (waiting[0]) {
          finished.add(waiting[0].id);
          await runtimes[finished.size % 2]!.send(waiting[0].id, 'finish');
        }
        const counts = await runtimes[0]!.counts();
        return counts.completed === 12;
      });
      expect(seen.maxTotal).toBe(3);
      expect(seen.maxByKey).toBe(1);
      // The first three come in arrival order (c0, c1, c2 are free; c3's first is fourth).
      expect(seen.entered.slice(0, 3)).toEqual([0, 1, 2]);
      expect(errors).toEqual([]);
      await store.close();
    } finally {
      await Promise.all(runtimes.map((r) => r.stop()));
      await db.done();
    }
  });

  it.skipIf(skip)('starts a queued saga promoted by a worker that died before its first write, from its stored input', async () => {
    const db = makeDb();
    const clock = createTestClock();
    const { definition, seen } = holdingSaga({ concurrency: 1 });
    const dead = db.open();
    await dead.init();
    const now = clock.now();
    await dead.insert(
      { id: 'orphan', sagaName: 'job', version: definition.version, status: 'queued', snapshot: '{"orsa.queued":{"input":{"customer":"x","n":7}}}', dueAt: null, owner: null, leaseUntil: null, now, queue: { key: null, priority: 0 } },
      [],
    );
    const { promoted } = await dead.promote({ sagaName: 'job', limits: { concurrency: 1 }, owner: 'dead', now, leaseUntil: now + 1_000, limit: 1 });
    expect(promoted.map((r) => r.id)).toEqual(['orphan']);
    await dead.close();
    const runtime = createRuntime({ sagas: [definition], store: db.open(), clock, workerId: 'heir', leaseMs: 1_000, pollIntervalMs: 200 });
    try {
      await runtime.start();
      await until(clock, async () => (await runtime.get('orphan'))?.status === 'waiting');
      expect(seen.entered).toEqual([7]);
      await runtime.send('orphan', 'finish');
      expect(await runtime.result('orphan')).toMatchObject({ enter: 7, leave: true });
    } finally {
      await runtime.stop();
      await db.done();
    }
  });

  it.skipIf(skip)('keeps queued sagas across a restart, and starts them after it', async () => {
    const db = makeDb();
    const clock = createTestClock();
    const { definition, seen } = holdingSaga({ concurrency: 1 });
    const first = createRuntime({ sagas: [definition], store: db.open(), clock, workerId: 'first', pollIntervalMs: 200 });
    await first.startSaga(definition, { customer: 'a', n: 1 }, { id: 'one' });
    await first.startSaga(definition, { customer: 'a', n: 2 }, { id: 'two' });
    await first.startSaga(definition, { customer: 'a', n: 3 }, { id: 'three' });
    await until(clock, async () => (await first.get('one'))?.status === 'waiting');
    expect((await first.counts()).queued).toBe(2);
    await first.stop();
    const second = createRuntime({ sagas: [definition], store: db.open(), clock, workerId: 'second', pollIntervalMs: 200 });
    try {
      await second.start();
      expect((await second.list({ status: 'queued' })).map((s) => s.id).sort()).toEqual(['three', 'two']);
      for (const id of ['one', 'two', 'three']) {
        await until(clock, async () => (await second.get(id))?.status === 'waiting');
        await second.send(id, 'finish');
        await second.result(id);
      }
      expect(seen.entered).toEqual([1, 2, 3]);
    } finally {
      await second.stop();
      await db.done();
    }
  });

  it.skipIf(skip)('reads an odd priority as 0 when it orders a queue without keys: a row written by hand does not jump the queue', async () => {
    const db = makeDb();
    const store = db.open();
    try {
      await store.init();
      const now = 1_000;
      for (const [id, priority] of [['low', -3], ['high', 5], ['odd', 0]] as const) {
        await store.insert({ id, sagaName: 'job', version: 'v1', status: 'queued', snapshot: '{"orsa.queued":{"input":null}}', dueAt: null, owner: null, leaseUntil: null, now, queue: { key: null, priority } }, []);
      }
      await db.raw(kind === 'SQLite' ? `UPDATE {t} SET priority = 'urgent' WHERE id = 'odd'` : `UPDATE {t} SET priority = NULL WHERE id = 'odd'`);
      const { promoted } = await store.promote({ sagaName: 'job', limits: { concurrency: 3 }, owner: 'w', now, leaseUntil: now + 1_000, limit: 3 });
      expect(promoted.map((r) => r.id)).toEqual(['high', 'odd', 'low']);
    } finally {
      await store.close();
      await db.done();
    }
  });

  it.skipIf(skip)('skips odd queued rows (unknown priority or key values) without crashing, and sets aside an unreadable one', async () => {
    const db = makeDb();
    const clock = createTestClock();
    const { definition, seen } = holdingSaga({ concurrency: 5, key: (i: Input) => i.customer, perKey: { concurrency: 5 } });
    const errors: unknown[] = [];
    const setup = createRuntime({ sagas: [definition], store: db.open(), clock, workerId: 'setup', pollIntervalMs: 200 });
    // Fill the five slots, then queue three more.
    for (let n = 0; n < 5; n++) await setup.startSaga(definition, { customer: 'a', n }, { id: `held-${n}` });
    for (const id of ['odd-priority', 'odd-key', 'broken']) await setup.startSaga(definition, { customer: 'b', n: 9 }, { id });
    await until(clock, async () => (await setup.counts()).waiting === 5);
    await setup.stop();
    if (kind === 'SQLite') await db.raw(`UPDATE {t} SET priority = 'high', enqueue_seq = NULL WHERE id = 'odd-priority'`);
    else await db.raw(`UPDATE {t} SET priority = NULL, enqueue_seq = NULL WHERE id = 'odd-priority'`);
    await db.raw(`UPDATE {t} SET queue_key = NULL WHERE id = 'odd-key'`);
    await db.raw(`UPDATE {t} SET snapshot = '{"orsa.queued":{"nothing":1}}' WHERE id = 'broken'`);
    const runtime = createRuntime({ sagas: [definition], store: db.open(), clock, workerId: 'w', pollIntervalMs: 200, onError: (e) => errors.push(e) });
    try {
      await runtime.start();
      for (let n = 0; n < 5; n++) await runtime.send(`held-${n}`, 'finish');
      await until(clock, async () => (await runtime.get('odd-priority'))?.status === 'waiting' && (await runtime.get('odd-key'))?.status === 'waiting');
      expect((await runtime.get('broken'))?.status).toBe('queued');
      expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['CORRUPT_RECORD']);
      expect(seen.entered.filter((n) => n === 9).length).toBe(2);
    } finally {
      await runtime.stop();
      await db.done();
    }
  });
});

describe.each([
  ['memory', () => new MemoryStore() as SagaStore],
  ['SQLite', () => sqliteDb().open()],
] as const)('queue order and rates on %s', (_kind, makeStore) => {
  const run = async (limits: SagaLimits<Input>, test: (runtime: Runtime, clock: TestClock, seen: ReturnType<typeof holdingSaga>['seen'], definition: ReturnType<typeof holdingSaga>['definition']) => Promise<void>) => {
    const clock = createTestClock();
    const { definition, seen } = holdingSaga(limits);
    // A poll interval far beyond the test: what starts, starts because a slot or a rate window freed.
    const runtime = createRuntime({ sagas: [definition], store: makeStore(), clock, pollIntervalMs: 3_600_000 });
    try {
      await test(runtime, clock, seen, definition);
    } finally {
      await runtime.stop();
    }
  };

  it('starts higher priorities first, then first come first served', () =>
    run({ concurrency: 1 }, async (runtime, clock, seen, definition) => {
      const order: [number, number][] = [[0, 0], [1, 1], [2, 5], [3, 5], [4, 1], [5, -3], [6, 5]];
      for (const [n, priority] of order) await runtime.startSaga(definition, { customer: 'a', n }, { id: `p${n}`, priority });
      for (let i = 0; i < order.length; i++) {
        await until(clock, () => seen.entered.length === i + 1);
        await runtime.send(`p${seen.entered[i]}`, 'finish');
      }
      expect(seen.entered).toEqual([0, 2, 3, 6, 1, 4, 5]);
    }));

  it('starts at most `starts` per window, the next ones when the window frees them', () =>
    run({ rate: { starts: 2, perMs: 1_000 } }, async (runtime, clock, seen, definition) => {
      const t0 = clock.now();
      const at: number[] = [];
      for (let n = 0; n < 5; n++) await runtime.startSaga(definition, { customer: 'a', n });
      for (let i = 0; i < 5; i++) {
        await until(clock, () => seen.entered.length > i, 100);
        at.push(clock.now() - t0);
      }
      // Two at once, two when the first window ends, the last one a window later.
      expect(at.map((ms) => Math.floor(ms / 1_000))).toEqual([0, 0, 1, 1, 2]);
    }));

  it('cancels a queued saga: it ends cancelled having run nothing, and its slot was never taken', () =>
    run({ concurrency: 1 }, async (runtime, clock, seen, definition) => {
      await runtime.startSaga(definition, { customer: 'a', n: 1 }, { id: 'first' });
      await runtime.startSaga(definition, { customer: 'a', n: 2 }, { id: 'queued' });
      await runtime.startSaga(definition, { customer: 'a', n: 3 }, { id: 'next' });
      expect((await runtime.get('queued'))?.status).toBe('queued');
      await runtime.cancel('queued');
      const error = await runtime.result('queued').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SagaFailedError);
      expect(error).toMatchObject({ status: 'cancelled', step: null, report: { compensated: [], undone: [] } });
      expect((await runtime.history('queued')).map((e) => e.type)).toEqual(['saga.queued', 'saga.cancelled']);
      await expect(runtime.cancel('queued')).rejects.toMatchObject({ code: 'SAGA_ENDED' });
      await until(clock, () => seen.entered.length === 1);
      await runtime.send('first', 'finish');
      await until(clock, () => seen.entered.length === 2);
      expect(seen.entered).toEqual([1, 3]);
    }));

  it('cancels a queued saga from the CLI or dashboard (sendCommand) at once: it never runs once promoted', () =>
    run({ concurrency: 1 }, async (runtime, clock, seen, definition) => {
      await runtime.startSaga(definition, { customer: 'a', n: 1 }, { id: 'first' });
      await runtime.startSaga(definition, { customer: 'a', n: 2 }, { id: 'queued' });
      const store = (runtime as unknown as { store: SagaStore }).store;
      const sent = await sendCommand(store, 'queued', { command: 'cancel' }, clock.now());
      expect(sent.cancelledQueued).toBe(true);
      expect((await runtime.get('queued'))?.status).toBe('cancelled');
      await until(clock, () => seen.entered.length === 1);
      await runtime.send('first', 'finish');
      await runtime.result('first');
      await clock.advance(1_000);
      expect(seen.entered).toEqual([1]);
      expect((await runtime.history('queued')).map((e) => e.type)).toEqual(['saga.queued', 'saga.cancelled']);
    }));

  it('refuses a bad priority or key before storing anything', () =>
    run({ concurrency: 1, key: (i: Input) => (i.customer === 'none' ? (undefined as never) : i.customer), perKey: { concurrency: 1 } }, async (runtime, _clock, _seen, definition) => {
      await expect(runtime.startSaga(definition, { customer: 'a', n: 1 }, { id: 'x', priority: 1.5 })).rejects.toMatchObject({ code: 'INVALID_QUEUE_OPTION' });
      await expect(runtime.startSaga(definition, { customer: 'a', n: 1 }, { id: 'y', priority: 2 ** 31 })).rejects.toMatchObject({ code: 'INVALID_QUEUE_OPTION' });
      await expect(runtime.startSaga(definition, { customer: 'none', n: 1 }, { id: 'z' })).rejects.toThrow(/key function must return a string/);
      expect(await runtime.list()).toEqual([]);
    }));
});

describe('stopping during a promotion', () => {
  it('runs nothing it promoted after stop(), and releases those records for another worker', async () => {
    let arrived!: () => void;
    const inPromote = new Promise<void>((resolve) => (arrived = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    class SlowPromote extends MemoryStore {
      slow = false;
      override async promote(request: Parameters<MemoryStore['promote']>[0]) {
        if (this.slow) {
          arrived();
          await gate;
        }
        return super.promote(request);
      }
    }
    const store = new SlowPromote();
    const clock = createTestClock();
    const { definition, seen } = holdingSaga({ concurrency: 2 });
    const runtime = createRuntime({ sagas: [definition], store, clock, workerId: 'w', pollIntervalMs: 3_600_000 });
    await runtime.start();
    store.slow = true;
    const started = runtime.startSaga(definition, { customer: 'a', n: 1 }, { id: 'late' });
    await inPromote;
    const stopping = runtime.stop();
    open();
    await stopping;
    await started;
    await sleep(20);
    expect(seen.entered).toEqual([]);
    const record = await store.get('late');
    expect(record).toMatchObject({ status: 'running', owner: null });
  });
});

describe('a version without limits', () => {
  it('still promotes the sagas a previous version with limits queued', async () => {
    const store = new MemoryStore();
    const clock = createTestClock();
    const { definition: v1, seen } = holdingSaga({ concurrency: 1 });
    const old = createRuntime({ sagas: [v1], store, clock, workerId: 'old', pollIntervalMs: 200 });
    await old.startSaga(v1, { customer: 'a', n: 1 }, { id: 'one' });
    await old.startSaga(v1, { customer: 'a', n: 2 }, { id: 'two' });
    await until(clock, async () => (await old.get('one'))?.status === 'waiting');
    await old.stop();
    // The next deploy drops the limits (and changes the chart); v1 stays registered to finish its sagas.
    const v2 = saga('job').input<Input>().step('only', () => 1).build();
    expect(v2.version).not.toBe(v1.version);
    const next = createRuntime({ sagas: [v1, v2], store, clock, workerId: 'next', pollIntervalMs: 200 });
    try {
      await next.start();
      await next.send('one', 'finish');
      await until(clock, async () => (await next.get('two'))?.status === 'waiting');
      expect(seen.entered).toEqual([1, 2]);
    } finally {
      await next.stop();
    }
  });
});

describe('.limits()', () => {
  const base = () => saga('limited').input<Input>().step('a', () => 1);
  it.each([
    [{ concurrency: 0 }, /concurrency must be a positive integer/],
    [{ concurrency: 1.5 }, /concurrency must be a positive integer/],
    [{ rate: { starts: 10 } }, /rate must be \{ starts, perMs \}/],
    [{ perKey: { concurrency: 1 } }, /perKey needs a key/],
    [{ key: (i: Input) => i.customer }, /key is given without perKey/],
    [{ key: (i: Input) => i.customer, perKey: {} }, /perKey sets no limit/],
    [{}, /sets no limit/],
    [{ concurency: 3 }, /unknown field "concurency"/],
  ])('refuses %o at build time', (limits, message) => {
    expect(() => base().limits(limits as never).build()).toThrow(message);
  });

  it('refuses limits declared twice', () => {
    expect(() => base().limits({ concurrency: 1 }).limits({ concurrency: 2 }).build()).toThrow(/declared twice/);
  });

  it('leaves the version alone: limits are not part of the statechart', () => {
    expect(base().limits({ concurrency: 1 }).build().version).toBe(base().build().version);
  });
});
