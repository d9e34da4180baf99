import { SagaUnloadedError, StaleRecordError } from '../errors.js';
import type { SagaContext } from '../compilation/machine.js';
import { FINAL_STATUSES, type SagaRecord, type SagaStore } from '../stores/types.js';
import type { Clock } from '../interpretation/clock.js';
import type { Transition } from '../interpretation/execution-options.js';
import type { RuntimeHooks } from './runtime-options.js';
import { consumed, type Live } from './live.js';
import { historyFor } from './history-entries.js';
import { hasEnded, outcomeOf } from './records.js';
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
  constructor(private readonly deps: WriterDeps) {}

  async write(live: Live, t: Transition, onInsert?: (inserted: boolean, record: SagaRecord) => void): Promise<void> {
    const { store, clock, workerId, leaseMs } = this.deps;
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
    const history = historyFor(t, live.definition, persisted.context, workerId, execution);
    const notify = noticesFor(t, persisted.context, live.definition);
    let record: SagaRecord;
    if (t.event.type === 'orsa.start') {
      const result = await store.insert(
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
        record = await store.update(t.sagaId, live.fence, { ...patch, journal: split.journal }, history, {
          now,
          ...(seq !== undefined ? { consumedInboxSeq: seq } : {}),
          ...(notify.length > 0 ? { notify } : {}),
        });
      } catch (error) {
        // The fence moved: another worker claimed the saga, so this one lost its lease during what it ran.
        if (error instanceof StaleRecordError) this.deps.leaseLost(live, t);
        throw error;
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
