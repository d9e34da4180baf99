import { hostname } from 'node:os';
import { OrsaError, SagaFailedError } from '../errors.js';
import type { SagaDefinition } from '../core/definition.js';
import type { SagaContext } from '../core/machine.js';
import { SqliteStore } from '../store/sqlite.js';
import { FINAL_STATUSES, SAGA_STATUSES, StaleRecordError, type HistoryEvent, type ListFilter, type SagaRecord, type SagaStatus, type SagaStore } from '../store/types.js';
import { systemClock, type Clock } from './clock.js';
import { Execution, type Transition } from './execution.js';
import type { RuntimeOptions, SagaInfo } from './runtime-options.js';
import type { SagaObservation } from './observe.js';
import { historyFor } from './history-entries.js';
import { inspectAs } from './inspect-adapter.js';
import { CorruptRecordError, hasEnded, outcomeOf, parseSnapshot, VersionNotRegisteredError, versionKey } from './records.js';

interface Live {
  execution: Execution<unknown>;
  definition: SagaDefinition<any, any>;
  fence: { rowVersion: number; owner: string };
  /** Inbox seqs handed to the execution: a stored event is delivered once, however often it is read. */
  delivered: Set<number>;
}

const CONTROL_EVENTS: Record<string, string> = {
  $cancel: 'orsa.cancel',
  $retryCompensation: 'orsa.retryCompensation',
  // From `orsa resume`: no transition; its commit consumes it, and the claim that delivered it resumed the saga.
  $resume: 'orsa.nudge',
};
const UNLOADED = new OrsaError('SAGA_UNLOADED', 'the saga is waiting and was unloaded from memory; the runtime wakes it when due');

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
  private readonly quarantine = new Set<string>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly timers = new Set<unknown>();
  private running = false;
  private polling: Promise<void> | null = null;
  private started: Promise<void> | null = null;

  constructor(private readonly options: RuntimeOptions) {
    if (!options?.sagas?.length) throw new OrsaError('RUNTIME_CONFIG', 'createRuntime needs at least one saga: createRuntime({ sagas: [mySaga] })');
    for (const definition of options.sagas) {
      const key = versionKey(definition.name, definition.version);
      if (this.registry.has(key) && this.registry.get(key) !== definition) {
        throw new OrsaError('RUNTIME_CONFIG', `two different definitions of saga "${definition.name}" have version ${definition.version}; give one an explicit .version()`);
      }
      this.registry.set(key, definition);
      this.latest.set(definition.name, definition); // the last one registered starts new instances
      this.versionsByName.set(definition.name, [...(this.versionsByName.get(definition.name) ?? []), definition.version]);
    }
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
    this.store = options.store ?? new SqliteStore({ path: '.orsa/orsa.db' });
    this.clock = options.clock ?? systemClock;
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  /** Opens the store, resumes every unfinished saga it may run, then keeps polling for due and orphaned ones. */
  start(): Promise<void> {
    this.started ??= (async () => {
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
      throw new OrsaError('SAGA_NOT_REGISTERED', `saga "${name}" is not registered with this runtime; pass it in createRuntime({ sagas: [...] })`);
    }
    const validated = await definition.validateInput(input);
    const id = options.id ?? crypto.randomUUID();
    const running = this.live.get(id);
    if (running) {
      // Already running here: starting it again must not launch a second execution.
      if (running.definition.name !== definition.name) throw this.idTaken(id, running.definition.name, definition.name);
      return { id, created: false };
    }
    let created = true;
    let existing: SagaRecord | undefined;
    const live = this.launch(definition, id, validated, undefined, { rowVersion: 0, owner: this.workerId }, (inserted, record) => {
      created = inserted;
      existing = record;
    });
    await live.firstWrite;
    if (!created && existing && existing.sagaName !== definition.name) throw this.idTaken(id, existing.sagaName, definition.name);
    return { id, created };
  }

  /** Resolves with a saga's results once it completes, or rejects with its `SagaFailedError`. Works for sagas run by any worker. */
  async result<R = unknown>(id: string): Promise<R> {
    for (;;) {
      const record = await this.store.get(id);
      if (!record) throw new OrsaError('UNKNOWN_SAGA', `no saga with id "${id}"; check the id (orsa list shows them)`);
      if (hasEnded(record.status) && (record.status !== 'failed' || !this.live.has(id))) {
        const outcome = outcomeOf(record);
        if (outcome.ok) return outcome.results as R;
        throw outcome.error;
      }
      await new Promise<void>((resolve) => {
        const set = this.waiters.get(id) ?? new Set();
        this.waiters.set(id, set);
        const wake = () => {
          set.delete(wake);
          this.clock.clearTimeout(handle);
          resolve();
        };
        set.add(wake);
        // Another worker may finish it: look again now and then.
        const handle = this.clock.setTimeout(wake, this.options.pollIntervalMs ?? 1_000);
      });
    }
  }

  /** A saga's record, its state and whether this runtime can resume it. */
  async get(id: string): Promise<SagaInfo | undefined> {
    const record = await this.store.get(id);
    return record ? this.describe(record) : undefined;
  }

  /** Sagas by status or name, most recently updated first. Unresumable ones carry a `problem`. */
  async list(filter?: ListFilter): Promise<SagaInfo[]> {
    return (await this.store.list(filter)).map((r) => this.describe(r));
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
    const record = await this.store.get(id);
    const definition = record && this.registry.get(versionKey(record.sagaName, record.version));
    const value = definition && !(name in CONTROL_EVENTS) ? await definition.validateEvent(name, payload) : payload;
    await this.store.sendEvent(id, name, JSON.stringify(value ?? null), this.clock.now());
    const live = this.live.get(id);
    // Everything still pending, in order: events stored by other processes before this one come first.
    if (live) this.deliver(live, await this.store.inbox(id));
    else if (this.running) void this.poll(id);
  }

  /** Cancels a saga: running steps are aborted, completed ones compensated. Stored first, like any event. */
  cancel(id: string): Promise<void> {
    return this.send(id, '$cancel');
  }

  /** Retries the compensation of a saga that ended `failed`. */
  retryCompensation(id: string): Promise<void> {
    return this.send(id, '$retryCompensation');
  }

  /** Number of sagas by status. */
  async counts(): Promise<Record<SagaStatus, number>> {
    const counts = Object.fromEntries(SAGA_STATUSES.map((s) => [s, 0])) as Record<SagaStatus, number>;
    return { ...counts, ...(await this.store.countByStatus()) };
  }

  // ---- internals ----

  private describe(record: SagaRecord): SagaInfo {
    const info: SagaInfo = {
      id: record.id,
      sagaName: record.sagaName,
      version: record.version,
      status: record.status,
      dueAt: record.dueAt,
      owner: record.owner,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      state: null,
    };
    try {
      info.state = parseSnapshot(record).value;
      if (!hasEnded(record.status) && !this.registry.has(versionKey(record.sagaName, record.version))) {
        const e = this.versionError(record);
        info.problem = { code: e.code, message: e.message };
      }
    } catch (error) {
      if (error instanceof OrsaError) info.problem = { code: error.code, message: error.message };
    }
    return info;
  }

  private idTaken(id: string, holder: string, wanted: string): OrsaError {
    return new OrsaError('SAGA_ID_TAKEN', `the id "${id}" already belongs to a "${holder}" saga; a "${wanted}" saga needs another id`);
  }

  private versionError(record: SagaRecord): VersionNotRegisteredError {
    const versions = [...this.registry.values()].filter((d) => d.name === record.sagaName).map((d) => d.version);
    return new VersionNotRegisteredError(record.id, record.sagaName, record.version, versions);
  }

  /** Unfinished sagas this runtime knows by name but not by version: reported once, never touched. */
  private async reportUnresumable(): Promise<void> {
    const names = new Set(this.latest.keys());
    const unfinished = await this.store.list({ status: ['running', 'waiting', 'compensating', 'failed'], limit: 10_000 });
    for (const record of unfinished) {
      if (names.has(record.sagaName) && !this.registry.has(versionKey(record.sagaName, record.version))) this.report(this.versionError(record));
    }
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

  /** Takes over due, orphaned or signalled sagas (or one id), and delivers stored events to the ones it runs. */
  private poll(id?: string): Promise<void> {
    const run = async () => {
      if (!this.running) return;
      // One claim per saga name with that name's versions: a (name, version) pair this worker
      // cannot run is never touched, even when the version string belongs to another saga.
      for (const [name, versions] of this.versionsByName) {
        const now = this.clock.now();
        const claimed = await this.store.claim({
          owner: this.workerId,
          now,
          leaseUntil: now + this.leaseMs,
          limit: this.options.claimBatch ?? 100,
          dueOnly: true,
          sagaNames: [name],
          versions,
          excludeIds: [...this.live.keys(), ...this.quarantine],
          ...(id ? { id } : {}),
        });
        for (const record of claimed) await this.resume(record);
      }
      if (this.live.size > 0) {
        const pending = await this.store.pendingEvents([...this.live.keys()]);
        for (const event of pending) {
          const live = this.live.get(event.sagaId);
          if (live) this.deliver(live, [event]);
        }
      }
    };
    const next = (this.polling ?? Promise.resolve()).then(() => this.guard(run));
    this.polling = next;
    return next;
  }

  private async resume(record: SagaRecord): Promise<void> {
    const definition = this.registry.get(versionKey(record.sagaName, record.version));
    try {
      if (!definition) throw this.versionError(record);
      const snapshot = parseSnapshot(record);
      // Read the inbox first: its events are queued before the resume's own write, so that write does not unload the saga.
      const inbox = await this.store.inbox(record.id);
      const live = this.launch(definition, record.id, undefined, snapshot, { rowVersion: record.rowVersion, owner: this.workerId });
      this.deliver(live, inbox);
    } catch (error) {
      // Reported and left as it was: only the lease that claim took is given back.
      this.quarantine.add(record.id);
      await this.store.release(record.id, this.workerId).catch(() => {});
      this.report(error instanceof OrsaError ? error : new CorruptRecordError(record.id, String(error), { cause: error }));
    }
  }

  private deliver(live: Live, events: readonly { seq: number; name: string; payload: string }[]): void {
    for (const event of events) {
      if (live.delivered.has(event.seq)) continue;
      live.delivered.add(event.seq);
      const control = CONTROL_EVENTS[event.name];
      if (control) live.execution.deliver({ type: control, seq: event.seq, now: this.clock.now() });
      else live.execution.deliver({ type: 'orsa.event', name: event.name, payload: JSON.parse(event.payload), seq: event.seq, now: this.clock.now() });
    }
  }

  private launch(
    definition: SagaDefinition<any, any>,
    id: string,
    input: unknown,
    snapshot: unknown,
    fence: { rowVersion: number; owner: string },
    onInsert?: (inserted: boolean, record: SagaRecord) => void,
  ): Live & { firstWrite: Promise<void> } {
    let firstWrite!: { resolve: () => void; reject: (e: unknown) => void };
    const first = new Promise<void>((resolve, reject) => (firstWrite = { resolve, reject }));
    const observer = this.options.observer;
    const execution = new Execution<unknown>(definition, input, {
      sagaId: id,
      clock: this.clock,
      ...(this.options.random ? { random: this.options.random } : {}),
      ...(this.options.inspect ? { inspect: inspectAs(this.options.inspect, definition.name, id) } : {}),
      ...(this.options.maxResultBytes ? { maxResultBytes: this.options.maxResultBytes } : {}),
      ...(observer ? { observer: (o: SagaObservation) => observer({ ...o, sagaName: definition.name }) } : {}),
      ...(snapshot ? { snapshot: snapshot as never } : {}),
      persist: async (t) => {
        try {
          await this.write(live, t, onInsert);
          firstWrite.resolve();
        } catch (error) {
          firstWrite.reject(error);
          throw error;
        }
      },
    });
    const live: Live = { execution, definition, fence, delivered: new Set() };
    this.live.set(id, live);
    execution.result.catch((error: unknown) => {
      // The outcome of a saga is handled by write() (final, failed and waiting sagas are unloaded there);
      // a failed saga that was resumed to retry its compensation keeps running. Only a stop ends it here.
      if (error instanceof SagaFailedError) return;
      if (this.live.get(id) === live) this.live.delete(id);
      if (error !== UNLOADED && !(error instanceof StaleRecordError) && this.running) this.report(error);
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
    const patch = {
      status: t.status,
      snapshot: JSON.stringify(persisted),
      // A running saga is "due" when its lease expires: that is when another worker may take it over.
      dueAt: final ? null : unload ? t.dueAt : Math.min(t.dueAt ?? Infinity, now + this.leaseMs),
      leaseUntil: final || unload ? null : now + this.leaseMs,
    };
    const history = historyFor(t, live.definition, persisted.context, this.workerId, execution);
    let record: SagaRecord;
    if (t.event.type === 'orsa.start') {
      const result = await this.store.insert(
        { id: t.sagaId, sagaName: live.definition.name, version: live.definition.version, owner: patch.leaseUntil === null ? null : this.workerId, now, ...patch },
        history,
      );
      onInsert?.(result.inserted, result.record);
      if (!result.inserted) {
        execution.stop(UNLOADED); // the same id was started before: that run stands
        return;
      }
      record = result.record;
    } else {
      const seq = typeof t.event.seq === 'number' ? t.event.seq : undefined;
      record = await this.store.update(t.sagaId, live.fence, patch, history, { now, ...(seq !== undefined ? { consumedInboxSeq: seq } : {}) });
    }
    live.fence.rowVersion = record.rowVersion;
    const hooks = this.options.hooks;
    if (hooks?.onStore) await this.guard(() => hooks.onStore!(record));
    // Only when it becomes final: a failed saga that takes an event (and stays failed) is not aborted again.
    if (hasEnded(record.status) && t.previous !== t.status && (hooks?.onComplete || hooks?.onAbort)) await this.finished(record, persisted.context);
    if (final || unload) {
      if (this.live.get(t.sagaId) === live) this.live.delete(t.sagaId);
      execution.stop(UNLOADED);
      this.wakeAt(patch.dueAt);
    }
    this.waiters.get(t.sagaId)?.forEach((wake) => wake());
  }

  private async finished(record: SagaRecord, context: SagaContext): Promise<void> {
    const outcome = outcomeOf(record, context);
    const hooks = this.options.hooks;
    if (outcome.ok) await this.guard(() => hooks?.onComplete?.(record, outcome.results));
    else await this.guard(() => hooks?.onAbort?.(record, outcome.error));
  }

  /** Wakes the poller when an unloaded saga falls due (sooner than the next regular poll). */
  private wakeAt(dueAt: number | null): void {
    if (dueAt === null || !this.running) return;
    const handle = this.clock.setTimeout(() => {
      this.timers.delete(handle);
      void this.poll();
    }, Math.max(0, dueAt - this.clock.now()));
    this.timers.add(handle);
  }

  private async renew(): Promise<void> {
    const ids = [...this.live.keys()];
    if (ids.length === 0) return;
    const now = this.clock.now();
    const held = new Set(await this.store.renew(this.workerId, ids, now + this.leaseMs, now));
    for (const id of ids) {
      const live = this.live.get(id);
      if (!held.has(id) && live) {
        this.live.delete(id);
        live.execution.stop(new StaleRecordError(id, `saga ${id}: this worker lost its lease (another worker took it over); it stopped running it here`));
      }
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
    (this.options.onError ?? ((e: unknown) => console.error('[orsa]', e)))(error);
  }
}
