/** Errors of a run: how a step failed, why its signal was aborted, how the saga ended. */
import { brand, OrsaError, type ErrorRecord } from './base.js';

/**
 * Thrown by a step to fail at once, without the remaining retries.
 *
 * @example
 * ```ts
 * if (amount > 1000) throw new NonRetryableError('amount above the 1000 limit');
 * ```
 */
export class NonRetryableError extends OrsaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NON_RETRYABLE', message, options);
  }
}
brand(NonRetryableError, 'NonRetryableError');

/** Whether an error said it must not be retried: a `NonRetryableError` (from any copy of orsa), or any error whose `retryable` is `false`.
 *
 * @example
 * ```ts
 * isNonRetryable(Object.assign(new Error('card declined'), { retryable: false })); // true
 * ```
 */
export function isNonRetryable(error: unknown): boolean {
  return error instanceof NonRetryableError || (error as { retryable?: unknown } | null)?.retryable === false;
}

/** A step ran longer than its `timeoutMs`; its signal was aborted.
 *
 * @example
 * ```ts
 * if (failure.error?.code === 'STEP_TIMEOUT') alerts.slowService(failure.step);
 * ```
 */
export class StepTimeoutError extends OrsaError {
  constructor(
    readonly step: string,
    readonly timeoutMs: number,
  ) {
    super('STEP_TIMEOUT', `step "${step}" did not settle within ${timeoutMs} ms; its signal was aborted (raise timeoutMs or make the step faster)`);
  }
}
brand(StepTimeoutError, 'StepTimeoutError');

/** A step returned a value that JSON cannot carry. Fails that step before anything is written.
 *
 * @example
 * ```ts
 * .step('load', () => ({ at: new Date() })) // fails with RESULT_NOT_SERIALIZABLE: return date.toISOString()
 * ```
 */
export class ResultNotSerializableError extends OrsaError {
  constructor(
    readonly step: string,
    reason: string,
  ) {
    super(
      'RESULT_NOT_SERIALIZABLE',
      `step "${step}" returned a result that cannot be stored as JSON (${reason}); return plain data (objects, arrays, strings, numbers, booleans, null)`,
    );
  }
}
brand(ResultNotSerializableError, 'ResultNotSerializableError');

/** What happened to the compensations when a saga rolled back. */
export interface CompensationReport {
  /** Step executions whose compensation completed, in the order they ran. */
  compensated: string[];
  /** Step executions still not undone (the one whose compensation failed first, then the earlier ones). */
  undone: string[];
  /** The error of the compensation that failed for good, if one did. */
  error?: ErrorRecord;
}

/**
 * The saga did not complete. Carries the failed step, the cause and what the
 * compensation did; `status` tells whether the rollback finished
 * (`compensated`), could not finish (`failed`: an operator must act on
 * `report.undone`) or the saga was `cancelled`.
 *
 * @example
 * ```ts
 * try { await saga.run(input); } catch (e) {
 *   if (e instanceof SagaFailedError) console.log(e.step, e.status, e.report.undone);
 * }
 * ```
 */
export class SagaFailedError extends OrsaError {
  declare readonly code: 'SAGA_FAILED' | 'SAGA_COMPENSATION_FAILED' | 'SAGA_CANCELLED';
  constructor(
    readonly sagaId: string,
    readonly status: 'compensated' | 'failed' | 'cancelled',
    readonly step: string | null,
    readonly error: ErrorRecord | undefined,
    readonly report: CompensationReport,
    options?: { cause?: unknown },
  ) {
    super(
      status === 'failed' ? 'SAGA_COMPENSATION_FAILED' : status === 'cancelled' ? 'SAGA_CANCELLED' : 'SAGA_FAILED',
      describeFailure(sagaId, status, step, error, report),
      options,
    );
  }
}
brand(SagaFailedError, 'SagaFailedError');

function describeFailure(sagaId: string, status: string, step: string | null, error: ErrorRecord | undefined, report: CompensationReport): string {
  const where = step ? `step "${step}" failed` : 'the saga stopped';
  const why = error ? `: ${error.message}` : '';
  if (status === 'cancelled') return `saga ${sagaId} was cancelled; ${report.compensated.length} compensation(s) ran`;
  if (status === 'failed') {
    return `saga ${sagaId}: ${where}${why}; then compensation could not finish, still undone: ${report.undone.join(', ')} (fix the cause and retry the compensation)`;
  }
  return `saga ${sagaId}: ${where}${why}; rolled back (${report.compensated.length} compensation(s) ran)`;
}

/** A goto asked to enter its target more often than `goto.maxVisits` allows. The chart records it as the failed step's error.
 *
 * @example
 * ```ts
 * if (failure.error?.code === 'GOTO_LIMIT') console.log('the retry loop ran out:', failure.error.message);
 * ```
 */
export class GotoLimitError extends OrsaError {
  constructor(
    readonly step: string,
    readonly target: string,
    readonly maxVisits: number,
  ) {
    super(
      'GOTO_LIMIT',
      `step "${step}" asked to go to "${target}" again, but "${target}" was already entered ${maxVisits} times (goto.maxVisits); raise maxVisits or end the loop`,
    );
  }
}
brand(GotoLimitError, 'GotoLimitError');

/** An item of a `.map()` failed for good: the saga's failure, with the item's own error as its `cause`.
 *
 * @example
 * ```ts
 * if (failure.error?.code === 'MAP_ITEM_FAILED') console.log(failure.error.message, failure.error.cause);
 * ```
 */
export class MapItemFailedError extends OrsaError {
  constructor(
    readonly map: string,
    readonly index: number,
    readonly step: string,
    reason: string,
  ) {
    super(
      'MAP_ITEM_FAILED',
      `item ${index} of map "${map}" failed for good at step "${step}" (${reason}); the running items were aborted and the completed ones compensated. Its own error is the cause`,
    );
  }
}
brand(MapItemFailedError, 'MapItemFailedError');

/** A `waitFor` step's event did not arrive within its `timeoutMs`. The chart records it as the failed step's error.
 *
 * @example
 * ```ts
 * if (failure.error?.code === 'WAIT_TIMEOUT') notify('the payment was never confirmed');
 * ```
 */
export class WaitTimeoutError extends OrsaError {
  constructor(
    readonly step: string,
    readonly event: string,
    readonly timeoutMs: number,
  ) {
    super('WAIT_TIMEOUT', `no "${event}" event arrived within ${timeoutMs} ms; send it sooner or raise timeoutMs`);
  }
}
brand(WaitTimeoutError, 'WaitTimeoutError');

/** The signal reason of steps still running when their execution was stopped (the runtime stopped, a lease moved).
 *
 * @example
 * ```ts
 * .step('upload', async ({ signal }) => { await put(file, { signal }); }) // signal.reason is ExecutionStoppedError on stop
 * ```
 */
export class ExecutionStoppedError extends OrsaError {
  constructor() {
    super('EXECUTION_STOPPED', 'the execution was stopped before the saga finished; resume it from its snapshot');
  }
}
brand(ExecutionStoppedError, 'ExecutionStoppedError');

/** The signal reason of a parallel step aborted because its saga began to roll back.
 *
 * @example
 * ```ts
 * .step('reserve', async ({ signal }) => { signal.throwIfAborted(); }) // throws SagaRollingBackError when a sibling failed
 * ```
 */
export class SagaRollingBackError extends OrsaError {
  constructor() {
    super('SAGA_ROLLING_BACK', 'the saga is rolling back (a sibling step failed or the saga was cancelled)');
  }
}
brand(SagaRollingBackError, 'SagaRollingBackError');

/**
 * A step kept losing its lease while it ran (`maxLeaseLosses` times, default
 * 3): its worker was alive but did not renew in time, usually because the
 * step blocks the event loop longer than `leaseMs`. The step fails (not
 * retried) instead of bouncing between workers forever.
 *
 * @example
 * ```ts
 * if (failure.error?.code === 'LEASE_LOST') console.log('raise leaseMs or move CPU-bound work to a worker thread');
 * ```
 */
export class LeaseLostError extends OrsaError {
  /** Never retried: running the step again would lose the lease again. */
  readonly retryable = false;
  constructor(
    readonly step: string,
    readonly losses: number,
  ) {
    super(
      'LEASE_LOST',
      `step "${step}" lost its lease ${losses} times while it ran (its worker did not renew the lease in time, typically because the step blocks the event loop longer than leaseMs); ` +
        'raise leaseMs, or move CPU-bound work off the event loop (a worker thread or another process)',
    );
  }
}
brand(LeaseLostError, 'LeaseLostError');
