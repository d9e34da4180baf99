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
 * - `sagas.queue_key`, `priority`, `enqueue_seq` and `queue_starts` (saga_name,
 *   queue_key, at): queues with limits (migration 4).
 * - `schedules`: name → saga_name, cron, timezone, input (JSON text), missed
 *   ('skip' | 'latest'), last_tick_at, created_at, updated_at (migration 5).
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
 * once, beside a control-state snapshot; see `src/stores/journal.ts`). It
 * depends on version 1 only: its number may move when migrations merge.
 */
export const JOURNAL_MIGRATION_NAME = 'journal: results, visits and log entries written once';

/** The schedules migration (named cron schedules, see `src/stores/schedules.ts`). It depends on version 1 only. */
export const SCHEDULES_MIGRATION_NAME = 'schedules: named cron schedules and the last tick each fired';

/**
 * The queues migration: each saga's queue key, priority and arrival number
 * (`enqueue_seq`), and a table of promotion times for rate limits
 * (`SagaStore.promote`). It depends on version 1 only.
 */
export const QUEUES_MIGRATION_NAME = 'queues: key, priority and arrival of queued sagas, promotion times';

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
      `${where} has schema version ${Math.max(...unknown)}, newer than this orsa knows (${Math.max(0, ...known)}); upgrade orsa in every process that shares this database`,
    );
  }
  const done = new Set(applied);
  return list.filter((m) => !done.has(m.version)).sort((a, b) => a.version - b.version);
}

/**
 * PostgreSQL only: triggers that NOTIFY a store's wake-up channel when a saga
 * gets an inbox row or is released with a due time (see `SagaStore.subscribe`).
 * It depends on version 1 only: its number may move when migrations merge.
 */
export const WAKE_MIGRATION_NAME = 'wake-ups: notify on inbox rows and released sagas';
