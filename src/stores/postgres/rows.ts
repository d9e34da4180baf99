import { assembleSnapshot, type JournalRow } from '../journal.js';
import type { InboxEvent, SagaRecord } from '../types.js';

/*
 * Rows as pg returns them, and their conversion to the contract's shapes.
 */

/** A record as pg returns it: bigint columns arrive as strings. */
export type RecordRow = Omit<SagaRecord, 'dueAt' | 'leaseUntil' | 'rowVersion' | 'createdAt' | 'updatedAt' | 'snapshot' | 'parentId'> & {
  parentId?: string | null;
  snapshot?: string;
  /** The journal as [field, key, value] rows, in write order; null when it has none. */
  journal?: JournalRow[] | null;
  dueAt: string | null;
  leaseUntil: string | null;
  rowVersion: string;
  createdAt: string;
  updatedAt: string;
};

/** An inbox event as pg returns it: bigint columns arrive as strings. */
export type InboxRow = Omit<InboxEvent, 'seq' | 'at'> & { seq: string; at: string };

/** A stored record from its row; the snapshot is assembled from the row's journal. */
export function toRecord(row: RecordRow, snapshot?: string): SagaRecord {
  return {
    id: row.id,
    sagaName: row.sagaName,
    version: row.version,
    status: row.status,
    snapshot: snapshot ?? assembleSnapshot(row.snapshot ?? '', row.journal),
    dueAt: row.dueAt === null ? null : Number(row.dueAt),
    owner: row.owner,
    leaseUntil: row.leaseUntil === null ? null : Number(row.leaseUntil),
    rowVersion: Number(row.rowVersion),
    createdAt: Number(row.createdAt),
    updatedAt: Number(row.updatedAt),
    // Absent, not null, on a saga started on its own (SagaRecord.parentId).
    ...(row.parentId ? { parentId: row.parentId } : {}),
  };
}

/** An inbox event from its row. */
export function toInboxEvent(row: InboxRow): InboxEvent {
  return { ...row, seq: Number(row.seq), at: Number(row.at) };
}
