import type Database from 'better-sqlite3';
import { sameSchedule, type ScheduleChange, type ScheduleDefinition, type ScheduleRecord, type ScheduleStore } from '../schedules.js';

const COLUMNS = `name, saga_name AS sagaName, cron, timezone, input, missed, last_tick_at AS lastTickAt, created_at AS createdAt, updated_at AS updatedAt`;

/**
 * `SqliteStore.schedules`: the `orsa_schedules` table. A put is one
 * `BEGIN IMMEDIATE` transaction (read, compare, write), so two processes
 * declaring the same schedule at once create it once.
 *
 * @internal
 * @example
 * ```ts
 * const schedules = new SqliteSchedules(() => db);
 * await schedules.advance('nightly', tickAt);
 * ```
 */
export class SqliteSchedules implements ScheduleStore {
  #prepared: { db: Database.Database; statements: ReturnType<typeof prepare> } | undefined;

  /** @param db the open connection; throws when the store is not open. */
  constructor(private readonly db: () => Database.Database) {}

  async put(definition: ScheduleDefinition, now: number): Promise<{ change: ScheduleChange; schedule: ScheduleRecord }> {
    const { db, s } = this.#s();
    return db
      .transaction(() => {
        const existing = s.get.get(definition.name);
        if (existing && sameSchedule(existing, definition)) return { change: 'unchanged' as const, schedule: existing };
        if (existing) s.update.run({ ...fields(definition), now });
        else s.insert.run({ ...fields(definition), now });
        return { change: existing ? ('updated' as const) : ('created' as const), schedule: s.get.get(definition.name)! };
      })
      .immediate();
  }

  async get(name: string): Promise<ScheduleRecord | undefined> {
    return this.#s().s.get.get(name);
  }

  async list(): Promise<ScheduleRecord[]> {
    return this.#s().s.list.all();
  }

  async remove(name: string): Promise<boolean> {
    return this.#s().s.remove.run(name).changes > 0;
  }

  async advance(name: string, tickAt: number): Promise<boolean> {
    return this.#s().s.advance.run({ name, tickAt }).changes > 0;
  }

  #s(): { db: Database.Database; s: ReturnType<typeof prepare> } {
    const db = this.db();
    if (this.#prepared?.db !== db) this.#prepared = { db, statements: prepare(db) };
    return { db, s: this.#prepared.statements };
  }
}

function fields(d: ScheduleDefinition) {
  return { name: d.name, sagaName: d.sagaName, cron: d.cron, timezone: d.timezone, input: d.input, missed: d.missed };
}

function prepare(db: Database.Database) {
  return {
    get: db.prepare<[string], ScheduleRecord>(`SELECT ${COLUMNS} FROM orsa_schedules WHERE name = ?`),
    list: db.prepare<[], ScheduleRecord>(`SELECT ${COLUMNS} FROM orsa_schedules ORDER BY name`),
    insert: db.prepare(
      `INSERT INTO orsa_schedules (name, saga_name, cron, timezone, input, missed, last_tick_at, created_at, updated_at)
       VALUES (@name, @sagaName, @cron, @timezone, @input, @missed, @now, @now, @now)`,
    ),
    // A changed definition counts its ticks from now: ticks before the change never run under it.
    update: db.prepare(
      `UPDATE orsa_schedules SET saga_name = @sagaName, cron = @cron, timezone = @timezone, input = @input, missed = @missed,
         last_tick_at = max(last_tick_at, @now), updated_at = @now
       WHERE name = @name`,
    ),
    remove: db.prepare<[string]>(`DELETE FROM orsa_schedules WHERE name = ?`),
    advance: db.prepare(`UPDATE orsa_schedules SET last_tick_at = @tickAt WHERE name = @name AND last_tick_at < @tickAt`),
  };
}
