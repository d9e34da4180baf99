import { JOURNAL_MIGRATION_NAME, type Migration } from '../migrations.js';

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
  {
    version: 6,
    name: 'child sagas: parent_id',
    // Nullable, no default: no table rewrite; the partial index holds only children.
    up: [
      `ALTER TABLE {schema}.sagas ADD COLUMN parent_id text COLLATE "C"`,
      `CREATE INDEX sagas_parent ON {schema}.sagas (parent_id) WHERE parent_id IS NOT NULL`,
    ],
  },
];
