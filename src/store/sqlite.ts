import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { decodeHistory, encodeHistory, listLimit, listStatuses, newStoredRecord, nonNegativeInteger, type HistoryRow } from './encoding.js';
import { StoreConfigError, StoreNotReadyError } from './errors.js';
import { pendingMigrations, SQLITE_MIGRATIONS } from './migrations.js';
import { claimVariant, listVariant, prepareStatements, type SqliteStatements } from './sqlite-statements.js';
import {
  StaleRecordError,
  UnknownSagaError,
  type ClaimRequest,
  type HistoryEvent,
  type InboxEvent,
  type ListFilter,
  type RecordPatch,
  type SagaRecord,
  type SagaStatus,
  type SagaStore,
  type WriteFence,
} from './types.js';

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
  database?: Database.Database;
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

interface Transactions {
  insert(record: Parameters<SagaStore['insert']>[0], history: readonly HistoryEvent[]): { inserted: boolean; record: SagaRecord };
  update(
    id: string,
    fence: WriteFence,
    patch: RecordPatch,
    history: readonly HistoryEvent[],
    options: { now: number; consumedInboxSeq?: number },
  ): SagaRecord;
  claim(request: ClaimRequest): SagaRecord[];
  renew(owner: string, ids: readonly string[], leaseUntil: number, now: number): string[];
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
  #closed = false;

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
    this.#statements = s;
    this.#transactions = transactions(db, s);
  }

  async insert(
    record: Omit<SagaRecord, 'rowVersion' | 'createdAt' | 'updatedAt'> & { now: number },
    history: readonly HistoryEvent[],
  ): Promise<{ inserted: boolean; record: SagaRecord }> {
    return this.#tx().insert(record, history);
  }

  async update(
    id: string,
    fence: WriteFence,
    patch: RecordPatch,
    history: readonly HistoryEvent[],
    options: { now: number; consumedInboxSeq?: number },
  ): Promise<SagaRecord> {
    return this.#tx().update(id, fence, patch, history, options);
  }

  async get(id: string): Promise<SagaRecord | undefined> {
    return this.#s().get.get(id);
  }

  async list(filter?: ListFilter): Promise<SagaRecord[]> {
    const statuses = listStatuses(filter);
    const sagaName = filter?.sagaName;
    const statement = this.#s().list.get(listVariant(statuses !== undefined, sagaName !== undefined));
    return statement!.all({ statuses: JSON.stringify(statuses ?? []), sagaName, limit: listLimit(filter) });
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

  async sendEvent(sagaId: string, name: string, payload: string, at: number): Promise<InboxEvent> {
    const s = this.#s();
    const seq = this.#db!.transaction(() => s.sendEvent.get({ sagaId, name, payload, at })).immediate();
    if (seq === undefined) throw new UnknownSagaError(sagaId);
    return { seq, sagaId, name, payload, at };
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

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements = undefined;
    this.#transactions = undefined;
    if (this.#db && !this.#options.database) this.#db.close();
    this.#db = undefined;
  }

  #open(): Database.Database {
    if (this.#options.database) return this.#options.database;
    const path = this.#options.path ?? '.orsa/orsa.db';
    if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
    return new Database(path, { timeout: nonNegativeInteger(this.#options.busyTimeoutMs ?? 5000) });
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

/** A filter list as a JSON array parameter; null when there is no filter. */
function jsonArray(values: readonly string[] | undefined): string | null {
  return values === undefined ? null : JSON.stringify(values);
}

/** Applies the missing migrations in one write transaction, so concurrent processes apply each once. */
function migrate(db: Database.Database): void {
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

/** The multi-statement writes, each one `BEGIN IMMEDIATE` transaction. */
/** Appends history rows numbered from `first`, in one statement when there are 2 to 4 (one write's usual count). */
function insertHistory(s: SqliteStatements, id: string, first: number, rows: readonly HistoryRow[]): void {
  const many = s.insertHistoryRows[rows.length];
  if (many) {
    many.run(rows.flatMap((row, index) => [id, first + index, row.at, row.type, row.step, row.attempt, row.data]));
    return;
  }
  rows.forEach((row, index) => s.insertHistory.run(id, first + index, row.at, row.type, row.step, row.attempt, row.data));
}

function transactions(db: Database.Database, s: SqliteStatements): Transactions {
  const insert = db.transaction((record: Parameters<Transactions['insert']>[0], history: readonly HistoryEvent[]) => {
    // Encode first: an event whose data cannot be stored must leave nothing behind.
    const rows = history.map(encodeHistory);
    const { changes } = s.insertSaga.run({
      id: record.id,
      sagaName: record.sagaName,
      version: record.version,
      status: record.status,
      snapshot: record.snapshot,
      dueAt: record.dueAt,
      owner: record.owner,
      leaseUntil: record.leaseUntil,
      historySeq: rows.length,
      now: record.now,
    });
    if (changes === 0) return { inserted: false, record: s.get.get(record.id)! };
    insertHistory(s, record.id, 1, rows);
    const stored = newStoredRecord(record);
    return { inserted: true, record: stored };
  });

  const update = db.transaction((...[id, fence, patch, history, options]: Parameters<Transactions['update']>) => {
    const rows = history.map(encodeHistory);
    const written = s.update.get(
      patch.status,
      patch.snapshot,
      patch.dueAt,
      patch.leaseUntil,
      patch.leaseUntil,
      options.now,
      rows.length,
      id,
      fence.rowVersion,
      fence.owner,
    );
    if (!written) throw new StaleRecordError(id);
    const first = written.historySeq - rows.length + 1;
    insertHistory(s, id, first, rows);
    if (options.consumedInboxSeq !== undefined) s.consumeInbox.run({ id, seq: options.consumedInboxSeq });
    return {
      id,
      sagaName: written.sagaName,
      version: written.version,
      status: patch.status,
      snapshot: patch.snapshot,
      dueAt: patch.dueAt,
      owner: written.owner,
      leaseUntil: patch.leaseUntil,
      rowVersion: written.rowVersion,
      createdAt: written.createdAt,
      updatedAt: options.now,
    };
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
        const record = s.get.get(id);
        if (!record || !accept(record)) continue; // refused: not written, rowVersion included
      }
      // An id the driver cannot read back as written (a lone surrogate) matches no row: skip it, claim the rest.
      const record = s.claimOne.get({ id, owner: request.owner, leaseUntil: request.leaseUntil });
      if (record) claimed.push(record);
    }
    return claimed;
  });

  const renew = db.transaction((owner: string, ids: readonly string[], leaseUntil: number, now: number) =>
    [...new Set(ids)].filter((id) => s.renewOne.run({ id, owner, leaseUntil, now }).changes > 0),
  );

  return {
    insert: (...args) => insert.immediate(...args),
    update: (...args) => update.immediate(...args),
    claim: (...args) => claim.immediate(...args),
    renew: (...args) => renew.immediate(...args),
  };
}
