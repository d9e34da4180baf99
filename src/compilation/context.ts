import type { ErrorRecord } from '../errors.js';
import { AppendMap, assignKey, lookup, type RecordLike } from './append-map.js';
import type { MapProgress } from '../kinds/map/actions.js';

/**
 * The saga's context (its durable state) and the small pure helpers every
 * action uses to update it. Actions are pure functions of context and event:
 * time and randomness arrive in the events (`now`, `random`), supplied by the
 * runtime, so a snapshot plus the events that followed it always lead to the
 * same state.
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
  /** Step executions the runtime must run now, by step (`awaiting`: a child saga started for it runs on its own). */
  active: Record<string, { exec: string; attempt: number; awaiting?: true }>;
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
  /** Each map's items list and each item step's result (kinds/map); like `results`, journaled. Absent until a map ran. */
  items?: RecordLike<unknown>;
  /** Progress of the map the saga is in (kinds/map); absent when it is in none. */
  maps?: Record<string, MapProgress>;
  /** The parent saga and step execution of a child saga; absent on a saga started on its own. */
  parent?: ParentRef;
  /** Set when a parked child rolls back because its parent asked it to. */
  undoneByParent?: boolean;
}

/** What the machine receives as input. */
export interface SagaMachineInput {
  sagaId: string;
  input: unknown;
  now: number;
  headers?: Record<string, string>;
  parent?: ParentRef;
}

/** Where a child saga belongs: its parent, and the step execution that started it. */
export interface ParentRef {
  id: string;
  step: string;
  exec: string;
}

/** Events from the runtime. Every one carries `now` (epoch ms). */
export type SagaEvent = { type: string; now: number } & Record<string, any>;

/** What every action and guard receives. */
export type Args = { context: SagaContext; event: SagaEvent };

/** The time of an event (the machine's input at start). */
export function nowOf(event: SagaEvent & { input?: SagaMachineInput }): number {
  return typeof event.now === 'number' ? event.now : (event.input?.now ?? 0);
}

/** `record` without `key` (the same object when it has none). */
export function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  // Copied without the key rather than spread then deleted: a delete leaves the copy a slow dictionary object.
  const copy: Record<string, T> = {};
  for (const k in record) if (k !== key) assignKey(copy, k, record[k]!);
  return copy;
}

/**
 * `{ ...record, [key]: value }` (same keys in the same order) without its
 * cost: on Node 20 a spread followed by a key it lacks makes a new hidden
 * class at every call (about a microsecond); a copy key by key does not.
 *
 * @example
 * ```ts
 * withEntry({ a: 1 }, 'b', 2); // { a: 1, b: 2 }
 * ```
 */
export function withEntry<T>(record: Readonly<Record<string, T>>, key: string, value: T): Record<string, T> {
  const copy: Record<string, T> = {};
  for (const k in record) assignKey(copy, k, record[k]!);
  assignKey(copy, key, value);
  return copy;
}

/**
 * Compensated lists known to be the log's newest entries in reverse (what compensating newest first
 * makes), with the log they were checked against. Then the next compensation is the entry just before
 * them: O(1) instead of a scan, which matters when a map logged 10,000 item steps.
 */
const reverseSuffixOf = new WeakMap<readonly string[], readonly LogEntry[]>();

function isReverseSuffix(log: readonly LogEntry[], compensated: readonly string[]): boolean {
  if (compensated.length === 0 || reverseSuffixOf.get(compensated) === log) return true;
  if (compensated.length > log.length) return false;
  for (let j = 0; j < compensated.length; j++) if (log[log.length - 1 - j]!.exec !== compensated[j]) return false;
  reverseSuffixOf.set(compensated, log);
  return true;
}

/** The next execution to compensate, if any: the newest completed execution not yet undone. */
export function pendingCompensation(context: SagaContext): LogEntry | undefined {
  const { log, compensated } = context;
  // Log execs are unique, so past a reverse suffix of undone entries the next one is pending.
  if (compensated.length === 0 || reverseSuffixOf.get(compensated) === log) return log[log.length - 1 - compensated.length];
  // Otherwise (a restored context, an entry that moved) a scan, with a set: `includes` made it O(undone²).
  const undone = new Set(compensated);
  for (let i = log.length - 1; i >= 0; i--) {
    const entry = log[i]!;
    if (!undone.has(entry.exec)) return entry;
  }
  return undefined;
}

/** `compensated` with one more exec, remembered as a reverse suffix of the log when it is one. */
export function withCompensated(context: SagaContext, exec: string): string[] {
  const next = [...context.compensated, exec];
  if (isReverseSuffix(context.log, context.compensated) && context.log[context.log.length - next.length]?.exec === exec) reverseSuffixOf.set(next, context.log);
  return next;
}

/** A failed execution whose effect may have happened: compensated like a completed one, with its error. */
export function failedEntry(step: string, event: SagaEvent): LogEntry {
  return { exec: event.exec as string, step, result: null, error: event.error as ErrorRecord };
}

/** How often `step` was entered. */
export const visitsOf = (context: SagaContext, step: string): number => lookup(context.visits, step) ?? 0;

/** `record` with one more key: O(1) on an AppendMap; a restored plain record becomes one first (once). */
export function withKey<V>(record: RecordLike<V>, key: string, value: V): AppendMap<V> {
  return AppendMap.from(record).set(key, value);
}

/**
 * Logs an execution of a step declared `compensateOnFailure`: a failed attempt that is retried is
 * logged already (its effect may have happened, and a rollback may start before the retry), so a
 * later outcome of the same execution replaces its entry: it is compensated once, with that outcome.
 */
export function logOnce(log: LogEntry[], entry: LogEntry): LogEntry[] {
  const i = log.findIndex((e) => e.exec === entry.exec);
  return i === -1 ? [...log, entry] : [...log.slice(0, i), ...log.slice(i + 1), entry];
}

/** Whether the event's execution is the one the chart waits for at `step` (a late outcome of an older one is ignored). */
export const isCurrentExec = (context: SagaContext, event: SagaEvent, step: string) => context.active[step]?.exec === event.exec;

