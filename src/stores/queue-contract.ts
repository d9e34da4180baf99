import type { SagaRecord } from './types.js';

/*
 * The queue part of the store contract (see `SagaStore.promote`): where a queued saga waits and the limits a
 * store applies when it promotes. Re-exported by `types.ts`.
 */

/**
 * Where a saga waits in its name's queue (see {@link SagaStore.promote}). Given to `insert` with
 * status `'queued'`; the store numbers queued records in the order they were inserted (first come first served).
 */
export interface QueuePlace {
  /** The saga's key for per-key limits; null when its saga has no key. */
  key: string | null;
  /** Higher runs first; an integer in [-2^31, 2^31 - 1]. */
  priority: number;
}

/** At most `starts` promotions within any `perMs` milliseconds. */
export interface RateLimitData {
  starts: number;
  perMs: number;
}

/** Concurrency (sagas holding a slot) and rate (promotions per window) limits; absent: unlimited. */
export interface LimitData {
  concurrency?: number;
  rate?: RateLimitData;
}

/** A saga name's limits as a store applies them: for the whole name, and for each key. */
export interface QueueLimitData extends LimitData {
  perKey?: LimitData;
}

/**
 * Asks {@link SagaStore.promote} to move queued records of one saga name to `running`, leased
 * to `owner`, as far as the limits allow.
 */
export interface PromoteRequest {
  sagaName: string;
  limits: QueueLimitData;
  owner: string;
  now: number;
  /** Lease expiry of what is promoted (also its dueAt, so another worker takes it over if this one dies). */
  leaseUntil: number;
  /** At most this many records. */
  limit: number;
  /** Only records of these definition versions; undefined filters nothing, an empty list promotes nothing. */
  versions?: readonly string[];
  /** Never these ids. */
  excludeIds?: readonly string[];
  /** Judges a record before it is promoted, as {@link ClaimRequest.accept}: a refused one stays queued, untouched, and takes no slot. */
  accept?: (record: SagaRecord) => boolean;
}

/** What {@link SagaStore.promote} did. */
export interface PromoteResult {
  /** The promoted records (status `running`, leased to the owner), in queue order. */
  promoted: SagaRecord[];
  /** When a rate window next frees a start while queued records were held back by a rate; else null. */
  nextAt: number | null;
}
