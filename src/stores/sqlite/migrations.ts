import { JOURNAL_MIGRATION_NAME, QUEUES_MIGRATION_NAME, SCHEDULES_MIGRATION_NAME, type Migration } from '../migrations.js';

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
    version: 4,
    name: QUEUES_MIGRATION_NAME,
    up: [
      `ALTER TABLE orsa_sagas ADD COLUMN queue_key TEXT`,
      `ALTER TABLE orsa_sagas ADD COLUMN priority INTEGER`,
      `ALTER TABLE orsa_sagas ADD COLUMN enqueue_seq INTEGER`,
      // The queue of one name, in promotion order; only queued rows are in it.
      `CREATE INDEX orsa_sagas_queued ON orsa_sagas (saga_name, priority DESC, enqueue_seq) WHERE status = 'queued'`,
      // Slots: the active sagas of one name (and key) are counted at every promotion. Partial: a saga that
      // never queued is not in it, so its per-step writes maintain no extra index.
      `CREATE INDEX orsa_sagas_slots ON orsa_sagas (saga_name, status, queue_key) WHERE enqueue_seq IS NOT NULL`,
      `CREATE TABLE orsa_queue_starts (
        saga_name TEXT NOT NULL,
        queue_key TEXT,
        at INTEGER NOT NULL
      )`,
      `CREATE INDEX orsa_queue_starts_at ON orsa_queue_starts (saga_name, at)`,
      // Arrival numbers: one counter, bumped inside the insert's write transaction.
      `CREATE TABLE orsa_queue_seq (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)`,
      `INSERT INTO orsa_queue_seq (id, value) VALUES (1, 0)`,
    ],
  },
  {
    version: 5,
    name: SCHEDULES_MIGRATION_NAME,
    // Read by every worker at every poll and written once per tick: small, keyed by name, no other index.
    up: [
      `CREATE TABLE orsa_schedules (
        name TEXT NOT NULL PRIMARY KEY,
        saga_name TEXT NOT NULL,
        cron TEXT NOT NULL,
        timezone TEXT NOT NULL,
        input TEXT NOT NULL,
        missed TEXT NOT NULL CHECK (missed IN ('skip', 'latest')),
        last_tick_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID`,
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
