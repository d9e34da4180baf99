import { isNonRetryable, toErrorRecord } from '../errors.js';
import { readOnlyView } from '../compilation/append-map.js';
import type { SagaContext, SagaEvent } from '../compilation/machine.js';
import type { StepNode } from '../declaration/types.js';
import type { StepRunnerDeps } from './step-runner.js';
import { parseItemExec } from '../kinds/map/names.js';
import { itemContext } from './map-items.js';

/**
 * Runs the compensation the statechart asks for (one at a time, newest
 * completed step first) and the side tasks of a saga (its readiness probe and
 * its catch handler), feeding each outcome back as an event.
 *
 * @internal
 * @example
 * ```ts
 * const undo = new CompensationRunner(deps);
 * undo.run(context, `undo:${context.comp.exec}@${context.comp.attempt}`);
 * ```
 */
export class CompensationRunner {
  /** The key of the compensation under way, if any. */
  running: string | null = null;
  /** The side task under way ('readiness' or 'catch'), if any. */
  private sideTask: string | null = null;

  constructor(private readonly deps: StepRunnerDeps) {}

  run(context: SagaContext, key: string): void {
    const { definition, sagaId, clock, random, settled, enqueue } = this.deps;
    const comp = context.comp!;
    this.running = key;
    const entry = context.log.find((e) => e.exec === comp.exec)!;
    const node = definition.node(entry.step) as StepNode;
    // A failed execution of a step that declared compensateOnFailure is undone with its error instead of a result.
    const failed = entry.error !== undefined;
    // An item step of a map is undone with its item, its index and its item's results.
    const item = parseItemExec(comp.exec);
    const itemFields = item ? itemContext(definition, context, item) : null;
    const ctx = {
      input: context.input,
      results: itemFields ? itemFields.results : readOnlyView(context.results),
      ...(itemFields ? { item: itemFields.item, index: itemFields.index } : {}),
      result: failed ? undefined : entry.result,
      ...(node.compensateOnFailure ? { failed, error: entry.error } : {}),
      signal: new AbortController().signal,
      attempt: comp.attempt,
      sagaId,
      step: entry.step,
      idempotencyKey: `${sagaId}:${comp.exec}:compensate`,
      fencingToken: this.deps.options.fencingToken ?? 0,
    };
    const finish = (event: SagaEvent) => {
      if (this.running === key) this.running = null;
      settled.add(key);
      enqueue(event);
    };
    const call = () => node.compensate!(ctx);
    const current = this.deps.hooks();
    const hooks = current?.wraps('compensation') ? current : undefined;
    new Promise((resolve) => resolve(hooks ? hooks.step(hooks.call('compensation', entry.step, comp.exec, comp.attempt, ctx.idempotencyKey, ctx), call) : call())).then(
      () => finish({ type: 'orsa.compensated', exec: comp.exec, now: clock.now() }),
      (error) =>
        finish({
          type: 'orsa.compensationFailed',
          exec: comp.exec,
          error: toErrorRecord(error),
          retryable: !isNonRetryable(error),
          random: random(),
          now: clock.now(),
        }),
    );
  }

  /** Runs a side task once per visit of its state: `ok` or `ko` is the event its outcome becomes. */
  runSideTask(name: string, task: () => unknown, ok: string, ko: string): void {
    const { clock, settled, enqueue } = this.deps;
    if (this.sideTask === name || settled.has(name)) return;
    this.sideTask = name;
    const finish = (event: SagaEvent) => {
      this.sideTask = null;
      settled.add(name);
      enqueue(event);
    };
    new Promise((resolve) => resolve(task())).then(
      () => finish({ type: ok, now: clock.now() }),
      (error) => finish({ type: ko, error: toErrorRecord(error), now: clock.now() }),
    );
  }
}
