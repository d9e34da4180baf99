/**
 * The schedules part of the storage contract: one row per named schedule,
 * which every worker sharing the store reads to start the saga of each cron
 * tick. A store keeps the row; the runtime parses the cron, checks the input
 * and decides which tick is due (stores never read the clock).
 */

/** What to do with ticks that fell due while no worker ran: start none of them, or start the latest one once. */
export type MissedTickPolicy = 'skip' | 'latest';

/** Every {@link MissedTickPolicy}. */
export const MISSED_TICK_POLICIES: readonly MissedTickPolicy[] = ['skip', 'latest'];

/** What a caller declares of a schedule: {@link ScheduleStore.put} stores it. */
export interface ScheduleDefinition {
  /** Unique in the store; part of every started saga's id. */
  name: string;
  /** The saga it starts (by registered name; a worker starts the latest version it runs). */
  sagaName: string;
  /** Cron expression (5 fields, or 6 with seconds first). */
  cron: string;
  /** IANA time zone the cron is read in, e.g. `Europe/Berlin`. */
  timezone: string;
  /** The saga's input, as JSON text. */
  input: string;
  missed: MissedTickPolicy;
}

/** A schedule as stored. Times are epoch milliseconds. */
export interface ScheduleRecord extends ScheduleDefinition {
  /**
   * The latest tick a worker has dealt with (started its saga, or passed over
   * it as missed); ticks after it are still to come. At creation, and when the
   * definition changes, the time of that write: earlier ticks never run.
   */
  lastTickAt: number;
  createdAt: number;
  /** When the definition last changed (ticks do not change it). */
  updatedAt: number;
}

/** What {@link ScheduleStore.put} did. */
export type ScheduleChange = 'created' | 'updated' | 'unchanged';

/**
 * A store's schedules, as `store.schedules`. Every method is atomic.
 *
 * @example
 * ```ts
 * const { change } = await store.schedules.put({ name: 'nightly', sagaName: 'report', cron: '0 2 * * *', timezone: 'UTC', input: '{}', missed: 'skip' }, Date.now());
 * await store.schedules.advance('nightly', tickAt); // true for the one worker that moved it
 * ```
 */
export interface ScheduleStore {
  /**
   * Creates the schedule (`lastTickAt` = `now`), or updates one of that name
   * whose definition differs (`lastTickAt` becomes at least `now`, so ticks
   * before the change never run), or leaves an identical one as it is.
   */
  put(definition: ScheduleDefinition, now: number): Promise<{ change: ScheduleChange; schedule: ScheduleRecord }>;
  get(name: string): Promise<ScheduleRecord | undefined>;
  /** Every schedule, by name. */
  list(): Promise<ScheduleRecord[]>;
  /** Deletes the schedule; false when there was none of that name. */
  remove(name: string): Promise<boolean>;
  /**
   * Moves `lastTickAt` forward to `tickAt` if it is earlier (never back), in
   * one conditional write: true for the one caller that moved it.
   */
  advance(name: string, tickAt: number): Promise<boolean>;
}

/** Whether two definitions are the same schedule (a re-declaration that changes nothing). */
export function sameSchedule(a: ScheduleDefinition, b: ScheduleDefinition): boolean {
  return a.name === b.name && a.sagaName === b.sagaName && a.cron === b.cron && a.timezone === b.timezone && a.input === b.input && a.missed === b.missed;
}
