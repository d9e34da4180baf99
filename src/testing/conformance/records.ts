import { describe, expect, it } from 'vitest';
import { StaleRecordError, type HistoryEvent, type RecordPatch } from '../../stores/types.js';
import { insertHeld, insertRecord, LEASE_MS, newRecord, storedEvent, T0, WORKER_A, WORKER_B, type StoreRef } from './fixtures.js';

/** Specs of insert, get, update and history. */
export function describeRecords(store: StoreRef): void {
  describe('insert and get', () => {
    it('stores a new record with rowVersion 1 and createdAt = updatedAt = now, and get returns it', async () => {
      const input = newRecord({ dueAt: T0 + 5, owner: WORKER_A, leaseUntil: T0 + LEASE_MS, status: 'waiting' });
      const { inserted, record } = await store().insert(input, []);
      const { now, ...fields } = input;
      const expected = { ...fields, rowVersion: 1, createdAt: now, updatedAt: now };
      expect(inserted).toBe(true);
      expect(record).toEqual(expected);
      expect(await store().get(input.id)).toEqual(expected);
    });

    it('returns the snapshot text byte for byte: whitespace, key order, escapes and unicode', async () => {
      const snapshot =
        '{"z":1,  "a":[ ],\n "é":"日本語 Ωμέγα 😀 \u2028 e\u0301", "esc":"\\u0000\\n\\"\\\\", "n":1.50, "big":12345678901234567890}';
      const input = newRecord({ snapshot });
      expect((await store().insert(input, [])).record.snapshot).toBe(snapshot);
      expect((await store().get(input.id))?.snapshot).toBe(snapshot);
    });

    it('returns a 100 KB snapshot unchanged, whether inserted or written by update', async () => {
      const items = Array.from({ length: 2_000 }, (_, i) => ({ i, name: `item ${i} — ü 🚀`, tags: ['a', 'b'] }));
      const snapshot = JSON.stringify({ context: { items } });
      expect(snapshot.length).toBeGreaterThan(100_000);
      const record = await insertHeld(store(), { snapshot });
      expect((await store().get(record.id))?.snapshot).toBe(snapshot);
      const updated = snapshot.replace('item 0 ', 'item zero ');
      const patch = { status: 'running', snapshot: updated, dueAt: null, leaseUntil: T0 + LEASE_MS } as const;
      await store().update(record.id, { rowVersion: 1, owner: WORKER_A }, patch, [], { now: T0 + 1 });
      expect((await store().get(record.id))?.snapshot).toBe(updated);
    });

    it('returns undefined for an id it does not hold', async () => {
      expect(await store().get(newRecord().id)).toBeUndefined();
    });

    it('refuses to insert an existing id: inserted is false, and the stored record and its history are unchanged', async () => {
      const first = newRecord({ snapshot: '{"first":true}' });
      await store().insert(first, [{ at: T0, type: 'saga.started' }]);
      const again = newRecord({ id: first.id, snapshot: '{"second":true}', status: 'failed', now: T0 + 10 });
      const { inserted, record } = await store().insert(again, [{ at: T0 + 10, type: 'saga.started' }]);
      expect(inserted).toBe(false);
      expect(record.snapshot).toBe('{"first":true}');
      expect(record).toEqual(await store().get(first.id));
      expect(record).toMatchObject({ status: 'running', rowVersion: 1, createdAt: T0 });
      expect(await store().history(first.id)).toEqual([storedEvent(1, { at: T0, type: 'saga.started' })]);
    });

    it('does not let callers change stored state through the objects they pass or receive', async () => {
      const input = newRecord();
      const { record } = await store().insert(input, []);
      input.status = 'failed';
      record.status = 'failed';
      const fetched = await store().get(input.id);
      fetched!.snapshot = 'changed';
      expect(await store().get(input.id)).toMatchObject({ status: 'running', snapshot: '{"value":"start"}' });
    });
  });

  describe('history', () => {
    it('numbers the events of an insert 1, 2, … in the order given', async () => {
      const events: HistoryEvent[] = [
        { at: T0, type: 'saga.started' },
        { at: T0, type: 'step.started', step: 'reserve', attempt: 1 },
      ];
      const input = newRecord();
      await store().insert(input, events);
      expect(await store().history(input.id)).toEqual([storedEvent(1, events[0]!), storedEvent(2, events[1]!)]);
    });

    it('keeps data as JSON: objects, arrays, strings, numbers, booleans and null; step and attempt default to null', async () => {
      const data = { error: { name: 'Error', message: 'boom ✗' }, list: [1, 'two', true, null], n: -1.25 };
      const events: HistoryEvent[] = [
        { at: T0, type: 'step.failed', step: 'pay', attempt: 3, data },
        { at: T0 + 1, type: 'note', data: null },
        { at: T0 + 2, type: 'note', data: 'text' },
        { at: T0 + 3, type: 'note' },
      ];
      const input = newRecord();
      await store().insert(input, events);
      const stored = await store().history(input.id);
      expect(stored).toEqual(events.map((e, i) => storedEvent(i + 1, e)));
      expect(stored[1]).toHaveProperty('data', null);
      expect(stored[3]?.data).toBeUndefined();
    });

    it('is empty for an id it does not hold', async () => {
      expect(await store().history(newRecord().id)).toEqual([]);
    });
  });

  describe('update', () => {
    const patch = (overrides: Partial<RecordPatch> = {}): RecordPatch => ({
      status: 'running',
      snapshot: '{"value":"next"}',
      dueAt: null,
      leaseUntil: T0 + 2 * LEASE_MS,
      ...overrides,
    });

    it('writes the patch, increments rowVersion, sets updatedAt and keeps createdAt', async () => {
      const held = await insertHeld(store());
      const written = await store().update(
        held.id,
        { rowVersion: 1, owner: WORKER_A },
        patch({ status: 'waiting', snapshot: '{"value":"waiting"}', dueAt: T0 + 500 }),
        [],
        { now: T0 + 100 },
      );
      const expected = {
        ...held,
        status: 'waiting',
        snapshot: '{"value":"waiting"}',
        dueAt: T0 + 500,
        leaseUntil: T0 + 2 * LEASE_MS,
        rowVersion: 2,
        createdAt: T0,
        updatedAt: T0 + 100,
      };
      expect(written).toEqual(expected);
      expect(await store().get(held.id)).toEqual(expected);
    });

    it('appends history after the existing events, with increasing seq', async () => {
      const held = await insertHeld(store());
      const step1: HistoryEvent[] = [
        { at: T0 + 1, type: 'step.completed', step: 'a', attempt: 1, data: { ok: 1 } },
        { at: T0 + 1, type: 'step.started', step: 'b', attempt: 1 },
      ];
      const step2: HistoryEvent[] = [{ at: T0 + 2, type: 'step.completed', step: 'b', attempt: 1 }];
      await store().update(held.id, { rowVersion: 1, owner: WORKER_A }, patch(), step1, { now: T0 + 1 });
      await store().update(held.id, { rowVersion: 2, owner: WORKER_A }, patch(), [], { now: T0 + 2 });
      await store().update(held.id, { rowVersion: 3, owner: WORKER_A }, patch(), step2, { now: T0 + 3 });
      expect(await store().history(held.id)).toEqual([
        storedEvent(1, { at: T0, type: 'saga.started' }),
        storedEvent(2, step1[0]!),
        storedEvent(3, step1[1]!),
        storedEvent(4, step2[0]!),
      ]);
    });

    it('renews the lease: the owner stays, leaseUntil comes from the patch', async () => {
      const held = await insertHeld(store());
      const written = await store().update(held.id, { rowVersion: 1, owner: WORKER_A }, patch({ leaseUntil: T0 + 99_000 }), [], {
        now: T0 + 1,
      });
      expect(written).toMatchObject({ owner: WORKER_A, leaseUntil: T0 + 99_000 });
    });

    it('releases the record when the patch has leaseUntil null: owner and leaseUntil become null', async () => {
      const held = await insertHeld(store());
      const written = await store().update(held.id, { rowVersion: 1, owner: WORKER_A }, patch({ leaseUntil: null }), [], {
        now: T0 + 1,
      });
      expect(written).toMatchObject({ owner: null, leaseUntil: null, rowVersion: 2 });
      expect(await store().get(held.id)).toMatchObject({ owner: null, leaseUntil: null });
    });

    it('refuses a write whose row version is stale and writes nothing', async () => {
      const held = await insertHeld(store());
      await store().update(held.id, { rowVersion: 1, owner: WORKER_A }, patch(), [{ at: T0 + 1, type: 'step.started' }], { now: T0 + 1 });
      const before = await store().get(held.id);
      const historyBefore = await store().history(held.id);
      const stale = store().update(
        held.id,
        { rowVersion: 1, owner: WORKER_A },
        patch({ status: 'completed', snapshot: '{"stale":true}' }),
        [{ at: T0 + 2, type: 'saga.completed' }],
        { now: T0 + 2 },
      );
      await expect(stale).rejects.toBeInstanceOf(StaleRecordError);
      await expect(stale).rejects.toMatchObject({ sagaId: held.id, code: 'STALE_RECORD' });
      expect(await store().get(held.id)).toEqual(before);
      expect(await store().history(held.id)).toEqual(historyBefore);
    });

    it('refuses a write from an owner that does not hold the record and writes nothing', async () => {
      const held = await insertHeld(store());
      const write = store().update(held.id, { rowVersion: 1, owner: WORKER_B }, patch(), [{ at: T0 + 1, type: 'x' }], { now: T0 + 1 });
      await expect(write).rejects.toBeInstanceOf(StaleRecordError);
      expect(await store().get(held.id)).toEqual(held);
      expect(await store().history(held.id)).toHaveLength(1);
    });

    it('refuses a write to a record nobody holds', async () => {
      const free = await insertRecord(store());
      const write = store().update(free.id, { rowVersion: 1, owner: WORKER_A }, patch(), [], { now: T0 + 1 });
      await expect(write).rejects.toBeInstanceOf(StaleRecordError);
      expect(await store().get(free.id)).toEqual(free);
    });

    it('refuses a write to an id it does not hold, with StaleRecordError', async () => {
      const write = store().update(newRecord().id, { rowVersion: 1, owner: WORKER_A }, patch(), [], { now: T0 });
      await expect(write).rejects.toBeInstanceOf(StaleRecordError);
    });

    it('accepts exactly one of two concurrent writes with the same fence', async () => {
      const held = await insertHeld(store());
      const fence = { rowVersion: 1, owner: WORKER_A };
      const results = await Promise.allSettled([
        store().update(held.id, fence, patch({ snapshot: '{"by":"one"}' }), [{ at: T0 + 1, type: 'one' }], { now: T0 + 1 }),
        store().update(held.id, fence, patch({ snapshot: '{"by":"two"}' }), [{ at: T0 + 1, type: 'two' }], { now: T0 + 1 }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(StaleRecordError);
      const winner = won[0]!.value;
      expect(await store().get(held.id)).toEqual(winner);
      const history = await store().history(held.id);
      expect(history.map((e) => e.type)).toEqual(['saga.started', winner.snapshot === '{"by":"one"}' ? 'one' : 'two']);
    });
  });
}
