import type { SagaLimits } from './limits.js';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { CompensationReport, ErrorRecord } from '../errors.js';
import type { RetryPolicy } from './policy.js';

/** What every step function receives. `results` holds the results of the steps before it, typed. */
export interface StepContext<I, R> {
  /** The saga's input, as validated at start. */
  input: I;
  /** Results of the steps that completed before this one, by step name. */
  results: Readonly<R>;
  /** Aborted on timeout, on cancellation, and when a sibling parallel branch failed for good. */
  signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number;
  sagaId: string;
  /** This step's name. */
  step: string;
  /**
   * Stable for one execution of one step: the same across its retries and
   * across a resume in another process, different for each goto revisit.
   * Pass it to the services you call so they can deduplicate.
   */
  idempotencyKey: string;
  /**
   * This worker's fencing token for the saga: the record's row version when
   * this worker claimed it (or 1 when it started it), in-memory runs 0. Every
   * later claim of the saga, by any worker, gets a larger token; hand it to a
   * system that keeps the largest token it has seen and refuses smaller ones,
   * and a worker that lost its lease without knowing it cannot overwrite the
   * new owner's work there. It does not stop the stale step from running.
   */
  fencingToken: number;
}

/** What a compensation receives: its step's context plus that step's result. */
export interface CompensationContext<I, R, T> extends StepContext<I, R> {
  /** The result of the step execution being undone. */
  result: T;
}

/**
 * What the compensation of a step declared with `compensateOnFailure: true`
 * receives: the result when the step completed, or the error it failed with
 * (its effect may have happened all the same). Narrow on `failed`.
 */
export type FailedEffectCompensationContext<I, R, T> = StepContext<I, R> &
  ({ failed: false; result: T; error: undefined } | { failed: true; result: undefined; error: ErrorRecord });

/** A service a step depends on; its check runs in the readiness probe before the first step. */
export interface Dependency {
  readonly name: string;
  /** Resolves when the dependency is usable; throws (or rejects) when it is not. */
  readonly check: (signal: AbortSignal) => unknown;
}

/**
 * Declares a dependency for readiness discovery.
 *
 * @example
 * ```ts
 * const ratesApi = dependency('rates-api', async (signal) => { await fetch(url + '/health', { signal }); });
 * saga('exchange').step('rates', getRates, { uses: [ratesApi] });
 * ```
 */
export function dependency(name: string, check: (signal: AbortSignal) => unknown): Dependency {
  return Object.freeze({ name, check });
}

/** Goto: after the step completes, `decide` may name an earlier step to jump back to. */
export interface GotoOptions<I, R, T, Target extends string> {
  /** Every step `decide` may return; each becomes an explicit transition in the statechart. */
  targets: readonly Target[];
  /** Runs after the step completed; return a target to jump there, or undefined/null to go on. */
  decide: (ctx: { input: I; results: Readonly<R>; result: T }) => Target | null | undefined;
  /** Most entries of a target (first visit included) before the saga fails with a GOTO_LIMIT error. Default 10. */
  maxVisits?: number;
}

/** Options every step takes, whatever its compensation. */
export interface StepOptionsBase<I, R, T, Target extends string = string> {
  /**
   * `retry: 3` (three retries, ORSA's shorthand), a full policy, or `'forever'`
   * (a retriable step: retried until it succeeds, every error included; the
   * kind of step that may follow a pivot). Default: no retry.
   */
  retry?: number | RetryPolicy | 'forever';
  /** Abort the step's signal and count a failure after this many ms. Default: none. */
  timeoutMs?: number;
  /**
   * The saga's point of no return (at most one, a top-level step): once it
   * completed the saga only goes forward, so every step after it must be
   * retriable (`retry: 'forever'`, no compensation, no goto, no wait timeout)
   * and a cancel once it started is ignored. Checked by `.build()`. Default false.
   */
  pivot?: boolean;
  /** Retry policy of the compensation. Default: 3 retries, 100 ms doubling. */
  compensateRetry?: number | RetryPolicy;
  /** Dependencies this step uses: their checks join the readiness probe. */
  uses?: readonly Dependency[];
  /** Jump back to an earlier step when `decide` says so. */
  goto?: GotoOptions<I, R, T, Target>;
}

/**
 * Options of one step. With `compensateOnFailure: true` the step's effect may
 * happen even when it fails (a timeout after the request was sent): on
 * rollback its compensation then runs for a failed execution too, and
 * receives the error instead of a result (`FailedEffectCompensationContext`).
 */
export interface StepOptions<I, R, T, Target extends string = string, F extends boolean = false> extends StepOptionsBase<I, R, T, Target> {
  /** Compensate a failed execution too (its effect may have happened). Needs `compensate`. Default false. */
  compensateOnFailure?: F;
  /** Undoes this step when a later step fails for good (ORSA's rollback). */
  compensate?: (ctx: [F] extends [true] ? FailedEffectCompensationContext<I, R, T> : CompensationContext<I, R, T>) => unknown;
}

/** Handler called after the rollback (ORSA's `@saga.catch`). */
export type CatchHandler<I> = (failure: {
  sagaId: string;
  input: I;
  /** The step that failed for good; null when readiness failed or the saga was cancelled. */
  step: string | null;
  error: ErrorRecord | undefined;
  status: 'compensated' | 'failed' | 'cancelled';
  report: CompensationReport;
}) => unknown;

/** Readiness probe: resolves when the saga may start, throws when it may not. */
export type ReadinessProbe<I> = (ctx: { input: I; sagaId: string; signal: AbortSignal }) => unknown;

// ---- the declaration: what the builder collects (functions kept beside plain data) ----

export type AnyFn = (...args: any[]) => any;

// Each kind's node type lives in its module (src/kinds/); `Node` is the union of the registered kinds.
export type { StepNode } from '../kinds/step.js';
export type { ParallelNode } from '../kinds/parallel.js';
export type { WaitNode } from '../kinds/wait.js';
export type { SleepNode } from '../kinds/sleep.js';
export type { ChildNode } from '../kinds/child.js';
export type { Node } from '../kinds/registry.js';
import type { Node } from '../kinds/registry.js';

export interface Declaration {
  name: string;
  /** An explicit version; default: a hash of the compiled statechart. */
  version: string | undefined;
  inputSchema: StandardSchemaV1 | undefined;
  nodes: Node[];
  readiness: AnyFn[];
  catch: AnyFn | undefined;
  /** Queue limits (`.limits()`); undefined: sagas start at once. */
  limits?: SagaLimits<any>;
  /** Definition mistakes found while declaring, thrown by build(). */
  errors: string[];
}
