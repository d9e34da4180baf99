import { JOURNAL_MIGRATION_NAME, type Migration } from '../migrations.js';

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
  {
    version: 6,
    name: 'child sagas: parent_id',
    // Nullable, no default: existing rows read as sagas started on their own. The partial index holds
    // only children, so it costs nothing for the sagas that have no parent.
    up: [
      `ALTER TABLE orsa_sagas ADD COLUMN parent_id TEXT`,
      `CREATE INDEX orsa_sagas_parent ON orsa_sagas (parent_id) WHERE parent_id IS NOT NULL`,
    ],
  },
];
