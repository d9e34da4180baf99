import { SagaDefinitionError } from '../errors.js';
import type { RetryPolicy } from '../declaration/policy.js';

/** A retry policy as it stands in the compiled statechart: plain JSON, every field set. */
export interface CompiledRetry {
  maxAttempts: number;
  delayMs: number;
  backoff: number;
  maxDelayMs: number;
  jitter: number;
  /** Retried until it succeeds, whatever the error (a retriable step). Absent otherwise. */
  forever?: true;
}

export const NO_RETRY: CompiledRetry = { maxAttempts: 1, delayMs: 100, backoff: 2, maxDelayMs: 30_000, jitter: 0 };

/** Normalises `retry: 3` or a policy object, and refuses nonsense at build time. */
export function compileRetry(retry: number | RetryPolicy | 'forever' | undefined, where: string): CompiledRetry {
  if (retry === undefined) return NO_RETRY;
  if (typeof retry === 'string' && retry !== 'forever') {
    throw new SagaDefinitionError(`${where}: retry must be a number of retries, a policy object or 'forever' (got "${retry}")`);
  }
  if (typeof retry === 'number' && !(Number.isInteger(retry) && retry >= 0)) {
    throw new SagaDefinitionError(`${where}: retry must be a whole number of retries >= 0 (got ${retry}); use retry: 3 for three retries, or retry: 'forever'`);
  }
  const policy: RetryPolicy = retry === 'forever' ? { maxAttempts: Infinity } : typeof retry === 'number' ? { maxAttempts: retry + 1 } : retry;
  if (policy.maxAttempts === Infinity) {
    check(policy.retryIf === undefined, `${where}: a step retried forever retries every error; drop retryIf (or give a finite maxAttempts)`);
    // A whole number in JSON: the guard reads \`forever\` and ignores it.
    return { ...compileRetry({ ...policy, maxAttempts: Number.MAX_SAFE_INTEGER }, where), forever: true };
  }
  const out: CompiledRetry = {
    maxAttempts: policy.maxAttempts ?? NO_RETRY.maxAttempts,
    delayMs: policy.delayMs ?? NO_RETRY.delayMs,
    backoff: policy.backoff ?? NO_RETRY.backoff,
    maxDelayMs: policy.maxDelayMs ?? Math.max(NO_RETRY.maxDelayMs, policy.delayMs ?? 0),
    jitter: policy.jitter ?? NO_RETRY.jitter,
  };
  check(Number.isInteger(out.maxAttempts) && out.maxAttempts >= 1, `${where}: retry.maxAttempts must be a whole number >= 1 (got ${out.maxAttempts})`);
  check(Number.isFinite(out.delayMs) && out.delayMs >= 0, `${where}: retry.delayMs must be a number of ms >= 0 (got ${out.delayMs})`);
  check(Number.isFinite(out.backoff) && out.backoff >= 1, `${where}: retry.backoff must be a factor >= 1 (got ${out.backoff}); use 1 for a constant delay`);
  check(Number.isFinite(out.maxDelayMs) && out.maxDelayMs >= out.delayMs, `${where}: retry.maxDelayMs must be >= delayMs (got ${out.maxDelayMs} < ${out.delayMs})`);
  check(Number.isFinite(out.jitter) && out.jitter >= 0 && out.jitter <= 1, `${where}: retry.jitter must be a fraction between 0 and 1 (got ${out.jitter})`);
  return out;
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new SagaDefinitionError(message);
}

/**
 * The wait before retry number `failedAttempt` (1 = after the first attempt
 * failed). `random` is a number in [0, 1), supplied by the runtime with the
 * failure event so the statechart itself stays deterministic.
 */
export function retryDelayMs(policy: CompiledRetry, failedAttempt: number, random: number): number {
  const base = Math.min(policy.maxDelayMs, policy.delayMs * policy.backoff ** (failedAttempt - 1));
  if (policy.jitter === 0) return base;
  const spread = base * policy.jitter * (random * 2 - 1);
  return Math.max(0, Math.round(base + spread));
}
