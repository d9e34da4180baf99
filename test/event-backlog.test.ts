import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, saga, type Runtime } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { MAX_QUEUED_PER_EVENT } from '../src/compilation/machine.js';
import { sendCommand } from '../src/cli/control.js';
import { MemoryStore } from '../src/stores/memory/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { PostgresStore } from '../src/stores/postgres/store.js';

/*
 * A saga keeps at most MAX_QUEUED_PER_EVENT events of one name before a wait
 * takes them. Every way in refuses the one past that (EVENT_BACKLOG_FULL,
 * nothing stored), so no accepted event is dropped; one stored past the
 * check by a raw store user is reported in the history, payload included.
 */

const url = process.env.ORSA_TEST_PG_URL;
const dir = mkdtempSync(join(tmpdir(), 'orsa-backlog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const runtimes: Runtime[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.stop();
  for (const done of cleanups.splice(0)) await done();
});

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lets real I/O and the simulated clock move until `done` holds; asserts nothing about time. */
async function until(done: () => boolean | Promise<boolean>, clock: { advance(ms: number): Promise<void> }): Promise<void> {
  for (let i = 0; i < 3_000 && !(await done()); i++) {
    await clock.advance(1);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * A saga that loops over one wait with goto: each `item` it takes is recorded
 * by the step `record`, which goes on only when the test hands it a token,
 * so the test decides how many events wait unconsumed. `'stop'` ends it.
 */
function looper() {
  const seen: unknown[] = [];
  let tokens = 0;
  const waiting: (() => void)[] = [];
  const def = saga('backlog')
    .waitFor('take', { event: 'item' })
    .step(
      'record',
      async ({ results }) => {
        const index = seen.push(results.take) - 1;
        while (tokens <= index && results.take !== 'stop') await new Promise<void>((r) => waiting.push(r));
        return results.take;
      },
      { goto: { targets: ['take'], decide: ({ result }) => (result === 'stop' ? null : 'take'), maxVisits: 100_000 } },
    )
    .build();
  return {
    def,
    seen,
    /** Lets `n` more record steps finish. */
    give(n: number) {
      tokens += n;
      for (const wake of waiting.splice(0)) wake();
    },
  };
}

const stores: [string, () => Promise<SagaStore>][] = [
  ['memory', async () => new MemoryStore()],
  ['SQLite file', async () => new SqliteStore({ path: join(dir, `backlog-${++files}.db`) })],
  [
    'PostgreSQL',
    async () => {
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      const schema = `orsa_backlog_${randomBytes(6).toString('hex')}`;
      cleanups.push(async () => (await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`), await pool.end()));
      return new PostgresStore({ pool, schema });
    },
  ],
];

const BACKLOG = /already holds 100 unconsumed "item" events.*Send it again once the saga's waits have consumed the events queued before it/;

describe.each(stores)('the event backlog on the %s store', (kind, make) => {
  const run = it.skipIf(kind === 'PostgreSQL' && !url && !process.env.CI);

  run(`refuses the event past ${MAX_QUEUED_PER_EVENT} unconsumed of one name, stores nothing, and loses none it accepted`, async () => {
    const clock = createTestClock();
    const store = await make();
    const errors: unknown[] = [];
    const loop = looper();
    const runtime = createRuntime({ sagas: [loop.def], store, clock, onError: (e) => errors.push(e) });
    runtimes.push(runtime);
    const { id } = await runtime.startSaga(loop.def, undefined);
    // The first item is taken (record 0 holds it); the next 100 wait.
    await runtime.send(id, 'item', 0);
    await until(() => loop.seen.length === 1, clock);
    for (let i = 1; i <= MAX_QUEUED_PER_EVENT; i++) await runtime.send(id, 'item', i);
    const refused = runtime.send(id, 'item', 'one too many');
    await expect(refused).rejects.toMatchObject({ code: 'EVENT_BACKLOG_FULL', name: 'EventBacklogFullError', sagaId: id, event: 'item', limit: 100 });
    await expect(refused).rejects.toThrow(BACKLOG);
    await expect(refused).rejects.toThrow(new RegExp(`saga ${id} \\("backlog"\\)`));
    // The operator's way in (CLI, dashboard) refuses it likewise.
    await expect(sendCommand(store, id, { command: 'event', name: 'item', payload: 'from ops' }, clock.now())).rejects.toMatchObject({ code: 'EVENT_BACKLOG_FULL' });
    await until(async () => (await store.inbox(id)).length === 0, clock);
    expect(await store.inbox(id)).toEqual([]);
    expect(JSON.parse((await store.get(id))!.snapshot).context.inbox).toHaveLength(MAX_QUEUED_PER_EVENT);
    // Once one is consumed there is room for one more.
    loop.give(1);
    await until(() => loop.seen.length === 2, clock);
    await runtime.send(id, 'item', 'fits');
    await expect(runtime.send(id, 'item', 'not yet')).rejects.toMatchObject({ code: 'EVENT_BACKLOG_FULL' });
    loop.give(1_000);
    await until(async () => loop.seen.length === MAX_QUEUED_PER_EVENT + 2, clock);
    await runtime.send(id, 'item', 'stop');
    await until(async () => (await store.get(id))?.status === 'completed', clock);
    expect(loop.seen).toEqual([...Array.from({ length: MAX_QUEUED_PER_EVENT + 1 }, (_, i) => i), 'fits', 'stop']);
    expect(await store.inbox(id)).toEqual([]);
    const history = await store.history(id);
    expect(history.filter((h) => h.type === 'event.received')).toHaveLength(MAX_QUEUED_PER_EVENT + 3);
    expect(history.some((h) => (h.data as { dropped?: unknown } | null)?.dropped)).toBe(false);
    expect(errors).toEqual([]);
  });

  run('accepts no more than the limit of concurrent sends from one process (runtime.send and the dashboard alike)', async () => {
    const clock = createTestClock();
    const store = await make();
    // Waits for `go` first: every item stays unconsumed.
    const def = saga('backlog').waitFor('go', { event: 'go' }).waitFor('take', { event: 'item' }).build();
    const runtime = createRuntime({ sagas: [def], store, clock, onError: () => {} });
    runtimes.push(runtime);
    const { id } = await runtime.startSaga(def, undefined);
    const sends = [
      ...Array.from({ length: 120 }, (_, i) => runtime.send(id, 'item', i)),
      ...Array.from({ length: 30 }, (_, i) => sendCommand(store, id, { command: 'event', name: 'item', payload: `ops-${i}` }, clock.now())),
    ];
    const outcomes = await Promise.allSettled(sends);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(MAX_QUEUED_PER_EVENT);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'EVENT_BACKLOG_FULL' });
    await until(async () => (await store.inbox(id)).length === 0, clock);
    expect(JSON.parse((await store.get(id))!.snapshot).context.inbox).toHaveLength(MAX_QUEUED_PER_EVENT);
    expect((await store.history(id)).some((h) => (h.data as { dropped?: unknown } | null)?.dropped)).toBe(false);
  });

  run('counts stored rows of a saga no worker runs, but neither commands nor events of other names', async () => {
    const clock = createTestClock();
    const store = await make();
    const def = saga('backlog').waitFor('go', { event: 'go' }).waitFor('take', { event: 'item' }).waitFor('other', { event: 'other' }).build();
    const worker = createRuntime({ sagas: [def], store, clock, onError: () => {} });
    runtimes.push(worker);
    const { id } = await worker.startSaga(def, undefined);
    await until(async () => (await store.get(id))?.status === 'waiting', clock);
    await worker.stop();
    // Never started: its sends stay stored, unconsumed.
    const sender = createRuntime({ sagas: [def], store, clock, onError: () => {} });
    runtimes.push(sender);
    for (let i = 0; i < MAX_QUEUED_PER_EVENT; i++) await store.sendEvent(id, 'item', 'null', clock.now(), 'command');
    for (let i = 0; i < MAX_QUEUED_PER_EVENT; i++) await sender.send(id, 'item', i);
    await expect(sender.send(id, 'item', 'one too many')).rejects.toMatchObject({ code: 'EVENT_BACKLOG_FULL' });
    await expect(sendCommand(store, id, { command: 'event', name: 'item', payload: 'from ops' }, clock.now())).rejects.toMatchObject({ code: 'EVENT_BACKLOG_FULL' });
    await sender.send(id, 'go');
    await sender.send(id, 'other');
    await sendCommand(store, id, { command: 'resume' }, clock.now());
    expect((await store.inbox(id)).filter((row) => row.kind === 'event')).toHaveLength(MAX_QUEUED_PER_EVENT + 2);
    const next = createRuntime({ sagas: [def], store, clock, onError: () => {} });
    runtimes.push(next);
    await next.start();
    await expect(next.result(id)).resolves.toMatchObject({ take: 0, other: null });
    expect((await store.history(id)).some((h) => (h.data as { dropped?: unknown } | null)?.dropped)).toBe(false);
  });

  run('reports an event a raw store user stored past the limit, payload included, and consumes the others in order', async () => {
    const clock = createTestClock();
    const store = await make();
    const loop = looper();
    const runtime = createRuntime({ sagas: [loop.def], store, clock, onError: () => {} });
    runtimes.push(runtime);
    const { id } = await runtime.startSaga(loop.def, undefined);
    await runtime.send(id, 'item', -1);
    await until(() => loop.seen.length === 1, clock);
    for (let i = 0; i <= MAX_QUEUED_PER_EVENT; i++) await store.sendEvent(id, 'item', JSON.stringify(i), clock.now());
    await until(async () => (await store.inbox(id)).length === 0, clock);
    const dropped = (await store.history(id)).filter((h) => (h.data as { dropped?: unknown } | null)?.dropped);
    expect(dropped).toEqual([
      expect.objectContaining({ type: 'event.received', data: { name: 'item', dropped: { code: 'EVENT_BACKLOG_FULL', limit: 100, payload: MAX_QUEUED_PER_EVENT } } }),
    ]);
    loop.give(1_000);
    await until(() => loop.seen.length === MAX_QUEUED_PER_EVENT + 1, clock);
    await runtime.send(id, 'item', 'stop');
    await until(async () => (await store.get(id))?.status === 'completed', clock);
    expect(loop.seen).toEqual([-1, ...Array.from({ length: MAX_QUEUED_PER_EVENT }, (_, i) => i), 'stop']);
  });

  run('never drops an accepted event over seeded random sequences of sends and consumption', async () => {
    let refusals = 0;
    for (const seed of kind === 'memory' ? [1, 2, 3, 4, 5, 6] : [7, 8]) {
      const random = rng(seed);
      const clock = createTestClock();
      const store = await make();
      const loop = looper();
      const runtime = createRuntime({ sagas: [loop.def], store, clock, onError: () => {} });
      runtimes.push(runtime);
      const { id } = await runtime.startSaga(loop.def, undefined);
      const accepted: number[] = [];
      let given = 0;
      let next = 0;
      for (let op = 0; op < 25; op++) {
        if (random() < 0.6) {
          for (let k = Math.floor(random() * 60); k >= 0; k--) {
            // Taken by a wait: the record step under way, and every one before it.
            const backlog = accepted.length - Math.min(accepted.length, given + 1);
            const sent = runtime.send(id, 'item', next);
            if (backlog >= MAX_QUEUED_PER_EVENT) await expect(sent, `seed ${seed}`).rejects.toMatchObject({ code: 'EVENT_BACKLOG_FULL' }), refusals++;
            else await sent, accepted.push(next);
            next++;
          }
        } else {
          const n = 1 + Math.floor(random() * 60);
          given += n;
          loop.give(n);
        }
        // Quiescent: every accepted event the tokens allow is taken.
        await until(() => loop.seen.length === Math.min(accepted.length, given + 1), clock);
        expect(loop.seen.length, `seed ${seed}`).toBe(Math.min(accepted.length, given + 1));
      }
      loop.give(1_000_000);
      await until(() => loop.seen.length === accepted.length, clock);
      await runtime.send(id, 'item', 'stop');
      await until(async () => (await store.get(id))?.status === 'completed', clock);
      expect(loop.seen, `seed ${seed}`).toEqual([...accepted, 'stop']);
      expect(await store.inbox(id)).toEqual([]);
      expect((await store.history(id)).some((h) => (h.data as { dropped?: unknown } | null)?.dropped), `seed ${seed}`).toBe(false);
    }
    expect(refusals).toBeGreaterThan(0); // the sequences do reach the limit
  });
});

describe('the event backlog of the in-memory handle', () => {
  it(`refuses the event past ${MAX_QUEUED_PER_EVENT} unconsumed of one name, and loses none it accepted`, async () => {
    const loop = looper();
    const handle = await loop.def.start(undefined);
    const settle = async (n: number) => {
      for (let i = 0; i < 1_000 && loop.seen.length < n; i++) await new Promise((r) => setTimeout(r, 1));
    };
    for (let i = 0; i <= MAX_QUEUED_PER_EVENT; i++) await handle.send('item', i);
    await expect(handle.send('item', 'one too many')).rejects.toMatchObject({ code: 'EVENT_BACKLOG_FULL', message: expect.stringMatching(BACKLOG) });
    loop.give(1);
    await settle(2);
    await handle.send('item', 'fits');
    await expect(handle.send('item', 'not yet')).rejects.toMatchObject({ code: 'EVENT_BACKLOG_FULL' });
    loop.give(1_000);
    await settle(MAX_QUEUED_PER_EVENT + 2);
    await handle.send('item', 'stop');
    await handle.result;
    expect(loop.seen).toEqual([...Array.from({ length: MAX_QUEUED_PER_EVENT + 1 }, (_, i) => i), 'fits', 'stop']);
  });
  it('counts the events still queued, not yet processed (sent while an interceptor holds the run back)', async () => {
    const loop = looper();
    let boot!: () => void;
    const held = new Promise<void>((r) => (boot = r));
    const handle = await loop.def.start(undefined, { interceptors: [{ run: async (run, next) => (await held, next(run)) }] });
    // None is taken yet: the run has not begun.
    for (let i = 0; i < MAX_QUEUED_PER_EVENT; i++) await handle.send('item', i);
    await expect(handle.send('item', 'one too many')).rejects.toMatchObject({ code: 'EVENT_BACKLOG_FULL' });
    boot();
    for (let i = 0; i < 1_000 && loop.seen.length < 1; i++) await new Promise((r) => setTimeout(r, 1));
    loop.give(1_000);
    for (let i = 0; i < 1_000 && loop.seen.length < MAX_QUEUED_PER_EVENT; i++) await new Promise((r) => setTimeout(r, 1));
    await handle.send('item', 'stop');
    await handle.result;
    expect(loop.seen).toEqual([...Array.from({ length: MAX_QUEUED_PER_EVENT }, (_, i) => i), 'stop']);
  });
  it('never drops an accepted event over seeded random sequences of sends and consumption', async () => {
    let refusals = 0;
    for (let seed = 11; seed <= 30; seed++) {
      const random = rng(seed);
      const loop = looper();
      const handle = await loop.def.start(undefined);
      const settle = async (n: number) => {
        for (let i = 0; i < 1_000 && loop.seen.length < n; i++) await new Promise((r) => setTimeout(r, 0));
      };
      const accepted: number[] = [];
      let given = 0;
      let next = 0;
      for (let op = 0; op < 30; op++) {
        if (random() < 0.6) {
          for (let k = Math.floor(random() * 80); k >= 0; k--) {
            const backlog = accepted.length - Math.min(accepted.length, given + 1);
            const sent = handle.send('item', next);
            if (backlog >= MAX_QUEUED_PER_EVENT) await expect(sent, `seed ${seed}`).rejects.toMatchObject({ code: 'EVENT_BACKLOG_FULL' }), refusals++;
            else await sent, accepted.push(next);
            next++;
          }
        } else {
          const n = 1 + Math.floor(random() * 80);
          given += n;
          loop.give(n);
        }
        await settle(Math.min(accepted.length, given + 1));
        expect(loop.seen.length, `seed ${seed}`).toBe(Math.min(accepted.length, given + 1));
      }
      loop.give(1_000_000);
      await settle(accepted.length);
      await handle.send('item', 'stop');
      await handle.result;
      expect(loop.seen, `seed ${seed}`).toEqual([...accepted, 'stop']);
    }
    expect(refusals).toBeGreaterThan(0); // the sequences do reach the limit
  });
});
