import { assign, setup, type AnyStateMachine } from 'xstate';
import { GotoLimitError, WaitTimeoutError, type ErrorRecord } from '../errors.js';
import { chartRecord } from '../errors/base.js';
import { AppendMap, hasKey, lookup, type RecordLike } from './append-map.js';
import { COMPENSATION_TIMER, type StateConfig } from './compile.js';
import { retryDelayMs, type CompiledRetry } from '../declaration/policy.js';

/**
 * The implementations behind the names in the compiled config. They are pure
 * functions of context and event: time and randomness arrive in the events
 * (`now`, `random`), supplied by the runtime, so a snapshot plus the events
 * that followed it always lead to the same state.
 */

/** One completed execution of a compensable step, kept until it is compensated. */
export interface LogEntry {
  exec: string;
  step: string;
  result: unknown;
  /** Set when the execution failed but its step declared that its effect may happen anyway (`compensateOnFailure`). */
  error?: ErrorRecord;
}

/** The saga's durable state: everything here survives JSON. */
export interface SagaContext {
  sagaId: string;
  input: unknown;
  startedAt: number;
  /**
   * Latest result of each completed step. In a running machine an
   * {@link AppendMap} (a step adds one in O(1)); a plain object in JSON and
   * in a context restored from it. Read it with `lookup`/`toPlain`.
   */
  results: RecordLike<unknown>;
  /** How often each step was entered (goto revisits count); like `results`, an AppendMap or a plain object. */
  visits: RecordLike<number>;
  /** Attempts made in the current visit of each step. */
  attempts: Record<string, number>;
  /** Step executions the runtime must run now, by step. */
  active: Record<string, { exec: string; attempt: number }>;
  /** Due times (epoch ms) of retry waits, sleeps and event timeouts, by step (or `$compensation`). */
  timers: Record<string, number>;
  /** Completed compensable executions, in completion order. */
  log: LogEntry[];
  /** Events sent to the saga and not yet consumed, in arrival order. */
  inbox: { name: string; payload: unknown }[];
  failure: { step: string | null; error: ErrorRecord } | null;
  cancelled: boolean;
  /** True once the saga entered its rollback region. */
  rollingBack: boolean;
  /** The compensation the runtime must run now. */
  comp: { exec: string; attempt: number } | null;
  /** Executions whose compensation completed, in the order they ran. */
  compensated: string[];
  compError: ErrorRecord | null;
  /**
   * Times the worker running a step execution lost its lease while it ran, by exec (absent in snapshots
   * written before lease losses were counted). Counted from `leaseLost` commands the losing worker stores.
   */
  leaseLosses?: Record<string, number>;
  /** String headers stored with the saga by interceptors (a W3C `traceparent`); absent when none were given. */
  headers?: Record<string, string>;
}

/** What the machine receives as input. */
export interface SagaMachineInput {
  sagaId: string;
  input: unknown;
  now: number;
  headers?: Record<string, string>;
}

/** Events from the runtime. Every one carries `now` (epoch ms). */
export type SagaEvent = { type: string; now: number } & Record<string, any>;

type Args = { context: SagaContext; event: SagaEvent };

function nowOf(event: SagaEvent & { input?: SagaMachineInput }): number {
  return typeof event.now === 'number' ? event.now : (event.input?.now ?? 0);
}

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const copy = { ...record };
  delete copy[key];
  return copy;
}

function pendingCompensation(context: SagaContext): LogEntry | undefined {
  // Reverse order of completion: the newest completed execution not yet undone.
  for (let i = context.log.length - 1; i >= 0; i--) {
    const entry = context.log[i]!;
    if (!context.compensated.includes(entry.exec)) return entry;
  }
  return undefined;
}

/** A failed execution whose effect may have happened: compensated like a completed one, with its error. */
function failedEntry(step: string, event: SagaEvent): LogEntry {
  return { exec: event.exec as string, step, result: null, error: event.error as ErrorRecord };
}

/** How often `step` was entered. */
const visitsOf = (context: SagaContext, step: string): number => lookup(context.visits, step) ?? 0;

/** `record` with one more key: O(1) on an AppendMap; a restored plain record becomes one first (once). */
function withKey<V>(record: RecordLike<V>, key: string, value: V): AppendMap<V> {
  return AppendMap.from(record).set(key, value);
}

/**
 * Logs an execution of a step declared `compensateOnFailure`: a failed attempt that is retried is
 * logged already (its effect may have happened, and a rollback may start before the retry), so a
 * later outcome of the same execution replaces its entry: it is compensated once, with that outcome.
 */
function logOnce(log: LogEntry[], entry: LogEntry): LogEntry[] {
  const i = log.findIndex((e) => e.exec === entry.exec);
  return i === -1 ? [...log, entry] : [...log.slice(0, i), ...log.slice(i + 1), entry];
}

const isCurrentExec = (context: SagaContext, event: SagaEvent, step: string) => context.active[step]?.exec === event.exec;

/** Most events of one name kept in a saga's context before a wait consumes them; later ones are dropped. */
export const MAX_QUEUED_PER_EVENT = 100;

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
export function createSagaMachine(config: StateConfig): AnyStateMachine {
  const waited = waitedEvents(config);
  return setup({
    types: {} as { context: SagaContext; events: SagaEvent; input: SagaMachineInput },
    actions: {
      visit: assign(({ context }: Args, { step }: { step: string }) => ({
        visits: withKey(context.visits, step, visitsOf(context, step) + 1),
        attempts: { ...context.attempts, [step]: 0 },
      })),
      startAttempt: assign(({ context }: Args, { step }: { step: string }) => {
        const attempt = (context.attempts[step] ?? 0) + 1;
        return {
          attempts: { ...context.attempts, [step]: attempt },
          active: { ...context.active, [step]: { exec: `${step}#${lookup(context.visits, step) ?? 1}`, attempt } },
          timers: without(context.timers, step),
        };
      }),
      enterStep: assign(({ context }: Args, { step }: { step: string }) => {
        const visit = visitsOf(context, step) + 1;
        return {
          visits: withKey(context.visits, step, visit),
          active: { ...context.active, [step]: { exec: `${step}#${visit}`, attempt: 1 } },
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
        timers: {
          ...context.timers,
          [params.step]: event.now + retryDelayMs(params, context.attempts[params.step] ?? 1, event.random ?? 0.5),
        },
      })),
      fail: assign(({ context, event }: Args, { step, compensable }: { step: string; compensable?: boolean }) => ({
        active: without(context.active, step),
        failure: { step, error: event.error as ErrorRecord },
        ...(compensable ? { log: logOnce(context.log, failedEntry(step, event)) } : {}),
      })),
      gotoLimitReached: assign((_: Args, { step, target, maxVisits }: { step: string; target: string; maxVisits: number }) => ({
        failure: { step, error: chartRecord(new GotoLimitError(step, target, maxVisits)) },
      })),
      notReady: assign(({ event }: Args) => ({ failure: { step: null, error: event.error as ErrorRecord } })),
      markCancelled: assign(({ context }: Args) =>
        context.failure ? { cancelled: true } : { cancelled: true, failure: { step: null, error: { name: 'SagaCancelled', code: 'SAGA_CANCELLED', message: 'the saga was cancelled' } } },
      ),
      countVisit: assign(({ context }: Args, { step }: { step: string }) => ({
        visits: withKey(context.visits, step, visitsOf(context, step) + 1),
      })),
      startTimer: assign(({ context, event }: Args, { timer, ms }: { timer: string; ms: number }) => ({
        timers: { ...context.timers, [timer]: nowOf(event) + ms },
      })),
      clearTimer: assign(({ context }: Args, { timer }: { timer: string }) => ({ timers: without(context.timers, timer) })),
      enterRollback: assign(() => ({ timers: {}, rollingBack: true })),
      startWait: assign(({ context, event }: Args, { step, timeoutMs }: { step: string; timeoutMs: number | null }) => ({
        visits: withKey(context.visits, step, visitsOf(context, step) + 1),
        timers: timeoutMs === null ? context.timers : { ...context.timers, [step]: nowOf(event) + timeoutMs },
      })),
      takeEvent: assign(({ context }: Args, { step, event }: { step: string; event: string }) => {
        const index = context.inbox.findIndex((e) => e.name === event);
        if (index === -1) return {}; // cannot happen once build() refused concurrent waits on one event; never crash the actor
        const taken = context.inbox[index]!;
        return {
          inbox: context.inbox.filter((_, i) => i !== index),
          results: withKey(context.results, step, taken.payload),
          timers: without(context.timers, step),
        };
      }),
      waitTimedOut: assign((_: Args, { step, event, timeoutMs }: { step: string; event: string; timeoutMs: number }) => ({
        failure: { step, error: chartRecord(new WaitTimeoutError(step, event, timeoutMs)) },
      })),
      enqueueEvent: assign(({ context, event }: Args) => {
        // Only events a wait of this chart consumes, and at most MAX_QUEUED_PER_EVENT of each name: the inbox
        // is in every snapshot, so anything else would make every later write bigger, forever. The oldest are
        // kept (a wait takes the first that arrived); the runtime refuses unknown names before storing them.
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
      markCompensated: assign(({ context }: Args) => ({ compensated: [...context.compensated, context.comp!.exec], comp: null })),
      scheduleCompensationRetry: assign(({ context, event }: Args, { policies }: { policies: Record<string, CompiledRetry> }) => {
        const step = context.log.find((e) => e.exec === context.comp!.exec)!.step;
        return { timers: { ...context.timers, [COMPENSATION_TIMER]: event.now + retryDelayMs(policies[step]!, context.comp!.attempt, event.random ?? 0.5) } };
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
    },
    guards: {
      isCurrent: ({ context, event }: Args, { step }: { step: string }) => isCurrentExec(context, event, step),
      shouldRetry: ({ context, event }: Args, { step, maxAttempts, forever }: { step: string; maxAttempts: number; forever?: boolean }) =>
        isCurrentExec(context, event, step) && (forever === true || (event.retryable !== false && (context.attempts[step] ?? 1) < maxAttempts)),
      gotoAllowed: ({ context, event }: Args, p: { step: string; target: string; maxVisits: number }) =>
        isCurrentExec(context, event, p.step) && event.goto === p.target && visitsOf(context, p.target) < p.maxVisits,
      gotoRequested: ({ context, event }: Args, p: { step: string; target: string }) => isCurrentExec(context, event, p.step) && event.goto === p.target,
      isDue: ({ context, event }: Args, { timer }: { timer: string }) => {
        const due = context.timers[timer];
        return due !== undefined && event.now >= due;
      },
      hasEvent: ({ context }: Args, { event }: { event: string }) => context.inbox.some((e) => e.name === event),
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
    },
  }).createMachine({
    ...(config as object),
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
    }),
  } as any) as unknown as AnyStateMachine;
}

