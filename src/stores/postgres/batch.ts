import { encodeHistory, newStoredRecord, type HistoryRow } from '../encoding.js';
import { assertSagaId } from '../input-checks.js';
import { journalRow } from '../journal.js';
import { StaleRecordError, type BatchOutcome, type BatchWrite, type JournalEntry, type SagaRecord } from '../types.js';
import { HISTORY_FIELDS, JOURNAL_FIELDS, prepared, type Prepared } from './statements.js';

/*
 * PostgresStore's group commit: the writes of many sagas in one statement,
 * so one round trip and one commit. Each update is fenced on its own row
 * version and owner inside the statement: a refused one writes nothing (its
 * history, journal and inbox CTEs join the rows the update returned), the
 * others commit.
 */

/**
 * The batch statement of one schema (already quoted). $1: the updates, $2:
 * the inserts, each a JSON array of objects (see {@link writeBatch}). Rows
 * come back for the updates that passed their fence and the inserts that
 * were new.
 */
export function batchStatement(schema: string): Prepared {
  const t = { sagas: `${schema}.sagas`, history: `${schema}.history`, inbox: `${schema}.inbox`, journal: `${schema}.journal` };
  return prepared(`WITH x AS MATERIALIZED (
      SELECT * FROM json_to_recordset($1::json) AS x(id text, rv bigint, owner text, status text, snapshot text,
        due bigint, lease bigint, now bigint, hn integer, h json, jn integer, j json, reset boolean, seq bigint)
    ), l AS MATERIALIZED (
      -- Rows are locked in id order (whatever plan the update gets), as renew locks them: two statements that lock
      -- several of a worker's sagas cannot deadlock.
      SELECT s.id FROM ${t.sagas} s WHERE s.id IN (SELECT x.id FROM x) ORDER BY s.id FOR NO KEY UPDATE
    ), u AS (
      UPDATE ${t.sagas} s SET status = x.status, snapshot = x.snapshot, due_at = x.due,
        owner = CASE WHEN x.lease IS NULL THEN NULL ELSE s.owner END, lease_until = x.lease,
        row_version = s.row_version + 1, updated_at = x.now, history_seq = s.history_seq + x.hn,
        journal_seq = s.journal_seq + x.jn
      FROM x JOIN l ON l.id = x.id WHERE s.id = x.id AND s.row_version = x.rv AND s.owner = x.owner
      RETURNING s.id, s.saga_name, s.version, s.owner, s.row_version, s.created_at, s.parent_id, s.history_seq, s.journal_seq
    ), h AS (
      INSERT INTO ${t.history} (saga_id, seq, at, type, step, attempt, data)
      SELECT u.id, u.history_seq - x.hn + e.ord, ${HISTORY_FIELDS}
      FROM u JOIN x ON x.id = u.id, json_array_elements(x.h) WITH ORDINALITY AS e(v, ord)
    ), d AS (
      -- New entries are numbered past the old ones, so dropping and inserting in one statement cannot collide.
      DELETE FROM ${t.journal} o USING x WHERE o.saga_id = x.id AND x.reset AND EXISTS (SELECT 1 FROM u WHERE u.id = x.id)
    ), j AS (
      INSERT INTO ${t.journal} (saga_id, seq, field, key, value)
      SELECT u.id, u.journal_seq - x.jn + e.ord, ${JOURNAL_FIELDS}
      FROM u JOIN x ON x.id = u.id, json_array_elements(x.j) WITH ORDINALITY AS e(v, ord)
    ), c AS (
      UPDATE ${t.inbox} i SET consumed = true FROM x
      WHERE i.saga_id = x.id AND x.seq IS NOT NULL AND i.seq <= x.seq AND NOT i.consumed AND EXISTS (SELECT 1 FROM u WHERE u.id = x.id)
    ), y AS MATERIALIZED (
      SELECT * FROM json_to_recordset($2::json) AS y(id text, name text, version text, status text, snapshot text,
        due bigint, owner text, lease bigint, now bigint, hn integer, h json, jn integer, j json)
    ), s AS (
      INSERT INTO ${t.sagas} (id, saga_name, version, status, snapshot, due_at, owner, lease_until,
        row_version, history_seq, journal_seq, created_at, updated_at)
      SELECT id, name, version, status, snapshot, due, owner, lease, 1, hn, jn, now, now FROM y ORDER BY id
      ON CONFLICT (id) DO NOTHING
      RETURNING id
    ), sh AS (
      INSERT INTO ${t.history} (saga_id, seq, at, type, step, attempt, data)
      SELECT s.id, e.ord, ${HISTORY_FIELDS} FROM s JOIN y ON y.id = s.id, json_array_elements(y.h) WITH ORDINALITY AS e(v, ord)
    ), sj AS (
      INSERT INTO ${t.journal} (saga_id, seq, field, key, value)
      SELECT s.id, e.ord, ${JOURNAL_FIELDS} FROM s JOIN y ON y.id = s.id, json_array_elements(y.j) WITH ORDINALITY AS e(v, ord)
    )
    SELECT id, saga_name AS "sagaName", version, owner, row_version AS "rowVersion", created_at AS "createdAt", parent_id AS "parentId" FROM u
    UNION ALL SELECT id, NULL, NULL, NULL, NULL, NULL, NULL FROM s`);
}

/** A row of the batch statement: an update's record columns, or (all null but id) a new insert. */
export interface BatchRow {
  id: string;
  sagaName: string | null;
  version: string | null;
  owner: string | null;
  rowVersion: string | null;
  createdAt: string | null;
  parentId: string | null;
}

/** What the store lends a batch: its statement runner, a read of one record, and its write accounting. */
export interface BatchDeps {
  statement: Prepared;
  query: (statement: Prepared, values: unknown[]) => Promise<BatchRow[]>;
  get: (id: string) => Promise<SagaRecord | undefined>;
  /** Counts one written item (its bytes); `commit` once per batch. */
  count: (snapshot: string, journal: readonly JournalEntry[] | undefined, history: readonly HistoryRow[]) => void;
  commit: () => void;
}

/**
 * Writes a group commit (see `SagaStore.writeBatch`). Writes whose own input
 * is refused (an invalid id, history that cannot be encoded) fail before the
 * statement and are left out of it.
 */
export async function writeBatch(deps: BatchDeps, writes: readonly BatchWrite[]): Promise<BatchOutcome[]> {
  const outcomes: (BatchOutcome | undefined)[] = new Array(writes.length);
  const history: (HistoryRow[] | undefined)[] = new Array(writes.length);
  const updates: object[] = [];
  const inserts: object[] = [];
  // In id order (the statement locks rows in the database's id order itself).
  const order = writes.map((_, i) => i).sort((a, b) => compare(idOf(writes[a]!), idOf(writes[b]!)));
  for (const i of order) {
    const w = writes[i]!;
    try {
      const rows = w.history.map(encodeHistory);
      history[i] = rows;
      if (w.kind === 'insert') {
        assertSagaId(w.record.id);
        const r = w.record;
        const journal = r.journal ?? [];
        inserts.push({ id: r.id, name: r.sagaName, version: r.version, status: r.status, snapshot: r.snapshot, due: r.dueAt, owner: r.owner, lease: r.leaseUntil, now: r.now, hn: rows.length, h: rows, jn: journal.length, j: journal.map(journalRow) });
      } else {
        const entries = w.patch.journal?.entries ?? [];
        updates.push({
          id: w.id, rv: w.fence.rowVersion, owner: w.fence.owner, status: w.patch.status, snapshot: w.patch.snapshot, due: w.patch.dueAt,
          lease: w.patch.leaseUntil, now: w.options.now, hn: rows.length, h: rows, jn: entries.length, j: entries.map(journalRow),
          // No journal: the snapshot is whole, so older entries would be applied twice. A reset resends them all.
          reset: !w.patch.journal || w.patch.journal.reset === true, seq: w.options.consumedInboxSeq ?? null,
        });
      }
    } catch (error) {
      outcomes[i] = { ok: false, error };
    }
  }
  const rows = await deps.query(deps.statement, [JSON.stringify(updates), JSON.stringify(inserts)]);
  deps.commit();
  const written = new Map(rows.map((row) => [row.id, row]));
  for (const [i, w] of writes.entries()) {
    if (outcomes[i]) continue;
    const row = written.get(idOf(w));
    if (w.kind === 'update') {
      if (!row) {
        outcomes[i] = { ok: false, error: new StaleRecordError(w.id) };
        continue;
      }
      deps.count(w.patch.snapshot, w.patch.journal?.entries, history[i]!);
      const { patch } = w;
      outcomes[i] = {
        ok: true,
        record: {
          id: w.id, sagaName: row.sagaName!, version: row.version!, status: patch.status, snapshot: patch.snapshot, dueAt: patch.dueAt, owner: row.owner,
          leaseUntil: patch.leaseUntil ?? null, rowVersion: Number(row.rowVersion), createdAt: Number(row.createdAt), updatedAt: w.options.now,
          // Absent, not null, on a saga started on its own (SagaRecord.parentId), as update gives it.
          ...(row.parentId ? { parentId: row.parentId } : {}),
        },
      };
    } else if (row) {
      deps.count(w.record.snapshot, w.record.journal, history[i]!);
      outcomes[i] = { ok: true, inserted: true, record: newStoredRecord(w.record) };
    } else {
      // Another insert of this id committed first (ON CONFLICT waited for it), so it is visible now.
      const existing = await deps.get(w.record.id).catch((error: unknown) => error);
      outcomes[i] = existing === undefined ? { ok: false, error: new StaleRecordError(w.record.id) }
        : existing instanceof Error ? { ok: false, error: existing } : { ok: true, inserted: false, record: existing as SagaRecord };
    }
  }
  return outcomes as BatchOutcome[];
}

const idOf = (w: BatchWrite): string => (w.kind === 'insert' ? w.record.id : w.id);
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
