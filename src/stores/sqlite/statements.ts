import type Database from 'better-sqlite3';
import { DUE_ONLY_STATUS, UNFINISHED_SQL, type HistoryRow } from '../encoding.js';
import type { InboxEvent, SagaRecord } from '../types.js';

/*
 * Every statement SqliteStore runs, prepared once per connection. Statements
 * whose WHERE clause depends on which filters a call uses come in variants,
 * one per combination, rather than as `(? IS NULL OR …)`: SQLite plans a
 * statement once, and an optional term would keep it from using an index.
 * A claim's filters on columns no index covers (saga names, versions,
 * excluded ids) need no such care: they are JSON array parameters of one
 * statement, so only `dueOnly` and the id make claim variants.
 */

type Stmt<P, R = unknown> = Database.Statement<[P], R>;

/** A record's columns under their SagaRecord names. */
export const RECORD_COLUMNS = `id, saga_name AS sagaName, version, status, snapshot, due_at AS dueAt, owner,
  lease_until AS leaseUntil, row_version AS rowVersion, created_at AS createdAt, updated_at AS updatedAt, parent_id AS parentId`;

/**
 * What an update reads back, as a raw row: the columns the writer does not
 * already know. Not the owner nor the row version: the fence they matched
 * gives both. Raw (an array, not an object): cheaper on the per-step path.
 */
const WRITE_COLUMNS = `saga_name, version, created_at, history_seq, journal_seq, parent_id`;

/** sagaName, version, createdAt, historySeq, journalSeq, parentId. */
export type WrittenRow = [string, string, number, number, number, string | null];
export type HistoryRowWithSeq = HistoryRow & { seq: number };

/**
 * id, sagaName, version, status, snapshot, dueAt, owner, leaseUntil, historySeq, journalSeq, now (created),
 * now (updated), queueKey, priority, enqueueSeq, parentId.
 */
export type InsertArgs = [
  string, string, string, string, string, number | null, string | null, number | null, number, number, number, number,
  string | null, number | null, number | null, string | null,
];

/** sagaId, seq, at, type, step, attempt, data. */
export type HistoryArgs = [string, number, number, string, string | null, number | null, string | null];

/** status, snapshot, dueAt, leaseUntil, leaseUntil again (a null one releases the owner), now, historyCount, journalCount, id, rowVersion, owner. */
export type UpdateArgs = [string, string, number | null, number | null, number | null, number, number, number, string, number, string];

/** sagaId, seq, field, key, value. */
export type JournalArgs = [string, number, string, string | null, string];

export interface ClaimParams {
  owner: string;
  now: number;
  limit: number;
  /** JSON arrays; null when not filtered. */
  names: string | null;
  versions: string | null;
  /** JSON array, possibly empty. */
  excludeIds: string;
  id: string | undefined;
}

export interface ListParams {
  statuses: string;
  sagaName: string | undefined;
  parentId: string | undefined;
  limit: number;
}

/** The prepared statements of one connection. */
export interface SqliteStatements {
  insertSaga: Database.Statement<InsertArgs>;
  insertHistory: Database.Statement<HistoryArgs>;
  /** `insertHistoryRows[n]` inserts n rows in one statement (n = 2…4, the usual sizes of one write). */
  insertHistoryRows: Database.Statement<unknown[]>[];
  insertJournal: Database.Statement<JournalArgs>;
  /** `insertJournalRows[n]` inserts n entries in one statement (n = 2…4). */
  insertJournalRows: Database.Statement<unknown[]>[];
  deleteJournal: Database.Statement<[string]>;
  /** A saga's journal in write order, as raw [field, key, value] rows. */
  journalOf: Database.Statement<[string], unknown>;
  get: Database.Statement<[string], SagaRecord>;
  update: Database.Statement<UpdateArgs, WrittenRow>;
  consumeInbox: Stmt<{ id: string; seq: number }>;
  history: Database.Statement<[string], HistoryRowWithSeq>;
  /** Keyed by {@link claimVariant}; each returns the ids to claim (plucked). */
  claimIds: Map<string, Stmt<ClaimParams, string>>;
  claimOne: Stmt<{ id: string; owner: string; leaseUntil: number }, SagaRecord>;
  renewOne: Stmt<{ id: string; owner: string; leaseUntil: number; now: number }>;
  release: Stmt<{ id: string; owner: string }>;
  sendEvent: Stmt<{ sagaId: string; kind: string; name: string; payload: string; at: number }, number>;
  inbox: Database.Statement<[string], InboxEvent>;
  /** $1: the saga ids as a JSON array. */
  pendingEvents: Database.Statement<[string], InboxEvent>;
  /** Keyed by {@link listVariant}. */
  list: Map<string, Stmt<ListParams, SagaRecord>>;
  /** Keyed by whether saga names are filtered (plucked). */
  nextDueAt: Map<boolean, Stmt<{ names: string }, number | null>>;
  countByStatus: Stmt<{ sagaName: string | null }, { status: string; n: number }>;
}

/** The key of the claim statement for these filters. */
export function claimVariant(dueOnly: boolean, byId: boolean): string {
  return `${+dueOnly}${+byId}`;
}

/** The key of the list statement for these filters. */
export function listVariant(byStatus: boolean, byName: boolean, byParent = false): string {
  return `${+byStatus}${+byName}${+byParent}`;
}

/** Prepares every statement; the tables must exist. */
export function prepareStatements(db: Database.Database): SqliteStatements {
  const claimIds = new Map<string, Stmt<ClaimParams, string>>();
  const due = `(due_at <= @now OR EXISTS (SELECT 1 FROM orsa_inbox i WHERE i.saga_id = s.id AND i.consumed = 0))`;
  for (const dueOnly of [false, true]) {
    for (const byId of [false, true]) {
      const where = [
        `status IN (${UNFINISHED_SQL})`,
        // A lease with no expiry is treated as expired, so no record can be stuck with an owner forever.
        `(owner IS NULL OR lease_until IS NULL OR lease_until < @now OR owner = @owner)`,
        // A failed saga waits for an operator: claimed only when something is due for it.
        dueOnly ? due : `(status <> '${DUE_ONLY_STATUS}' OR ${due})`,
        `(@names IS NULL OR saga_name IN (SELECT value FROM json_each(@names)))`,
        `(@versions IS NULL OR version IN (SELECT value FROM json_each(@versions)))`,
        `id NOT IN (SELECT value FROM json_each(@excludeIds))`,
        byId ? `id = @id` : '',
      ].filter(Boolean);
      const sql = `SELECT id FROM orsa_sagas s WHERE ${where.join(' AND ')}
        ORDER BY due_at IS NULL, due_at, id LIMIT @limit`;
      claimIds.set(claimVariant(dueOnly, byId), db.prepare<[ClaimParams], string>(sql).pluck());
    }
  }

  const list = new Map<string, Stmt<ListParams, SagaRecord>>();
  for (const byStatus of [false, true]) {
    for (const byName of [false, true]) {
      for (const byParent of [false, true]) {
        const where = [
          byStatus ? `status IN (SELECT value FROM json_each(@statuses))` : '',
          byName ? `saga_name = @sagaName` : '',
          byParent ? `parent_id = @parentId` : '',
        ].filter(Boolean);
        const sql = `SELECT ${RECORD_COLUMNS} FROM orsa_sagas ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY updated_at DESC, id LIMIT @limit`;
        list.set(listVariant(byStatus, byName, byParent), db.prepare<[ListParams], SagaRecord>(sql));
      }
    }
  }

  const nextDueAt = new Map<boolean, Stmt<{ names: string }, number | null>>();
  for (const byNames of [false, true]) {
    const names = byNames ? `AND saga_name IN (SELECT value FROM json_each(@names))` : '';
    const sql = `SELECT MIN(due_at) FROM orsa_sagas WHERE status IN (${UNFINISHED_SQL}) ${names}`;
    nextDueAt.set(byNames, db.prepare<[{ names: string }], number | null>(sql).pluck());
  }

  return {
    // Positional, as the other per-step statements.
    insertSaga: db.prepare<InsertArgs>(
      `INSERT INTO orsa_sagas (id, saga_name, version, status, snapshot, due_at, owner, lease_until,
         row_version, history_seq, journal_seq, created_at, updated_at, queue_key, priority, enqueue_seq, parent_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`,
    ),
    insertHistoryRows: [2, 3, 4].reduce<Database.Statement<unknown[]>[]>((all, n) => {
      all[n] = db.prepare(
        `INSERT INTO orsa_history (saga_id, seq, at, type, step, attempt, data) VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      );
      return all;
    }, []),
    // Positional parameters: binding them is measurably cheaper than named ones on the per-step path.
    insertHistory: db.prepare<HistoryArgs>(
      `INSERT INTO orsa_history (saga_id, seq, at, type, step, attempt, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertJournal: db.prepare<JournalArgs>(`INSERT INTO orsa_journal (saga_id, seq, field, key, value) VALUES (?, ?, ?, ?, ?)`),
    insertJournalRows: [2, 3, 4].reduce<Database.Statement<unknown[]>[]>((all, n) => {
      all[n] = db.prepare(`INSERT INTO orsa_journal (saga_id, seq, field, key, value) VALUES ${Array(n).fill('(?, ?, ?, ?, ?)').join(', ')}`);
      return all;
    }, []),
    deleteJournal: db.prepare<[string]>(`DELETE FROM orsa_journal WHERE saga_id = ?`),
    journalOf: db.prepare<[string], unknown>(`SELECT field, key, value FROM orsa_journal WHERE saga_id = ? ORDER BY seq`).raw(),
    get: db.prepare<[string], SagaRecord>(`SELECT ${RECORD_COLUMNS} FROM orsa_sagas WHERE id = ?`),
    // A null lease releases the record, owner included (RecordPatch.leaseUntil).
    update: db.prepare<UpdateArgs, WrittenRow>(
      `UPDATE orsa_sagas SET status = ?, snapshot = ?, due_at = ?, lease_until = ?,
         owner = CASE WHEN ? IS NULL THEN NULL ELSE owner END,
         row_version = row_version + 1, updated_at = ?, history_seq = history_seq + ?, journal_seq = journal_seq + ?
       WHERE id = ? AND row_version = ? AND owner = ?
       RETURNING ${WRITE_COLUMNS}`,
    ).raw(),
    consumeInbox: db.prepare(
      `UPDATE orsa_inbox SET consumed = 1 WHERE saga_id = @id AND seq <= @seq AND consumed = 0`,
    ),
    history: db.prepare<[string], HistoryRowWithSeq>(
      `SELECT seq, at, type, step, attempt, data FROM orsa_history WHERE saga_id = ? ORDER BY seq`,
    ),
    claimIds,
    claimOne: db.prepare(
      `UPDATE orsa_sagas SET owner = @owner, lease_until = @leaseUntil, row_version = row_version + 1
       WHERE id = @id RETURNING ${RECORD_COLUMNS}`,
    ),
    renewOne: db.prepare(
      // MAX: a renewal that waited for the write lock must not shorten a lease a later write extended.
      `UPDATE orsa_sagas SET lease_until = MAX(lease_until, @leaseUntil) WHERE id = @id AND owner = @owner AND lease_until >= @now`,
    ),
    // A saga stopped inside a step is due at once (releasedDueAt): another worker need not wait for the lease to run out.
    release: db.prepare(`UPDATE orsa_sagas SET owner = NULL, lease_until = NULL,
      due_at = CASE WHEN status IN ('running', 'compensating') THEN min(coalesce(due_at, updated_at), updated_at) ELSE due_at END
      WHERE id = @id AND owner = @owner`),
    // Reads the saga row in the same statement, so an unknown id inserts nothing.
    sendEvent: db
      .prepare<[{ sagaId: string; kind: string; name: string; payload: string; at: number }], number>(
        `INSERT INTO orsa_inbox (saga_id, kind, name, payload, at)
         SELECT id, @kind, @name, @payload, @at FROM orsa_sagas WHERE id = @sagaId RETURNING seq`,
      )
      .pluck(),
    inbox: db.prepare<[string], InboxEvent>(
      `SELECT seq, saga_id AS sagaId, kind, name, payload, at FROM orsa_inbox WHERE saga_id = ? AND consumed = 0 ORDER BY seq`,
    ),
    pendingEvents: db.prepare<[string], InboxEvent>(
      `SELECT seq, saga_id AS sagaId, kind, name, payload, at FROM orsa_inbox
       WHERE saga_id IN (SELECT value FROM json_each(?)) AND consumed = 0 ORDER BY seq`,
    ),
    list,
    nextDueAt,
    countByStatus: db.prepare(
      `SELECT status, count(*) AS n FROM orsa_sagas WHERE @sagaName IS NULL OR saga_name = @sagaName GROUP BY status`,
    ),
  };
}
