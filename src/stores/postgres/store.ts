import type { ScheduleStore } from '../schedules.js';
import type pg from 'pg';
import { encodeHistory, newStoredRecord, type HistoryRow } from '../encoding.js';
import { requireDriver, type PostgresPool } from '../driver.js';
import { StoreConfigError, StoreNotReadyError } from '../errors.js';
import { assertInboxKind, assertSagaId } from '../input-checks.js';
import { writeBytes, type StoreStats } from '../journal.js';
import { claimAll, claimJudged } from './claims.js';
import { PostgresListener, wakeChannel } from './listener.js';
import { countByStatus, getRecord, listRecords, nextDueAt, readHistory, readInbox, readPendingEvents, type Query } from './reads.js';
import { initSchema } from './schema.js';
import { PostgresSchedules } from './schedules.js';
import { PostgresStatements, type Prepared } from './statements.js';
import { PostgresQueues } from './queue.js';
import { batchStatement, writeBatch, type BatchRow } from './batch.js';
import { dropsJournal, insertValues, releases, updatedRecord, updateValues, type UpdatedRow } from './writes.js';
import {
  StaleRecordError,
  UnknownSagaError,
  type ClaimRequest,
  type HistoryEvent,
  type InboxEvent,
  type InboxKind,
  type ListFilter,
  type NewRecord,
  type PromoteRequest,
  type PromoteResult,
  type RecordPatch,
  type SagaRecord,
  type SagaStatus,
  type SagaStore,
  type StoreWake,
  type StoreWakeError,
  type UpdateOptions,
  type WriteFence,
  type BatchOutcome,
  type BatchWrite,
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
  /**
   * Wake-ups without polling (`subscribe`): a connection of its own, outside the pool, LISTENs for
   * what other processes notify (inbox rows, released sagas). `false`: no subscription, workers only
   * poll. Default `true`.
   */
  listen?: boolean;
}

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
  readonly #queues: PostgresQueues;
  #batch: Prepared | undefined;
  readonly #listener: PostgresListener | null;
  #state: 'uninitialized' | 'open' | 'closed' = 'uninitialized';
  readonly #stats: StoreStats = { bytesWritten: 0, writes: 0, commits: 0 };
  readonly schedules: ScheduleStore;

  /** What this store has written so far (not part of the SagaStore contract; benches read it). */
  stats(): StoreStats {
    return { ...this.#stats };
  }

  /** `commits` 0: a write of a group commit, whose one commit is counted apart. */
  #count(snapshot: string, journal: Parameters<typeof writeBytes>[1], history: readonly HistoryRow[], commits = 1): void {
    this.#stats.writes++;
    this.#stats.commits += commits;
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
    this.schedules = new PostgresSchedules(`"${schema}"`, (statement, values) => this.#query(statement, values));
    this.#ownsPool = !options.pool;
    this.#pool = (options.pool as pg.Pool | undefined) ?? new (requireDriver<typeof pg>('pg', 'PostgresStore').Pool)({ connectionString: options.connectionString });
    this.#queues = new PostgresQueues(this.#pool, schema);
    const Client = requireDriver<typeof pg>('pg', 'PostgresStore').Client;
    // The listener connects as the pool does (a given pool's own settings), on a connection of its own.
    const clientConfig: pg.ClientConfig = options.pool ? { ...((options.pool as pg.Pool).options ?? {}) } : { connectionString: options.connectionString };
    this.#listener = options.listen === false ? null : new PostgresListener(() => new Client(clientConfig), wakeChannel(schema));
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
    await initSchema(this.#pool, this.#schema);
    this.#state = 'open';
  }

  async insert(
    record: NewRecord,
    history: readonly HistoryEvent[],
  ): Promise<{ inserted: boolean; record: SagaRecord }> {
    assertSagaId(record.id);
    const encoded = history.map(encodeHistory);
    const rows = await this.#query<{ id: string }>(this.#sql.insert, insertValues(record, encoded));
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
    const notify = options.notify ?? [];
    const encoded = history.map(encodeHistory);
    const values = updateValues(id, fence, patch, encoded, options);
    // Read now: the caller's fence object may change while the write is on its way.
    const written = { rowVersion: fence.rowVersion, owner: fence.owner };
    const statement = this.#sql.update(options.consumedInboxSeq !== undefined, notify.length > 0, dropsJournal(patch), releases(patch));
    const [row] = await this.#query<UpdatedRow>(statement, values);
    if (!row) throw new StaleRecordError(id);
    this.#count(patch.snapshot, patch.journal?.entries, encoded);
    return updatedRecord(id, written, row, patch, options.now);
  }

  /** Group commit: every write in one statement (src/stores/postgres/batch.ts), each fenced on its own. */
  async writeBatch(writes: readonly BatchWrite[]): Promise<BatchOutcome[]> {
    this.#ready();
    return writeBatch(
      {
        statement: (this.#batch ??= batchStatement(`"${this.#schema}"`)),
        query: (statement, values) => this.#query<BatchRow>(statement, values),
        get: (id) => this.get(id),
        count: (snapshot, journal, history) => this.#count(snapshot, journal, history, 0),
        commit: () => void this.#stats.commits++,
      },
      writes,
    );
  }

  async get(id: string): Promise<SagaRecord | undefined> {
    return getRecord(this.#read, this.#sql, id);
  }

  async list(filter?: ListFilter): Promise<SagaRecord[]> {
    return listRecords(this.#read, this.#sql, filter);
  }

  async history(id: string): Promise<HistoryEvent[]> {
    return readHistory(this.#read, this.#sql, id);
  }

  async claim(request: ClaimRequest): Promise<SagaRecord[]> {
    this.#ready();
    return request.accept ? claimJudged(this.#pool, this.#sql, request, request.accept) : claimAll(this.#pool, this.#sql, request);
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
    return readInbox(this.#read, this.#sql, sagaId);
  }

  async pendingEvents(sagaIds: readonly string[]): Promise<InboxEvent[]> {
    if (sagaIds.length === 0) {
      this.#ready();
      return [];
    }
    return readPendingEvents(this.#read, this.#sql, sagaIds);
  }

  async countByStatus(sagaName?: string): Promise<Partial<Record<SagaStatus, number>>> {
    return countByStatus(this.#read, this.#sql, sagaName);
  }

  async nextDueAt(sagaNames?: readonly string[]): Promise<number | null> {
    return nextDueAt(this.#read, this.#sql, sagaNames);
  }

  async promote(request: PromoteRequest): Promise<PromoteResult> {
    this.#ready();
    return this.#queues.promote(request);
  }

  async cancelQueued(id: string, now: number, history: readonly HistoryEvent[]): Promise<SagaRecord | undefined> {
    this.#ready();
    assertSagaId(id);
    return this.#queues.cancelQueued(id, now, history);
  }

  /**
   * Wake-ups through LISTEN/NOTIFY (see `SagaStore.subscribe`); absent with `listen: false`. The schema's
   * triggers notify in the transaction of the write, so a wake-up is heard only once the write committed.
   */
  get subscribe(): ((onWake: (wake: StoreWake) => void, onError?: StoreWakeError) => Promise<() => Promise<void>>) | undefined {
    const listener = this.#listener;
    if (!listener) return undefined;
    return (onWake, onError) => {
      this.#ready();
      return listener.subscribe(onWake, onError);
    };
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    await this.#listener?.close();
    if (this.#ownsPool) await this.#pool.end();
  }

  #ready(): void {
    if (this.#state !== 'open') throw new StoreNotReadyError('PostgresStore', this.#state);
  }

  /** {@link #query} as a value, for the read functions (src/stores/postgres/reads.ts). */
  readonly #read: Query = (statement, values) => this.#query(statement, values);

  async #query<R extends object = object>(statement: Prepared, values: unknown[]): Promise<R[]> {
    this.#ready();
    const result = await this.#pool.query<R>({ name: statement.name, text: statement.text, values });
    return result.rows;
  }
}
