import { InvalidScheduleError, RuntimeConfigError, SagaNotRegisteredError } from '../errors.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import type { Clock } from '../interpretation/clock.js';
import { assertInputSerializable } from '../interpretation/serialize.js';
import type { ScheduleChange, ScheduleRecord } from '../stores/schedules.js';
import type { ScheduleInfo, ScheduleOptions } from './schedule-types.js';
import type { SagaStore } from '../stores/types.js';
import type { SagaRegistry } from './registry.js';
import { checkSchedule, dueTick, parseCron, scheduledSagaId, tickAfter } from './schedule-plan.js';
import { isTransientError } from './transient.js';

/** What the scheduler needs of its runtime. */
export interface SchedulerDeps {
  store: SagaStore;
  clock: Clock;
  sagas: SagaRegistry;
  /** How late a tick may fire and count as on time, in ms. */
  graceMs: number;
  maxInputBytes: number;
  /** Starts a saga with this id (idempotent: an id that exists is not started again). */
  start: (definition: SagaDefinition<any, any>, input: unknown, id: string) => Promise<unknown>;
  report: (error: unknown) => void;
  /** Whether the runtime still runs: a stop halfway through a poll starts no more ticks. */
  running: () => boolean;
}

/**
 * Declares, lists and fires schedules. Every worker that runs a schedule's
 * saga fires its ticks, from the store's row: the saga of a tick has an id
 * derived from the tick, so however many workers fire it, the store lets one
 * start it. The tick is started first, then the row's `lastTickAt` advanced:
 * a worker that dies between the two leaves the tick to be fired again, and
 * that second start is a no-op.
 *
 * @internal
 * @example
 * ```ts
 * const scheduler = new Scheduler({ store, clock, sagas, graceMs: 60_000, maxInputBytes, start, report, running });
 * await scheduler.fire();
 * scheduler.nextTickAt(); // when the poller should wake for the next tick
 * ```
 */
export class Scheduler {
  /** The earliest tick to come among the schedules this runtime fires, as of the last {@link fire}. */
  private next: number | null = null;
  /**
   * Each schedule's next tick, for the cron, zone and last tick it was worked out from: a poll then
   * asks croner (~0.5 ms a call) only about a schedule that changed or fell due, not about every one.
   */
  private upcoming = new Map<string, { key: string; at: number | null }>();
  /** Stored schedules no worker can fire, by name and definition: reported once each. */
  private readonly unreadable = new Set<string>();

  constructor(private readonly deps: SchedulerDeps) {}

  async declare<I>(name: string, saga: SagaDefinition<I, any> | string, options: ScheduleOptions<I>): Promise<{ change: ScheduleChange; schedule: ScheduleInfo }> {
    if (options === null || typeof options !== 'object') {
      throw new InvalidScheduleError(String(name), "needs options: runtime.schedule(name, saga, { cron: '0 2 * * *', input })");
    }
    const timezone = options.timezone ?? 'UTC';
    const missed = options.missed ?? 'skip';
    checkSchedule(name, { cron: options.cron, timezone, missed });
    const sagaName = typeof saga === 'string' ? saga : saga?.name;
    const definition = this.deps.sagas.latest.get(sagaName);
    if (!definition) throw new SagaNotRegisteredError(String(sagaName));
    let input: string;
    try {
      // The same checks as a start, now: a schedule that could never start its saga is refused when declared.
      // The raw input is what is stored and validated again at each tick: it must survive JSON as well.
      assertInputSerializable(definition.name, options.input, this.deps.maxInputBytes);
      assertInputSerializable(definition.name, await definition.validateInput(options.input), this.deps.maxInputBytes);
      input = JSON.stringify(options.input ?? null);
    } catch (error) {
      throw new InvalidScheduleError(name, `its input is not one saga "${definition.name}" accepts: ${(error as Error).message}`, { cause: error });
    }
    const now = this.deps.clock.now();
    const { change, schedule } = await this.table().put({ name, sagaName: definition.name, cron: options.cron, timezone, input, missed }, now);
    const info = this.describe(schedule);
    if (info.nextTickAt !== null) this.next = this.next === null ? info.nextTickAt : Math.min(this.next, info.nextTickAt);
    return { change, schedule: info };
  }

  async list(): Promise<ScheduleInfo[]> {
    return (await this.table().list()).map((row) => this.describe(row));
  }

  remove(name: string): Promise<boolean> {
    return this.table().remove(name);
  }

  /** When the next tick of a schedule this runtime fires comes, as of the last fire(); null when none. */
  nextTickAt(): number | null {
    return this.next;
  }

  /**
   * Fires every due tick of the schedules whose saga this runtime runs, then
   * notes the next tick to come. A schedule no worker can read is reported
   * once and left as it is; a start that fails for a passing reason (the store
   * is down) leaves its tick to the next poll.
   */
  async fire(): Promise<void> {
    const now = this.deps.clock.now();
    let next: number | null = null;
    const earlier = (at: number | null) => {
      if (at !== null && (next === null || at < next)) next = at;
    };
    // A store written before schedules (or a wrapper that does not pass them on) keeps none: nothing to fire.
    if (!this.deps.store.schedules) return;
    const known = this.upcoming;
    this.upcoming = new Map(); // schedules removed since the last poll drop out
    for (const row of await this.deps.store.schedules.list()) {
      if (!this.deps.running()) return;
      const definition = this.deps.sagas.latest.get(row.sagaName);
      if (!definition) continue; // another worker's saga
      const key = `${row.cron}\u0000${row.timezone}\u0000${row.lastTickAt}`;
      const cached = known.get(row.name);
      if (cached?.key === key && (cached.at === null || cached.at > now)) {
        this.upcoming.set(row.name, cached);
        earlier(cached.at);
        continue;
      }
      let cron;
      try {
        cron = parseCron(row.name, row.cron, row.timezone);
      } catch (error) {
        this.reportOnce(row, error);
        continue;
      }
      const tickAt = dueTick(cron, row.lastTickAt, now);
      let fired = true;
      try {
        if (tickAt !== null) fired = await this.fireTick(row, definition, tickAt, now);
      } catch (error) {
        // The advance failed (the store is down?): the tick is still due, and the other schedules go on.
        this.deps.report(error);
        fired = false;
      }
      if (!fired) {
        earlier(now); // kept for the next look
        continue;
      }
      const lastTickAt = Math.max(row.lastTickAt, tickAt ?? row.lastTickAt);
      const at = tickAfter(cron, lastTickAt);
      this.upcoming.set(row.name, { key: `${row.cron}\u0000${row.timezone}\u0000${lastTickAt}`, at });
      earlier(at);
    }
    this.next = next;
  }

  /** Starts the tick's saga (unless it was missed and the policy skips it), then advances the row. False: try again later. */
  private async fireTick(row: ScheduleRecord, definition: SagaDefinition<any, any>, tickAt: number, now: number): Promise<boolean> {
    if (now - tickAt <= this.deps.graceMs || row.missed === 'latest') {
      try {
        await this.deps.start(definition, JSON.parse(row.input), scheduledSagaId(row.name, tickAt));
      } catch (error) {
        if (isTransientError(error)) {
          this.deps.report(error);
          return false;
        }
        // Nothing the next poll would do differently: report it and go on to the next tick.
        this.deps.report(
          new InvalidScheduleError(row.name, `could not start saga "${row.sagaName}" for the tick of ${new Date(tickAt).toISOString()}, which is passed over: ${(error as Error).message}; declare the schedule again with input the saga accepts`, { cause: error }),
        );
      }
    }
    await this.table().advance(row.name, tickAt);
    return true;
  }

  private table(): NonNullable<SagaStore['schedules']> {
    const table = this.deps.store.schedules ;
    if (!table) throw new RuntimeConfigError('this store keeps no schedules (it has no store.schedules); use SqliteStore, PostgresStore or MemoryStore, or implement ScheduleStore from orsa/store');
    return table;
  }

  private reportOnce(row: ScheduleRecord, error: unknown): void {
    const key = `${row.name}\u0000${row.cron}\u0000${row.timezone}`;
    if (this.unreadable.has(key)) return;
    this.unreadable.add(key);
    this.deps.report(error);
  }

  private describe(row: ScheduleRecord): ScheduleInfo {
    const info: ScheduleInfo = { ...row, input: undefined, nextTickAt: null };
    try {
      info.nextTickAt = tickAfter(parseCron(row.name, row.cron, row.timezone), row.lastTickAt);
    } catch (error) {
      info.problem = (error as Error).message;
    }
    try {
      info.input = JSON.parse(row.input);
    } catch {
      info.input = row.input;
      info.problem ??= 'its stored input is not JSON; declare the schedule again';
    }
    return info;
  }
}
