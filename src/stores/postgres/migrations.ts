import { JOURNAL_MIGRATION_NAME, QUEUES_MIGRATION_NAME, SCHEDULES_MIGRATION_NAME, WAKE_MIGRATION_NAME, type Migration } from '../migrations.js';

// The final statuses as they were when migrations 7 and 8 were released: a released migration never changes.
const FINAL_SQL = `'completed', 'compensated', 'cancelled'`;

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
    version: 4,
    name: QUEUES_MIGRATION_NAME,
    up: [
      // Nullable, no default: no table rewrite. None is changed by a step's write, so the indexes below keep
      // updates HOT except when the status itself changes (already indexed by sagas_status_due_at).
      `ALTER TABLE {schema}.sagas ADD COLUMN queue_key text`,
      `ALTER TABLE {schema}.sagas ADD COLUMN priority integer`,
      `ALTER TABLE {schema}.sagas ADD COLUMN enqueue_seq bigint`,
      `CREATE INDEX sagas_queued ON {schema}.sagas (saga_name, priority DESC NULLS LAST, enqueue_seq) WHERE status = 'queued'`,
      // Partial: a saga that never queued is not in it, so its per-step (non-HOT: due_at changes) writes
      // maintain no extra index entry.
      `CREATE INDEX sagas_slots ON {schema}.sagas (saga_name, status, queue_key) WHERE enqueue_seq IS NOT NULL`,
      `CREATE SEQUENCE {schema}.enqueue_seq`,
      `CREATE TABLE {schema}.queue_starts (
        saga_name text NOT NULL,
        queue_key text,
        at bigint NOT NULL
      )`,
      `CREATE INDEX queue_starts_at ON {schema}.queue_starts (saga_name, at)`,
    ],
  },
  {
    version: 5,
    name: SCHEDULES_MIGRATION_NAME,
    up: [
      `CREATE TABLE {schema}.schedules (
        name text COLLATE "C" NOT NULL PRIMARY KEY,
        saga_name text NOT NULL,
        cron text NOT NULL,
        timezone text NOT NULL,
        input text NOT NULL,
        missed text NOT NULL CHECK (missed IN ('skip', 'latest')),
        last_tick_at bigint NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      )`,
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
  {
    version: 7,
    name: WAKE_MIGRATION_NAME,
    up: [
      // Triggers, not statements: every write path (one saga's write, a group commit, a hand-made UPDATE)
      // notifies, and NOTIFY is delivered only when its transaction commits. Channel: wakeChannel(schema).
      `CREATE FUNCTION {schema}.orsa_wake() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_TABLE_NAME = 'inbox' THEN
          PERFORM pg_notify('orsa_wake_' || md5(TG_TABLE_SCHEMA), 'i:' || NEW.saga_id);
        ELSE
          PERFORM pg_notify('orsa_wake_' || md5(TG_TABLE_SCHEMA), 'r:' || NEW.due_at || ':' || NEW.id);
        END IF;
        RETURN NULL;
      END $$`,
      `CREATE TRIGGER inbox_wake AFTER INSERT ON {schema}.inbox FOR EACH ROW EXECUTE FUNCTION {schema}.orsa_wake()`,
      // The WHEN clauses run without calling the function: a write that keeps its lease (almost every
      // step) costs nothing more. Mirrors releasedWake (src/stores/wakes.ts).
      `CREATE TRIGGER sagas_wake_insert AFTER INSERT ON {schema}.sagas FOR EACH ROW
        WHEN (NEW.owner IS NULL AND NEW.due_at IS NOT NULL AND NEW.status NOT IN (${FINAL_SQL}))
        EXECUTE FUNCTION {schema}.orsa_wake()`,
      `CREATE TRIGGER sagas_wake_release AFTER UPDATE ON {schema}.sagas FOR EACH ROW
        WHEN (OLD.owner IS NOT NULL AND NEW.owner IS NULL AND NEW.due_at IS NOT NULL AND NEW.status NOT IN (${FINAL_SQL}))
        EXECUTE FUNCTION {schema}.orsa_wake()`,
    ],
  },
  {
    version: 8,
    name: 'wake-ups: the release trigger looks only at writes that set the owner',
    up: [
      // A row trigger costs every update it is defined for, even when its WHEN is false (the old row
      // fetched again, the WHEN compiled and run): about 20 µs of server time per step. A release sets
      // the owner, so UPDATE OF owner sees every release (a hand-made one too), and a step's write,
      // which leaves the owner out of its SET list, skips the trigger at once.
      `DROP TRIGGER IF EXISTS sagas_wake_release ON {schema}.sagas`,
      `CREATE TRIGGER sagas_wake_release AFTER UPDATE OF owner ON {schema}.sagas FOR EACH ROW
        WHEN (OLD.owner IS NOT NULL AND NEW.owner IS NULL AND NEW.due_at IS NOT NULL AND NEW.status NOT IN (${FINAL_SQL}))
        EXECUTE FUNCTION {schema}.orsa_wake()`,
    ],
  },
];
