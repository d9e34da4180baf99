import type { SagaDefinition } from '../interpretation/definition.js';
import { lookup, toPlain } from '../compilation/append-map.js';
import type { SagaContext } from '../compilation/machine.js';
import { ExploreConfigError, ExploreStoppedError } from '../errors.js';
import { createTestClock } from '../interpretation/clock.js';
import { Execution } from '../interpretation/execution.js';
import type { Snapshot } from 'xstate';
import { choicesAt, type Budget, type LiveRun } from './explore-choices.js';
import { checkEnd, checkState, checkUndo, shapeOf, type Finding, type SagaShape } from './explore-invariants.js';
import type { ExploreReport, Violation } from './explore-report.js';
import { fakeDefinition, World, type Control, type Ledger, type StepFake } from './explore-world.js';

/** Options of {@link explore}. */
export interface ExploreOptions<I = unknown> {
  /** The saga's input (validated by its schema, if it has one). Default undefined. */
  input?: I;
  /** Your own fakes for some steps (`run`, `compensate`, or both); the others get recording fakes. */
  steps?: Record<string, StepFake>;
  /** Payload sent for each awaited event, by event name. Default `{ event: name }`; give one when the wait has a schema. */
  events?: Record<string, unknown>;
  /** Process deaths injected per path (each between an effect and the commit of its transition). Default 1. */
  maxCrashes?: number;
  /** Explore a cancel at every point before rollback (past the pivot too, where the saga must ignore it). Default true. */
  cancel?: boolean;
  /** Entries of a goto target explored per path (loops are bounded by this, or by goto.maxVisits when lower). Default 3. */
  maxLoops?: number;
  /** Explore one transient failure (then a retry) of each execution of a step that retries. Default true. */
  flakes?: boolean;
  /** Distinct states explored at most; past it the report says `truncated`. Default 200_000. */
  maxStates?: number;
}

/** An explored state: a stored snapshot, the world beside it, and how it was reached. */
interface State {
  /**
   * The persisted snapshot (null: not started yet). Kept as the object the
   * persist hook received, not as JSON text: its context is immutable (every
   * assign makes a new one) and every value in it already passed the
   * interpreter's JSON check, so a round trip would only cost time.
   */
  snapshot: StoredSnapshot | null;
  now: number;
  ledger: Ledger;
  trail: Trail | null;
  crashes: number;
  cancels: number;
}

type Trail = { label: string; parent: Trail | null };
type StoredSnapshot = { value: unknown; context: SagaContext };

const SAGA_ID = 'explore';
const FINAL = new Set(['completed', 'compensated', 'cancelled', 'failed']);

const pathOf = (trail: Trail | null): string[] => {
  const out: string[] = [];
  for (let t = trail; t; t = t.parent) out.push(t.label);
  return out.reverse();
};

/**
 * Explores every way a saga can fail: it drives the real interpreter over the
 * saga's compiled statechart, on a simulated clock, through each step failing
 * for good (at each goto visit, in each parallel branch), each compensation
 * failing for good, the process dying between an effect and its commit (then
 * resuming from the stored snapshot), a cancel, each wait timing out or its
 * event arriving, and sibling branches finishing in every order. On every path
 * it checks that the saga ends in a final status (or `failed` with a report),
 * that what completed is undone exactly once, newest first, and nothing else,
 * that a completed saga's results are intact, and that goto limits hold.
 * States are deduplicated by chart state, context and effects, so the search
 * is breadth-first and each violation comes with the shortest path found.
 *
 * @example
 * ```ts
 * import { explore, formatReport } from 'orsa/testing';
 * const report = await explore(order, { input: { orderId: 'o-1' }, events: { 'order.confirmed': { confirmedBy: 'qa' } } });
 * console.log(formatReport(report)); // saga "order" (version …): 412 paths, … no violation
 * ```
 */
export async function explore<I>(saga: SagaDefinition<I, any>, options: ExploreOptions<I> = {}): Promise<ExploreReport> {
  for (const name of Object.keys(options.steps ?? {})) saga.node(name); // an unknown step name throws, naming it
  const input = await saga.validateInput(options.input).catch((error: unknown) => {
    throw new ExploreConfigError(`explore: the input ${JSON.stringify(options.input)} was refused (${(error as Error).message}); pass a valid one as options.input`);
  });
  const control: Control = { world: new World({ effects: [], undos: [], results: {}, compensated: [] }) };
  const fake = fakeDefinition(saga, control);
  const shape = shapeOf(saga);
  const maxStates = options.maxStates ?? 200_000;
  const report: ExploreReport = { saga: saga.name, version: saga.version, paths: 0, states: 0, faults: 0, endings: {}, violations: [], truncated: false };
  const violations = new Map<string, Violation>();
  const note = (findings: Finding[], trail: Trail | null) => {
    for (const f of findings) {
      const key = `${f.rule}:${f.step}`;
      const known = violations.get(key);
      if (known) known.occurrences++;
      else violations.set(key, { ...f, path: pathOf(trail), occurrences: 1 });
    }
  };

  const open = async (state: State): Promise<LiveRun> => {
    // Entries are never changed once recorded: copying the lists is enough.
    const world = new World({ effects: [...state.ledger.effects], undos: [...state.ledger.undos], results: { ...state.ledger.results }, compensated: [...state.ledger.compensated] });
    control.world = world;
    const clock = createTestClock(state.now);
    let stored: Snapshot<unknown> | null = null;
    const execution = new Execution<unknown>(fake, input, {
      sagaId: SAGA_ID,
      clock,
      random: () => 0.5,
      ...(state.snapshot === null ? {} : { snapshot: state.snapshot as unknown as Snapshot<unknown> }),
      persist: (t) => void (stored = t.persisted()),
    }).start();
    const run = Object.assign({ execution, world, clock }, { stored: () => stored });
    await quiesce(run);
    return run;
  };

  const seen = new Set<string>();
  const queue: State[] = [{ snapshot: null, now: Date.UTC(2026, 0, 1), ledger: { effects: [], undos: [], results: {}, compensated: [] }, trail: null, crashes: 0, cancels: 0 }];
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!;
    queue[head] = undefined as never; // let explored states go
    let live = (await open(state)) as LiveRun & { stored: () => Snapshot<unknown> | null };
    if (state.snapshot === null) state.snapshot = live.stored() as unknown as StoredSnapshot;
    const snapshot = live.execution.getSnapshot();
    const status = live.execution.getStatus();
    if (FINAL.has(status)) {
      report.paths++;
      report.endings[status] = (report.endings[status] ?? 0) + 1;
      note(checkEnd(shape, state.ledger, status, snapshot.context), state.trail);
      live.execution.stop(STOPPED);
      continue;
    }
    const budget: Budget = {
      crashesLeft: (options.maxCrashes ?? 1) - state.crashes,
      cancelsLeft: options.cancel === false ? 0 : 1 - state.cancels,
      maxLoops: options.maxLoops ?? 3,
      flakes: options.flakes ?? true,
      events: options.events ?? {},
      fakes: options.steps ?? {},
    };
    const choices = choicesAt(fake, snapshot, live.world, budget);
    if (choices.length === 0) {
      report.paths++;
      note([{ rule: 'STUCK', step: Object.keys(snapshot.context.active)[0] ?? '-', message: `the saga stopped ${status} in ${JSON.stringify(snapshot.value)} with nothing left that could happen` }], state.trail);
    }
    for (let i = 0; i < choices.length; i++) {
      const choice = choices[i]!;
      if (i > 0) live = (await open(state)) as typeof live;
      await choice.apply(live);
      await quiesce(live);
      const trail: Trail = { label: choice.crash ? `${choice.label}; it resumes from the stored snapshot` : choice.label, parent: state.trail };
      for (const { exec, upTo } of live.world.undone) note(checkUndo(shape, live.world.ledger, exec, upTo), trail);
      if (choice.fault) report.faults++;
      const stored = live.stored();
      const next: State = {
        snapshot: choice.crash || stored === null ? state.snapshot : (stored as unknown as StoredSnapshot),
        now: live.clock.now(),
        ledger: live.world.ledger,
        trail,
        crashes: state.crashes + (choice.crash ? 1 : 0),
        cancels: state.cancels + (choice.cancel ? 1 : 0),
      };
      live.execution.stop(STOPPED);
      const context = next.snapshot!.context;
      note(checkState(shape, context), trail);
      const key = keyOf(next, context, shape);
      if (seen.has(key)) {
        report.paths++;
        continue;
      }
      seen.add(key);
      if (seen.size > maxStates) {
        report.truncated = true;
        break;
      }
      queue.push(next);
    }
    if (report.truncated) break;
  }
  report.states = seen.size;
  report.violations = [...violations.values()];
  return report;
}

/** One reason for every run the explorer closes (an error per run would cost a stack trace each). */
const STOPPED = new ExploreStoppedError();

/**
 * Lets every promise callback run until nothing moves: the fakes park their
 * calls, the interpreter commits what it can. Microtasks only (fakes settle
 * only when the explorer says so), which is what keeps an edge cheap.
 */
async function quiesce(run: LiveRun & { stored: () => unknown }): Promise<void> {
  for (let round = 0; round < 1_000; round++) {
    const before = [run.execution.getSnapshot(), run.stored(), run.world.pending.length, run.world.ledger.effects.length, run.world.ledger.undos.length];
    for (let i = 0; i < 8; i++) await null;
    const after = [run.execution.getSnapshot(), run.stored(), run.world.pending.length, run.world.ledger.effects.length, run.world.ledger.undos.length];
    if (before.every((v, i) => v === after[i])) return;
  }
}

/**
 * What decides the future of a state, and nothing else, so that paths that
 * differ only in their past meet: the chart's position, what is under way,
 * the compensation log, due times (relative), and the world's effects that a
 * rollback must undo. Results are reduced to the steps whose stored result
 * differs from the world's; during a rollback, visits, results, the inbox and
 * the failure no longer matter, so rollbacks from different points merge.
 */
function keyOf(state: State, context: SagaContext, shape: SagaShape): string {
  const pivot = shape.pivot;
  const ledger = state.ledger;
  const running = new Set(Object.values(context.active).map((a) => a.exec));
  const mismatch = Object.keys(ledger.results).filter((s) => JSON.stringify(lookup(context.results, s)) !== JSON.stringify(ledger.results[s]));
  const world = [
    ledger.effects.filter((e) => e.mustUndo || running.has(e.exec)).map((e) => (e.failed ? `${e.exec}!` : e.exec)),
    ledger.undos.map((u) => u.key),
    ledger.compensated,
    pivot !== undefined && ledger.effects.some((e) => e.step === pivot),
    mismatch,
  ];
  const attempts: Record<string, number | undefined> = {};
  for (const s of [...Object.keys(context.active), ...Object.keys(context.timers)]) attempts[s] = context.attempts[s];
  const timers: Record<string, number> = {};
  for (const [k, at] of Object.entries(context.timers)) timers[k] = at - state.now;
  const log = context.log.map((e) => (e.error ? `${e.exec}!` : e.exec));
  const value = state.snapshot!.value;
  if (context.rollingBack) {
    // Whether it was a cancel only names the final status: the same undos are owed either way.
    return JSON.stringify([value, context.active, attempts, log, context.compensated, context.comp, context.compError !== null, timers, world]);
  }
  // Visits matter for the steps still ahead and for the targets of gotos still ahead; a loop left behind is forgotten.
  const top = typeof value === 'string' ? value : Object.keys(value as object)[0]!;
  const here = shape.topIndex.get(top) ?? 0;
  const visits: Record<string, number> = {};
  for (const [step, n] of Object.entries(toPlain(context.visits))) if ((shape.topIndex.get(step) ?? 0) >= here) visits[step] = n;
  for (const g of shape.gotoLimits) if ((shape.topIndex.get(g.step) ?? 0) >= here) visits[g.target] = lookup(context.visits, g.target) ?? 0;
  return JSON.stringify([value, context.active, attempts, visits, timers, context.inbox, log, world]);
}

export type { SagaShape };
