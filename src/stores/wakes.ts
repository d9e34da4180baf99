import { FINAL_STATUSES, type SagaStatus, type StoreWake, type StoreWakeError } from './types.js';

/*
 * The store-level rules of wake-ups (SagaStore.subscribe) and of release, shared by the stores that
 * implement them in code (memory) and mirrored in SQL (the PostgreSQL triggers of migrations 7 and 8).
 */

/** Statuses of a saga stopped inside a step: released, it is due at once. */
const MID_STEP: readonly SagaStatus[] = ['running', 'compensating'];

/**
 * The due time of a record after `release`: a saga stopped inside a step is due
 * since its last write (no later), so another worker takes it at once rather
 * than when the lease it gave up would have run out; others keep theirs.
 *
 * @example
 * ```ts
 * releasedDueAt({ status: 'running', dueAt: 90_000, updatedAt: 60_000 }); // 60_000
 * ```
 */
export function releasedDueAt(record: { status: SagaStatus; dueAt: number | null; updatedAt: number }): number | null {
  if (!MID_STEP.includes(record.status)) return record.dueAt;
  return record.dueAt === null ? record.updatedAt : Math.min(record.dueAt, record.updatedAt);
}

/**
 * The wake-up a write makes when it leaves a saga unowned, unfinished and
 * timed (a release, or an unload to wait with a due time), having been owned
 * before (or being new); none otherwise.
 */
export function releasedWake(ownedBefore: boolean, after: { id: string; owner: string | null; status: SagaStatus; dueAt: number | null }): StoreWake | undefined {
  if (!ownedBefore || after.owner !== null || after.dueAt === null || FINAL_STATUSES.includes(after.status)) return undefined;
  return { sagaId: after.id, dueAt: after.dueAt };
}

/**
 * Subscribers of one store's wake-ups, told after the write that made each one
 * has returned (a microtask later), never inside it.
 *
 * @example
 * ```ts
 * const wakes = new WakeFanout();
 * const stop = await wakes.subscribe((wake) => console.log(wake.sagaId));
 * wakes.emit({ sagaId: 'order-1' });
 * ```
 */
export class WakeFanout {
  readonly #subscribers = new Set<(wake: StoreWake) => void>();

  get size(): number {
    return this.#subscribers.size;
  }

  async subscribe(onWake: (wake: StoreWake) => void, _onError?: StoreWakeError): Promise<() => Promise<void>> {
    // A function of its own per subscription: the same callback subscribed twice is two subscriptions.
    const subscriber = (wake: StoreWake) => onWake(wake);
    this.#subscribers.add(subscriber);
    return async () => void this.#subscribers.delete(subscriber);
  }

  emit(wake: StoreWake | undefined): void {
    if (!wake || this.#subscribers.size === 0) return;
    queueMicrotask(() => {
      for (const subscriber of [...this.#subscribers]) subscriber(wake);
    });
  }
}
