import { Cron } from 'croner';
import { InvalidScheduleError } from '../errors.js';
import { assertSagaId } from '../stores/input-checks.js';
import { MISSED_TICK_POLICIES, type MissedTickPolicy } from '../stores/schedules.js';

/*
 * The arithmetic of schedules: reading a cron expression (croner does the
 * parsing and the time zones), the derived saga id of a tick, and which tick
 * is due. No I/O: the scheduler feeds it stored rows and the clock's time.
 */

/** Longest schedule name: the derived saga id (`name@` + a 24-character ISO time) must stay within 255 characters. */
export const MAX_SCHEDULE_NAME_LENGTH = 255 - 25;

/**
 * The id of the saga a schedule starts for one tick: the schedule's name and
 * the tick's time, so every worker that fires the tick names the same saga and
 * the store's unique id lets only one start it.
 *
 * @example
 * ```ts
 * scheduledSagaId('nightly', Date.UTC(2026, 2, 29, 1)); // 'nightly@2026-03-29T01:00:00.000Z'
 * ```
 */
export function scheduledSagaId(name: string, tickAt: number): string {
  return `${name}@${new Date(tickAt).toISOString()}`;
}

/**
 * Checks a schedule's name, cron, time zone and missed policy as declared,
 * and returns the parsed cron.
 *
 * @throws {InvalidScheduleError} saying what is wrong and what to write instead.
 *
 * @example
 * ```ts
 * const cron = checkSchedule('nightly', { cron: '30 2 * * *', timezone: 'Europe/Berlin', missed: 'skip' });
 * ```
 */
export function checkSchedule(name: unknown, options: { cron: unknown; timezone: unknown; missed: unknown }): Cron {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_SCHEDULE_NAME_LENGTH) {
    throw new InvalidScheduleError(String(name), `the name must be a string of 1 to ${MAX_SCHEDULE_NAME_LENGTH} characters (it starts each saga's id)`);
  }
  try {
    assertSagaId(scheduledSagaId(name, 0));
  } catch (error) {
    throw new InvalidScheduleError(name, `the name cannot be part of a saga id: ${(error as Error).message}`, { cause: error });
  }
  if (!MISSED_TICK_POLICIES.includes(options.missed as MissedTickPolicy)) {
    throw new InvalidScheduleError(name, `missed must be 'skip' (the default: ticks missed while no worker ran never start) or 'latest' (start the latest missed tick once), not ${JSON.stringify(options.missed)}`);
  }
  return parseCron(name, options.cron, options.timezone);
}

const cache = new Map<string, Cron>();

/**
 * A cron expression read in a time zone, or a clear error. Parsed crons are
 * kept (a worker reads every schedule at every poll).
 *
 * @throws {InvalidScheduleError} for an expression croner cannot read, one that never fires, or an unknown time zone.
 *
 * @example
 * ```ts
 * parseCron('nightly', '30 2 * * *', 'Europe/Berlin').nextRun(new Date());
 * ```
 */
export function parseCron(name: string, cron: unknown, timezone: unknown): Cron {
  if (typeof timezone !== 'string' || !isTimeZone(timezone)) {
    throw new InvalidScheduleError(name, `timezone ${JSON.stringify(timezone)} is not an IANA time zone this runtime knows; write one such as 'UTC' or 'Europe/Berlin'`);
  }
  if (typeof cron !== 'string' || cron.trim() === '') {
    throw new InvalidScheduleError(name, `cron must be a cron expression such as '0 2 * * *' (minute hour day month weekday, optionally seconds first), not ${JSON.stringify(cron)}`);
  }
  const key = `${cron}\u0000${timezone}`;
  const known = cache.get(key);
  if (known) return known;
  let parsed: Cron;
  try {
    parsed = new Cron(cron, { timezone, paused: true });
  } catch (error) {
    throw new InvalidScheduleError(name, `cannot read the cron expression ${JSON.stringify(cron)} (${(error as Error).message}); write minute hour day month weekday, e.g. '0 2 * * *'`, { cause: error });
  }
  if (parsed.nextRun(new Date(0)) === null) {
    throw new InvalidScheduleError(name, `the cron expression ${JSON.stringify(cron)} never fires (a date that does not exist?); check its day and month`);
  }
  if (cache.size > 1_000) cache.clear();
  cache.set(key, parsed);
  return parsed;
}

function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return timezone.length > 0;
  } catch {
    return false;
  }
}

/** The first tick strictly after `at`, or null when the cron fires no more. */
export function tickAfter(cron: Cron, at: number): number | null {
  return cron.nextRun(new Date(at))?.getTime() ?? null;
}

/**
 * The tick to deal with now: the latest tick after `lastTickAt` and at or
 * before `now`, or null when none has come. Ticks before it are never started.
 *
 * @example
 * ```ts
 * dueTick(cron, lastTickAt, clock.now()); // the tick's time, or null
 * ```
 */
export function dueTick(cron: Cron, lastTickAt: number, now: number): number | null {
  const first = tickAfter(cron, lastTickAt);
  if (first === null || first > now) return null;
  // croner's previous runs are whole seconds strictly before the reference's second: a second more includes `now`.
  const candidate = cron.previousRuns(1, new Date(now + 1_000))[0]?.getTime();
  let latest = first;
  if (candidate !== undefined && candidate >= first && candidate <= now) latest = candidate;
  // Never trust the shortcut past what nextRun says: walk on to the last tick not after now (no step when it was right).
  for (let next = tickAfter(cron, latest); next !== null && next <= now; next = tickAfter(cron, latest)) latest = next;
  return latest;
}
