/**
 * Time, injected. The runtime reads the clock and sets timers only through
 * this interface, so tests of retries, timeouts and sleeps run on a simulated
 * clock instead of waiting.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock.
 *
 * @example
 * ```ts
 * createRuntime({ sagas: [exchange], clock: systemClock });
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A simulated clock for tests: time moves only when `advance` is called. */
export interface TestClock extends Clock {
  /** Moves time forward by `ms`, firing due timers in order and letting the promises they start settle. */
  advance(ms: number): Promise<void>;
  /** Advances to the next pending timer, if any; returns false when none is pending. */
  next(): Promise<boolean>;
  /** Timers not yet fired. */
  pending(): number;
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Creates a simulated clock.
 *
 * @example
 * ```ts
 * const clock = createTestClock();
 * const run = saga.start(input, { clock });
 * await clock.advance(1_000); // fires the retry wait
 * ```
 */
export function createTestClock(startMs = Date.UTC(2026, 0, 1)): TestClock {
  let now = startMs;
  let seq = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const earliest = () => {
    let best: [number, { at: number; callback: () => void }] | undefined;
    for (const entry of timers) if (!best || entry[1].at < best[1].at || (entry[1].at === best[1].at && entry[0] < best[0])) best = entry;
    return best;
  };
  const clock: TestClock = {
    now: () => now,
    setTimeout(callback, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), callback });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    async advance(ms) {
      const target = now + ms;
      await settle();
      for (;;) {
        const next = earliest();
        if (!next || next[1].at > target) break;
        timers.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].callback();
        await settle();
      }
      now = target;
      await settle();
    },
    async next() {
      await settle();
      const next = earliest();
      if (!next) return false;
      await clock.advance(next[1].at - now);
      return true;
    },
    pending: () => timers.size,
  };
  return clock;
}
