import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeOrderServices, createOrderSaga } from '../machines/order.saga.js';
import { createRuntime, MemoryStore, saga, type Runtime } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { SQLITE_MIGRATIONS } from '../src/stores/sqlite/migrations.js';
import { legacySaga } from './fixtures/legacy-saga.js';

/*
 * The journal seen from the runtime: what a store assembles is what the
 * interpreter held, a step's write does not grow with the saga, and databases
 * written before the journal finish their sagas.
 */

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});
const tempFile = (name: string) => join(mkdtempSync(join(tmpdir(), 'orsa-journal-')), name);

const stores: Record<string, () => SagaStore> = {
  memory: () => new MemoryStore(),
  sqlite: () => new SqliteStore({ path: tempFile('orsa.db'), synchronous: 'NORMAL' }),
};

describe.each(Object.keys(stores))('the journal on %s', (kind) => {
  it('assembles, after every commit of the reference order saga (goto loop, parallel group, wait, sleep, rollback), the snapshot the interpreter holds', async () => {
    const store = stores[kind]!();
    const mismatches: string[] = [];
    let commits = 0;
    const order = createOrderSaga(createFakeOrderServices({ fraudPolls: 2 }));
    const runtime = createRuntime({
      sagas: [order],
      store,
      hooks: {
        // The hook receives the snapshot as the interpreter holds it, once the commit is durable.
        onStore: async (record) => {
          commits++;
          const stored = await store.get(record.id);
          if (stored!.snapshot !== record.snapshot) mismatches.push(`${record.id} commit ${commits}:\n${stored!.snapshot}\n!==\n${record.snapshot}`);
        },
      },
    });
    runtimes.push(runtime);
    const input = { orderId: 'o-1', sku: 'sku-1', quantity: 2, amountCents: 1234 };
    const ok = await runtime.startSaga(order, input, { id: 'order-ok' });
    const rolledBack = await runtime.startSaga(order, { ...input, orderId: 'o-2', failLabel: true }, { id: 'order-rollback' });
    const confirm = async (id: string) => {
      for (let i = 0; i < 200 && (await runtime.get(id))?.status !== 'waiting'; i++) await new Promise((r) => setTimeout(r, 10));
      await runtime.send(id, 'order.confirmed', { confirmedBy: 'test' });
    };
    await confirm(ok.id);
    const results = (await runtime.result(ok.id)) as Record<string, unknown>;
    expect(Object.keys(results)).toEqual(expect.arrayContaining(['reserveStock', 'checkFraud', 'confirmation', 'notifyCustomer']));
    await expect(runtime.result(rolledBack.id)).rejects.toMatchObject({ status: 'compensated' });
    expect(commits).toBeGreaterThan(15);
    expect(mismatches).toEqual([]);
  });
});

describe('the journal on SQLite', () => {
  it('keeps the stored control state the same size whatever the saga length: each write adds only its own entries', async () => {
    const path = tempFile('orsa.db');
    const store = new SqliteStore({ path, synchronous: 'NORMAL' });
    let b: any = saga('long').input<number>();
    for (let i = 0; i < 300; i++) b = b.step(`s${i}`, ({ results }: any) => ({ i, prev: results[`s${i - 1}`]?.i ?? null, pad: 'x'.repeat(100) }));
    const long = b.build();
    const sizes: number[] = [];
    const db = new Database(path, { readonly: false });
    const runtime = createRuntime({
      sagas: [long],
      store,
      hooks: { onStore: () => void sizes.push(db.prepare<[], number>(`SELECT length(snapshot) FROM orsa_sagas WHERE id = 'long-1'`).pluck().get()!) },
    });
    runtimes.push(runtime);
    await runtime.startSaga(long, 0, { id: 'long-1' });
    const results = (await runtime.result('long-1')) as Record<string, { i: number; prev: number | null }>;
    expect(Object.keys(results)).toHaveLength(300);
    expect(results.s299).toMatchObject({ i: 299, prev: 298 });
    // Control state after step 10 and after step 290 differ only by a few digits (visit counters, exec names).
    expect(Math.abs(sizes[290]! - sizes[10]!)).toBeLessThan(40);
    const journal = db.prepare<[], { field: string; n: number }>(`SELECT field, count(*) AS n FROM orsa_journal WHERE saga_id = 'long-1' GROUP BY field ORDER BY field`).all();
    expect(journal).toEqual([{ field: 'results', n: 300 }, { field: 'visits', n: 300 }]);
    db.close();
  });

  it('migrates a database written by schema version 1 (whole snapshots) and finishes its sagas: parked ones and one stopped mid-step', async () => {
    const path = tempFile('legacy.db');
    copyFileSync(join(import.meta.dirname, 'fixtures/legacy-v1.db'), path);
    const store = new SqliteStore({ path });
    const runtime = createRuntime({ sagas: [legacySaga(() => false)], store, pollIntervalMs: 20 });
    runtimes.push(runtime);
    await runtime.start();
    // legacy-4 was stopped inside step c (with its go event taken): resumed on start.
    expect(await runtime.result('legacy-4')).toEqual({ a: { a: 4, text: 'x'.repeat(50) }, b: { b: 8 }, go: { by: 'fixture' }, c: { c: 9, go: { by: 'fixture' } } });
    for (const i of [1, 2, 3]) {
      await runtime.send(`legacy-${i}`, 'go', { i });
      expect(await runtime.result(`legacy-${i}`)).toEqual({ a: { a: i, text: 'x'.repeat(50) }, b: { b: 2 * i }, go: { i }, c: { c: 2 * i + 1, go: { i } } });
    }
    const db = new Database(path, { readonly: true });
    expect(db.prepare(`SELECT version FROM orsa_migrations ORDER BY version`).pluck().all()).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
    // Their first write after the resume moved them to the journal: the stored control state holds no results.
    const control = JSON.parse(db.prepare<[], string>(`SELECT snapshot FROM orsa_sagas WHERE id = 'legacy-1'`).pluck().get()!);
    expect(control.context.results).toEqual({});
    db.close();
  });
});
