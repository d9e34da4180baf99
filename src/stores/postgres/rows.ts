import { assembleSnapshot, type JournalRow } from '../journal.js';
import type { SagaRecord } from '../types.js';

/** A record as pg returns it: bigint columns arrive as strings. */
export type RecordRow = Omit<SagaRecord, 'dueAt' | 'leaseUntil' | 'rowVersion' | 'createdAt' | 'updatedAt' | 'snapshot'> & {
  snapshot?: string;
  /** The journal as [field, key, value] rows, in write order; null when it has none. */
  journal?: JournalRow[] | null;
  dueAt: string | null;
  leaseUntil: string | null;
  rowVersion: string;
  createdAt: string;
  updatedAt: string;
};

/** A record from a row: bigints to numbers, the snapshot assembled from its journal. */
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
  };
}

