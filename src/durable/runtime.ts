import { OrsaError, SagaEndedError, SagaIdTakenError, SagaNotFailedError, SagaNotRegisteredError, UnknownEventError, UnknownSagaError } from '../errors.js';
import { InvalidEventError, type SagaDefinition } from '../interpretation/definition.js';
import { DefaultStore } from './default-store.js';
import { assertSagaId } from '../stores/input-checks.js';
import { type HistoryEvent, type ListFilter, type SagaRecord, type SagaStatus, type SagaStore } from '../stores/types.js';
import { systemClock, type Clock } from '../interpretation/clock.js';
import type { Transition } from '../interpretation/execution.js';
import type { CommandName } from './commands.js';
import { defaultWorkerId, validateRuntimeOptions, type RuntimeOptions, type SagaInfo } from './runtime-options.js';
import { assertInputSerializable, DEFAULT_MAX_INPUT_BYTES, findUnserializable } from '../interpretation/serialize.js';
import { describeRecord, reportUnresumable } from './describe.js';
import { deliver, lostExecutions, type Live } from './live.js';
import { Waiters } from './waiters.js';
import { logProblem, runtimeInterceptors } from '../observe/runtime-setup.js';
import type { SagaInterceptor } from '../observe/interceptors.js';
import { hasEnded, outcomeOf } from './records.js';
import { RecordGate } from './claims.js';
import { SagaRegistry } from './registry.js';
import { TransitionWriter } from './writer.js';
import { Poller } from './poller.js';
import { Launcher } from './launcher.js';
import { renewLeases } from './lease-renewal.js';
import { Repeater } from './repeater.js';
import { QueueKeeper } from './queues.js';

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
  private readonly launcher: Launcher;
  private readonly queues: QueueKeeper;
  private readonly waiters: Waiters;
  /** Ended sagas whose final write committed and whose observers have not yet heard of it: result() waits for them. */
  private readonly announcing = new Set<string>();
  private readonly repeater: Repeater;
  private running = false;
  private started: Promise<void> | null = null;
  private interceptors: SagaInterceptor[] = [];

  constructor(private readonly options: RuntimeOptions) {
    validateRuntimeOptions(options);
    this.sagas = new SagaRegistry(options.sagas);
    this.workerId = options.workerId ?? defaultWorkerId();
    this.store = options.store ?? new DefaultStore();
    this.clock = options.clock ?? systemClock;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.waiters = new Waiters(this.clock);
    this.repeater = new Repeater(this.clock, () => this.running, (e) => this.report(e));
    const guard = (task: () => unknown) => this.guard(task);
    const common = { store: this.store, clock: this.clock, workerId: this.workerId, leaseMs: this.leaseMs, live: this.live, guard };
    this.poller = new Poller({
      ...common,
      gate: this.gate,
      claimBatch: options.claimBatch ?? 100,
      pollIntervalMs: options.pollIntervalMs ?? 1_000,
      versionsByName: this.sagas.versionsByName,
      resume: (record) => this.launcher.resume(record),
      promote: () => this.queues.promoteAll(),
      running: () => this.running,
    });
    const writer = new TransitionWriter({
      ...common,
      hooks: options.hooks,
      announcing: this.announcing,
      wakeAt: (dueAt) => this.poller.wakeAt(dueAt),
      leaseLost: (live, refused) => this.leaseLost(live, refused),
      // A slot freed here: the next queued saga starts now, not at the next poll.
      slotFreed: (name) => void (this.queues.limited(name) && this.queues.promote(name).catch((e: unknown) => this.report(e))),
    });
    this.launcher = new Launcher({
      ...common,
      options,
      sagas: this.sagas,
      gate: this.gate,
      writer,
      waiters: this.waiters,
      announcing: this.announcing,
      interceptors: () => this.interceptors,
      running: () => this.running,
      wakeAt: (dueAt) => this.poller.wakeAt(dueAt),
    });
    this.queues = new QueueKeeper({
      ...common,
      gate: this.gate,
      sagas: this.sagas,
      batch: options.claimBatch ?? 100,
      resume: (record) => this.launcher.resume(record),
      report: (e) => this.report(e),
      wakeAt: (at) => this.poller.wakeAt(at),
      running: () => this.running,
    });
  }

  /** Opens the store, resumes every unfinished saga it may run, then keeps polling for due and orphaned ones. */
  start(): Promise<void> {
    this.started ??= (async () => {
      this.interceptors = await runtimeInterceptors(this.options, this.workerId);
      await this.store.init();
      this.running = true;
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
    await this.poller.stop();
    await this.queues.settle();
    const held = [...this.live.entries()];
    this.live.clear();
    for (const [, live] of held) live.execution.stop();
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
    const validated = await definition.validateInput(input);
    assertInputSerializable(definition.name, validated, this.options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES);
    const id = options.id ?? crypto.randomUUID();
    assertSagaId(id);
    const running = this.live.get(id);
    if (running) {
      // Already running here: starting it again must not launch a second execution.
      if (running.definition.name !== definition.name) throw this.idTaken(id, running.definition.name, definition.name);
      return { id, created: false };
    }
    if (definition.declaration.limits) {
      const { inserted, record } = await this.queues.enqueue(definition, id, validated, options.priority);
      if (!inserted && record.sagaName !== definition.name) throw this.idTaken(id, record.sagaName, definition.name);
      return { id, created: inserted };
    }
    let created = true;
    let existing: SagaRecord | undefined;
    const live = this.launcher.launch(definition, id, validated, undefined, { rowVersion: 0, owner: this.workerId }, false, (inserted, record) => {
      created = inserted;
      existing = record;
    });
    await live.firstWrite;
    if (!created && existing && existing.sagaName !== definition.name) throw this.idTaken(id, existing.sagaName, definition.name);
    return { id, created };
  }

  /** Resolves with a saga's results once it completes, or rejects with its `SagaFailedError`. Works for sagas run by any worker. */
  async result<R = unknown>(id: string): Promise<R> {
    assertSagaId(id);
    for (;;) {
      const record = await this.store.get(id);
      if (!record) throw new UnknownSagaError(id);
      // An ended saga this worker ran is settled once its observers have heard of the end.
      if (hasEnded(record.status) && (record.status !== 'failed' || !this.live.has(id)) && !this.announcing.has(id)) {
        const outcome = outcomeOf(record);
        if (outcome.ok) return outcome.results as R;
        throw outcome.error;
      }
      // Woken by this worker's writes of the saga; another worker may finish it, so look again now and then.
      await this.waiters.wait(id, this.options.pollIntervalMs ?? 1_000);
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
  async send(id: string, name: string, payload?: unknown): Promise<void> {
    const record = await this.target(id);
    if (typeof name !== 'string') throw new UnknownEventError(record.sagaName, String(name), []);
    if (hasEnded(record.status)) throw new SagaEndedError(id, record.status, `take the event ${JSON.stringify(name)}`);
    const definition = this.sagas.get(record.sagaName, record.version);
    // A saga this runtime cannot run is checked by the worker that runs it (it consumes unknown events without effect).
    let value = payload;
    if (definition) {
      if (!definition.compiled.events.includes(name)) throw new UnknownEventError(record.sagaName, name, definition.compiled.events);
      value = await definition.validateEvent(name, payload);
    }
    // Like input and results: a payload JSON would change is refused before it is stored.
    const unserializable = findUnserializable(value, this.options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES);
    if (unserializable) throw new InvalidEventError(record.sagaName, name, [{ message: `${unserializable.path} is ${unserializable.reason}` }]);
    await this.store.sendEvent(id, name, JSON.stringify(value ?? null), this.clock.now(), 'event');
    await this.delivered(id);
  }

  /**
   * Cancels a saga: running steps are aborted, completed ones compensated. Stored first, in the command
   * channel. A queued saga ends `cancelled` at once, having run nothing.
   */
  async cancel(id: string): Promise<void> {
    const record = await this.target(id);
    if (hasEnded(record.status)) throw new SagaEndedError(id, record.status, 'cancel');
    // Promoted meanwhile: it is no longer queued, and the command below cancels it where it runs.
    const cancelled = record.status === 'queued' ? await this.queues.cancel(id) : undefined;
    if (cancelled) {
      this.waiters.wake(id);
      const outcome = outcomeOf(cancelled);
      if (!outcome.ok) await this.guard(() => this.options.hooks?.onAbort?.(cancelled, outcome.error));
      return;
    }
    await this.command(id, 'cancel');
  }

  /** Retries the compensation of a saga that ended `failed`. */
  async retryCompensation(id: string): Promise<void> {
    const record = await this.target(id);
    if (record.status !== 'failed') throw new SagaNotFailedError(id, record.status);
    await this.command(id, 'retryCompensation');
  }

  /** Number of sagas by status. */
  async counts(): Promise<Record<SagaStatus, number>> {
    // A status value orsa does not write is reported (once), never counted.
    return this.gate.knownCounts(this.store, new Set(this.sagas.latest.keys()));
  }

  // ---- internals ----

  /** The record a send or command is for; the id is checked first. */
  private async target(id: string): Promise<SagaRecord> {
    assertSagaId(id);
    const record = await this.store.get(id);
    if (!record) throw new UnknownSagaError(id);
    return record;
  }

  private async command(id: string, name: CommandName, payload: unknown = null): Promise<void> {
    await this.store.sendEvent(id, name, JSON.stringify(payload), this.clock.now(), 'command');
    await this.delivered(id);
  }

  /** After a send: delivers it at once when this worker runs the saga, else asks the poller to claim it. */
  private async delivered(id: string): Promise<void> {
    const live = this.live.get(id);
    // Everything still pending, in order: events stored by other processes before this one come first.
    if (live) deliver(live, await this.store.inbox(id), this.clock.now());
    else if (this.running) void this.poller.poll(id);
  }

  private idTaken(id: string, holder: string, wanted: string): OrsaError {
    return new SagaIdTakenError(id, holder, wanted);
  }

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
    void this.command(live.execution.sagaId, 'leaseLost', { execs }).catch((error: unknown) => this.report(error));
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
