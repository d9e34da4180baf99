import { describe, expect, it } from 'vitest';
import type { SagaStore, StoreWake } from '../../stores/types.js';
import { idsOf, insertHeld, LEASE_MS, newSagaName, T0, WORKER_A, WORKER_B, type StoreRef } from './fixtures.js';

/**
 * The wake-ups of one subscription, by saga: `next(id)` resolves with the
 * next wake-up naming that saga (in the order the store told them).
 */
async function listen(store: SagaStore) {
  const heard = new Map<string, StoreWake[]>();
  const waiting = new Map<string, (wake: StoreWake) => void>();
  const stop = await store.subscribe!((wake) => {
    if (wake.sagaId === undefined) return;
    const waiter = waiting.get(wake.sagaId);
    if (waiter) {
      waiting.delete(wake.sagaId);
      return waiter(wake);
    }
    heard.set(wake.sagaId, [...(heard.get(wake.sagaId) ?? []), wake]);
  });
  const next = (id: string) =>
    new Promise<StoreWake>((resolve) => {
      const queued = heard.get(id);
      if (queued?.length) return resolve(queued.shift()!);
      waiting.set(id, resolve);
    });
  return { next, stop };
}

/** Specs of release's due time and of the optional wake-up subscription (run when the store has `subscribe`). */
export function describeWakes(store: StoreRef): void {
  describe('release makes a saga stopped inside a step due', () => {
    it('at once (no later than its last write), so another worker takes it now; a waiting saga keeps its due time', async () => {
      const sagaName = newSagaName();
      const running = await insertHeld(store(), { sagaName, dueAt: T0 + LEASE_MS });
      const compensating = await insertHeld(store(), { sagaName, status: 'compensating', dueAt: null });
      const early = await insertHeld(store(), { sagaName, dueAt: T0 - 5 });
      const waiting = await insertHeld(store(), { sagaName, status: 'waiting', dueAt: T0 + 5_000 });
      for (const held of [running, compensating, early, waiting]) await store().release(held.id, WORKER_A);
      expect(await store().get(running.id)).toEqual({ ...running, owner: null, leaseUntil: null, dueAt: T0 });
      expect(await store().get(compensating.id)).toEqual({ ...compensating, owner: null, leaseUntil: null, dueAt: T0 });
      expect(await store().get(early.id)).toMatchObject({ dueAt: T0 - 5 });
      expect(await store().get(waiting.id)).toMatchObject({ dueAt: T0 + 5_000 });
      const claimed = await store().claim({ owner: WORKER_B, now: T0 + 1, leaseUntil: T0 + 1 + LEASE_MS, limit: 10, dueOnly: true, sagaNames: [sagaName] });
      expect(idsOf(claimed)).toEqual(idsOf([running, compensating, early]));
    });
  });

  describe('subscribe (optional)', () => {
    const has = () => typeof store().subscribe === 'function';

    it('tells a subscriber of each inbox row, by saga', async (context) => {
      if (!has()) return context.skip();
      const { next, stop } = await listen(store());
      try {
        const saga = await insertHeld(store());
        await store().sendEvent(saga.id, 'approved', '{}', T0);
        expect(await next(saga.id)).toEqual({ sagaId: saga.id });
        await store().sendEvent(saga.id, 'cancel', 'null', T0, 'command');
        expect(await next(saga.id)).toEqual({ sagaId: saga.id });
      } finally {
        await stop();
      }
    });

    it('tells of a release with the due time it left, and of a write that unloads a saga with a due time, not of one that keeps its lease', async (context) => {
      if (!has()) return context.skip();
      const { next, stop } = await listen(store());
      try {
        const released = await insertHeld(store(), { dueAt: T0 + LEASE_MS });
        await store().release(released.id, WORKER_A);
        expect(await next(released.id)).toEqual({ sagaId: released.id, dueAt: T0 });

        const saga = await insertHeld(store());
        const fence = { rowVersion: 1, owner: WORKER_A };
        // Keeps its lease: no wake-up. Then unloads to sleep until T0 + 9: one, with that due time.
        await store().update(saga.id, fence, { status: 'running', snapshot: '{}', dueAt: T0 + 5, leaseUntil: T0 + LEASE_MS }, [], { now: T0 });
        await store().update(saga.id, { ...fence, rowVersion: 2 }, { status: 'waiting', snapshot: '{}', dueAt: T0 + 9, leaseUntil: null }, [], { now: T0 });
        expect(await next(saga.id)).toEqual({ sagaId: saga.id, dueAt: T0 + 9 });
        // Unloaded with nothing timed, or ended: nobody need wake. The inbox row after it is the next wake-up.
        const other = await insertHeld(store());
        await store().update(other.id, fence, { status: 'waiting', snapshot: '{}', dueAt: null, leaseUntil: null }, [], { now: T0 });
        const ended = await insertHeld(store());
        await store().update(ended.id, fence, { status: 'completed', snapshot: '{}', dueAt: null, leaseUntil: null }, [], { now: T0 });
        await store().sendEvent(other.id, 'approved', '{}', T0);
        expect(await next(other.id)).toEqual({ sagaId: other.id });
      } finally {
        await stop();
      }
    });

    it('tells of a group commit that unloads a saga with a due time, as of update, not of one that keeps its lease', async (context) => {
      if (!has() || !store().writeBatch) return context.skip();
      const { next, stop } = await listen(store());
      try {
        const kept = await insertHeld(store());
        const unloaded = await insertHeld(store());
        const write = (id: string, leaseUntil: number | null) =>
          ({ kind: 'update', id, fence: { rowVersion: 1, owner: WORKER_A }, patch: { status: 'waiting', snapshot: '{}', dueAt: T0 + 9, leaseUntil }, history: [], options: { now: T0 } }) as const;
        await store().writeBatch!([write(kept.id, T0 + LEASE_MS), write(unloaded.id, null)]);
        expect(await next(unloaded.id)).toEqual({ sagaId: unloaded.id, dueAt: T0 + 9 });
        // The inbox row after the batch is the kept saga's next wake-up: the batch made it none.
        await store().sendEvent(kept.id, 'approved', '{}', T0);
        expect(await next(kept.id)).toEqual({ sagaId: kept.id });
      } finally {
        await stop();
      }
    });

    it('tells every subscriber, and a stopped subscription no more', async (context) => {
      if (!has()) return context.skip();
      const first = await listen(store());
      const second = await listen(store());
      const saga = await insertHeld(store());
      await first.stop();
      await store().sendEvent(saga.id, 'approved', '{}', T0);
      expect(await second.next(saga.id)).toEqual({ sagaId: saga.id });
      await second.stop();
    });
  });
}
