/**
 * One error hierarchy: every error orsa throws or rejects with is an
 * {@link OrsaError} with a stable `name`, a string `code`, the native `cause`,
 * and a message that says what to do next.
 */

/** A plain-JSON record of an error, as kept in snapshots and history (Error objects do not survive JSON). */
export interface ErrorRecord {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  /** The cause chain, flattened. */
  cause?: ErrorRecord;
  /** false when the error said it must not be retried. */
  retryable?: boolean;
}

/**
 * Base class of orsa's errors.
 *
 * @example
 * ```ts
 * try { await saga.run(input); } catch (e) { if (e instanceof OrsaError) console.log(e.code); }
 * ```
 */
export class OrsaError extends Error {
  /** Stable machine-readable code, e.g. `SAGA_DEFINITION`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A mistake in a saga declaration, thrown by `.build()` (never at run time).
 *
 * @example
 * ```ts
 * saga('x').build(); // throws SagaDefinitionError: saga "x" has no steps …
 * ```
 */
export class SagaDefinitionError extends OrsaError {
  constructor(message: string) {
    super('SAGA_DEFINITION', message);
  }
}

/**
 * Thrown by a step to fail at once, without the remaining retries.
 *
 * @example
 * ```ts
 * if (amount > 1000) throw new NonRetryableError('amount above the 1000 limit');
 * ```
 */
export class NonRetryableError extends OrsaError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'NON_RETRYABLE', message, options);
  }
}

/** Whether an error said it must not be retried: a `NonRetryableError`, or any error whose `retryable` is `false`. */
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
      describe(sagaId, status, step, error, report),
      options,
    );
  }
}

function describe(
  sagaId: string,
  status: string,
  step: string | null,
  error: ErrorRecord | undefined,
  report: CompensationReport,
): string {
  const where = step ? `step "${step}" failed` : 'the saga stopped';
  const why = error ? `: ${error.message}` : '';
  if (status === 'cancelled') return `saga ${sagaId} was cancelled; ${report.compensated.length} compensation(s) ran`;
  if (status === 'failed') {
    return `saga ${sagaId}: ${where}${why}; then compensation could not finish, still undone: ${report.undone.join(', ')} (fix the cause and retry the compensation)`;
  }
  return `saga ${sagaId}: ${where}${why}; rolled back (${report.compensated.length} compensation(s) ran)`;
}

/** Turns anything thrown into a plain JSON error record (with its cause chain).
 *
 * @example
 * ```ts
 * toErrorRecord(new Error('down', { cause: new Error('ECONNRESET') })); // { name: 'Error', message: 'down', cause: { … } }
 * ```
 */
export function toErrorRecord(error: unknown, depth = 0): ErrorRecord {
  if (error instanceof Error) {
    const record: ErrorRecord = { name: error.name, message: error.message };
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') record.code = code;
    if (error.stack) record.stack = error.stack;
    if (error instanceof NonRetryableError) record.retryable = false;
    if (error.cause !== undefined && depth < 5) record.cause = toErrorRecord(error.cause, depth + 1);
    return record;
  }
  return { name: 'Error', message: typeof error === 'string' ? error : safeString(error) };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * An event was sent that no wait of the saga declares: it could never be
 * consumed, so it is refused (nothing stored). The message lists the events
 * the saga does wait for.
 *
 * @example
 * ```ts
 * await runtime.send(id, 'order.confirmd'); // rejects: UNKNOWN_EVENT, saga "order" waits for: order.confirmed
 * ```
 */
export class UnknownEventError extends OrsaError {
  constructor(
    readonly saga: string,
    readonly event: string,
    readonly waitedFor: readonly string[],
  ) {
    super(
      'UNKNOWN_EVENT',
      `saga "${saga}" has no wait for the event ${JSON.stringify(event)}, so it could never consume it; it was not stored. ` +
        (waitedFor.length
          ? `It waits for: ${waitedFor.map((e) => JSON.stringify(e)).join(', ')}; check the spelling`
          : 'It waits for no event at all; send it to a saga that declares a waitFor step'),
    );
  }
}

/**
 * A command (cancel, retryCompensation) or an event was sent to a saga whose
 * run has ended: it would be stored and never consumed, so it is refused.
 *
 * @example
 * ```ts
 * await runtime.cancel(completedId); // rejects: SAGA_ENDED, saga … already ended completed
 * ```
 */
export class SagaEndedError extends OrsaError {
  constructor(
    readonly sagaId: string,
    readonly status: string,
    readonly action: string,
  ) {
    super(
      'SAGA_ENDED',
      status === 'failed'
        ? `saga ${sagaId} ended failed (its compensation could not finish), so it cannot ${action}; fix the cause and call retryCompensation(id)`
        : `saga ${sagaId} already ended ${status}; there is nothing to ${action} (nothing was stored)`,
    );
  }
}

/**
 * retryCompensation was asked of a saga that is not `failed`: only a saga
 * whose compensation could not finish can be retried.
 *
 * @example
 * ```ts
 * await runtime.retryCompensation(runningId); // rejects: NOT_FAILED
 * ```
 */
export class SagaNotFailedError extends OrsaError {
  constructor(
    readonly sagaId: string,
    readonly status: string,
  ) {
    super(
      'NOT_FAILED',
      `saga ${sagaId} is ${status}, not failed; retryCompensation applies only to a saga whose compensation could not finish (nothing was stored)`,
    );
  }
}

/**
 * A saga's input cannot be carried by JSON unchanged (a function, a Date,
 * NaN, a BigInt, a cycle, a Map, …) or is larger than `maxInputBytes`.
 * Nothing was stored or run. `path` names the offending value (`$.a[2].b`).
 *
 * @example
 * ```ts
 * await runtime.startSaga(order, { at: new Date() }); // rejects: INPUT_NOT_SERIALIZABLE at $.at; pass date.toISOString()
 * ```
 */
export class InputNotSerializableError extends OrsaError {
  constructor(
    readonly saga: string,
    readonly path: string,
    reason: string,
  ) {
    super(
      'INPUT_NOT_SERIALIZABLE',
      `input of saga "${saga}" cannot be stored as JSON unchanged (${reason}); pass plain data (objects, arrays, strings, finite numbers, booleans, null). Nothing was stored`,
    );
  }
}

/**
 * A saga id that no store accepts: ids are 1 to 255 characters of valid
 * Unicode (no lone surrogate) without control characters, so that every
 * store keeps them apart and the CLI can print them.
 *
 * @example
 * ```ts
 * await runtime.startSaga(order, input, { id: '' }); // rejects: INVALID_SAGA_ID
 * ```
 */
export class InvalidSagaIdError extends OrsaError {
  constructor(reason: string) {
    super('INVALID_SAGA_ID', `invalid saga id: ${reason}; use 1 to 255 printable Unicode characters (a UUID, or an order number such as "order-42")`);
  }
}

/**
 * A runtime option has a value it cannot work with (e.g. `leaseMs: NaN`).
 *
 * @example
 * ```ts
 * createRuntime({ sagas, leaseMs: 0 }); // throws RUNTIME_CONFIG: leaseMs must be a positive integer
 * ```
 */
export class RuntimeConfigError extends OrsaError {
  constructor(message: string) {
    super('RUNTIME_CONFIG', message);
  }
}

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
export class LeaseLostError extends NonRetryableError {
  constructor(
    readonly step: string,
    readonly losses: number,
  ) {
    super(
      `step "${step}" lost its lease ${losses} times while it ran (its worker did not renew the lease in time, typically because the step blocks the event loop longer than leaseMs); ` +
        'raise leaseMs, or move CPU-bound work off the event loop (a worker thread or another process)',
      { code: 'LEASE_LOST' },
    );
  }
}
