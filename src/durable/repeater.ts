import type { Clock } from '../interpretation/clock.js';

/**
 * The runtime's periodic tasks (polling, lease renewal, the monitor): each
 * runs again `ms` after its previous run ended, never overlapping itself,
 * while the runtime runs.
 *
 * @internal
 * @example
 * ```ts
 * const repeater = new Repeater(clock, () => running, (e) => console.error(e));
 * repeater.every(1_000, () => poller.poll());
 * repeater.clear(); // on stop
 * ```
 */
export class Repeater {
  private readonly timers = new Set<unknown>();

  constructor(
    private readonly clock: Clock,
    private readonly running: () => boolean,
    private readonly report: (error: unknown) => void,
  ) {}

  every(ms: number, task: () => Promise<unknown>): void {
    const tick = () => {
      this.timers.delete(handle);
      if (!this.running()) return;
      void task().catch((error: unknown) => this.report(error)).finally(() => {
        if (this.running()) {
          handle = this.clock.setTimeout(tick, ms);
          this.timers.add(handle);
        }
      });
    };
    let handle = this.clock.setTimeout(tick, ms);
    this.timers.add(handle);
  }

  /** Cancels every pending run. */
  clear(): void {
    for (const handle of this.timers) this.clock.clearTimeout(handle);
    this.timers.clear();
  }
}
