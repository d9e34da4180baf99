import type { ScheduleStore } from '../schedules.js';
import {
  claimOrder,
  compareIds,
  decodeHistory,
  DUE_ONLY_STATUS,
  encodeHistory,
  listLimit,
  listStatuses,
  nonNegativeInteger,
  newStoredRecord,
  ACTIVE_STATUSES,
  QUEUED,
  UNFINISHED_STATUSES,
  type HistoryRow,
} from '../encoding.js';
import { MemoryQueues } from './queues.js';
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

interface StoredInboxEvent {
  event: InboxEvent;
  consumed: boolean;
}

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
  readonly #inbox = new Map<string, StoredInboxEvent[]>();
  /** Journal rows per saga (the record's snapshot is its control state). */
  readonly #journal = new Map<string, JournalRow[]>();
  readonly #stats: StoreStats = { bytesWritten: 0, writes: 0, commits: 0 };
  /** Queue places (key, priority, seq) and promotion times, by saga name. */
  readonly #queues = new MemoryQueues();
  #inboxSeq = 0;
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
      for (const entry of this.#inbox.get(id) ?? []) if (entry.event.seq <= consumed) entry.consumed = true;
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
    const statuses = listStatuses(filter);
    const sagaName = filter?.sagaName;
    const parentId = filter?.parentId;
    return [...this.#records.values()]
      .filter(
        (r) =>
          (!statuses || statuses.includes(r.status)) &&
          (sagaName === undefined || r.sagaName === sagaName) &&
          (parentId === undefined || r.parentId === parentId),
      )
      .sort((a, b) => b.updatedAt - a.updatedAt || compareIds(a.id, b.id))
      .slice(0, listLimit(filter))
      .map((r) => this.#out(r));
  }

  async history(id: string): Promise<HistoryEvent[]> {
    this.#ready();
    return (this.#history.get(id) ?? []).map((row, index) => decodeHistory(index + 1, row));
  }

  async claim(request: ClaimRequest): Promise<SagaRecord[]> {
    this.#ready();
    const { owner, now, id, sagaNames, versions } = request;
    const excluded = new Set(request.excludeIds);
    const candidates = [...this.#records.values()]
      .filter(
        (r) =>
          UNFINISHED_STATUSES.includes(r.status) &&
          (r.owner === null || (r.leaseUntil ?? -Infinity) < now || r.owner === owner) &&
          (id === undefined || r.id === id) &&
          (sagaNames === undefined || sagaNames.includes(r.sagaName)) &&
          (versions === undefined || versions.includes(r.version)) &&
          !excluded.has(r.id) &&
          ((!request.dueOnly && r.status !== DUE_ONLY_STATUS) ||
            (r.dueAt !== null && r.dueAt <= now) ||
            this.#hasPendingEvents(r.id)),
      )
      .sort(claimOrder)
      .slice(0, nonNegativeInteger(request.limit));
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
    const event: InboxEvent = { seq: ++this.#inboxSeq, sagaId, kind, name, payload, at };
    const events = this.#inbox.get(sagaId) ?? [];
    events.push({ event, consumed: false });
    this.#inbox.set(sagaId, events);
    this.#wakes.emit({ sagaId });
    return { ...event };
  }

  async inbox(sagaId: string): Promise<InboxEvent[]> {
    this.#ready();
    return (this.#inbox.get(sagaId) ?? []).filter((e) => !e.consumed).map((e) => ({ ...e.event }));
  }

  async pendingEvents(sagaIds: readonly string[]): Promise<InboxEvent[]> {
    this.#ready();
    const events: InboxEvent[] = [];
    for (const sagaId of new Set(sagaIds)) {
      for (const entry of this.#inbox.get(sagaId) ?? []) if (!entry.consumed) events.push({ ...entry.event });
    }
    return events.sort((a, b) => a.seq - b.seq);
  }

  async countByStatus(sagaName?: string): Promise<Partial<Record<SagaStatus, number>>> {
    this.#ready();
    const counts: Partial<Record<SagaStatus, number>> = {};
    for (const r of this.#records.values()) {
      if (sagaName === undefined || r.sagaName === sagaName) counts[r.status] = (counts[r.status] ?? 0) + 1;
    }
    return counts;
  }

  async nextDueAt(sagaNames?: readonly string[]): Promise<number | null> {
    this.#ready();
    let next: number | null = null;
    for (const r of this.#records.values()) {
      if (r.dueAt === null || !UNFINISHED_STATUSES.includes(r.status)) continue;
      if (sagaNames !== undefined && !sagaNames.includes(r.sagaName)) continue;
      if (next === null || r.dueAt < next) next = r.dueAt;
    }
    return next;
  }

  async promote(request: PromoteRequest): Promise<PromoteResult> {
    this.#ready();
    const { sagaName, versions } = request;
    const excluded = new Set(request.excludeIds);
    const mine = [...this.#records.values()].filter((r) => r.sagaName === sagaName);
    const all = mine.filter((r) => r.status === QUEUED);
    const queued = all.filter((r) => (versions === undefined || versions.includes(r.version)) && !excluded.has(r.id));
    const active = mine.filter((r) => ACTIVE_STATUSES.includes(r.status) && this.#queues.placed(r.id));
    const { chosen, nextAt } = this.#queues.plan(request, queued.map((r) => this.#out(r)), active, all.length);
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

  #hasPendingEvents(sagaId: string): boolean {
    return this.#inbox.get(sagaId)?.some((e) => !e.consumed) ?? false;
  }

  #ready(): void {
    if (this.#state !== 'open') throw new StoreNotReadyError('MemoryStore', this.#state);
  }
}
