
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
  | 'queued'
  | 'running'
  | 'waiting'
  | 'compensating'
  | 'completed'
  | 'compensated'
  | 'failed'
  | 'cancelled';

/**
 * Every status, in the order a saga may pass through them. `queued`: waiting
 * in the store for a slot of its saga's limits; nothing of it runs or is held
 * in memory until it is promoted to `running`.
 */
export const SAGA_STATUSES: readonly SagaStatus[] = ['queued', 'running', 'waiting', 'compensating', 'completed', 'compensated', 'failed', 'cancelled'];

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
  /**
   * The saga that started this one as a child step (`.child()`); absent on a
   * saga started on its own. Written once, at insert (migration 6).
   */
  parentId?: string;
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
export type NewRecord = Omit<SagaRecord, 'rowVersion' | 'createdAt' | 'updatedAt'> & {
  now: number;
  journal?: readonly JournalEntry[];
  /** With status `'queued'`: its key and priority. Only records inserted with one hold a slot while active (a record inserted with another status may carry it too). */
  queue?: QueuePlace;
};

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
   * commit, and each of `notify` is stored as a command in its saga's inbox
   * (skipped when that saga does not exist), in the same commit too. Throws {@link StaleRecordError} (and writes nothing) when the fence
   * does not match. The returned record's snapshot is the patch's as written
   * (the control state when the patch has a journal); `get`, `list` and
   * `claim` return snapshots assembled with the journal.
   */
  update(
    id: string,
    fence: WriteFence,
    patch: RecordPatch,
    history: readonly HistoryEvent[],
    options: UpdateOptions,
  ): Promise<SagaRecord>;
  /**
   * Optional: group commit. Writes every item in **one commit**, each exactly
   * as `insert` or `update` would (same checks, same result), except that a
   * write refused for its own reasons (a fence that no longer matches: a
   * {@link StaleRecordError}; history that cannot be stored) writes nothing of
   * its own and is reported in its outcome, while the others commit. Outcomes
   * come back in the order of `writes`. Ids are distinct (the caller sends at
   * most one write per saga). When the commit itself fails (connection lost),
   * it rejects and nothing is written. Without it, the runtime writes one by one.
   */
  writeBatch?(writes: readonly BatchWrite[]): Promise<BatchOutcome[]>;
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
  /**
   * Clears owner and lease if `owner` holds it. Does not change rowVersion. A
   * `running` or `compensating` saga (one stopped inside a step) becomes due at
   * once (dueAt no later than its updatedAt), so another worker can take it
   * without waiting for the lease it gave up to run out.
   */
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
  /**
   * Moves queued records of one saga name to `running` (leased to the owner, dueAt = leaseUntil, rowVersion
   * incremented), atomically with the counts it checks, so that workers promoting at once never over-admit.
   * Order: higher priority first, then first inserted first. A record is promoted only while, counting it,
   * the name and its key stay within their limits: concurrency counts records inserted with a queue place
   * (`NewRecord.queue`) that are in an active status (`running`, `waiting`, `compensating`), rate counts
   * promotions within the last `perMs` ms. A record
   * whose key is full is skipped, not waited for: the next key's record may go first.
   */
  promote(request: PromoteRequest): Promise<PromoteResult>;
  /**
   * Ends a queued record `cancelled` with these history events, in one commit, and returns it; returns
   * undefined (and writes nothing) when the record is not queued (unknown, promoted or ended meanwhile).
   */
  cancelQueued(id: string, now: number, history: readonly HistoryEvent[]): Promise<SagaRecord | undefined>;
  /** Earliest dueAt among unfinished records, for a worker's wake-up timer; null when none. */
  nextDueAt(sagaNames?: readonly string[]): Promise<number | null>;
  /**
   * Optional capability: wake-ups without polling. `onWake` is called when a
   * saga gets an inbox row ({@link sendEvent}) or is released with a due time
   * (a {@link release}, or a write that sets the lease to null while the saga
   * is unfinished and has a `dueAt`), by this process or another one sharing
   * the store, after that write committed. A hint only: a wake-up may come
   * twice, late, or (while the store reconnects) not at all, in which case a
   * wake-up without `sagaId` follows; workers keep polling as the fallback.
   * Resolves once listening (or once the first attempt failed: `onError`
   * hears of each failure, and the store retries with backoff). The returned
   * function stops the subscription. A store without it is polled only.
   */
  subscribe?(onWake: (wake: StoreWake) => void, onError?: StoreWakeError): Promise<() => Promise<void>>;

  /**
   * Optional capability: the store's named cron schedules (see {@link ScheduleStore}), usable once
   * `init()` has run. A store without it runs sagas but refuses `runtime.schedule()`.
   */
  readonly schedules?: ScheduleStore;
  /** Releases connections. A store passed an external pool/connection leaves it open. */
  close(): Promise<void>;
}

import type { ScheduleStore } from './schedules.js';
import type { QueuePlace, PromoteRequest, PromoteResult } from './queue-contract.js';
import type { BatchOutcome, BatchWrite, StoreWake, StoreWakeError } from './capabilities.js';
export type { QueuePlace, RateLimitData, LimitData, QueueLimitData, PromoteRequest, PromoteResult } from './queue-contract.js';
export type { BatchWrite, BatchOutcome, StoreWake, StoreWakeError } from './capabilities.js';
import type { ClaimRequest, ListFilter, UpdateOptions, WriteFence } from './requests.js';
export type { ClaimRequest, InboxNotice, ListFilter, UpdateOptions, WriteFence } from './requests.js';
export type { MissedTickPolicy, ScheduleChange, ScheduleDefinition, ScheduleRecord, ScheduleStore } from './schedules.js';

// The store's error classes live in ../errors.ts with every other orsa error; re-exported here for existing imports.
export { StoreError, StaleRecordError, UnknownSagaError } from '../errors.js';
