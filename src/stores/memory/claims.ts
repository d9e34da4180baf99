import { claimOrder, compareIds, DUE_ONLY_STATUS, listLimit, listStatuses, nonNegativeInteger, UNFINISHED_STATUSES } from '../encoding.js';
import type { ClaimRequest, ListFilter, SagaRecord, SagaStatus } from '../types.js';

/*
 * The memory store's selections over its records: what a claim may take, what `list`, `countByStatus`
 * and `nextDueAt` return. Pure functions of the records, the same rules as the SQL stores' statements.
 */

/**
 * The records a claim may take, in claim order and at most `request.limit`:
 * unfinished, free (or this owner's, or with a lapsed lease), of the names,
 * versions and id asked for, not excluded, and due when the claim or the
 * status asks for that. The same rule as the SQL stores' claim statements.
 *
 * @internal
 * @example
 * ```ts
 * claimCandidates(records.values(), { owner: 'w1', now, leaseUntil: now + 30_000, limit: 100 }, (id) => false);
 * ```
 */
export function claimCandidates(records: Iterable<SagaRecord>, request: ClaimRequest, hasPending: (id: string) => boolean): SagaRecord[] {
  const { owner, now, id, sagaNames, versions } = request;
  const excluded = new Set(request.excludeIds);
  return [...records]
    .filter(
      (r) =>
        UNFINISHED_STATUSES.includes(r.status) &&
        (r.owner === null || (r.leaseUntil ?? -Infinity) < now || r.owner === owner) &&
        (id === undefined || r.id === id) &&
        (sagaNames === undefined || sagaNames.includes(r.sagaName)) &&
        (versions === undefined || versions.includes(r.version)) &&
        !excluded.has(r.id) &&
        ((!request.dueOnly && r.status !== DUE_ONLY_STATUS) || (r.dueAt !== null && r.dueAt <= now) || hasPending(r.id)),
    )
    .sort(claimOrder)
    .slice(0, nonNegativeInteger(request.limit));
}

/** The records `list` returns (before their snapshots are assembled): most recently updated first. */
export function listed(records: Iterable<SagaRecord>, filter?: ListFilter): SagaRecord[] {
  const statuses = listStatuses(filter);
  const sagaName = filter?.sagaName;
  const parentId = filter?.parentId;
  return [...records]
    .filter(
      (r) =>
        (!statuses || statuses.includes(r.status)) &&
        (sagaName === undefined || r.sagaName === sagaName) &&
        (parentId === undefined || r.parentId === parentId),
    )
    .sort((a, b) => b.updatedAt - a.updatedAt || compareIds(a.id, b.id))
    .slice(0, listLimit(filter));
}

/** Records by status, of one saga name or all. */
export function countsOf(records: Iterable<SagaRecord>, sagaName?: string): Partial<Record<SagaStatus, number>> {
  const counts: Partial<Record<SagaStatus, number>> = {};
  for (const r of records) {
    if (sagaName === undefined || r.sagaName === sagaName) counts[r.status] = (counts[r.status] ?? 0) + 1;
  }
  return counts;
}

/** The earliest due time of an unfinished record of these names (all names when undefined), or null. */
export function earliestDue(records: Iterable<SagaRecord>, sagaNames?: readonly string[]): number | null {
  let next: number | null = null;
  for (const r of records) {
    if (r.dueAt === null || !UNFINISHED_STATUSES.includes(r.status)) continue;
    if (sagaNames !== undefined && !sagaNames.includes(r.sagaName)) continue;
    if (next === null || r.dueAt < next) next = r.dueAt;
  }
  return next;
}
