import type { ScheduleStore } from '../schedules.js';
import {
  decodeHistory,
  encodeHistory,
  newStoredRecord,
  QUEUED,
  type HistoryRow,
} from '../encoding.js';
import { MemoryQueues } from './queues.js';
import { MemoryInboxes } from './inbox.js';
import { claimCandidates, countsOf, earliestDue, listed } from './claims.js';
import { StoreNotReadyError } from '../errors.js';
import { releasedDueAt, releasedWake, WakeFanout } from '../wakes.js';
import { MemorySchedules } from './schedules.js';
import { assertInboxKind, assertSagaId } from '../input-checks.js';
import { assembleSnapshot, journalRow, writeBytes, type JournalRow, type StoreStats } from '../journal.js';
import {
  StaleRecordError,
  UnknownSagaError,
  type ClaimRequest,
  type HistoryEvent,
  type InboxEvent,
  type InboxKind,
  type ListFilter,
  type NewRecord,
  type PromoteRequest,
  type PromoteResult,
  type RecordPatch,
  type SagaRecord,
  type SagaStatus,
  type SagaStore,
  type StoreWake,
  type StoreWakeError,
  type UpdateOptions,
  type WriteFence,
  type BatchOutcome,
  type BatchWrite,
} from '../types.js';

/**
 * A {@link SagaStore} held in this process's memory: for tests, examples and
 * sagas that need not survive a restart. Records are copied on the way in and
 * out, so a caller never mutates stored state; history data goes through JSON
 * as it would in a database.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * await store.init();
 * const { record } = await store.insert(
 *   { id: 'order-1', sagaName: 'order', version: 'v1', status: 'running', snapshot: '{}', dueAt: null, owner: null, leaseUntil: null, now: Date.now() },
 *   [{ at: Date.now(), type: 'saga.started' }],
 * );
 * ```
 */
export class MemoryStore implements SagaStore {
  #state: 'uninitialized' | 'open' | 'closed' = 'uninitialized';
  readonly #records = new Map<string, SagaRecord>();
  readonly #history = new Map<string, HistoryRow[]>();
  readonly #inbox = new MemoryInboxes();
  /** Journal rows per saga (the record's snapshot is its control state). */
  readonly #journal = new Map<string, JournalRow[]>();
  readonly #stats: StoreStats = { bytesWritten: 0, writes: 0, commits: 0 };
  /** Queue places (key, priority, seq) and promotion times, by saga name. */
  readonly #queues = new MemoryQueues();
  readonly #wakes = new WakeFanout();
  readonly schedules: ScheduleStore = new MemorySchedules(() => this.#ready());

  /** What this store has written so far (not part of the SagaStore contract; benches read it). */
  stats(): StoreStats {
    return { ...this.#stats };
  }

  async init(): Promise<void> {
    if (this.#state === 'closed') throw new StoreNotReadyError('MemoryStore', 'closed');
    this.#state = 'open';
  }

  async insert(
    record: NewRecord,
    history: readonly HistoryEvent[],
  ): Promise<{ inserted: boolean; record: SagaRecord }> {
    this.#ready();
    return this.#insert(record, history);
  }

  async update(
    id: string,
    fence: WriteFence,
    patch: RecordPatch,
    history: readonly HistoryEvent[],
    options: UpdateOptions,
  ): Promise<SagaRecord> {
    this.#ready();
    return this.#update(id, fence, patch, history, options);
  }

  /** Group commit: every write in one synchronous sweep (nothing interleaves), each refused alone. */
  async writeBatch(writes: readonly BatchWrite[]): Promise<BatchOutcome[]> {
    this.#ready();
    const commits = this.#stats.commits;
    const outcomes = writes.map((w): BatchOutcome => {
      try {
        if (w.kind === 'insert') return { ok: true, ...this.#insert(w.record, w.history) };
        return { ok: true, record: this.#update(w.id, w.fence, w.patch, w.history, w.options) };
      } catch (error) {
        return { ok: false, error };
      }
    });
    this.#stats.commits = commits + 1;
    return outcomes;
  }

  #insert(record: NewRecord, history: readonly HistoryEvent[]): { inserted: boolean; record: SagaRecord } {
    assertSagaId(record.id);
    const existing = this.#records.get(record.id);
    if (existing) return { inserted: false, record: this.#out(existing) };
    // Encode first: an event whose data cannot be stored must leave nothing behind.
    const rows = history.map(encodeHistory);
    const stored = newStoredRecord(record);
    this.#records.set(stored.id, stored);
    if (record.queue) this.#queues.place(stored.id, record.queue);
    this.#history.set(stored.id, rows);
    this.#journal.set(stored.id, (record.journal ?? []).map(journalRow));
    this.#count(record.snapshot, record.journal, rows);
    this.#wakes.emit(releasedWake(true, stored));
    return { inserted: true, record: { ...stored } };
  }

  #update(id: string, fence: WriteFence, patch: RecordPatch, history: readonly HistoryEvent[], options: UpdateOptions): SagaRecord {
    const current = this.#records.get(id);
    if (!current || current.rowVersion !== fence.rowVersion || current.owner !== fence.owner) {
      throw new StaleRecordError(id);
    }
    const rows = history.map(encodeHistory);
    const released = patch.leaseUntil === null;
    const next: SagaRecord = {
      ...current,
      status: patch.status,
      snapshot: patch.snapshot,
      dueAt: patch.dueAt,
      owner: released ? null : current.owner,
      leaseUntil: patch.leaseUntil,
      rowVersion: current.rowVersion + 1,
      updatedAt: options.now,
    };
    this.#records.set(id, next);
    this.#history.get(id)?.push(...rows);
    const journal = patch.journal;
    if (!journal || journal.reset) this.#journal.set(id, []);
    if (journal) this.#journal.get(id)!.push(...journal.entries.map(journalRow));
    this.#count(patch.snapshot, journal?.entries, rows);
    const consumed = options.consumedInboxSeq;
    if (consumed !== undefined) {
      this.#inbox.consume(id, consumed);
    }
    for (const notice of options.notify ?? []) {
      if (this.#records.has(notice.sagaId)) this.#push(notice.sagaId, 'command', notice.name, notice.payload, options.now);
    }
    this.#wakes.emit(releasedWake(current.owner !== null, next));
    return { ...next };
  }

  async get(id: string): Promise<SagaRecord | undefined> {
    this.#ready();
    const record = this.#records.get(id);
    return record && this.#out(record);
  }

  async list(filter?: ListFilter): Promise<SagaRecord[]> {
    this.#ready();
    return listed(this.#records.values(), filter).map((r) => this.#out(r));
  }

  async history(id: string): Promise<HistoryEvent[]> {
    this.#ready();
    return (this.#history.get(id) ?? []).map((row, index) => decodeHistory(index + 1, row));
  }

  async claim(request: ClaimRequest): Promise<SagaRecord[]> {
    this.#ready();
    const owner = request.owner;
    const candidates = claimCandidates(this.#records.values(), request, (id) => this.#inbox.hasPending(id));
    const accept = request.accept;
    // The judge sees a copy with the snapshot assembled from the journal, as every reader does: the
    // control state alone (results, visits and log empty) reads as a saga that lost its past.
    // Nothing it does reaches the stored record.
    return candidates.filter((r) => !accept || accept(this.#out(r))).map((r) => {
      const claimed: SagaRecord = { ...r, owner, leaseUntil: request.leaseUntil, rowVersion: r.rowVersion + 1 };
      this.#records.set(r.id, claimed);
      return this.#out(claimed);
    });
  }

  async renew(owner: string, ids: readonly string[], leaseUntil: number, now: number): Promise<string[]> {
    this.#ready();
    const held: string[] = [];
    for (const id of new Set(ids)) {
      const record = this.#records.get(id);
      if (!record || record.owner !== owner || record.leaseUntil === null || record.leaseUntil < now) continue;
      this.#records.set(id, { ...record, leaseUntil: Math.max(record.leaseUntil, leaseUntil) });
      held.push(id);
    }
    return held;
  }

  async release(id: string, owner: string): Promise<void> {
    this.#ready();
    const record = this.#records.get(id);
    if (!record || record.owner !== owner) return;
    const released = { ...record, owner: null, leaseUntil: null, dueAt: releasedDueAt(record) };
    this.#records.set(id, released);
    this.#wakes.emit(releasedWake(true, released));
  }

  async sendEvent(sagaId: string, name: string, payload: string, at: number, kind: InboxKind = 'event'): Promise<InboxEvent> {
    this.#ready();
    assertSagaId(sagaId);
    assertInboxKind(kind);
    if (!this.#records.has(sagaId)) throw new UnknownSagaError(sagaId);
    return { ...this.#push(sagaId, kind, name, payload, at) };
  }

  #push(sagaId: string, kind: InboxKind, name: string, payload: string, at: number): InboxEvent {
    const event = this.#inbox.push(sagaId, kind, name, payload, at);
    this.#wakes.emit({ sagaId });
    return event;
  }

  async inbox(sagaId: string): Promise<InboxEvent[]> {
    this.#ready();
    return this.#inbox.unconsumed(sagaId);
  }

  async pendingEvents(sagaIds: readonly string[]): Promise<InboxEvent[]> {
    this.#ready();
    return this.#inbox.pending(sagaIds);
  }

  async countByStatus(sagaName?: string): Promise<Partial<Record<SagaStatus, number>>> {
    this.#ready();
    return countsOf(this.#records.values(), sagaName);
  }

  async nextDueAt(sagaNames?: readonly string[]): Promise<number | null> {
    this.#ready();
    return earliestDue(this.#records.values(), sagaNames);
  }

  async promote(request: PromoteRequest): Promise<PromoteResult> {
    this.#ready();
    const { chosen, nextAt } = this.#queues.promoteFrom(this.#records.values(), request, (r) => this.#out(r));
    const promoted = chosen.map((record) => {
      this.#records.set(record.id, { ...record, snapshot: this.#records.get(record.id)!.snapshot });
      return this.#out(record);
    });
    return { promoted, nextAt };
  }

  async cancelQueued(id: string, now: number, history: readonly HistoryEvent[]): Promise<SagaRecord | undefined> {
    this.#ready();
    assertSagaId(id);
    const current = this.#records.get(id);
    if (!current || current.status !== QUEUED) return undefined;
    const rows = history.map(encodeHistory);
    const next: SagaRecord = { ...current, status: 'cancelled', dueAt: null, owner: null, leaseUntil: null, rowVersion: current.rowVersion + 1, updatedAt: now };
    this.#records.set(id, next);
    this.#history.get(id)?.push(...rows);
    return this.#out(next);
  }

  /** Wake-ups of the runtimes sharing this store in this process (see `SagaStore.subscribe`). */
  subscribe(onWake: (wake: StoreWake) => void, onError?: StoreWakeError): Promise<() => Promise<void>> {
    this.#ready();
    return this.#wakes.subscribe(onWake, onError);
  }

  async close(): Promise<void> {
    this.#state = 'closed';
  }

  /** A copy of a stored record with its snapshot assembled from the journal. */
  #out(record: SagaRecord): SagaRecord {
    return { ...record, snapshot: assembleSnapshot(record.snapshot, this.#journal.get(record.id)) };
  }

  #count(snapshot: string, journal: Parameters<typeof writeBytes>[1], history: readonly HistoryRow[]): void {
    this.#stats.writes++;
    this.#stats.commits++;
    this.#stats.bytesWritten += writeBytes(snapshot, journal, history);
  }

  #ready(): void {
    if (this.#state !== 'open') throw new StoreNotReadyError('MemoryStore', this.#state);
  }
}
