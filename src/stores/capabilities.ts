import type { HistoryEvent, NewRecord, RecordPatch, SagaRecord, UpdateOptions, WriteFence } from './types.js';

/*
 * Group commit (see `SagaStore.writeBatch`) and wake-ups (see `SagaStore.subscribe`): the store contract's
 * optional capabilities. Re-exported by `types.ts`.
 */

/** One write of a group commit ({@link SagaStore.writeBatch}): what `insert` or `update` would take. */
export type BatchWrite =
  | { kind: 'insert'; record: NewRecord; history: readonly HistoryEvent[] }
  | { kind: 'update'; id: string; fence: WriteFence; patch: RecordPatch; history: readonly HistoryEvent[]; options: UpdateOptions };

/**
 * What one write of a group commit came to: what `insert` or `update` would
 * have returned (`inserted` for an insert), or what it would have thrown
 * ({@link StaleRecordError} for a refused fence).
 */
export type BatchOutcome = { ok: true; record: SagaRecord; inserted?: boolean } | { ok: false; error: unknown };

/**
 * A wake-up from {@link SagaStore.subscribe}: something happened to a saga,
 * possibly in another process, that a worker may act on now.
 */
export interface StoreWake {
  /**
   * The saga: it has a new inbox row, or it was released (a stopped worker gave up its lease, or a write
   * unloaded it to wait). Absent: anything may have changed (wake-ups may have been missed while the
   * store reconnected), so look at everything.
   */
  sagaId?: string;
  /** For a released saga: when it falls due (epoch ms); a worker claims it then, or at once when that is past. */
  dueAt?: number;
}

/** Called by a store's wake-up subscription when it cannot listen: `retryInMs` is when it tries again (polling goes on meanwhile). */
export type StoreWakeError = (error: unknown, retryInMs: number) => void;
