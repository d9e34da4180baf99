import { type Actor, type AnyStateMachine, type Snapshot } from 'xstate';
import { ExecutionStoppedError, SagaFailedError, UnknownEventError } from '../errors.js';
import { toPlain } from '../compilation/append-map.js';
import { assertBacklogRoom, type SagaContext, type SagaEvent } from '../compilation/machine.js';
import type { SagaDefinition } from './definition.js';
import { systemClock, type Clock } from './clock.js';
import { dueAtOf, observe, reportOf, statusOf, type ExecutionStatus, type SagaObservation } from './observe.js';
import { activeInterceptors, Interception } from '../observe/interceptors.js';
import type { ExecutionOptions, SagaSnapshot } from './execution-options.js';
import { writeTransition } from './commit.js';
import { startSagaActor } from './saga-actor.js';
import { Effects } from './effects.js';
import { memoryChildren } from './memory-children.js';
import { PARKED_TAG } from '../compilation/parking.js';

export type { ExecutionOptions, Transition } from './execution-options.js';
export { DEFAULT_MAX_LEASE_LOSSES } from './execution-options.js';

const noop = () => {};

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
  /** The steps, compensation, side tasks and timer under way, and the effects settled but not yet taken. */
  private readonly work: Effects;
  private readonly queue: SagaEvent[] = [];
  private readonly observers = new Set<(o: SagaObservation) => void>();
  private snapshot!: SagaSnapshot;
  private status: ExecutionStatus | null = null;
  private stopped = false;
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
    this.work = new Effects({
      definition,
      sagaId: this.sagaId,
      clock: this.clock,
      random: this.random,
      options,
      hooks: () => this.hooks,
      enqueue: (event: SagaEvent) => this.enqueue(event),
      // In memory, children run here as executions of their own, with this one's clock, randomness and limits.
      children: options.children ?? memoryChildren(options, this.clock, (child, childInput, own) => new Execution(child, childInput, own)),
    });
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
    const { parent, inspect } = this.options;
    startSagaActor(this.definition, { sagaId: this.sagaId, input: this.input, now: this.clock.now(), headers, parent, snapshot, inspect }, {
      created: (actor) => (this.actor = actor),
      failed: (error) => this.stop(error ?? new ExecutionStoppedError()),
    });
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
   * Sends an event to the saga: a `waitFor` step consumes it; events sent before it waits are kept. Delivers
   * nothing and rejects with `InvalidEventError` when the payload fails the wait's schema, with
   * `EventBacklogFullError` when 100 of that name wait unconsumed.
   */
  async send(name: string, payload?: unknown): Promise<void> {
    if (typeof name !== 'string' || !this.definition.compiled.events.includes(name)) {
      throw new UnknownEventError(this.definition.name, String(name), this.definition.compiled.events);
    }
    const value = await this.definition.validateEvent(name, payload);
    assertBacklogRoom(this.sagaId, this.definition.name, name, this.snapshot?.context.inbox ?? [], this.queue);
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
    return this.work.runningSteps();
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
    this.work.stop(reason);
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
    writeTransition(persist, { sagaId: this.sagaId, event, status, previous, after, observations, enteredParking: before !== undefined && after.hasTag(PARKED_TAG) && !before.hasTag(PARKED_TAG) }, {
      hooks: this.hooks,
      stopped: () => this.stopped,
      written: (transition) => {
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
      failed: (error) => {
        this.stop(error);
        this.hooks?.written(true, null, null, this.clock.now()); // stopped during the write: the run ends now
      },
    });
    return false;
  }

  private emit(observations: SagaObservation[]): void {
    for (const observation of observations) for (const observer of this.observers) observer(observation);
  }

  /** Starts what the statechart asks for and is not yet under way. */
  private effects(snapshot: SagaSnapshot): void {
    const context = snapshot.context;
    const status = this.status!;
    if (status === 'completed') {
      this.work.ended(context, status);
      return this.finish(() => this.resolve(toPlain(context.results) as R));
    }
    if (status === 'compensated' || status === 'cancelled' || status === 'failed') {
      // A failed saga may be retried: its compensation then starts afresh, as attempt 1.
      this.work.ended(context, status);
      const error = new SagaFailedError(this.sagaId, status, context.failure?.step ?? null, context.failure?.error, reportOf(context));
      return this.finish(() => this.reject(error), status === 'failed');
    }
    this.work.start(snapshot);
  }

  private finish(settle: () => void, keepActor = false): void {
    this.work.clearTimer();
    this.hooks?.end();
    settle();
    if (!keepActor) this.actor.stop();
  }
}
