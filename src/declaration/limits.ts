/*
 * Queue limits declared with a saga (`.limits()`): every worker that
 * registers the saga enforces the same numbers. Checked at declaration, so a
 * mistake throws at `build()` as a SagaDefinitionError.
 */

/** At most `starts` sagas start within any `perMs` milliseconds. */
export interface RateLimit {
  /** Starts allowed per window; a positive integer. */
  starts: number;
  /** The window, in milliseconds; a positive integer. */
  perMs: number;
}

/** A concurrency and/or a rate limit. */
export interface LimitValues {
  /** Most sagas holding a slot at once (running, waiting for an event or sleeping, compensating); a positive integer. */
  concurrency?: number;
  /** Most sagas started (promoted from `queued`) per window. */
  rate?: RateLimit;
}

/**
 * Limits of a saga, across every worker sharing the store: for the whole
 * saga name, and with `key` and `perKey`, for each key (e.g. one customer).
 *
 * @example
 * ```ts
 * saga('order').input<{ customerId: string }>()
 *   .limits({ concurrency: 10, rate: { starts: 100, perMs: 60_000 }, key: (i) => i.customerId, perKey: { concurrency: 1 } })
 * ```
 */
export interface SagaLimits<I> extends LimitValues {
  /** The key of a saga's input for `perKey` limits: a string of 1–255 characters. */
  key?: (input: I) => string;
  /** Limits for each key; needs `key`. */
  perKey?: LimitValues;
}

/** Largest count or window the stores keep (a 32-bit integer column or parameter). */
const MAX = 2 ** 31 - 1;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX;

function checkValues(where: string, values: unknown, errors: string[]): void {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    errors.push(`${where} must be an object such as { concurrency: 5 }`);
    return;
  }
  const { concurrency, rate, ...rest } = values as Record<string, unknown>;
  for (const extra of Object.keys(rest)) if (where.endsWith('perKey') || (extra !== 'key' && extra !== 'perKey')) errors.push(`${where} has an unknown field "${extra}"; use concurrency, rate, key, perKey`);
  if (concurrency !== undefined && !isCount(concurrency)) errors.push(`${where}.concurrency must be a positive integer (at most ${MAX}), not ${JSON.stringify(concurrency)}`);
  if (rate === undefined) return;
  const r = rate as Partial<RateLimit> | null;
  if (typeof r !== 'object' || r === null || !isCount(r.starts) || !isCount(r.perMs)) {
    errors.push(`${where}.rate must be { starts, perMs } with positive integers (e.g. { starts: 100, perMs: 60_000 }), not ${JSON.stringify(rate)}`);
  }
}

/**
 * The mistakes in a `.limits()` declaration, as messages (empty when none).
 *
 * @example
 * ```ts
 * checkLimits('order', { concurrency: 0 }); // ['saga "order": .limits().concurrency must be a positive integer …']
 * ```
 */
export function checkLimits(sagaName: string, limits: unknown): string[] {
  const errors: string[] = [];
  const where = `saga "${sagaName}": .limits()`;
  checkValues(where, limits, errors);
  if (errors.length > 0 || limits === null || typeof limits !== 'object') return errors;
  const { key, perKey, concurrency, rate } = limits as SagaLimits<unknown>;
  if (key !== undefined && typeof key !== 'function') errors.push(`${where}.key must be a function of the input returning a string, e.g. (input) => input.customerId`);
  if (perKey !== undefined) {
    if (key === undefined) errors.push(`${where}.perKey needs a key: add key: (input) => input.customerId`);
    checkValues(`${where}.perKey`, perKey, errors);
    const p = perKey as LimitValues | null;
    if (p && typeof p === 'object' && p.concurrency === undefined && p.rate === undefined) errors.push(`${where}.perKey sets no limit; give concurrency and/or rate`);
  } else if (key !== undefined) {
    errors.push(`${where}.key is given without perKey limits; add perKey: { concurrency: 1 } (or drop key)`);
  }
  if (concurrency === undefined && rate === undefined && perKey === undefined) errors.push(`${where} sets no limit; give concurrency, rate or perKey`);
  return errors;
}
