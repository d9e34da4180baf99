import { FINAL_STATUSES, type HistoryEvent, type ListFilter, type SagaRecord, type SagaStatus } from './types.js';

/*
 * What the built-in stores share about how records, filters and history are
 * encoded, so that memory, SQLite and PostgreSQL agree to the byte.
 */

// A Record (not an array) so that a status added to SagaStatus fails to compile here until it is listed.
const EVERY_STATUS: Record<SagaStatus, true> = {
  queued: true,
  running: true,
  waiting: true,
  compensating: true,
  completed: true,
  compensated: true,
  failed: true,
  cancelled: true,
};

/** The status of a saga waiting for a slot of its limits (see `SagaStore.promote`). */
export const QUEUED: SagaStatus = 'queued';

/**
 * Statuses a saga may still leave, the complement of {@link FINAL_STATUSES}:
 * the ones claims and `nextDueAt` consider (a `failed` one is claimed only
 * when something is due for it: {@link DUE_ONLY_STATUS}).
 */
export const UNFINISHED_STATUSES: readonly SagaStatus[] = (Object.keys(EVERY_STATUS) as SagaStatus[]).filter(
  // A queued saga is not claimed (only `promote` starts it) and has no due time.
  (status) => !FINAL_STATUSES.includes(status) && status !== QUEUED,
);

/** Statuses that hold a concurrency slot: from promotion until the saga ends (or fails and waits for an operator). */
export const ACTIVE_STATUSES: readonly SagaStatus[] = ['running', 'waiting', 'compensating'];

/** {@link ACTIVE_STATUSES} as an SQL list of literals. */
export const ACTIVE_SQL = ACTIVE_STATUSES.map((status) => `'${status}'`).join(', ');

/**
 * `UNFINISHED_STATUSES` as an SQL list of literals. Inlined rather than bound
 * so that `status IN (…)` reads as index ranges to both query planners.
 */
export const UNFINISHED_SQL = UNFINISHED_STATUSES.map((status) => `'${status}'`).join(', ');

/**
 * The unfinished status claimed only when something is due for it, as if the
 * claim were `dueOnly`: a failed saga waits for an operator's event.
 */
export const DUE_ONLY_STATUS: SagaStatus = 'failed';

/** Default of {@link ListFilter.limit}. */
export const DEFAULT_LIST_LIMIT = 100;

/** The limit of a list filter as a non-negative integer (SQLite reads a negative LIMIT as "no limit"). */
export function listLimit(filter: ListFilter | undefined): number {
  return nonNegativeInteger(filter?.limit ?? DEFAULT_LIST_LIMIT);
}

/** The largest count or duration a store passes on: SQLite's pragmas take 32-bit integers. */
const MAX_INT32 = 2 ** 31 - 1;

/** A caller's count (or duration) as an integer in [0, 2^31 - 1]; NaN counts as 0, Infinity as the maximum. */
export function nonNegativeInteger(value: number): number {
  return Number.isNaN(value) ? 0 : Math.min(MAX_INT32, Math.max(0, Math.floor(value)));
}

/** The statuses of a list filter as an array, or undefined when the filter has none. */
export function listStatuses(filter: ListFilter | undefined): SagaStatus[] | undefined {
  const status = filter?.status;
  if (status === undefined) return undefined;
  return typeof status === 'string' ? [status] : [...status];
}

/** One history event as stored: `data` is JSON text, or null when the event had none. */
export interface HistoryRow {
  at: number;
  type: string;
  step: string | null;
  attempt: number | null;
  data: string | null;
}

/** Encodes an event for storage; `data` goes through JSON exactly as it would in a database. */
export function encodeHistory(event: HistoryEvent): HistoryRow {
  return {
    at: event.at,
    type: event.type,
    step: event.step ?? null,
    attempt: event.attempt ?? null,
    data: event.data === undefined ? null : (JSON.stringify(event.data) ?? null),
  };
}

/**
 * Decodes a stored event. Every store returns the same shape: `step` and
 * `attempt` are null when absent, `data` is present only when the event had
 * some (a `null` data stays `null`).
 */
export function decodeHistory(seq: number, row: HistoryRow): HistoryEvent {
  const event: HistoryEvent = { seq, at: row.at, type: row.type, step: row.step, attempt: row.attempt };
  if (row.data !== null) event.data = JSON.parse(row.data);
  return event;
}

/** Code-unit order, which is what SQLite (BINARY) and PostgreSQL (`COLLATE "C"`) give for ASCII ids. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The order claims take records in, in every store: earliest due first, records with nothing due last, then by id. */
export function claimOrder(a: Pick<SagaRecord, 'id' | 'dueAt'>, b: Pick<SagaRecord, 'id' | 'dueAt'>): number {
  if (a.dueAt !== b.dueAt) {
    if (a.dueAt === null) return 1;
    if (b.dueAt === null) return -1;
    return a.dueAt - b.dueAt;
  }
  return compareIds(a.id, b.id);
}

/** The record a successful insert stored: row version 1, created and updated now. */
export function newStoredRecord(record: Omit<SagaRecord, 'rowVersion' | 'createdAt' | 'updatedAt'> & { now: number }): SagaRecord {
  return {
    id: record.id,
    sagaName: record.sagaName,
    version: record.version,
    status: record.status,
    snapshot: record.snapshot,
    dueAt: record.dueAt,
    owner: record.owner,
    leaseUntil: record.leaseUntil,
    rowVersion: 1,
    createdAt: record.now,
    updatedAt: record.now,
    ...(record.parentId ? { parentId: record.parentId } : {}),
  };
}
