import { SagaUnloadedError, StaleRecordError } from '../errors.js';
import type { SagaContext } from '../compilation/machine.js';
import { FINAL_STATUSES, type BatchOutcome, type BatchWrite, type SagaRecord, type SagaStore } from '../stores/types.js';
import type { Clock } from '../interpretation/clock.js';
import type { Transition } from '../interpretation/execution-options.js';
import type { RuntimeHooks } from './runtime-options.js';
import { consumed, type Live } from './live.js';
import { historyFor } from './history-entries.js';
import { hasEnded, outcomeOf } from './records.js';
import { isTransientError } from './transient.js';
import { noticesFor } from './child-notices.js';

/** Thrown into an execution that leaves memory (it ended, waits, or its id was taken): not a failure. */
export const UNLOADED = new SagaUnloadedError();

/** What the write path needs of its runtime. */
export interface WriterDeps {
  store: SagaStore;
  clock: Clock;
  workerId: string;
  leaseMs: number;
  hooks: RuntimeHooks | undefined;
  /** The sagas this worker runs, by id: a saga that ends or waits leaves it. */
  live: Map<string, Live>;
  /** Ended sagas whose final write committed and whose observers have not yet heard of it. */
  announcing: Set<string>;
  /** Wakes the poller when an unloaded saga falls due. */
  wakeAt: (dueAt: number | null) => void;
  /** Reports the steps that ran while the lease was lost (a refused fenced write). */
  leaseLost: (live: Live, refused: Transition) => void;
  /** A saga of this name ended (or failed): if it held a queue slot, the next queued saga may start. */
  slotFreed: (sagaName: string) => void;
  /** Runs a hook; what it throws is reported, never passed on. */
  guard: (task: () => unknown) => Promise<void>;
  /** A committed write stored commands for these sagas (child sagas): deliver them here, or have them claimed. */
  notified: (sagaIds: readonly string[]) => void;
}

/**
 * The one commit of a transition: the new snapshot, its status and due time,
 * the history it added, the inbox events it consumed; then the store hooks,
 * and unloading a saga that ended or waits.
 *
 * @internal
 * @example
 * ```ts
 * const writer = new TransitionWriter({ store, clock, workerId, leaseMs, hooks, live, announcing, wakeAt, leaseLost, guard });
 * persist: (t) => writer.write(live, t),
 * ```
 */
export class TransitionWriter {
  private readonly commits: GroupCommit;

  constructor(private readonly deps: WriterDeps) {
    // More than one saga live here: writes of others may be on their way, so a commit waits a turn of the event loop for them.
    this.commits = new GroupCommit(deps.store, () => deps.live.size > 1);
  }

  /** Resolves once every write handed to the store has been answered (the runtime stops after that). */
  idle(): Promise<void> {
    return this.commits.idle();
  }

  async write(live: Live, t: Transition, onInsert?: (inserted: boolean, record: SagaRecord) => void): Promise<void> {
    const { clock, workerId, leaseMs } = this.deps;
    const { execution } = live;
    // A resume changes no state; it is written only to record the steps it runs again (for the audit trail).
    if (t.event.type === 'orsa.resume' && t.observations.length === 0) return;
    const now = clock.now();
    const final = FINAL_STATUSES.includes(t.status);
    // A waiting (or failed) saga leaves memory, unless events for it are already queued here.
    const unload = (t.status === 'waiting' || t.status === 'failed') && !execution.hasQueuedEvents();
    const persisted = t.persisted() as unknown as { context: SagaContext };
    // The write carries the control state and only the results, visits and log entries this transition added.
    const split = live.journal.split(persisted);
    const patch = {
      status: t.status,
      snapshot: split.control,
      // A running saga is "due" when its lease expires: that is when another worker may take it over.
      dueAt: final ? null : unload ? t.dueAt : Math.min(t.dueAt ?? Infinity, now + leaseMs),
      leaseUntil: final || unload ? null : now + leaseMs,
    };
    const history = historyFor(t, live.definition, persisted.context, workerId, live);
    const notify = noticesFor(t, persisted.context, live.definition);
    let record: SagaRecord;
    if (t.event.type === 'orsa.start' && !live.dequeued) {
      const result = await this.commits.insert(
        {
          id: t.sagaId,
          sagaName: live.definition.name,
          version: live.definition.version,
          owner: patch.leaseUntil === null ? null : workerId,
          now,
          ...patch,
          journal: split.journal.entries,
          ...(persisted.context.parent ? { parentId: persisted.context.parent.id } : {}),
        },
        history,
      );
      onInsert?.(result.inserted, result.record);
      // The same id was started before: that run stands. Thrown, so nothing of this run is observed.
      if (!result.inserted) throw UNLOADED;
      record = result.record;
      live.committed = true;
    } else {
      const seq = typeof t.event.seq === 'number' ? t.event.seq : undefined;
      try {
        live.writing = t;
        // A literal, not `{ ...patch, journal }`: on Node 20 a spread followed by a new key costs microseconds.
        const update = { status: patch.status, snapshot: patch.snapshot, dueAt: patch.dueAt, leaseUntil: patch.leaseUntil, journal: split.journal };
        record = await this.commits.update(t.sagaId, live.fence, update, history, {
          now,
          ...(seq !== undefined ? { consumedInboxSeq: seq } : {}),
          ...(notify.length > 0 ? { notify } : {}),
        });
      } catch (error) {
        // The fence moved: another worker claimed the saga, so this one lost its lease during what it ran.
        if (error instanceof StaleRecordError) this.deps.leaseLost(live, t);
        throw error;
      } finally {
        live.writing = undefined;
      }
      if (seq !== undefined) consumed(live, seq);
    }
    split.written();
    live.fence.rowVersion = record.rowVersion;
    if (notify.length > 0) this.deps.notified(notify.map((n) => n.sagaId));
    if (hasEnded(t.status)) this.deps.announcing.add(t.sagaId);
    const hooks = this.deps.hooks;
    // The hook sees the whole snapshot, as get() would return it (assembled only when someone listens).
    if (hooks?.onStore) await this.deps.guard(() => hooks.onStore!({ ...record, snapshot: JSON.stringify(persisted) }));
    // Only when it becomes final: a failed saga that takes an event (and stays failed) is not aborted again.
    if (hasEnded(record.status) && t.previous !== t.status && (hooks?.onComplete || hooks?.onAbort)) await this.finished(record, persisted.context);
    if (hasEnded(t.status) && t.previous !== t.status) this.deps.slotFreed(live.definition.name);
    if (final || unload) {
      if (this.deps.live.get(t.sagaId) === live) this.deps.live.delete(t.sagaId);
      execution.stop(UNLOADED);
      this.deps.wakeAt(patch.dueAt);
    }
  }

  private async finished(record: SagaRecord, context: SagaContext): Promise<void> {
    const outcome = outcomeOf(record, context);
    const hooks = this.deps.hooks;
    if (outcome.ok) await this.deps.guard(() => hooks?.onComplete?.(record, outcome.results));
    else await this.deps.guard(() => hooks?.onAbort?.(record, outcome.error));
  }
}

/** A write waiting for the next group commit. */
interface Pending {
  write: BatchWrite;
  resolve: (outcome: BatchOutcome) => void;
  reject: (error: unknown) => void;
}

/** A write's outcome, or the error it failed with, thrown. */
function succeeded(outcome: BatchOutcome): Extract<BatchOutcome, { ok: true }> {
  if (!outcome.ok) throw outcome.error;
  return outcome;
}

/** Most writes in one group commit. */
const MAX_BATCH = 256;

/** A turn of the event loop (setImmediate where there is one: Node; a task elsewhere). */
const nextTurn = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

/**
 * Group commit: the writes of concurrent sagas share one commit
 * (`SagaStore.writeBatch`). A write goes out at once when no commit is in
 * flight; the writes that arrive while one is share the next. Each write's
 * promise settles only when its own commit has (a step's effects start after
 * the transition that starts them is durable), with its own outcome: a fence
 * refused for one saga fails that saga's write alone. A saga has at most one
 * write in a batch. A batch the store refuses as a whole for a reason that
 * is not transient (one write's data the database will not take) is written
 * again one by one, so that only the write at fault fails; a transient fault
 * (connection lost) fails the batch's writes, as it would fail each alone.
 * A store without `writeBatch` is written one by one.
 *
 * @internal
 * @example
 * ```ts
 * const commits = new GroupCommit(store, () => live.size > 1);
 * const record = await commits.update(id, fence, patch, history, { now });
 * ```
 */
export class GroupCommit {
  #pending: Pending[] = [];
  #flushing: Promise<void> | null = null;
  /** Writes that went straight to the store (a child's insert, a write with notices, a store without batches). */
  #straight = new Set<Promise<unknown>>();

  constructor(
    private readonly store: SagaStore,
    /** Whether other writes may be on their way: then the first write of a batch waits a turn of the event loop. */
    private readonly gather: () => boolean = () => false,
  ) {}

  async insert(...[record, history]: Parameters<SagaStore['insert']>): Promise<{ inserted: boolean; record: SagaRecord }> {
    // A child's or a queued saga's insert goes alone: the batch statement carries no parent or queue columns.
    if (!this.store.writeBatch || record.parentId !== undefined || record.queue !== undefined) return this.#direct(this.store.insert(record, history));
    const outcome = await this.#submit({ kind: 'insert', record, history });
    return { inserted: outcome.inserted !== false, record: outcome.record };
  }

  async update(...[id, fence, patch, history, options]: Parameters<SagaStore['update']>): Promise<SagaRecord> {
    // A write that stores notices in other sagas' inboxes goes alone: a batch statement carries no notices.
    if (!this.store.writeBatch || (options?.notify?.length ?? 0) > 0) return this.#direct(this.store.update(id, fence, patch, history, options));
    // The fence is read now, not when the batch goes out: it is what this write believes it holds.
    return (await this.#submit({ kind: 'update', id, fence: { ...fence }, patch, history, options })).record;
  }

  /** Resolves once nothing is pending or in flight (batched, or gone straight to the store). */
  async idle(): Promise<void> {
    while (this.#flushing || this.#straight.size > 0) {
      if (this.#flushing) await this.#flushing;
      else await Promise.allSettled(this.#straight);
    }
  }

  /** A write sent to the store outside the batches, kept until it settles: stop() waits for it too (idle). */
  #direct<T>(write: Promise<T>): Promise<T> {
    this.#straight.add(write);
    const gone = () => void this.#straight.delete(write);
    write.then(gone, gone);
    return write;
  }

  #submit(write: BatchWrite): Promise<Extract<BatchOutcome, { ok: true }>> {
    // Nothing in flight or waiting, and no other saga here that could write in this turn: the write goes
    // out at once, alone (as a batch of one would, without its promise hops); writes that come meanwhile
    // wait for it, then share the next batch.
    if (this.#flushing === null && !this.gather()) {
      const outcome = this.#one(write);
      this.#flushing = outcome.then(() => this.#flush(false));
      return outcome.then(succeeded);
    }
    return new Promise<BatchOutcome>((resolve, reject) => {
      this.#pending.push({ write, resolve, reject });
      this.#flushing ??= this.#flush(true);
    }).then(succeeded);
  }

  /** Commits the pending writes, batch after batch; `gather`: the first batch may wait a turn for more. */
  async #flush(gather: boolean): Promise<void> {
    try {
      if (gather && this.gather()) await nextTurn();
      while (this.#pending.length > 0) await this.#commit(this.#take());
    } finally {
      this.#flushing = null;
    }
  }

  /** The next batch: the oldest pending writes, one per saga (a second write of a saga waits for the next batch). */
  #take(): Pending[] {
    const batch: Pending[] = [];
    const ids = new Set<string>();
    const rest: Pending[] = [];
    for (const pending of this.#pending) {
      const id = pending.write.kind === 'insert' ? pending.write.record.id : pending.write.id;
      if (batch.length < MAX_BATCH && !ids.has(id)) {
        ids.add(id);
        batch.push(pending);
      } else rest.push(pending);
    }
    this.#pending = rest;
    return batch;
  }

  async #commit(batch: Pending[]): Promise<void> {
    let outcomes: BatchOutcome[];
    try {
      outcomes = batch.length === 1 ? [await this.#one(batch[0]!.write)] : await this.store.writeBatch!(batch.map((p) => p.write));
    } catch (error) {
      if (batch.length === 1 || isTransientError(error)) {
        for (const pending of batch) pending.reject(error);
        return;
      }
      outcomes = [];
      for (const pending of batch) outcomes.push(await this.#one(pending.write));
    }
    batch.forEach((pending, i) => pending.resolve(outcomes[i]!));
  }

  /** One write alone, through the store's own insert or update (one prepared statement, cheaper than a batch of one). */
  async #one(write: BatchWrite): Promise<BatchOutcome> {
    try {
      if (write.kind === 'insert') return { ok: true, ...(await this.store.insert(write.record, write.history)) };
      return { ok: true, record: await this.store.update(write.id, write.fence, write.patch, write.history, write.options) };
    } catch (error) {
      return { ok: false, error };
    }
  }
}
