import { describe, expect, it } from 'vitest';
import { StaleRecordError, type RecordPatch } from '../../stores/types.js';
import { idsOf, insertHeld, insertRecord, newId, T0, WORKER_A, WORKER_B, type StoreRef } from './fixtures.js';

/** Specs of child sagas at the store level: the parent link (migration 6) and the notices a write stores in another saga's inbox. */
export function describeChildren(store: StoreRef): void {
  const patch: RecordPatch = { status: 'completed', snapshot: '{"done":true}', dueAt: null, leaseUntil: null };

  describe('children', () => {
    it('stores a child\'s parentId and lists the children of a parent, and only them', async () => {
      const parent = await insertRecord(store());
      const first = await insertRecord(store(), { id: `${parent.id}:pay#1`, parentId: parent.id });
      const second = await insertRecord(store(), { id: `${parent.id}:ship#1`, parentId: parent.id });
      await insertRecord(store(), { parentId: newId() });
      expect(first.parentId).toBe(parent.id);
      expect((await store().get(second.id))?.parentId).toBe(parent.id);
      expect(idsOf(await store().list({ parentId: parent.id }))).toEqual(idsOf([first, second]));
      expect(await store().list({ parentId: parent.id, status: 'completed' })).toEqual([]);
    });

    it('leaves parentId absent on a saga started on its own', async () => {
      const saga = await insertRecord(store());
      expect('parentId' in saga).toBe(false);
      expect('parentId' in (await store().get(saga.id))!).toBe(false);
    });

    it('keeps parentId through updates and claims', async () => {
      const parent = await insertRecord(store());
      const child = await insertHeld(store(), { parentId: parent.id });
      const written = await store().update(child.id, { rowVersion: 1, owner: WORKER_A }, { ...patch, status: 'waiting' }, [], { now: T0 + 1 });
      expect(written.parentId).toBe(parent.id);
      const [claimed] = await store().claim({ owner: WORKER_B, now: T0 + 2, leaseUntil: T0 + 10, limit: 1, id: child.id });
      expect(claimed?.parentId).toBe(parent.id);
    });

    it('stores each notice of a write as a command in its saga\'s inbox, in the same commit', async () => {
      const parent = await insertRecord(store());
      const child = await insertHeld(store(), { parentId: parent.id });
      const unknown = newId();
      const notify = [
        { sagaId: parent.id, name: 'childEnded', payload: '{"step":"pay"}' },
        { sagaId: unknown, name: 'childEnded', payload: '{}' },
      ];
      await store().update(child.id, { rowVersion: 1, owner: WORKER_A }, patch, [], { now: T0 + 5, notify });
      const inbox = await store().inbox(parent.id);
      expect(inbox).toEqual([{ seq: inbox[0]!.seq, sagaId: parent.id, kind: 'command', name: 'childEnded', payload: '{"step":"pay"}', at: T0 + 5 }]);
      expect(await store().inbox(unknown)).toEqual([]);
    });

    it('stores no notice when the fence does not match', async () => {
      const parent = await insertRecord(store());
      const child = await insertHeld(store(), { parentId: parent.id });
      const write = store().update(child.id, { rowVersion: 7, owner: WORKER_A }, patch, [], {
        now: T0 + 5,
        notify: [{ sagaId: parent.id, name: 'childEnded', payload: '{}' }],
      });
      await expect(write).rejects.toBeInstanceOf(StaleRecordError);
      expect(await store().inbox(parent.id)).toEqual([]);
    });
  });
}
