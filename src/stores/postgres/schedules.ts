import { prepared, type Prepared } from './statements.js';
import type { ScheduleChange, ScheduleDefinition, ScheduleRecord, ScheduleStore } from '../schedules.js';

/** A schedule as pg returns it: bigint columns arrive as strings. */
type ScheduleRow = Omit<ScheduleRecord, 'lastTickAt' | 'createdAt' | 'updatedAt'> & { lastTickAt: string; createdAt: string; updatedAt: string; change?: ScheduleChange };

const COLUMNS = `name, saga_name AS "sagaName", cron, timezone, input, missed,
  last_tick_at AS "lastTickAt", created_at AS "createdAt", updated_at AS "updatedAt"`;

/**
 * `PostgresStore.schedules`: the `schedules` table of the store's schema.
 * Each method is one statement; `put` is an upsert whose update applies only
 * when the definition differs, so concurrent declarations of one schedule
 * create it once and an identical one writes nothing.
 *
 * @internal
 * @example
 * ```ts
 * const schedules = new PostgresSchedules('"orsa"', (statement, values) => pool.query({ ...statement, values }).then((r) => r.rows));
 * ```
 */
export class PostgresSchedules implements ScheduleStore {
  readonly #put: Prepared;
  readonly #get: Prepared;
  readonly #list: Prepared;
  readonly #remove: Prepared;
  readonly #advance: Prepared;

  /**
   * @param schema the schema name, already quoted as an identifier.
   * @param query runs a statement on the store's pool (throws when the store is not open).
   */
  constructor(
    schema: string,
    private readonly query: <R extends object>(statement: Prepared, values: unknown[]) => Promise<R[]>,
  ) {
    const table = `${schema}.schedules`;
    // $1 name, $2 saga name, $3 cron, $4 timezone, $5 input, $6 missed, $7 now. xmax = 0 marks a row this
    // statement inserted. When nothing was written (the same definition), the row is read as it stands.
    this.#put = prepared(`WITH w AS (
        INSERT INTO ${table} AS s (name, saga_name, cron, timezone, input, missed, last_tick_at, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $7::bigint, $7::bigint)
        ON CONFLICT (name) DO UPDATE SET saga_name = EXCLUDED.saga_name, cron = EXCLUDED.cron, timezone = EXCLUDED.timezone,
          input = EXCLUDED.input, missed = EXCLUDED.missed, last_tick_at = GREATEST(s.last_tick_at, EXCLUDED.last_tick_at),
          updated_at = EXCLUDED.updated_at
        WHERE (s.saga_name, s.cron, s.timezone, s.input, s.missed)
          IS DISTINCT FROM (EXCLUDED.saga_name, EXCLUDED.cron, EXCLUDED.timezone, EXCLUDED.input, EXCLUDED.missed)
        RETURNING ${COLUMNS}, CASE WHEN xmax = 0 THEN 'created' ELSE 'updated' END AS change
      )
      SELECT * FROM w
      UNION ALL
      SELECT ${COLUMNS}, 'unchanged' AS change FROM ${table} WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM w)`);
    this.#get = prepared(`SELECT ${COLUMNS} FROM ${table} WHERE name = $1`);
    this.#list = prepared(`SELECT ${COLUMNS} FROM ${table} ORDER BY name`);
    this.#remove = prepared(`DELETE FROM ${table} WHERE name = $1 RETURNING name`);
    this.#advance = prepared(`UPDATE ${table} SET last_tick_at = $2::bigint WHERE name = $1 AND last_tick_at < $2::bigint RETURNING name`);
  }

  async put(d: ScheduleDefinition, now: number): Promise<{ change: ScheduleChange; schedule: ScheduleRecord }> {
    const values = [d.name, d.sagaName, d.cron, d.timezone, d.input, d.missed, now];
    // A declaration that raced another's insert may see neither its own write nor the other's row
    // (the statement's snapshot predates that commit): once more then sees the row.
    for (let attempt = 0; ; attempt++) {
      const [row] = await this.query<ScheduleRow>(this.#put, values);
      if (row) return { change: row.change!, schedule: toSchedule(row) };
      if (attempt >= 2) throw new Error(`PostgresStore: the schedule "${d.name}" was neither written nor found; it is being removed concurrently, declare it again`);
    }
  }

  async get(name: string): Promise<ScheduleRecord | undefined> {
    const [row] = await this.query<ScheduleRow>(this.#get, [name]);
    return row && toSchedule(row);
  }

  async list(): Promise<ScheduleRecord[]> {
    return (await this.query<ScheduleRow>(this.#list, [])).map(toSchedule);
  }

  async remove(name: string): Promise<boolean> {
    return (await this.query(this.#remove, [name])).length > 0;
  }

  async advance(name: string, tickAt: number): Promise<boolean> {
    return (await this.query(this.#advance, [name, tickAt])).length > 0;
  }
}

function toSchedule(row: ScheduleRow): ScheduleRecord {
  return {
    name: row.name,
    sagaName: row.sagaName,
    cron: row.cron,
    timezone: row.timezone,
    input: row.input,
    missed: row.missed,
    lastTickAt: Number(row.lastTickAt),
    createdAt: Number(row.createdAt),
    updatedAt: Number(row.updatedAt),
  };
}
