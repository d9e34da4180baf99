import type { SagaRecord, SagaStatus } from './types.js';

/*
 * What the store's methods take: the fence and options of a write, the filter of `list`, the request of
 * `claim`. Re-exported by `types.ts`.
 */

/**
 * A command a write stores in another saga's inbox, in the same commit (a
 * child's end for its parent, a parent's end for its parked children). A
 * notice for an id the store does not hold is dropped.
 */
export interface InboxNotice {
  sagaId: string;
  /** The command's name (kind `'command'`). */
  name: string;
  /** JSON text. */
  payload: string;
}

/** What a writer believes it holds; a write whose belief is stale fails with `StaleRecordError`. */
export interface WriteFence {
  rowVersion: number;
  owner: string;
}

/** Options of {@link SagaStore.update}. */
export interface UpdateOptions {
  now: number;
  consumedInboxSeq?: number;
  /** Commands stored in other sagas' inboxes by the same commit. */
  notify?: readonly InboxNotice[];
}

/** Selects records for {@link SagaStore.list}. */
export interface ListFilter {
  status?: SagaStatus | readonly SagaStatus[];
  sagaName?: string;
  /** Only the children of this saga (records whose `parentId` is it). */
  parentId?: string;
  /** Default 100. */
  limit?: number;
}

/** Selects records a worker may take over in {@link SagaStore.claim}. */
export interface ClaimRequest {
  owner: string;
  now: number;
  /** New lease expiry for what is claimed. */
  leaseUntil: number;
  /** At most this many records. */
  limit: number;
  /**
   * Only records that are unfinished (status not in `FINAL_STATUSES`)
   * AND free (owner null, or leaseUntil < now, or owner === this owner) are
   * claimed, and a `failed` one only when something is due for it (dueAt <=
   * now, or unconsumed inbox events). With `dueOnly`, that last condition
   * holds for every status: only records due or holding unconsumed inbox
   * events are claimed.
   */
  dueOnly?: boolean;
  /** Only these saga names (the ones this worker has registered); an empty list claims nothing. */
  sagaNames?: readonly string[];
  /** Only this id. */
  id?: string;
  /**
   * Only records of these definition versions (the ones this worker can
   * resume); others are never touched, not even their lease or rowVersion.
   * An empty list claims nothing; undefined filters nothing.
   */
  versions?: readonly string[];
  /** Never these ids (the ones this worker already runs, or found unreadable); empty or undefined excludes nothing. */
  excludeIds?: readonly string[];
  /**
   * Judges each record the claim would take, inside the claim's transaction
   * (the row is locked, so what it judges is what would be leased). A record
   * it refuses (returns false) is not claimed and not written at all: owner,
   * lease, rowVersion and every other column stay as they were. Refused
   * records count toward `limit`. It must be synchronous and must not throw
   * (a throw aborts the whole claim, nothing claimed). Undefined accepts all.
   */
  accept?: (record: SagaRecord) => boolean;
}
