import { createHash } from 'node:crypto';
import { DUE_ONLY_STATUS, UNFINISHED_SQL } from '../encoding.js';

/*
 * The SQL PostgresStore runs, for one schema. Each statement is named after a
 * hash of its text, so pg prepares it once per connection and two stores on
 * different schemas can share a pool without their names clashing. Writes are
 * single statements (data-modifying CTEs): one round trip and one commit each.
 */

/** A named statement, ready for `pool.query({ name, text, values })`. */
export interface Prepared {
  name: string;
  text: string;
}

export function prepared(text: string): Prepared {
  return { name: `orsa_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text };
}

/** A record's columns under their SagaRecord names (bigints come back as strings). */
export const RECORD_COLUMNS = `id, saga_name AS "sagaName", version, status, snapshot, due_at AS "dueAt", owner,
  lease_until AS "leaseUntil", row_version AS "rowVersion", created_at AS "createdAt", updated_at AS "updatedAt",
  parent_id AS "parentId"`;

/**
 * A record's columns plus its journal as a JSON array of [field, key, value]
 * in write order (null when it has none), for the table aliased `s`: the
 * reader assembles the snapshot (`assembleSnapshot`) from one round trip.
 */
const recordColumns = (journal: string) => `${RECORD_COLUMNS},
  (SELECT json_agg(json_build_array(j.field, j.key, j.value) ORDER BY j.seq) FROM ${journal} j WHERE j.saga_id = s.id) AS journal`;

/** Journal entries arrive as one JSON array of [field, key, value], numbered by `WITH ORDINALITY`. */
export const JOURNAL_FIELDS = `e.v->>0, e.v->>1, e.v->>2`;

/**
 * What an update reads back: only what the writer does not know (not the snapshot, the status, the times, nor the
 * row version and owner its fence fixes), as one JSON array [saga name, version, created at, parent id]: pg pays a
 * parser and a property per column per write (measured: 4 columns ~12 µs of client CPU more than one).
 */
const UPDATED_COLUMNS = `saga_name, version, created_at, parent_id`;
const UPDATED_ROW = `json_build_array(saga_name, version, created_at, parent_id) AS r`;

/**
 * History arrives as one JSON array of encoded events ({@link HistoryRow}:
 * data already JSON text), numbered by `WITH ORDINALITY`.
 */
export const HISTORY_FIELDS = `(e.v->>'at')::bigint, e.v->>'type', e.v->>'step', (e.v->>'attempt')::integer, e.v->>'data'`;

/** Every statement of one schema; variants are built on first use and kept. */
export class PostgresStatements {
  readonly insert: Prepared;
  readonly get: Prepared;
  readonly history: Prepared;
  readonly renew: Prepared;
  readonly release: Prepared;
  readonly sendEvent: Prepared;
  readonly inbox: Prepared;
  readonly pendingEvents: Prepared;
  readonly #t: { sagas: string; history: string; inbox: string; journal: string };
  readonly #variants = new Map<string, Prepared>();

  /** @param schema the schema name, already quoted as an identifier. */
  constructor(schema: string) {
    const t = { sagas: `${schema}.sagas`, history: `${schema}.history`, inbox: `${schema}.inbox`, journal: `${schema}.journal` };
    this.#t = t;
    // $1 id, $2 saga name, $3 version, $4 status, $5 snapshot, $6 due at, $7 owner, $8 lease until,
    // $9 history count, $10 now, $11 history (JSON array), $12 journal (JSON array), $13 journal count,
    // $14 queue key, $15 priority, $16 whether it is queued (it then takes the next arrival number), $17 parent id.
    this.insert = prepared(`WITH s AS (
        INSERT INTO ${t.sagas} (id, saga_name, version, status, snapshot, due_at, owner, lease_until,
          row_version, history_seq, journal_seq, created_at, updated_at, queue_key, priority, enqueue_seq, parent_id)
        VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, $8::bigint, 1, $9::integer, $13::integer, $10::bigint, $10::bigint,
          $14::text, $15::integer, CASE WHEN $16::boolean THEN nextval('${schema}.enqueue_seq') END, $17::text)
        ON CONFLICT (id) DO NOTHING
        RETURNING id
      ), h AS (
        INSERT INTO ${t.history} (saga_id, seq, at, type, step, attempt, data)
        SELECT s.id, e.ord, ${HISTORY_FIELDS} FROM s, json_array_elements($11::json) WITH ORDINALITY AS e(v, ord)
      ), j AS (
        INSERT INTO ${t.journal} (saga_id, seq, field, key, value)
        SELECT s.id, e.ord, ${JOURNAL_FIELDS} FROM s, json_array_elements($12::json) WITH ORDINALITY AS e(v, ord)
      )
      SELECT id FROM s`);
    this.get = prepared(`SELECT ${recordColumns(t.journal)} FROM ${t.sagas} s WHERE id = $1`);
    this.history = prepared(`SELECT seq, at, type, step, attempt, data FROM ${t.history} WHERE saga_id = $1 ORDER BY seq`);
    // GREATEST: a renewal that waited in a queue must not shorten a lease a later write extended.
    // Rows are locked in id order, as a group commit locks them, so the two cannot deadlock.
    this.renew = prepared(`UPDATE ${t.sagas} SET lease_until = GREATEST(lease_until, $3::bigint)
      WHERE id IN (SELECT id FROM ${t.sagas} WHERE id = ANY($2::text[]) AND owner = $1 AND lease_until >= $4 ORDER BY id FOR NO KEY UPDATE)
        AND owner = $1 AND lease_until >= $4 RETURNING id`);
    // A saga stopped inside a step is due at once (releasedDueAt): another worker need not wait for the lease to run out.
    this.release = prepared(`UPDATE ${t.sagas} SET owner = NULL, lease_until = NULL,
      due_at = CASE WHEN status IN ('running', 'compensating') THEN LEAST(due_at, updated_at) ELSE due_at END
      WHERE id = $1 AND owner = $2`);
    // The row lock serializes the sends to one saga, so their seqs commit in order: a reader that saw
    // seq n has seen every smaller seq of that saga, and consuming "up to n" can never drop an unseen event.
    this.sendEvent = prepared(`INSERT INTO ${t.inbox} (saga_id, name, payload, at, kind)
      SELECT id, $2, $3, $4::bigint, $5 FROM ${t.sagas} WHERE id = $1 FOR NO KEY UPDATE
      RETURNING seq`);
    this.inbox = prepared(`SELECT seq, saga_id AS "sagaId", kind, name, payload, at FROM ${t.inbox}
      WHERE saga_id = $1 AND NOT consumed ORDER BY seq`);
    this.pendingEvents = prepared(`SELECT seq, saga_id AS "sagaId", kind, name, payload, at FROM ${t.inbox}
      WHERE saga_id = ANY($1::text[]) AND NOT consumed ORDER BY seq`);
  }

  /**
   * The fenced write: record, history and inbox consumption in one statement.
   * $1 id, $2 fence row version, $3 fence owner, $4 status, $5 snapshot,
   * $6 due at, $7 lease until (null releases), $8 now, $9 history count,
   * $10 history (JSON array), $11 journal entries (JSON array), $12 their
   * count, with `consume` $13 the consumed inbox seq, and with `notify` the
   * next parameter: commands for other sagas' inboxes (JSON array of
   * [saga id, name, payload]). With `reset` the saga's earlier journal
   * entries are dropped first (a reset, or a patch without journal). With
   * `release` ($7 null) the owner is cleared; without, the owner is not in
   * the SET list, so the release trigger (migration 8: UPDATE OF owner) is
   * not even looked at.
   * No row back means the fence did not match, and then nothing was written:
   * the other CTEs read `u`. The row holds only what the writer cannot know
   * (see {@link updatedRecord}): the new row version and owner follow from the fence.
   *
   * Each choice is a variant of its own, not a parameter: a CTE switched off
   * by a parameter is still in the plan, and its executor setup (the table
   * and its indexes opened, locked and closed) costs every write.
   */
  update(consume: boolean, notify = false, reset = false, release = false): Prepared {
    const t = this.#t;
    return this.#variant(`update:${+consume}${+notify}${+reset}${+release}`, () => {
      // Like sendEvent, the target's row is locked first, so the seqs of one saga's inbox commit in order.
      const notifyInbox = notify
        ? `, tgt AS (
            SELECT s.id, e.v->>1 AS name, e.v->>2 AS payload, e.ord FROM ${t.sagas} s
            JOIN json_array_elements($${consume ? 14 : 13}::json) WITH ORDINALITY AS e(v, ord) ON s.id = e.v->>0
            WHERE EXISTS (SELECT 1 FROM u) FOR NO KEY UPDATE OF s
          ), n AS (
            INSERT INTO ${t.inbox} (saga_id, name, payload, at, kind)
            SELECT id, name, payload, $8::bigint, 'command' FROM tgt ORDER BY ord
          )`
        : '';
      const consumeInbox = consume
        ? `, c AS (
            UPDATE ${t.inbox} SET consumed = true
            WHERE saga_id = $1 AND seq <= $13::bigint AND NOT consumed AND EXISTS (SELECT 1 FROM u)
          )`
        : '';
      const dropJournal = reset
        ? `, d AS (
            -- New entries are numbered past the old ones, so dropping and inserting in one statement cannot collide.
            DELETE FROM ${t.journal} WHERE saga_id = $1 AND EXISTS (SELECT 1 FROM u)
          )`
        : '';
      return `WITH u AS (
          UPDATE ${t.sagas} SET status = $4, snapshot = $5, due_at = $6::bigint,${release ? ' owner = NULL,' : ''} lease_until = $7::bigint,
            row_version = row_version + 1, updated_at = $8::bigint, history_seq = history_seq + $9::integer,
            journal_seq = journal_seq + $12::integer
          WHERE id = $1 AND row_version = $2::bigint AND owner = $3
          RETURNING id, ${UPDATED_COLUMNS}, history_seq, journal_seq
        ), h AS (
          INSERT INTO ${t.history} (saga_id, seq, at, type, step, attempt, data)
          SELECT u.id, u.history_seq - $9::integer + e.ord, ${HISTORY_FIELDS}
          FROM u, json_array_elements($10::json) WITH ORDINALITY AS e(v, ord)
        )${dropJournal}, j AS (
          INSERT INTO ${t.journal} (saga_id, seq, field, key, value)
          SELECT u.id, u.journal_seq - $12::integer + e.ord, ${JOURNAL_FIELDS}
          FROM u, json_array_elements($11::json) WITH ORDINALITY AS e(v, ord)
        )${consumeInbox}${notifyInbox}
        SELECT ${UPDATED_ROW} FROM u`;
    });
  }

  /**
   * Leases records. `FOR UPDATE SKIP LOCKED` lets many workers claim at once:
   * a row another claim is taking is skipped, never claimed twice (its lock
   * holder's commit makes it no longer free when rechecked).
   * $1 owner, $2 now, $3 lease until, $4 limit, $5 saga names and $6 versions
   * (null: no filter), $7 excluded ids, and with `byId` $8 the id. Only the id
   * makes a variant: the other filters are on columns no index covers.
   */
  claim(dueOnly: boolean, byId: boolean): Prepared {
    const t = this.#t;
    return this.#variant(`claim:${+dueOnly}${+byId}`, () => {
      const where = this.#claimWhere(dueOnly, { owner: '$1', now: '$2', names: '$5', versions: '$6', exclude: '$7', id: byId ? '$8' : null });
      return `WITH picked AS (
          SELECT s.id AS picked_id FROM ${t.sagas} s WHERE ${where}
          ORDER BY s.due_at NULLS LAST, s.id
          LIMIT $4
          FOR UPDATE SKIP LOCKED
        )
        UPDATE ${t.sagas} s SET owner = $1, lease_until = $3::bigint, row_version = s.row_version + 1
        FROM picked WHERE s.id = picked.picked_id
        RETURNING ${recordColumns(t.journal)}`;
    });
  }

  /**
   * The rows {@link claim} would take, locked (`FOR UPDATE SKIP LOCKED`) for
   * the transaction that reads them: the caller looks at each one, then
   * leases only those it accepts with {@link claimAccepted} in the same
   * transaction, so a refused row is not written at all.
   * $1 owner, $2 now, $3 limit, $4 saga names, $5 versions, $6 excluded ids, with `byId` $7 the id.
   */
  claimCandidates(dueOnly: boolean, byId: boolean): Prepared {
    const t = this.#t;
    return this.#variant(`candidates:${+dueOnly}${+byId}`, () => {
      const where = this.#claimWhere(dueOnly, { owner: '$1', now: '$2', names: '$4', versions: '$5', exclude: '$6', id: byId ? '$7' : null });
      return `SELECT ${recordColumns(t.journal)} FROM ${t.sagas} s WHERE ${where}
        ORDER BY s.due_at NULLS LAST, s.id
        LIMIT $3
        FOR UPDATE SKIP LOCKED`;
    });
  }

  /** Leases rows locked by {@link claimCandidates}: $1 owner, $2 lease until, $3 ids. Returns each one's new row version only. */
  get claimAccepted(): Prepared {
    return this.#variant(
      'claim-accepted',
      () => `UPDATE ${this.#t.sagas} s SET owner = $1, lease_until = $2::bigint, row_version = s.row_version + 1
        WHERE s.id = ANY($3::text[]) RETURNING id, row_version AS "rowVersion"`,
    );
  }

  #claimWhere(dueOnly: boolean, p: { owner: string; now: string; names: string; versions: string; exclude: string; id: string | null }): string {
    const due = `(s.due_at <= ${p.now}::bigint OR EXISTS (SELECT 1 FROM ${this.#t.inbox} i WHERE i.saga_id = s.id AND NOT i.consumed))`;
    const where = [
      `s.status IN (${UNFINISHED_SQL})`,
      // A lease with no expiry is treated as expired, so no record can be stuck with an owner forever.
      `(s.owner IS NULL OR s.lease_until IS NULL OR s.lease_until < ${p.now}::bigint OR s.owner = ${p.owner})`,
      // A failed saga waits for an operator: claimed only when something is due for it.
      dueOnly ? due : `(s.status <> '${DUE_ONLY_STATUS}' OR ${due})`,
      `(${p.names}::text[] IS NULL OR s.saga_name = ANY(${p.names}::text[]))`,
      `(${p.versions}::text[] IS NULL OR s.version = ANY(${p.versions}::text[]))`,
      `s.id <> ALL(${p.exclude}::text[])`,
    ];
    if (p.id) where.push(`s.id = ${p.id}`);
    return where.join(' AND ');
  }

  /** Records by filter, most recently updated first. $1 limit, then statuses, then saga name, then parent id. */
  list(byStatus: boolean, byName: boolean, byParent = false): Prepared {
    const t = this.#t;
    return this.#variant(`list:${+byStatus}${+byName}${+byParent}`, () => {
      let next = 2;
      const where: string[] = [];
      if (byStatus) where.push(`status = ANY($${next++}::text[])`);
      if (byName) where.push(`saga_name = $${next++}`);
      if (byParent) where.push(`parent_id = $${next++}`);
      return `SELECT ${recordColumns(t.journal)} FROM ${t.sagas} s ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY updated_at DESC, id LIMIT $1`;
    });
  }

  /** Records per status; $1 a saga name or null for all. */
  get countByStatus(): Prepared {
    return this.#variant('count', () => `SELECT status, count(*) AS n FROM ${this.#t.sagas} WHERE $1::text IS NULL OR saga_name = $1 GROUP BY status`);
  }

  /** Earliest due time among unfinished records; with `byNames`, $1 is the saga names. */
  nextDueAt(byNames: boolean): Prepared {
    const t = this.#t;
    return this.#variant(`next:${+byNames}`, () => {
      const names = byNames ? `AND saga_name = ANY($1::text[])` : '';
      return `SELECT min(due_at) AS "next" FROM ${t.sagas} WHERE status IN (${UNFINISHED_SQL}) ${names}`;
    });
  }

  #variant(key: string, build: () => string): Prepared {
    let statement = this.#variants.get(key);
    if (!statement) {
      statement = prepared(build());
      this.#variants.set(key, statement);
    }
    return statement;
  }
}
