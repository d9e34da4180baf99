import type { InboxEvent, SagaRecord, SagaStore, StoreWake } from '../stores/types.js';
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
  /** Resumes a claimed record here, with its unconsumed inbox rows. */
  resume: (record: SagaRecord, inbox: readonly InboxEvent[]) => Promise<void>;
  /** Whether the runtime still runs (between start and stop). */
  running: () => boolean;
  /** Promotes queued sagas of the limited names this runtime runs (before it claims). */
  promote: () => Promise<void>;
  /** Runs a task; what it throws is reported, never passed on. */
  guard: (task: () => unknown) => Promise<void>;
  /** The schedules this runtime fires: each regular poll fires their due ticks, and the wake-up timer covers their next tick. */
  schedules?: { fire: () => Promise<void>; nextTickAt: () => number | null };
}

/** Most sagas named by wake-ups that are claimed one by one; more are taken by one claim of everything due. */
const CLAIMS_BY_ID = 8;

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
  /** Sagas named by store wake-ups since the last look at them (see notice). */
  private noticed = { ids: new Set<string>(), everything: false, queued: false };

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
    const run = async () => {
      if (!this.deps.running()) return;
      if (id === undefined) await this.deps.promote();
      await this.claimDue(id);
      await this.deliverPending([...this.deps.live.keys()]);
    };
    return this.queue(run, 'claiming due sagas', id === undefined);
  }

  /**
   * A store wake-up (see `SagaStore.subscribe`): a saga got an inbox row or was released, maybe by another
   * process. Wake-ups that arrive while a poll runs are gathered into one look after it: new inbox rows
   * are delivered to the sagas running here, the others are claimed if due. A wake-up without a saga
   * (the store may have missed some) is a whole poll; one for a later due time only sets the timer.
   */
  notice(wake: StoreWake): void {
    if (!this.deps.running()) return;
    if (wake.sagaId === undefined) this.noticed.everything = true;
    else if (wake.dueAt !== undefined && wake.dueAt > this.deps.clock.now()) return this.wakeAt(wake.dueAt);
    else this.noticed.ids.add(wake.sagaId);
    if (this.noticed.queued) return;
    this.noticed.queued = true;
    const run = async () => {
      this.noticed.queued = false;
      const ids = [...this.noticed.ids];
      const everything = this.noticed.everything || ids.length > this.deps.claimBatch;
      this.noticed = { ids: new Set(), everything: false, queued: false };
      if (!this.deps.running()) return;
      if (everything) {
        await this.deps.promote();
        await this.claimDue();
        await this.deliverPending([...this.deps.live.keys()]);
        return this.wakeForNextDue();
      }
      const live = this.deps.live;
      await this.deliverPending(ids.filter((id) => live.has(id)));
      const others = ids.filter((id) => !live.has(id));
      // A claim by id is one transaction each: past a few, one batched claim of everything due costs less.
      if (others.length > CLAIMS_BY_ID) await this.claimDue();
      else for (const id of others) await this.claimDue(id);
    };
    void this.queue(run, 'claiming sagas a wake-up named', false);
  }

  /** Runs `task` after the poll under way (one at a time); a transient store fault retries with a whole poll later. */
  private queue(task: () => Promise<void>, doing: string, thenTimer: boolean): Promise<void> {
    const { gate, clock, guard } = this.deps;
    const attempt = () => gate.retrying(task, doing, (ms) => this.wakeAt(clock.now() + ms));
    const schedules = this.deps.schedules;
    // A whole poll (thenTimer) also fires the schedules' due ticks, then sets the one timer.
    const next = (this.polling ?? Promise.resolve())
      .then(() => guard(attempt))
      .then(() => (thenTimer && schedules && this.deps.running() ? guard(() => schedules.fire()) : undefined))
      .then(() => (thenTimer ? guard(() => this.wakeForNextDue()) : undefined));
    this.polling = next;
    return next;
  }

  /** Claims due sagas (or one id), name by name, until a claim comes back short; resumes each batch concurrently. */
  private async claimDue(id?: string): Promise<void> {
    const { store, clock, gate, live: running } = this.deps;
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
        // The batch's inboxes in one query, read before any of it runs (see Launcher.resume).
        const inboxes = groupBySaga(claimed.length > 0 ? await store.pendingEvents(claimed.map((r) => r.id)) : []);
        await Promise.all(claimed.map((record) => this.deps.resume(record, inboxes.get(record.id) ?? [])));
        // Drain the backlog, but not a batch that could not be resumed (a flaky store): the gate retries that later.
        const launched = claimed.filter((record) => running.has(record.id)).length;
        if (id !== undefined || claimed.length < limit || launched < claimed.length || limit <= 0 || !this.deps.running()) break;
      }
      if (id !== undefined && running.has(id)) break;
    }
  }

  /** Hands the unconsumed inbox rows of these sagas (running here) to their executions; one query. */
  private async deliverPending(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const pending = await this.deps.store.pendingEvents(ids);
    for (const event of pending) {
      const live = this.deps.live.get(event.sagaId);
      // An unreadable payload (stored by a raw store user) reaches the chart as a no-op that the next write consumes (toChartEvent).
      if (live) deliver(live, [event], this.deps.clock.now());
    }
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

/** Inbox rows by saga, each saga's in seq order. */
function groupBySaga(events: readonly InboxEvent[]): Map<string, InboxEvent[]> {
  const bySaga = new Map<string, InboxEvent[]>();
  for (const event of events) {
    const rows = bySaga.get(event.sagaId);
    if (rows) rows.push(event);
    else bySaga.set(event.sagaId, [event]);
  }
  return bySaga;
}
