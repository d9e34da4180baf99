import { describe, expect, it } from 'vitest';
import { insertRecord, newRecord, newSagaName, T0, type StoreRef } from './fixtures.js';

/** Specs of list. */
export function describeListing(store: StoreRef): void {
  describe('countByStatus', () => {
    it('counts the records in each status, of one saga or of all', async () => {
      const sagaName = newSagaName();
      await insertRecord(store(), { sagaName, status: 'running' });
      await insertRecord(store(), { sagaName, status: 'running' });
      await insertRecord(store(), { sagaName, status: 'failed' });
      await insertRecord(store(), { sagaName: newSagaName(), status: 'completed' });
      const counts = await store().countByStatus(sagaName);
      expect({ running: 0, failed: 0, completed: 0, ...counts }).toEqual({ running: 2, failed: 1, completed: 0 });
      const all = await store().countByStatus();
      expect(all.running).toBeGreaterThanOrEqual(2);
      expect(all.completed).toBeGreaterThanOrEqual(1);
    });
  });

  describe('list', () => {
    it('returns records most recently updated first', async () => {
      const sagaName = newSagaName();
      const old = await insertRecord(store(), { sagaName, now: T0 + 1 });
      const newest = await insertRecord(store(), { sagaName, now: T0 + 3 });
      const middle = await insertRecord(store(), { sagaName, now: T0 + 2 });
      expect((await store().list({ sagaName })).map((r) => r.id)).toEqual([newest.id, middle.id, old.id]);
    });

    it('returns full records, snapshot included', async () => {
      const sagaName = newSagaName();
      const record = await insertRecord(store(), { sagaName, snapshot: '{"full": "record"}' });
      expect(await store().list({ sagaName })).toEqual([record]);
    });

    it('filters by saga name', async () => {
      const sagaName = newSagaName();
      const mine = await insertRecord(store(), { sagaName });
      await insertRecord(store(), { sagaName: newSagaName() });
      expect(await store().list({ sagaName })).toEqual([mine]);
    });

    it('filters by one status', async () => {
      const sagaName = newSagaName();
      const failed = await insertRecord(store(), { sagaName, status: 'failed' });
      await insertRecord(store(), { sagaName, status: 'running' });
      expect(await store().list({ sagaName, status: 'failed' })).toEqual([failed]);
      const anyFailed = await store().list({ status: 'failed', limit: 10_000 });
      expect(anyFailed.every((r) => r.status === 'failed')).toBe(true);
      expect(anyFailed.map((r) => r.id)).toContain(failed.id);
    });

    it('filters by several statuses', async () => {
      const sagaName = newSagaName();
      const completed = await insertRecord(store(), { sagaName, status: 'completed', now: T0 + 2 });
      const compensated = await insertRecord(store(), { sagaName, status: 'compensated', now: T0 + 1 });
      await insertRecord(store(), { sagaName, status: 'waiting' });
      expect(await store().list({ sagaName, status: ['completed', 'compensated'] })).toEqual([completed, compensated]);
      expect(await store().list({ sagaName, status: [] })).toEqual([]);
    });

    it('returns at most limit records, the most recently updated', async () => {
      const sagaName = newSagaName();
      const records = [];
      for (let i = 0; i < 5; i++) records.push(await insertRecord(store(), { sagaName, now: T0 + i }));
      expect((await store().list({ sagaName, limit: 2 })).map((r) => r.id)).toEqual([records[4]!.id, records[3]!.id]);
      expect(await store().list({ sagaName, limit: 0 })).toEqual([]);
    });

    it('returns 100 records when no limit is given', async () => {
      const sagaName = newSagaName();
      for (let i = 0; i < 101; i++) await store().insert(newRecord({ sagaName, id: `${sagaName}-${i}`, now: T0 + i }), []);
      const listed = await store().list({ sagaName });
      expect(listed).toHaveLength(100);
      expect(listed.map((r) => r.id)).not.toContain(`${sagaName}-0`);
    });
  });
}
