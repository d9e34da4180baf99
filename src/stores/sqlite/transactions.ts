import type Database from 'better-sqlite3';
import { encodeHistory, newStoredRecord, nonNegativeInteger, type HistoryRow } from '../encoding.js';
import { assembleSnapshot, writeBytes, type JournalRow } from '../journal.js';
import { pendingMigrations } from '../migrations.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { claimVariant, type SqliteStatements } from './statements.js';
import type { QueueStatements } from './queue.js';
import {
  StaleRecordError,
  type ClaimRequest,
  type HistoryEvent,
  type JournalEntry,
  type NewRecord,
  type RecordPatch,
  type SagaRecord,
  type UpdateOptions,
  type WriteFence,
  type BatchOutcome,
  type BatchWrite,
} from '../types.js';
import { assertSagaId } from '../input-checks.js';

/*
 * SqliteStore's multi-statement writes, each one `BEGIN IMMEDIATE`
 * transaction, and its migration runner.
 */

/**
 * The store's transactions over one connection. A write also returns the
 * bytes it handed on (the store's stats), counted from the rows it encoded.
 */
export interface Transactions {
  insert(record: NewRecord, history: readonly HistoryEvent[]): { inserted: boolean; record: SagaRecord; bytes: number };
  update(
    id: string,
    fence: WriteFence,
    patch: RecordPatch,
    history: readonly HistoryEvent[],
    options: UpdateOptions,
  ): { record: SagaRecord; bytes: number };
  /**
   * Group commit: one `BEGIN IMMEDIATE` transaction, each write in a savepoint of its own (refused alone);
   * `bytes[i]` is 0 for a write that stored nothing.
   */
  batch(writes: readonly BatchWrite[]): { outcomes: BatchOutcome[]; bytes: number[] };
  claim(request: ClaimRequest): SagaRecord[];
  renew(owner: string, ids: readonly string[], leaseUntil: number, now: number): string[];
}

/** A filter list as a JSON array parameter; null when there is no filter. */
function jsonArray(values: readonly string[] | undefined): string | null {
  return values === undefined ? null : JSON.stringify(values);
}

/** Applies the missing migrations in one write transaction, so concurrent processes apply each once. */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS orsa_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
    )`);
    const applied = db.prepare<[], number>('SELECT version FROM orsa_migrations').pluck().all();
    const record = db.prepare('INSERT INTO orsa_migrations (version, name) VALUES (?, ?)');
    for (const migration of pendingMigrations(SQLITE_MIGRATIONS, applied, `SQLite database ${db.name}`)) {
      for (const statement of migration.up) db.exec(statement);
      record.run(migration.version, migration.name);
    }
  }).immediate();
}

/** Appends history rows numbered from `first`, in one statement when there are 2 to 4 (one write's usual count). */
export function insertHistory(s: SqliteStatements, id: string, first: number, rows: readonly HistoryRow[]): void {
  const many = s.insertHistoryRows[rows.length];
  if (many) {
    // A plain loop into one array: flatMap's array per row shows on the per-step path.
    const args: unknown[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      args.push(id, first + i, row.at, row.type, row.step, row.attempt, row.data);
    }
    many.run(args);
    return;
  }
  rows.forEach((row, index) => s.insertHistory.run(id, first + index, row.at, row.type, row.step, row.attempt, row.data));
}

/** Appends journal entries numbered from `first`, in one statement when there are 2 to 4. */
function insertJournal(s: SqliteStatements, id: string, first: number, entries: readonly JournalEntry[]): void {
  const many = s.insertJournalRows[entries.length];
  if (many) {
    const args: unknown[] = [];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      args.push(id, first + i, entry.field, entry.key, entry.value);
    }
    many.run(args);
    return;
  }
  entries.forEach((entry, index) => s.insertJournal.run(id, first + index, entry.field, entry.key, entry.value));
}

/** A record read from the database, its snapshot assembled from control state and journal. */
export function assembled(s: SqliteStatements, record: SagaRecord): SagaRecord {
  // parentId is absent, not null, on a saga started on its own (SagaRecord.parentId).
  if (record.parentId === null) delete record.parentId;
  const rows = s.journalOf.all(record.id) as unknown as JournalRow[];
  if (rows.length > 0) record.snapshot = assembleSnapshot(record.snapshot, rows);
  return record;
}

export function transactions(db: Database.Database, s: SqliteStatements, q: QueueStatements): Transactions {
  const insert = db.transaction((record: NewRecord, history: readonly HistoryEvent[]) => {
    // Encode first: an event whose data cannot be stored must leave nothing behind.
    const rows = history.map(encodeHistory);
    const queue = record.queue;
    const { changes } = s.insertSaga.run(
      record.id,
      record.sagaName,
      record.version,
      record.status,
      record.snapshot,
      record.dueAt,
      record.owner,
      record.leaseUntil,
      rows.length,
      record.journal?.length ?? 0,
      record.now,
      record.now,
      queue?.key ?? null,
      queue?.priority ?? null,
      queue ? q.nextSeq.get()! : null,
      record.parentId ?? null,
    );
    if (changes === 0) return { inserted: false, record: assembled(s, s.get.get(record.id)!), bytes: 0 };
    insertHistory(s, record.id, 1, rows);
    if (record.journal) insertJournal(s, record.id, 1, record.journal);
    return { inserted: true, record: newStoredRecord(record), bytes: writeBytes(record.snapshot, record.journal, rows) };
  });

  const update = db.transaction(
    (id: string, fence: WriteFence, patch: RecordPatch, history: readonly HistoryEvent[], options: UpdateOptions) => {
      const rows = history.map(encodeHistory);
      const journal = patch.journal;
      const written = s.update.get(
        patch.status,
        patch.snapshot,
        patch.dueAt,
        patch.leaseUntil,
        patch.leaseUntil,
        options.now,
        rows.length,
        journal?.entries.length ?? 0,
        id,
        fence.rowVersion,
        fence.owner,
      );
      if (!written) throw new StaleRecordError(id);
      const [sagaName, version, createdAt, historySeq, journalSeq, parentId] = written;
      insertHistory(s, id, historySeq - rows.length + 1, rows);
      // No journal: the snapshot is whole, so older entries would be applied twice. A reset resends them all.
      if (!journal || journal.reset) s.deleteJournal.run(id);
      if (journal) insertJournal(s, id, journalSeq - journal.entries.length + 1, journal.entries);
      if (options.consumedInboxSeq !== undefined) s.consumeInbox.run({ id, seq: options.consumedInboxSeq });
      // The insert reads the target's row: a notice for an unknown saga stores nothing.
      if (options.notify) {
        for (const n of options.notify) s.sendEvent.get({ sagaId: n.sagaId, kind: 'command', name: n.name, payload: n.payload, at: options.now });
      }
      const record: SagaRecord = {
        id,
        sagaName,
        version,
        status: patch.status,
        snapshot: patch.snapshot,
        dueAt: patch.dueAt,
        // The fence matched both: the write kept the owner (or released it with the lease) and bumped the version.
        // As the statement's `IS NULL`: an undefined lease binds as NULL, and SQLite stores NaN as NULL.
        owner: patch.leaseUntil == null || Number.isNaN(patch.leaseUntil) ? null : fence.owner,
        leaseUntil: patch.leaseUntil,
        rowVersion: fence.rowVersion + 1,
        createdAt,
        updatedAt: options.now,
      };
      if (parentId !== null) record.parentId = parentId;
      return { record, bytes: writeBytes(patch.snapshot, journal?.entries, rows) };
    },
  );

  // Called inside this transaction, insert and update run as savepoints: a refused write rolls back only itself.
  const batch = db.transaction((writes: readonly BatchWrite[]) => {
    const bytes: number[] = [];
    const outcomes = writes.map((w): BatchOutcome => {
      try {
        if (w.kind === 'update') {
          const { record, bytes: n } = update(w.id, w.fence, w.patch, w.history, w.options);
          bytes.push(n);
          return { ok: true, record };
        }
        assertSagaId(w.record.id);
        const { inserted, record, bytes: n } = insert(w.record, w.history);
        bytes.push(n);
        return { ok: true, inserted, record };
      } catch (error) {
        // An error that ended the whole transaction (I/O error, out of memory, RAISE(ROLLBACK)) undid the writes
        // before it too: the batch fails as a whole (else later writes would commit each on its own).
        if (!db.inTransaction) throw error;
        bytes.push(0);
        return { ok: false, error };
      }
    });
    return { outcomes, bytes };
  });

  const claim = db.transaction((request: ClaimRequest) => {
    const variant = claimVariant(request.dueOnly === true, request.id !== undefined);
    const ids = s.claimIds.get(variant)!.all({
      owner: request.owner,
      now: request.now,
      limit: nonNegativeInteger(request.limit),
      names: jsonArray(request.sagaNames),
      versions: jsonArray(request.versions),
      excludeIds: JSON.stringify(request.excludeIds ?? []),
      id: request.id,
    });
    const accept = request.accept;
    const claimed: SagaRecord[] = [];
    for (const id of ids) {
      if (accept) {
        const current = s.get.get(id);
        if (!current || !accept(assembled(s, current))) continue; // refused: not written, rowVersion included
      }
      const record = s.claimOne.get({ id, owner: request.owner, leaseUntil: request.leaseUntil });
      if (record) claimed.push(assembled(s, record));
    }
    return claimed;
  });

  const renew = db.transaction((owner: string, ids: readonly string[], leaseUntil: number, now: number) =>
    [...new Set(ids)].filter((id) => s.renewOne.run({ id, owner, leaseUntil, now }).changes > 0),
  );

  return {
    insert: (...args) => insert.immediate(...args),
    update: (id, fence, patch, history, options) => update.immediate(id, fence, patch, history, options),
    batch: (...args) => batch.immediate(...args),
    claim: (...args) => claim.immediate(...args),
    renew: (...args) => renew.immediate(...args),
  };
}
