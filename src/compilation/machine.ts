import { assign, setup, type AnyStateMachine } from 'xstate';
import { EventBacklogFullError, SagaDefinitionError, type ErrorRecord } from '../errors.js';
import { AppendMap, hasKey } from './append-map.js';
import { COMPENSATION_TIMER, type StateConfig } from './chart.js';
import { retryDelayMs, type CompiledRetry } from './retry.js';
import {
  failedEntry,
  isCurrentExec,
  logOnce,
  nowOf,
  pendingCompensation,
  withCompensated,
  visitsOf,
  withEntry,
  withKey,
  without,
  type Args,
  type SagaContext,
  type SagaEvent,
  type SagaMachineInput,
} from './context.js';
import type { KindRegistry } from '../kinds/kind.js';
import { parkingActions, parkingGuards, withParking } from './parking.js';

// The context and its helpers moved to context.ts; re-exported for existing imports.
export type { LogEntry, SagaContext, SagaEvent, SagaMachineInput } from './context.js';

/**
 * The implementations behind the names in the compiled config: the saga's own
 * (readiness, cancel, timers, the inbox, rollback and compensation) here, and
 * each step kind's from the registry. They are pure functions of context and
 * event: time and randomness arrive in the events (`now`, `random`), supplied
 * by the runtime, so a snapshot plus the events that followed it always lead
 * to the same state.
 */

/**
 * Most events of one name kept in a saga's context before a wait consumes
 * them. The chart drops later ones (enqueueEvent), so every way in refuses an
 * event that would not fit before accepting it ({@link assertBacklogRoom});
 * one that gets past (stored by a raw store user, or two processes sending at
 * once) is reported where it is consumed (`event.received` with `dropped`).
 */
export const MAX_QUEUED_PER_EVENT = 100;

/**
 * Refuses (EVENT_BACKLOG_FULL) an event named `name` when the saga already
 * holds MAX_QUEUED_PER_EVENT of that name not yet taken by a wait: counted in
 * each of `held`, lists of the context's inbox entries (`{ name }`) or of
 * events still to be processed (`{ type: 'orsa.event', name }`).
 *
 * @example
 * ```ts
 * assertBacklogRoom('order-1', 'order', 'item.added', context.inbox, queue); // throws at 100 unconsumed item.added
 * ```
 */
export function assertBacklogRoom(sagaId: string, saga: string, name: string, ...held: readonly { name?: unknown; type?: unknown }[][]): void {
  if (backlogOf(name, ...held) >= MAX_QUEUED_PER_EVENT) throw new EventBacklogFullError(sagaId, saga, name, MAX_QUEUED_PER_EVENT);
}

/** How many events named `name` the lists hold (see {@link assertBacklogRoom}). */
export function backlogOf(name: string, ...held: readonly { name?: unknown; type?: unknown }[][]): number {
  let count = 0;
  for (const list of held) for (const e of list) if (e.name === name && (e.type === undefined || e.type === 'orsa.event')) count++;
  return count;
}

/** The event names the chart's waits consume (the `hasEvent` guards of its config). */
function waitedEvents(config: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(config)) for (const item of config) waitedEvents(item, found);
  else if (config !== null && typeof config === 'object') {
    const node = config as { type?: unknown; params?: { event?: unknown } };
    if (node.type === 'hasEvent' && typeof node.params?.event === 'string') found.add(node.params.event);
    for (const value of Object.values(config)) waitedEvents(value, found);
  }
  return found;
}

/** Builds the XState machine for a compiled config. */
export function createSagaMachine(config: StateConfig, kinds: KindRegistry): AnyStateMachine {
  const waited = waitedEvents(config);
  const { actions, guards } = withKinds({ ...sagaActions(waited, kinds), ...parkingActions }, { ...sagaGuards, ...parkingGuards }, kinds);
  return setup({
    types: {} as { context: SagaContext; events: SagaEvent; input: SagaMachineInput },
    actions,
    guards,
  }).createMachine({
    // Parking (a completed child waits for its parent's end) is added to the machine, not to the compiled config.
    ...withParking(config),
    // Added here, not by the compiler: the compiled config (and so every saga's version hash) stays as it
    // was, so sagas stored before lease losses were counted keep resuming.
    on: { ...((config as { on?: object }).on ?? {}), 'orsa.leaseLost': { actions: 'countLeaseLoss' } },
    context: ({ input }: { input: SagaMachineInput }): SagaContext => ({
      sagaId: input.sagaId,
      input: input.input,
      startedAt: input.now,
      results: AppendMap.empty(),
      visits: AppendMap.empty(),
      attempts: {},
      active: {},
      timers: {},
      log: [],
      inbox: [],
      failure: null,
      cancelled: false,
      rollingBack: false,
      comp: null,
      compensated: [],
      compError: null,
      ...(input.headers ? { headers: input.headers } : {}),
      ...(input.parent ? { parent: input.parent } : {}),
    }),
  } as any) as unknown as AnyStateMachine;
}


/** The saga's own actions: readiness, cancel, timers, the inbox, rollback and compensation. */
function sagaActions(waited: Set<string>, kinds: KindRegistry): Record<string, unknown> {
  return {
    notReady: assign(({ event }: Args) => ({ failure: { step: null, error: event.error as ErrorRecord } })),
    markCancelled: assign(({ context }: Args) =>
      context.failure ? { cancelled: true } : { cancelled: true, failure: { step: null, error: { name: 'SagaCancelled', code: 'SAGA_CANCELLED', message: 'the saga was cancelled' } } },
    ),
    countVisit: assign(({ context }: Args, { step }: { step: string }) => ({
      visits: withKey(context.visits, step, visitsOf(context, step) + 1),
    })),
    startTimer: assign(({ context, event }: Args, { timer, ms }: { timer: string; ms: number }) => ({
      timers: withEntry(context.timers, timer, nowOf(event) + ms),
    })),
    clearTimer: assign(({ context }: Args, { timer }: { timer: string }) => ({ timers: without(context.timers, timer) })),
    enterRollback: assign(() => ({ timers: {}, rollingBack: true })),
    enqueueEvent: assign(({ context, event }: Args) => {
      // Only events a wait of this chart consumes, and at most MAX_QUEUED_PER_EVENT of each name: the inbox
      // is in every snapshot, so anything else would make every later write bigger, forever. The oldest are
      // kept (a wait takes the first that arrived); the runtime refuses unknown names before storing them, and
      // an event past the limit (assertBacklogRoom), so only one stored past those checks gets here: observe()
      // reports it (`event.received` with `dropped`, payload included).
      const name = event.name as string;
      if (!waited.has(name)) return {};
      let queued = 0;
      for (const e of context.inbox) if (e.name === name) queued++;
      if (queued >= MAX_QUEUED_PER_EVENT) return {};
      return { inbox: [...context.inbox, { name, payload: event.payload ?? null }] };
    }),
    completeLate: assign(({ context, event }: Args, { compensable: steps }: { compensable: string[] }) => {
      const step = event.type.slice('orsa.done.'.length);
      if (!isCurrentExec(context, event, step)) return {};
      // An execution a kind records its own way (an item of a map): the kind says how.
      for (const kind of kinds.kinds) {
        const update = kind.completeLate?.(context, event, step, steps);
        if (update) return update as Partial<SagaContext>;
      }
      // A branch that completed while its siblings failed: it is compensated like any other.
      const compensable = steps.includes(step);
      return {
        results: withKey(context.results, step, event.result),
        active: without(context.active, step),
        log: compensable ? logOnce(context.log, { exec: event.exec as string, step, result: event.result }) : context.log,
      };
    }),
    dropActive: assign(({ context, event }: Args, params?: { compensable?: string[] }) => {
      const step = event.type.slice('orsa.fail.'.length);
      if (!isCurrentExec(context, event, step)) return {};
      const logged = params?.compensable?.includes(step) ? { log: logOnce(context.log, failedEntry(step, event)) } : {};
      return { active: without(context.active, step), ...logged };
    }),
    startCompensation: assign(({ context }: Args) => {
      const entry = pendingCompensation(context)!;
      const attempt = context.comp?.exec === entry.exec ? context.comp.attempt + 1 : 1;
      return { comp: { exec: entry.exec, attempt }, timers: without(context.timers, COMPENSATION_TIMER) };
    }),
    markCompensated: assign(({ context }: Args) => ({ compensated: withCompensated(context, context.comp!.exec), comp: null })),
    scheduleCompensationRetry: assign(({ context, event }: Args, { policies }: { policies: Record<string, CompiledRetry> }) => {
      const step = context.log.find((e) => e.exec === context.comp!.exec)!.step;
      return { timers: withEntry(context.timers, COMPENSATION_TIMER, event.now + retryDelayMs(policies[step]!, context.comp!.attempt, event.random ?? 0.5)) };
    }),
    compensationFailed: assign(({ event }: Args) => ({ compError: event.error as ErrorRecord })),
    resetCompensationError: assign(() => ({ compError: null, comp: null })),
    countLeaseLoss: assign(({ context, event }: Args) => {
      // Only executions still active count: a step that completed meanwhile has nothing left to lose.
      const execs = Array.isArray(event.execs) ? (event.execs as unknown[]) : [];
      let losses = context.leaseLosses ?? {};
      for (const exec of execs) {
        if (typeof exec !== 'string' || !Object.values(context.active).some((a) => a.exec === exec)) continue;
        losses = { ...losses, [exec]: (Object.hasOwn(losses, exec) ? losses[exec]! : 0) + 1 };
      }
      return losses === context.leaseLosses || (context.leaseLosses === undefined && Object.keys(losses).length === 0) ? {} : { leaseLosses: losses };
    }),
  };
}

/** The saga's own guards. */
const sagaGuards: Record<string, (args: Args, params: any) => boolean> = {
  isDue: ({ context, event }: Args, { timer }: { timer: string }) => {
    const due = context.timers[timer];
    return due !== undefined && event.now >= due;
  },
  nothingActive: ({ context }: Args) => Object.keys(context.active).length === 0,
  hasPendingCompensation: ({ context }: Args) => context.compError === null && pendingCompensation(context) !== undefined,
  isCurrentCompensation: ({ context, event }: Args) => context.comp?.exec === event.exec,
  shouldRetryCompensation: ({ context, event }: Args, { policies }: { policies: Record<string, CompiledRetry> }) => {
    if (context.comp?.exec !== event.exec || event.retryable === false) return false;
    const step = context.log.find((e) => e.exec === event.exec)?.step;
    const policy = step === undefined ? undefined : policies[step];
    return policy !== undefined && context.comp!.attempt < policy.maxAttempts;
  },
  compensationDidFail: ({ context }: Args) => context.compError !== null,
  wasCancelled: ({ context }: Args) => context.cancelled,
  isForward: ({ context }: Args) => !context.rollingBack,
  // Once the pivot has started it may complete whatever happens, so a cancel could only roll back past it.
  beforePivot: ({ context }: Args, { pivot }: { pivot: string }) => !context.rollingBack && !(pivot in context.active) && !hasKey(context.results, pivot),
};

/**
 * The actions and guards of every registered kind, merged. A name two kinds
 * (or a kind and the saga's own) define would silently shadow one of them, so
 * it is refused.
 */
function withKinds(ownActions: Record<string, unknown>, ownGuards: Record<string, unknown>, kinds: KindRegistry): { actions: Record<string, any>; guards: Record<string, any> } {
  const actions: Record<string, any> = { ...ownActions };
  const guards: Record<string, any> = { ...ownGuards };
  for (const kind of kinds.kinds) {
    for (const [into, from, what] of [[actions, kind.actions, 'action'], [guards, kind.guards, 'guard']] as const) {
      for (const [name, implementation] of Object.entries(from ?? {})) {
        if (Object.hasOwn(into, name)) {
          throw new SagaDefinitionError(`step kind "${kind.kind}" defines the ${what} "${name}", which another kind or the saga itself defines; rename it in its kind module`);
        }
        into[name] = implementation;
      }
    }
  }
  return { actions, guards };
}
