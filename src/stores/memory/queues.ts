import { planPromotion, promotedRecord, type QueuedCandidate } from '../queue-plan.js';
import { longestWindowMs } from '../queue-plan.js';
import type { PromoteRequest, QueuePlace, SagaRecord } from '../types.js';
import { ACTIVE_STATUSES, QUEUED } from '../encoding.js';

/** A record's place in its queue. */
interface Place extends QueuePlace {
  seq: number;
}

/**
 * MemoryStore's queue columns: each queued (or promoted) record's key,
 * priority and arrival number, and the promotion times of each saga name's
 * rate windows. A promotion runs synchronously, so it is atomic by itself.
 *
 * @internal
 * @example
 * ```ts
 * queues.place(id, { key: 'c-1', priority: 0 });
 * const { chosen } = queues.plan(request, queuedRecords, activeRecords);
 * ```
 */
export class MemoryQueues {
  readonly #places = new Map<string, Place>();
  readonly #starts = new Map<string, { key: string; at: number }[]>();
  #seq = 0;

  /** Whether the record was inserted with a queue place (only those hold slots). */
  placed(id: string): boolean {
    return this.#places.has(id);
  }

  place(id: string, place: QueuePlace): void {
    this.#places.set(id, { key: place.key, priority: place.priority, seq: ++this.#seq });
  }

  /** Picks what to promote among a store's records: the queued ones of the request's name and versions, given its active ones. */
  promoteFrom(records: Iterable<SagaRecord>, request: PromoteRequest, out: (r: SagaRecord) => SagaRecord): { chosen: SagaRecord[]; nextAt: number | null } {
    const excluded = new Set(request.excludeIds);
    const mine = [...records].filter((r) => r.sagaName === request.sagaName);
    const all = mine.filter((r) => r.status === QUEUED);
    const queued = all.filter((r) => (request.versions === undefined || request.versions.includes(r.version)) && !excluded.has(r.id));
    const active = mine.filter((r) => ACTIVE_STATUSES.includes(r.status) && this.placed(r.id));
    return this.plan(request, queued.map(out), active, all.length);
  }

  /** Picks what to promote (records as promoted, snapshots untouched) and records their promotion times. */
  plan(request: PromoteRequest, queued: readonly SagaRecord[], active: readonly SagaRecord[], queuedCount: number): { chosen: SagaRecord[]; nextAt: number | null } {
    const windowMs = longestWindowMs(request.limits);
    const starts = (this.#starts.get(request.sagaName) ?? []).filter((s) => s.at > request.now - windowMs);
    const activeByKey = new Map<string, number>();
    for (const record of active) {
      const key = this.#key(record.id);
      activeByKey.set(key, (activeByKey.get(key) ?? 0) + 1);
    }
    const candidates: QueuedCandidate[] = queued
      .map((record) => ({ record, key: this.#key(record.id), place: this.#places.get(record.id) }))
      .sort((a, b) => priorityOf(b.place) - priorityOf(a.place) || (a.place?.seq ?? 0) - (b.place?.seq ?? 0) || (a.record.id < b.record.id ? -1 : 1))
      .map(({ record, key }) => ({ record, key }));
    const { chosen, nextAt } = planPromotion(request, candidates, { activeByKey, starts, queued: queuedCount });
    for (const c of chosen) starts.push({ key: c.key, at: request.now });
    this.#starts.set(request.sagaName, starts);
    return { chosen: chosen.map((c) => promotedRecord(c.record, request)), nextAt };
  }

  #key(id: string): string {
    return this.#places.get(id)?.key ?? '';
  }
}

/** A priority as the SQL stores read it: an integer, anything else 0. */
function priorityOf(place: Place | undefined): number {
  return Number.isSafeInteger(place?.priority) ? place!.priority : 0;
}
