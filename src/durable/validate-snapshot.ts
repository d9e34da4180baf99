import type { AnyStateMachine } from 'xstate';
import { COMPENSATION_TIMER, IDS, TAGS } from '../compilation/compile.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import type { SagaRecord } from '../stores/types.js';
import { CorruptRecordError, type ParsedSnapshot } from './records.js';
import { checkMapContext } from './validate-map.js';
import { parseItemExec } from '../kinds/map/names.js';

/**
 * Checks a stored snapshot against the definition it claims to be of, before
 * XState sees it. XState trusts what it restores: an unknown state name or a
 * `status: 'error'` makes it throw later, outside any caller (a crashed
 * process), and a context the chart never writes makes the saga run unknown
 * steps or stall. So every field the interpreter or the runtime reads is
 * checked here, by shape and against the other fields; fields nobody reads
 * are ignored. Messages name the field, never its stored value (payloads stay
 * out of logs).
 */

type StateNodeLike = {
  id: string;
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  tags: string[];
  states: Record<string, StateNodeLike>;
  parent?: StateNodeLike;
  config: { on?: Record<string, unknown> };
};

/** Latest epoch millisecond a Date can hold: a due time beyond it is not a time. */
const MAX_TIME_MS = 8.64e15;
const MAX_ERROR_DEPTH = 32;
const STEP_ID = 's:';

class Invalid extends Error {}

function fail(reason: string): never {
  throw new Invalid(reason);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Counts are stored in 32-bit integer columns (history's attempt): anything larger is no count orsa wrote. */
const MAX_COUNT = 2 ** 31 - 1;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_COUNT;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_TIME_MS;
const own = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

/**
 * Parses and validates a record's snapshot for `definition`; throws
 * {@link CorruptRecordError} naming the first field that is wrong.
 *
 * @example
 * ```ts
 * const snapshot = validateSnapshot(order, record); // throws CorruptRecordError for a hand-edited record
 * ```
 */
export function validateSnapshot(definition: SagaDefinition<any, any>, record: SagaRecord): ParsedSnapshot {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.snapshot);
  } catch (error) {
    throw new CorruptRecordError(record.id, 'not valid JSON', { cause: error });
  }
  try {
    checkSnapshot(definition, record.id, parsed);
  } catch (error) {
    if (error instanceof Invalid) throw new CorruptRecordError(record.id, error.message);
    // A check that itself threw is a record nobody anticipated: still corrupt, never a crash.
    throw new CorruptRecordError(record.id, `unreadable (${String(error)})`, { cause: error });
  }
  return parsed as ParsedSnapshot;
}

function checkSnapshot(definition: SagaDefinition<any, any>, sagaId: string, snapshot: unknown): void {
  if (!isObject(snapshot)) fail('the snapshot is not an object');
  if (snapshot.status !== 'active' && snapshot.status !== 'done') fail('status is not "active" or "done"');
  if (snapshot.error !== undefined) fail('it holds an XState error');
  // orsa's charts have no child actors and no history states: anything there would be restored blindly.
  for (const key of ['children', 'historyValue'] as const) {
    const value = snapshot[key];
    if (!isObject(value) || Object.keys(value).length > 0) fail(`${key} is not an empty object`);
  }
  const root = (definition.machine as AnyStateMachine).root as unknown as StateNodeLike;
  const atoms: StateNodeLike[] = [];
  collectAtoms(root, snapshot.value, 'value', atoms);
  const done = atoms.length === 1 && atoms[0]!.type === 'final' && atoms[0]!.parent === root;
  if ((snapshot.status === 'done') !== done) fail(`status "${snapshot.status}" does not match the state value`);
  checkContext(definition, sagaId, snapshot.context, atoms);
}

/** Walks a state value down the chart, collecting the atomic states it names. */
function collectAtoms(node: StateNodeLike, value: unknown, path: string, atoms: StateNodeLike[]): void {
  if (node.type === 'parallel') {
    if (!isObject(value)) fail(`${path} must name a state in every region of ${node.key}`);
    const regions = Object.keys(node.states);
    const keys = Object.keys(value);
    if (keys.length !== regions.length || !regions.every((r) => own(value, r))) fail(`${path} does not name exactly the regions of ${node.key}`);
    for (const region of regions) collectAtoms(node.states[region]!, value[region], `${path}.${region}`, atoms);
    return;
  }
  if (node.type !== 'compound') fail(`${path} goes below a state that has no children`);
  let key: string;
  let rest: unknown;
  if (typeof value === 'string') {
    key = value;
  } else if (isObject(value) && Object.keys(value).length === 1) {
    key = Object.keys(value)[0]!;
    rest = value[key];
  } else {
    fail(`${path} is neither a state name nor one nested state`);
  }
  const child = own(node.states, key) ? node.states[key] : undefined;
  if (!child || child.type === 'history') fail(`${path} names a state the chart does not have`);
  if (rest === undefined) {
    if (child.type !== 'atomic' && child.type !== 'final') fail(`${path} stops at a state that has children`);
    atoms.push(child);
    return;
  }
  collectAtoms(child, rest, `${path}.${key}`, atoms);
}

/** The step a state belongs to: the nearest ancestor whose id is a step's. */
function stepOf(node: StateNodeLike): string | undefined {
  for (let n: StateNodeLike | undefined = node; n; n = n.parent) if (n.id.startsWith(STEP_ID)) return n.id.slice(STEP_ID.length);
  return undefined;
}

function within(node: StateNodeLike, id: string): boolean {
  for (let n: StateNodeLike | undefined = node; n; n = n.parent) if (n.id === id) return true;
  return false;
}

/** Timers a state waits on (`orsa.wake` guarded by isDue): without them it would wait forever. */
function wakeTimers(node: StateNodeLike): string[] {
  const wake = node.config.on?.['orsa.wake'];
  const transitions = Array.isArray(wake) ? wake : wake ? [wake] : [];
  const timers: string[] = [];
  for (const t of transitions as { guard?: { type?: string; params?: { timer?: string } } }[]) {
    if (t.guard?.type === 'isDue' && typeof t.guard.params?.timer === 'string') timers.push(t.guard.params.timer);
  }
  return timers;
}

function checkError(value: unknown, path: string, depth = 0): void {
  if (depth > MAX_ERROR_DEPTH) fail(`${path} nests causes too deep`);
  if (!isObject(value)) fail(`${path} is not an error record`);
  if (typeof value.name !== 'string' || typeof value.message !== 'string') fail(`${path} lacks a string name and message`);
  for (const key of ['code', 'stack'] as const) if (value[key] !== undefined && typeof value[key] !== 'string') fail(`${path}.${key} is not a string`);
  if (value.retryable !== undefined && typeof value.retryable !== 'boolean') fail(`${path}.retryable is not a boolean`);
  if (value.cause !== undefined) checkError(value.cause, `${path}.cause`, depth + 1);
}

function checkMap(value: unknown, path: string, keys: Set<string>, isValue: (v: unknown) => boolean, what: string): Record<string, unknown> {
  if (!isObject(value)) fail(`context.${path} is not an object`);
  for (const key of Object.keys(value)) {
    if (!keys.has(key)) fail(`context.${path} names an unknown step`);
    if (!isValue(value[key])) fail(`context.${path}.${key} is not ${what}`);
  }
  return value;
}

const chartStepsCache = new WeakMap<object, string[]>();

function chartSteps(definition: SagaDefinition<any, any>): string[] {
  let found = chartStepsCache.get(definition);
  if (!found) {
    const names: string[] = [];
    const walk = (node: StateNodeLike) => {
      if (node.id.startsWith(STEP_ID)) names.push(node.id.slice(STEP_ID.length));
      for (const child of Object.values(node.states)) walk(child);
    };
    walk((definition.machine as AnyStateMachine).root as unknown as StateNodeLike);
    chartStepsCache.set(definition, (found = names));
  }
  return found;
}

const visitOf = (exec: string): number => Number(exec.slice(exec.lastIndexOf('#') + 1));

/** `step#visit`, as the chart writes executions. */
function isExecOf(exec: unknown, step: string): boolean {
  if (typeof exec !== 'string' || !exec.startsWith(`${step}#`)) return false;
  const visit = Number(exec.slice(step.length + 1));
  return Number.isSafeInteger(visit) && visit >= 1 && String(visit) === exec.slice(step.length + 1);
}

function checkContext(definition: SagaDefinition<any, any>, sagaId: string, context: unknown, atoms: StateNodeLike[]): void {
  if (!isObject(context)) fail('context is not an object');
  if (context.sagaId !== sagaId) fail('context.sagaId is not the record id');
  if (!isTime(context.startedAt)) fail('context.startedAt is not a time');
  const steps = definition.compiled.steps;
  // Every named node: steps, waits, sleeps, and parallel groups (they count visits too).
  const names = new Set([...Object.keys(steps), ...chartSteps(definition)]);
  const runnable = new Set(Object.keys(steps).filter((name) => steps[name]!.kind === 'step' || steps[name]!.kind === 'child'));
  const compensable = new Set([...runnable].filter((name) => steps[name]!.compensateRetry !== null));

  // A map's items run in slots `map[index]` of active and timers: the map's own check vouches for those.
  const draining = atoms.some((atom) => atom.tags.includes(TAGS.draining));
  // Draining leaves in the step that settles the last execution under way: never stored with none left, it would wait for ever.
  if (draining && isObject(context.active) && Object.keys(context.active).length === 0) fail('it is draining with no step under way');
  const items = checkMapContext(definition, context, atoms, draining, fail);
  const notItems = (value: unknown) => (items.size === 0 || !isObject(value) ? value : Object.fromEntries(Object.entries(value).filter(([key]) => !items.has(key))));
  checkMap(context.results, 'results', names, () => true, 'a result');
  checkMap(context.visits, 'visits', names, isCount, 'a count');
  checkMap(context.attempts, 'attempts', names, isCount, 'a count');
  const timers = checkMap(notItems(context.timers), 'timers', new Set([...names, COMPENSATION_TIMER]), isTime, 'a time');
  const active = checkMap(notItems(context.active), 'active', runnable, isObject, 'an execution') as Record<string, Record<string, unknown>>;
  for (const [step, entry] of Object.entries(active)) {
    if (!isExecOf(entry.exec, step)) fail(`context.active.${step}.exec is not an execution of that step`);
    // The chart names a running execution after the step's current visit (visits counts the entry that started it).
    if (visitOf(entry.exec as string) !== ((context.visits as Record<string, number>)[step] ?? 0)) {
      fail(`context.active.${step}.exec is not the step's current visit`);
    }
    if (entry.awaiting !== undefined && (entry.awaiting !== true || steps[step]!.kind !== 'child')) fail(`context.active.${step}.awaiting is set on a step that is not a child`);
    if (!isCount(entry.attempt) || entry.attempt < 1 || entry.attempt > steps[step]!.retry.maxAttempts) {
      fail(`context.active.${step}.attempt is not an attempt the step's retry policy allows`);
    }
  }
  if (!Array.isArray(context.log)) fail('context.log is not a list');
  const logged = new Set<string>();
  context.log.forEach((entry: unknown, i: number) => {
    if (!isObject(entry) || typeof entry.step !== 'string' || !compensable.has(entry.step)) fail(`context.log[${i}] is not a compensable step's execution`);
    const item = parseItemExec(entry.exec);
    if (item && item.step === entry.step) {
      // An item's step: a visit of its map that happened, logged once.
      if (logged.has(entry.exec as string) || item.visit > ((context.visits as Record<string, number>)[item.map] ?? 0)) fail(`context.log[${i}].exec is not a new execution of an item that ran`);
      logged.add(entry.exec as string);
      return;
    }
    if (!isExecOf(entry.exec, entry.step) || logged.has(entry.exec as string)) fail(`context.log[${i}].exec is not a new execution of its step`);
    // Only visits that happened can have completed.
    const visits = (context.visits as Record<string, number>)[entry.step] ?? 0;
    if (visitOf(entry.exec as string) > visits) fail(`context.log[${i}].exec is a visit of its step that did not happen`);
    logged.add(entry.exec as string);
  });
  // A running execution has not completed: in the log too, its completion would be logged (and undone) twice.
  for (const [step, entry] of Object.entries(active)) if (logged.has(entry.exec as string)) fail(`context.active.${step} is an execution the log holds as completed`);
  if (!Array.isArray(context.compensated)) fail('context.compensated is not a list');
  const undone = new Set(logged);
  for (const exec of context.compensated as unknown[]) {
    if (typeof exec !== 'string' || !undone.delete(exec)) fail('context.compensated names an execution the log does not hold (or twice)');
  }
  if (!Array.isArray(context.inbox)) fail('context.inbox is not a list');
  for (const event of context.inbox as unknown[]) if (!isObject(event) || typeof event.name !== 'string') fail('context.inbox holds an event without a name');
  for (const key of ['cancelled', 'rollingBack'] as const) if (typeof context[key] !== 'boolean') fail(`context.${key} is not a boolean`);
  if (context.failure !== null) {
    if (!isObject(context.failure)) fail('context.failure is not an object');
    const step = context.failure.step;
    if (step !== null && (typeof step !== 'string' || !names.has(step))) fail('context.failure.step is not a step');
    checkError(context.failure.error, 'context.failure.error');
  }
  if (context.compError !== null) checkError(context.compError, 'context.compError');
  const parent = context.parent;
  if (parent !== undefined && (!isObject(parent) || typeof parent.id !== 'string' || typeof parent.step !== 'string' || typeof parent.exec !== 'string')) {
    fail('context.parent is not a parent reference');
  }
  const comp = context.comp;
  if (comp !== null) {
    if (!isObject(comp) || typeof comp.exec !== 'string' || !logged.has(comp.exec)) fail('context.comp is not an execution of the log');
    const policy = steps[(context.log as { exec: string; step: string }[]).find((e) => e.exec === comp.exec)!.step]!.compensateRetry!;
    if (!isCount(comp.attempt) || comp.attempt < 1 || comp.attempt > policy.maxAttempts) fail('context.comp.attempt is not an attempt its retry policy allows');
  }
  checkPosition(context, atoms, active, timers, undone);
}

/** What the current states need from the context, so that the saga can move on from them. */
function checkPosition(
  context: Record<string, unknown>,
  atoms: StateNodeLike[],
  active: Record<string, unknown>,
  timers: Record<string, unknown>,
  undone: Set<string>,
): void {
  const rollingBack = atoms.some((atom) => within(atom, IDS.rollback));
  const forward = atoms.every((atom) => stepOf(atom) !== undefined || atom.key === 'readiness');
  if (rollingBack && context.rollingBack !== true) fail('context.rollingBack is false in the rollback');
  if (forward && context.rollingBack !== false) fail('context.rollingBack is true before the rollback');
  if (forward && context.comp !== null) fail('context.comp is set before the rollback');
  const running = new Set(atoms.filter((atom) => atom.tags.includes(TAGS.step)).map((atom) => stepOf(atom)!));
  const draining = atoms.some((atom) => atom.tags.includes(TAGS.draining));
  for (const step of Object.keys(active)) {
    // Outside a step's state (or the rollback's draining), nothing would ever take its outcome: the saga would stall.
    if (!running.has(step) && !draining) fail(`context.active.${step} is not a step the saga is in`);
  }
  for (const step of running) if (!own(active, step)) fail(`context.active lacks ${step}, the step the saga is in`);
  // Due times exactly for what the current states wait on: a missing one never wakes them, a stray one wakes nothing.
  const awaited = new Set(atoms.flatMap(wakeTimers));
  for (const timer of Object.keys(timers)) if (!awaited.has(timer)) fail(`context.timers.${timer} is not a wait of the current state`);
  for (const atom of atoms) {
    for (const timer of wakeTimers(atom)) if (!own(timers, timer)) fail(`context.timers lacks ${timer}, which the saga waits for`);
    if (atom.tags.includes(TAGS.compensating) || (within(atom, IDS.rollback) && atom.key === 'waiting')) {
      if (context.comp === null || !undone.has((context.comp as { exec: string }).exec)) fail('context.comp is not a pending compensation while compensating');
    }
    if (atom.tags.includes(TAGS.failed) && context.compError === null) fail('context.compError is missing in the failed state');
  }
}
