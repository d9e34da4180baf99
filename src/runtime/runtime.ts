import { OrsaError, RuntimeConfigError, SagaEndedError, SagaFailedError, SagaIdTakenError, SagaNotFailedError, SagaNotRegisteredError, SagaUnloadedError, StaleRecordError, UnknownEventError, UnknownSagaError } from '../errors.js';
import { InvalidEventError, type SagaDefinition } from '../core/definition.js';
import type { SagaContext } from '../core/machine.js';
import { DefaultStore } from './default-store.js';
import { assertSagaId } from '../store/input-checks.js';
import { FINAL_STATUSES, type HistoryEvent, type ListFilter, type SagaRecord, type SagaStatus, type SagaStore } from '../store/types.js';
import { systemClock, type Clock } from './clock.js';
import { Execution, type Transition } from './execution.js';
import type { CommandName } from './commands.js';
import { validateRuntimeOptions, type RuntimeOptions, type SagaInfo } from './runtime-options.js';
import { assertInputSerializable, DEFAULT_MAX_INPUT_BYTES, findUnserializable } from './serialize.js';
import { describeRecord, versionError } from './describe.js';
import { consumed, deliver, lostExecutions, type Live } from './live.js';
import { Waiters } from './waiters.js';
import { JournalWriter } from './journal-writer.js';
import type { SagaObservation } from './observe.js';
import { historyFor } from './history-entries.js';
import { inspectAs } from './inspect-adapter.js';
import { logProblem, logTakeover, runtimeInterceptors } from '../observe/runtime-setup.js';
import type { SagaInterceptor } from '../observe/interceptors.js';
import { hasEnded, outcomeOf, versionKey } from './records.js';
import { RecordGate } from './claims.js';
import { validateSnapshot } from './validate-snapshot.js';

const UNLOADED = new SagaUnloadedError();

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
  private readonly registry = new Map<string, SagaDefinition<any, any>>();
  private readonly latest = new Map<string, SagaDefinition<any, any>>();
  private readonly live = new Map<string, Live>();
  private readonly versionsByName = new Map<string, string[]>();
  /** Judges records before claims take them; sets aside the unreadable ones; retries transient store faults. */
  private readonly gate = new RecordGate((r) => this.registry.get(versionKey(r.sagaName, r.version)), (e) => this.report(e));
  private readonly waiters: Waiters;
  /** Ended sagas whose final write committed and whose observers have not yet heard of it: result() waits for them. */
  private readonly announcing = new Set<string>();
  private readonly timers = new Set<unknown>();
  /** The one timer that wakes the poller for the earliest due time this process knows of (not one per saga). */
  private wake: { handle: unknown; at: number } | null = null;
  /** Delay of the next look at a due time already past (see wakeForNextDue), in ms. */
  private dueBackoffMs = 0;
  private running = false;
  private polling: Promise<void> | null = null;
  private started: Promise<void> | null = null;
  private interceptors: SagaInterceptor[] = [];

  constructor(private readonly options: RuntimeOptions) {
    validateRuntimeOptions(options);
    for (const definition of options.sagas) {
      const key = versionKey(definition.name, definition.version);
      if (this.registry.has(key) && this.registry.get(key) !== definition) {
        throw new RuntimeConfigError(`two different definitions of saga "${definition.name}" have version ${definition.version}; give one an explicit .version()`);
      }
      this.registry.set(key, definition);
      this.latest.set(definition.name, definition); // the last one registered starts new instances
      this.versionsByName.set(definition.name, [...(this.versionsByName.get(definition.name) ?? []), definition.version]);
    }
    this.workerId = options.workerId ?? defaultWorkerId();
    this.store = options.store ?? new DefaultStore();
    this.clock = options.clock ?? systemClock;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.waiters = new Waiters(this.clock);
  }

  /** Opens the store, resumes every unfinished saga it may run, then keeps polling for due and orphaned ones. */
  start(): Promise<void> {
    this.started ??= (async () => {
      this.interceptors = await runtimeInterceptors(this.options, this.workerId);
      await this.store.init();
      this.running = true;
      await this.reportUnresumable();
      await this.poll();
      this.every(this.options.pollIntervalMs ?? 1_000, () => this.poll());
      this.every(Math.max(1, Math.floor(this.leaseMs / 3)), () => this.guard(() => this.renew()));
      const monitor = this.options.monitor;
      if (monitor) this.every(monitor.intervalMs, async () => this.guard(() => this.counts().then((c) => monitor.report(c))));
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
    for (const handle of this.timers) this.clock.clearTimeout(handle);
    this.timers.clear();
    if (this.wake) this.clock.clearTimeout(this.wake.handle);
    this.wake = null;
    await this.polling;
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
   * run it twice (`created: false`).
   */
  async startSaga<I>(saga: SagaDefinition<I, any> | string, input: I, options: { id?: string } = {}): Promise<{ id: string; created: boolean }> {
    await this.start();
    const definition = typeof saga === 'string' ? this.latest.get(saga) : this.registry.get(versionKey(saga.name, saga.version));
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
    let created = true;
    let existing: SagaRecord | undefined;
    const live = this.launch(definition, id, validated, undefined, { rowVersion: 0, owner: this.workerId }, false, (inserted, record) => {
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
    return record ? describeRecord(record, this.registry) : undefined;
  }

  /** Sagas by status or name, most recently updated first. Unresumable ones carry a `problem`. */
  async list(filter?: ListFilter): Promise<SagaInfo[]> {
    return (await this.store.list(filter)).map((r) => describeRecord(r, this.registry));
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
    const definition = this.registry.get(versionKey(record.sagaName, record.version));
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

  /** Cancels a saga: running steps are aborted, completed ones compensated. Stored first, in the command channel. */
  async cancel(id: string): Promise<void> {
    const record = await this.target(id);
    if (hasEnded(record.status)) throw new SagaEndedError(id, record.status, 'cancel');
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
    return this.gate.knownCounts(this.store, new Set(this.latest.keys()));
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
    else if (this.running) void this.poll(id);
  }

  private idTaken(id: string, holder: string, wanted: string): OrsaError {
    return new SagaIdTakenError(id, holder, wanted);
  }

  /** Unfinished sagas this runtime knows by name but not by version: reported once, never touched. */
  private async reportUnresumable(): Promise<void> {
    const names = new Set(this.latest.keys());
    const unfinished = await this.store.list({ status: ['running', 'waiting', 'compensating', 'failed'], limit: 10_000 });
    for (const record of unfinished) {
      if (names.has(record.sagaName) && !this.registry.has(versionKey(record.sagaName, record.version))) this.report(versionError(record, this.registry));
    }
    await this.gate.knownCounts(this.store, names);
  }

  private every(ms: number, task: () => Promise<unknown>): void {
    const tick = () => {
      this.timers.delete(handle);
      if (!this.running) return;
      void task().catch((error: unknown) => this.report(error)).finally(() => {
        if (this.running) {
          handle = this.clock.setTimeout(tick, ms);
          this.timers.add(handle);
        }
      });
    };
    let handle = this.clock.setTimeout(tick, ms);
    this.timers.add(handle);
  }

  /**
   * Takes over due, orphaned or signalled sagas (or one id), and delivers stored events to the ones it runs.
   * A claim that comes back full is followed by another at once, until the backlog is drained; a claimed
   * batch is resumed concurrently. Then the one wake-up timer is set for the earliest due time left.
   */
  private poll(id?: string): Promise<void> {
    const run = async () => {
      if (!this.running) return;
      const limit = this.options.claimBatch ?? 100;
      // One claim per saga name with that name's versions: a (name, version) pair this worker
      // cannot run is never touched, even when the version string belongs to another saga.
      for (const [name, versions] of this.versionsByName) {
        for (;;) {
          const now = this.clock.now();
          // The gate judges each record inside the claim: one this worker cannot read is not even leased.
          const claimed = await this.gate.claim(this.store, [...this.live.keys()], {
            owner: this.workerId,
            now,
            leaseUntil: now + this.leaseMs,
            limit,
            dueOnly: true,
            sagaNames: [name],
            versions,
            ...(id ? { id } : {}),
          });
          if (claimed.length > 0) this.dueBackoffMs = 0; // progress: the next look at a past due time comes soon
          await Promise.all(claimed.map((record) => this.resume(record)));
          // Drain the backlog, but not a batch that could not be resumed (a flaky store): the gate retries that later.
          const launched = claimed.filter((record) => this.live.has(record.id)).length;
          if (id !== undefined || claimed.length < limit || launched < claimed.length || limit <= 0 || !this.running) break;
        }
      }
      if (this.live.size > 0) {
        const pending = await this.store.pendingEvents([...this.live.keys()]);
        for (const event of pending) {
          const live = this.live.get(event.sagaId);
          // An unreadable payload (stored by a raw store user) reaches the chart as a no-op that the next write consumes (toChartEvent).
          if (live) deliver(live, [event], this.clock.now());
        }
      }
    };
    const attempt = () => this.gate.retrying(run, 'claiming due sagas', (ms) => this.wakeAt(this.clock.now() + ms));
    const next = (this.polling ?? Promise.resolve()).then(() => this.guard(attempt)).then(() => (id === undefined ? this.guard(() => this.wakeForNextDue()) : undefined));
    this.polling = next;
    return next;
  }

  private async resume(record: SagaRecord): Promise<void> {
    const definition = this.registry.get(versionKey(record.sagaName, record.version));
    try {
      if (!definition) throw versionError(record, this.registry);
      const snapshot = validateSnapshot(definition, record);
      // Read the inbox first: its events are queued before the resume's own write, so that write does not unload the saga.
      // An event whose payload is not JSON is no reason to set the saga aside: toChartEvent makes it a consumed no-op.
      const inbox = await this.store.inbox(record.id);
      logTakeover(this.options.logger, record, this.workerId);
      const live = this.launch(definition, record.id, undefined, snapshot, { rowVersion: record.rowVersion, owner: this.workerId }, true);
      deliver(live, inbox, this.clock.now());
    } catch (error) {
      this.live.get(record.id)?.execution.stop(UNLOADED);
      this.live.delete(record.id);
      // A transient fault leaves the saga claimable (retried soon); anything else sets it aside, reported once.
      // Either way only the lease that claim took is given back; if that fails too, the lease simply expires.
      const retryInMs = this.gate.resumeFailed(record, error);
      await this.store.release(record.id, this.workerId).catch(() => {});
      if (retryInMs !== null) this.wakeAt(this.clock.now() + retryInMs);
    }
  }


  private launch(
    definition: SagaDefinition<any, any>,
    id: string,
    input: unknown,
    snapshot: unknown,
    fence: { rowVersion: number; owner: string },
    committed: boolean,
    onInsert?: (inserted: boolean, record: SagaRecord) => void,
  ): Live & { firstWrite: Promise<void> } {
    let firstWrite!: { resolve: () => void; reject: (e: unknown) => void };
    const first = new Promise<void>((resolve, reject) => (firstWrite = { resolve, reject }));
    first.catch(() => {}); // only startSaga awaits it: a resumed saga's failed write must not be an unhandled rejection
    const observer = this.options.observer;
    const execution = new Execution<unknown>(definition, input, {
      sagaId: id,
      clock: this.clock,
      ...(this.options.random ? { random: this.options.random } : {}),
      ...(this.options.inspect ? { inspect: inspectAs(this.options.inspect, definition.name, id) } : {}),
      ...(this.options.maxResultBytes ? { maxResultBytes: this.options.maxResultBytes } : {}),
      ...(this.options.maxLeaseLosses ? { maxLeaseLosses: this.options.maxLeaseLosses } : {}),
      // Monotonic per claim: every claim (and every write) bumps the row version.
      fencingToken: committed ? fence.rowVersion : 1,
      committed: (t) => {
        this.announcing.delete(t.sagaId);
        this.waiters.wake(t.sagaId);
      },
      ...(observer ? { observer: (o: SagaObservation) => observer({ ...o, sagaName: definition.name }) } : {}),
      ...(snapshot ? { snapshot: snapshot as never } : {}),
      ...(this.interceptors.length ? { interceptors: this.interceptors } : {}),
      persist: async (t) => {
        try {
          await this.write(live, t, onInsert);
          firstWrite.resolve();
        } catch (error) {
          // UNLOADED from the first write: the id existed, that run stands (startSaga answers created: false).
          if (error === UNLOADED) firstWrite.resolve();
          else firstWrite.reject(error);
          throw error;
        }
      },
    });
    const live: Live = { execution, definition, fence, delivered: new Set(), consumedUpTo: 0, committed, lost: false, journal: new JournalWriter(snapshot !== undefined) };
    this.live.set(id, live);
    execution.result.catch((error: unknown) => {
      // The outcome of a saga is handled by write() (final, failed and waiting sagas are unloaded there);
      // a failed saga that was resumed to retry its compensation keeps running. Only a stop ends it here.
      if (error instanceof SagaFailedError) return;
      if (this.live.get(id) === live) this.live.delete(id);
      // A transient write fault leaves the stored saga intact: it is taken up again once its lease expires.
      if (error !== UNLOADED && !(error instanceof StaleRecordError) && this.running) this.gate.executionFailed(id, error, () => this.wakeAt(this.clock.now() + this.leaseMs));
    });
    execution.start();
    return Object.assign(live, { firstWrite: first });
  }

  /** The one commit of a transition: the new snapshot, its status and due time, the history it added, the inbox events it consumed. */
  private async write(live: Live, t: Transition, onInsert?: (inserted: boolean, record: SagaRecord) => void): Promise<void> {
    const { execution } = live;
    // A resume changes no state; it is written only to record the steps it runs again (for the audit trail).
    if (t.event.type === 'orsa.resume' && t.observations.length === 0) return;
    const now = this.clock.now();
    const final = FINAL_STATUSES.includes(t.status);
    // A waiting (or failed) saga leaves memory, unless events for it are already queued here.
    const unload = (t.status === 'waiting' || t.status === 'failed') && !execution.hasQueuedEvents();
    const persisted = t.persisted() as unknown as { context: SagaContext };
    // The write carries the control state and only the results, visits and log entries this transition added.
    const split = live.journal.split(persisted);
    const patch = {
      status: t.status,
      snapshot: split.control,
      // A running saga is "due" when its lease expires: that is when another worker may take it over.
      dueAt: final ? null : unload ? t.dueAt : Math.min(t.dueAt ?? Infinity, now + this.leaseMs),
      leaseUntil: final || unload ? null : now + this.leaseMs,
    };
    const history = historyFor(t, live.definition, persisted.context, this.workerId, execution);
    let record: SagaRecord;
    if (t.event.type === 'orsa.start') {
      const result = await this.store.insert(
        {
          id: t.sagaId,
          sagaName: live.definition.name,
          version: live.definition.version,
          owner: patch.leaseUntil === null ? null : this.workerId,
          now,
          ...patch,
          journal: split.journal.entries,
        },
        history,
      );
      onInsert?.(result.inserted, result.record);
      // The same id was started before: that run stands. Thrown, so nothing of this run is observed.
      if (!result.inserted) throw UNLOADED;
      record = result.record;
      live.committed = true;
    } else {
      const seq = typeof t.event.seq === 'number' ? t.event.seq : undefined;
      try {
        record = await this.store.update(t.sagaId, live.fence, { ...patch, journal: split.journal }, history, { now, ...(seq !== undefined ? { consumedInboxSeq: seq } : {}) });
      } catch (error) {
        // The fence moved: another worker claimed the saga, so this one lost its lease during what it ran.
        if (error instanceof StaleRecordError) this.leaseLost(live, t);
        throw error;
      }
      if (seq !== undefined) consumed(live, seq);
    }
    split.written();
    live.fence.rowVersion = record.rowVersion;
    if (hasEnded(t.status)) this.announcing.add(t.sagaId);
    const hooks = this.options.hooks;
    // The hook sees the whole snapshot, as get() would return it (assembled only when someone listens).
    if (hooks?.onStore) await this.guard(() => hooks.onStore!({ ...record, snapshot: JSON.stringify(persisted) }));
    // Only when it becomes final: a failed saga that takes an event (and stays failed) is not aborted again.
    if (hasEnded(record.status) && t.previous !== t.status && (hooks?.onComplete || hooks?.onAbort)) await this.finished(record, persisted.context);
    if (final || unload) {
      if (this.live.get(t.sagaId) === live) this.live.delete(t.sagaId);
      execution.stop(UNLOADED);
      this.wakeAt(patch.dueAt);
    }
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


  private async finished(record: SagaRecord, context: SagaContext): Promise<void> {
    const outcome = outcomeOf(record, context);
    const hooks = this.options.hooks;
    if (outcome.ok) await this.guard(() => hooks?.onComplete?.(record, outcome.results));
    else await this.guard(() => hooks?.onAbort?.(record, outcome.error));
  }

  /**
   * Wakes the poller when an unloaded saga falls due (sooner than the next regular poll). One timer per
   * process, for the earliest due time: a saga parked on a timed wait costs no memory here, and the poll
   * it triggers sets the timer again from the store's `nextDueAt`.
   */
  private wakeAt(dueAt: number | null): void {
    if (dueAt === null || !this.running) return;
    if (this.wake && this.wake.at <= dueAt) return;
    if (this.wake) this.clock.clearTimeout(this.wake.handle);
    const handle = this.clock.setTimeout(() => {
      if (this.wake?.handle === handle) this.wake = null;
      void this.poll();
    }, Math.max(0, dueAt - this.clock.now()));
    this.wake = { handle, at: dueAt };
  }

  /** Sets the wake-up timer from the store's earliest due time among the sagas this runtime runs. */
  private async wakeForNextDue(): Promise<void> {
    if (!this.running) return;
    const next = await this.store.nextDueAt([...this.versionsByName.keys()]);
    const now = this.clock.now();
    if (next === null) return;
    if (next > now) {
      this.dueBackoffMs = 0;
      this.wakeAt(next);
      return;
    }
    // Due already: a saga this poll just resumed whose first write (with its next due time) is still under way,
    // or one it cannot claim (another worker's, or unreadable here). Look again soon, backing off up to the
    // poll interval, so that neither case spins.
    this.dueBackoffMs = Math.min(this.options.pollIntervalMs ?? 1_000, Math.max(10, this.dueBackoffMs * 2));
    this.wakeAt(now + this.dueBackoffMs);
  }

  private async renew(): Promise<void> {
    // Only committed records: a start whose insert has not committed has no row to renew yet (PostgreSQL's
    // renew would not see it), and its insert sets the lease anyway.
    const renewing = [...this.live.entries()].filter(([, live]) => live.committed);
    if (renewing.length === 0) return;
    const now = this.clock.now();
    const held = new Set(await this.store.renew(this.workerId, renewing.map(([id]) => id), now + this.leaseMs, now));
    const refused = renewing.filter(([id]) => !held.has(id));
    // A lease that only lapsed (this worker was too busy to renew it in time) while no other worker took the
    // saga is not lost: the record still names this worker and the fence of its writes holds, so it goes on
    // here and its next write renews the lease. Lost means taken over or released, as a refused write means.
    const owners = await Promise.all(refused.map(([id]) => this.store.get(id).then((r) => r?.owner, () => this.workerId)));
    for (const [i, [id, live]] of refused.entries()) {
      if (owners[i] === this.workerId || this.live.get(id) !== live) continue;
      this.live.delete(id);
      this.leaseLost(live);
      live.execution.stop(new StaleRecordError(id, `saga ${id}: this worker lost its lease (it was not renewed in time); it stopped running it here`));
    }
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

/** `host:pid:random` in Node; `browser:random` where there is no process (a bundle for a page). */
function defaultWorkerId(): string {
  const node = globalThis.process?.getBuiltinModule?.('node:os');
  const where = node ? `${node.hostname()}:${globalThis.process.pid}` : 'browser';
  return `${where}:${Math.random().toString(36).slice(2, 8)}`;
}
