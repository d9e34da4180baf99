import { SagaFailedError, SagaIdTakenError, StaleRecordError } from '../errors.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import type { InboxEvent, SagaRecord, SagaStore } from '../stores/types.js';
import type { Clock } from '../interpretation/clock.js';
import { Execution } from '../interpretation/execution.js';
import type { RuntimeOptions } from './runtime-options.js';
import { versionError } from './describe.js';
import { deliver, type Live } from './live.js';
import type { Waiters } from './waiters.js';
import { JournalWriter } from './journal-writer.js';
import type { SagaObservation } from '../interpretation/observe.js';
import { inspectAs } from './inspect-adapter.js';
import { logTakeover } from '../observe/runtime-setup.js';
import type { SagaInterceptor } from '../observe/interceptors.js';
import type { RecordGate } from './claims.js';
import { validateSnapshot } from './validate-snapshot.js';
import { notStarted } from './queued.js';
import type { SagaRegistry } from './registry.js';
import { UNLOADED, type TransitionWriter } from './writer.js';
import type { ChildHost } from '../kinds/child-effect.js';
import type { ParentRef } from '../kinds/child.js';
import { hasEnded } from './records.js';

/** What the launcher needs of its runtime. */
export interface LauncherDeps {
  options: RuntimeOptions;
  store: SagaStore;
  clock: Clock;
  workerId: string;
  leaseMs: number;
  sagas: SagaRegistry;
  gate: RecordGate;
  writer: TransitionWriter;
  waiters: Waiters;
  /** The sagas this worker runs, by id: a launched saga enters it. */
  live: Map<string, Live>;
  /** Ended sagas whose final write committed and whose observers have not yet heard of it. */
  announcing: Set<string>;
  /** The interceptors the runtime set up at start. */
  interceptors: () => SagaInterceptor[];
  /** Whether the runtime still runs (between start and stop). */
  running: () => boolean;
  /** Wakes the poller at this time (ms since epoch). */
  wakeAt: (dueAt: number | null) => void;
  /** Where the child sagas of the sagas launched here run. */
  children: ChildHost;
}

/**
 * Runs sagas here: launches an execution for a new saga or a claimed record,
 * persisting each transition through the writer, and sets aside a claimed
 * record it cannot resume.
 *
 * @internal
 * @example
 * ```ts
 * const launcher = new Launcher({ options, store, clock, workerId, leaseMs, sagas, gate, writer, waiters, live, announcing, interceptors, running, wakeAt });
 * await launcher.resume(claimedRecord);
 * ```
 */
export class Launcher {
  constructor(private readonly deps: LauncherDeps) {}

  /**
   * Resumes a claimed record here. `inbox`: its unconsumed inbox rows when the caller read them already (the
   * poller reads a claimed batch's inboxes in one query); read here otherwise.
   */
  async resume(record: SagaRecord, inbox?: readonly InboxEvent[]): Promise<void> {
    const definition = this.deps.sagas.get(record.sagaName, record.version);
    try {
      if (!definition) throw versionError(record, this.deps.sagas.byVersion);
      const queued = notStarted(record);
      const snapshot = queued ? undefined : validateSnapshot(definition, record);
      // Read the inbox first: its events are queued before the resume's own write, so that write does not unload the saga.
      // An event whose payload is not JSON is no reason to set the saga aside: toChartEvent makes it a consumed no-op.
      inbox ??= await this.deps.store.inbox(record.id);
      logTakeover(this.deps.options.logger, record, this.deps.workerId);
      const fence = { rowVersion: record.rowVersion, owner: this.deps.workerId };
      // A saga promoted from its queue starts from its input; its first write replaces the stored one.
      const live = this.launch(definition, record.id, queued?.input, snapshot, fence, true, undefined, queued !== undefined);
      deliver(live, inbox, this.deps.clock.now());
    } catch (error) {
      this.deps.live.get(record.id)?.execution.stop(UNLOADED);
      this.deps.live.delete(record.id);
      // A transient fault leaves the saga claimable (retried soon); anything else sets it aside, reported once.
      // Either way only the lease that claim took is given back; if that fails too, the lease simply expires.
      const retryInMs = this.deps.gate.resumeFailed(record, error);
      await this.deps.store.release(record.id, this.deps.workerId).catch(() => {});
      if (retryInMs !== null) this.deps.wakeAt(this.deps.clock.now() + retryInMs);
    }
  }

  /**
   * Starts a new saga with this id here, once its first write (insert with the first step started) commits.
   * An id that exists already is not started again (`created: false`); one held by a saga of another name
   * is refused with `SagaIdTakenError`.
   */
  async start(definition: SagaDefinition<any, any>, id: string, input: unknown): Promise<{ id: string; created: boolean }> {
    const running = this.deps.live.get(id);
    if (running) {
      // Already running here: starting it again must not launch a second execution.
      if (running.definition.name !== definition.name) throw new SagaIdTakenError(id, running.definition.name, definition.name);
      return { id, created: false };
    }
    let created = true;
    let existing: SagaRecord | undefined;
    const live = this.launch(definition, id, input, undefined, { rowVersion: 0, owner: this.deps.workerId }, false, (inserted, record) => {
      created = inserted;
      existing = record;
    });
    await live.firstWrite;
    if (!created && existing && existing.sagaName !== definition.name) throw new SagaIdTakenError(id, existing.sagaName, definition.name);
    return { id, created };
  }

  launch(
    definition: SagaDefinition<any, any>,
    id: string,
    input: unknown,
    snapshot: unknown,
    fence: { rowVersion: number; owner: string },
    committed: boolean,
    onInsert?: (inserted: boolean, record: SagaRecord) => void,
    dequeued = false,
    parent?: ParentRef,
  ): Live & { firstWrite: Promise<void> } {
    let firstWrite!: { resolve: () => void; reject: (e: unknown) => void };
    const first = new Promise<void>((resolve, reject) => (firstWrite = { resolve, reject }));
    first.catch(() => {}); // only startSaga awaits it: a resumed saga's failed write must not be an unhandled rejection
    const observer = this.deps.options.observer;
    const interceptors = this.deps.interceptors();
    const execution = new Execution<unknown>(definition, input, {
      sagaId: id,
      clock: this.deps.clock,
      ...(this.deps.options.random ? { random: this.deps.options.random } : {}),
      ...(this.deps.options.inspect ? { inspect: inspectAs(this.deps.options.inspect, definition.name, id) } : {}),
      ...(this.deps.options.maxResultBytes ? { maxResultBytes: this.deps.options.maxResultBytes } : {}),
      ...(this.deps.options.maxLeaseLosses ? { maxLeaseLosses: this.deps.options.maxLeaseLosses } : {}),
      // Monotonic per claim: every claim (and every write) bumps the row version.
      fencingToken: committed ? fence.rowVersion : 1,
      committed: (t) => {
        this.deps.announcing.delete(t.sagaId);
        // A caller of result() reads the whole record when woken (a map's thousands of items): only a write
        // that changes the status, or of an ended saga, can settle it; waking at every item step made it O(n²).
        if (t.status !== t.previous || hasEnded(t.status)) this.deps.waiters.wake(t.sagaId);
      },
      ...(observer ? { observer: (o: SagaObservation) => observer({ ...o, sagaName: definition.name }) } : {}),
      ...(snapshot ? { snapshot: snapshot as never } : {}),
      ...(interceptors.length ? { interceptors } : {}),
      children: this.deps.children,
      ...(parent ? { parent } : {}),
      persist: async (t) => {
        try {
          await this.deps.writer.write(live, t, onInsert);
          firstWrite.resolve();
        } catch (error) {
          // UNLOADED from the first write: the id existed, that run stands (startSaga answers created: false).
          if (error === UNLOADED) firstWrite.resolve();
          else firstWrite.reject(error);
          throw error;
        }
      },
    });
    const live: Live = { execution, definition, fence, delivered: new Set(), consumedUpTo: 0, committed, lost: false, journal: new JournalWriter(snapshot !== undefined), dequeued };
    this.deps.live.set(id, live);
    execution.result.catch((error: unknown) => {
      // The outcome of a saga is handled by write() (final, failed and waiting sagas are unloaded there);
      // a failed saga that was resumed to retry its compensation keeps running. Only a stop ends it here.
      if (error instanceof SagaFailedError) return;
      if (this.deps.live.get(id) === live) this.deps.live.delete(id);
      // A transient write fault leaves the stored saga intact: it is taken up again once its lease expires.
      if (error !== UNLOADED && !(error instanceof StaleRecordError) && this.deps.running()) this.deps.gate.executionFailed(id, error, () => this.deps.wakeAt(this.deps.clock.now() + this.deps.leaseMs));
    });
    execution.start();
    return Object.assign(live, { firstWrite: first });
  }
}
