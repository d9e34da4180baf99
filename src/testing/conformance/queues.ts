import { describe, expect, it } from 'vitest';
import type { PromoteRequest, QueueLimitData, SagaRecord } from '../../stores/types.js';
import { insertRecord, LEASE_MS, newSagaName, T0, WORKER_A, WORKER_B, type StoreRef } from './fixtures.js';

/** Specs of queued records and `promote`: limits per saga name and per key, priority, rate windows, cancelling. */
export function describeQueues(store: StoreRef): void {
  /** Inserts a queued record (key null unless given, priority 0 unless given). */
  const enqueue = (sagaName: string, place: { key?: string | null; priority?: number } = {}, now = T0) =>
    insertRecord(store(), { sagaName, status: 'queued', snapshot: '{"queued":true}', now, queue: { key: place.key ?? null, priority: place.priority ?? 0 } });
  const promote = (sagaName: string, limits: QueueLimitData, more: Partial<PromoteRequest> = {}) => {
    const now = more.now ?? T0;
    return store().promote({ sagaName, limits, owner: WORKER_A, now, leaseUntil: now + LEASE_MS, limit: 100, ...more });
  };
  const ids = (records: readonly SagaRecord[]) => records.map((r) => r.id);
  /** Ends a promoted record, as its worker's last write would. */
  const finish = (record: SagaRecord) =>
    store().update(record.id, { rowVersion: record.rowVersion, owner: record.owner! }, { status: 'completed', snapshot: '{}', dueAt: null, leaseUntil: null }, [], { now: T0 });

  describe('queues', () => {
    it('keeps a queued record out of claims and nextDueAt, and counts and lists it as queued', async () => {
      const sagaName = newSagaName();
      const queued = await enqueue(sagaName);
      expect(queued).toMatchObject({ status: 'queued', owner: null, leaseUntil: null, dueAt: null, rowVersion: 1 });
      expect(await store().claim({ owner: WORKER_B, now: T0, leaseUntil: T0 + LEASE_MS, limit: 10, sagaNames: [sagaName] })).toEqual([]);
      expect(await store().nextDueAt([sagaName])).toBeNull();
      expect(await store().countByStatus(sagaName)).toEqual({ queued: 1 });
      expect(ids(await store().list({ status: 'queued', sagaName }))).toEqual([queued.id]);
    });

    it('promotes higher priorities first, then in arrival order, leasing each to the owner', async () => {
      const sagaName = newSagaName();
      const low = await enqueue(sagaName, { priority: -5 });
      const first = await enqueue(sagaName);
      const high = await enqueue(sagaName, { priority: 7 });
      const second = await enqueue(sagaName);
      const { promoted } = await promote(sagaName, {}, { limit: 10 });
      expect(ids(promoted)).toEqual([high.id, first.id, second.id, low.id]);
      expect(promoted[0]).toMatchObject({ status: 'running', owner: WORKER_A, leaseUntil: T0 + LEASE_MS, dueAt: T0 + LEASE_MS, rowVersion: 2 });
      expect(await store().get(high.id)).toEqual(promoted[0]);
      // A promoted record is written like any other: the fence is what promote returned.
      expect((await finish(promoted[0]!)).status).toBe('completed');
    });

    it('orders the extreme priorities of a 32-bit integer too', async () => {
      const sagaName = newSagaName();
      const min = await enqueue(sagaName, { priority: -(2 ** 31) });
      const max = await enqueue(sagaName, { priority: 2 ** 31 - 1 });
      expect(ids((await promote(sagaName, {})).promoted)).toEqual([max.id, min.id]);
    });

    it('never lets more than `concurrency` records of a name be active, counting running, waiting and compensating ones', async () => {
      const sagaName = newSagaName();
      const queue = { key: null, priority: 0 };
      await insertRecord(store(), { sagaName, status: 'waiting', queue });
      await insertRecord(store(), { sagaName, status: 'failed', queue }); // waits for an operator: holds no slot
      await insertRecord(store(), { sagaName, status: 'running' }); // never queued (started before the limits): holds no slot
      const a = await enqueue(sagaName);
      const b = await enqueue(sagaName);
      const c = await enqueue(sagaName);
      const one = await promote(sagaName, { concurrency: 3 });
      expect(ids(one.promoted)).toEqual([a.id, b.id]);
      expect((await promote(sagaName, { concurrency: 3 })).promoted).toEqual([]);
      await finish(one.promoted[0]!);
      expect(ids((await promote(sagaName, { concurrency: 3 })).promoted)).toEqual([c.id]);
    });

    it('applies per-key limits per key, skipping a full key for the next one', async () => {
      const sagaName = newSagaName();
      const a1 = await enqueue(sagaName, { key: 'a' });
      const a2 = await enqueue(sagaName, { key: 'a' });
      const b1 = await enqueue(sagaName, { key: 'b' });
      const limits = { perKey: { concurrency: 1 } };
      const first = await promote(sagaName, limits);
      expect(ids(first.promoted)).toEqual([a1.id, b1.id]);
      expect((await promote(sagaName, limits)).promoted).toEqual([]);
      await finish(first.promoted[0]!);
      expect(ids((await promote(sagaName, limits)).promoted)).toEqual([a2.id]);
    });

    it('counts promotions within the rate window and tells when the window frees a start', async () => {
      const sagaName = newSagaName();
      const queued = [];
      for (let i = 0; i < 5; i++) queued.push(await enqueue(sagaName));
      const limits = { rate: { starts: 2, perMs: 1_000 } };
      const first = await promote(sagaName, limits, { now: T0 });
      expect(ids(first.promoted)).toEqual(ids(queued.slice(0, 2)));
      expect(first.nextAt).toBe(T0 + 1_000);
      const held = await promote(sagaName, limits, { now: T0 + 999 });
      expect(held).toEqual({ promoted: [], nextAt: T0 + 1_000 });
      const next = await promote(sagaName, limits, { now: T0 + 1_000 });
      expect(ids(next.promoted)).toEqual(ids(queued.slice(2, 4)));
      expect(next.nextAt).toBe(T0 + 2_000);
    });

    it('applies a per-key rate to each key alone', async () => {
      const sagaName = newSagaName();
      const a1 = await enqueue(sagaName, { key: 'a' });
      const a2 = await enqueue(sagaName, { key: 'a' });
      const b1 = await enqueue(sagaName, { key: 'b' });
      const limits = { perKey: { rate: { starts: 1, perMs: 500 } } };
      const first = await promote(sagaName, limits, { now: T0 });
      expect(ids(first.promoted)).toEqual([a1.id, b1.id]);
      expect(first.nextAt).toBe(T0 + 500);
      expect(ids((await promote(sagaName, limits, { now: T0 + 500 })).promoted)).toEqual([a2.id]);
    });

    it('promotes at most `limit`, only the versions asked for, never excluded ids, and leaves refused ones untouched', async () => {
      const sagaName = newSagaName();
      const other = await insertRecord(store(), { sagaName, version: 'v2', status: 'queued', snapshot: '{}', queue: { key: null, priority: 9 } });
      const excluded = await enqueue(sagaName, { priority: 8 });
      const refused = await enqueue(sagaName, { priority: 7 });
      const taken = await enqueue(sagaName);
      const rest = await enqueue(sagaName);
      const judged: string[] = [];
      const { promoted } = await promote(sagaName, { concurrency: 10 }, {
        versions: ['v1'],
        excludeIds: [excluded.id],
        limit: 1,
        accept: (r) => (judged.push(r.id), r.id !== refused.id),
      });
      expect(ids(promoted)).toEqual([taken.id]);
      expect(judged).toEqual([refused.id, taken.id]);
      for (const r of [other, excluded, refused, rest]) expect(await store().get(r.id)).toEqual(r);
    });

    it('never over-admits when workers promote at the same time', async () => {
      const sagaName = newSagaName();
      for (let i = 0; i < 12; i++) await enqueue(sagaName, { key: `k${i % 3}` });
      const limits = { concurrency: 5, perKey: { concurrency: 2 } };
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => promote(sagaName, limits, { owner: i % 2 ? WORKER_A : WORKER_B, limit: 2 })),
      );
      const promoted = results.flatMap((r) => r.promoted);
      expect(promoted.length).toBe(5);
      expect(new Set(ids(promoted)).size).toBe(5);
      const running = await store().list({ sagaName, status: 'running' });
      expect(running.length).toBe(5);
    });

    it('never over-admits when workers at the same time each see a different queued record', async () => {
      // Each promotion may take only its own record (the others are excluded): without the store's lock,
      // every one of them reads zero active records and promotes its own, far past the limit.
      for (let round = 0; round < 5; round++) {
        const sagaName = newSagaName();
        const queued = [];
        for (let i = 0; i < 6; i++) queued.push(await enqueue(sagaName));
        const all = ids(queued);
        const results = await Promise.all(
          all.map((id, i) => promote(sagaName, { concurrency: 2 }, { owner: i % 2 ? WORKER_A : WORKER_B, excludeIds: all.filter((other) => other !== id) })),
        );
        expect(results.flatMap((r) => r.promoted).length).toBe(2);
        expect((await store().list({ sagaName, status: 'running' })).length).toBe(2);
      }
    });

    it('cancels a queued record with its history, and nothing else', async () => {
      const sagaName = newSagaName();
      const queued = await enqueue(sagaName);
      const cancelled = await store().cancelQueued(queued.id, T0 + 5, [{ at: T0 + 5, type: 'saga.cancelled' }]);
      expect(cancelled).toMatchObject({ id: queued.id, status: 'cancelled', rowVersion: 2, updatedAt: T0 + 5, owner: null });
      expect(await store().get(queued.id)).toEqual(cancelled);
      expect((await store().history(queued.id)).map((e) => [e.seq, e.type])).toEqual([[1, 'saga.started'], [2, 'saga.cancelled']]);
      expect(await store().cancelQueued(queued.id, T0 + 6, [{ at: T0 + 6, type: 'again' }])).toBeUndefined();
      const running = await insertRecord(store(), { sagaName });
      expect(await store().cancelQueued(running.id, T0, [])).toBeUndefined();
      expect(await store().get(running.id)).toEqual(running);
      expect(await store().cancelQueued('no-such-saga', T0, [])).toBeUndefined();
      expect((await promote(sagaName, {})).promoted).toEqual([]);
    });
  });
}
