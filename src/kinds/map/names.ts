/**
 * How the items of a map are named in the saga's context. An item runs in a
 * slot `map[index]` (the key of its entry in `active`, and of its retry timer);
 * each step execution of an item is `map[index]:step#visit` (`visit` is the
 * map's visit: a goto back over the map runs its items again under new keys),
 * so its idempotency key is `${sagaId}:map[index]:step#visit`. Step names hold
 * no `[`, `:` or `#`, so these keys never collide with a step's own.
 */

/** The slot an item runs in. */
export const itemSlot = (map: string, index: number): string => `${map}[${index}]`;

/** An execution of `step` for one item. */
export const itemExec = (map: string, index: number, step: string, visit: number): string => `${map}[${index}]:${step}#${visit}`;

/**
 * Where an item step's result is kept in `context.items`: under its execution's name, so a goto back over
 * the map keeps each visit's results apart (a rollback undoes the first visit's items with their own).
 */
export const itemResultKey = (map: string, index: number, step: string, visit: number): string => itemExec(map, index, step, visit);

/** Where a visit of a map keeps its items list in `context.items`. */
export const itemsKey = (map: string, visit: number): string => `${map}#${visit}`;

/** The parts of an item execution, or null for any other string. */
export interface ItemExec {
  map: string;
  index: number;
  step: string;
  visit: number;
}

const EXEC = /^([A-Za-z_][A-Za-z0-9_-]*)\[(0|[1-9][0-9]{0,8})\]:([A-Za-z_][A-Za-z0-9_-]*)#([1-9][0-9]{0,9})$/;
const SLOT = /^([A-Za-z_][A-Za-z0-9_-]*)\[(0|[1-9][0-9]{0,8})\]$/;

/** Parses `map[index]:step#visit`; null when `exec` is not an item execution. */
export function parseItemExec(exec: unknown): ItemExec | null {
  if (typeof exec !== 'string') return null;
  const m = EXEC.exec(exec);
  if (!m) return null;
  return { map: m[1]!, index: Number(m[2]), step: m[3]!, visit: Number(m[4]) };
}

/** Parses a slot `map[index]`; null for any other string (a step's name). */
export function parseSlot(slot: string): { map: string; index: number } | null {
  const m = SLOT.exec(slot);
  return m ? { map: m[1]!, index: Number(m[2]) } : null;
}

/** Tags of a map's states: the runtime computes the items in the first, runs them in the second. */
export const MAP_TAGS = { items: 'orsa.map.items', running: 'orsa.map.running' } as const;

/** Items running at once in a map when `concurrency` is not given. */
export const DEFAULT_MAP_CONCURRENCY = 10;

/** Most items one map takes (its items list is kept in memory and written once). */
export const MAX_MAP_ITEMS = 1_000_000;
