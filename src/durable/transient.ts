// The error class lives with the others; re-exported so this module's importers keep working.
export { StoreUnavailableError } from '../errors.js';

/*
 * Which store failures are worth retrying. A transient fault (the connection
 * dropped, the server restarts, the file is locked, a timeout) says nothing
 * about the record being read or written: the same call succeeds later. A
 * worker that took one for corruption would set a healthy saga aside until
 * it restarts.
 */

/** PostgreSQL SQLSTATEs of faults that pass: admin shutdown / crash / cannot connect now, serialization, deadlock, lock timeout, cancel, too many connections. */
const PG_TRANSIENT = new Set(['57P01', '57P02', '57P03', '57P05', '40001', '40P01', '55P03', '57014', '53300', '53400']);
/** Node's network errors. */
const NET_TRANSIENT = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTCONN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);
/** What pg says when a connection ends under it; it sets no code on these. */
const MESSAGES = /Connection terminated|terminating connection|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|connection timeout/i;
const MAX_CAUSES = 8;

/**
 * Whether a store error is a transient fault: retry the call later, the data is fine.
 *
 * @example
 * ```ts
 * try { await store.claim(request); } catch (e) { if (isTransientError(e)) retryLater(); else throw e; }
 * ```
 */
export function isTransientError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSES && current != null; depth++) {
    if (typeof current !== 'object' && typeof current !== 'function') return false;
    const { code, message, errors } = current as { code?: unknown; message?: unknown; errors?: unknown };
    if (typeof code === 'string') {
      if (code.startsWith('08') && code.length === 5) return true; // connection exception class
      if (PG_TRANSIENT.has(code) || NET_TRANSIENT.has(code)) return true;
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return true;
    }
    if (typeof message === 'string' && MESSAGES.test(message)) return true;
    // Node reports a refused connection to several addresses as an AggregateError.
    if (Array.isArray(errors) && errors.some((e) => isTransientError(e))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Delays between retries: doubling from `firstMs` up to `maxMs`, back to the
 * start after a success.
 *
 * @example
 * ```ts
 * const backoff = new Backoff(50, 1_000);
 * backoff.next(); // 50, then 100, 200, … 1000
 * backoff.reset();
 * ```
 */
export class Backoff {
  private failures = 0;
  constructor(
    private readonly firstMs: number,
    private readonly maxMs: number,
  ) {}
  /** The delay before the next attempt; counts one more failure. */
  next(): number {
    const delay = Math.min(this.maxMs, this.firstMs * 2 ** Math.min(this.failures, 20));
    this.failures++;
    return delay;
  }
  /** Whether the last attempt failed (a run of failures is under way). */
  get failing(): boolean {
    return this.failures > 0;
  }
  reset(): void {
    this.failures = 0;
  }
}
