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
 * const { woken, stop } = waiters.listen('order-1', 1_000); // listen first, then read the record
 * ```
 */
export class Waiters {
  readonly #byId = new Map<string, Set<() => void>>();

  constructor(private readonly clock: Clock) {}

  /**
   * Listens for the next {@link wake} of this id, or `timeoutMs`, whichever comes first: `woken` resolves then.
   * It rejects with the reason of `signal` once it aborts. Listen before reading the record, so that a write
   * committed while the read is in flight still wakes the caller (a wake-up between the read and the wait was
   * lost, and only the timeout woke it). `stop()` removes the waiter, its timer and listener; `woken` then never
   * settles.
   */
  listen(id: string, timeoutMs: number, signal?: AbortSignal): { woken: Promise<void>; stop: () => void } {
    let stop = () => {};
    const woken = new Promise<void>((resolve, reject) => {
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
      stop = leave;
    });
    // A caller that stops listening (or throws on the abort itself) never awaits it: no unhandled rejection.
    woken.catch(() => {});
    return { woken, stop };
  }

  /** Resolves at the next {@link wake} of this id, or after `timeoutMs`; rejects once `signal` aborts (see {@link listen}). */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.listen(id, timeoutMs, signal).woken;
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
