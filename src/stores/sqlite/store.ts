import type { ScheduleStore } from '../schedules.js';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { requireDriver, type SqliteDatabase } from '../driver.js';
import { decodeHistory, listLimit, listStatuses, nonNegativeInteger } from '../encoding.js';
import { StoreConfigError, StoreNotReadyError } from '../errors.js';
import { assertInboxKind, assertSagaId } from '../input-checks.js';
import type { StoreStats } from '../journal.js';
import { listVariant, prepareStatements, type SqliteStatements } from './statements.js';
import { SqliteSchedules } from './schedules.js';
import { assembled, migrate, transactions, type Transactions } from './transactions.js';
import { prepareQueueStatements, queueTransactions, type QueueTransactions } from './queue.js';
import {
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
  type UpdateOptions,
  type WriteFence,
  type BatchOutcome,
  type BatchWrite,
} from '../types.js';

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * Database file; its directory is created when missing. Ignored when
   * `database` is given. `':memory:'` gives a private in-memory database.
   * Default `'.orsa/orsa.db'` (relative to the working directory).
   */
  path?: string;
  /**
   * An open better-sqlite3 connection to use instead of opening `path`; the
   * store's tables (all prefixed `orsa_`) live beside the application's.
   * `close()` leaves it open. The pragmas below are applied to it.
   */
  database?: SqliteDatabase;
  /**
   * `PRAGMA synchronous`. `'FULL'` syncs the WAL on every commit, so a
   * committed step survives a power loss; `'NORMAL'` survives a process crash
   * only, and commits about four times faster. Default `'FULL'`.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * How long a write waits for another process's write to finish before it
   * fails with `SQLITE_BUSY`, in milliseconds. Default `5000`.
   */
  busyTimeoutMs?: number;
}

/**
 * A {@link SagaStore} in one SQLite file (WAL mode), through better-sqlite3:
 * the embedded default. Several processes may share the file; every write is
 * one `BEGIN IMMEDIATE` transaction, so writers queue (up to `busyTimeoutMs`)
 * instead of failing half-way.
 *
 * @example
 * ```ts
 * import { SqliteStore } from 'orsa/sqlite';
 *
 * const store = new SqliteStore({ path: 'data/sagas.db' });
 * await store.init();
 * const running = await store.list({ status: 'running' });
 * await store.close();
 * ```
 */
export class SqliteStore implements SagaStore {
  readonly #options: SqliteStoreOptions;
  #db: Database.Database | undefined;
  #statements: SqliteStatements | undefined;
  #transactions: Transactions | undefined;
  #queues: QueueTransactions | undefined;
  #closed = false;
  readonly #stats: StoreStats = { bytesWritten: 0, writes: 0, commits: 0 };
  readonly schedules: ScheduleStore = new SqliteSchedules(() => {
    this.#s();
    return this.#db!;
  });

  /** What this store has written so far (not part of the SagaStore contract; benches read it). */
  stats(): StoreStats {
    return { ...this.#stats };
  }

  constructor(options: SqliteStoreOptions = {}) {
    const synchronous = options.synchronous ?? 'FULL';
    if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
      throw new StoreConfigError(`SqliteStore: synchronous must be 'FULL' or 'NORMAL', not ${JSON.stringify(synchronous)}`);
    }
    this.#options = options;
  }

  async init(): Promise<void> {
    if (this.#closed) throw new StoreNotReadyError('SqliteStore', 'closed');
    if (this.#statements) return;
    const db = this.#db ?? this.#open();
    this.#db = db;
    db.pragma(`busy_timeout = ${nonNegativeInteger(this.#options.busyTimeoutMs ?? 5000)}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${this.#options.synchronous ?? 'FULL'}`);
    migrate(db);
    const s = prepareStatements(db);
    const q = prepareQueueStatements(db);
    this.#statements = s;
    this.#transactions = transactions(db, s, q);
    this.#queues = queueTransactions(db, s, q);
  }

  async insert(
    record: NewRecord,
    history: readonly HistoryEvent[],
  ): Promise<{ inserted: boolean; record: SagaRecord }> {
    assertSagaId(record.id);
    const { inserted, record: stored, bytes } = this.#tx().insert(record, history);
    if (inserted) this.#count(bytes);
    return { inserted, record: stored };
  }

  async update(
    id: string,
    fence: WriteFence,
    patch: RecordPatch,
    history: readonly HistoryEvent[],
    options: UpdateOptions,
  ): Promise<SagaRecord> {
    const { record, bytes } = this.#tx().update(id, fence, patch, history, options);
    this.#count(bytes);
    return record;
  }

  async writeBatch(writes: readonly BatchWrite[]): Promise<BatchOutcome[]> {
    const { outcomes, bytes } = this.#tx().batch(writes);
    this.#stats.commits++;
    outcomes.forEach((outcome, i) => {
      if (outcome.ok && outcome.inserted !== false) this.#count(bytes[i]!, 0);
    });
    return outcomes;
  }

  async get(id: string): Promise<SagaRecord | undefined> {
    const s = this.#s();
    const record = s.get.get(id);
    return record && assembled(s, record);
  }

  async list(filter?: ListFilter): Promise<SagaRecord[]> {
    const statuses = listStatuses(filter);
    const sagaName = filter?.sagaName;
    const parentId = filter?.parentId;
    const statement = this.#s().list.get(listVariant(statuses !== undefined, sagaName !== undefined, parentId !== undefined));
    const records = statement!.all({ statuses: JSON.stringify(statuses ?? []), sagaName, parentId, limit: listLimit(filter) });
    return records.map((record) => assembled(this.#s(), record));
  }

  async history(id: string): Promise<HistoryEvent[]> {
    return this.#s().history.all(id).map((row) => decodeHistory(row.seq, row));
  }

  async claim(request: ClaimRequest): Promise<SagaRecord[]> {
    return this.#tx().claim(request);
  }

  async renew(owner: string, ids: readonly string[], leaseUntil: number, now: number): Promise<string[]> {
    return this.#tx().renew(owner, ids, leaseUntil, now);
  }

  async release(id: string, owner: string): Promise<void> {
    const s = this.#s();
    this.#db!.transaction(() => s.release.run({ id, owner })).immediate();
  }

  async sendEvent(sagaId: string, name: string, payload: string, at: number, kind: InboxKind = 'event'): Promise<InboxEvent> {
    const s = this.#s();
    assertSagaId(sagaId);
    assertInboxKind(kind);
    const seq = this.#db!.transaction(() => s.sendEvent.get({ sagaId, kind, name, payload, at })).immediate();
    if (seq === undefined) throw new UnknownSagaError(sagaId);
    return { seq, sagaId, kind, name, payload, at };
  }

  async inbox(sagaId: string): Promise<InboxEvent[]> {
    return this.#s().inbox.all(sagaId);
  }

  async pendingEvents(sagaIds: readonly string[]): Promise<InboxEvent[]> {
    const s = this.#s();
    return sagaIds.length === 0 ? [] : s.pendingEvents.all(JSON.stringify(sagaIds));
  }

  async countByStatus(sagaName?: string): Promise<Partial<Record<SagaStatus, number>>> {
    const rows = this.#s().countByStatus.all({ sagaName: sagaName ?? null });
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  async nextDueAt(sagaNames?: readonly string[]): Promise<number | null> {
    const statement = this.#s().nextDueAt.get(sagaNames !== undefined);
    return statement!.get({ names: JSON.stringify(sagaNames ?? []) }) ?? null;
  }

  async promote(request: PromoteRequest): Promise<PromoteResult> {
    this.#s();
    return this.#queues!.promote(request);
  }

  async cancelQueued(id: string, now: number, history: readonly HistoryEvent[]): Promise<SagaRecord | undefined> {
    this.#s();
    assertSagaId(id);
    return this.#queues!.cancelQueued(id, now, history);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements = undefined;
    this.#transactions = undefined;
    this.#queues = undefined;
    if (this.#db && !this.#options.database) this.#db.close();
    this.#db = undefined;
  }

  #open(): Database.Database {
    if (this.#options.database) return this.#options.database as Database.Database;
    const path = this.#options.path ?? '.orsa/orsa.db';
    if (path !== ':memory:' && !path.startsWith('file:')) {
      // Saga inputs and results are business data: what orsa creates is private to its user (SQLite gives
      // the -wal and -shm files the database file's mode). Existing directories and files keep theirs.
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      closeSync(openSync(path, 'a', 0o600));
    }
    const Driver = requireDriver<typeof Database>('better-sqlite3', 'SqliteStore');
    return new Driver(path, { timeout: nonNegativeInteger(this.#options.busyTimeoutMs ?? 5000) });
  }

  /** `commits` 0: a write of a group commit, whose one commit is counted apart. */
  #count(bytes: number, commits = 1): void {
    this.#stats.writes++;
    this.#stats.commits += commits;
    this.#stats.bytesWritten += bytes;
  }

  #s(): SqliteStatements {
    if (!this.#statements) throw new StoreNotReadyError('SqliteStore', this.#closed ? 'closed' : 'uninitialized');
    return this.#statements;
  }

  #tx(): Transactions {
    this.#s();
    return this.#transactions!;
  }
}

