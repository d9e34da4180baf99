/**
 * One step execution under way, and the context its function receives. A
 * class with a prototype getter: the hot path makes one object per step, and
 * an AbortController only when the step reads `signal` (they cost microseconds).
 *
 * @internal
 * @example
 * ```ts
 * const run = new StepRun('charge', 'charge#1', 1, input, {}, 'order-1', 7); // run.idempotencyKey === 'order-1:charge#1'
 * ```
 */
export class StepRun {
  private controller: AbortController | undefined;
  private reason: unknown;
  private aborted = false;
  settled = false;
  timeout: unknown = undefined;
  /** The result the saga accepted, and its goto, once checked. */
  accepted: { result: unknown; goto: string | null } | undefined = undefined;
  readonly idempotencyKey: string;
  constructor(
    readonly step: string,
    readonly exec: string,
    readonly attempt: number,
    readonly input: unknown,
    readonly results: Readonly<Record<string, unknown>>,
    readonly sagaId: string,
    readonly fencingToken: number,
    /** Where the chart runs it: the step's name, or an item's slot `map[index]` (its outcome events are named after it). */
    readonly slot: string = step,
  ) {
    this.idempotencyKey = `${sagaId}:${exec}`;
  }
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

