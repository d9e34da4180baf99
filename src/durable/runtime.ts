import { SagaNotRegisteredError, UnknownSagaError } from '../errors.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import { DefaultStore } from './default-store.js';
import { assertSagaId } from '../stores/input-checks.js';
import { type HistoryEvent, type ListFilter, type SagaStatus, type SagaStore } from '../stores/types.js';
import { systemClock, type Clock } from '../interpretation/clock.js';
import type { Transition } from '../interpretation/execution.js';
import { defaultWorkerId, validateRuntimeOptions, type RuntimeOptions, type SagaInfo } from './runtime-options.js';
import { describeRecord, reportUnresumable } from './describe.js';
import { lostExecutions, type Live } from './live.js';
import { Waiters } from './waiters.js';
import { Inbox } from './inbox.js';
import { logProblem, runtimeInterceptors } from '../observe/runtime-setup.js';
import type { SagaInterceptor } from '../observe/interceptors.js';
import { hasEnded, outcomeOf } from './records.js';
import { RecordGate } from './claims.js';
import { SagaRegistry } from './registry.js';
import { wireRuntime, type RuntimeParts } from './wiring.js';
import { TransitionWriter } from './writer.js';
import { Poller } from './poller.js';
import { renewLeases } from './lease-renewal.js';
import { Repeater } from './repeater.js';
import { QueueKeeper } from './queues.js';
import { subscribeWakeups } from './wakeups.js';
import { Scheduler } from './scheduler.js';
import type { ScheduleInfo, ScheduleOptions } from './schedule-types.js';
import type { ScheduleChange } from '../stores/schedules.js';

/**
 * Creates a durable runtime: sagas are persisted at every step and resumed
 * after a crash, in this process or another one sharing the store.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ sagas: [exchange] }); // SQLite at .orsa/orsa.db
 * await runtime.start();                                 // resumes unfinished sagas
 * const { id } = await runtime.startSaga(exchange, { amount: 45.12, from: 'USD', to: 'CNY' }, { id: 'ex-1' });
 * console.log(await runtime.result(id));
 * await runtime.stop();
 * ```
 */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new Runtime(options);
}

/** See {@link createRuntime}.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ sagas: [order] });
 * await runtime.start();
 * const { id } = await runtime.startSaga(order, input);
 * await runtime.result(id);
 * ```
 */
export class Runtime {
  readonly workerId: string;
  readonly store: SagaStore;
  private readonly clock: Clock;
  private readonly leaseMs: number;
  private readonly sagas: SagaRegistry;
  private readonly live = new Map<string, Live>();
  /** Judges records before claims take them; sets aside the unreadable ones; retries transient store faults. */
  private readonly gate = new RecordGate((r) => this.sagas.get(r.sagaName, r.version), (e) => this.report(e));
  private readonly poller: Poller;
  private readonly queues: QueueKeeper;
  private readonly writer: TransitionWriter;
  private readonly waiters: Waiters;
  private readonly inbox: Inbox;
  /** Ended sagas whose final write committed and whose observers have not yet heard of it: result() waits for them. */
  private readonly announcing = new Set<string>();
  private readonly repeater: Repeater;
  private readonly scheduler: Scheduler;
  /** Starts a saga with this id (startSaga once the runtime runs, and the scheduler's ticks); a limited saga is queued. */
  private readonly begin: RuntimeParts['begin'];
  private running = false;
  /** Ends the store wake-up subscription taken at start. */
  private unsubscribe: (() => Promise<void>) | null = null;
  private started: Promise<void> | null = null;
  private interceptors: SagaInterceptor[] = [];

  constructor(private readonly options: RuntimeOptions) {
    validateRuntimeOptions(options);
    this.sagas = new SagaRegistry(options.sagas);
    this.workerId = options.workerId ?? defaultWorkerId();
    this.store = options.store ?? new DefaultStore();
    this.clock = options.clock ?? systemClock;
    this.leaseMs = options.leaseMs ?? 30_000;
    const { store, clock, workerId, leaseMs, sagas, live, gate, announcing } = this;
    ({ waiters: this.waiters, repeater: this.repeater, inbox: this.inbox, scheduler: this.scheduler, poller: this.poller, writer: this.writer, queues: this.queues, begin: this.begin } = wireRuntime({
      options, store, clock, workerId, leaseMs, sagas, live, gate, announcing,
      running: () => this.running,
      interceptors: () => this.interceptors,
      leaseLost: (live, refused) => this.leaseLost(live, refused),
      guard: (task) => this.guard(task),
      report: (e) => this.report(e),
    }));
  }

  /** Opens the store, resumes every unfinished saga it may run, then keeps polling for due and orphaned ones. */
  start(): Promise<void> {
    this.started ??= (async () => {
      this.interceptors = await runtimeInterceptors(this.options, this.workerId);
      await this.store.init();
      this.running = true;
      // Before the first poll: what happens after that poll's look is heard of.
      this.unsubscribe = await subscribeWakeups(this.store, (wake) => this.poller.notice(wake), (e) => this.report(e));
      await this.reportUnresumable();
      await this.poller.poll();
      this.repeater.every(this.options.pollIntervalMs ?? 1_000, () => this.poller.poll());
      this.repeater.every(Math.max(1, Math.floor(this.leaseMs / 3)), () => this.guard(() => this.renew()));
      const monitor = this.options.monitor;
      if (monitor) this.repeater.every(monitor.intervalMs, async () => this.guard(() => this.counts().then((c) => monitor.report(c))));
      await this.guard(() => this.options.hooks?.onStartup?.());
    })();
    return this.started;
  }

  /**
   * Stops polling, aborts running steps (their snapshots are already stored,
   * so another worker or the next start resumes them) and releases leases.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.repeater.clear();
    await this.unsubscribe?.().catch((e: unknown) => this.report(e));
    this.unsubscribe = null;
    await this.poller.stop();
    await this.queues.settle();
    const held = [...this.live.entries()];
    this.live.clear();
    for (const [, live] of held) live.execution.stop();
    // Writes already handed to a group commit land before the leases are given back (else their fence fails).
    await this.writer.idle();
    await Promise.all(held.map(([id]) => this.store.release(id, this.workerId).catch((e) => this.report(e))));
    await this.guard(() => this.options.hooks?.onShutdown?.());
    if (!this.options.store) await this.store.close();
  }

  /**
   * Starts a saga: one commit stores it with its first step started, then it
   * runs here. With a caller-chosen `id`, starting the same id again does not
   * run it twice (`created: false`). A saga with `.limits()` is stored
   * `queued` and starts (here or on another worker) when its limits allow,
   * higher `priority` first (an integer, default 0; ignored without limits).
   */
  async startSaga<I>(saga: SagaDefinition<I, any> | string, input: I, options: { id?: string; priority?: number } = {}): Promise<{ id: string; created: boolean }> {
    await this.start();
    const definition = typeof saga === 'string' ? this.sagas.latest.get(saga) : this.sagas.get(saga.name, saga.version);
    if (!definition) {
      const name = typeof saga === 'string' ? saga : saga.name;
      throw new SagaNotRegisteredError(name);
    }
    return this.begin(definition, input, options.id ?? crypto.randomUUID(), options.priority);
  }

  /**
   * Declares a schedule: one saga per cron tick, started by whichever worker sharing the store fires the
   * tick first (its id is `name@<tick time, ISO>`, so a tick never starts twice). The schedule is stored:
   * every runtime that runs its saga fires it, after restarts too. Declaring it again unchanged does
   * nothing; with another cron, time zone, input or policy it is updated, counting ticks from then.
   *
   * @throws {InvalidScheduleError} for a cron, time zone, name, policy or input that cannot be kept.
   * @example
   * ```ts
   * await runtime.schedule('nightly-report', report, { cron: '30 2 * * *', timezone: 'Europe/Berlin', input: { format: 'pdf' } });
   * ```
   */
  async schedule<I>(name: string, saga: SagaDefinition<I, any> | string, options: ScheduleOptions<I>): Promise<{ change: ScheduleChange; schedule: ScheduleInfo }> {
    await this.start();
    const declared = await this.scheduler.declare(name, saga, options);
    this.poller.wakeAt(declared.schedule.nextTickAt);
    return declared;
  }

  /** Every stored schedule, by name, with its next tick. */
  async schedules(): Promise<ScheduleInfo[]> {
    await this.start();
    return this.scheduler.list();
  }

  /** Removes a stored schedule (sagas it started run on); false when there was none of that name. */
  async unschedule(name: string): Promise<boolean> {
    await this.start();
    return this.scheduler.remove(name);
  }

  /**
   * Resolves with a saga's results once it completes, or rejects with its `SagaFailedError`. Works for sagas
   * run by any worker. `signal` stops the waiting (not the saga): once it aborts, rejects with its reason
   * (an `AbortError` unless one was given) and leaves nothing behind.
   */
  async result<R = unknown>(id: string, options?: { signal?: AbortSignal }): Promise<R> {
    assertSagaId(id);
    const signal = options?.signal;
    for (;;) {
      signal?.throwIfAborted();
      // Woken by this worker's writes of the saga; another worker may finish it, so look again now and then.
      // Listening starts before the read: a write that commits while the read is in flight wakes it too.
      const wait = this.waiters.listen(id, this.options.pollIntervalMs ?? 1_000, signal);
      let waiting = false;
      try {
        const record = await this.store.get(id);
        signal?.throwIfAborted();
        if (!record) throw new UnknownSagaError(id);
        // An ended saga this worker ran is settled once its observers have heard of the end.
        if (hasEnded(record.status) && (record.status !== 'failed' || !this.live.has(id)) && !this.announcing.has(id)) {
          const outcome = outcomeOf(record);
          if (outcome.ok) return outcome.results as R;
          throw outcome.error;
        }
        waiting = true;
      } finally {
        // Settled (or failed): nobody waits, so the waiter, its timer and its listener go now.
        if (!waiting) wait.stop();
      }
      await wait.woken;
    }
  }

  /** A saga's record, its state and whether this runtime can resume it. */
  async get(id: string): Promise<SagaInfo | undefined> {
    const record = await this.store.get(id);
    return record ? describeRecord(record, this.sagas.byVersion) : undefined;
  }

  /** Sagas by status or name, most recently updated first. Unresumable ones carry a `problem`. */
  async list(filter?: ListFilter): Promise<SagaInfo[]> {
    return (await this.store.list(filter)).map((r) => describeRecord(r, this.sagas.byVersion));
  }

  /** The step history of a saga, oldest first. */
  history(id: string): Promise<HistoryEvent[]> {
    return this.store.history(id);
  }

  /**
   * Sends an event to a saga. It is stored first (never lost), then delivered:
   * at once when this worker runs the saga, else when a worker picks it up.
   */
  send(id: string, name: string, payload?: unknown): Promise<void> {
    return this.inbox.send(id, name, payload);
  }

  /**
   * Cancels a saga: running steps are aborted, completed ones compensated. Stored first, in the command
   * channel. A queued saga ends `cancelled` at once, having run nothing.
   */
  cancel(id: string): Promise<void> {
    return this.inbox.cancel(id);
  }

  /** Retries the compensation of a saga that ended `failed`. */
  retryCompensation(id: string): Promise<void> {
    return this.inbox.retryCompensation(id);
  }

  /** Number of sagas by status. */
  async counts(): Promise<Record<SagaStatus, number>> {
    // A status value orsa does not write is reported (once), never counted.
    return this.gate.knownCounts(this.store, new Set(this.sagas.latest.keys()));
  }

  // ---- internals ----

  /** Unfinished sagas this runtime knows by name but not by version: reported once, never touched. */
  private async reportUnresumable(): Promise<void> {
    await reportUnresumable(this.store, this.sagas, (e) => this.report(e));
    await this.gate.knownCounts(this.store, new Set(this.sagas.latest.keys()));
  }

  /**
   * This live worker lost the saga's lease while steps ran: it stores a `leaseLost` command naming them, so
   * the next owner (maybe this worker again) counts the loss; one that keeps losing fails with LEASE_LOST.
   */
  private leaseLost(live: Live, refused?: Transition): void {
    const execs = lostExecutions(live, refused);
    if (execs.length === 0 || !this.running) return;
    void this.inbox.command(live.execution.sagaId, 'leaseLost', { execs }).catch((error: unknown) => this.report(error));
  }

  private renew(): Promise<void> {
    return renewLeases({ store: this.store, clock: this.clock, workerId: this.workerId, leaseMs: this.leaseMs, live: this.live, leaseLost: (live) => this.leaseLost(live) });
  }

  private async guard(task: () => unknown): Promise<void> {
    try {
      await task();
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    logProblem(this.options.logger, error, this.workerId);
    (this.options.onError ?? ((e: unknown) => console.error('[orsa]', e)))(error);
  }
}
