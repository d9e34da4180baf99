import type { SagaRecord, SagaStore } from '../stores/types.js';
import type { Clock } from '../interpretation/clock.js';
import type { RecordGate } from './claims.js';
import { deliver, type Live } from './live.js';

/** What the poller needs of its runtime. */
export interface PollerDeps {
  store: SagaStore;
  clock: Clock;
  gate: RecordGate;
  workerId: string;
  leaseMs: number;
  /** Most records one claim takes. */
  claimBatch: number;
  /** The regular poll interval, in ms: the longest back-off of a look at a past due time. */
  pollIntervalMs: number;
  /** Each saga name this runtime runs, with the versions it can run. */
  versionsByName: ReadonlyMap<string, string[]>;
  /** The sagas this worker runs, by id. */
  live: Map<string, Live>;
  /** Resumes a claimed record here. */
  resume: (record: SagaRecord) => Promise<void>;
  /** Whether the runtime still runs (between start and stop). */
  running: () => boolean;
  /** Runs a task; what it throws is reported, never passed on. */
  guard: (task: () => unknown) => Promise<void>;
  /** The schedules this runtime fires: each regular poll fires their due ticks, and the wake-up timer covers their next tick. */
  schedules?: { fire: () => Promise<void>; nextTickAt: () => number | null };
}

/**
 * Claims due, orphaned and signalled sagas, one poll at a time, and keeps the
 * one wake-up timer for the earliest due time this process knows of.
 *
 * @internal
 * @example
 * ```ts
 * const poller = new Poller({ store, clock, gate, workerId, leaseMs, claimBatch: 100, pollIntervalMs: 1_000, versionsByName, live, resume, running, guard });
 * await poller.poll();
 * ```
 */
export class Poller {
  /** The one timer that wakes the poller for the earliest due time this process knows of (not one per saga). */
  private wake: { handle: unknown; at: number } | null = null;
  /** Delay of the next look at a due time already past (see wakeForNextDue), in ms. */
  private dueBackoffMs = 0;
  private polling: Promise<void> | null = null;

  constructor(private readonly deps: PollerDeps) {}

  /** Clears the wake-up timer and waits for the poll under way. */
  async stop(): Promise<void> {
    if (this.wake) this.deps.clock.clearTimeout(this.wake.handle);
    this.wake = null;
    await this.polling;
  }

  /**
   * Takes over due, orphaned or signalled sagas (or one id), and delivers stored events to the ones it runs.
   * A claim that comes back full is followed by another at once, until the backlog is drained; a claimed
   * batch is resumed concurrently. Then the one wake-up timer is set for the earliest due time left.
   */
  poll(id?: string): Promise<void> {
    const { store, clock, gate, live: running } = this.deps;
    const run = async () => {
      if (!this.deps.running()) return;
      const limit = this.deps.claimBatch;
      // One claim per saga name with that name's versions: a (name, version) pair this worker
      // cannot run is never touched, even when the version string belongs to another saga.
      for (const [name, versions] of this.deps.versionsByName) {
        for (;;) {
          const now = clock.now();
          // The gate judges each record inside the claim: one this worker cannot read is not even leased.
          const claimed = await gate.claim(store, [...running.keys()], {
            owner: this.deps.workerId,
            now,
            leaseUntil: now + this.deps.leaseMs,
            limit,
            dueOnly: true,
            sagaNames: [name],
            versions,
            ...(id ? { id } : {}),
          });
          if (claimed.length > 0) this.dueBackoffMs = 0; // progress: the next look at a past due time comes soon
          await Promise.all(claimed.map((record) => this.deps.resume(record)));
          // Drain the backlog, but not a batch that could not be resumed (a flaky store): the gate retries that later.
          const launched = claimed.filter((record) => running.has(record.id)).length;
          if (id !== undefined || claimed.length < limit || launched < claimed.length || limit <= 0 || !this.deps.running()) break;
        }
      }
      if (running.size > 0) {
        const pending = await store.pendingEvents([...running.keys()]);
        for (const event of pending) {
          const live = running.get(event.sagaId);
          // An unreadable payload (stored by a raw store user) reaches the chart as a no-op that the next write consumes (toChartEvent).
          if (live) deliver(live, [event], clock.now());
        }
      }
    };
    const attempt = () => gate.retrying(run, 'claiming due sagas', (ms) => this.wakeAt(clock.now() + ms));
    const guard = this.deps.guard;
    const schedules = this.deps.schedules;
    const next = (this.polling ?? Promise.resolve())
      .then(() => guard(attempt))
      .then(() => (id === undefined && schedules && this.deps.running() ? guard(() => schedules.fire()) : undefined))
      .then(() => (id === undefined ? guard(() => this.wakeForNextDue()) : undefined));
    this.polling = next;
    return next;
  }

  /**
   * Wakes the poller when an unloaded saga falls due (sooner than the next regular poll). One timer per
   * process, for the earliest due time: a saga parked on a timed wait costs no memory here, and the poll
   * it triggers sets the timer again from the store's `nextDueAt`.
   */
  wakeAt(dueAt: number | null): void {
    const clock = this.deps.clock;
    if (dueAt === null || !this.deps.running()) return;
    if (this.wake && this.wake.at <= dueAt) return;
    if (this.wake) clock.clearTimeout(this.wake.handle);
    const handle = clock.setTimeout(() => {
      if (this.wake?.handle === handle) this.wake = null;
      void this.poll();
    }, Math.max(0, dueAt - clock.now()));
    this.wake = { handle, at: dueAt };
  }

  /** Sets the wake-up timer from the store's earliest due time among the sagas this runtime runs, or the next schedule tick if sooner. */
  private async wakeForNextDue(): Promise<void> {
    if (!this.deps.running()) return;
    const due = await this.deps.store.nextDueAt([...this.deps.versionsByName.keys()]);
    const tick = this.deps.schedules?.nextTickAt() ?? null;
    const next = due === null ? tick : tick === null ? due : Math.min(due, tick);
    const now = this.deps.clock.now();
    if (next === null) return;
    if (next > now) {
      this.dueBackoffMs = 0;
      this.wakeAt(next);
      return;
    }
    // Due already: a saga this poll just resumed whose first write (with its next due time) is still under way,
    // or one it cannot claim (another worker's, or unreadable here). Look again soon, backing off up to the
    // poll interval, so that neither case spins.
    this.dueBackoffMs = Math.min(this.deps.pollIntervalMs, Math.max(10, this.dueBackoffMs * 2));
    this.wakeAt(now + this.dueBackoffMs);
  }
}
