import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, MemoryStore, saga, type Runtime, type TestClock } from '../src/index.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import type { SagaStore } from '../src/stores/types.js';

/*
 * Schedules: one saga per cron tick across every worker sharing a store, on
 * the simulated clock, for each store orsa ships.
 */

const pgUrl = process.env.ORSA_TEST_PG_URL;
const ci = Boolean(process.env.CI);
if (!pgUrl && ci) throw new Error('ORSA_TEST_PG_URL is not set, and CI is: the PostgreSQL schedule specs must run in CI');

/** One database several workers share; each `open()` is another worker's connection to it. */
interface World {
  open(): SagaStore;
  cleanup(): Promise<void>;
}

const worlds: Record<string, () => World> = {
  memory: () => {
    const store = new MemoryStore();
    return { open: () => store, cleanup: async () => {} };
  },
  'SQLite file': () => {
    const dir = mkdtempSync(join(tmpdir(), 'orsa-schedules-'));
    const stores: SqliteStore[] = [];
    return {
      open: () => {
        const store = new SqliteStore({ path: join(dir, 'orsa.db'), synchronous: 'NORMAL' });
        stores.push(store);
        return store;
      },
      cleanup: async () => {
        await Promise.all(stores.map((s) => s.close()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
if (pgUrl) {
  worlds.PostgreSQL = () => {
    const schema = `orsa_sched_${randomBytes(6).toString('hex')}`;
    const stores: PostgresStore[] = [];
    return {
      open: () => {
        const store = new PostgresStore({ connectionString: pgUrl, schema });
        stores.push(store);
        return store;
      },
      cleanup: async () => {
        await Promise.all(stores.map((s) => s.close()));
        const admin = new pg.Client({ connectionString: pgUrl });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end();
      },
    };
  };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (iso: string) => Date.parse(iso);

/**
 * Moves the clock to a tick's time. Never past it: a database worker fires the tick on a timer and its
 * queries take real time, while the simulated clock would run on and make the tick late (missed).
 */
async function to(clock: TestClock, iso: string): Promise<void> {
  await clock.advance(at(iso) - clock.now());
}

/** Waits (in real time: database round trips) until `check` holds; fails after a generous bound. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  // A generous bound (about a minute): the machine may be shared and loaded.
  for (let i = 0; i < 6_000; i++) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`never happened: ${what}`);
}

describe.each(Object.keys(worlds))('schedules on %s', (kind) => {
  let world: World;
  const runtimes: Runtime[] = [];
  const errors: unknown[] = [];
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
    await world?.cleanup();
    errors.length = 0;
  });

  /** The saga every schedule here starts: it notes each execution of its step by saga id. */
  function reportSaga(runs: string[]) {
    return saga('report')
      .input<{ format: string }>()
      .step('render', ({ input, sagaId }) => {
        runs.push(sagaId);
        return input.format;
      })
      .build();
  }

  function worker(clock: TestClock, sagas: Parameters<typeof createRuntime>[0]['sagas'], workerId: string, store = world.open()): Runtime {
    // Hourly regular polls: the wake-up timer alone must fire the ticks (and lease renewals every hour, for a fast clock).
    const runtime = createRuntime({ sagas, store, clock, workerId, pollIntervalMs: HOUR, leaseMs: 3 * HOUR, onError: (e) => errors.push(e) });
    runtimes.push(runtime);
    return runtime;
  }

  /** Another connection to the shared database, initialized: what the test reads the store through. */
  async function look(): Promise<SagaStore> {
    const store = world.open();
    await store.init();
    return store;
  }

  /** Completed `report` sagas' ids, sorted. */
  async function completed(store: SagaStore): Promise<string[]> {
    return (await store.list({ sagaName: 'report', status: 'completed', limit: 1_000 })).map((r) => r.id).sort();
  }

  async function reported(store: SagaStore): Promise<string[]> {
    return (await store.list({ sagaName: 'report', limit: 1_000 })).map((r) => r.id).sort();
  }

  it('starts one saga per tick across two workers, its id derived from the tick, and goes on with one worker', async () => {
    world = worlds[kind]!();
    const clock = createTestClock(at('2026-01-01T00:05:00Z'));
    const runs: string[] = [];
    const report = reportSaga(runs);
    const a = worker(clock, [report], 'worker-a');
    const b = worker(clock, [report], 'worker-b');
    const options = { cron: '*/10 * * * *', input: { format: 'pdf' } };
    expect((await a.schedule('every-10', report, options)).change).toBe('created');
    const second = await b.schedule('every-10', 'report', options);
    expect(second.change).toBe('unchanged');
    expect(second.schedule).toMatchObject({ name: 'every-10', sagaName: 'report', timezone: 'UTC', missed: 'skip', nextTickAt: at('2026-01-01T00:10:00Z') });
    const store = await look();
    const expected = ['00:10', '00:20', '00:30', '00:40', '00:50', '01:00'].map((t) => `every-10@2026-01-01T${t}:00.000Z`);
    for (let k = 1; k <= expected.length; k++) {
      if (k === 4) await a.stop(); // the schedule is the store's: the other worker fires the rest
      await to(clock, expected[k - 1]!.slice('every-10@'.length));
      await until(async () => (await completed(store)).length === k, `tick ${k} completed`);
    }
    expect(await completed(store)).toEqual(expected);
    expect(runs.sort()).toEqual(expected); // each tick's step ran once, though both workers fired the first three
    expect((await b.schedules())[0]).toMatchObject({ name: 'every-10', lastTickAt: at('2026-01-01T01:00:00Z'), nextTickAt: at('2026-01-01T01:10:00Z') });
    expect(errors).toEqual([]);
  });

  it.each(['skip', 'latest'] as const)("after a stop, handles the ticks missed while no worker ran by policy '%s'", async (missed) => {
    world = worlds[kind]!();
    const clock = createTestClock(at('2026-01-01T00:05:00Z'));
    const runs: string[] = [];
    const report = reportSaga(runs);
    const first = worker(clock, [report], 'first');
    await first.schedule('hourly', report, { cron: '0 * * * *', input: { format: 'csv' }, missed });
    await to(clock, '2026-01-01T01:00:00Z'); // the 01:00 tick runs
    const store = await look();
    await until(async () => (await completed(store)).length === 1, 'the 01:00 tick');
    await first.stop();
    await to(clock, '2026-01-01T05:30:00Z'); // 05:30: the ticks of 02:00 to 05:00 came while no worker ran
    const second = worker(clock, [report], 'second'); // declares nothing: the stored schedule is enough
    await second.start();
    const afterRestart = missed === 'latest' ? ['hourly@2026-01-01T01:00:00.000Z', 'hourly@2026-01-01T05:00:00.000Z'] : ['hourly@2026-01-01T01:00:00.000Z'];
    await until(async () => (await completed(store)).length === afterRestart.length, 'the restart');
    expect(await reported(store)).toEqual(afterRestart);
    expect((await second.schedules())[0]).toMatchObject({ lastTickAt: at('2026-01-01T05:00:00Z'), nextTickAt: at('2026-01-01T06:00:00Z') });
    await to(clock, '2026-01-01T06:00:00Z'); // on time again
    await until(async () => (await completed(store)).length === afterRestart.length + 1, 'the 06:00 tick');
    expect(await reported(store)).toEqual([...afterRestart, 'hourly@2026-01-01T06:00:00.000Z']);
    expect(runs.sort()).toEqual(await reported(store));
  });

  it("fires a tick a worker sees within scheduleGraceMs of its time, even with 'skip'", async () => {
    world = worlds[kind]!();
    const clock = createTestClock(at('2026-01-01T00:05:00Z'));
    const report = reportSaga([]);
    const first = worker(clock, [report], 'first');
    await first.schedule('hourly', report, { cron: '0 * * * *', input: { format: 'csv' } });
    await first.stop();
    await clock.advance(55 * MINUTE + 30_000); // 01:00:30, half a minute late: a quick restart
    const second = worker(clock, [report], 'second');
    await second.start();
    expect(await reported(await look())).toEqual(['hourly@2026-01-01T01:00:00.000Z']);
  });

  it('reads the cron in its time zone across daylight saving time: a 02:30 Europe/Berlin tick once a day', async () => {
    world = worlds[kind]!();
    const clock = createTestClock(at('2026-03-27T12:00:00Z'));
    const report = reportSaga([]);
    const runtime = worker(clock, [report], 'berlin');
    await runtime.schedule('berlin', report, { cron: '30 2 * * *', timezone: 'Europe/Berlin', input: { format: 'pdf' } });
    const store = await look();
    const march = ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z'];
    for (const [day, tick] of march.entries()) {
      await to(clock, tick);
      await until(async () => (await completed(store)).length === day + 1, `tick of ${tick}`);
    }
    // 01:30Z is 02:30 CET; on 29 March 02:30 does not exist (clocks jump to 03:00 CEST, 01:00Z): it runs then, once.
    expect(await reported(store)).toEqual(march.map((t) => `berlin@${t}`));
    // On 25 October 02:30 comes twice (CEST, then CET): it runs once, at the first.
    await runtime.stop(); // no worker from March to October: the ticks between are missed, and skipped
    await clock.advance(at('2026-10-24T12:00:00Z') - clock.now());
    await worker(clock, [report], 'berlin-2').start();
    const before = (await reported(store)).length;
    const october = ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'];
    for (const [day, tick] of october.entries()) {
      await to(clock, tick);
      await until(async () => (await completed(store)).length === before + day + 1, `tick of ${tick}`);
    }
    // Nothing fired at the second 02:30 of 25 October (01:30Z): the day after is the next tick.
    expect((await reported(store)).slice(before)).toEqual(october.map((t) => `berlin@${t}`));
  });

  it('updates a schedule declared again with another cron, counting its ticks from then', async () => {
    world = worlds[kind]!();
    const clock = createTestClock(at('2026-01-01T00:05:00Z'));
    const report = reportSaga([]);
    const runtime = worker(clock, [report], 'w');
    await runtime.schedule('changing', report, { cron: '0 * * * *', input: { format: 'pdf' } });
    await clock.advance(10 * MINUTE);
    const updated = await runtime.schedule('changing', report, { cron: '*/15 * * * *', input: { format: 'pdf' } });
    expect(updated).toMatchObject({ change: 'updated', schedule: { cron: '*/15 * * * *', lastTickAt: at('2026-01-01T00:15:00Z'), nextTickAt: at('2026-01-01T00:30:00Z') } });
    expect(updated.schedule.createdAt).toBe(at('2026-01-01T00:05:00Z'));
    expect(updated.schedule.updatedAt).toBe(at('2026-01-01T00:15:00Z'));
    await clock.advance(15 * MINUTE);
    const store = await look();
    await until(async () => (await completed(store)).length === 1, 'the 00:30 tick');
    expect(await reported(store)).toEqual(['changing@2026-01-01T00:30:00.000Z']);
  });

  it('removes a schedule: no worker fires it again, and removing it twice says so', async () => {
    world = worlds[kind]!();
    const clock = createTestClock(at('2026-01-01T00:05:00Z'));
    const report = reportSaga([]);
    const a = worker(clock, [report], 'a');
    const b = worker(clock, [report], 'b');
    await a.schedule('doomed', report, { cron: '*/10 * * * *', input: { format: 'pdf' } });
    await a.schedule('kept', report, { cron: '0 1 * * *', input: { format: 'pdf' } });
    await b.start();
    expect((await b.schedules()).map((s) => s.name)).toEqual(['doomed', 'kept']);
    expect(await b.unschedule('doomed')).toBe(true);
    expect(await a.unschedule('doomed')).toBe(false);
    expect((await a.schedules()).map((s) => s.name)).toEqual(['kept']);
    await to(clock, '2026-01-01T01:00:00Z');
    const store = await look();
    await until(async () => (await completed(store)).length === 1, 'the kept 01:00 tick');
    expect(await reported(store)).toEqual(['kept@2026-01-01T01:00:00.000Z']);
  });

  it('does not lose a tick whose worker died between starting its saga and advancing the schedule, nor run it twice', async () => {
    world = worlds[kind]!();
    const clock = createTestClock(at('2026-01-01T00:05:00Z'));
    const runs: string[] = [];
    const report = reportSaga(runs);
    const inner = await look();
    // The first worker's store takes every write but the schedule's advance: it "dies" right after the start.
    const dying = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'schedules') return { ...bound(target.schedules!), advance: () => Promise.reject(new Error('process killed')) };
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const first = worker(clock, [report], 'first', dying);
    await first.schedule('hourly', report, { cron: '0 * * * *', input: { format: 'pdf' } });
    await to(clock, '2026-01-01T01:00:00Z');
    await until(async () => (await completed(inner)).length === 1, 'the 01:00 tick started by the first worker');
    await first.stop();
    expect((await inner.schedules!.get('hourly'))?.lastTickAt).toBe(at('2026-01-01T00:05:00Z')); // never advanced
    const second = worker(clock, [report], 'second');
    await second.start(); // the 01:00 tick is fired again, and its start is a no-op
    expect((await inner.schedules!.get('hourly'))?.lastTickAt).toBe(at('2026-01-01T01:00:00Z'));
    expect(await reported(inner)).toEqual(['hourly@2026-01-01T01:00:00.000Z']);
    expect(runs).toEqual(['hourly@2026-01-01T01:00:00.000Z']);
  });

  it('reports a stored schedule no worker can read, once, and fires the others', async () => {
    world = worlds[kind]!();
    const clock = createTestClock(at('2026-01-01T00:05:00Z'));
    const report = reportSaga([]);
    const store = await look();
    // Written past the runtime's checks (a raw store user, or a newer orsa's syntax).
    await store.schedules!.put({ name: 'broken', sagaName: 'report', cron: '0 25 * * *', timezone: 'UTC', input: '{}', missed: 'skip' }, clock.now());
    const runtime = worker(clock, [report], 'w', store);
    await runtime.schedule('fine', report, { cron: '0 * * * *', input: { format: 'pdf' } });
    await to(clock, '2026-01-01T01:00:00Z');
    await until(async () => (await completed(store)).length === 1, 'the first fine tick');
    await to(clock, '2026-01-01T02:00:00Z');
    await until(async () => (await completed(store)).length === 2, 'the second fine tick');
    expect(await reported(store)).toEqual(['fine@2026-01-01T01:00:00.000Z', 'fine@2026-01-01T02:00:00.000Z']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'INVALID_SCHEDULE', message: expect.stringContaining('"0 25 * * *"') });
    const broken = (await runtime.schedules()).find((s) => s.name === 'broken');
    expect(broken).toMatchObject({ nextTickAt: null, problem: expect.stringContaining('hour') });
    expect(await store.schedules!.get('broken')).toMatchObject({ cron: '0 25 * * *', lastTickAt: at('2026-01-01T00:05:00Z') });
  });
});

function bound<T extends object>(target: T): T {
  const out: Record<string, unknown> = {};
  for (const key of ['put', 'get', 'list', 'remove', 'advance']) out[key] = (target as Record<string, (...a: unknown[]) => unknown>)[key]!.bind(target);
  return out as T;
}

describe('declaring a schedule', () => {
  const clock = createTestClock(at('2026-01-01T00:00:00Z'));
  const report = saga('report')
    .input<{ format: string }>()
    .step('render', ({ input }) => input.format)
    .build();
  const runtime = createRuntime({ sagas: [report], store: new MemoryStore(), clock });
  afterEach(() => runtime.stop());

  it.each([
    ['a cron croner cannot read', { cron: '61 * * * *', input: { format: 'pdf' } }, /cannot read the cron expression "61 \* \* \* \*".*minute.*write minute hour day month weekday/],
    ['a cron that never fires', { cron: '0 0 30 2 *', input: { format: 'pdf' } }, /never fires/],
    ['an empty cron', { cron: ' ', input: { format: 'pdf' } }, /cron must be a cron expression/],
    ['an unknown time zone', { cron: '0 2 * * *', timezone: 'Mars/Olympus', input: { format: 'pdf' } }, /timezone "Mars\/Olympus" is not an IANA time zone.*'Europe\/Berlin'/],
    ['an unknown missed policy', { cron: '0 2 * * *', missed: 'all', input: { format: 'pdf' } }, /missed must be 'skip'.*or 'latest'/],
    ['input the saga refuses', { cron: '0 2 * * *', input: { format: 1n } }, /its input is not one saga "report" accepts/],
  ])('refuses %s with INVALID_SCHEDULE, storing nothing', async (_, options, message) => {
    await expect(runtime.schedule('nightly', report, options as never)).rejects.toMatchObject({ code: 'INVALID_SCHEDULE', name: 'InvalidScheduleError', message: expect.stringMatching(message) });
    expect(await runtime.schedules()).toEqual([]);
  });

  it('refuses a name that cannot start a saga id, and a saga the runtime does not run', async () => {
    await expect(runtime.schedule('', report, { cron: '0 2 * * *', input: { format: 'pdf' } })).rejects.toMatchObject({ code: 'INVALID_SCHEDULE' });
    await expect(runtime.schedule('x'.repeat(231), report, { cron: '0 2 * * *', input: { format: 'pdf' } })).rejects.toMatchObject({ code: 'INVALID_SCHEDULE' });
    await expect(runtime.schedule('bad\nname', report, { cron: '0 2 * * *', input: { format: 'pdf' } })).rejects.toMatchObject({ code: 'INVALID_SCHEDULE', message: expect.stringContaining('control character') });
    await expect(runtime.schedule('nightly', 'refund', { cron: '0 2 * * *', input: {} })).rejects.toMatchObject({ code: 'SAGA_NOT_REGISTERED' });
    expect(await runtime.schedules()).toEqual([]);
  });

  it('takes six fields (seconds first) and returns the next tick', async () => {
    const { change, schedule } = await runtime.schedule('fast', report, { cron: '*/10 * * * * *', input: { format: 'pdf' } });
    expect(change).toBe('created');
    expect(schedule).toMatchObject({ cron: '*/10 * * * * *', input: { format: 'pdf' }, lastTickAt: clock.now(), nextTickAt: clock.now() + 10_000 });
    expect(await runtime.unschedule('fast')).toBe(true);
  });
});

describe('a store that fails for a moment while a tick fires', () => {
  const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

  it.each(['insert', 'advance'] as const)('keeps the tick when %s fails transiently, and fires it at the next look', async (failing) => {
    const clock = createTestClock(at('2026-01-01T00:59:00Z'));
    const inner = new MemoryStore();
    let failures = 1;
    const store = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'insert' && failing === 'insert') {
          return (...args: Parameters<MemoryStore['insert']>) => (failures-- > 0 ? Promise.reject(busy()) : target.insert(...args));
        }
        if (prop === 'schedules' && failing === 'advance') {
          const advance = (name: string, tickAt: number) => (failures-- > 0 ? Promise.reject(busy()) : target.schedules.advance(name, tickAt));
          return { ...bound(target.schedules!), advance };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const errors: unknown[] = [];
    const report = saga('report').input<{ format: string }>().step('render', ({ input }) => input.format).build();
    const runtime = createRuntime({ sagas: [report], store, clock, pollIntervalMs: HOUR, leaseMs: 3 * HOUR, onError: (e) => errors.push(e) });
    try {
      await runtime.schedule('hourly', report, { cron: '0 * * * *', input: { format: 'pdf' } });
      await to(clock, '2026-01-01T01:00:00Z');
      expect(failures).toBe(0); // the fault happened
      expect(errors.length).toBeGreaterThan(0);
      await clock.advance(1_000); // the poller looks again soon (backing off up to pollIntervalMs)
      expect((await inner.list({ sagaName: 'report' })).map((r) => [r.id, r.status])).toEqual([['hourly@2026-01-01T01:00:00.000Z', 'completed']]);
      expect((await inner.schedules!.get('hourly'))?.lastTickAt).toBe(at('2026-01-01T01:00:00Z'));
    } finally {
      await runtime.stop();
    }
  });
});
