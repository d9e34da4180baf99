import { MapItemFailedError, type ErrorRecord } from '../../errors.js';
import { chartRecord } from '../../errors/base.js';
import { AppendMap, lookup, type RecordLike } from '../../compilation/append-map.js';
import { retryDelayMs, type CompiledRetry } from '../../compilation/retry.js';
import { itemExec, itemResultKey, itemsKey, itemSlot, parseItemExec, type ItemExec } from './names.js';

/**
 * The map's actions and guards (pure, like every action of the chart). A map's
 * progress is a few counters in `context.maps[map]`: items start in index
 * order, so `next` is the first item not yet started and `done` counts the
 * completed ones; the items under way are `active[map[index]]` (at most
 * `concurrency` of them, with those waiting for a retry), each running one
 * step of its branch. An item step's result goes to `context.items` (an
 * AppendMap journaled one entry per result), never to a list rewritten per item.
 * So an item step costs O(concurrency), whatever the number of items.
 */

/** One map's progress, in the context of a saga that is in it. */
export interface MapProgress {
  /** The map's visit (1, or more after a goto back over it): part of each item execution's name. */
  visit: number;
  /** Items in the list; null until the runtime computed it. */
  total: number | null;
  /** Index of the next item to start. */
  next: number;
  /** Items whose branch completed. */
  done: number;
  /** Items started and not completed: running a step, or waiting for a step's retry. */
  running: number;
  /** Item executions waiting for a retry (their due time is `timers[slot]`), by slot; the attempt is the one that failed. */
  waiting: Record<string, { exec: string; attempt: number }>;
}

/** The part of the saga's context a map reads and writes. */
export interface MapContext {
  active: Record<string, { exec: string; attempt: number }>;
  timers: Record<string, number>;
  results: RecordLike<unknown>;
  visits: RecordLike<number>;
  log: { exec: string; step: string; result: unknown }[];
  failure: { step: string | null; error: ErrorRecord } | null;
  /** Each map visit's items list (`map#visit`) and each item step's result (`map[index]:step#visit`); absent until a map ran. */
  items?: RecordLike<unknown>;
  /** Progress of the map the saga is in; absent when it is in none. */
  maps?: Record<string, MapProgress>;
}

type Event = { type: string; now: number } & Record<string, any>;
type Args = { context: MapContext; event: Event };

/** `orsa.done.map[3]` and `orsa.fail.map[3]` share a prefix length. */
const slotOf = (event: Event) => event.type.slice('orsa.done.'.length);

/**
 * A copy of `active` or `timers`, whose keys include item slots (`map[index]`): a new key per item.
 * Spread into a plain object, each copy would add hidden classes for keys never seen again (V8's
 * transition tree grows with the number of items: 450 µs a copy at 10,000 items, measured); a
 * prototype-less object is a dictionary from the start, so a copy costs O(keys) whatever came before.
 */
function copyOf<T>(record: Readonly<Record<string, T>>, except?: string): Record<string, T> {
  const copy = Object.create(null) as Record<string, T>;
  for (const key in record) if (key !== except) copy[key] = record[key]!;
  return copy;
}

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  return key in record ? copyOf(record, key) : record;
}

const progressOf = (context: MapContext, map: string): MapProgress | undefined => context.maps?.[map];

function withProgress(context: MapContext, map: string, progress: MapProgress): Record<string, MapProgress> {
  return { ...context.maps, [map]: progress };
}

/** Starts items while fewer than `concurrency` run (mutates the copies it is given). */
function fill(progress: MapProgress, active: MapContext['active'], map: string, first: string, concurrency: number): void {
  while (progress.running < concurrency && progress.total !== null && progress.next < progress.total) {
    const index = progress.next++;
    progress.running++;
    active[itemSlot(map, index)] = { exec: itemExec(map, index, first, progress.visit), attempt: 1 };
  }
}

/** The item execution an outcome event is for, when it is the one running in its slot of `map`. */
function currentItem(context: MapContext, event: Event, map: string): ItemExec | null {
  const slot = slotOf(event);
  if (!slot.startsWith(`${map}[`) || context.active[slot]?.exec !== event.exec) return null;
  return parseItemExec(event.exec);
}

/** An item step that completed while the saga rolls back: its result is kept, and it is compensated like any other. */
export function itemCompletedLate(context: MapContext, event: Event, slot: string, item: ItemExec, compensable: boolean): Partial<MapContext> {
  return {
    items: AppendMap.from(context.items ?? {}).set(itemResultKey(item.map, item.index, item.step, item.visit), event.result),
    active: without(context.active, slot),
    ...(compensable ? { log: [...context.log, { exec: event.exec as string, step: item.step, result: event.result }] } : {}),
  };
}

export const mapActions = {
  enterMap: ({ context }: Args, { map }: { map: string }): Partial<MapContext> => {
    const visit = (lookup(context.visits, map) ?? 0) + 1;
    return {
      visits: AppendMap.from(context.visits).set(map, visit),
      maps: withProgress(context, map, { visit, total: null, next: 0, done: 0, running: 0, waiting: {} }),
    };
  },
  takeItems: ({ context, event }: Args, { map, first, concurrency }: { map: string; first: string; concurrency: number }): Partial<MapContext> => {
    const items = event.items as unknown[];
    const progress: MapProgress = { ...progressOf(context, map)!, total: items.length };
    const active = copyOf(context.active);
    fill(progress, active, map, first, concurrency);
    return { items: AppendMap.from(context.items ?? {}).set(itemsKey(map, progress.visit), items), active, maps: withProgress(context, map, progress) };
  },
  itemsFailed: ({ event }: Args, { map }: { map: string }): Partial<MapContext> => ({ failure: { step: map, error: event.error as ErrorRecord } }),
  itemDone: ({ context, event }: Args, p: { map: string; steps: string[]; compensable: string[]; concurrency: number }): Partial<MapContext> => {
    const item = parseItemExec(event.exec)!;
    const slot = slotOf(event);
    const active = copyOf(context.active);
    const update: Partial<MapContext> = {
      items: AppendMap.from(context.items ?? {}).set(itemResultKey(p.map, item.index, item.step, item.visit), event.result),
      active,
    };
    if (p.compensable.includes(item.step)) update.log = [...context.log, { exec: event.exec as string, step: item.step, result: event.result }];
    const following = p.steps[p.steps.indexOf(item.step) + 1];
    if (following !== undefined) {
      active[slot] = { exec: itemExec(p.map, item.index, following, item.visit), attempt: 1 };
    } else {
      delete active[slot];
      const progress = { ...progressOf(context, p.map)! };
      progress.done++;
      progress.running--;
      fill(progress, active, p.map, p.steps[0]!, p.concurrency);
      update.maps = withProgress(context, p.map, progress);
    }
    return update;
  },
  itemRetry: ({ context, event }: Args, { map, policies }: { map: string; policies: Record<string, CompiledRetry> }): Partial<MapContext> => {
    const slot = slotOf(event);
    const entry = context.active[slot]!;
    const policy = policies[parseItemExec(entry.exec)!.step]!;
    const progress = progressOf(context, map)!;
    const timers = copyOf(context.timers);
    timers[slot] = event.now + retryDelayMs(policy, entry.attempt, event.random ?? 0.5);
    const waiting = copyOf(progress.waiting);
    waiting[slot] = entry;
    return { active: without(context.active, slot), timers, maps: withProgress(context, map, { ...progress, waiting }) };
  },
  itemFailed: ({ context, event }: Args, { map }: { map: string }): Partial<MapContext> => {
    const slot = slotOf(event);
    const item = parseItemExec(event.exec)!;
    const cause = event.error as ErrorRecord;
    return {
      active: without(context.active, slot),
      failure: { step: map, error: { ...chartRecord(new MapItemFailedError(map, item.index, item.step, cause?.message ?? 'unknown error')), cause } },
    };
  },
  wakeItems: ({ context, event }: Args, { map }: { map: string }): Partial<MapContext> => {
    const progress = progressOf(context, map)!;
    const waiting = copyOf(progress.waiting);
    const active = copyOf(context.active);
    const timers = copyOf(context.timers);
    for (const slot of Object.keys(waiting)) {
      const due = timers[slot];
      if (due === undefined || event.now < due) continue;
      active[slot] = { exec: waiting[slot]!.exec, attempt: waiting[slot]!.attempt + 1 };
      delete waiting[slot];
      delete timers[slot];
    }
    return { active, timers, maps: withProgress(context, map, { ...progress, waiting }) };
  },
  completeMap: ({ context }: Args, { map, steps }: { map: string; steps: string[] }): Partial<MapContext> => {
    // The one write of the whole list: once per map, when its last item completed.
    const { total, visit } = progressOf(context, map)! as MapProgress & { total: number };
    const items = context.items ?? {};
    const list: Record<string, unknown>[] = new Array(total);
    for (let i = 0; i < total; i++) {
      const element: Record<string, unknown> = {};
      for (const step of steps) element[step] = lookup(items, itemResultKey(map, i, step, visit));
      list[i] = element;
    }
    const maps = { ...context.maps };
    delete maps[map];
    return { results: AppendMap.from(context.results).set(map, list), maps };
  },
};

export const mapGuards = {
  isMapVisit: ({ context, event }: Args, { map }: { map: string }) => {
    const progress = progressOf(context, map);
    return progress !== undefined && progress.total === null && event.visit === progress.visit;
  },
  isItemCurrent: ({ context, event }: Args, { map }: { map: string }) => currentItem(context, event, map) !== null,
  itemShouldRetry: ({ context, event }: Args, { map, policies }: { map: string; policies: Record<string, CompiledRetry> }) => {
    const item = currentItem(context, event, map);
    const policy = item === null ? undefined : policies[item.step];
    if (!policy) return false;
    return policy.forever === true || (event.retryable !== false && context.active[slotOf(event)]!.attempt < policy.maxAttempts);
  },
  itemDue: ({ context, event }: Args, { map }: { map: string }) => {
    const progress = progressOf(context, map);
    if (!progress) return false;
    for (const slot in progress.waiting) if (context.timers[slot] !== undefined && event.now >= context.timers[slot]!) return true;
    return false;
  },
  mapDone: ({ context }: Args, { map }: { map: string }) => {
    const progress = progressOf(context, map);
    return progress !== undefined && progress.total !== null && progress.done === progress.total;
  },
};
