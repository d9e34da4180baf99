import { describe, expect, it } from 'vitest';
import type { ClaimRequest, SagaRecord } from '../../stores/types.js';
import { idsOf, insertRecord, LEASE_MS, newSagaName, T0, WORKER_A, WORKER_B, type StoreRef } from './fixtures.js';

/** Specs of `claim({ accept })`: a worker judges each record before it takes it, and a refused one is never written. */
export function describeClaimAccept(store: StoreRef): void {
  const NOW = T0 + 1_000;
  const claimB = (sagaName: string, more: Partial<ClaimRequest> = {}) =>
    store().claim({ owner: WORKER_B, now: NOW, leaseUntil: NOW + LEASE_MS, limit: 100, sagaNames: [sagaName], ...more });

  describe('claim with accept', () => {
    it('leases only the records accept returns true for; a refused one keeps every column, rowVersion included', async () => {
      const sagaName = newSagaName();
      const good = await insertRecord(store(), { sagaName, snapshot: '{"ok":true}' });
      const bad = await insertRecord(store(), { sagaName, snapshot: '{"ok":' });
      const judged: SagaRecord[] = [];
      const claimed = await claimB(sagaName, { accept: (r) => (judged.push(r), r.snapshot !== bad.snapshot) });
      expect(idsOf(claimed)).toEqual([good.id]);
      expect(claimed[0]).toMatchObject({ owner: WORKER_B, rowVersion: 2 });
      expect(idsOf(judged)).toEqual(idsOf([good, bad]));
      // The judge sees the record as stored, before the claim changes it.
      expect(judged.find((r) => r.id === bad.id)).toEqual(bad);
      expect(await store().get(bad.id)).toEqual(bad);
    });

    it('leaves a refused record untouched however often it is judged again', async () => {
      const sagaName = newSagaName();
      const held = await insertRecord(store(), { sagaName, owner: WORKER_A, leaseUntil: T0, dueAt: T0 });
      for (let i = 0; i < 5; i++) expect(await claimB(sagaName, { dueOnly: true, accept: () => false })).toEqual([]);
      expect(await store().get(held.id)).toEqual(held);
    });

    it('judges only what the other filters let through', async () => {
      const sagaName = newSagaName();
      const free = await insertRecord(store(), { sagaName });
      await insertRecord(store(), { sagaName, owner: WORKER_A, leaseUntil: NOW + LEASE_MS });
      await insertRecord(store(), { sagaName, status: 'completed' });
      const judged: string[] = [];
      await claimB(sagaName, { accept: (r) => (judged.push(r.id), true) });
      expect(judged).toEqual([free.id]);
    });

    it('never hands one accepted record to two concurrent claimers', async () => {
      const sagaName = newSagaName();
      const records = [];
      for (let i = 0; i < 8; i++) records.push(await insertRecord(store(), { sagaName }));
      const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => claimB(sagaName, { owner: `judge-${i}`, limit: 1, accept: () => true })));
      const ids = claims.flat().map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      const rest = await claimB(sagaName, { owner: 'sweeper', accept: () => true });
      expect([...ids, ...idsOf(rest)].sort()).toEqual(idsOf(records));
    });
  });
}
