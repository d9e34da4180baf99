/**
 * The base of orsa's errors: {@link OrsaError}, the code union, the brand that
 * makes `instanceof` work across copies of orsa in one process (the ESM and
 * the CJS build, two installed versions), and the JSON record of an error.
 * Every instance carries the names of its classes under
 * `Symbol.for('orsa.error')`, and each class's `Symbol.hasInstance` checks
 * that brand when the prototype chain says no.
 */
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
  | 'MAP_ITEM_FAILED'
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
  | 'EVENT_BACKLOG_FULL'
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
  | 'INSPECTOR_UNREACHABLE'
  | 'INVALID_QUEUE_OPTION'
  | 'INVALID_SCHEDULE'
  | 'CHILD_FAILED'
  | 'PARENT_ROLLED_BACK';

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

/** @internal Gives an orsa class the stable name other copies recognise it by (not re-exported by src/errors.ts). */
export function brand(target: abstract new (...args: never[]) => OrsaError, name: string): void {
  Object.defineProperty(target, KIND, { value: name, enumerable: false });
}
brand(OrsaError, 'OrsaError');

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
    // A NonRetryableError (or a user subclass of it) from any copy of orsa.
    if (isOrsaError(error) && error[BRAND].includes('NonRetryableError')) record.retryable = false;
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
