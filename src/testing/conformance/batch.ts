import { describe, expect, it, type TestContext } from 'vitest';
import { StaleRecordError, type BatchWrite, type RecordPatch, type SagaStore } from '../../stores/types.js';
import { insertHeld, LEASE_MS, newId, newRecord, storedEvent, T0, WORKER_A, WORKER_B, type StoreRef } from './fixtures.js';

/*
 * Group commit (SagaStore.writeBatch, optional): the writes of several sagas
 * in one commit, each one as insert or update would make it alone, and a
 * write refused for its own reasons refused alone.
 */

/** The store's writeBatch; a store without one skips these specs (the runtime then writes one by one). */
function batchOf(store: SagaStore, ctx: TestContext): NonNullable<SagaStore['writeBatch']> {
  if (!store.writeBatch) ctx.skip('this store has no writeBatch');
  return store.writeBatch!.bind(store);
}

const control = (n: number) => JSON.stringify({ status: 'active', value: 'a', context: { n, results: {}, visits: {}, log: [] } });

export function describeBatch(store: StoreRef): void {
  const patch = (n: number, extra: Partial<RecordPatch> = {}): RecordPatch => ({ status: 'running', snapshot: control(n), dueAt: T0 + n, leaseUntil: T0 + LEASE_MS, ...extra });
  const update = (id: string, rowVersion: number, p: RecordPatch, extra: Partial<Extract<BatchWrite, { kind: 'update' }>> = {}): BatchWrite => ({
    kind: 'update', id, fence: { rowVersion, owner: WORKER_A }, patch: p, history: [{ at: T0 + 1, type: 'step.completed', step: 's', attempt: 1 }], options: { now: T0 + 1 }, ...extra,
  });

  describe('group commit (writeBatch)', () => {
    it('writes inserts and fenced updates of several sagas, each as insert and update would: record, history, journal, inbox', async (ctx) => {
      const writeBatch = batchOf(store(), ctx);
      const a = await insertHeld(store(), { snapshot: control(0) });
      const b = await insertHeld(store(), { snapshot: control(0) });
      const event = await store().sendEvent(b.id, 'go', '1', T0);
      const fresh = newRecord({ owner: WORKER_A, leaseUntil: T0 + LEASE_MS, snapshot: control(0), journal: [{ field: 'visits', key: 's', value: '1' }] });
      const outcomes = await writeBatch([
        update(a.id, 1, { ...patch(1), journal: { entries: [{ field: 'results', key: 's', value: '{"v":1}' }] } }),
        { kind: 'insert', record: fresh, history: [{ at: T0, type: 'saga.started', data: { by: 'batch' } }] },
        update(b.id, 1, patch(2, { status: 'completed', dueAt: null, leaseUntil: null }), { options: { now: T0 + 2, consumedInboxSeq: event.seq } }),
      ]);
      expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
      const [ua, ins, ub] = outcomes as Extract<(typeof outcomes)[number], { ok: true }>[];
      expect(ua!.record).toMatchObject({ id: a.id, rowVersion: 2, snapshot: control(1), dueAt: T0 + 1, owner: WORKER_A, updatedAt: T0 + 1, createdAt: T0 });
      expect(ins).toMatchObject({ inserted: true, record: { id: fresh.id, rowVersion: 1, owner: WORKER_A } });
      expect(ub!.record).toMatchObject({ id: b.id, rowVersion: 2, status: 'completed', owner: null, leaseUntil: null });
      expect(await store().get(a.id)).toEqual({ ...ua!.record, snapshot: JSON.stringify({ status: 'active', value: 'a', context: { n: 1, results: { s: { v: 1 } }, visits: {}, log: [] } }) });
      expect((await store().get(fresh.id))!.snapshot).toBe(JSON.stringify({ status: 'active', value: 'a', context: { n: 0, results: {}, visits: { s: 1 }, log: [] } }));
      expect(await store().get(b.id)).toEqual(ub!.record);
      expect(await store().history(a.id)).toEqual([storedEvent(1, { at: T0, type: 'saga.started' }), storedEvent(2, { at: T0 + 1, type: 'step.completed', step: 's', attempt: 1 })]);
      expect(await store().history(fresh.id)).toEqual([storedEvent(1, { at: T0, type: 'saga.started', data: { by: 'batch' } })]);
      expect(await store().inbox(b.id)).toEqual([]);
    });

    it('refuses a write whose fence moved alone: nothing of it is written, the others commit', async (ctx) => {
      const writeBatch = batchOf(store(), ctx);
      const ok = await insertHeld(store(), { snapshot: control(0) });
      const taken = await insertHeld(store(), { snapshot: control(0) });
      const event = await store().sendEvent(taken.id, 'go', '1', T0);
      // Another worker took the saga over: its row version moved on.
      const [claimed] = await store().claim({ owner: WORKER_B, now: T0 + LEASE_MS + 1, leaseUntil: T0 + 2 * LEASE_MS, limit: 1, id: taken.id });
      expect(claimed!.rowVersion).toBe(2);
      const outcomes = await writeBatch([
        update(taken.id, 1, { ...patch(9), journal: { entries: [{ field: 'log', key: null, value: '1' }] } }, { options: { now: T0 + 1, consumedInboxSeq: event.seq } }),
        update(ok.id, 1, patch(1)),
      ]);
      expect(outcomes[0]).toMatchObject({ ok: false });
      const refused = outcomes[0] as { ok: false; error: unknown };
      expect(refused.error).toBeInstanceOf(StaleRecordError);
      expect(refused.error).toMatchObject({ code: 'STALE_RECORD', sagaId: taken.id });
      expect(outcomes[1]).toMatchObject({ ok: true, record: { id: ok.id, rowVersion: 2 } });
      expect(await store().get(taken.id)).toEqual(claimed);
      expect(await store().history(taken.id)).toEqual([storedEvent(1, { at: T0, type: 'saga.started' })]);
      expect(await store().inbox(taken.id)).toEqual([event]);
      expect((await store().get(ok.id))!.rowVersion).toBe(2);
    });

    it('answers an insert of an existing id with inserted: false and the stored record, writing the others', async (ctx) => {
      const writeBatch = batchOf(store(), ctx);
      const existing = await insertHeld(store());
      const other = newRecord();
      const outcomes = await writeBatch([
        { kind: 'insert', record: newRecord({ id: existing.id, snapshot: '{"other":true}' }), history: [{ at: T0, type: 'saga.started' }] },
        { kind: 'insert', record: other, history: [] },
      ]);
      expect(outcomes).toEqual([{ ok: true, inserted: false, record: existing }, { ok: true, inserted: true, record: expect.objectContaining({ id: other.id }) }]);
      expect(await store().history(existing.id)).toHaveLength(1);
      expect(await store().get(other.id)).toMatchObject({ id: other.id, rowVersion: 1 });
    });

    it('refuses a write whose history cannot be stored alone, leaving its saga as it was', async (ctx) => {
      const writeBatch = batchOf(store(), ctx);
      const bad = await insertHeld(store(), { snapshot: control(0) });
      const good = await insertHeld(store(), { snapshot: control(0) });
      const outcomes = await writeBatch([
        update(bad.id, 1, patch(1), { history: [{ at: T0 + 1, type: 'step.completed', data: { n: 1n } }] }),
        update(good.id, 1, patch(1)),
      ]);
      expect(outcomes.map((o) => o.ok)).toEqual([false, true]);
      expect(await store().get(bad.id)).toEqual(bad);
      expect((await store().get(good.id))!.rowVersion).toBe(2);
    });

    it('gives back a child\'s parentId, kept or released, as update does; none on a saga started on its own', async (ctx) => {
      const writeBatch = batchOf(store(), ctx);
      const parentId = newId();
      const kept = await insertHeld(store(), { parentId, snapshot: control(0) });
      const released = await insertHeld(store(), { parentId, snapshot: control(0) });
      const alone = await insertHeld(store(), { snapshot: control(0) });
      const outcomes = await writeBatch([
        update(kept.id, 1, patch(1)),
        update(released.id, 1, patch(1, { status: 'waiting', leaseUntil: null })),
        update(alone.id, 1, patch(1)),
      ]);
      const records = outcomes.map((o) => (o.ok ? o.record : o.error));
      expect(records.map((r) => (r as { parentId?: string }).parentId)).toEqual([parentId, parentId, undefined]);
      expect('parentId' in (records[2] as object)).toBe(false);
      for (const record of records as { id: string }[]) expect(await store().get(record.id)).toEqual(record);
    });

    it('writes nothing and answers nothing for an empty batch', async (ctx) => {
      const writeBatch = batchOf(store(), ctx);
      expect(await writeBatch([])).toEqual([]);
    });
  });
}
