
/**
 * The storage contract. Stores only store: they know nothing of XState, of
 * steps or of sagas beyond the columns below. Every store (memory, SQLite,
 * PostgreSQL, or one a user writes) passes the same conformance suite
 * (`orsa/testing`'s `runStoreConformance`).
 *
 * Times are epoch milliseconds (`…At`, `…Until`), supplied by the caller: a
 * store never reads the clock, so tests drive it with a simulated one.
 */

/** Where a saga instance stands, as the runtime last wrote it. */
export type SagaStatus =
  | 'running'
  | 'waiting'
  | 'compensating'
  | 'completed'
  | 'compensated'
  | 'failed'
  | 'cancelled';

/** Every status, in the order a saga may pass through them. */
export const SAGA_STATUSES: readonly SagaStatus[] = ['running', 'waiting', 'compensating', 'completed', 'compensated', 'failed', 'cancelled'];

/**
 * Statuses a saga never leaves: claims skip such a record and `nextDueAt`
 * ignores it. `failed` (compensation could not finish) is not among them: it
 * waits for an operator, and is claimed only when something is due for it
 * (in practice an inbox event such as `retryCompensation`, since its dueAt is null).
 *
 * @example
 * ```ts
 * const open = await store.list({ status: ['running', 'waiting', 'compensating', 'failed'] });
 * ```
 */
export const FINAL_STATUSES: readonly SagaStatus[] = ['completed', 'compensated', 'cancelled'];

/** One saga instance as stored. */
export interface SagaRecord {
  /** Caller-chosen or generated id; unique in the store. */
  id: string;
  /** Registered saga name. */
  sagaName: string;
  /** Definition version (hash of the compiled statechart, or an explicit version). */
  version: string;
  status: SagaStatus;
  /** The persisted XState snapshot, as JSON text. Stores never parse it. */
  snapshot: string;
  /** When the runtime must wake this saga (a retry wait, a sleep, an event timeout); null when nothing is timed. */
  dueAt: number | null;
  /** Worker holding the lease; null when free. */
  owner: string | null;
  /** Lease expiry (epoch ms); null when free. */
  leaseUntil: number | null;
  /** Incremented by every successful write; the optimistic-concurrency token. */
  rowVersion: number;
  createdAt: number;
  updatedAt: number;
}

/** One entry of a saga's history: a timeline for the CLI, audits and tests. */
export interface HistoryEvent {
  /** Position in this saga's history, assigned by the store (1, 2, …). */
  seq?: number;
  at: number;
  /** e.g. `saga.started`, `step.started`, `step.completed`, `step.failed`, `step.retrying`, `compensation.completed`, `saga.completed`. */
  type: string;
  step?: string | null;
  attempt?: number | null;
  /** Any JSON value (error records, results summaries). */
  data?: unknown;
}

/**
 * The channel of an inbox row. `'event'`: a user event, consumed by a
 * `waitFor` step. `'command'`: a control command of the runtime (`cancel`,
 * `retryCompensation`, `resume`, `leaseLost`), never named by a user event:
 * a user event called "cancel" is only ever an event.
 */
export type InboxKind = 'event' | 'command';

/** An event sent to a saga, stored before the saga consumes it so that it is never lost. */
export interface InboxEvent {
  /** Assigned by the store, increasing in the order events were sent. */
  seq: number;
  sagaId: string;
  /** Which channel the row belongs to; rows stored before the channel existed are `'event'`. */
  kind: InboxKind;
  name: string;
  /** JSON text of the payload. */
  payload: string;
  at: number;
}

/**
 * One piece of a snapshot written once, when it is produced, instead of being
 * rewritten with the snapshot at every step: a step result (`results`, keyed
 * by step), a visit count (`visits`, keyed by step), a completed-step log
 * entry (`log`, no key), or a map's items list or item step result (`items`,
 * keyed by `map#visit` or by `map[index]:step#visit`), or an execution whose compensation
 * completed (`compensated`, no key: appended to the list). Reads assemble the snapshot from the stored control
 * state and these pieces, in the order they were written (see
 * `assembleSnapshot`).
 */
export interface JournalEntry {
  field: 'results' | 'visits' | 'log' | 'items' | 'compensated';
  key: string | null;
  /** The value as JSON text. */
  value: string;
}

/** The pieces a write appends to a saga's journal. */
export interface JournalWrite {
  entries: readonly JournalEntry[];
  /** Drop the saga's earlier entries first (the writer sends the whole journal again, e.g. its first write after a resume). */
  reset?: boolean;
}

/** The fields a write changes. */
export interface RecordPatch {
  status: SagaStatus;
  /**
   * With `journal`: the control state (the snapshot whose journaled fields
   * are left empty), so a write does not grow with the saga. Without it: the
   * whole snapshot, and the saga's journal entries are dropped.
   */
  snapshot: string;
  /** What this write adds to the saga's journal; see {@link JournalEntry}. */
  journal?: JournalWrite;
  dueAt: number | null;
  /** New lease expiry for the writing owner (a write renews the lease); null releases the record (owner too). */
  leaseUntil: number | null;
}

/** A record to insert: `snapshot` is the control state when `journal` is given (as in {@link RecordPatch}). */
export type NewRecord = Omit<SagaRecord, 'rowVersion' | 'createdAt' | 'updatedAt'> & { now: number; journal?: readonly JournalEntry[] };

/** What a writer believes it holds; a write whose belief is stale fails with {@link StaleRecordError}. */
export interface WriteFence {
  rowVersion: number;
  owner: string;
}

/** Selects records for {@link SagaStore.list}. */
export interface ListFilter {
  status?: SagaStatus | readonly SagaStatus[];
  sagaName?: string;
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
   * Only records that are unfinished (status not in {@link FINAL_STATUSES})
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

/**
 * The storage interface. All methods are atomic; `insert` and `update` each
 * are exactly one commit.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * await store.init();
 * const { inserted } = await store.insert(record, [{ at: now, type: 'saga.started' }]);
 * ```
 */
export interface SagaStore {
  /** Creates or migrates the schema. Idempotent; safe to call from many processes at once. */
  init(): Promise<void>;
  /**
   * Inserts a new record with its first history events, in one commit. The id
   * is checked first (`InvalidSagaIdError`: 1–255 characters, valid Unicode,
   * no control characters). When
   * the id already exists nothing is written and the existing record is
   * returned with `inserted: false` (starting the same id twice runs it once).
   * `rowVersion` of the stored record is 1.
   */
  insert(
    record: NewRecord,
    history: readonly HistoryEvent[],
  ): Promise<{ inserted: boolean; record: SagaRecord }>;
  /**
   * Writes the patch, its journal entries and history, in one commit, only if the record's
   * rowVersion and owner still match the fence; the rowVersion is incremented.
   * Inbox events with seq <= `consumedInboxSeq` are marked consumed in the same
   * commit. Throws {@link StaleRecordError} (and writes nothing) when the fence
   * does not match. The returned record's snapshot is the patch's as written
   * (the control state when the patch has a journal); `get`, `list` and
   * `claim` return snapshots assembled with the journal.
   */
  update(
    id: string,
    fence: WriteFence,
    patch: RecordPatch,
    history: readonly HistoryEvent[],
    options: { now: number; consumedInboxSeq?: number },
  ): Promise<SagaRecord>;
  get(id: string): Promise<SagaRecord | undefined>;
  /** Records by filter, most recently updated first. */
  list(filter?: ListFilter): Promise<SagaRecord[]>;
  /** The whole history of one saga, in seq order. */
  history(id: string): Promise<HistoryEvent[]>;
  /** Leases records to `owner` (see {@link ClaimRequest}); each claimed record's rowVersion is incremented, a refused one is left as it was. */
  claim(request: ClaimRequest): Promise<SagaRecord[]>;
  /**
   * Extends the leases `owner` holds on these ids (never shortening one: a late renewal keeps the later
   * expiry a write set); returns the ids it still holds. An expired lease is not renewed.
   */
  renew(owner: string, ids: readonly string[], leaseUntil: number, now: number): Promise<string[]>;
  /** Clears owner and lease if `owner` holds it. Does not change rowVersion. */
  release(id: string, owner: string): Promise<void>;
  /**
   * Stores an event (or, with `kind: 'command'`, a control command) for a
   * saga, in one commit. `kind` defaults to `'event'`. Throws
   * {@link UnknownSagaError} when no such saga exists, and
   * `InvalidSagaIdError` for an id no store accepts.
   */
  sendEvent(sagaId: string, name: string, payload: string, at: number, kind?: InboxKind): Promise<InboxEvent>;
  /** Unconsumed inbox events of one saga, in seq order. */
  inbox(sagaId: string): Promise<InboxEvent[]>;
  /**
   * Unconsumed inbox events of several sagas, in seq order (one query: a
   * worker checks the sagas it runs). Unknown ids add nothing; an empty list
   * gives [] without a query.
   */
  pendingEvents(sagaIds: readonly string[]): Promise<InboxEvent[]>;
  /** How many records there are in each status (statuses with none may be absent), optionally of one saga: one query (a monitor calls it). */
  countByStatus(sagaName?: string): Promise<Partial<Record<SagaStatus, number>>>;
  /** Earliest dueAt among unfinished records, for a worker's wake-up timer; null when none. */
  nextDueAt(sagaNames?: readonly string[]): Promise<number | null>;
  /** Releases connections. A store passed an external pool/connection leaves it open. */
  close(): Promise<void>;
}

// The store's error classes live in ../errors.ts with every other orsa error; re-exported here for existing imports.
export { StoreError, StaleRecordError, UnknownSagaError } from '../errors.js';
