import { nonNegativeInteger } from './encoding.js';
import type { LimitData, PromoteRequest, PromoteResult, QueueLimitData, SagaRecord } from './types.js';

/*
 * What every store's `promote` decides, once it holds its lock and has read
 * the counts: which queued records fit the limits, in queue order. Pure, so
 * memory, SQLite and PostgreSQL promote exactly the same records.
 */

/** Most queued records one promotion looks at (after the store dropped the ones of full keys). */
export const PROMOTE_SCAN = 1_000;

/** A count no limit reaches: SQL parameters of limits that are not set. */
export const NO_LIMIT = 2 ** 31 - 1;

/** A queued record and its key (null stored keys read as `''`). */
export interface QueuedCandidate {
  record: SagaRecord;
  key: string;
}

/** What occupies a saga name's limits now: active records per key, the promotions of the longest rate window, and how many records are queued. */
export interface Occupancy {
  activeByKey: ReadonlyMap<string, number>;
  starts: readonly { key: string; at: number }[];
  /** Queued records of the name (any version), before this promotion. */
  queued: number;
}

/** The longest rate window of these limits, in ms (0 without a rate): older promotions no longer count and may be dropped. */
export function longestWindowMs(limits: QueueLimitData): number {
  return Math.max(limits.rate?.perMs ?? 0, limits.perKey?.rate?.perMs ?? 0);
}

/** How many records of one key a promotion could start at most (the per-key cap of the candidate query). */
export function perKeyCap(limits: QueueLimitData): number {
  return Math.min(limits.perKey?.concurrency ?? NO_LIMIT, limits.perKey?.rate?.starts ?? NO_LIMIT);
}

/** Counts of one scope (the whole name, or one key) while a promotion admits records. */
class Scope {
  active = 0;
  /** Promotion times within this scope's rate window, oldest first. */
  readonly recent: number[] = [];

  constructor(
    private readonly limits: LimitData | undefined,
    now: number,
    starts: Iterable<number>,
  ) {
    const perMs = limits?.rate?.perMs;
    if (perMs !== undefined) {
      for (const at of starts) if (at > now - perMs) this.recent.push(at);
      this.recent.sort((a, b) => a - b);
    }
  }

  /** 'ok', or what holds a record of this scope back. */
  check(): 'ok' | 'concurrency' | 'rate' {
    const limits = this.limits;
    if (limits?.concurrency !== undefined && this.active >= limits.concurrency) return 'concurrency';
    if (limits?.rate !== undefined && this.recent.length >= limits.rate.starts) return 'rate';
    return 'ok';
  }

  admit(now: number): void {
    this.active++;
    if (this.limits?.rate) this.recent.push(now);
  }

  /** When the oldest promotion that keeps this scope at its rate leaves the window; null when its rate is not reached. */
  freesAt(): number | null {
    const rate = this.limits?.rate;
    if (!rate || this.recent.length < rate.starts) return null;
    return this.recent[this.recent.length - rate.starts]! + rate.perMs;
  }
}

/**
 * Picks the records to promote among `candidates` (in queue order: higher
 * priority first, then first inserted), counting each admitted one. A record
 * held back by its key's limits is skipped; one held back by the name's
 * limits stops the promotion. `accept` is asked only about records that fit.
 * `nextAt`, when records stay queued, is the earliest time a rate that is
 * reached (the name's or any key's) frees a start: the store's candidate
 * query may not show every held-back record, so it is derived from the
 * windows alone, and a wake-up at it may find nothing to do.
 *
 * @example
 * ```ts
 * const { chosen, nextAt } = planPromotion(request, candidates, { activeByKey, starts });
 * ```
 */
export function planPromotion(
  request: Pick<PromoteRequest, 'limits' | 'now' | 'limit' | 'accept'>,
  candidates: readonly QueuedCandidate[],
  occupancy: Occupancy,
): { chosen: QueuedCandidate[]; nextAt: number | null } {
  const { limits, now } = request;
  const max = nonNegativeInteger(request.limit);
  const startsByKey = new Map<string, number[]>();
  for (const start of occupancy.starts) startsByKey.set(start.key, [...(startsByKey.get(start.key) ?? []), start.at]);
  const name = new Scope(limits, now, occupancy.starts.map((s) => s.at));
  for (const n of occupancy.activeByKey.values()) name.active += n;
  const keys = new Map<string, Scope>();
  const keyScope = (key: string): Scope => {
    let scope = keys.get(key);
    if (!scope) {
      scope = new Scope(limits.perKey, now, startsByKey.get(key) ?? []);
      scope.active = occupancy.activeByKey.get(key) ?? 0;
      keys.set(key, scope);
    }
    return scope;
  };
  for (const key of startsByKey.keys()) keyScope(key);
  const chosen: QueuedCandidate[] = [];
  for (const candidate of candidates) {
    if (chosen.length >= max || name.check() !== 'ok') break;
    const scope = keyScope(candidate.key);
    if (scope.check() !== 'ok') continue;
    if (request.accept && !request.accept(candidate.record)) continue;
    name.admit(now);
    scope.admit(now);
    chosen.push(candidate);
  }
  let nextAt: number | null = null;
  if (occupancy.queued > chosen.length) {
    for (const scope of [name, ...keys.values()]) {
      const at = scope.freesAt();
      if (at !== null && (nextAt === null || at < nextAt)) nextAt = at;
    }
  }
  return { chosen, nextAt };
}

/**
 * Puts the rows of a head-of-queue read in queue order as the per-key read and the memory store
 * see it: an odd priority (text, null) counts as 0 and a missing arrival number comes after every
 * other. The SQL read follows its index, where SQLite puts text priorities before every integer and
 * null arrival numbers first: without this, a row written by hand would jump the queue.
 */
export function inQueueOrder<T extends { prio?: unknown; seq?: unknown; id: string }>(rows: T[]): T[] {
  const prio = (row: T) => (typeof row.prio === 'number' && Number.isSafeInteger(row.prio) ? row.prio : 0);
  const seq = (row: T) => (typeof row.seq === 'number' ? row.seq : typeof row.seq === 'string' && /^\d+$/.test(row.seq) ? Number(row.seq) : Infinity);
  return rows.sort((a, b) => prio(b) - prio(a) || seq(a) - seq(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The records a promotion returns: status running, leased to the owner until `leaseUntil` (also their dueAt). */
export function promotedRecord(record: SagaRecord, request: Pick<PromoteRequest, 'owner' | 'now' | 'leaseUntil'>): SagaRecord {
  return {
    ...record,
    status: 'running',
    owner: request.owner,
    leaseUntil: request.leaseUntil,
    dueAt: request.leaseUntil,
    rowVersion: record.rowVersion + 1,
    updatedAt: request.now,
  };
}

/** The empty result. */
export const NOTHING_PROMOTED: PromoteResult = Object.freeze({ promoted: [], nextAt: null }) as PromoteResult;
