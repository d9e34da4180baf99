/**
 * How a step (or a compensation) is retried. All durations are milliseconds.
 *
 * @example
 * ```ts
 * .step('charge', charge, { retry: { maxAttempts: 5, delayMs: 200, backoff: 2, maxDelayMs: 5_000, jitter: 0.2 } })
 * .step('fetchRates', fetchRates, { retry: 3 }) // ORSA's retry=3: three retries, four attempts in all
 * ```
 */
export interface RetryPolicy {
  /** Attempts in all, the first included; `Infinity` retries until the step succeeds (as `retry: 'forever'`). Default 1 (no retry). */
  maxAttempts?: number;
  /** Wait before the first retry, in ms. Default 100. */
  delayMs?: number;
  /** Each further wait is multiplied by this factor. Default 2. */
  backoff?: number;
  /** Upper bound of one wait, in ms. Default 30_000. */
  maxDelayMs?: number;
  /** Random spread of each wait, as a fraction of it (0.2 = ±20%). Default 0. */
  jitter?: number;
  /**
   * Which errors are retried. Default: every error except a `NonRetryableError`
   * (or any error whose `retryable` property is `false`).
   */
  retryIf?: (error: unknown) => boolean;
}

// The compiled form of a policy (and the delay it gives) belongs to the compiler; re-exported for existing imports.
export { compileRetry, retryDelayMs, NO_RETRY, type CompiledRetry } from '../compilation/retry.js';
