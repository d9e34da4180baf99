import { describe, expect, it } from 'vitest';
import { StaleRecordError, UnknownSagaError, type RecordPatch } from '../../stores/types.js';
import { insertHeld, newId, T0, WORKER_A, type StoreRef } from './fixtures.js';

/** Specs of sendEvent, inbox and the consumption of events by update. */
export function describeInbox(store: StoreRef): void {
  const patch: RecordPatch = { status: 'running', snapshot: '{"consumed":true}', dueAt: null, leaseUntil: T0 + 60_000 };

  describe('inbox', () => {
    it('refuses an event for an unknown saga with UnknownSagaError, storing nothing', async () => {
      const id = newId();
      const send = store().sendEvent(id, 'approved', '{}', T0);
      await expect(send).rejects.toBeInstanceOf(UnknownSagaError);
      await expect(send).rejects.toMatchObject({ sagaId: id, code: 'UNKNOWN_SAGA' });
      expect(await store().inbox(id)).toEqual([]);
    });

    it('returns the stored event, and unconsumed events in the order they were sent with increasing seq', async () => {
      const saga = await insertHeld(store());
      const first = await store().sendEvent(saga.id, 'approved', '{"by":"ana","note":"ü 😀"}', T0 + 1);
      const second = await store().sendEvent(saga.id, 'shipped', '{ "raw" : 1 }', T0 + 2);
      expect(first).toEqual({ seq: first.seq, sagaId: saga.id, kind: 'event', name: 'approved', payload: '{"by":"ana","note":"ü 😀"}', at: T0 + 1 });
      expect(second.seq).toBeGreaterThan(first.seq);
      expect(await store().inbox(saga.id)).toEqual([first, second]);
    });

    it('keeps each saga\'s events to itself', async () => {
      const a = await insertHeld(store());
      const b = await insertHeld(store());
      const forA = await store().sendEvent(a.id, 'ping', '1', T0);
      expect(await store().inbox(a.id)).toEqual([forA]);
      expect(await store().inbox(b.id)).toEqual([]);
    });

    it('gives concurrent sends to one saga distinct seqs, all kept in seq order', async () => {
      const saga = await insertHeld(store());
      const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => store().sendEvent(saga.id, `e${i}`, `${i}`, T0 + i)));
      const seqs = sent.map((e) => e.seq);
      expect(new Set(seqs).size).toBe(20);
      expect(await store().inbox(saga.id)).toEqual([...sent].sort((x, y) => x.seq - y.seq));
    });

    it('gives the unconsumed events of several sagas in one list, in seq order, without other sagas\' events', async () => {
      const a = await insertHeld(store());
      const b = await insertHeld(store());
      const other = await insertHeld(store());
      const a1 = await store().sendEvent(a.id, 'a1', '1', T0);
      const b1 = await store().sendEvent(b.id, 'b1', '2', T0);
      await store().sendEvent(other.id, 'o1', '3', T0);
      const a2 = await store().sendEvent(a.id, 'a2', '4', T0 + 1);
      const b2 = await store().sendEvent(b.id, 'b2', '5', T0 + 1);
      expect(await store().pendingEvents([b.id, a.id])).toEqual([a1, b1, a2, b2]);
      expect(await store().pendingEvents([a.id, a.id])).toEqual([a1, a2]);
    });

    it('leaves consumed events out of pendingEvents', async () => {
      const a = await insertHeld(store());
      const b = await insertHeld(store());
      const a1 = await store().sendEvent(a.id, 'a1', '1', T0);
      const b1 = await store().sendEvent(b.id, 'b1', '2', T0);
      const a2 = await store().sendEvent(a.id, 'a2', '3', T0);
      await store().update(a.id, { rowVersion: 1, owner: WORKER_A }, patch, [], { now: T0 + 1, consumedInboxSeq: a1.seq });
      expect(await store().pendingEvents([a.id, b.id])).toEqual([b1, a2]);
      await store().update(a.id, { rowVersion: 2, owner: WORKER_A }, patch, [], { now: T0 + 2, consumedInboxSeq: a2.seq });
      expect(await store().pendingEvents([a.id, b.id])).toEqual([b1]);
    });

    it('gives no pending events for no ids, or for ids it does not hold', async () => {
      expect(await store().pendingEvents([])).toEqual([]);
      expect(await store().pendingEvents([newId(), newId()])).toEqual([]);
    });

    it('consumes events up to consumedInboxSeq in the same write as the update, keeping later ones', async () => {
      const saga = await insertHeld(store());
      const first = await store().sendEvent(saga.id, 'a', '1', T0);
      const second = await store().sendEvent(saga.id, 'b', '2', T0);
      const third = await store().sendEvent(saga.id, 'c', '3', T0);
      await store().update(saga.id, { rowVersion: 1, owner: WORKER_A }, patch, [{ at: T0 + 1, type: 'event.received' }], {
        now: T0 + 1,
        consumedInboxSeq: second.seq,
      });
      expect(first.seq).toBeLessThan(second.seq);
      expect(await store().inbox(saga.id)).toEqual([third]);
      expect(await store().get(saga.id)).toMatchObject({ rowVersion: 2, snapshot: '{"consumed":true}' });
    });

    it('consumes nothing when the update carries no consumedInboxSeq', async () => {
      const saga = await insertHeld(store());
      const event = await store().sendEvent(saga.id, 'a', '1', T0);
      await store().update(saga.id, { rowVersion: 1, owner: WORKER_A }, patch, [], { now: T0 + 1 });
      expect(await store().inbox(saga.id)).toEqual([event]);
    });

    it('consumes nothing when the update is stale', async () => {
      const saga = await insertHeld(store());
      const event = await store().sendEvent(saga.id, 'a', '1', T0);
      const stale = store().update(saga.id, { rowVersion: 7, owner: WORKER_A }, patch, [], {
        now: T0 + 1,
        consumedInboxSeq: event.seq,
      });
      await expect(stale).rejects.toBeInstanceOf(StaleRecordError);
      expect(await store().inbox(saga.id)).toEqual([event]);
    });
  });
}
