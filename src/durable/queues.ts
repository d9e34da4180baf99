import type { SagaRecord, SagaStore } from '../stores/types.js';
import type { Clock } from '../interpretation/clock.js';
import type { RecordGate } from './claims.js';
import type { SagaRegistry } from './registry.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import { limitData, queuedSnapshot, queuePlace } from './queued.js';

/** What the queue keeper needs of its runtime. */
export interface QueueKeeperDeps {
  store: SagaStore;
  clock: Clock;
  gate: RecordGate;
  sagas: SagaRegistry;
  workerId: string;
  leaseMs: number;
  /** Most records one promotion takes. */
  batch: number;
  /** Runs a promoted record here (it starts from its stored input). */
  resume: (record: SagaRecord) => Promise<void>;
  /** Whether the runtime still runs (between start and stop). */
  running: () => boolean;
  /** Reports an error that is no caller's (a promotion after a start). */
  report: (error: unknown) => void;
  /** Wakes the poller at this time (ms since epoch), which promotes again. */
  wakeAt: (at: number | null) => void;
}

/**
 * Starts queued sagas of the limited saga names this worker runs: asks the
 * store to promote what the limits allow (atomically, however many workers
 * ask at once) and runs what it got. Called when a limited saga is started
 * here, when one that held a slot here ends, at every poll, and when a rate
 * window frees a start. It holds nothing per queued saga.
 *
 * @internal
 * @example
 * ```ts
 * const keeper = new QueueKeeper({ store, clock, gate, sagas, workerId, leaseMs, batch: 100, resume, running, wakeAt });
 * await keeper.promote('order');
 * ```
 */
export class QueueKeeper {
  /** The promotion under way per name: one at a time per name in this process (the store serializes processes). */
  private readonly chains = new Map<string, Promise<void>>();
  /** Names asked to promote again while a promotion ran (a slot freed meanwhile). */
  private readonly again = new Set<string>();

  constructor(private readonly deps: QueueKeeperDeps) {}

  /** Whether sagas of this name may wait in a queue (a definition of it registered here declares limits). */
  limited(name: string): boolean {
    return this.limitsOf(name) !== undefined;
  }

  /**
   * The limits this worker applies to a name: its latest definition's, else those of the last registered
   * version that declares some. A version that drops its limits must not strand the sagas its predecessor
   * queued: they are promoted under the predecessor's limits.
   */
  private limitsOf(name: string) {
    const { sagas } = this.deps;
    const latest = sagas.latest.get(name)?.declaration.limits;
    if (latest) return latest;
    const versions = sagas.versionsByName.get(name) ?? [];
    for (let i = versions.length - 1; i >= 0; i--) {
      const limits = sagas.get(name, versions[i]!)?.declaration.limits;
      if (limits) return limits;
    }
    return undefined;
  }

  /**
   * Stores a new saga of a limited definition as `queued` (one commit; nothing runs yet), then promotes
   * its name, which may start it here at once. A failed promotion leaves it queued for the next poll.
   *
   * @throws {InvalidQueueOptionError} for a bad priority or key (before anything is stored).
   */
  async enqueue(definition: SagaDefinition<any, any>, id: string, input: unknown, priority: unknown): Promise<{ inserted: boolean; record: SagaRecord }> {
    const place = queuePlace(definition, definition.declaration.limits!, input, priority);
    const now = this.deps.clock.now();
    const data = { priority: place.priority, ...(place.key !== null ? { key: place.key } : {}) };
    const result = await this.deps.store.insert(
      { id, sagaName: definition.name, version: definition.version, status: 'queued', snapshot: queuedSnapshot(input), dueAt: null, owner: null, leaseUntil: null, now, queue: place },
      [{ at: now, type: 'saga.queued', step: null, attempt: null, data }],
    );
    if (result.inserted) await this.promote(definition.name).catch((error: unknown) => this.deps.report(error));
    return result;
  }

  /** Ends a queued saga `cancelled` (nothing ran, nothing to compensate); undefined when it is no longer queued. */
  cancel(id: string): Promise<SagaRecord | undefined> {
    const now = this.deps.clock.now();
    return this.deps.store.cancelQueued(id, now, [{ at: now, type: 'saga.cancelled', step: null, attempt: null, data: { queued: true } }]);
  }

  /** Resolves once no promotion is under way (stop() waits for it before letting go of its sagas). */
  async settle(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  /** Promotes every limited name this worker runs. */
  async promoteAll(): Promise<void> {
    for (const name of this.deps.sagas.latest.keys()) if (this.limited(name)) await this.promote(name);
  }

  /** Promotes queued sagas of one name and runs them here; a call during a promotion runs one more after it. */
  promote(name: string): Promise<void> {
    const under = this.chains.get(name);
    if (under) {
      this.again.add(name);
      return under;
    }
    const run = this.drain(name).finally(() => {
      this.chains.delete(name);
      if (this.again.delete(name) && this.deps.running()) void this.promote(name).catch(() => {});
    });
    this.chains.set(name, run);
    return run;
  }

  private async drain(name: string): Promise<void> {
    const { store, clock, gate, sagas, workerId, leaseMs } = this.deps;
    const limits = this.limitsOf(name);
    if (!limits) return;
    const data = limitData(limits);
    const limit = Math.max(1, this.deps.batch);
    for (;;) {
      if (!this.deps.running()) return;
      const now = clock.now();
      const { promoted, nextAt } = await store.promote({
        sagaName: name,
        limits: data,
        owner: workerId,
        now,
        leaseUntil: now + leaseMs,
        limit,
        versions: sagas.versionsByName.get(name) ?? [],
        excludeIds: [...gate.quarantined],
        accept: gate.accept,
      });
      gate.flush();
      if (!this.deps.running()) {
        // Stopped while the store promoted: run nothing here (stop() no longer holds what it would start),
        // and hand the records back so another worker takes them at once, not after the lease.
        await Promise.all(promoted.map((record) => store.release(record.id, workerId).catch((error: unknown) => this.deps.report(error))));
        return;
      }
      await Promise.all(promoted.map((record) => this.deps.resume(record)));
      this.deps.wakeAt(nextAt);
      if (promoted.length < limit) return;
    }
  }
}
