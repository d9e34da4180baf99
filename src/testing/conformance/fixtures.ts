import { randomUUID } from 'node:crypto';
import type { HistoryEvent, SagaRecord, SagaStore } from '../../stores/types.js';

/*
 * Builders shared by the conformance specs. Every spec makes its own ids and
 * saga names, so specs never see each other's records even though they share
 * one store (and, for a database store, possibly one database).
 */

/** The input of {@link SagaStore.insert}. */
export type NewRecord = Parameters<SagaStore['insert']>[0];

/** Gives the specs the store under test once `beforeAll` has made it. */
export type StoreRef = () => SagaStore;

/** A fixed epoch (ms); stores never read the clock, so specs pass times explicitly. */
export const T0 = 1_700_000_000_000;

/** A lease length, in ms. */
export const LEASE_MS = 30_000;

export const WORKER_A = 'worker-a';
export const WORKER_B = 'worker-b';

/** A fresh, unique saga id. */
export function newId(): string {
  return `saga-${randomUUID()}`;
}

/** A fresh, unique saga name: claims and `nextDueAt` filtered by it see only this spec's records. */
export function newSagaName(): string {
  return `conformance-${randomUUID()}`;
}

/** An insert input: a free, running record created at {@link T0}, with overrides. */
export function newRecord(overrides: Partial<NewRecord> = {}): NewRecord {
  return {
    id: newId(),
    sagaName: 'conformance',
    version: 'v1',
    status: 'running',
    snapshot: '{"value":"start"}',
    dueAt: null,
    owner: null,
    leaseUntil: null,
    now: T0,
    ...overrides,
  };
}

/** Inserts a record (with one `saga.started` event) and returns it as stored. */
export async function insertRecord(store: SagaStore, overrides: Partial<NewRecord> = {}): Promise<SagaRecord> {
  const input = newRecord(overrides);
  const { record } = await store.insert(input, [{ at: input.now, type: 'saga.started' }]);
  return record;
}

/** Inserts a record leased to {@link WORKER_A} until `T0 + LEASE_MS`. */
export async function insertHeld(store: SagaStore, overrides: Partial<NewRecord> = {}): Promise<SagaRecord> {
  return insertRecord(store, { owner: WORKER_A, leaseUntil: T0 + LEASE_MS, ...overrides });
}

/** A history event as a store returns it: `step` and `attempt` null when absent. */
export function storedEvent(seq: number, event: HistoryEvent): HistoryEvent {
  return { seq, step: null, attempt: null, ...event };
}

/** The ids of some records, sorted, for order-insensitive comparisons. */
export function idsOf(records: readonly { id: string }[]): string[] {
  return records.map((r) => r.id).sort();
}
