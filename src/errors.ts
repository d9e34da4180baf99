/**
 * One error hierarchy: every error orsa throws or rejects with is an
 * {@link OrsaError} with a stable `name`, a `code` from {@link OrsaErrorCode},
 * the native `cause`, and a message that says what to do next. One class per
 * code, all here.
 *
 * `instanceof` works across copies of orsa in one process (the ESM and the CJS
 * build, two installed versions): every instance carries the names of its
 * classes under `Symbol.for('orsa.error')`, and each class's
 * `Symbol.hasInstance` checks that brand when the prototype chain says no.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';

/** Every code an orsa error can carry; each belongs to one class (`SAGA_FAILED`, `SAGA_COMPENSATION_FAILED` and `SAGA_CANCELLED` to {@link SagaFailedError}).
 *
 * @example
 * ```ts
 * const retryLater = (code: OrsaErrorCode) => code === 'STALE_RECORD' || code === 'STORE_NOT_READY';
 * ```
 */
export type OrsaErrorCode =
  | 'SAGA_DEFINITION'
  | 'NON_RETRYABLE'
  | 'STEP_TIMEOUT'
  | 'RESULT_NOT_SERIALIZABLE'
  | 'SAGA_FAILED'
  | 'SAGA_COMPENSATION_FAILED'
  | 'SAGA_CANCELLED'
  | 'INVALID_INPUT'
  | 'INVALID_EVENT'
  | 'SAGA_NOT_READY'
  | 'UNKNOWN_STEP'
  | 'GOTO_LIMIT'
  | 'WAIT_TIMEOUT'
  | 'EXECUTION_STOPPED'
  | 'SAGA_ROLLING_BACK'
  | 'CORRUPT_RECORD'
  | 'VERSION_NOT_REGISTERED'
  | 'RUNTIME_CONFIG'
  | 'SAGA_NOT_REGISTERED'
  | 'SAGA_ID_TAKEN'
  | 'SAGA_UNLOADED'
  | 'STALE_RECORD'
  | 'UNKNOWN_SAGA'
  | 'STORE_NOT_READY'
  | 'STORE_SCHEMA'
  | 'STORE_CONFIG'
  | 'DRIVER_MISSING'
  | 'UNKNOWN_EVENT'
  | 'SAGA_ENDED'
  | 'NOT_FAILED'
  | 'INPUT_NOT_SERIALIZABLE'
  | 'INVALID_SAGA_ID'
  | 'INVALID_INBOX_KIND'
  | 'LEASE_LOST'
  | 'STORE_UNAVAILABLE'
  | 'TRACING_UNAVAILABLE'
  | 'EXPLORE_CONFIG'
  | 'EXPLORE_STOPPED'
  | 'BAD_EVENT'
  | 'STORE_NOT_FOUND'
  | 'SAGA_MODULE'
  | 'INSPECTOR_MISSING'
  | 'INSPECTOR_UNREACHABLE';

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

const BRAND = Symbol.for('orsa.error');
const KIND = Symbol.for('orsa.error.kind');

/** The class names an orsa error was built from, under {@link BRAND}; read by `Symbol.hasInstance` of another copy of orsa. */
type Branded = { [BRAND]: readonly string[] };

/** Whether a value is an error from any copy of orsa (ESM or CJS build, any installed version).
 *
 * @example
 * ```ts
 * process.on('unhandledRejection', (e) => { if (isOrsaError(e)) console.error(e.code, e.message); });
 * ```
 */
export function isOrsaError(value: unknown): value is OrsaError {
  return typeof value === 'object' && value !== null && Array.isArray((value as Partial<Branded>)[BRAND]);
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
  readonly code: OrsaErrorCode;
  declare readonly [BRAND]: readonly string[];

  constructor(code: OrsaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    const kinds: string[] = [];
    for (let c: object | null = new.target; c && c !== Error; c = Object.getPrototypeOf(c)) {
      if (Object.hasOwn(c, KIND)) kinds.push((c as { [KIND]: string })[KIND]);
    }
    // A user's subclass keeps its own name; orsa's classes keep theirs even when a bundler renames them.
    this.name = Object.hasOwn(new.target, KIND) ? kinds[0]! : new.target.name;
    this.code = code;
    Object.defineProperty(this, BRAND, { value: kinds, enumerable: false });
  }

  /** `instanceof` that also recognises this class's errors made by another copy of orsa. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    // Only orsa's own classes carry a kind: a user's subclass is recognised by its prototype chain alone.
    if (!Object.hasOwn(this, KIND) || !isOrsaError(value)) return false;
    return value[BRAND].includes((this as { [KIND]?: string })[KIND]!);
  }
}

/** Gives an orsa class the stable name other copies recognise it by. */
function brand(target: abstract new (...args: never[]) => OrsaError, name: string): void {
  Object.defineProperty(target, KIND, { value: name, enumerable: false });
}
brand(OrsaError, 'OrsaError');

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
brand(SagaDefinitionError, 'SagaDefinitionError');

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

/** The input did not pass the saga's schema; nothing ran and nothing was stored.
 *
 * @example
 * ```ts
 * await exchange.run({ amount: -1 }).catch((e) => e instanceof InvalidInputError && console.log(e.issues));
 * ```
 */
export class InvalidInputError extends OrsaError {
  constructor(
    readonly saga: string,
    readonly issues: readonly StandardSchemaV1.Issue[],
  ) {
    super('INVALID_INPUT', `input of saga "${saga}" is invalid: ${formatIssues(issues)}; fix the input (nothing was run)`);
  }
}
brand(InvalidInputError, 'InvalidInputError');

/** An event payload did not pass the schema of the `waitFor` steps that consume it; it was not delivered.
 *
 * @example
 * ```ts
 * await handle.send('payment.confirmed', { ref: 42 }); // rejects: ref must be a string; nothing delivered
 * ```
 */
export class InvalidEventError extends OrsaError {
  constructor(
    readonly saga: string,
    readonly event: string,
    readonly issues: readonly StandardSchemaV1.Issue[],
  ) {
    super('INVALID_EVENT', `event "${event}" for saga "${saga}" is invalid: ${formatIssues(issues)}; it was not delivered`);
  }
}
brand(InvalidEventError, 'InvalidEventError');

function formatIssues(issues: readonly StandardSchemaV1.Issue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path?.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** Readiness failed: a probe or a dependency check threw.
 *
 * @example
 * ```ts
 * saga('x').readiness(async () => { if (!(await db.ping())) throw new Error('database down'); })
 * ```
 */
export class NotReadyError extends OrsaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SAGA_NOT_READY', message, options);
  }
}
brand(NotReadyError, 'NotReadyError');

/** A snapshot names a step its definition does not have: it was stored by another definition.
 *
 * @example
 * ```ts
 * createRuntime({ sagas: [orderV1, orderV2] }); // pin versions with .version() so each snapshot meets its own steps
 * ```
 */
export class UnknownStepError extends OrsaError {
  constructor(
    readonly saga: string,
    readonly step: string,
  ) {
    super('UNKNOWN_STEP', `saga "${saga}" has no step "${step}" (the snapshot belongs to another definition)`);
  }
}
brand(UnknownStepError, 'UnknownStepError');

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

/** Base class for store failures (imported by runtime code; no driver dependency).
 *
 * @example
 * ```ts
 * try { await store.init(); } catch (e) { if (e instanceof StoreError) console.error(e.code, e.message); }
 * ```
 */
export class StoreError extends OrsaError {
  declare readonly code: 'STALE_RECORD' | 'UNKNOWN_SAGA' | 'STORE_NOT_READY' | 'STORE_SCHEMA' | 'STORE_CONFIG' | 'DRIVER_MISSING';
}
brand(StoreError, 'StoreError');

/** A write lost the race: another writer changed the record, or the lease moved to another owner.
 *
 * @example
 * ```ts
 * try { await store.update(id, fence, patch, [], { now }); } catch (e) { if (e instanceof StaleRecordError) reload(id); }
 * ```
 */
export class StaleRecordError extends StoreError {
  constructor(
    readonly sagaId: string,
    message = `saga ${sagaId} was changed by another writer (row version or lease owner moved); reload it before writing`,
  ) {
    super('STALE_RECORD', message);
  }
}
brand(StaleRecordError, 'StaleRecordError');

/** No saga with this id exists in the store.
 *
 * @example
 * ```ts
 * await store.sendEvent('nope', 'x', 'null', Date.now()); // rejects with UnknownSagaError
 * ```
 */
export class UnknownSagaError extends StoreError {
  constructor(readonly sagaId: string) {
    super('UNKNOWN_SAGA', `no saga with id "${sagaId}" in this store; check the id (orsa list shows them)`);
  }
}
brand(UnknownSagaError, 'UnknownSagaError');

/**
 * A store was used before `init()` resolved, or after `close()`.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * await store.get('a'); // rejects with StoreNotReadyError: call `await store.init()` first
 * ```
 */
export class StoreNotReadyError extends StoreError {
  constructor(store: string, state: 'uninitialized' | 'closed') {
    super(
      'STORE_NOT_READY',
      state === 'closed'
        ? `${store} was closed; create a new store (and call \`await store.init()\`) to use it again`
        : `${store} is not initialized; call \`await store.init()\` once before using it`,
    );
  }
}
brand(StoreNotReadyError, 'StoreNotReadyError');

/**
 * The database was migrated by a newer orsa than this one: running on would
 * misread its rows.
 *
 * @example
 * ```ts
 * await store.init(); // rejects with StoreSchemaError: … has schema version 3, newer than this orsa knows (2) …
 * ```
 */
export class StoreSchemaError extends StoreError {
  constructor(message: string) {
    super('STORE_SCHEMA', message);
  }
}
brand(StoreSchemaError, 'StoreSchemaError');

/**
 * A store was given an option it cannot use.
 *
 * @example
 * ```ts
 * new SqliteStore({ synchronous: 'OFF' as 'FULL' }); // throws StoreConfigError
 * ```
 */
export class StoreConfigError extends StoreError {
  constructor(message: string) {
    super('STORE_CONFIG', message);
  }
}
brand(StoreConfigError, 'StoreConfigError');

/** A store's database driver (an optional peer dependency) is not installed.
 *
 * @example
 * ```ts
 * await createRuntime({ sagas }).start(); // rejects without better-sqlite3: run `npm install better-sqlite3`, or pass a store
 * ```
 */
export class DriverMissingError extends StoreError {
  constructor(
    readonly driver: string,
    usedBy: string,
    options?: { cause?: unknown },
  ) {
    super('DRIVER_MISSING', `${usedBy} needs the "${driver}" package, which is not installed; run \`npm install ${driver}\``, options);
  }
}
brand(DriverMissingError, 'DriverMissingError');

/** Turns anything thrown into a plain JSON error record (with its cause chain).
 *
 * @example
 * ```ts
 * toErrorRecord(new Error('down', { cause: new Error('ECONNRESET') })); // { name: 'Error', message: 'down', cause: { … } }
 * ```
 */
export function toErrorRecord(error: unknown, depth = 0): ErrorRecord {
  if (error instanceof Error || isOrsaError(error)) {
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

/** @internal The record the chart keeps for an error it decides on itself: no stack, so a snapshot stays the same wherever it was made. */
export function chartRecord(error: OrsaError): ErrorRecord {
  return { name: error.name, code: error.code, message: error.message };
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
brand(UnknownEventError, 'UnknownEventError');

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
brand(InputNotSerializableError, 'InputNotSerializableError');

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
brand(InvalidSagaIdError, 'InvalidSagaIdError');

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
