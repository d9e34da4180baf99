import { StoreUnavailableError } from '../errors.js';
import type { SagaStore, StoreWake } from '../stores/types.js';
import { isTransientError } from './transient.js';

/**
 * Subscribes a runtime to its store's wake-ups (`SagaStore.subscribe`), when
 * the store has them: each one is handed to `notice` (the poller). A store
 * that cannot listen is reported once per run of failures, a transient fault
 * as STORE_UNAVAILABLE; polling goes on meanwhile, and the run ends with the
 * wake-up the store sends once it listens again. Resolves with the function
 * that ends the subscription (a no-op for a store without wake-ups).
 *
 * @internal
 * @example
 * ```ts
 * const unsubscribe = await subscribeWakeups(store, (wake) => poller.notice(wake), report);
 * await unsubscribe();
 * ```
 */
export async function subscribeWakeups(store: SagaStore, notice: (wake: StoreWake) => void, report: (error: unknown) => void): Promise<() => Promise<void>> {
  if (!store.subscribe) return async () => {};
  let failing = false;
  return store.subscribe(
    (wake) => {
      // A wake-up naming no saga follows a (re)connection: the run of failures, if any, is over.
      if (wake.sagaId === undefined) failing = false;
      notice(wake);
    },
    (error, retryInMs) => {
      if (failing) return;
      failing = true;
      const doing = 'listening for wake-ups (the worker polls meanwhile)';
      report(isTransientError(error) ? new StoreUnavailableError(doing, retryInMs, { cause: error }) : error);
    },
  );
}
