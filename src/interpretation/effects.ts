import { SagaRollingBackError } from '../errors.js';
import { TAGS } from '../compilation/compile.js';
import type { SagaContext } from '../compilation/machine.js';
import { dueAtOf, reportOf } from './observe.js';
import { DEFAULT_MAX_LEASE_LOSSES, type SagaSnapshot } from './execution-options.js';
import { StepRunner, type StepRunnerDeps } from './step-runner.js';
import { CompensationRunner } from './compensation-runner.js';
import { MapItemsTasks, wantedItemTasks } from './map-items.js';
import { ChildRunner, type ChildHost } from '../kinds/child-effect.js';

/**
 * The effects of one saga under way: the steps, compensation, readiness probe
 * and catch handler its statechart asks for, the one timer of its next due
 * time, and the effects that settled but whose outcome the chart has not yet
 * taken (a commit of an older snapshot must not start them again).
 *
 * @internal
 * @example
 * ```ts
 * const effects = new Effects({ definition, sagaId, clock, random, options, hooks: () => undefined, enqueue });
 * effects.start(actor.getSnapshot() as SagaSnapshot);
 * ```
 */
export class Effects {
  /**
   * Effects that settled while the machine has not yet taken their outcome
   * (it waits in the queue): a commit of an older snapshot must not start them again.
   */
  readonly settled = new Set<string>();
  private readonly steps: StepRunner;
  private readonly compensations: CompensationRunner;
  private readonly mapItems = new MapItemsTasks();
  private readonly children: ChildRunner;
  /** What the map items' computations need: built once, not at every start. */
  private readonly itemDeps: Parameters<MapItemsTasks['start']>[1];
  private draining = false;
  private timer: { handle: unknown; at: number } | null = null;

  constructor(private readonly deps: Omit<StepRunnerDeps, 'settled'> & { children: ChildHost }) {
    // Literals, not `{ ...deps, settled }`: on Node 20 a spread followed by a new key costs microseconds (a new hidden class each time).
    const withSettled: StepRunnerDeps = {
      definition: deps.definition,
      sagaId: deps.sagaId,
      clock: deps.clock,
      random: deps.random,
      options: deps.options,
      hooks: deps.hooks,
      enqueue: deps.enqueue,
      settled: this.settled,
    };
    this.steps = new StepRunner(withSettled);
    this.compensations = new CompensationRunner(withSettled);
    this.children = new ChildRunner({ definition: deps.definition, sagaId: deps.sagaId, clock: deps.clock, host: deps.children, enqueue: deps.enqueue });
    this.itemDeps = { definition: deps.definition, sagaId: deps.sagaId, settled: this.settled, enqueue: deps.enqueue, now: () => deps.clock.now() };
  }

  /** The saga ended: a completed one releases its parked children; a failed one may be retried, its child compensations asked again. */
  ended(context: SagaContext, status: string): void {
    this.settled.clear();
    this.children.ended(context, status);
  }

  /** The step executions under way here. */
  runningSteps(): { step: string; exec: string; attempt: number }[] {
    return [...this.steps.running.values()].map((run) => ({ step: run.step, exec: run.exec, attempt: run.attempt }));
  }

  /** Aborts the steps under way and clears the timer: their outcomes are dropped. */
  stop(reason: unknown): void {
    this.steps.stopAll(reason);
    this.clearTimer();
  }

  clearTimer(): void {
    if (this.timer) this.deps.clock.clearTimeout(this.timer.handle);
    this.timer = null;
  }

  /** Starts what the statechart asks for and is not yet under way (the saga has not ended). */
  start(snapshot: SagaSnapshot): void {
    const context = snapshot.context;
    // Steps under way when the rollback starts are aborted. Active steps this process did not start
    // (a takeover mid-rollback) are run again below with a live signal, on purpose: the crashed run may
    // have done its side effect; an idempotent re-run completes, and what completes is compensated.
    if (snapshot.hasTag(TAGS.draining) && !this.draining) {
      this.draining = true;
      this.steps.abortAll(new SagaRollingBackError());
    }
    // Settled effects whose outcome the chart has taken are forgotten (a retry or a revisit has a new key).
    if (this.settled.size > 0) this.forgetSettled(snapshot);
    const losses = context.leaseLosses;
    for (const step in context.active) {
      const entry = context.active[step]!;
      if (this.children.owns(step)) {
        this.children.ensure(step, entry, context, this.draining);
        continue;
      }
      const run = this.steps.running.get(step);
      if ((!run || run.exec !== entry.exec || run.attempt !== entry.attempt) && !this.settled.has(`${entry.exec}@${entry.attempt}`)) {
        const lost = losses && Object.hasOwn(losses, entry.exec) ? losses[entry.exec]! : 0;
        if (lost >= (this.deps.options.maxLeaseLosses ?? DEFAULT_MAX_LEASE_LOSSES)) this.steps.leaseLost(step, entry.exec, entry.attempt, context, lost);
        else this.steps.run(step, entry.exec, entry.attempt, context);
      }
    }
    const comp = snapshot.hasTag(TAGS.compensating) ? context.comp : null;
    if (comp) {
      const key = `undo:${comp.exec}@${comp.attempt}`;
      if (this.children.undoesChild(context)) this.children.compensate(context, key);
      else if (this.compensations.running !== key && !this.settled.has(key)) this.compensations.run(context, key);
    }
    if (snapshot.hasTag(TAGS.readiness)) {
      this.compensations.runSideTask('readiness', () => this.deps.definition.checkReadiness(context.input, this.deps.sagaId), 'orsa.ready', 'orsa.notReady');
    }
    this.mapItems.start(snapshot, this.itemDeps);
    if (snapshot.hasTag(TAGS.catch)) {
      this.compensations.runSideTask('catch', () => this.deps.definition.callCatch(context, statusAfterCatch(context), reportOf(context)), 'orsa.caught', 'orsa.caught');
    }
    this.schedule(dueAtOf(context));
  }

  private forgetSettled(snapshot: SagaSnapshot): void {
    const context = snapshot.context;
    const wanted = new Set<string>();
    for (const step in context.active) wanted.add(`${context.active[step]!.exec}@${context.active[step]!.attempt}`);
    if (snapshot.hasTag(TAGS.compensating) && context.comp) wanted.add(`undo:${context.comp.exec}@${context.comp.attempt}`);
    if (snapshot.hasTag(TAGS.readiness)) wanted.add('readiness');
    if (snapshot.hasTag(TAGS.catch)) wanted.add('catch');
    for (const key of wantedItemTasks(snapshot)) wanted.add(key);
    for (const key of this.settled) if (!wanted.has(key)) this.settled.delete(key);
  }

  private schedule(dueAt: number | null): void {
    if (this.timer && this.timer.at === dueAt) return;
    if (this.timer) this.deps.clock.clearTimeout(this.timer.handle);
    this.timer = null;
    if (dueAt === null) return;
    const handle = this.deps.clock.setTimeout(() => {
      this.timer = null;
      this.deps.enqueue({ type: 'orsa.wake', now: Math.max(this.deps.clock.now(), dueAt) });
    }, Math.max(0, dueAt - this.deps.clock.now()));
    this.timer = { handle, at: dueAt };
  }
}

function statusAfterCatch(context: SagaContext): 'compensated' | 'failed' | 'cancelled' {
  if (context.compError) return 'failed';
  return context.cancelled ? 'cancelled' : 'compensated';
}
