import { SagaDefinitionError } from '../errors.js';
import { compileRetry, type CompiledRetry } from '../declaration/policy.js';
import { checkStepKinds, pivotOf } from './step-kinds.js';
import type { Declaration, Node, StepNode } from '../declaration/types.js';

/**
 * The compiler: declaration in, statechart config out. Pure: no I/O, no clock,
 * no randomness. The config is plain JSON; every guard and action is
 * referenced by name (with JSON params) and implemented in `machine.ts`.
 */

/** A JSON statechart config, as XState's `createMachine` takes it. */
export type StateConfig = { [key: string]: unknown };

/** Compiled facts the runtime needs beside the config (all plain data). */
export interface CompiledSaga {
  config: StateConfig;
  /** Every step, wait and sleep by name, in declaration order. */
  steps: Record<string, CompiledStep>;
  /** Event names that `waitFor` steps consume. */
  events: string[];
  /** Dependency names discovered from `uses`, deduplicated. */
  dependencies: string[];
  hasReadiness: boolean;
}

export interface CompiledStep {
  kind: Node['kind'];
  retry: CompiledRetry;
  compensateRetry: CompiledRetry | null;
  timeoutMs: number | null;
  gotoTargets: string[];
}

/** Ids of the system states, referenced with `#` from anywhere in the chart. */
export const IDS = {
  rollback: 'orsa:rollback',
  settle: 'orsa:settle',
  outcome: 'orsa:outcome',
  completed: 'orsa:completed',
  compensated: 'orsa:compensated',
  failed: 'orsa:failed',
  cancelled: 'orsa:cancelled',
} as const;

/** Tags the runtime reads to know what the chart asks of it. */
export const TAGS = {
  readiness: 'orsa.readiness',
  step: 'orsa.step',
  waiting: 'orsa.waiting',
  event: 'orsa.event',
  draining: 'orsa.draining',
  compensating: 'orsa.compensating',
  catch: 'orsa.catch',
  completed: 'orsa.completed',
  compensated: 'orsa.compensated',
  failed: 'orsa.failed',
  cancelled: 'orsa.cancelled',
} as const;

export const COMPENSATION_TIMER = '$compensation';
const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,99}$/;
const DEFAULT_COMPENSATE_RETRY = 3;
// State keys of the chart's own states (steps sit beside them at the top level).
const RESERVED = new Set(['readiness', 'done', 'rollback', 'settle', 'outcome', 'completed', 'compensated', 'failed', 'cancelled']);

const stepId = (name: string) => `s:${name}`;
const ref = (id: string) => `#${id}`;

/** Validates a declaration and compiles it. Throws {@link SagaDefinitionError} with every mistake found. */
export function compileSaga(decl: Declaration): CompiledSaga {
  const errors = [...decl.errors];
  const fail = (message: string) => errors.push(message);
  if (!NAME.test(decl.name)) {
    fail(`saga name "${decl.name}" must start with a letter or _ and hold only letters, digits, _ and - (at most 100)`);
  }
  if (decl.nodes.length === 0) fail(`saga "${decl.name}" has no steps; declare at least one with .step(name, fn)`);

  const steps: Record<string, CompiledStep> = {};
  const events = new Set<string>();
  const dependencies = new Map<string, unknown>();
  // Scope of each name: goto may only jump within the sequence it is declared in.
  const scopeOf = new Map<string, Node[]>();
  const orderIn = new Map<string, number>();

  const collect = (nodes: Node[], where: string) => {
    if (nodes.length === 0) fail(`saga "${decl.name}": ${where} is empty; give it at least one step`);
    nodes.forEach((node, index) => {
      if (!NAME.test(node.name)) {
        fail(`saga "${decl.name}": ${node.position}: names must start with a letter or _ and hold only letters, digits, _ and -`);
      }
      if (RESERVED.has(node.name)) {
        fail(`saga "${decl.name}": ${node.position}: "${node.name}" is reserved by the statechart; pick another name`);
      }
      if (steps[node.name] || scopeOf.has(node.name)) {
        fail(`saga "${decl.name}": the name "${node.name}" is used twice (${node.position}); step names must be unique in a saga`);
      }
      scopeOf.set(node.name, nodes);
      orderIn.set(node.name, index);
      if (node.kind === 'parallel') {
        if (node.branches.length === 0) fail(`saga "${decl.name}": ${node.position} has no branches`);
        for (const branch of node.branches) {
          if (!NAME.test(branch.name)) fail(`saga "${decl.name}": ${node.position}: branch name "${branch.name}" must hold only letters, digits, _ and -`);
          collect(branch.nodes, `branch "${branch.name}" of ${node.position}`);
        }
        return;
      }
      const compiled: CompiledStep = { kind: node.kind, retry: compileRetry(undefined, ''), compensateRetry: null, timeoutMs: null, gotoTargets: [] };
      steps[node.name] = compiled;
      try {
        if (node.kind === 'step') {
          if (typeof node.run !== 'function') fail(`saga "${decl.name}": ${node.position} needs a function`);
          compiled.retry = compileRetry(node.retry, `saga "${decl.name}": ${node.position}`);
          compiled.compensateRetry = node.compensate
            ? compileRetry(node.compensateRetry ?? DEFAULT_COMPENSATE_RETRY, `saga "${decl.name}": compensation of ${node.position}`)
            : null;
          if (node.timeoutMs !== undefined && !(Number.isFinite(node.timeoutMs) && node.timeoutMs > 0)) {
            fail(`saga "${decl.name}": ${node.position}: timeoutMs must be a number of ms > 0 (got ${node.timeoutMs})`);
          }
          compiled.timeoutMs = node.timeoutMs ?? null;
          for (const dep of node.uses) {
            if (!dep || typeof dep.name !== 'string' || typeof dep.check !== 'function') {
              fail(`saga "${decl.name}": ${node.position}: uses takes dependencies made with dependency(name, check)`);
            } else if (dependencies.has(dep.name) && dependencies.get(dep.name) !== dep.check) {
              fail(`saga "${decl.name}": two different dependencies are named "${dep.name}"; give them distinct names`);
            } else dependencies.set(dep.name, dep.check);
          }
        } else if (node.kind === 'wait') {
          if (typeof node.event !== 'string' || node.event.length === 0) fail(`saga "${decl.name}": ${node.position} needs { event: 'name' }`);
          else events.add(node.event);
          if (node.timeoutMs !== undefined && !(Number.isFinite(node.timeoutMs) && node.timeoutMs > 0)) {
            fail(`saga "${decl.name}": ${node.position}: timeoutMs must be a number of ms > 0 (got ${node.timeoutMs})`);
          }
          compiled.timeoutMs = node.timeoutMs ?? null;
        } else if (!(Number.isFinite(node.ms) && node.ms >= 0)) {
          fail(`saga "${decl.name}": ${node.position}: the duration must be a number of ms >= 0 (got ${node.ms})`);
        }
      } catch (error) {
        fail(error instanceof Error ? error.message : String(error));
      }
    });
  };
  collect(decl.nodes, 'the saga');

  // Goto targets: declared, earlier (or the step itself), in the same sequence.
  const checkGoto = (nodes: Node[]) => {
    for (const node of nodes) {
      if (node.kind === 'parallel') node.branches.forEach((b) => checkGoto(b.nodes));
      if (node.kind !== 'step' || !node.goto) continue;
      if (typeof node.goto.decide !== 'function') fail(`saga "${decl.name}": ${node.position}: goto needs a decide function`);
      if (!(Number.isInteger(node.goto.maxVisits) && node.goto.maxVisits >= 1)) {
        fail(`saga "${decl.name}": ${node.position}: goto.maxVisits must be a whole number >= 1 (got ${node.goto.maxVisits})`);
      }
      if (node.goto.targets.length === 0) fail(`saga "${decl.name}": ${node.position}: goto.targets is empty; list the steps decide may return`);
      for (const target of node.goto.targets) {
        if (!scopeOf.has(target)) {
          fail(`saga "${decl.name}": ${node.position}: goto target "${target}" is not a step of this saga; declare it or fix the name`);
        } else if (scopeOf.get(target) !== nodes || (orderIn.get(target) ?? 0) > (orderIn.get(node.name) ?? 0)) {
          fail(
            `saga "${decl.name}": ${node.position}: goto target "${target}" must be this step or an earlier step of the same sequence (goto jumps back; a jump forward would skip results later steps rely on)`,
          );
        }
      }
      steps[node.name]!.gotoTargets = [...new Set(node.goto.targets)];
    }
  };
  checkGoto(decl.nodes);

  // An event is consumed by one wait: two branches of one parallel group waiting for the same
  // event name would both take it in the same step, so that is refused.
  const eventsIn = (nodes: Node[]): string[] =>
    nodes.flatMap((n) => (n.kind === 'wait' ? [n.event] : n.kind === 'parallel' ? n.branches.flatMap((b) => eventsIn(b.nodes)) : []));
  const checkConcurrentWaits = (nodes: Node[]) => {
    for (const node of nodes) {
      if (node.kind !== 'parallel') continue;
      const seen = new Map<string, string>();
      for (const branch of node.branches) {
        for (const event of new Set(eventsIn(branch.nodes))) {
          const other = seen.get(event);
          if (other !== undefined) {
            fail(
              `saga "${decl.name}": branches "${other}" and "${branch.name}" of ${node.position} both wait for the event "${event}"; an event is consumed by one wait, so give them distinct event names`,
            );
          } else seen.set(event, branch.name);
        }
        checkConcurrentWaits(branch.nodes);
      }
    }
  };
  checkConcurrentWaits(decl.nodes);
  checkStepKinds(decl, fail);
  if (errors.length > 0) {
    throw new SagaDefinitionError(errors.length === 1 ? errors[0]! : `${errors.length} mistakes:\n- ${errors.join('\n- ')}`);
  }

  const hasReadiness = decl.readiness.length > 0 || dependencies.size > 0;
  const pivot = pivotOf(decl)?.name;
  // Steps whose failed executions are logged for compensation (their effect may have happened).
  const onFailure = Object.keys(steps).filter((name) => (scopeOf.get(name)?.find((n) => n.name === name) as StepNode | undefined)?.compensateOnFailure);
  const compensationPolicies: Record<string, CompiledRetry> = {};
  for (const [name, step] of Object.entries(steps)) if (step.compensateRetry) compensationPolicies[name] = step.compensateRetry;

  const first = decl.nodes[0]!.name;
  const firstTarget = targetOf(first, steps);
  // Readiness first, so that the chart (and every diagram of it) reads in the order things happen.
  const runStates: Record<string, StateConfig> = hasReadiness
    ? {
        readiness: {
          tags: [TAGS.readiness],
          on: {
            'orsa.ready': withActions({ target: firstTarget.ref }, enterActions(firstTarget)),
            'orsa.notReady': { target: ref(IDS.rollback), actions: 'notReady' },
          },
        },
      }
    : {};
  Object.assign(runStates, compileSequence(decl.nodes, ref(IDS.completed), steps));

  const config: StateConfig = {
    id: decl.name,
    initial: hasReadiness ? 'readiness' : first,
    ...(hasReadiness ? {} : withEntry(enterActions(firstTarget))),
    on: {
      'orsa.event': { actions: 'enqueueEvent' },
      // Steps sit at the top level (one level less for every transition); cancel applies until rollback starts
      // (and, with a pivot, until the pivot completed: after it the saga only goes forward).
      'orsa.cancel': { guard: pivot === undefined ? 'isForward' : { type: 'beforePivot', params: { pivot } }, target: ref(IDS.rollback), actions: 'markCancelled' },
    },
    states: {
      ...runStates,
      rollback: {
        id: IDS.rollback,
        initial: 'draining',
        entry: 'enterRollback',
        states: {
          draining: {
            tags: [TAGS.draining],
            always: { guard: 'nothingActive', target: 'next' },
            on: {
              'orsa.done.*': { actions: { type: 'completeLate', params: { compensable: Object.keys(compensationPolicies) } } },
              'orsa.fail.*': { actions: onFailure.length === 0 ? 'dropActive' : { type: 'dropActive', params: { compensable: onFailure } } },
            },
          },
          next: {
            always: [{ guard: 'hasPendingCompensation', target: 'compensating' }, { target: ref(IDS.settle) }],
          },
          compensating: {
            tags: [TAGS.compensating],
            entry: 'startCompensation',
            on: {
              'orsa.compensated': { guard: 'isCurrentCompensation', target: 'next', actions: 'markCompensated' },
              'orsa.compensationFailed': [
                {
                  guard: { type: 'shouldRetryCompensation', params: { policies: compensationPolicies } },
                  target: 'waiting',
                  actions: { type: 'scheduleCompensationRetry', params: { policies: compensationPolicies } },
                },
                { guard: 'isCurrentCompensation', target: ref(IDS.settle), actions: 'compensationFailed' },
              ],
            },
          },
          waiting: {
            tags: [TAGS.waiting],
            on: { 'orsa.wake': { guard: { type: 'isDue', params: { timer: COMPENSATION_TIMER } }, target: 'compensating' } },
          },
        },
      },
      settle: decl.catch
        ? { id: IDS.settle, tags: [TAGS.catch], on: { 'orsa.caught': { target: ref(IDS.outcome) } } }
        : { id: IDS.settle, always: { target: ref(IDS.outcome) } },
      outcome: {
        id: IDS.outcome,
        always: [
          { guard: 'compensationDidFail', target: ref(IDS.failed) },
          { guard: 'wasCancelled', target: ref(IDS.cancelled) },
          { target: ref(IDS.compensated) },
        ],
      },
      completed: { id: IDS.completed, type: 'final', tags: [TAGS.completed] },
      compensated: { id: IDS.compensated, type: 'final', tags: [TAGS.compensated] },
      // Not final: an operator can retry the compensation once its cause is fixed.
      failed: {
        id: IDS.failed,
        tags: [TAGS.failed],
        on: { 'orsa.retryCompensation': { target: `${ref(IDS.rollback)}.next`, actions: 'resetCompensationError' } },
      },
      cancelled: { id: IDS.cancelled, type: 'final', tags: [TAGS.cancelled] },
    },
  };

  return { config, steps, events: [...events], dependencies: [...dependencies.keys()], hasReadiness };
}

/**
 * Where a transition goes, and the step it enters. A plain step (no retry) has
 * no entry action: the transitions into it carry `enterStep` (a step's
 * completion and the next step's start are then one assign, one context copy).
 */
interface Target {
  ref: string;
  enter: string | null;
}

const isPlainStep = (name: string, steps: Record<string, CompiledStep>) => steps[name]?.kind === 'step' && steps[name]!.retry.maxAttempts === 1;

function targetOf(name: string, steps: Record<string, CompiledStep>): Target {
  return { ref: ref(stepId(name)), enter: isPlainStep(name, steps) ? name : null };
}

function enterActions(target: Target): StateConfig[] {
  return target.enter === null ? [] : [{ type: 'enterStep', params: { step: target.enter } }];
}

function withActions(transition: StateConfig, actions: StateConfig[]): StateConfig {
  if (actions.length === 0) return transition;
  return { ...transition, actions: actions.length === 1 ? actions[0] : actions };
}

function withEntry(actions: StateConfig[]): StateConfig {
  return actions.length === 0 ? {} : { entry: actions.length === 1 ? actions[0] : actions };
}

function compileSequence(nodes: Node[], exit: string, steps: Record<string, CompiledStep>): Record<string, StateConfig> {
  const states: Record<string, StateConfig> = {};
  nodes.forEach((node, index) => {
    const nextNode = nodes[index + 1];
    const next = nextNode ? targetOf(nextNode.name, steps) : { ref: exit, enter: null };
    states[node.name] = compileNode(node, next, steps);
  });
  return states;
}

function compileNode(node: Node, next: Target, steps: Record<string, CompiledStep>): StateConfig {
  const step = node.name;
  switch (node.kind) {
    case 'step':
      return compileStep(node, next, steps);
    case 'wait': {
      const state: StateConfig = {
        id: stepId(step),
        tags: [TAGS.event],
        entry: { type: 'startWait', params: { step, timeoutMs: node.timeoutMs ?? null } },
        always: {
          guard: { type: 'hasEvent', params: { event: node.event } },
          target: next.ref,
          actions: [{ type: 'takeEvent', params: { step, event: node.event } }, ...enterActions(next)],
        },
      };
      if (node.timeoutMs !== undefined) {
        state.on = {
          'orsa.wake': {
            guard: { type: 'isDue', params: { timer: step } },
            target: ref(IDS.rollback),
            actions: { type: 'waitTimedOut', params: { step, event: node.event, timeoutMs: node.timeoutMs } },
          },
        };
      }
      return state;
    }
    case 'sleep':
      return {
        id: stepId(step),
        tags: [TAGS.waiting],
        // Visits count here too, so that a goto loop through a sleep (poll, pause, poll) meets its maxVisits.
        entry: [{ type: 'countVisit', params: { step } }, { type: 'startTimer', params: { timer: step, ms: node.ms } }],
        on: {
          'orsa.wake': {
            guard: { type: 'isDue', params: { timer: step } },
            target: next.ref,
            actions: [{ type: 'clearTimer', params: { timer: step } }, ...enterActions(next)],
          },
        },
      };
    case 'parallel': {
      const branches: Record<string, StateConfig> = {};
      const entry: StateConfig[] = [{ type: 'countVisit', params: { step } }];
      for (const branch of node.branches) {
        const doneId = `b:${step}:${branch.name}:done`;
        const first = branch.nodes[0]!.name;
        entry.push(...enterActions(targetOf(first, steps)));
        branches[branch.name] = {
          initial: first,
          states: { ...compileSequence(branch.nodes, ref(doneId), steps), done: { id: doneId, type: 'final' } },
        };
      }
      return { id: stepId(step), type: 'parallel', ...withEntry(entry), states: branches, onDone: withActions({ target: next.ref }, enterActions(next)) };
    }
  }
}

function compileStep(node: StepNode, next: Target, steps: Record<string, CompiledStep>): StateConfig {
  const step = node.name;
  const compiled = steps[step]!;
  const compensable = node.compensate !== undefined;
  // A step declared compensateOnFailure may have logged a failed attempt already: its completion replaces that entry.
  const onFailure = node.compensateOnFailure ? { onFailure: true } : {};
  const complete = (enter: string | null) => ({ type: 'complete', params: enter === null ? { step, compensable, ...onFailure } : { step, compensable, enter, ...onFailure } });
  const done: StateConfig[] = [];
  for (const target of compiled.gotoTargets) {
    const maxVisits = node.goto!.maxVisits;
    const to = targetOf(target, steps);
    done.push(
      { guard: { type: 'gotoAllowed', params: { step, target, maxVisits } }, target: to.ref, reenter: true, actions: complete(to.enter) },
      {
        guard: { type: 'gotoRequested', params: { step, target } },
        target: ref(IDS.rollback),
        actions: [complete(null), { type: 'gotoLimitReached', params: { step, target, maxVisits } }],
      },
    );
  }
  done.push({ guard: { type: 'isCurrent', params: { step } }, target: next.ref, actions: complete(next.enter) });
  const failParams = node.compensateOnFailure ? { step, compensable: true } : { step };
  const failForGood = { guard: { type: 'isCurrent', params: { step } }, target: ref(IDS.rollback), actions: { type: 'fail', params: failParams } };
  // The timeout is enforced by the runtime; it stands in the chart so that it shows and counts in the version.
  const facts = { ...(compiled.timeoutMs === null ? {} : { timeoutMs: compiled.timeoutMs }), ...(node.pivot ? { pivot: true } : {}) };
  const meta = Object.keys(facts).length === 0 ? {} : { meta: facts };
  if (compiled.retry.maxAttempts === 1) {
    // No retry: one atomic state with no entry action (see Target): a step costs one transition and one assign.
    return {
      id: stepId(step),
      tags: [TAGS.step],
      ...meta,
      on: { [`orsa.done.${step}`]: done, [`orsa.fail.${step}`]: failForGood },
    };
  }
  return {
    id: stepId(step),
    ...meta,
    initial: 'running',
    entry: { type: 'visit', params: { step } },
    states: {
      running: {
        tags: [TAGS.step],
        entry: { type: 'startAttempt', params: { step } },
        on: {
          [`orsa.done.${step}`]: done,
          [`orsa.fail.${step}`]: [
            {
              guard: { type: 'shouldRetry', params: compiled.retry.forever ? { step, maxAttempts: compiled.retry.maxAttempts, forever: true } : { step, maxAttempts: compiled.retry.maxAttempts } },
              target: 'retrying',
              // A failed attempt of a step declared compensateOnFailure is logged: a rollback may start before its retry.
              actions: { type: 'scheduleRetry', params: { step, ...compiled.retry, ...(node.compensateOnFailure ? { compensable: true } : {}) } },
            },
            failForGood,
          ],
        },
      },
      retrying: {
        tags: [TAGS.waiting],
        on: { 'orsa.wake': { guard: { type: 'isDue', params: { timer: step } }, target: 'running' } },
      },
    },
  };
}
