import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime, saga } from '../src/index.js';
import type { BatchWrite, SagaStore } from '../src/stores/types.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { GroupCommit } from '../src/durable/writer.js';

/*
 * Group commit in the runtime: the transitions of sagas running at once in
 * one worker share commits, and a step still starts only after the commit
 * that holds the transition starting it.
 */

const dir = mkdtempSync(join(tmpdir(), 'orsa-group-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const url = process.env.ORSA_TEST_PG_URL;

/** Watches a store's commits: which steps each committed write started, and how many writes each commit held. */
function watched(store: SagaStore) {
  const durable = new Set<string>();
  const sizes: number[] = [];
  const started = (id: string, history: BatchWrite['history']) => {
    for (const event of history) if (event.type === 'step.started') durable.add(`${id}:${event.step}`);
  };
  const { insert, update, writeBatch } = store;
  store.insert = async (record, history) => {
    const result = await insert.call(store, record, history);
    sizes.push(1);
    started(record.id, history);
    return result;
  };
  store.update = async (id, fence, patch, history, options) => {
    const record = await update.call(store, id, fence, patch, history, options);
    sizes.push(1);
    started(id, history);
    return record;
  };
  store.writeBatch = async (writes) => {
    const outcomes = await writeBatch!.call(store, writes);
    sizes.push(writes.length);
    writes.forEach((w, i) => outcomes[i]!.ok && started(w.kind === 'insert' ? w.record.id : w.id, w.history));
    return outcomes;
  };
  return { store, durable, sizes };
}

const cases: [string, () => Promise<{ store: SagaStore; cleanup: () => Promise<void> }>][] = [
  ['SQLite', async () => ({ store: new SqliteStore({ path: join(dir, `${randomBytes(4).toString('hex')}.db`) }), cleanup: async () => {} })],
  [
    'PostgreSQL',
    async () => {
      const pool = new pg.Pool({ connectionString: url });
      const schema = `orsa_group_${randomBytes(5).toString('hex')}`;
      return {
        store: new PostgresStore({ pool, schema }),
        cleanup: async () => {
          await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await pool.end();
        },
      };
    },
  ],
];

describe.each(cases)('group commit on %s', (kind, make) => {
  it.skipIf(kind === 'PostgreSQL' && !url && !process.env.CI)('shares commits between concurrent sagas, and starts each step only after the commit that started it', async () => {
    if (kind === 'PostgreSQL' && !url) throw new Error('ORSA_TEST_PG_URL is not set, and CI is: set it to the test server URL');
    const { store: raw, cleanup } = await make();
    const { store, durable, sizes } = watched(raw);
    const early: string[] = [];
    const ran: string[] = [];
    const step = (name: string) => async ({ sagaId }: { sagaId: string }) => {
      // The commit holding "step.started" for this step must have committed before the step runs.
      if (!durable.has(`${sagaId}:${name}`)) early.push(`${sagaId}:${name}`);
      ran.push(`${sagaId}:${name}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
      return name;
    };
    const definition = saga('grouped').step('a', step('a')).step('b', step('b')).step('c', step('c')).build();
    const runtime = createRuntime({ sagas: [definition], store });
    try {
      const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => runtime.startSaga(definition, undefined, { id: `g-${i}` }).then((r) => r.id)));
      const results = await Promise.all(ids.map((id) => runtime.result(id)));
      expect(results).toEqual(ids.map(() => ({ a: 'a', b: 'b', c: 'c' })));
      expect(ran).toHaveLength(120);
      expect(early).toEqual([]);
      // Writes of different sagas did share commits: 40 inserts and 120 updates in fewer commits.
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(160);
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      expect(sizes.length).toBeLessThan(160);
    } finally {
      await runtime.stop();
      await raw.close();
      await cleanup();
    }
  }, 60_000);
});

describe.skipIf(!url && !process.env.CI)('group commit with values PostgreSQL refuses', () => {
  it('fails only the writes the database refuses (lone surrogate, NUL in text); the others, unicode and a 5 MB one, commit intact', async () => {
    if (!url) throw new Error('ORSA_TEST_PG_URL is not set, and CI is: set it to the test server URL');
    const pool = new pg.Pool({ connectionString: url });
    const schema = `orsa_group_${randomBytes(5).toString('hex')}`;
    const store = new PostgresStore({ pool, schema });
    try {
      await store.init();
      const ids = ['odd-a', 'odd-b', 'odd-c', 'odd-d'];
      for (const id of ids) {
        await store.insert({ id, sagaName: 'odd', version: 'v1', status: 'running', snapshot: '{}', dueAt: null, owner: 'w', leaseUntil: 60_000, now: 0 }, []);
      }
      // Each step name lands in a text column as it is: PostgreSQL takes neither a lone surrogate nor NUL there.
      const steps = ['ok é 😀 \u2028', 'bad \ud800', 'nul \u0000', 'big'];
      const snapshot = (i: number) => JSON.stringify({ step: steps[i], big: i === 3 ? 'x'.repeat(5_000_000) : null, nul: '\u0000', lone: '\udc00' });
      const commits = new GroupCommit(store, () => true);
      const outcomes = await Promise.allSettled(
        ids.map((id, i) =>
          commits.update(id, { rowVersion: 1, owner: 'w' }, { status: 'running', snapshot: snapshot(i), dueAt: null, leaseUntil: 60_000 }, [{ at: 1, type: 'step.completed', step: steps[i]!, data: { step: steps[i] } }], { now: 1 }),
        ),
      );
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      for (const i of [0, 3]) {
        expect(await store.get(ids[i]!)).toMatchObject({ snapshot: snapshot(i), rowVersion: 2 });
        expect((await store.history(ids[i]!)).map((h) => [h.step, h.data])).toEqual([[steps[i], { step: steps[i] }]]);
      }
      for (const i of [1, 2]) expect(await store.get(ids[i]!)).toMatchObject({ snapshot: '{}', rowVersion: 1 });
    } finally {
      await store.close();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  }, 60_000);
});

describe('group commit and stop()', () => {
  it('stop() lets writes already handed to a group commit land before it gives the leases back', async () => {
    const store = new SqliteStore({ path: join(dir, `${randomBytes(4).toString('hex')}.db`) });
    const definition = saga('stopping').step('a', async () => 'a').step('b', async () => 'b').build();
    const refused: unknown[] = [];
    const runtime = createRuntime({ sagas: [definition], store, onError: (e) => refused.push(e) });
    const writeBatch = store.writeBatch.bind(store);
    // The first group commit of step outcomes is held until stop() is under way; writes after it wait behind it.
    let held: { writes: readonly BatchWrite[]; go: () => void } | undefined;
    const reached = new Promise<void>((arrived) => {
      store.writeBatch = async (writes) => {
        if (!held && writes.some((w) => w.history.some((h) => h.type === 'step.completed'))) {
          await new Promise<void>((go) => {
            held = { writes, go };
            arrived();
          });
        }
        return writeBatch(writes);
      };
    });
    try {
      await Promise.all(Array.from({ length: 8 }, (_, i) => runtime.startSaga(definition, undefined, { id: `stop-${i}` })));
      await reached;
      const stopping = runtime.stop();
      // Let stop() run as far as it goes on its own (it must wait for the held commit), then let the commit go.
      await new Promise((resolve) => setTimeout(resolve, 50));
      held!.go();
      await stopping;
      // Every write of the held commit landed under the lease it was made with: none refused as stale.
      for (const w of held!.writes) {
        const id = w.kind === 'insert' ? w.record.id : w.id;
        expect((await store.history(id)).some((h) => h.type === 'step.completed')).toBe(true);
      }
      expect(refused).toEqual([]);
    } finally {
      await runtime.stop();
      await store.close();
    }
  }, 60_000);

  it('stop() waits for a lone write too (one saga live: its write goes straight to the store, not through a batch)', async () => {
    const store = new SqliteStore({ path: join(dir, `${randomBytes(4).toString('hex')}.db`) });
    const definition = saga('stopping-alone').step('a', async () => 'a').step('b', async () => 'b').build();
    const refused: unknown[] = [];
    const runtime = createRuntime({ sagas: [definition], store, onError: (e) => refused.push(e) });
    const update = store.update.bind(store);
    // The write of step a's outcome is held until stop() is under way.
    let go: (() => void) | undefined;
    const order: string[] = [];
    const reached = new Promise<void>((arrived) => {
      store.update = async (id, fence, patch, history, options) => {
        if (!go && history.some((h) => h.type === 'step.completed')) {
          await new Promise<void>((resolve) => {
            go = resolve;
            arrived();
          });
        }
        const record = await update(id, fence, patch, history, options);
        order.push('written');
        return record;
      };
    });
    try {
      await runtime.startSaga(definition, undefined, { id: 'alone' });
      await reached;
      const stopping = runtime.stop().then(() => order.push('stopped'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      go!();
      await stopping;
      expect(order[0]).toBe('written');
      expect((await store.history('alone')).some((h) => h.type === 'step.completed' && h.step === 'a')).toBe(true);
      expect(refused).toEqual([]);
    } finally {
      await runtime.stop();
      await store.close();
    }
  }, 60_000);
  it('stop() waits for a write that goes alone because it carries notices (a child\'s final write tells its parent)', async () => {
    const store = new SqliteStore({ path: join(dir, `${randomBytes(4).toString('hex')}.db`) });
    const child = saga('stopping-child').step('a', async () => 'a').build();
    const parent = saga('stopping-parent').child('c', child, () => undefined).step('b', async () => 'b').build();
    const refused: unknown[] = [];
    const runtime = createRuntime({ sagas: [parent, child], store, onError: (e) => refused.push(e) });
    const update = store.update.bind(store);
    // The child's final write (it stores the parent's notice in the same commit) is held until stop() is under way.
    let go: (() => void) | undefined;
    const order: string[] = [];
    const reached = new Promise<void>((arrived) => {
      store.update = async (id, fence, patch, history, options) => {
        const notice = (options.notify?.length ?? 0) > 0;
        if (!go && notice) {
          await new Promise<void>((resolve) => {
            go = resolve;
            arrived();
          });
        }
        const record = await update(id, fence, patch, history, options);
        if (notice) order.push('written');
        return record;
      };
    });
    try {
      await runtime.startSaga(parent, undefined, { id: 'p' });
      await reached;
      const stopping = runtime.stop().then(() => order.push('stopped'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      go!();
      await stopping;
      expect(order).toEqual(['written', 'stopped']);
      // The child's end is stored (a completed child parks until its parent ends), the parent's notice with it.
      expect((await store.history('p:c#1')).some((h) => h.type === 'saga.parked')).toBe(true);
      expect((await store.inbox('p')).map((e) => e.name)).toContain('childEnded');
      expect(refused).toEqual([]);
    } finally {
      await runtime.stop();
      await store.close();
    }
  }, 60_000);
});
