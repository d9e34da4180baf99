import { createActor, type Actor, type AnyStateMachine, type InspectionEvent, type Observer, type Snapshot } from 'xstate';
import { ExecutionStoppedError, isNonRetryable, LeaseLostError, NonRetryableError, SagaFailedError, SagaRollingBackError, StepTimeoutError, toErrorRecord, UnknownEventError } from '../errors.js';
import { readOnlyView, toPlain } from '../core/append-map.js';
import { TAGS } from '../core/compile.js';
import type { SagaContext, SagaEvent } from '../core/machine.js';
import type { SagaDefinition } from '../core/definition.js';
import type { StepNode } from '../core/types.js';
import { systemClock, type Clock } from './clock.js';
import { dueAtOf, observe, reportOf, statusOf, type ExecutionStatus, type SagaObservation } from './observe.js';
import { assertSerializable, DEFAULT_MAX_RESULT_BYTES } from './serialize.js';
import { StepRun } from './step-run.js';
import { activeInterceptors, Interception, type SagaInterceptor } from '../observe/interceptors.js';

/** What the interpreter hands to a persister before it lets a transition's effects start. */
export interface Transition {
  sagaId: string;
  event: SagaEvent;
  status: ExecutionStatus;
  /** The status before this transition (null for the first one of this execution). */
  previous: ExecutionStatus | null;
  dueAt: number | null;
  /** Returns the persisted snapshot (computed on demand: in-memory runs never pay for it). */
  persisted: () => Snapshot<unknown>;
  observations: SagaObservation[];
}

/** Options of one saga execution. */
export interface ExecutionOptions {
  /** The saga instance id. Default: a random UUID. */
  sagaId?: string;
  /** Default: the system clock. Pass `createTestClock()` in tests. */
  clock?: Clock;
  /** Source of randomness for retry jitter, in [0, 1). Default Math.random. */
  random?: () => number;
  /** XState's inspection hook: pass `createBrowserInspector().inspect` or a WebSocket inspector's (an observer or a function). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Receives every observation (step started, completed, retrying, …). */
  observer?: (observation: SagaObservation) => void;
  /** Largest step result accepted, in bytes of JSON. Default 1 MiB. */
  maxResultBytes?: number;
  /** @internal The fencing token steps receive (the record's row version at claim). Default 0 (no lease). */
  fencingToken?: number;
  /** @internal A step execution whose lease was lost this many times fails with LEASE_LOST. Default 3. */
  maxLeaseLosses?: number;
  /** @internal Called after a persisted transition's observations were emitted (even when the write unloaded the saga). */
  committed?: (transition: Transition) => void;
  /** @internal A persisted snapshot to resume from. */
  snapshot?: Snapshot<unknown>;
  /** @internal Called for every transition before its effects start; a rejection stops the execution. */
  persist?: (transition: Transition) => Promise<void> | void;
  /** Wrap the saga run, each step attempt and each compensation attempt (tracing, logging, metrics). First is outermost. Default: none. */
  interceptors?: readonly SagaInterceptor[];
}

type SagaSnapshot = ReturnType<Actor<AnyStateMachine>['getSnapshot']> & { context: SagaContext };

const noop = () => {};

/** How often a step execution may lose its lease before it fails with LEASE_LOST. */
export const DEFAULT_MAX_LEASE_LOSSES = 3;

/**
 * The interpreter of one saga instance: it runs the XState actor, executes
 * the effects the statechart asks for (steps, compensations, probes, timers)
 * and feeds their outcomes back as events. Events are processed one at a time;
 * with a persister, each transition is written before its effects start.
 */
export class Execution<R = unknown> {
  readonly sagaId: string;
  readonly result: Promise<R>;
  private actor!: Actor<AnyStateMachine>;
  private readonly input: unknown;
  /** Set only when interceptors are given: the hot path pays nothing without them. */
  private hooks: Interception | undefined;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly running = new Map<string, StepRun>();
  private readonly queue: SagaEvent[] = [];
  private readonly observers = new Set<(o: SagaObservation) => void>();
  private snapshot!: SagaSnapshot;
  private status: ExecutionStatus | null = null;
  private draining = false;
  private stopped = false;
  private compRunning: string | null = null;
  private sideTaskRunning: string | null = null;
  /**
   * Effects that settled while the machine has not yet taken their outcome
   * (it waits in the queue): a commit of an older snapshot must not start them again.
   */
  private readonly settled = new Set<string>();
  private timer: { handle: unknown; at: number } | null = null;
  private resolve!: (value: R) => void;
  private reject!: (error: unknown) => void;

  constructor(
    readonly definition: SagaDefinition<any, any>,
    input: unknown,
    private readonly options: ExecutionOptions = {},
  ) {
    this.sagaId = options.sagaId ?? crypto.randomUUID();
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.result = new Promise<R>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.result.catch(noop); // a caller that never awaits must not crash the process
    if (options.observer) this.observers.add(options.observer);
    this.input = input;
  }

  /** Starts (or resumes) the actor and the effects of its current state. */
  start(): this {
    const interceptors = activeInterceptors(this.options.interceptors);
    if (!interceptors) return this.boot(undefined);
    this.hooks = new Interception(interceptors);
    const stored = (this.options.snapshot as { context?: SagaContext } | undefined)?.context?.headers;
    this.processing = true; // events sent meanwhile wait until the run begins
    this.hooks.begin(
      { sagaId: this.sagaId, sagaName: this.definition.name, version: this.definition.version, resumed: !!this.options.snapshot, headers: { ...stored } },
      {
        boot: (run) => this.boot(run.headers),
        listen: (listener) => this.observers.add(listener),
        fail: (error) => this.stop(error),
        state: () => ({ status: this.status, failure: this.snapshot?.context.failure?.error }),
      },
    );
    return this;
  }

  private boot(headers: Record<string, string> | undefined): this {
    const snapshot = this.options.snapshot;
    this.actor = createActor(this.definition.machine, {
      id: this.sagaId,
      systemId: this.sagaId,
      // Headers are stored once, with the saga: a resume keeps the ones of its first run.
      input: { sagaId: this.sagaId, input: this.input, now: this.clock.now(), ...(headers && Object.keys(headers).length > 0 ? { headers } : {}) },
      ...(snapshot ? { snapshot } : {}),
      ...(this.options.inspect ? { inspect: this.options.inspect } : {}),
    });
    // Unheard, XState rethrows an actor's error later, outside any caller (a crashed process): hear it, and end here.
    this.actor.subscribe({ error: (error) => this.stop(error ?? new ExecutionStoppedError()) });
    this.actor.start();
    this.snapshot = this.actor.getSnapshot() as SagaSnapshot;
    // A resumed saga already had its status: resuming is not news (no saga.* observation, no hook).
    if (snapshot) this.status = statusOf(this.snapshot);
    // Events sent while interceptors held the run back come after the start.
    this.processing = false;
    const early = this.queue.splice(0);
    this.enqueue({ type: snapshot ? 'orsa.resume' : 'orsa.start', now: this.clock.now() });
    for (const event of early) this.enqueue(event);
    return this;
  }

  /** Subscribes to observations; returns the unsubscribe function. */
  subscribe(listener: (observation: SagaObservation) => void): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  /**
   * Sends an event to the saga: a `waitFor` step consumes it; events sent
   * before the saga waits for them are kept. Rejects with `InvalidEventError`
   * (and delivers nothing) when the payload fails the wait's schema.
   */
  async send(name: string, payload?: unknown): Promise<void> {
    if (typeof name !== 'string' || !this.definition.compiled.events.includes(name)) {
      throw new UnknownEventError(this.definition.name, String(name), this.definition.compiled.events);
    }
    const value = await this.definition.validateEvent(name, payload);
    this.enqueue({ type: 'orsa.event', name, payload: value ?? null, now: this.clock.now() });
  }

  /** @internal Delivers a stored event (it carries the store's `seq`, so the write that handles it also consumes it). */
  deliver(event: SagaEvent): void {
    this.enqueue(event);
  }

  /** Aborts the running steps and compensates what completed; the saga ends `cancelled`. */
  cancel(): void {
    this.enqueue({ type: 'orsa.cancel', now: this.clock.now() });
  }

  /** Retries the compensation of a saga that ended `failed`. */
  retryCompensation(): void {
    this.enqueue({ type: 'orsa.retryCompensation', now: this.clock.now() });
  }

  /** @internal The step executions under way here (a worker that loses its lease reports them). */
  runningSteps(): { step: string; exec: string; attempt: number }[] {
    return [...this.running.values()].map((run) => ({ step: run.step, exec: run.exec, attempt: run.attempt }));
  }

  /** @internal Whether events wait in the queue behind the transition being written. */
  hasQueuedEvents(): boolean {
    return this.queue.length > 0;
  }

  /** Current status. */
  getStatus(): ExecutionStatus {
    return this.status ?? statusOf(this.snapshot);
  }

  /** The statechart snapshot (for inspection and tests). */
  getSnapshot(): SagaSnapshot {
    return this.snapshot;
  }

  /** The snapshot as it is persisted. */
  getPersistedSnapshot(): Snapshot<unknown> {
    return this.actor.getPersistedSnapshot();
  }

  /** Stops without finishing: aborts running steps and drops their outcomes (a resume reruns them). */
  stop(reason: unknown = new ExecutionStoppedError()): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const run of this.running.values()) {
      run.abort(reason);
      if (run.timeout !== undefined) this.clock.clearTimeout(run.timeout);
    }
    this.running.clear();
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    this.timer = null;
    this.actor?.stop();
    this.reject(reason);
    this.hooks?.stopped(reason);
  }

  // ---- the loop ----

  private processing = false;

  private enqueue(event: SagaEvent): void {
    // A finished saga takes no more events (a failed one still takes retryCompensation).
    if (this.stopped || this.status === 'completed' || this.status === 'compensated' || this.status === 'cancelled') return;
    this.queue.push(event);
    // Effects enqueue outcomes while the loop runs: they wait their turn.
    if (!this.processing) this.process();
  }

  /** Any throw of the loop (a malformed event, a statechart that throws) ends this execution with it, never the process. */
  private process(): void {
    try {
      this.processQueue();
    } catch (error) {
      this.processing = false;
      this.stop(error);
    }
  }

  private processQueue(): void {
    this.processing = true;
    while (this.queue.length > 0 && !this.stopped) {
      const event = this.queue.shift()!;
      const before = this.snapshot;
      const first = event.type === 'orsa.start' || event.type === 'orsa.resume';
      let after = before;
      if (!first) {
        this.actor.send(event);
        after = this.actor.getSnapshot() as SagaSnapshot;
        // Nothing handled it (a stale outcome, an early wake). A stored event is still committed, to consume it.
        if (after === before && event.seq === undefined) continue;
      }
      if (!this.commit(event, after, first ? undefined : before)) return; // resumes once persisted
    }
    if (this.effectsOwed && !this.stopped) {
      this.effectsOwed = false;
      this.effects(this.snapshot);
    }
    this.processing = false;
  }

  /**
   * Set when a resume's effects wait for the stored events queued behind it: a `leaseLost`
   * command among them must be counted before a step runs again, not after.
   */
  private effectsOwed = false;

  /** Records a new snapshot, persists it when asked to, then runs its effects. Returns false when that goes on asynchronously. */
  private commit(event: SagaEvent, after: SagaSnapshot, before: SagaSnapshot | undefined): boolean {
    const previous = this.status;
    const status = statusOf(after);
    this.snapshot = after;
    this.status = status;
    const persist = this.options.persist;
    const observations =
      persist || this.observers.size > 0 ? observe(this.sagaId, event, before?.context ?? null, after.context, status, previous) : [];
    if (!persist) {
      this.emit(observations);
      this.hooks?.reached(this.hooks.current, status, dueAtOf(after.context), this.clock.now());
      this.effects(after);
      return true;
    }
    const transition: Transition = {
      sagaId: this.sagaId,
      event,
      status,
      previous,
      dueAt: dueAtOf(after.context),
      persisted: () => persistedOf(after),
      observations,
    };
    this.hooks?.writing();
    Promise.resolve()
      .then(() => persist(transition))
      .then(
        () => {
          // Stored, so it happened: observers hear of it even when the write unloaded the saga.
          try {
            this.emit(observations);
          } finally {
            this.options.committed?.(transition);
          }
          this.hooks?.written(this.stopped, this.status, dueAtOf(after.context), this.clock.now());
          if (this.stopped) return;
          if (event.type === 'orsa.resume' && this.queue.length > 0) this.effectsOwed = true;
          else {
            this.effectsOwed = false;
            this.effects(after);
          }
          this.process();
        },
        (error) => {
          this.stop(error);
          this.hooks?.written(true, null, null, this.clock.now()); // stopped during the write: the run ends now
        },
      );
    return false;
  }

  private emit(observations: SagaObservation[]): void {
    for (const observation of observations) for (const observer of this.observers) observer(observation);
  }

  /** Starts what the statechart asks for and is not yet under way. */
  private effects(snapshot: SagaSnapshot): void {
    const context = snapshot.context;
    const status = this.status!;
    if (status === 'completed') return this.finish(() => this.resolve(toPlain(context.results) as R));
    if (status === 'compensated' || status === 'cancelled' || status === 'failed') {
      // A failed saga may be retried: its compensation then starts afresh, as attempt 1.
      this.settled.clear();
      const error = new SagaFailedError(this.sagaId, status, context.failure?.step ?? null, context.failure?.error, reportOf(context));
      return this.finish(() => this.reject(error), status === 'failed');
    }
    // Steps under way when the rollback starts are aborted. Active steps this process did not start
    // (a takeover mid-rollback) are run again below with a live signal, on purpose: the crashed run may
    // have done its side effect; an idempotent re-run completes, and what completes is compensated.
    if (snapshot.hasTag(TAGS.draining) && !this.draining) {
      this.draining = true;
      const reason = new SagaRollingBackError();
      for (const run of this.running.values()) run.abort(reason);
    }
    // Settled effects whose outcome the chart has taken are forgotten (a retry or a revisit has a new key).
    if (this.settled.size > 0) this.forgetSettled(snapshot);
    const losses = context.leaseLosses;
    for (const step in context.active) {
      const entry = context.active[step]!;
      const run = this.running.get(step);
      if ((!run || run.exec !== entry.exec || run.attempt !== entry.attempt) && !this.settled.has(`${entry.exec}@${entry.attempt}`)) {
        const lost = losses && Object.hasOwn(losses, entry.exec) ? losses[entry.exec]! : 0;
        if (lost >= (this.options.maxLeaseLosses ?? DEFAULT_MAX_LEASE_LOSSES)) this.leaseLost(step, entry.exec, entry.attempt, context, lost);
        else this.runStep(step, entry.exec, entry.attempt, context);
      }
    }
    const comp = snapshot.hasTag(TAGS.compensating) ? context.comp : null;
    if (comp) {
      const key = `undo:${comp.exec}@${comp.attempt}`;
      if (this.compRunning !== key && !this.settled.has(key)) this.runCompensation(context, key);
    }
    if (snapshot.hasTag(TAGS.readiness)) {
      this.runSideTask('readiness', () => this.definition.checkReadiness(context.input, this.sagaId), 'orsa.ready', 'orsa.notReady');
    }
    if (snapshot.hasTag(TAGS.catch)) {
      this.runSideTask('catch', () => this.definition.callCatch(context, statusAfterCatch(context), reportOf(context)), 'orsa.caught', 'orsa.caught');
    }
    this.schedule(dueAtOf(context));
  }

  private forgetSettled(snapshot: SagaSnapshot): void {
    const context = snapshot.context;
    const wanted = new Set<string>();
    for (const step in context.active) wanted.add(`${context.active[step]!.exec}@${context.active[step]!.attempt}`);
    if (snapshot.hasTag(TAGS.compensating) && context.comp) wanted.add(`undo:${context.comp.exec}@${context.comp.attempt}`);
    if (snapshot.hasTag(TAGS.readiness)) wanted.add('readiness');
    if (snapshot.hasTag(TAGS.catch)) wanted.add('catch');
    for (const key of this.settled) if (!wanted.has(key)) this.settled.delete(key);
  }

  private finish(settle: () => void, keepActor = false): void {
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    this.timer = null;
    this.hooks?.end();
    settle();
    if (!keepActor) this.actor.stop();
  }

  private schedule(dueAt: number | null): void {
    if (this.timer && this.timer.at === dueAt) return;
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    this.timer = null;
    if (dueAt === null) return;
    const handle = this.clock.setTimeout(() => {
      this.timer = null;
      this.enqueue({ type: 'orsa.wake', now: Math.max(this.clock.now(), dueAt) });
    }, Math.max(0, dueAt - this.clock.now()));
    this.timer = { handle, at: dueAt };
  }

  /** A step execution that kept losing its lease: it fails for good instead of running again. */
  private leaseLost(step: string, exec: string, attempt: number, context: SagaContext, losses: number): void {
    const run = new StepRun(step, exec, attempt, context.input, readOnlyView(context.results), this.sagaId, this.options.fencingToken ?? 0);
    this.running.set(step, run);
    this.stepFailed(run, new LeaseLostError(step, losses));
  }

  private runStep(step: string, exec: string, attempt: number, context: SagaContext): void {
    const node = this.definition.node(step) as StepNode;
    const run = new StepRun(step, exec, attempt, context.input, readOnlyView(context.results), this.sagaId, this.options.fencingToken ?? 0);
    this.running.set(step, run);
    const timeoutMs = this.definition.compiled.steps[step]!.timeoutMs;
    if (timeoutMs !== null) {
      run.timeout = this.clock.setTimeout(() => {
        const error = new StepTimeoutError(step, timeoutMs);
        run.abort(error);
        this.stepFailed(run, error);
      }, timeoutMs);
    }
    let pending: unknown;
    try {
      pending = this.hooks?.wraps('step') ? this.hooks.step(this.hooks.call('step', step, exec, attempt, run.idempotencyKey, run), () => this.checked(run, node)) : node.run(run);
    } catch (error) {
      return this.stepFailed(run, error);
    }
    Promise.resolve(pending).then(
      (result) => this.stepReturned(run, node, result),
      (error) => this.stepFailed(run, error),
    );
  }

  private stepReturned(run: StepRun, node: StepNode, result: unknown): void {
    if (run.settled) return;
    try {
      // Checked inside the interceptors already, unless one of them changed the result.
      const goto = run.accepted !== undefined && run.accepted.result === result ? run.accepted.goto : this.accept(run, node, result);
      this.stepSettled(run, { type: `orsa.done.${run.step}`, exec: run.exec, result, goto, now: this.clock.now() });
    } catch (error) {
      this.stepFailed(run, error);
    }
  }

  /** The step function as interceptors see it: a result the saga refuses is thrown inside them, so a span ends with the error. */
  private checked(run: StepRun, node: StepNode): unknown {
    const pending = node.run(run);
    const check = (result: unknown) => (this.accept(run, node, result), result);
    return typeof (pending as PromiseLike<unknown> | null)?.then === 'function' ? Promise.resolve(pending).then(check) : check(pending);
  }

  /** Checks a step's result (serialisable, a known goto target) and returns where it goes; throws what the step fails with. */
  private accept(run: StepRun, node: StepNode, result: unknown): string | null {
    const step = run.step;
    assertSerializable(step, result, this.options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES);
    const goto = node.goto ? (node.goto.decide({ input: run.input, results: run.results, result }) ?? null) : null;
    if (goto !== null && !node.goto!.targets.includes(goto)) {
      throw new NonRetryableError(`step "${step}": goto decide returned "${String(goto)}", which is not among its targets (${node.goto!.targets.join(', ')})`);
    }
    run.accepted = { result, goto };
    return goto;
  }

  private stepFailed(run: StepRun, error: unknown): void {
    if (run.settled) return;
    const step = run.step;
    this.stepSettled(run, {
      type: `orsa.fail.${step}`,
      exec: run.exec,
      error: toErrorRecord(error),
      retryable: this.definition.isRetryable(step, error),
      random: this.random(),
      now: this.clock.now(),
    });
  }

  private stepSettled(run: StepRun, outcome: SagaEvent): void {
    run.settled = true;
    // Without a persister every commit is effected at once, on the latest snapshot: nothing can be stale.
    if (this.options.persist) this.settled.add(`${run.exec}@${run.attempt}`);
    if (run.timeout !== undefined) this.clock.clearTimeout(run.timeout);
    if (this.running.get(run.step) === run) this.running.delete(run.step);
    this.enqueue(outcome);
  }

  private runCompensation(context: SagaContext, key: string): void {
    const comp = context.comp!;
    this.compRunning = key;
    const entry = context.log.find((e) => e.exec === comp.exec)!;
    const node = this.definition.node(entry.step) as StepNode;
    // A failed execution of a step that declared compensateOnFailure is undone with its error instead of a result.
    const failed = entry.error !== undefined;
    const ctx = {
      input: context.input,
      results: readOnlyView(context.results),
      result: failed ? undefined : entry.result,
      ...(node.compensateOnFailure ? { failed, error: entry.error } : {}),
      signal: new AbortController().signal,
      attempt: comp.attempt,
      sagaId: this.sagaId,
      step: entry.step,
      idempotencyKey: `${this.sagaId}:${comp.exec}:compensate`,
      fencingToken: this.options.fencingToken ?? 0,
    };
    const finish = (event: SagaEvent) => {
      if (this.compRunning === key) this.compRunning = null;
      this.settled.add(key);
      this.enqueue(event);
    };
    const call = () => node.compensate!(ctx);
    const hooks = this.hooks?.wraps('compensation') ? this.hooks : undefined;
    new Promise((resolve) => resolve(hooks ? hooks.step(hooks.call('compensation', entry.step, comp.exec, comp.attempt, ctx.idempotencyKey, ctx), call) : call())).then(
      () => finish({ type: 'orsa.compensated', exec: comp.exec, now: this.clock.now() }),
      (error) =>
        finish({
          type: 'orsa.compensationFailed',
          exec: comp.exec,
          error: toErrorRecord(error),
          retryable: !isNonRetryable(error),
          random: this.random(),
          now: this.clock.now(),
        }),
    );
  }

  private runSideTask(name: string, task: () => unknown, ok: string, ko: string): void {
    if (this.sideTaskRunning === name || this.settled.has(name)) return;
    this.sideTaskRunning = name;
    const finish = (event: SagaEvent) => {
      this.sideTaskRunning = null;
      this.settled.add(name);
      this.enqueue(event);
    };
    new Promise((resolve) => resolve(task())).then(
      () => finish({ type: ok, now: this.clock.now() }),
      (error) => finish({ type: ko, error: toErrorRecord(error), now: this.clock.now() }),
    );
  }
}

/**
 * The persisted form of a snapshot, as XState's getPersistedSnapshot makes it
 * for a machine without child actors (orsa's never has any), without its
 * deep copy of the context: the caller serialises it at once.
 */
function persistedOf(snapshot: SagaSnapshot): Snapshot<unknown> {
  const s = snapshot as SagaSnapshot & { historyValue: unknown; output?: unknown; error?: unknown; status: string; value: unknown };
  return { status: s.status, value: s.value, historyValue: s.historyValue, context: s.context, children: {}, output: s.output, error: s.error } as unknown as Snapshot<unknown>;
}

function statusAfterCatch(context: SagaContext): 'compensated' | 'failed' | 'cancelled' {
  if (context.compError) return 'failed';
  return context.cancelled ? 'cancelled' : 'compensated';
}
