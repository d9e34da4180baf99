import type pg from 'pg';
import {
  claimOrder,
  decodeHistory,
  encodeHistory,
  listLimit,
  listStatuses,
  nonNegativeInteger,
  newStoredRecord,
  type HistoryRow,
} from '../encoding.js';
import { requireDriver, type PostgresPool } from '../driver.js';
import { StoreConfigError, StoreNotReadyError } from '../errors.js';
import { assertInboxKind, assertSagaId } from '../input-checks.js';
import { assembleSnapshot, journalRow, writeBytes, type JournalRow, type StoreStats } from '../journal.js';
import { pendingMigrations } from '../migrations.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { PostgresStatements, type Prepared } from './statements.js';
import {
  StaleRecordError,
  UnknownSagaError,
  type ClaimRequest,
  type HistoryEvent,
  type InboxEvent,
  type InboxKind,
  type ListFilter,
  type NewRecord,
  type RecordPatch,
  type SagaRecord,
  type SagaStatus,
  type SagaStore,
  type UpdateOptions,
  type WriteFence,
} from '../types.js';

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /** A pool to use; `close()` leaves it open. Default: a pool of the store's own, which `close()` ends. */
  pool?: PostgresPool;
  /**
   * Where the store's own pool connects, e.g. `postgresql://user@host:5432/db`.
   * Ignored when `pool` is given. Default: pg's `PG*` environment variables.
   */
  connectionString?: string;
  /** PostgreSQL schema that holds orsa's tables; created by `init()`. Default `'orsa'`. */
  schema?: string;
}

/** A record as pg returns it: bigint columns arrive as strings. */
type RecordRow = Omit<SagaRecord, 'dueAt' | 'leaseUntil' | 'rowVersion' | 'createdAt' | 'updatedAt' | 'snapshot' | 'parentId'> & {
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
type InboxRow = Omit<InboxEvent, 'seq' | 'at'> & { seq: string; at: string };

/**
 * A {@link SagaStore} in PostgreSQL, through `pg`: for many worker processes
 * sharing one database. Every write is one statement, so one round trip and
 * one commit; statements are prepared once per connection. Claims use
 * `FOR UPDATE SKIP LOCKED`, so workers claim concurrently without waiting on
 * each other or taking the same record.
 *
 * @example
 * ```ts
 * import { PostgresStore } from 'orsa/postgres';
 *
 * const store = new PostgresStore({ connectionString: process.env.DATABASE_URL });
 * await store.init(); // creates schema "orsa" and its tables, or migrates them
 * const failed = await store.list({ status: 'failed' });
 * await store.close();
 * ```
 */
export class PostgresStore implements SagaStore {
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #schema: string;
  readonly #sql: PostgresStatements;
  #state: 'uninitialized' | 'open' | 'closed' = 'uninitialized';
  readonly #stats: StoreStats = { bytesWritten: 0, writes: 0 };

  /** What this store has written so far (not part of the SagaStore contract; benches read it). */
  stats(): StoreStats {
    return { ...this.#stats };
  }

  #count(snapshot: string, journal: Parameters<typeof writeBytes>[1], history: readonly HistoryRow[]): void {
    this.#stats.writes++;
    this.#stats.bytesWritten += writeBytes(snapshot, journal, history);
  }

  constructor(options: PostgresStoreOptions = {}) {
    const schema = options.schema ?? 'orsa';
    // Plain identifiers only: the name is spliced into SQL and must mean the same unquoted in psql.
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new StoreConfigError(
        `PostgresStore: schema ${JSON.stringify(schema)} is not a plain lower-case identifier; use letters a-z, digits and _ (at most 63 characters)`,
      );
    }
    this.#schema = schema;
    this.#sql = new PostgresStatements(`"${schema}"`);
    this.#ownsPool = !options.pool;
    this.#pool = (options.pool as pg.Pool | undefined) ?? new (requireDriver<typeof pg>('pg', 'PostgresStore').Pool)({ connectionString: options.connectionString });
    if (this.#ownsPool) {
      // An idle connection the server dropped: the pool replaces it on next use. Unlistened, this
      // event would crash the process.
      this.#pool.on('error', () => {});
      // A checked-out client whose server connection ends between two of its queries emits 'error' (pg 8),
      // with nobody listening: that would crash the process too. The queries themselves still reject.
      this.#pool.on('connect', (client) => client.on('error', () => {}));
    }
  }

  async init(): Promise<void> {
    if (this.#state === 'closed') throw new StoreNotReadyError('PostgresStore', 'closed');
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      // Serializes concurrent inits (of every process) on this schema; released at commit.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`orsa.migrations:${this.#schema}`]);
      await this.#migrate(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
    this.#state = 'open';
  }

  async insert(
    record: NewRecord,
    history: readonly HistoryEvent[],
  ): Promise<{ inserted: boolean; record: SagaRecord }> {
    assertSagaId(record.id);
    const encoded = history.map(encodeHistory);
    const journal = record.journal ?? [];
    const rows = await this.#query<{ id: string }>(this.#sql.insert, [
      record.id,
      record.sagaName,
      record.version,
      record.status,
      record.snapshot,
      record.dueAt,
      record.owner,
      record.leaseUntil,
      history.length,
      record.now,
      JSON.stringify(encoded),
      JSON.stringify(journal.map(journalRow)),
      journal.length,
      record.parentId ?? null,
    ]);
    if (rows.length === 0) {
      // Another insert of this id committed first (ON CONFLICT waited for it), so it is visible now.
      const existing = await this.get(record.id);
      if (!existing) throw new StaleRecordError(record.id);
      return { inserted: false, record: existing };
    }
    this.#count(record.snapshot, record.journal, encoded);
    const stored = newStoredRecord(record);
    return { inserted: true, record: stored };
  }

  async update(
    id: string,
    fence: WriteFence,
    patch: RecordPatch,
    history: readonly HistoryEvent[],
    options: UpdateOptions,
  ): Promise<SagaRecord> {
    const consume = options.consumedInboxSeq !== undefined;
    const notify = options.notify ?? [];
    const encoded = history.map(encodeHistory);
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
      history.length,
      JSON.stringify(encoded),
      JSON.stringify(entries.map(journalRow)),
      entries.length,
      // No journal: the snapshot is whole, so older entries would be applied twice. A reset resends them all.
      !patch.journal || patch.journal.reset === true,
    ];
    if (consume) values.push(options.consumedInboxSeq);
    if (notify.length > 0) values.push(JSON.stringify(notify.map((n) => [n.sagaId, n.name, n.payload])));
    const [row] = await this.#query<Pick<RecordRow, 'id' | 'sagaName' | 'version' | 'owner' | 'rowVersion' | 'createdAt' | 'parentId'>>(
      this.#sql.update(consume, notify.length > 0),
      values,
    );
    if (!row) throw new StaleRecordError(id);
    this.#count(patch.snapshot, patch.journal?.entries, encoded);
    return {
      id,
      sagaName: row.sagaName,
      version: row.version,
      status: patch.status,
      snapshot: patch.snapshot,
      dueAt: patch.dueAt,
      owner: row.owner,
      leaseUntil: patch.leaseUntil,
      rowVersion: Number(row.rowVersion),
      createdAt: Number(row.createdAt),
      updatedAt: options.now,
      ...(row.parentId ? { parentId: row.parentId } : {}),
    };
  }

  async get(id: string): Promise<SagaRecord | undefined> {
    const [row] = await this.#query<RecordRow>(this.#sql.get, [id]);
    return row && toRecord(row);
  }

  async list(filter?: ListFilter): Promise<SagaRecord[]> {
    const statuses = listStatuses(filter);
    const sagaName = filter?.sagaName;
    const parentId = filter?.parentId;
    const values: unknown[] = [listLimit(filter)];
    if (statuses) values.push(statuses);
    if (sagaName !== undefined) values.push(sagaName);
    if (parentId !== undefined) values.push(parentId);
    const rows = await this.#query<RecordRow>(this.#sql.list(statuses !== undefined, sagaName !== undefined, parentId !== undefined), values);
    return rows.map((row) => toRecord(row));
  }

  async history(id: string): Promise<HistoryEvent[]> {
    const rows = await this.#query<Omit<HistoryRow, 'at'> & { seq: number; at: string }>(this.#sql.history, [id]);
    return rows.map((row) => decodeHistory(row.seq, { ...row, at: Number(row.at) }));
  }

  async claim(request: ClaimRequest): Promise<SagaRecord[]> {
    const { id } = request;
    if (request.accept) return this.#claimAccepted(request, request.accept);
    const values: unknown[] = [
      request.owner,
      request.now,
      request.leaseUntil,
      nonNegativeInteger(request.limit),
      request.sagaNames ?? null,
      request.versions ?? null,
      request.excludeIds ?? [],
    ];
    if (id !== undefined) values.push(id);
    const statement = this.#sql.claim(request.dueOnly === true, id !== undefined);
    const rows = await this.#query<RecordRow>(statement, values);
    // RETURNING follows no order; give back what was claimed in the order it was picked.
    return rows.map((row) => toRecord(row)).sort(claimOrder);
  }

  /** Claim with a look first: candidates are locked, judged, and only the accepted ones leased, in one transaction. */
  async #claimAccepted(request: ClaimRequest, accept: (record: SagaRecord) => boolean): Promise<SagaRecord[]> {
    this.#ready();
    const { id } = request;
    const values: unknown[] = [
      request.owner,
      request.now,
      nonNegativeInteger(request.limit),
      request.sagaNames ?? null,
      request.versions ?? null,
      request.excludeIds ?? [],
    ];
    if (id !== undefined) values.push(id);
    const client = await this.#pool.connect();
    let broken = false;
    // A checked-out client whose connection drops between queries emits 'error'; unheard, that crashes the process.
    const onError = () => (broken = true);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const candidates = await client.query<RecordRow>({ ...this.#sql.claimCandidates(request.dueOnly === true, id !== undefined), values });
      const accepted = candidates.rows.map((row) => toRecord(row)).filter((record) => accept(record));
      let claimed: SagaRecord[] = [];
      if (accepted.length > 0) {
        const rows = await client.query<RecordRow>({ ...this.#sql.claimAccepted, values: [request.owner, request.leaseUntil, accepted.map((r) => r.id)] });
        claimed = rows.rows.map((row) => toRecord(row)).sort(claimOrder);
      }
      await client.query('COMMIT');
      return claimed;
    } catch (error) {
      // A connection that cannot even roll back is dropped from the pool rather than reused.
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async renew(owner: string, ids: readonly string[], leaseUntil: number, now: number): Promise<string[]> {
    const rows = await this.#query<{ id: string }>(this.#sql.renew, [owner, [...ids], leaseUntil, now]);
    const held = new Set(rows.map((row) => row.id));
    return [...new Set(ids)].filter((id) => held.has(id));
  }

  async release(id: string, owner: string): Promise<void> {
    await this.#query(this.#sql.release, [id, owner]);
  }

  async sendEvent(sagaId: string, name: string, payload: string, at: number, kind: InboxKind = 'event'): Promise<InboxEvent> {
    assertSagaId(sagaId);
    assertInboxKind(kind);
    const [row] = await this.#query<{ seq: string }>(this.#sql.sendEvent, [sagaId, name, payload, at, kind]);
    if (!row) throw new UnknownSagaError(sagaId);
    return { seq: Number(row.seq), sagaId, kind, name, payload, at };
  }

  async inbox(sagaId: string): Promise<InboxEvent[]> {
    const rows = await this.#query<InboxRow>(this.#sql.inbox, [sagaId]);
    return rows.map(toInboxEvent);
  }

  async pendingEvents(sagaIds: readonly string[]): Promise<InboxEvent[]> {
    if (sagaIds.length === 0) {
      this.#ready();
      return [];
    }
    const rows = await this.#query<InboxRow>(this.#sql.pendingEvents, [sagaIds]);
    return rows.map(toInboxEvent);
  }

  async countByStatus(sagaName?: string): Promise<Partial<Record<SagaStatus, number>>> {
    const rows = await this.#query<{ status: SagaStatus; n: string }>(this.#sql.countByStatus, [sagaName ?? null]);
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
  }

  async nextDueAt(sagaNames?: readonly string[]): Promise<number | null> {
    const byNames = sagaNames !== undefined;
    const [row] = await this.#query<{ next: string | null }>(this.#sql.nextDueAt(byNames), byNames ? [sagaNames] : []);
    return row?.next == null ? null : Number(row.next);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#ownsPool) await this.#pool.end();
  }

  #ready(): void {
    if (this.#state !== 'open') throw new StoreNotReadyError('PostgresStore', this.#state);
  }

  async #query<R extends object = object>(statement: Prepared, values: unknown[]): Promise<R[]> {
    this.#ready();
    const result = await this.#pool.query<R>({ name: statement.name, text: statement.text, values });
    return result.rows;
  }

  /**
   * Creates what is missing and applies pending migrations. Existence is
   * checked before each CREATE because CREATE … IF NOT EXISTS still demands
   * the CREATE privilege: a role with plain read/write rights can then init
   * a schema that an administrator migrated.
   */
  async #migrate(client: pg.PoolClient): Promise<void> {
    const q = `"${this.#schema}"`;
    const found = await client.query<{ hasSchema: boolean; hasTable: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS "hasSchema", to_regclass($2) IS NOT NULL AS "hasTable"`,
      [this.#schema, `${q}.orsa_migrations`],
    );
    const { hasSchema, hasTable } = found.rows[0]!;
    if (!hasSchema) await client.query(`CREATE SCHEMA ${q}`);
    if (!hasTable) {
      await client.query(`CREATE TABLE ${q}.orsa_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    }
    const applied = await client.query<{ version: number }>(`SELECT version FROM ${q}.orsa_migrations`);
    const versions = applied.rows.map((row) => row.version);
    for (const migration of pendingMigrations(POSTGRES_MIGRATIONS, versions, `PostgreSQL schema ${q}`)) {
      for (const statement of migration.up) await client.query(statement.replaceAll('{schema}', q));
      await client.query(`INSERT INTO ${q}.orsa_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
    }
  }
}

function toRecord(row: RecordRow, snapshot?: string): SagaRecord {
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

function toInboxEvent(row: InboxRow): InboxEvent {
  return { ...row, seq: Number(row.seq), at: Number(row.at) };
}
