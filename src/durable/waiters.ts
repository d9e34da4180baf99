import type { Clock } from '../interpretation/clock.js';

/**
 * The callers of `result(id)` waiting for a saga to move, by saga id. An
 * entry lives only while someone waits: every wake-up (a write of the saga,
 * or the poll timer for sagas other workers run) removes the waiter and its
 * timer, and an id with no waiter left is deleted, so memory does not grow
 * with the number of sagas ever awaited.
 *
 * @internal
 * @example
 * ```ts
 * const waiters = new Waiters(clock);
 * await waiters.wait('order-1', 1_000); // resolves at the next wake('order-1'), or after 1 s
 * await waiters.wait('order-1', 1_000, signal); // or rejects with signal.reason once it aborts
 * ```
 */
export class Waiters {
  readonly #byId = new Map<string, Set<() => void>>();

  constructor(private readonly clock: Clock) {}

  /**
   * Resolves at the next {@link wake} of this id, or after `timeoutMs`, whichever comes first. Rejects with
   * the reason of `signal` once it aborts, the waiter removed like any other (its timer and listener too).
   */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let set = this.#byId.get(id);
      if (!set) this.#byId.set(id, (set = new Set()));
      const waiters = set;
      const leave = () => {
        waiters.delete(done);
        if (waiters.size === 0 && this.#byId.get(id) === waiters) this.#byId.delete(id);
        this.clock.clearTimeout(handle);
        signal?.removeEventListener('abort', aborted);
      };
      const done = () => (leave(), resolve());
      const aborted = () => (leave(), reject(signal!.reason));
      waiters.add(done);
      const handle = this.clock.setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  /** Wakes every caller waiting for this id. */
  wake(id: string): void {
    const set = this.#byId.get(id);
    if (set) for (const done of [...set]) done();
  }

  /** Ids with a caller waiting (for tests of memory). */
  get size(): number {
    return this.#byId.size;
  }
}
