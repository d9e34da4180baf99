import { assign } from 'xstate';
import type { ErrorRecord } from '../errors.js';
import { IDS, TAGS, ref, stepId, type StateConfig } from '../compilation/chart.js';
import { failedEntry, isCurrentExec, logOnce, visitsOf, withEntry, withKey, without, type Args, type SagaContext } from '../compilation/context.js';
import { lookup } from '../compilation/append-map.js';
import { compileRetry, retryDelayMs, type CompiledRetry } from '../compilation/retry.js';
import type { RetryPolicy } from '../declaration/policy.js';
import type { AnyFn, Dependency, Declaration, StepOptionsBase } from '../declaration/types.js';
import { decideGoto, declareGoto, gotoActions, gotoGuards, gotoTransitions, validateGoto, type GotoSpec } from './goto.js';
import type { StepKind } from './kind.js';
import { childrenOf, list, tagsOf } from './drawing.js';
import { gotoLabel } from './goto.js';

/**
 * The step: a function the interpreter runs (with retries, a timeout and a
 * compensation), the kind every other kind is measured against.
 */

/** What `.step()` records. */
export interface StepNode {
  kind: 'step';
  name: string;
  run: AnyFn;
  retry: number | RetryPolicy | 'forever' | undefined;
  timeoutMs: number | undefined;
  compensate: AnyFn | undefined;
  compensateRetry: number | RetryPolicy | undefined;
  uses: readonly Dependency[];
  goto: GotoSpec | undefined;
  /** The point of no return. */
  pivot: boolean;
  /** Its effect may happen when it fails: a failed execution is compensated too. */
  compensateOnFailure: boolean;
  /** How this step was declared, for error messages. */
  position: string;
}

const DEFAULT_COMPENSATE_RETRY = 3;

/** Records `.step(name, run, options)`. */
export function declareStep(name: string, run: AnyFn, options: unknown, scope: string): StepNode {
  const opts = (options ?? {}) as StepOptionsBase<unknown, object, unknown> & { compensate?: AnyFn; compensateOnFailure?: boolean };
  return {
    kind: 'step',
    name,
    run,
    retry: opts.retry,
    timeoutMs: opts.timeoutMs,
    compensate: opts.compensate,
    compensateRetry: opts.compensateRetry,
    uses: opts.uses ?? [],
    goto: declareGoto(opts.goto as never),
    pivot: opts.pivot === true,
    compensateOnFailure: opts.compensateOnFailure === true,
    position: `${scope}step "${name}"`,
  };
}

/** Records `.compensate(run, options)`: it attaches to the step declared just before, in `nodes`. */
export function attachCompensation(
  decl: Declaration,
  nodes: readonly { kind: string }[],
  scope: string,
  run: AnyFn,
  options: { retry?: number | RetryPolicy } | undefined,
): void {
  const last = nodes[nodes.length - 1] as StepNode | undefined;
  if (!last || last.kind !== 'step') {
    decl.errors.push(
      `saga "${decl.name}": ${scope}.compensate() must follow a .step() (it undoes the step declared just before it); move it after the step it undoes`,
    );
  } else if (last.compensate) {
    decl.errors.push(`saga "${decl.name}": ${last.position} has two compensations; keep one`);
  } else {
    last.compensate = run;
    last.compensateRetry = options?.retry;
  }
}

/** Whether a step retries until it succeeds (the only kind of step allowed after a pivot). */
const retriesForever = (node: StepNode) => node.retry === 'forever' || (typeof node.retry === 'object' && node.retry.maxAttempts === Infinity);

export const stepKind: StepKind<StepNode> = {
  kind: 'step',

  validate(node, cx) {
    const where = cx.where(node);
    const facts = cx.facts(node);
    if (typeof node.run !== 'function') cx.fail(`${where} needs a function`);
    facts.retry = compileRetry(node.retry, where);
    facts.compensateRetry = node.compensate ? compileRetry(node.compensateRetry ?? DEFAULT_COMPENSATE_RETRY, `saga "${cx.saga}": compensation of ${node.position}`) : null;
    if (node.compensateOnFailure) facts.compensateOnFailure = true;
    if (node.timeoutMs !== undefined && !(Number.isFinite(node.timeoutMs) && node.timeoutMs > 0)) {
      cx.fail(`${where}: timeoutMs must be a number of ms > 0 (got ${node.timeoutMs})`);
    }
    facts.timeoutMs = node.timeoutMs ?? null;
    for (const dep of node.uses) cx.use(node, dep);
    validateGoto(node, cx);
    return facts;
  },

  afterPivot(node, where, because) {
    const mistakes: string[] = [];
    if (!retriesForever(node)) {
      mistakes.push(`${where} ${because}, but it can fail for good (${node.timeoutMs !== undefined ? 'a timeout without infinite retry' : 'finite retry'}); declare it retriable with { retry: 'forever' }`);
    }
    if (node.compensate) mistakes.push(`${where} ${because}, so its compensation can never run; drop it`);
    if (node.goto) mistakes.push(`${where} ${because}, but its goto fails the saga once it hits goto.maxVisits; move the loop before the pivot`);
    return mistakes;
  },

  emit(node, next, cx) {
    const step = node.name;
    const compiled = cx.steps[step]!;
    const compensable = node.compensate !== undefined;
    // A step declared compensateOnFailure may have logged a failed attempt already: its completion replaces that entry.
    const onFailure = node.compensateOnFailure ? { onFailure: true } : {};
    const complete = (enter: string | null) => ({ type: 'complete', params: enter === null ? { step, compensable, ...onFailure } : { step, compensable, enter, ...onFailure } });
    const done: StateConfig[] = gotoTransitions(node, compiled.gotoTargets, complete, cx);
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
  },

  actions: {
    visit: assign(({ context }: Args, { step }: { step: string }) => ({
      visits: withKey(context.visits, step, visitsOf(context, step) + 1),
      attempts: withEntry(context.attempts, step, 0),
    })),
    startAttempt: assign(({ context }: Args, { step }: { step: string }) => {
      const attempt = (context.attempts[step] ?? 0) + 1;
      return {
        attempts: withEntry(context.attempts, step, attempt),
        active: withEntry(context.active, step, { exec: `${step}#${lookup(context.visits, step) ?? 1}`, attempt }),
        timers: without(context.timers, step),
      };
    }),
    enterStep: assign(({ context }: Args, { step }: { step: string }) => {
      const visit = visitsOf(context, step) + 1;
      return {
        visits: withKey(context.visits, step, visit),
        active: withEntry(context.active, step, { exec: `${step}#${visit}`, attempt: 1 }),
      };
    }),
    /** Records a completed step; with `enter`, also starts the plain step the transition goes to (one assign for both). */
    complete: assign(({ context, event }: Args, { step, compensable, enter, onFailure }: { step: string; compensable: boolean; enter?: string; onFailure?: true }) => {
      const active: SagaContext['active'] = {};
      for (const key in context.active) if (key !== step) active[key] = context.active[key]!;
      const update: Partial<SagaContext> = {
        results: withKey(context.results, step, event.result),
        active,
        log: !compensable ? context.log : onFailure ? logOnce(context.log, { exec: event.exec as string, step, result: event.result }) : [...context.log, { exec: event.exec as string, step, result: event.result }],
      };
      if (enter !== undefined) {
        const visit = visitsOf(context, enter) + 1;
        update.visits = withKey(context.visits, enter, visit);
        active[enter] = { exec: `${enter}#${visit}`, attempt: 1 };
      }
      return update;
    }),
    scheduleRetry: assign(({ context, event }: Args, params: CompiledRetry & { step: string; compensable?: true }) => ({
      active: without(context.active, params.step),
      ...(params.compensable ? { log: logOnce(context.log, failedEntry(params.step, event)) } : {}),
      timers: withEntry(context.timers, params.step, event.now + retryDelayMs(params, context.attempts[params.step] ?? 1, event.random ?? 0.5)),
    })),
    fail: assign(({ context, event }: Args, { step, compensable }: { step: string; compensable?: boolean }) => ({
      active: without(context.active, step),
      failure: { step, error: event.error as ErrorRecord },
      ...(compensable ? { log: logOnce(context.log, failedEntry(step, event)) } : {}),
    })),
    ...gotoActions,
  },

  guards: {
    isCurrent: ({ context, event }: Args, { step }: { step: string }) => isCurrentExec(context, event, step),
    shouldRetry: ({ context, event }: Args, { step, maxAttempts, forever }: { step: string; maxAttempts: number; forever?: boolean }) =>
      isCurrentExec(context, event, step) && (forever === true || (event.retryable !== false && (context.attempts[step] ?? 1) < maxAttempts)),
    ...gotoGuards,
  },

  dependencies: (node) => node.uses,

  effect: {
    run: (node, ctx) => node.run(ctx),
    accept: (node, ctx, result) => decideGoto(node, ctx, result),
    retryable(node, error) {
      const retry = node.retry;
      if (retry && typeof retry === 'object' && retry.retryIf) {
        try {
          return retry.retryIf(error) === true;
        } catch {
          return false;
        }
      }
      return true;
    },
  },

  drawing: {
    // A step without retry is one state tagged orsa.step; with retry its `running` child is.
    owns: (state) => tagsOf(state).includes(TAGS.step) || tagsOf(childrenOf(state).running).includes(TAGS.step),
    describe(state) {
      const running = childrenOf(state).running;
      if (!running) return undefined;
      const fail = (running.on as Record<string, unknown> | undefined) ?? {};
      const retry = Object.entries(fail)
        .filter(([event]) => event.startsWith('orsa.fail.'))
        .flatMap(([, t]) => list(t) as { guard?: { type?: unknown; params?: Record<string, unknown> } }[])
        .map((t) => t.guard)
        .find((g) => g?.type === 'shouldRetry');
      if (retry?.params?.forever === true) return 'retried until it succeeds';
      if (retry?.params?.maxAttempts !== undefined) return `retried, up to ${String(retry.params.maxAttempts)} attempts`;
      return undefined;
    },
    label: (guard, key) => gotoLabel(guard, key),
  },
};
