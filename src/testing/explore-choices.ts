import { TAGS } from '../compilation/compile.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import { lookup } from '../compilation/append-map.js';
import type { SagaContext } from '../compilation/machine.js';
import type { StepNode } from '../declaration/types.js';
import { ExploreConfigError, NonRetryableError } from '../errors.js';
import { dueAtOf } from '../interpretation/observe.js';
import type { Execution } from '../interpretation/execution.js';
import type { TestClock } from '../interpretation/clock.js';
import type { Pending, StepFake, World } from './explore-world.js';

/**
 * Fault injection: at one point of a saga, every thing that can happen next
 * (each call under way completing, failing for good, failing once, the
 * process dying after its effect; time passing; an awaited event arriving;
 * a cancel), and how to make it happen on a live execution.
 */

/** One thing that can happen next. `fault` counts it in the report. */
export interface Choice {
  label: string;
  fault: boolean;
  /** The process dies after the effect: the next state resumes from the last stored snapshot. */
  crash?: boolean;
  cancel?: boolean;
  apply: (run: LiveRun) => Promise<void>;
}

/** An execution opened on an explored state, with its world and clock. */
export interface LiveRun {
  execution: Execution<unknown>;
  world: World;
  clock: TestClock;
}

/** What the explorer allows, resolved from the options. */
export interface Budget {
  crashesLeft: number;
  cancelsLeft: number;
  maxLoops: number;
  flakes: boolean;
  events: Record<string, unknown>;
  fakes: Record<string, StepFake>;
}

type Snap = ReturnType<Execution<unknown>['getSnapshot']>;

/** Step names of the states the chart is in (its state value's keys and leaves). */
function activeNames(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') out.add(value);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      out.add(key);
      activeNames(inner, out);
    }
  }
  return out;
}

/** Every choice at this point, the uneventful one first (so the live run can take it without reopening). */
export function choicesAt(definition: SagaDefinition<any, any>, snapshot: Snap, world: World, budget: Budget): Choice[] {
  const context = snapshot.context as SagaContext;
  const choices: Choice[] = [];
  const faults: Choice[] = [];
  for (const pending of world.pending) {
    if (pending.kind === 'readiness') {
      choices.push({ label: 'readiness passes', fault: false, apply: async (r) => settle(r, pending, (p) => p.resolve(undefined)) });
      faults.push({ label: 'readiness fails (a dependency is down)', fault: true, apply: async (r) => settle(r, pending, (p) => p.reject(new Error('explore: not ready'))) });
    } else if (pending.kind === 'step') stepChoices(definition, context, world, pending, budget, choices, faults);
    else compensationChoices(world, pending, budget, choices, faults);
  }
  const due = dueAtOf(context);
  if (due !== null) {
    const timer = Object.entries(context.timers).find(([, at]) => at === due)![0];
    choices.push({
      label: timerLabel(definition, timer, due - (snapshot.context as SagaContext).startedAt),
      fault: definition.compiled.steps[timer]?.kind === 'wait',
      apply: async (r) => r.clock.advance(Math.max(0, due - r.clock.now())),
    });
  }
  if (snapshot.hasTag(TAGS.event)) {
    for (const name of activeNames(snapshot.value)) {
      const compiled = definition.compiled.steps[name];
      if (compiled?.kind !== 'wait') continue;
      const event = (definition.node(name) as { event: string }).event;
      if (context.inbox.some((e) => e.name === event)) continue;
      choices.push({ label: `event "${event}" arrives`, fault: false, apply: (r) => sendEvent(r, event, budget.events) });
    }
  }
  // A user may cancel at any point, past the pivot too: there the chart must ignore it (ROLLED_BACK_PAST_PIVOT otherwise).
  if (budget.cancelsLeft > 0 && !context.rollingBack && !snapshot.hasTag(TAGS.completed)) {
    faults.push({ label: 'cancel', fault: true, cancel: true, apply: async (r) => r.execution.cancel() });
  }
  return [...choices, ...faults];
}

function stepChoices(definition: SagaDefinition<any, any>, context: SagaContext, world: World, p: Pending, budget: Budget, choices: Choice[], faults: Choice[]): void {
  const node = definition.node(p.step) as StepNode;
  const retry = definition.compiled.steps[p.step]!.retry;
  const run = (r: LiveRun) => complete(r, p, budget.fakes[p.step], node.compensate !== undefined);
  const gotos: (string | null)[] = [null];
  for (const target of node.goto?.targets ?? []) {
    const visits = lookup(context.visits, target) ?? 0;
    // Loops are explored up to maxLoops entries, and to the limit itself when it is that low.
    if (visits < budget.maxLoops || (visits >= node.goto!.maxVisits && visits <= budget.maxLoops)) gotos.push(target);
  }
  for (const goto of gotos) {
    choices.push({
      label: goto === null ? `${p.exec} completes` : `${p.exec} completes and goes to "${goto}"`,
      fault: false,
      apply: async (r) => {
        const result = await run(r);
        r.world.nextGoto = goto;
        settle(r, p, (q) => q.resolve(result));
      },
    });
  }
  // After a crash, a rerun of an execution whose effect happened is deduplicated by the service (same
  // idempotency key): it returns the recorded outcome, it does not fail.
  const rerun = world.ledger.effects.some((e) => e.exec === p.exec && !e.failed);
  if (!retry.forever && !rerun) {
    const failure = () => new NonRetryableError(`explore: ${p.exec} fails for good`);
    if (node.compensateOnFailure) {
      faults.push({ label: `${p.exec} fails for good before its effect`, fault: true, apply: async (r) => settle(r, p, (q) => q.reject(failure())) });
      faults.push({
        label: `${p.exec} fails for good after its effect`,
        fault: true,
        apply: async (r) => {
          r.world.recordEffect(p.exec, p.step, true, true);
          settle(r, p, (q) => q.reject(failure()));
        },
      });
    } else faults.push({ label: `${p.exec} fails for good`, fault: true, apply: async (r) => settle(r, p, (q) => q.reject(failure())) });
  }
  if (budget.flakes && retry.maxAttempts > 1 && p.attempt === 1 && !rerun) {
    const flake = () => new Error(`explore: ${p.exec} flaked`);
    faults.push({ label: `${p.exec} fails once (attempt ${p.attempt}; it is retried)`, fault: true, apply: async (r) => settle(r, p, (q) => q.reject(flake())) });
    if (node.compensateOnFailure) {
      // A timeout after the request was sent: the effect is there before the retry, and a rollback may come first.
      faults.push({
        label: `${p.exec} fails once after its effect (attempt ${p.attempt}; it is retried)`,
        fault: true,
        apply: async (r) => {
          r.world.recordEffect(p.exec, p.step, true, true);
          settle(r, p, (q) => q.reject(flake()));
        },
      });
    }
  }
  if (budget.crashesLeft > 0) {
    faults.push({ label: `the process dies after the effect of ${p.exec}, before its completion is stored`, fault: true, crash: true, apply: async (r) => void (await run(r)) });
  }
}

function compensationChoices(world: World, p: Pending, budget: Budget, choices: Choice[], faults: Choice[]): void {
  const undo = async (r: LiveRun) => {
    const fake = budget.fakes[p.step]?.compensate;
    const record = r.world.recorder(p.step, p.exec);
    if (fake) await fake({ step: p.step, exec: p.exec, result: p.ctx.result, error: p.ctx.error, record });
    // A step whose effect may happen on failure: its compensation looks before undoing, as a real one would.
    else if (!p.ctx.failed || record.tookEffect()) record.undo();
  };
  const done = async (r: LiveRun) => {
    await undo(r);
    if (!r.world.ledger.compensated.includes(p.exec)) r.world.ledger.compensated.push(p.exec);
    settle(r, p, (q) => q.resolve(undefined));
  };
  choices.push({ label: `compensation of ${p.exec} completes`, fault: false, apply: done });
  // A re-run after a crash that followed the undo: the service deduplicates it by key and answers as before.
  if (world.ledger.undos.some((u) => u.key.startsWith(`${p.exec}:compensate#`))) return;
  faults.push({
    label: `compensation of ${p.exec} fails for good`,
    fault: true,
    apply: async (r) => settle(r, p, (q) => q.reject(new NonRetryableError(`explore: compensation of ${p.exec} fails for good`))),
  });
  if (budget.crashesLeft > 0) {
    faults.push({ label: `the process dies after the compensation of ${p.exec} undid it, before that is stored`, fault: true, crash: true, apply: async (r) => undo(r) });
  }
}

/** Runs the step's effect (the user's fake, or a recorded one) and returns its result. */
async function complete(r: LiveRun, p: Pending, fake: StepFake | undefined, compensable: boolean): Promise<unknown> {
  const result = fake?.run
    ? await fake.run({ step: p.step, exec: p.exec, attempt: p.attempt, input: p.ctx.input, results: p.ctx.results, record: r.world.recorder(p.step, p.exec) })
    : `${p.exec} done`;
  if (!fake?.run) r.world.recordEffect(p.exec, p.step, compensable);
  r.world.ledger.results[p.step] = result;
  return result;
}

/** Settles the call of this run that stands for `p` (choices are listed once, then applied to reopened runs). */
function settle(r: LiveRun, p: Pending, how: (p: Pending) => void): void {
  const live = r.world.pending.find((q) => q.kind === p.kind && q.exec === p.exec && q.attempt === p.attempt);
  if (!live) {
    throw new ExploreConfigError(
      `explore: ${p.exec} is not under way when the saga resumes from the same stored snapshot; make the fakes in options.steps deterministic (no clocks, randomness or I/O)`,
    );
  }
  r.world.take(live);
  how(live);
}

async function sendEvent(r: LiveRun, event: string, payloads: Record<string, unknown>): Promise<void> {
  const payload = event in payloads ? payloads[event] : { event };
  try {
    await r.execution.send(event, payload);
  } catch (error) {
    throw new ExploreConfigError(
      `explore: the payload sent for event "${event}" (${JSON.stringify(payload)}) was refused: ${(error as Error).message}; pass one its schema accepts in options.events["${event}"]`,
    );
  }
}

function timerLabel(definition: SagaDefinition<any, any>, timer: string, atMs: number): string {
  const kind = definition.compiled.steps[timer]?.kind;
  const at = `at +${atMs} ms`;
  if (kind === 'wait') return `no "${(definition.node(timer) as { event: string }).event}" event: the wait "${timer}" times out (${at})`;
  if (kind === 'sleep') return `the sleep "${timer}" ends (${at})`;
  if (kind === 'step') return `the retry of "${timer}" is due (${at})`;
  return `the compensation retry is due (${at})`;
}
