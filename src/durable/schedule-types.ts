import type { MissedTickPolicy } from '../stores/schedules.js';

/*
 * The public shapes of schedules at the runtime (`runtime.schedule()`,
 * `runtime.schedules()`), apart from the scheduler that works with them.
 */

/** What {@link Runtime.schedule} takes besides the schedule's name and saga. */
export interface ScheduleOptions<I> {
  /** Cron expression: minute hour day-of-month month day-of-week, optionally with seconds first (`'*\/10 * * * * *'`). Read by croner. */
  cron: string;
  /** IANA time zone the cron is read in (daylight saving time included). Default `'UTC'`. */
  timezone?: string;
  /** The input every started saga gets; checked against the saga's input schema when declared, and again at each start. */
  input: I;
  /** Ticks that fell due while no worker ran: `'skip'` starts none of them; `'latest'` starts the latest one once. Default `'skip'`. */
  missed?: MissedTickPolicy;
}

/** A schedule as the runtime shows it. Times are epoch ms. */
export interface ScheduleInfo {
  name: string;
  sagaName: string;
  cron: string;
  timezone: string;
  /** The input, parsed (the stored text when it is not JSON: see `problem`). */
  input: unknown;
  missed: MissedTickPolicy;
  /** The latest tick dealt with (started, or passed over as missed); at creation, the creation time. */
  lastTickAt: number;
  /** The next tick to come; null when the cron fires no more or cannot be read. */
  nextTickAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** Why no worker can fire this stored schedule (a cron or time zone this orsa cannot read, input that is not JSON). */
  problem?: string;
}
