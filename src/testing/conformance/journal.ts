import { describe, expect, it } from 'vitest';
import { LEASE_MS, newRecord, newSagaName, T0, WORKER_A, type StoreRef } from './fixtures.js';

/*
 * The journal (JournalWrite): a write carries the control state and the
 * pieces it adds; reads give the snapshot assembled from both.
 */

/** A control state: the snapshot with its journaled fields empty. */
const control = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ status: 'active', value: 'a', context: { sagaId: 'x', results: {}, visits: {}, log: [], ...extra } });

/** What the assembled snapshot of {@link control} with these fields must be, byte for byte. */
const whole = (fields: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ status: 'active', value: 'a', context: { sagaId: 'x', results: {}, visits: {}, log: [], ...extra, ...fields } });

export function describeJournal(store: StoreRef): void {
  describe('journal', () => {
    const fence = (rowVersion: number) => ({ rowVersion, owner: WORKER_A });
    const patch = { status: 'running' as const, dueAt: null, leaseUntil: T0 + LEASE_MS };

    it('assembles get, list and claim snapshots from the control state and the entries of every write, in write order', async () => {
      // A saga name of its own: list and claim by name see only this record.
      const record = newRecord({ sagaName: newSagaName(), owner: WORKER_A, leaseUntil: T0 + LEASE_MS, snapshot: control(), journal: [{ field: 'visits', key: 'b', value: '1' }] });
      await store().insert(record, []);
      await store().update(record.id, fence(1), { ...patch, snapshot: control({ n: 1 }), journal: { entries: [
        { field: 'results', key: 'b', value: '{"v":"b1"}' },
        { field: 'log', key: null, value: '{"exec":"b#1","step":"b","result":{"v":"b1"}}' },
        { field: 'visits', key: 'a', value: '1' },
      ] } }, [], { now: T0 + 1 });
      // A later write of a key keeps its place and replaces its value, as the machine's assigns do.
      await store().update(record.id, fence(2), { ...patch, snapshot: control({ n: 2 }), journal: { entries: [
        { field: 'results', key: 'a', value: '2' },
        { field: 'results', key: 'b', value: '{"v":"b2"}' },
        { field: 'visits', key: 'b', value: '2' },
      ] } }, [], { now: T0 + 2 });
      const expected = whole({ results: { b: { v: 'b2' }, a: 2 }, visits: { b: 2, a: 1 }, log: [{ exec: 'b#1', step: 'b', result: { v: 'b1' } }] }, { n: 2 });
      expect((await store().get(record.id))!.snapshot).toBe(expected);
      expect((await store().list({ sagaName: record.sagaName })).map((r) => r.snapshot)).toEqual([expected]);
      const claimed = await store().claim({ owner: WORKER_A, now: T0 + 3, leaseUntil: T0 + LEASE_MS, limit: 10, sagaNames: [record.sagaName] });
      expect(claimed.map((r) => r.snapshot)).toEqual([expected]);
    });

    it('keeps a map\'s items and item results (field items) as one entry each, assembled into context.items only when written', async () => {
      // A saga that never ran a map has no items field: its assembled snapshot is what it always was.
      const record = newRecord({ owner: WORKER_A, leaseUntil: T0 + LEASE_MS, snapshot: control({ items: {} }), journal: [{ field: 'items', key: 'm', value: '[10,20]' }] });
      await store().insert(record, []);
      await store().update(record.id, fence(1), { ...patch, snapshot: control({ items: {} }), journal: { entries: [{ field: 'items', key: 'm[1]:a', value: '40' }] } }, [], { now: T0 + 1 });
      await store().update(record.id, fence(2), { ...patch, snapshot: control({ items: {} }), journal: { entries: [{ field: 'items', key: 'm[0]:a', value: '' }, { field: 'results', key: 'm', value: '[{"a":20},{"a":40}]' }] } }, [], { now: T0 + 2 });
      expect((await store().get(record.id))!.snapshot).toBe(whole({ items: { m: [10, 20], 'm[1]:a': 40 }, results: { m: [{ a: 20 }, { a: 40 }] } }));
    });

    it('appends each undone execution (field compensated) to context.compensated, in write order', async () => {
      const record = newRecord({ owner: WORKER_A, leaseUntil: T0 + LEASE_MS, snapshot: control({ compensated: [] }), journal: [{ field: 'compensated', key: null, value: '"b#1"' }] });
      await store().insert(record, []);
      await store().update(record.id, fence(1), { ...patch, snapshot: control({ compensated: [] }), journal: { entries: [{ field: 'compensated', key: null, value: '"a#1"' }] } }, [], { now: T0 + 1 });
      expect((await store().get(record.id))!.snapshot).toBe(whole({ compensated: ['b#1', 'a#1'] }));
    });

    it('hands a claim judge (accept) the assembled snapshot, and the records it accepted too', async () => {
      // A judge that saw the control state alone would read a saga without its past (a worker validates it there).
      const record = newRecord({ sagaName: newSagaName(), snapshot: control(), journal: [{ field: 'results', key: 'a', value: '1' }, { field: 'log', key: null, value: '{"exec":"a#1"}' }] });
      await store().insert(record, []);
      const expected = whole({ results: { a: 1 }, log: [{ exec: 'a#1' }] });
      const judged: string[] = [];
      const claimed = await store().claim({ owner: WORKER_A, now: T0, leaseUntil: T0 + LEASE_MS, limit: 10, sagaNames: [record.sagaName], accept: (r) => (judged.push(r.snapshot), true) });
      expect(judged).toEqual([expected]);
      expect(claimed.map((r) => r.snapshot)).toEqual([expected]);
    });

    it('keeps a key written as undefined (empty value) in its place, absent from JSON until it gets a value', async () => {
      const record = newRecord({ owner: WORKER_A, leaseUntil: T0 + LEASE_MS, snapshot: control(), journal: [{ field: 'results', key: 'u', value: '' }, { field: 'results', key: 'w', value: '1' }] });
      await store().insert(record, []);
      expect((await store().get(record.id))!.snapshot).toBe(whole({ results: { w: 1 } }));
      await store().update(record.id, fence(1), { ...patch, snapshot: control(), journal: { entries: [{ field: 'results', key: 'u', value: '3' }] } }, [], { now: T0 + 1 });
      expect((await store().get(record.id))!.snapshot).toBe(whole({ results: { u: 3, w: 1 } }));
    });

    it('drops earlier entries on a reset, and on a write without journal (its snapshot is whole)', async () => {
      const record = newRecord({ owner: WORKER_A, leaseUntil: T0 + LEASE_MS, snapshot: control(), journal: [{ field: 'log', key: null, value: '1' }] });
      await store().insert(record, []);
      await store().update(record.id, fence(1), { ...patch, snapshot: control(), journal: { reset: true, entries: [{ field: 'log', key: null, value: '2' }] } }, [], { now: T0 + 1 });
      expect((await store().get(record.id))!.snapshot).toBe(whole({ log: [2] }));
      const full = whole({ log: [7] });
      await store().update(record.id, fence(2), { ...patch, snapshot: full }, [], { now: T0 + 2 });
      expect((await store().get(record.id))!.snapshot).toBe(full);
    });

    it('writes no entry when the fence does not match', async () => {
      const record = newRecord({ owner: WORKER_A, leaseUntil: T0 + LEASE_MS, snapshot: control() });
      await store().insert(record, []);
      await expect(
        store().update(record.id, fence(5), { ...patch, snapshot: control(), journal: { entries: [{ field: 'log', key: null, value: '1' }] } }, [], { now: T0 + 1 }),
      ).rejects.toMatchObject({ code: 'STALE_RECORD' });
      expect((await store().get(record.id))!.snapshot).toBe(control());
    });

    it('returns a snapshot that is not JSON as stored, even with entries, for the reader to report', async () => {
      const record = newRecord({ snapshot: '{not json', journal: [{ field: 'log', key: null, value: '1' }] });
      await store().insert(record, []);
      expect((await store().get(record.id))!.snapshot).toBe('{not json');
    });
  });
}
