/** Errors of the durable runtime: its options, its registry, its records and the commands it refuses. */
import { brand, OrsaError } from './base.js';

/** A stored snapshot that cannot be read (truncated, edited by hand, not JSON). The record is left as it is.
 *
 * @example
 * ```ts
 * createRuntime({ sagas, onError: (e) => { if (e instanceof CorruptRecordError) alert(e.sagaId); } });
 * ```
 */
export class CorruptRecordError extends OrsaError {
  constructor(
    readonly sagaId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('CORRUPT_RECORD', `saga ${sagaId}: its stored snapshot cannot be read (${reason}); it was left untouched: inspect it with \`orsa show ${sagaId}\``, options);
  }
}
brand(CorruptRecordError, 'CorruptRecordError');

/** A stored saga whose name and version no longer match a registered definition. The record is left as it is.
 *
 * @example
 * ```ts
 * createRuntime({ sagas: [orderV1, orderV2] }); // register the old version too, so its instances finish
 * ```
 */
export class VersionNotRegisteredError extends OrsaError {
  constructor(
    readonly sagaId: string,
    readonly sagaName: string,
    readonly version: string,
    registered: readonly string[],
  ) {
    super(
      'VERSION_NOT_REGISTERED',
      `saga ${sagaId} is "${sagaName}" version ${version}, which this runtime does not have (registered: ${registered.length ? registered.join(', ') : 'none'}); ` +
        `register that version beside the new one (pin it with .version()) so old instances finish on old code. The record was left untouched.`,
    );
  }
}
brand(VersionNotRegisteredError, 'VersionNotRegisteredError');

/** `createRuntime` was given options it cannot run with.
 *
 * @example
 * ```ts
 * createRuntime({ sagas: [] }); // throws RuntimeConfigError: createRuntime needs at least one saga
 * ```
 */
export class RuntimeConfigError extends OrsaError {
  constructor(message: string) {
    super('RUNTIME_CONFIG', message);
  }
}
brand(RuntimeConfigError, 'RuntimeConfigError');

/** A saga was started by a name or definition this runtime was not created with.
 *
 * @example
 * ```ts
 * await runtime.startSaga('refund', input); // rejects: pass it in createRuntime({ sagas: [...] })
 * ```
 */
export class SagaNotRegisteredError extends OrsaError {
  constructor(readonly sagaName: string) {
    super('SAGA_NOT_REGISTERED', `saga "${sagaName}" is not registered with this runtime; pass it in createRuntime({ sagas: [...] })`);
  }
}
brand(SagaNotRegisteredError, 'SagaNotRegisteredError');

/** A caller-chosen saga id already belongs to a saga of another name.
 *
 * @example
 * ```ts
 * await runtime.startSaga(refund, input, { id: 'order-1' }); // rejects when 'order-1' is an "order" saga
 * ```
 */
export class SagaIdTakenError extends OrsaError {
  constructor(
    readonly sagaId: string,
    readonly holder: string,
    readonly wanted: string,
  ) {
    super('SAGA_ID_TAKEN', `the id "${sagaId}" already belongs to a "${holder}" saga; a "${wanted}" saga needs another id`);
  }
}
brand(SagaIdTakenError, 'SagaIdTakenError');

/** The signal reason of a waiting saga's execution when the runtime unloads it from memory; the runtime wakes it when due.
 *
 * @example
 * ```ts
 * .step('poll', async ({ signal }) => { signal.throwIfAborted(); }) // never seen by a step: a waiting saga runs none
 * ```
 */
export class SagaUnloadedError extends OrsaError {
  constructor() {
    super('SAGA_UNLOADED', 'the saga is waiting and was unloaded from memory; the runtime wakes it when due');
  }
}
brand(SagaUnloadedError, 'SagaUnloadedError');

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
    /** How the caller retries a failed saga's compensation (the CLI says `orsa retry ID`). */
    retryWith = 'call retryCompensation(id)',
  ) {
    super(
      'SAGA_ENDED',
      status === 'failed'
        ? `saga ${sagaId} ended failed (its compensation could not finish), so it cannot ${action}; fix the cause and ${retryWith}`
        : `saga ${sagaId} already ended ${status}; there is nothing to ${action} (nothing was stored)`,
    );
  }
}
brand(SagaEndedError, 'SagaEndedError');

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
brand(SagaNotFailedError, 'SagaNotFailedError');

/**
 * `tracing: true` was asked, but `@opentelemetry/api` is not installed, so no
 * span could be made. Leave `tracing` unset to trace only when the package is
 * there.
 *
 * @example
 * ```ts
 * await createRuntime({ sagas, tracing: true }).start(); // rejects without @opentelemetry/api: npm install @opentelemetry/api
 * ```
 */
export class TracingUnavailableError extends OrsaError {
  constructor(options?: { cause?: unknown }) {
    super('TRACING_UNAVAILABLE', 'tracing: true needs the @opentelemetry/api package; install it (npm install @opentelemetry/api) or leave tracing unset', options);
  }
}
brand(TracingUnavailableError, 'TracingUnavailableError');

/**
 * A saga with `.limits()` could not be queued: its `priority` is not a 32-bit
 * integer, or its `key` function threw or gave no usable key. Nothing was stored.
 *
 * @example
 * ```ts
 * await runtime.startSaga(order, input, { priority: 1.5 }); // rejects: INVALID_QUEUE_OPTION
 * ```
 */
export class InvalidQueueOptionError extends OrsaError {
  constructor(
    readonly sagaName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('INVALID_QUEUE_OPTION', `saga "${sagaName}": ${message}; nothing was stored`, options);
  }
}
brand(InvalidQueueOptionError, 'InvalidQueueOptionError');

/**
 * A schedule cannot be kept as declared: a cron expression croner cannot
 * read or that never fires, an unknown time zone, a bad name, missed policy or
 * input; or, reported to `onError`, a stored schedule whose tick could not
 * start its saga (the tick is then passed over). The message says which and
 * what to change.
 *
 * @example
 * ```ts
 * await runtime.schedule('nightly', report, { cron: '0 25 * * *', input: {} }); // rejects: INVALID_SCHEDULE, hour 25
 * ```
 */
export class InvalidScheduleError extends OrsaError {
  constructor(
    readonly scheduleName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('INVALID_SCHEDULE', `schedule ${JSON.stringify(scheduleName)}: ${message}`, options);
  }
}
brand(InvalidScheduleError, 'InvalidScheduleError');
