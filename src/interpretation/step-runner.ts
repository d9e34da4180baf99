import { LeaseLostError, StepTimeoutError, toErrorRecord } from '../errors.js';
import { readOnlyView } from '../compilation/append-map.js';
import type { SagaContext, SagaEvent } from '../compilation/machine.js';
import type { SagaDefinition } from './definition.js';
import type { KindEffect } from '../kinds/kind.js';
import type { Node } from '../declaration/types.js';
import type { Clock } from './clock.js';
import type { ExecutionOptions } from './execution-options.js';
import { assertSerializable, DEFAULT_MAX_RESULT_BYTES } from './serialize.js';
import { StepRun } from './step-run.js';
import { parseItemExec } from '../kinds/map/names.js';
import { itemContext } from './map-items.js';
import type { Interception } from '../observe/interceptors.js';

/** What a step runner needs of its execution. */
export interface StepRunnerDeps {
  definition: SagaDefinition<any, any>;
  sagaId: string;
  clock: Clock;
  random: () => number;
  options: ExecutionOptions;
  /** Effect keys settled but not yet taken by the chart (shared with the execution). */
  settled: Set<string>;
  /** The interceptors of the run, once it began (undefined without any: the hot path pays nothing). */
  hooks: () => Interception | undefined;
  /** Feeds an outcome back to the interpreter's queue. */
  enqueue: (event: SagaEvent) => void;
}

/** A node and the effect its kind runs for it. */
type Effect = { node: Node; effect: KindEffect<any> };

/**
 * Runs the step executions of one saga: calls each one's effect (what its
 * kind runs: a step's function; through the interceptors), checks its
 * result, and turns its outcome or its timeout into the `orsa.done.*` /
 * `orsa.fail.*` event the statechart takes.
 *
 * @internal
 * @example
 * ```ts
 * const steps = new StepRunner({ definition, sagaId, clock, random, options, settled, hooks: () => undefined, enqueue });
 * steps.run('charge', 'charge#1', 1, context);
 * ```
 */
export class StepRunner {
  /** The step executions under way, by step name. */
  readonly running = new Map<string, StepRun>();

  constructor(private readonly deps: StepRunnerDeps) {}

  /** Aborts every step under way (with their timeouts) and forgets them. */
  stopAll(reason: unknown): void {
    for (const run of this.running.values()) {
      run.abort(reason);
      if (run.timeout !== undefined) this.deps.clock.clearTimeout(run.timeout);
    }
    this.running.clear();
  }

  /** Aborts every step under way; their outcomes still reach the chart. */
  abortAll(reason: unknown): void {
    for (const run of this.running.values()) run.abort(reason);
  }

  /** A step execution that kept losing its lease: it fails for good instead of running again. */
  leaseLost(slot: string, exec: string, attempt: number, context: SagaContext, losses: number): void {
    const run = this.newRun(slot, exec, attempt, context);
    this.running.set(slot, run);
    this.failed(run, new LeaseLostError(run.step, losses));
  }

  /** The context a step execution receives; an item of a map (kinds/map) also gets its item, index and the item's results. */
  private newRun(slot: string, exec: string, attempt: number, context: SagaContext): StepRun {
    const { definition, sagaId } = this.deps;
    const fencingToken = this.deps.options.fencingToken ?? 0;
    // `slot#n`: a step's own execution (compared in place: no slice per step); anything else is a map item's.
    const item = exec.lastIndexOf('#') === slot.length && exec.startsWith(slot) ? null : parseItemExec(exec);
    if (!item) return new StepRun(slot, exec, attempt, context.input, readOnlyView(context.results), sagaId, fencingToken);
    const extra = itemContext(definition, context, item);
    return Object.assign(new StepRun(item.step, exec, attempt, context.input, extra.results, sagaId, fencingToken, slot), { item: extra.item, index: extra.index });
  }

  /** `slot` is the key of the execution in `context.active`: the step's name, or a map item's slot `map[index]`. */
  run(slot: string, exec: string, attempt: number, context: SagaContext): void {
    const { definition, clock } = this.deps;
    const run = this.newRun(slot, exec, attempt, context);
    const step = run.step;
    const node = definition.effectOf(step);
    this.running.set(slot, run);
    const timeoutMs = definition.compiled.steps[step]!.timeoutMs;
    if (timeoutMs !== null) {
      run.timeout = clock.setTimeout(() => {
        const error = new StepTimeoutError(step, timeoutMs);
        run.abort(error);
        this.failed(run, error);
      }, timeoutMs);
    }
    let pending: unknown;
    try {
      const hooks = this.deps.hooks();
      pending = hooks?.wraps('step') ? hooks.step(hooks.call('step', step, exec, attempt, run.idempotencyKey, run), () => this.checked(run, node)) : node.effect.run(node.node, run);
    } catch (error) {
      return this.failed(run, error);
    }
    Promise.resolve(pending).then(
      (result) => this.returned(run, node, result),
      (error) => this.failed(run, error),
    );
  }

  private returned(run: StepRun, node: Effect, result: unknown): void {
    if (run.settled) return;
    try {
      // Checked inside the interceptors already, unless one of them changed the result.
      const goto = run.accepted !== undefined && run.accepted.result === result ? run.accepted.goto : this.accept(run, node, result);
      this.settle(run, { type: `orsa.done.${run.slot}`, exec: run.exec, result, goto, now: this.deps.clock.now() });
    } catch (error) {
      this.failed(run, error);
    }
  }

  /** The step function as interceptors see it: a result the saga refuses is thrown inside them, so a span ends with the error. */
  private checked(run: StepRun, node: Effect): unknown {
    const pending = node.effect.run(node.node, run);
    const check = (result: unknown) => (this.accept(run, node, result), result);
    return typeof (pending as PromiseLike<unknown> | null)?.then === 'function' ? Promise.resolve(pending).then(check) : check(pending);
  }

  /** Checks a step's result (serialisable, then the kind's check: a known goto target) and returns where it goes; throws what the step fails with. */
  private accept(run: StepRun, node: Effect, result: unknown): string | null {
    assertSerializable(run.step, result, this.deps.options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES);
    const goto = node.effect.accept ? node.effect.accept(node.node, run, result) : null;
    run.accepted = { result, goto };
    return goto;
  }

  private failed(run: StepRun, error: unknown): void {
    if (run.settled) return;
    const step = run.step;
    this.settle(run, {
      type: `orsa.fail.${run.slot}`,
      exec: run.exec,
      error: toErrorRecord(error),
      retryable: this.deps.definition.isRetryable(step, error),
      random: this.deps.random(),
      now: this.deps.clock.now(),
    });
  }

  private settle(run: StepRun, outcome: SagaEvent): void {
    run.settled = true;
    // Without a persister every commit is effected at once, on the latest snapshot: nothing can be stale.
    if (this.deps.options.persist) this.deps.settled.add(`${run.exec}@${run.attempt}`);
    if (run.timeout !== undefined) this.deps.clock.clearTimeout(run.timeout);
    if (this.running.get(run.slot) === run) this.running.delete(run.slot);
    this.deps.enqueue(outcome);
  }
}
