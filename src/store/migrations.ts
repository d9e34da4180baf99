import { StoreSchemaError } from './errors.js';

/**
 * The database schemas, kept as data: an ordered list of migrations per
 * dialect, applied by `init()` in one transaction and recorded in an
 * `orsa_migrations` table (version, name, applied_at). A migration, once
 * released, is never edited: a change to the schema is a new entry.
 *
 * Both dialects hold the same logical schema:
 * - `sagas`: one row per saga instance (the `SagaRecord` columns) plus
 *   `history_seq`, the seq of its last history event, so that appending history
 *   needs no `max(seq)` lookup and is serialized by the row lock the write holds.
 * - `history`: (saga_id, seq) → at, type, step, attempt, data (JSON text).
 * - `inbox`: seq (increasing) → saga_id, kind ('event' | 'command'), name, payload (JSON text), at, consumed.
 * - `journal`: (saga_id, seq) → field, key, value (JSON text): the pieces of a
 *   snapshot written once (migration 3); `sagas.journal_seq` numbers them.
 *
 * Only `(status, due_at)` is indexed on `sagas`: claims and `nextDueAt` read it.
 * Columns every write changes (lease_until, updated_at, row_version) are
 * deliberately not indexed, so PostgreSQL can update a saga row in place (HOT).
 * There are no foreign keys: every history and inbox row is written by a
 * statement that reads the saga row itself.
 */

/** One schema change. */
export interface Migration {
  /** Position in the list, 1, 2, …; the version the schema is at once this migration is applied. */
  version: number;
  /** What it does, for the migrations table and error messages. */
  name: string;
  /** Statements, run in order. PostgreSQL statements write `{schema}` for the store's quoted schema name. */
  up: readonly string[];
}

/**
 * The journal migration (step results, visit counts and log entries written
 * once, beside a control-state snapshot; see `src/store/journal.ts`). It
 * depends on version 1 only: its number may move when migrations merge.
 */
const JOURNAL_MIGRATION_NAME = 'journal: results, visits and log entries written once';

/**
 * SQLite has no schemas, and its file may be an application's own database
 * (`SqliteStoreOptions.database`), so every table is prefixed `orsa_`.
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create sagas, history and inbox',
    up: [
      `CREATE TABLE orsa_sagas (
        id TEXT NOT NULL PRIMARY KEY,
        saga_name TEXT NOT NULL,
        version TEXT NOT NULL,
        status TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        due_at INTEGER,
        owner TEXT,
        lease_until INTEGER,
        row_version INTEGER NOT NULL,
        history_seq INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      `CREATE INDEX orsa_sagas_status_due_at ON orsa_sagas (status, due_at)`,
      `CREATE TABLE orsa_history (
        saga_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        step TEXT,
        attempt INTEGER,
        data TEXT,
        PRIMARY KEY (saga_id, seq)
      ) WITHOUT ROWID`,
      // AUTOINCREMENT: a seq is never handed out twice, even if the newest rows are ever deleted.
      `CREATE TABLE orsa_inbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        saga_id TEXT NOT NULL,
        name TEXT NOT NULL,
        payload TEXT NOT NULL,
        at INTEGER NOT NULL,
        consumed INTEGER NOT NULL DEFAULT 0
      )`,
      `CREATE INDEX orsa_inbox_pending ON orsa_inbox (saga_id, seq) WHERE consumed = 0`,
    ],
  },
  {
    version: 2,
    name: 'separate the inbox channels: kind event or command',
    up: [
      `ALTER TABLE orsa_inbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'event' CHECK (kind IN ('event', 'command'))`,
      // Before this migration, commands were events named "$cancel", "$retryCompensation" or "$resume":
      // pending ones become the commands they were, so a saga cancelled before the upgrade is still cancelled.
      `UPDATE orsa_inbox SET kind = 'command', name = substr(name, 2)
       WHERE consumed = 0 AND name IN ('$cancel', '$retryCompensation', '$resume')`,
    ],
  },
  {
    version: 3,
    name: JOURNAL_MIGRATION_NAME,
    // Records written before it keep their whole snapshot and no journal: they read as they were,
    // and a resumed one's first write resends its journal with reset (JournalWrite.reset).
    up: [
      `CREATE TABLE orsa_journal (
        saga_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        field TEXT NOT NULL,
        key TEXT,
        value TEXT NOT NULL,
        PRIMARY KEY (saga_id, seq)
      ) WITHOUT ROWID`,
      `ALTER TABLE orsa_sagas ADD COLUMN journal_seq INTEGER NOT NULL DEFAULT 0`,
    ],
  },
];

/**
 * PostgreSQL keeps orsa's tables in their own schema (default `orsa`). Ids
 * compare byte-wise (`COLLATE "C"`): faster, and the same order as SQLite.
 * Snapshots are `text`, not `jsonb`: stores never parse them and their bytes
 * (key order included) must come back as written.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create sagas, history and inbox',
    up: [
      // fillfactor leaves room on each page for the in-place (HOT) updates every step makes.
      `CREATE TABLE {schema}.sagas (
        id text COLLATE "C" NOT NULL PRIMARY KEY,
        saga_name text NOT NULL,
        version text NOT NULL,
        status text NOT NULL,
        snapshot text NOT NULL,
        due_at bigint,
        owner text,
        lease_until bigint,
        row_version bigint NOT NULL,
        history_seq integer NOT NULL DEFAULT 0,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      ) WITH (fillfactor = 80)`,
      `CREATE INDEX sagas_status_due_at ON {schema}.sagas (status, due_at)`,
      `CREATE TABLE {schema}.history (
        saga_id text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        at bigint NOT NULL,
        type text NOT NULL,
        step text,
        attempt integer,
        data text,
        PRIMARY KEY (saga_id, seq)
      )`,
      `CREATE TABLE {schema}.inbox (
        seq bigserial PRIMARY KEY,
        saga_id text COLLATE "C" NOT NULL,
        name text NOT NULL,
        payload text NOT NULL,
        at bigint NOT NULL,
        consumed boolean NOT NULL DEFAULT false
      )`,
      `CREATE INDEX inbox_pending ON {schema}.inbox (saga_id, seq) WHERE NOT consumed`,
    ],
  },
  {
    version: 2,
    name: 'separate the inbox channels: kind event or command',
    up: [
      // A constant default: PostgreSQL adds the column without rewriting the table.
      `ALTER TABLE {schema}.inbox ADD COLUMN kind text NOT NULL DEFAULT 'event' CHECK (kind IN ('event', 'command'))`,
      `UPDATE {schema}.inbox SET kind = 'command', name = substr(name, 2)
       WHERE NOT consumed AND name IN ('$cancel', '$retryCompensation', '$resume')`,
    ],
  },
  {
    version: 3,
    name: JOURNAL_MIGRATION_NAME,
    up: [
      `CREATE TABLE {schema}.journal (
        saga_id text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        field text NOT NULL,
        key text,
        value text NOT NULL,
        PRIMARY KEY (saga_id, seq)
      )`,
      // A constant default: no table rewrite, and the column is not indexed, so updates stay HOT.
      `ALTER TABLE {schema}.sagas ADD COLUMN journal_seq integer NOT NULL DEFAULT 0`,
    ],
  },
];

/**
 * The migrations of `list` not yet in `applied`, in order.
 *
 * @throws {StoreSchemaError} when the database is at a version this code does
 * not know (a newer orsa migrated it): running on would misread its rows.
 *
 * @example
 * ```ts
 * pendingMigrations(SQLITE_MIGRATIONS, [], 'orsa.db'); // every migration
 * ```
 */
export function pendingMigrations(list: readonly Migration[], applied: readonly number[], where: string): Migration[] {
  const known = new Set(list.map((m) => m.version));
  const unknown = applied.filter((v) => !known.has(v));
  if (unknown.length > 0) {
    throw new StoreSchemaError(
      `${where} has schema version ${Math.max(...unknown)}, newer than this orsa knows (${list.length}); upgrade orsa in every process that shares this database`,
    );
  }
  const done = new Set(applied);
  return list.filter((m) => !done.has(m.version)).sort((a, b) => a.version - b.version);
}
