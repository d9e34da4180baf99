import type pg from 'pg';
import { createHash } from 'node:crypto';
import { ACTIVE_SQL, encodeHistory, nonNegativeInteger } from '../encoding.js';
import { inQueueOrder, longestWindowMs, NO_LIMIT, perKeyCap, planPromotion, promotedRecord, PROMOTE_SCAN } from '../queue-plan.js';
import type { HistoryEvent, PromoteRequest, PromoteResult, SagaRecord } from '../types.js';
import { toRecord, type RecordRow } from './rows.js';
import { HISTORY_FIELDS, RECORD_COLUMNS } from './statements.js';

/*
 * PostgresStore's queues. A promotion is one transaction that first takes a
 * transaction-scoped advisory lock on (schema, saga name): promotions of one
 * name are serialized across every process, so the counts each one reads
 * include what the previous one promoted (it committed before releasing the
 * lock). Writes of running sagas take no such lock: a saga that ends only
 * lowers a count, so at worst a promotion admits one too few, and the worker
 * that ended it promotes again right after.
 */

const named = (text: string) => ({ name: `orsa_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text });

/** The queue statements of one schema, and the transactions that use them. */
export class PostgresQueues {
  readonly #lockKey: string;
  readonly #sql;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    const t = { sagas: `"${schema}".sagas`, starts: `"${schema}".queue_starts`, history: `"${schema}".history` };
    this.#lockKey = `orsa.queue:${schema}:`;
    const key = `COALESCE(queue_key, '')`;
    this.#sql = {
      lock: named(`SELECT pg_advisory_xact_lock(hashtext($1))`),
      prune: named(`DELETE FROM ${t.starts} WHERE saga_name = $1 AND at <= $2::bigint`),
      // $1 name, $2 versions (null: any), $3 excluded ids, $4 per-key concurrency, $5/$6 per-key rate window
      // start and starts, $7 rows per key, $8 rows in all. Keys already at a limit give no candidate.
      candidates: named(`SELECT ${RECORD_COLUMNS}, "queueKey" FROM (
          SELECT q.*, row_number() OVER (PARTITION BY q."queueKey" ORDER BY q.prio DESC, q.enqueue_seq, q.id) AS rn FROM (
            SELECT s.*, COALESCE(s.queue_key, '') AS "queueKey", COALESCE(s.priority, 0) AS prio
            FROM ${t.sagas} s
            WHERE s.saga_name = $1 AND s.status = 'queued'
              AND ($2::text[] IS NULL OR s.version = ANY($2::text[]))
              AND s.id <> ALL($3::text[])
              AND COALESCE(s.queue_key, '') NOT IN (SELECT ${key} FROM ${t.sagas}
                WHERE saga_name = $1 AND status IN (${ACTIVE_SQL}) AND enqueue_seq IS NOT NULL GROUP BY 1 HAVING count(*) >= $4::integer)
              AND COALESCE(s.queue_key, '') NOT IN (SELECT ${key} FROM ${t.starts}
                WHERE saga_name = $1 AND at > $5::bigint GROUP BY 1 HAVING count(*) >= $6::integer)
          ) q
        ) s WHERE rn <= $7::integer
        ORDER BY prio DESC, enqueue_seq, id LIMIT $8::integer`),
      queued: named(`SELECT count(*) AS n FROM ${t.sagas} WHERE saga_name = $1 AND status = 'queued'`),
      // Without per-key limits: the head of the queue in index order. $1 name, $2 versions, $3 excluded ids, $4 rows.
      head: named(`SELECT ${RECORD_COLUMNS}, COALESCE(queue_key, '') AS "queueKey", priority AS prio, enqueue_seq AS seq FROM ${t.sagas}
        WHERE saga_name = $1 AND status = 'queued' AND ($2::text[] IS NULL OR version = ANY($2::text[])) AND id <> ALL($3::text[])
        ORDER BY priority DESC NULLS LAST, enqueue_seq LIMIT $4::integer`),
      active: named(`SELECT ${key} AS key, count(*) AS n FROM ${t.sagas} WHERE saga_name = $1 AND status IN (${ACTIVE_SQL}) AND enqueue_seq IS NOT NULL GROUP BY 1`),
      starts: named(`SELECT ${key} AS key, at FROM ${t.starts} WHERE saga_name = $1 AND at > $2::bigint`),
      // $1 ids, $2 owner, $3 lease until, $4 now, $5 name, $6 their keys, $7 whether a rate counts promotions.
      // Candidates are not row-locked (a window function forbids FOR UPDATE): one cancelled meanwhile is
      // simply not updated, and only what was updated is returned and counted.
      promote: named(`WITH u AS (
          UPDATE ${t.sagas} SET status = 'running', owner = $2, lease_until = $3::bigint, due_at = $3::bigint,
            row_version = row_version + 1, updated_at = $4::bigint
          WHERE id = ANY($1::text[]) AND status = 'queued' RETURNING id
        ), i AS (
          INSERT INTO ${t.starts} (saga_name, queue_key, at)
          SELECT $5, x.k, $4::bigint FROM unnest($1::text[], $6::text[]) AS x(id, k) WHERE $7::boolean AND x.id IN (SELECT id FROM u)
        )
        SELECT id FROM u`),
      // $1 id, $2 now, $3 history count, $4 history (JSON array).
      cancel: named(`WITH u AS (
          UPDATE ${t.sagas} SET status = 'cancelled', due_at = NULL, owner = NULL, lease_until = NULL,
            row_version = row_version + 1, updated_at = $2::bigint, history_seq = history_seq + $3::integer
          WHERE id = $1 AND status = 'queued'
          RETURNING ${RECORD_COLUMNS}, history_seq
        ), h AS (
          INSERT INTO ${t.history} (saga_id, seq, at, type, step, attempt, data)
          SELECT u.id, u.history_seq - $3::integer + e.ord, ${HISTORY_FIELDS}
          FROM u, json_array_elements($4::json) WITH ORDINALITY AS e(v, ord)
        )
        SELECT * FROM u`),
    };
  }

  async promote(request: PromoteRequest): Promise<PromoteResult> {
    const { sagaName: name, limits, now } = request;
    const sql = this.#sql;
    const client = await this.pool.connect();
    let broken = false;
    // A checked-out client whose connection drops between queries emits 'error'; unheard, that crashes the process.
    const onError = () => (broken = true);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      await client.query({ ...sql.lock, values: [this.#lockKey + name] });
      const windowMs = longestWindowMs(limits);
      if (windowMs > 0) await client.query({ ...sql.prune, values: [name, now - windowMs] });
      const keyRate = limits.perKey?.rate;
      const scan = Math.min(PROMOTE_SCAN, Math.max(nonNegativeInteger(request.limit), 1) * 10);
      const filters = [name, request.versions ?? null, request.excludeIds ?? []];
      const rows = await client.query<RecordRow & { queueKey: string }>(
        !limits.perKey
          ? { ...sql.head, values: [...filters, scan] }
          : { ...sql.candidates, values: [...filters, limits.perKey.concurrency ?? NO_LIMIT, keyRate ? now - keyRate.perMs : now, keyRate?.starts ?? NO_LIMIT, perKeyCap(limits), scan] },
      );
      const read = limits.perKey ? rows.rows : inQueueOrder(rows.rows as (RecordRow & { queueKey: string; prio: unknown; seq: unknown })[]);
      const candidates = read.map((row) => ({ key: row.queueKey, record: toRecord(row) }));
      const active = await client.query<{ key: string; n: string }>({ ...sql.active, values: [name] });
      const activeByKey = new Map(active.rows.map((row) => [row.key, Number(row.n)]));
      const starts = windowMs > 0 ? (await client.query<{ key: string; at: string }>({ ...sql.starts, values: [name, now - windowMs] })).rows : [];
      const queued = Number((await client.query<{ n: string }>({ ...sql.queued, values: [name] })).rows[0]!.n);
      const { chosen, nextAt } = planPromotion(request, candidates, { activeByKey, starts: starts.map((s) => ({ key: s.key, at: Number(s.at) })), queued });
      let updated = new Set<string>();
      if (chosen.length > 0) {
        const values = [chosen.map((c) => c.record.id), request.owner, request.leaseUntil, now, name, chosen.map((c) => c.key), windowMs > 0];
        updated = new Set((await client.query<{ id: string }>({ ...sql.promote, values })).rows.map((row) => row.id));
      }
      await client.query('COMMIT');
      return { promoted: chosen.filter((c) => updated.has(c.record.id)).map((c) => promotedRecord(c.record, request)), nextAt };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async cancelQueued(id: string, now: number, history: readonly HistoryEvent[]): Promise<SagaRecord | undefined> {
    const encoded = history.map(encodeHistory);
    const result = await this.pool.query<RecordRow>({ ...this.#sql.cancel, values: [id, now, encoded.length, JSON.stringify(encoded)] });
    const row = result.rows[0];
    return row && toRecord(row);
  }
}
