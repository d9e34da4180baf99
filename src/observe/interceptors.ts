import type { ErrorRecord } from '../errors.js';
import type { ExecutionStatus, SagaObservation } from '../interpretation/observe.js';

/**
 * Interceptors wrap what the interpreter runs, Temporal-style `(input, next)`:
 * a saga run, a step attempt, a compensation attempt. Tracing and logging are
 * interceptors; the interpreter only calls the composed chain.
 */

/** One run of a saga by one interpreter: from its start or resume until it ends, waits (unloaded) or is stopped. */
export interface SagaRun {
  sagaId: string;
  sagaName: string;
  version: string;
  /** True when this run resumes a stored snapshot (after a crash, a takeover or a wake). */
  resumed: boolean;
  /**
   * String headers carried with the saga (W3C `traceparent`, baggage, …). On a
   * fresh run, the headers given to the innermost `next` are stored with the
   * saga; a resumed run receives the stored ones.
   */
  headers: Record<string, string>;
}

/** How a run ended. */
export interface SagaRunEnd {
  /** The saga's status when this run ended (`waiting` when it was unloaded to wait). */
  status: ExecutionStatus;
  /** The error the saga failed with (compensated, failed, cancelled after a failure). */
  failure?: ErrorRecord;
  /** Set when the run stopped before the saga ended or waited: the runtime stopped, the lease was lost, a write failed. */
  interrupted?: unknown;
}

/** One attempt of a step or of a compensation. */
export interface StepCall {
  kind: 'step' | 'compensation';
  run: SagaRun;
  step: string;
  /** The execution id (`step#visit`), stable across retries and resumes. */
  exec: string;
  attempt: number;
  idempotencyKey: string;
  /** Aborted when the attempt times out, the saga rolls back or the run stops. */
  signal: AbortSignal;
}

/** Facts of a run an interceptor may record: the saga's observations, plus the moment it starts to wait. */
export type SagaRunEvent = SagaObservation | { type: 'saga.waiting'; sagaId: string; at: number; dueAt: number | null };

/**
 * Wraps the work of a saga. Every method is optional; each must call `next`
 * once (or throw) and return what it returns. `run` must call `next`
 * synchronously or soon: the saga does not start until it does.
 *
 * @example
 * ```ts
 * const timing: SagaInterceptor = {
 *   async step(call, next) {
 *     const started = performance.now();
 *     try { return await next(call); } finally { metrics.observe(call.step, performance.now() - started); }
 *   },
 * };
 * createRuntime({ sagas: [order], interceptors: [timing] });
 * ```
 */
export interface SagaInterceptor {
  /**
   * Asked once as each saga run starts: `false` leaves this run (its steps,
   * compensations and events) untouched by this interceptor, at no cost.
   * Default: always on. Tracing answers `false` while no OpenTelemetry SDK is registered.
   */
  enabled?(): boolean;
  run?(input: SagaRun, next: (input: SagaRun) => Promise<SagaRunEnd>): Promise<SagaRunEnd>;
  step?(input: StepCall, next: (input: StepCall) => unknown): unknown;
  compensation?(input: StepCall, next: (input: StepCall) => unknown): unknown;
  /** Called for each fact of a run, after it is stored. Must not throw. */
  event?(run: SagaRun, event: SagaRunEvent): void;
}

/**
 * The interceptors that wrap the run about to start (those whose `enabled()`
 * says so), or undefined when none does: the interpreter then runs unwrapped.
 */
export function activeInterceptors(interceptors: readonly SagaInterceptor[] | undefined): readonly SagaInterceptor[] | undefined {
  if (!interceptors || interceptors.length === 0) return undefined;
  if (!interceptors.some((i) => i.enabled)) return interceptors;
  const active = interceptors.filter((i) => isEnabled(i));
  return active.length > 0 ? active : undefined;
}

function isEnabled(interceptor: SagaInterceptor): boolean {
  try {
    return interceptor.enabled?.() ?? true;
  } catch {
    return true; // an interceptor whose check throws still wraps: its own methods report the problem
  }
}

type Wrap<I, O> = (input: I, next: (input: I) => O) => O;

/** What the interpreter tells its Interception about the saga when a run ends. */
export interface RunState {
  status: ExecutionStatus | null;
  failure: ErrorRecord | undefined;
}

/**
 * The interceptors of one execution, composed (the first one given is the
 * outermost), and the lifecycle of its run: the interpreter calls `begin`,
 * the write hooks and `stopped`/`end`; this class decides when the run ends
 * and what the interceptors are told. A call costs one closure per interceptor.
 */
export class Interception {
  /** The run as the innermost interceptor passed it on (its headers are this run's). */
  current: SagaRun | undefined;
  private endRun: ((end: SagaRunEnd) => void) | undefined;
  /** A write is under way: the run ends after its observations are emitted. */
  private persisting = false;
  private interrupted: unknown = undefined;
  private state: () => RunState = () => ({ status: null, failure: undefined });

  private readonly runs: Wrap<SagaRun, Promise<SagaRunEnd>>[];
  private readonly steps: Wrap<StepCall, unknown>[];
  private readonly compensations: Wrap<StepCall, unknown>[];
  private readonly listeners: ((run: SagaRun, event: SagaRunEvent) => void)[];
  private waiting = false;

  constructor(interceptors: readonly SagaInterceptor[]) {
    this.runs = interceptors.flatMap((i) => (i.run ? [i.run.bind(i)] : []));
    this.steps = interceptors.flatMap((i) => (i.step ? [i.step.bind(i)] : []));
    this.compensations = interceptors.flatMap((i) => (i.compensation ? [i.compensation.bind(i)] : []));
    this.listeners = interceptors.flatMap((i) => (i.event ? [i.event.bind(i)] : []));
  }

  /** Whether any interceptor wraps this kind of attempt (else the interpreter calls the function directly). */
  wraps(kind: 'step' | 'compensation'): boolean {
    return (kind === 'step' ? this.steps : this.compensations).length > 0;
  }

  /**
   * Runs the run interceptors; `boot` starts the saga once the innermost calls
   * `next`. `listen` subscribes to the saga's observations; `fail` stops the
   * execution when an interceptor throws.
   */
  begin(input: SagaRun, hooks: { boot: (run: SagaRun) => void; listen: (listener: (o: SagaObservation) => void) => void; fail: (error: unknown) => void; state: () => RunState }): void {
    this.state = hooks.state;
    const ended = new Promise<SagaRunEnd>((resolve) => (this.endRun = resolve));
    this.run(input, (inner) => {
      this.current = inner;
      if (this.listeners.length > 0) hooks.listen((o) => this.event(inner, o));
      hooks.boot(inner);
      return ended;
    }).catch(hooks.fail);
  }

  /** The input of one attempt. */
  call(kind: 'step' | 'compensation', step: string, exec: string, attempt: number, idempotencyKey: string, owner: { readonly signal: AbortSignal }): StepCall {
    return new Attempt(kind, this.current!, step, exec, attempt, idempotencyKey, owner);
  }

  writing(): void {
    this.persisting = true;
  }

  /** A write settled (`failed` when it was refused): the run may wait now, or end if the write unloaded or stopped it. */
  written(stopped: boolean, status: ExecutionStatus | null, dueAt: number | null, at: number): void {
    this.persisting = false;
    if (status && this.current) this.reached(this.current, status, dueAt, at);
    if (stopped) this.end();
  }

  /** The execution stopped: a saga the durable runtime unloads (ended or waiting) ended its run normally; any other reason interrupted it. */
  stopped(reason: unknown): void {
    if (!this.endRun) return;
    if ((reason as { code?: unknown } | null)?.code !== 'SAGA_UNLOADED') this.interrupted = reason;
    this.end();
  }

  /** Ends the run once (after the write under way, if any). */
  end(): void {
    const end = this.endRun;
    if (!end || this.persisting) return;
    this.endRun = undefined;
    const { status, failure } = this.state();
    end({ status: status ?? 'running', ...(failure ? { failure } : {}), ...(this.interrupted !== undefined ? { interrupted: this.interrupted } : {}) });
  }

  run(input: SagaRun, inner: (input: SagaRun) => Promise<SagaRunEnd>): Promise<SagaRunEnd> {
    return dispatch(this.runs, 0, input, inner);
  }

  step(input: StepCall, inner: () => unknown): unknown {
    return dispatch(input.kind === 'step' ? this.steps : this.compensations, 0, input, inner);
  }

  private event(run: SagaRun, event: SagaRunEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(run, event);
      } catch {
        // An observer's bug must not change the saga's course.
      }
    }
  }

  /** Reports the moment the saga starts to wait (once per wait, however many transitions it stays waiting). */
  reached(run: SagaRun | undefined, status: ExecutionStatus, dueAt: number | null, at: number): void {
    if (!run) return;
    const waiting = status === 'waiting';
    if (waiting && !this.waiting) this.event(run, { type: 'saga.waiting', sagaId: run.sagaId, at, dueAt });
    this.waiting = waiting;
  }
}

/** A class with a prototype getter (an object literal with a getter is slow to make): `signal` is read through, so an AbortController is made only when someone asks. */
class Attempt implements StepCall {
  readonly #owner: { readonly signal: AbortSignal };
  constructor(
    readonly kind: 'step' | 'compensation',
    readonly run: SagaRun,
    readonly step: string,
    readonly exec: string,
    readonly attempt: number,
    readonly idempotencyKey: string,
    owner: { readonly signal: AbortSignal },
  ) {
    this.#owner = owner;
  }
  get signal(): AbortSignal {
    return this.#owner.signal;
  }
}

function dispatch<I, O>(chain: Wrap<I, O>[], index: number, input: I, inner: (input: I) => O): O {
  const wrap = chain[index];
  if (!wrap) return inner(input);
  return wrap(input, (next) => dispatch(chain, index + 1, next, inner));
}
