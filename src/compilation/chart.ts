import type { CompiledRetry } from './retry.js';

/**
 * The chart's vocabulary, shared by the compiler and every step kind: the ids
 * and tags of the system states, and how a transition names the state it
 * enters. Plain data and pure helpers only.
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

/** What the runtime knows of one named execution point (a step, a wait, a sleep) without its functions. */
export interface CompiledStep {
  /** The step kind that declared it (`node.kind`). */
  kind: string;
  retry: CompiledRetry;
  compensateRetry: CompiledRetry | null;
  timeoutMs: number | null;
  gotoTargets: string[];
  /** Set when a failed execution is compensated too (its effect may have happened). */
  compensateOnFailure?: true;
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

/** The timer key of the compensation's retry wait (steps use their own name). */
export const COMPENSATION_TIMER = '$compensation';

/** The id of the state a named node compiles to. */
export const stepId = (name: string): string => `s:${name}`;
/** A reference to a state id, usable as a transition target from anywhere. */
export const ref = (id: string): string => `#${id}`;

/**
 * Where a transition goes, and the step it enters. A plain step (no retry) has
 * no entry action: the transitions into it carry `enterStep` (a step's
 * completion and the next step's start are then one assign, one context copy).
 */
export interface Target {
  ref: string;
  /** The plain step the transition starts, or null when the target starts itself (its entry actions). */
  enter: string | null;
}

const isPlainStep = (name: string, steps: Record<string, CompiledStep>) =>
  (steps[name]?.kind === 'step' || steps[name]?.kind === 'child') && steps[name]!.retry.maxAttempts === 1;

/** The transition target for entering the node named `name`. */
export function targetOf(name: string, steps: Record<string, CompiledStep>): Target {
  return { ref: ref(stepId(name)), enter: isPlainStep(name, steps) ? name : null };
}

/** The actions a transition into `target` carries (none unless it enters a plain step). */
export function enterActions(target: Target): StateConfig[] {
  return target.enter === null ? [] : [{ type: 'enterStep', params: { step: target.enter } }];
}

/** `transition` with `actions` (one action unwrapped, none left out: the JSON stays as small as before). */
export function withActions(transition: StateConfig, actions: StateConfig[]): StateConfig {
  if (actions.length === 0) return transition;
  return { ...transition, actions: actions.length === 1 ? actions[0] : actions };
}

/** An `entry` property holding `actions`, or nothing. */
export function withEntry(actions: StateConfig[]): StateConfig {
  return actions.length === 0 ? {} : { entry: actions.length === 1 ? actions[0] : actions };
}
