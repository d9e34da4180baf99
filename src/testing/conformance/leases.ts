import { describe, expect, it } from 'vitest';
import { StaleRecordError, type ClaimRequest } from '../../stores/types.js';
import { describeClaimAccept } from './claim-accept.js';
import { idsOf, insertHeld, insertRecord, LEASE_MS, newSagaName, T0, WORKER_A, WORKER_B, type StoreRef } from './fixtures.js';

/** Specs of claim, renew, release and nextDueAt: how workers share records. */
export function describeLeases(store: StoreRef): void {
  const NOW = T0 + 1_000;
  /** A claim by worker B at NOW of up to 100 records of these saga names. */
  const claimB = (sagaName: string, more: Partial<ClaimRequest> = {}) =>
    store().claim({ owner: WORKER_B, now: NOW, leaseUntil: NOW + LEASE_MS, limit: 100, sagaNames: [sagaName], ...more });

  describe('claim', () => {
    it('leases free unfinished records to the owner and increments their rowVersion', async () => {
      const sagaName = newSagaName();
      const free = await insertRecord(store(), { sagaName });
      const claimed = await claimB(sagaName);
      const expected = { ...free, owner: WORKER_B, leaseUntil: NOW + LEASE_MS, rowVersion: 2 };
      expect(claimed).toEqual([expected]);
      expect(await store().get(free.id)).toMatchObject({ owner: WORKER_B, leaseUntil: NOW + LEASE_MS, rowVersion: 2 });
    });

    it('claims running, waiting and compensating records, never completed, compensated or cancelled ones, nor a failed one with nothing due', async () => {
      const sagaName = newSagaName();
      const unfinished = [];
      for (const status of ['running', 'waiting', 'compensating'] as const) unfinished.push(await insertRecord(store(), { sagaName, status }));
      for (const status of ['completed', 'compensated', 'failed', 'cancelled'] as const) await insertRecord(store(), { sagaName, status });
      expect(idsOf(await claimB(sagaName))).toEqual(idsOf(unfinished));
    });

    it('never claims a final record, even with an unconsumed event or a due time', async () => {
      const sagaName = newSagaName();
      for (const status of ['completed', 'compensated', 'cancelled'] as const) {
        const record = await insertRecord(store(), { sagaName, status, dueAt: NOW - 1 });
        await store().sendEvent(record.id, 'late', '{}', T0);
      }
      expect(await claimB(sagaName, { dueOnly: true })).toEqual([]);
      expect(await claimB(sagaName)).toEqual([]);
    });

    it('claims a failed record once it holds an unconsumed event (an operator\'s retry), with or without dueOnly', async () => {
      const sagaName = newSagaName();
      const waiting = await insertRecord(store(), { sagaName, status: 'failed' });
      expect(await claimB(sagaName, { dueOnly: true })).toEqual([]);
      expect(await claimB(sagaName)).toEqual([]);
      expect(await store().get(waiting.id)).toEqual(waiting);
      await store().sendEvent(waiting.id, '$retryCompensation', 'null', T0);
      const expected = { ...waiting, owner: WORKER_B, leaseUntil: NOW + LEASE_MS, rowVersion: 2 };
      expect(await claimB(sagaName, { dueOnly: true })).toEqual([expected]);
      const other = await insertRecord(store(), { sagaName, status: 'failed' });
      await store().sendEvent(other.id, '$retryCompensation', 'null', T0);
      expect(idsOf(await claimB(sagaName, { owner: 'worker-c', now: NOW + LEASE_MS + 1 }))).toEqual(idsOf([waiting, other]));
    });

    it('does not claim a failed record again once its events are consumed', async () => {
      const sagaName = newSagaName();
      const failed = await insertRecord(store(), { sagaName, status: 'failed' });
      const event = await store().sendEvent(failed.id, '$retryCompensation', 'null', T0);
      const [claimed] = await claimB(sagaName, { dueOnly: true });
      const patch = { status: 'failed', snapshot: '{"still":"failed"}', dueAt: null, leaseUntil: null } as const;
      await store().update(failed.id, { rowVersion: claimed!.rowVersion, owner: WORKER_B }, patch, [], {
        now: NOW,
        consumedInboxSeq: event.seq,
      });
      expect(await claimB(sagaName, { dueOnly: true })).toEqual([]);
      expect(await claimB(sagaName)).toEqual([]);
    });

    it('claims a failed record whose due time has come', async () => {
      const sagaName = newSagaName();
      const due = await insertRecord(store(), { sagaName, status: 'failed', dueAt: NOW });
      await insertRecord(store(), { sagaName, status: 'failed', dueAt: NOW + 1 });
      expect(idsOf(await claimB(sagaName, { dueOnly: true }))).toEqual([due.id]);
    });

    it('claims records whose lease expired and the claimer\'s own, never those another owner holds', async () => {
      const sagaName = newSagaName();
      const expired = await insertHeld(store(), { sagaName, leaseUntil: NOW - 1 });
      const own = await insertRecord(store(), { sagaName, owner: WORKER_B, leaseUntil: NOW + 5 });
      const heldByA = await insertHeld(store(), { sagaName, leaseUntil: NOW + 5 });
      const heldUntilNow = await insertHeld(store(), { sagaName, leaseUntil: NOW });
      const claimed = await claimB(sagaName);
      expect(idsOf(claimed)).toEqual(idsOf([expired, own]));
      expect(await store().get(heldByA.id)).toEqual(heldByA);
      expect(await store().get(heldUntilNow.id)).toEqual(heldUntilNow);
    });

    it('fences out the previous owner: its next write fails with StaleRecordError', async () => {
      const sagaName = newSagaName();
      const held = await insertHeld(store(), { sagaName, leaseUntil: NOW - 1 });
      await claimB(sagaName);
      const lateWrite = store().update(
        held.id,
        { rowVersion: held.rowVersion, owner: WORKER_A },
        { status: 'completed', snapshot: '{}', dueAt: null, leaseUntil: null },
        [],
        { now: NOW },
      );
      await expect(lateWrite).rejects.toBeInstanceOf(StaleRecordError);
      expect(await store().get(held.id)).toMatchObject({ owner: WORKER_B, status: 'running' });
    });

    it('with dueOnly, claims only records due by now (dueAt <= now) or holding unconsumed events', async () => {
      const sagaName = newSagaName();
      const pastDue = await insertRecord(store(), { sagaName, dueAt: NOW - 10 });
      const dueNow = await insertRecord(store(), { sagaName, dueAt: NOW });
      const withEvent = await insertRecord(store(), { sagaName, status: 'waiting' });
      await store().sendEvent(withEvent.id, 'approved', '{}', T0);
      await insertRecord(store(), { sagaName, dueAt: NOW + 1 });
      await insertRecord(store(), { sagaName, dueAt: null });
      expect(idsOf(await claimB(sagaName, { dueOnly: true }))).toEqual(idsOf([pastDue, dueNow, withEvent]));
    });

    it('without dueOnly, claims free records whether or not anything is due', async () => {
      const sagaName = newSagaName();
      const later = await insertRecord(store(), { sagaName, dueAt: NOW + 60_000 });
      const never = await insertRecord(store(), { sagaName, dueAt: null });
      expect(idsOf(await claimB(sagaName))).toEqual(idsOf([later, never]));
    });

    it('claims only records of the given saga names; an empty list claims nothing', async () => {
      const mine = newSagaName();
      const other = newSagaName();
      const record = await insertRecord(store(), { sagaName: mine });
      await insertRecord(store(), { sagaName: other });
      expect(await claimB(mine, { sagaNames: [] })).toEqual([]);
      expect(idsOf(await claimB(mine, { sagaNames: [mine, newSagaName()] }))).toEqual([record.id]);
      expect(await store().list({ sagaName: other })).toMatchObject([{ owner: null }]);
    });

    it('claims only the given id when one is named', async () => {
      const sagaName = newSagaName();
      const target = await insertRecord(store(), { sagaName });
      await insertRecord(store(), { sagaName });
      expect(idsOf(await claimB(sagaName, { id: target.id }))).toEqual([target.id]);
      const withoutNames = await store().claim({ owner: WORKER_B, now: NOW, leaseUntil: NOW + LEASE_MS, limit: 10, id: target.id });
      expect(idsOf(withoutNames)).toEqual([target.id]);
    });

    it('never claims a record of a version not listed, and leaves it untouched', async () => {
      const sagaName = newSagaName();
      const v1 = await insertRecord(store(), { sagaName, version: 'v1' });
      const v2 = await insertRecord(store(), { sagaName, version: 'v2', dueAt: NOW - 1 });
      // Free to take in every other way: an expired lease of another owner, something due.
      const expired = await insertHeld(store(), { sagaName, version: 'v3', leaseUntil: NOW - 1, dueAt: NOW - 1 });
      expect(idsOf(await claimB(sagaName, { versions: ['v1', 'v9'] }))).toEqual([v1.id]);
      expect(await claimB(sagaName, { versions: ['v1'], dueOnly: true })).toEqual([]);
      expect(await store().get(v2.id)).toEqual(v2);
      expect(await store().get(expired.id)).toEqual(expired);
    });

    it('claims nothing with an empty versions list, and every version without one', async () => {
      const sagaName = newSagaName();
      const v1 = await insertRecord(store(), { sagaName, version: 'v1' });
      const v2 = await insertRecord(store(), { sagaName, version: 'v2' });
      expect(await claimB(sagaName, { versions: [] })).toEqual([]);
      expect(await store().get(v1.id)).toEqual(v1);
      expect(idsOf(await claimB(sagaName, { versions: undefined }))).toEqual(idsOf([v1, v2]));
    });

    it('never claims an excluded id, and leaves it untouched; an empty list excludes nothing', async () => {
      const sagaName = newSagaName();
      const kept = await insertRecord(store(), { sagaName });
      const running = await insertRecord(store(), { sagaName, dueAt: NOW - 1 });
      const unreadable = await insertHeld(store(), { sagaName, leaseUntil: NOW - 1 });
      const excludeIds = [running.id, unreadable.id, 'no-such-saga'];
      expect(idsOf(await claimB(sagaName, { excludeIds }))).toEqual([kept.id]);
      expect(await claimB(sagaName, { excludeIds, id: running.id })).toEqual([]);
      expect(await store().get(running.id)).toEqual(running);
      expect(await store().get(unreadable.id)).toEqual(unreadable);
      expect(idsOf(await claimB(sagaName, { excludeIds: [] }))).toEqual(idsOf([kept, running, unreadable]));
    });

    it('applies saga names, versions, excluded ids and dueOnly together', async () => {
      const sagaName = newSagaName();
      const wanted = await insertRecord(store(), { sagaName, version: 'v2', dueAt: NOW });
      await insertRecord(store(), { sagaName, version: 'v2', dueAt: NOW + 1 });
      await insertRecord(store(), { sagaName, version: 'v1', dueAt: NOW });
      await insertRecord(store(), { sagaName: newSagaName(), version: 'v2', dueAt: NOW });
      const excluded = await insertRecord(store(), { sagaName, version: 'v2', dueAt: NOW });
      const claimed = await claimB(sagaName, { versions: ['v2'], excludeIds: [excluded.id], dueOnly: true });
      expect(idsOf(claimed)).toEqual([wanted.id]);
    });

    it('claims at most limit records, earliest due first, records with nothing due last', async () => {
      const sagaName = newSagaName();
      const none = await insertRecord(store(), { sagaName, dueAt: null });
      const late = await insertRecord(store(), { sagaName, dueAt: NOW - 10 });
      const early = await insertRecord(store(), { sagaName, dueAt: NOW - 30 });
      const middle = await insertRecord(store(), { sagaName, dueAt: NOW - 20 });
      expect((await claimB(sagaName, { limit: 2 })).map((r) => r.id)).toEqual([early.id, middle.id]);
      expect((await claimB(sagaName, { limit: 2, owner: 'worker-c' })).map((r) => r.id)).toEqual([late.id, none.id]);
      expect(await claimB(sagaName, { limit: 0, owner: 'worker-d' })).toEqual([]);
    });

    it('never hands one record to two concurrent claimers', async () => {
      const sagaName = newSagaName();
      const records = [];
      for (let i = 0; i < 10; i++) records.push(await insertRecord(store(), { sagaName }));
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => claimB(sagaName, { owner: `racer-${i}`, limit: 1 })),
      );
      const claimedIds = claims.flat().map((r) => r.id);
      expect(new Set(claimedIds).size).toBe(claimedIds.length);
      for (const [i, claimed] of claims.entries()) {
        for (const record of claimed) expect(await store().get(record.id)).toMatchObject({ owner: `racer-${i}`, rowVersion: 2 });
      }
      // Whatever the race left unclaimed is still free: together, every record is claimed exactly once.
      const rest = await claimB(sagaName, { owner: 'sweeper' });
      expect([...claimedIds, ...rest.map((r) => r.id)].sort()).toEqual(idsOf(records));
    });
  });

  describeClaimAccept(store);

  describe('renew', () => {
    it('extends the leases the owner holds and returns their ids, without changing rowVersion', async () => {
      const a = await insertHeld(store());
      const b = await insertHeld(store());
      const renewed = await store().renew(WORKER_A, [a.id, b.id], T0 + 5 * LEASE_MS, T0 + 10);
      expect([...renewed].sort()).toEqual(idsOf([a, b]));
      expect(await store().get(a.id)).toEqual({ ...a, leaseUntil: T0 + 5 * LEASE_MS });
    });

    it('never shortens a lease: a renewal computed before a later write keeps the later expiry', async () => {
      const held = await insertHeld(store(), { leaseUntil: T0 + 5 * LEASE_MS });
      expect(await store().renew(WORKER_A, [held.id], T0 + LEASE_MS, T0 + 10)).toEqual([held.id]);
      expect((await store().get(held.id))?.leaseUntil).toBe(T0 + 5 * LEASE_MS);
    });

    it('returns only ids the owner still holds: not claimed by another, released, expired or unknown', async () => {
      const sagaName = newSagaName();
      const kept = await insertHeld(store());
      const taken = await insertHeld(store(), { sagaName, leaseUntil: NOW - 1 });
      await claimB(sagaName);
      const released = await insertHeld(store());
      await store().release(released.id, WORKER_A);
      const expired = await insertHeld(store(), { leaseUntil: NOW - 1 });
      const ids = [kept.id, taken.id, released.id, expired.id, 'no-such-saga'];
      expect(await store().renew(WORKER_A, ids, NOW + LEASE_MS, NOW)).toEqual([kept.id]);
      expect(await store().get(taken.id)).toMatchObject({ owner: WORKER_B, leaseUntil: NOW + LEASE_MS });
      expect(await store().get(expired.id)).toEqual(expired);
    });
  });

  describe('release', () => {
    it('clears owner and lease without changing rowVersion', async () => {
      const held = await insertHeld(store(), { status: 'waiting', dueAt: T0 + 5_000 });
      await store().release(held.id, WORKER_A);
      expect(await store().get(held.id)).toEqual({ ...held, owner: null, leaseUntil: null });
    });

    it('changes nothing when another owner holds the record', async () => {
      const held = await insertHeld(store());
      await store().release(held.id, WORKER_B);
      expect(await store().get(held.id)).toEqual(held);
    });
  });

  describe('nextDueAt', () => {
    it('returns the earliest dueAt among unfinished records of the given saga names, held or not', async () => {
      const sagaName = newSagaName();
      await insertRecord(store(), { sagaName, dueAt: T0 + 300 });
      await insertHeld(store(), { sagaName, dueAt: T0 + 200 });
      await insertRecord(store(), { sagaName: newSagaName(), dueAt: T0 + 100 });
      expect(await store().nextDueAt([sagaName])).toBe(T0 + 200);
    });

    it('ignores final records and records with nothing due, and is null when none is left', async () => {
      const sagaName = newSagaName();
      await insertRecord(store(), { sagaName, dueAt: null });
      expect(await store().nextDueAt([sagaName])).toBeNull();
      for (const status of ['completed', 'compensated', 'cancelled'] as const) {
        await insertRecord(store(), { sagaName, status, dueAt: T0 });
      }
      expect(await store().nextDueAt([sagaName])).toBeNull();
      expect(await store().nextDueAt([])).toBeNull();
    });

    it('counts a failed record: it is not final', async () => {
      const sagaName = newSagaName();
      await insertRecord(store(), { sagaName, status: 'failed', dueAt: T0 + 7 });
      expect(await store().nextDueAt([sagaName])).toBe(T0 + 7);
    });

    it('considers every saga name when none are given', async () => {
      // 1 ms after the epoch: earlier than any due time the other specs use.
      const record = await insertHeld(store(), { sagaName: newSagaName(), dueAt: 1 });
      expect(await store().nextDueAt()).toBe(1);
      const final = { status: 'cancelled', snapshot: '{}', dueAt: 1, leaseUntil: null } as const;
      await store().update(record.id, { rowVersion: 1, owner: WORKER_A }, final, [], { now: T0 });
      expect(await store().nextDueAt()).not.toBe(1);
    });
  });
}
