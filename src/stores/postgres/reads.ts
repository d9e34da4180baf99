import { decodeHistory, listLimit, listStatuses, type HistoryRow } from '../encoding.js';
import type { HistoryEvent, InboxEvent, ListFilter, SagaRecord, SagaStatus } from '../types.js';
import { toInboxEvent, toRecord, type InboxRow, type RecordRow } from './rows.js';
import type { PostgresStatements, Prepared } from './statements.js';

/*
 * PostgresStore's reads (records, history, inbox, counts, next due time), each
 * one prepared statement run through the store's query function.
 */

/** Runs a prepared statement on the store's pool (after its readiness check) and returns the rows. */
export type Query = <R extends object = object>(statement: Prepared, values: unknown[]) => Promise<R[]>;

export async function getRecord(query: Query, sql: PostgresStatements, id: string): Promise<SagaRecord | undefined> {
  const [row] = await query<RecordRow>(sql.get, [id]);
  return row && toRecord(row);
}

export async function listRecords(query: Query, sql: PostgresStatements, filter?: ListFilter): Promise<SagaRecord[]> {
  const statuses = listStatuses(filter);
  const sagaName = filter?.sagaName;
  const parentId = filter?.parentId;
  const values: unknown[] = [listLimit(filter)];
  if (statuses) values.push(statuses);
  if (sagaName !== undefined) values.push(sagaName);
  if (parentId !== undefined) values.push(parentId);
  const rows = await query<RecordRow>(sql.list(statuses !== undefined, sagaName !== undefined, parentId !== undefined), values);
  return rows.map((row) => toRecord(row));
}

export async function readHistory(query: Query, sql: PostgresStatements, id: string): Promise<HistoryEvent[]> {
  const rows = await query<Omit<HistoryRow, 'at'> & { seq: number; at: string }>(sql.history, [id]);
  return rows.map((row) => decodeHistory(row.seq, { ...row, at: Number(row.at) }));
}

export async function readInbox(query: Query, sql: PostgresStatements, sagaId: string): Promise<InboxEvent[]> {
  const rows = await query<InboxRow>(sql.inbox, [sagaId]);
  return rows.map(toInboxEvent);
}

/** The inbox events of non-empty `sagaIds` (the store answers an empty list without a round trip). */
export async function readPendingEvents(query: Query, sql: PostgresStatements, sagaIds: readonly string[]): Promise<InboxEvent[]> {
  const rows = await query<InboxRow>(sql.pendingEvents, [sagaIds]);
  return rows.map(toInboxEvent);
}

export async function countByStatus(query: Query, sql: PostgresStatements, sagaName?: string): Promise<Partial<Record<SagaStatus, number>>> {
  const rows = await query<{ status: SagaStatus; n: string }>(sql.countByStatus, [sagaName ?? null]);
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
}

export async function nextDueAt(query: Query, sql: PostgresStatements, sagaNames?: readonly string[]): Promise<number | null> {
  const byNames = sagaNames !== undefined;
  const [row] = await query<{ next: string | null }>(sql.nextDueAt(byNames), byNames ? [sagaNames] : []);
  return row?.next == null ? null : Number(row.next);
}
