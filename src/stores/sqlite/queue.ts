import type Database from 'better-sqlite3';
import { ACTIVE_SQL, encodeHistory, nonNegativeInteger } from '../encoding.js';
import { inQueueOrder, longestWindowMs, NO_LIMIT, perKeyCap, planPromotion, promotedRecord, PROMOTE_SCAN, type QueuedCandidate } from '../queue-plan.js';
import type { HistoryEvent, PromoteRequest, PromoteResult, SagaRecord } from '../types.js';
import { RECORD_COLUMNS, type SqliteStatements } from './statements.js';
import { assembled, insertHistory } from './transactions.js';

/*
 * SqliteStore's queues: promotion and cancelling a queued saga. Each is one
 * `BEGIN IMMEDIATE` transaction, so the counts a promotion reads cannot change
 * before its writes commit: every process sharing the file is serialized by
 * SQLite's one writer.
 */

type Stmt<P, R = unknown> = Database.Statement<[P], R>;

interface CandidateParams {
  name: string;
  versions: string | null;
  excludeIds: string;
  keyConcurrency: number;
  keyRateSince: number;
  keyRateStarts: number;
  cap: number;
  scan: number;
}

/** The prepared queue statements of one connection. */
export interface QueueStatements {
  /** The next arrival number (plucked). */
  nextSeq: Database.Statement<[], number>;
  candidates: Stmt<CandidateParams, SagaRecord & { queueKey: string }>;
  /** Without per-key limits: the head of the queue, read in index order. */
  head: Stmt<Omit<CandidateParams, 'keyConcurrency' | 'keyRateSince' | 'keyRateStarts' | 'cap'>, SagaRecord & { queueKey: string; prio?: unknown; seq?: unknown }>;
  active: Stmt<{ name: string }, { key: string; n: number }>;
  /** Queued records of a name (plucked). */
  queued: Stmt<{ name: string }, number>;
  starts: Stmt<{ name: string; since: number }, { key: string; at: number }>;
  prune: Stmt<{ name: string; before: number }>;
  promoteOne: Stmt<{ id: string; owner: string; leaseUntil: number; now: number }>;
  recordStart: Stmt<{ name: string; key: string | null; at: number }>;
  cancel: Stmt<{ id: string; now: number; count: number }, SagaRecord & { historySeq: number }>;
}

export function prepareQueueStatements(db: Database.Database): QueueStatements {
  const key = `COALESCE(queue_key, '')`;
  // A key whose active sagas or recent promotions already reach its limit gives no candidate: the
  // scan then reaches the keys that can start something, however many full keys queue before them.
  // Within a key, at most `cap` rows (the most one promotion could start of it).
  const candidates = `SELECT ${RECORD_COLUMNS}, queueKey FROM (
      SELECT q.*, ROW_NUMBER() OVER (PARTITION BY queueKey ORDER BY prio DESC, enqueue_seq, id) AS rn FROM (
        SELECT s.*, COALESCE(s.queue_key, '') AS queueKey,
          CASE WHEN typeof(s.priority) = 'integer' THEN s.priority ELSE 0 END AS prio
        FROM orsa_sagas s
        WHERE s.saga_name = @name AND s.status = 'queued'
          AND (@versions IS NULL OR s.version IN (SELECT value FROM json_each(@versions)))
          AND s.id NOT IN (SELECT value FROM json_each(@excludeIds))
          AND COALESCE(s.queue_key, '') NOT IN (SELECT ${key} FROM orsa_sagas
            WHERE saga_name = @name AND status IN (${ACTIVE_SQL}) AND enqueue_seq IS NOT NULL GROUP BY 1 HAVING count(*) >= @keyConcurrency)
          AND COALESCE(s.queue_key, '') NOT IN (SELECT ${key} FROM orsa_queue_starts
            WHERE saga_name = @name AND at > @keyRateSince GROUP BY 1 HAVING count(*) >= @keyRateStarts)
      ) q
    ) WHERE rn <= @cap
    ORDER BY prio DESC, enqueue_seq, id LIMIT @scan`;
  // Odd priorities (text, null) sort where SQLite puts them, never fail.
  const head = `SELECT ${RECORD_COLUMNS}, COALESCE(queue_key, '') AS queueKey, priority AS prio, enqueue_seq AS seq FROM orsa_sagas s
    WHERE saga_name = @name AND status = 'queued'
      AND (@versions IS NULL OR version IN (SELECT value FROM json_each(@versions)))
      AND id NOT IN (SELECT value FROM json_each(@excludeIds))
    ORDER BY priority DESC, enqueue_seq LIMIT @scan`;
  return {
    head: db.prepare(head),
    nextSeq: db.prepare<[], number>(`UPDATE orsa_queue_seq SET value = value + 1 WHERE id = 1 RETURNING value`).pluck(),
    candidates: db.prepare(candidates),
    active: db.prepare(`SELECT ${key} AS key, count(*) AS n FROM orsa_sagas WHERE saga_name = @name AND status IN (${ACTIVE_SQL}) AND enqueue_seq IS NOT NULL GROUP BY 1`),
    queued: db.prepare<[{ name: string }], number>(`SELECT count(*) FROM orsa_sagas WHERE saga_name = @name AND status = 'queued'`).pluck(),
    starts: db.prepare(`SELECT ${key} AS key, at FROM orsa_queue_starts WHERE saga_name = @name AND at > @since`),
    prune: db.prepare(`DELETE FROM orsa_queue_starts WHERE saga_name = @name AND at <= @before`),
    promoteOne: db.prepare(
      `UPDATE orsa_sagas SET status = 'running', owner = @owner, lease_until = @leaseUntil, due_at = @leaseUntil,
         row_version = row_version + 1, updated_at = @now
       WHERE id = @id AND status = 'queued'`,
    ),
    recordStart: db.prepare(`INSERT INTO orsa_queue_starts (saga_name, queue_key, at) VALUES (@name, @key, @at)`),
    cancel: db.prepare(
      `UPDATE orsa_sagas SET status = 'cancelled', due_at = NULL, owner = NULL, lease_until = NULL,
         row_version = row_version + 1, updated_at = @now, history_seq = history_seq + @count
       WHERE id = @id AND status = 'queued'
       RETURNING ${RECORD_COLUMNS}, history_seq AS historySeq`,
    ),
  };
}

/** The queue transactions over one connection. */
export interface QueueTransactions {
  promote(request: PromoteRequest): PromoteResult;
  cancelQueued(id: string, now: number, history: readonly HistoryEvent[]): SagaRecord | undefined;
}

export function queueTransactions(db: Database.Database, s: SqliteStatements, q: QueueStatements): QueueTransactions {
  const promote = db.transaction((request: PromoteRequest): PromoteResult => {
    const { sagaName: name, limits, now } = request;
    const windowMs = longestWindowMs(limits);
    if (windowMs > 0) q.prune.run({ name, before: now - windowMs });
    const keyRate = limits.perKey?.rate;
    const common = {
      name,
      versions: request.versions === undefined ? null : JSON.stringify(request.versions),
      excludeIds: JSON.stringify(request.excludeIds ?? []),
      scan: Math.min(PROMOTE_SCAN, Math.max(nonNegativeInteger(request.limit), 1) * 10),
    };
    const rows = !limits.perKey
      ? inQueueOrder(q.head.all(common)).map(({ prio: _p, seq: _s, ...row }) => row)
      : q.candidates.all({
          ...common,
          keyConcurrency: limits.perKey.concurrency ?? NO_LIMIT,
          keyRateSince: keyRate ? now - keyRate.perMs : now,
          keyRateStarts: keyRate?.starts ?? NO_LIMIT,
          cap: perKeyCap(limits),
        });
    const candidates: QueuedCandidate[] = rows.map(({ queueKey, ...record }) => ({ key: queueKey, record: assembled(s, record) }));
    const activeByKey = new Map(q.active.all({ name }).map((row) => [row.key, row.n]));
    const starts = windowMs > 0 ? q.starts.all({ name, since: now - windowMs }) : [];
    const { chosen, nextAt } = planPromotion(request, candidates, { activeByKey, starts, queued: q.queued.get({ name })! });
    for (const { record, key } of chosen) {
      q.promoteOne.run({ id: record.id, owner: request.owner, leaseUntil: request.leaseUntil, now });
      if (windowMs > 0) q.recordStart.run({ name, key, at: now });
    }
    return { promoted: chosen.map((c) => promotedRecord(c.record, request)), nextAt };
  });

  const cancelQueued = db.transaction((id: string, now: number, history: readonly HistoryEvent[]) => {
    const rows = history.map(encodeHistory);
    const written = q.cancel.get({ id, now, count: rows.length });
    if (!written) return undefined;
    const { historySeq, ...record } = written;
    insertHistory(s, id, historySeq - rows.length + 1, rows);
    return assembled(s, record);
  });

  return {
    promote: (request) => promote.immediate(request),
    cancelQueued: (...args) => cancelQueued.immediate(...args),
  };
}
