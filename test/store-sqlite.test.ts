import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { MemoryStore } from '../src/stores/memory/store.js';
import { runStoreConformance } from '../src/testing/store-conformance.js';

runStoreConformance('SqliteStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orsa-sqlite-'));
  return {
    // A nested path: the store creates missing directories.
    store: new SqliteStore({ path: join(dir, 'data', 'orsa.db') }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SqliteStore with other connections', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orsa-sqlite-shared-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves a connection it was given open after close()', async () => {
    const database = new Database(join(dir, 'given.db'));
    const store = new SqliteStore({ database });
    await store.init();
    await store.close();
    expect(database.open).toBe(true);
    expect(database.pragma('journal_mode', { simple: true })).toBe('wal');
    database.close();
  });

  it('lets processes sharing one file claim and write concurrently, each record claimed once', async () => {
    const path = join(dir, 'shared.db');
    const store = new SqliteStore({ path });
    await store.init();
    const base = { sagaName: 'shared', version: 'v1', status: 'running', snapshot: '{}', dueAt: null, owner: null, leaseUntil: null } as const;
    for (let i = 0; i < 200; i++) await store.insert({ ...base, id: `r${i}`, now: 0 }, []);
    // Each child inits the store (concurrently with the others), waits until all are ready, then claims
    // one record at a time and writes it.
    const go = join(dir, 'go');
    const child = (owner: string) => `
      import { existsSync, writeFileSync } from 'node:fs';
      import { setTimeout as sleep } from 'node:timers/promises';
      import { SqliteStore } from ${JSON.stringify(fileURLToPath(new URL('../src/stores/sqlite/store.ts', import.meta.url)))};
      const store = new SqliteStore({ path: ${JSON.stringify(path)} });
      await store.init();
      writeFileSync(${JSON.stringify(go)} + '.${owner}', '');
      while (!existsSync(${JSON.stringify(go)})) await sleep(5);
      const ids = [];
      for (;;) {
        const [record] = await store.claim({ owner: '${owner}', now: 1, leaseUntil: 60_000, limit: 1, sagaNames: ['shared'] });
        if (!record) break;
        await store.update(record.id, { rowVersion: record.rowVersion, owner: '${owner}' },
          { status: 'completed', snapshot: '{"by":"${owner}"}', dueAt: null, leaseUntil: 60_000 }, [{ at: 2, type: 'done' }], { now: 2 });
        ids.push(record.id);
      }
      await store.close();
      console.log(JSON.stringify(ids));`;
    const run = promisify(execFile);
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const owners = ['p1', 'p2', 'p3', 'p4'];
    const running = Promise.all(
      owners.map((owner) => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child(owner)], { cwd })),
    );
    let crashed = false;
    running.catch(() => (crashed = true));
    while (!crashed && !owners.every((owner) => existsSync(`${go}.${owner}`))) await sleep(5);
    writeFileSync(go, '');
    const outputs = await running;
    const claimed = outputs.map((o) => JSON.parse(o.stdout) as string[]);
    const all = claimed.flat();
    expect(all.sort()).toEqual(Array.from({ length: 200 }, (_, i) => `r${i}`).sort());
    for (const [p, ids] of claimed.entries()) {
      for (const id of ids) expect((await store.get(id))?.snapshot).toBe(`{"by":"p${p + 1}"}`);
    }
    await store.close();
  });
});

describe('SqliteStore group commit (writeBatch)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orsa-sqlite-batch-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fails the whole batch, writing nothing, when one write ends the transaction (not just its savepoint)', async () => {
    const database = new Database(join(dir, 'rollback.db'));
    const store = new SqliteStore({ database });
    await store.init();
    const base = { sagaName: 'batch', version: 'v1', status: 'running', snapshot: '{}', dueAt: null, owner: 'w', leaseUntil: 60_000 } as const;
    for (const id of ['a', 'b', 'c']) await store.insert({ ...base, id, now: 0 }, []);
    // An error that rolls back the whole transaction, as an I/O error or out-of-memory can.
    database.exec(`CREATE TRIGGER boom BEFORE UPDATE ON orsa_sagas WHEN NEW.snapshot = '"boom"' BEGIN SELECT RAISE(ROLLBACK, 'boom'); END`);
    const update = (id: string, snapshot: string) =>
      ({ kind: 'update', id, fence: { rowVersion: 1, owner: 'w' }, patch: { status: 'running', snapshot, dueAt: null, leaseUntil: 60_000 }, history: [], options: { now: 1 } }) as const;
    await expect(store.writeBatch([update('a', '"ok"'), update('b', '"boom"'), update('c', '"ok"')])).rejects.toThrow('boom');
    // Nothing of the batch committed: written again one by one (as the runtime does), each fence still holds.
    for (const id of ['a', 'b', 'c']) expect(await store.get(id)).toMatchObject({ snapshot: '{}', rowVersion: 1 });
    database.exec('DROP TRIGGER boom');
    expect(await store.update('c', { rowVersion: 1, owner: 'w' }, update('c', '"ok"').patch, [], { now: 1 })).toMatchObject({ rowVersion: 2 });
    await store.close();
    database.close();
  });
});

describe('SqliteStore stats', () => {
  it('counts what it committed to the byte as the memory store does: nothing for a duplicate insert or a refused write', async () => {
    const count = async (store: SqliteStore | MemoryStore) => {
      await store.init();
      const base = { sagaName: 'stats', version: 'v1', status: 'running', dueAt: null, owner: 'w', leaseUntil: 60_000 } as const;
      const started = [{ at: 0, type: 'saga.started', data: { worker: 'w' } }];
      await store.insert({ ...base, id: 'a', snapshot: '{"context":{}}', now: 0, journal: [{ field: 'visits', key: 's0', value: '1' }] }, started);
      await store.insert({ ...base, id: 'a', snapshot: '{"context":{"other":1}}', now: 0 }, started);
      const patch = {
        status: 'running',
        snapshot: '{"context":{"n":1}}',
        dueAt: null,
        leaseUntil: 60_000,
        journal: { entries: [{ field: 'results', key: 's0', value: '{"ok":true}' }, { field: 'visits', key: 's1', value: '1' }] },
      } as const;
      const steps = [{ at: 1, type: 'step.completed', step: 's0', attempt: 1, data: { exec: 's0#1' } }, { at: 1, type: 'step.started', step: 's1', attempt: 1 }];
      await store.update('a', { rowVersion: 1, owner: 'w' }, patch, steps, { now: 1 });
      await expect(store.update('a', { rowVersion: 1, owner: 'w' }, patch, steps, { now: 2 })).rejects.toThrow();
      const outcomes = await store.writeBatch([
        { kind: 'update', id: 'a', fence: { rowVersion: 2, owner: 'w' }, patch: { ...patch, leaseUntil: null }, history: [{ at: 3, type: 'saga.completed' }], options: { now: 3 } },
        // Refused before the writes after it: their bytes must still be theirs.
        { kind: 'update', id: 'b', fence: { rowVersion: 9, owner: 'w' }, patch, history: steps, options: { now: 3 } },
        { kind: 'insert', record: { ...base, id: 'b', snapshot: '{}', now: 3 }, history: started },
        { kind: 'insert', record: { ...base, id: 'a', snapshot: '{}', now: 3 }, history: started },
      ]);
      expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true]);
      const stats = store.stats();
      await store.close();
      return stats;
    };
    const sqlite = await count(new SqliteStore({ path: ':memory:' }));
    expect(sqlite).toEqual(await count(new MemoryStore()));
    expect(sqlite).toMatchObject({ writes: 4, commits: 3 });
  });
});


describe('SqliteStore update', () => {
  // What the statement binds as NULL releases the record, so the record update returns must say so too:
  // a lease the caller left undefined (plain JS) or NaN (a clock gone wrong; SQLite stores NaN as NULL).
  it.each([
    ['undefined', undefined],
    ['NaN', Number.NaN],
  ])('returns the owner it stored when the lease binds as NULL (%s): released', async (_, leaseUntil) => {
    const store = new SqliteStore({ path: ':memory:' });
    await store.init();
    const base = { id: 'a', sagaName: 's', version: 'v1', status: 'running', snapshot: '{}', dueAt: null, owner: 'w', leaseUntil: 60_000, now: 0 } as const;
    await store.insert(base, []);
    await store.insert({ ...base, id: 'b' }, []);
    const patch = { status: 'running' as const, snapshot: '{"n":1}', dueAt: null, leaseUntil: leaseUntil as unknown as null };
    const written = await store.update('a', { rowVersion: 1, owner: 'w' }, patch, [], { now: 1 });
    const [batched] = await store.writeBatch([{ kind: 'update', id: 'b', fence: { rowVersion: 1, owner: 'w' }, patch, history: [], options: { now: 1 } }]);
    expect(written).toMatchObject({ owner: null, rowVersion: 2 });
    expect((await store.get('a'))!.owner).toBe(null);
    expect(batched).toMatchObject({ ok: true, record: { owner: null, rowVersion: 2 } });
    expect((await store.get('b'))!.owner).toBe(null);
    await store.close();
  });
});
