import type { HistoryRow } from '../encoding.js';
import { journalRow } from '../journal.js';
import type { NewRecord, RecordPatch, SagaRecord, UpdateOptions, WriteFence } from '../types.js';

/*
 * The values PostgresStore's insert and update statements take, in parameter
 * order, and the record an update gives back.
 */

/** What the update statement returns of the row it wrote, what the writer does not know: [saga name, version, created at, parent id]. */
export type UpdatedRow = { r: [sagaName: string, version: string, createdAt: number, parentId: string | null] };

export function insertValues(record: NewRecord, encoded: readonly HistoryRow[]): unknown[] {
  const journal = record.journal ?? [];
  return [
    record.id,
    record.sagaName,
    record.version,
    record.status,
    record.snapshot,
    record.dueAt,
    record.owner,
    record.leaseUntil,
    encoded.length,
    record.now,
    JSON.stringify(encoded),
    JSON.stringify(journal.map(journalRow)),
    journal.length,
    record.queue?.key ?? null,
    record.queue?.priority ?? null,
    record.queue !== undefined,
    record.parentId ?? null,
  ];
}

export function updateValues(id: string, fence: WriteFence, patch: RecordPatch, encoded: readonly HistoryRow[], options: UpdateOptions): unknown[] {
  const notify = options.notify ?? [];
  const entries = patch.journal?.entries ?? [];
  const values: unknown[] = [
    id,
    fence.rowVersion,
    fence.owner,
    patch.status,
    patch.snapshot,
    patch.dueAt,
    patch.leaseUntil,
    options.now,
    encoded.length,
    JSON.stringify(encoded),
    JSON.stringify(entries.map(journalRow)),
    entries.length,
  ];
  if (options.consumedInboxSeq !== undefined) values.push(options.consumedInboxSeq);
  if (notify.length > 0) values.push(JSON.stringify(notify.map((n) => [n.sagaId, n.name, n.payload])));
  return values;
}

/**
 * Whether a write releases its saga: a null lease, or one left out (untyped JS), which pg sends as null too and
 * which the statement without `owner = NULL` would store as an owner with no lease, unheard by the release trigger.
 */
export const releases = (patch: RecordPatch): boolean => patch.leaseUntil == null;

/** No journal: the snapshot is whole, so older entries would be applied twice. A reset resends them all. */
export const dropsJournal = (patch: RecordPatch): boolean => !patch.journal || patch.journal.reset === true;

/** The fence matched, so the row version is the fence's plus one and the owner the fence's, unless the write released it. */
export function updatedRecord(id: string, fence: WriteFence, { r: [sagaName, version, createdAt, parentId] }: UpdatedRow, patch: RecordPatch, now: number): SagaRecord {
  return {
    id,
    sagaName,
    version,
    status: patch.status,
    snapshot: patch.snapshot,
    dueAt: patch.dueAt,
    owner: releases(patch) ? null : fence.owner,
    leaseUntil: patch.leaseUntil ?? null,
    rowVersion: fence.rowVersion + 1,
    createdAt,
    updatedAt: now,
    ...(parentId ? { parentId } : {}),
  };
}
