import type { SagaDefinition } from '../interpretation/definition.js';
import type { MapNode } from '../kinds/map/declare.js';
import { MAP_TAGS, parseItemExec, parseSlot } from '../kinds/map/names.js';

/**
 * The map's part of the stored-snapshot check (durable/validate-snapshot.ts):
 * `maps`, `items`, and the item slots of `active` and `timers`. It returns the
 * keys it vouched for, which the generic checks then leave out. A record that
 * breaks these rules would stall the map (a count that never reaches its total)
 * or run an item twice: it is refused as corrupt, never resumed.
 */

type Atom = { id: string; tags: string[]; parent?: Atom };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 2 ** 31 - 1;

/** The map whose state an atom is in, with which of its states. */
function mapAtom(atom: Atom): { map: string; items: boolean } | null {
  if (!atom.tags.includes(MAP_TAGS.items) && !atom.tags.includes(MAP_TAGS.running)) return null;
  const id = atom.parent?.id ?? '';
  return id.startsWith('s:') ? { map: id.slice(2), items: atom.tags.includes(MAP_TAGS.items) } : null;
}

/**
 * Checks the map fields of `context`; throws through `fail` naming the field.
 * Returns the item slots of `active` and `timers` it checked.
 *
 * @example
 * ```ts
 * const vouched = checkMapContext(definition, context, atoms, draining, fail);
 * ```
 */
export function checkMapContext(
  definition: SagaDefinition<any, any>,
  context: Record<string, unknown>,
  atoms: readonly Atom[],
  draining: boolean,
  fail: (reason: string) => never,
): Set<string> {
  const vouched = new Set<string>();
  const maps = context.maps;
  if (maps !== undefined && !isObject(maps)) fail('context.maps is not an object');
  if (context.items !== undefined && !isObject(context.items)) fail('context.items is not an object');
  const nodeOf = (map: string): MapNode | null => {
    try {
      const node = definition.node(map);
      return node.kind === 'map' ? node : null;
    } catch {
      return null;
    }
  };
  const inMap = new Map<string, boolean>();
  for (const atom of atoms) {
    const found = mapAtom(atom);
    if (found) inMap.set(found.map, found.items);
  }
  const progress = (maps ?? {}) as Record<string, Record<string, unknown>>;
  for (const map of Object.keys(progress)) {
    const node = nodeOf(map);
    const p = progress[map];
    if (!node || !isObject(p)) fail(`context.maps.${map} is not the progress of a map of this saga`);
    if (!isCount(p.visit) || p.visit < 1 || p.visit !== (context.visits as Record<string, unknown>)[map]) fail(`context.maps.${map}.visit is not the map's current visit`);
    if (p.total !== null && !isCount(p.total)) fail(`context.maps.${map}.total is not a count`);
    for (const key of ['next', 'done', 'running'] as const) if (!isCount(p[key])) fail(`context.maps.${map}.${key} is not a count`);
    const total = p.total as number | null;
    const [next, done, running] = [p.next as number, p.done as number, p.running as number];
    if (total === null ? next !== 0 || running !== 0 || done !== 0 : next > total || done + running !== next || running > node.concurrency) {
      fail(`context.maps.${map} counts items that were never started, or more than its concurrency`);
    }
    if (!isObject(p.waiting)) fail(`context.maps.${map}.waiting is not an object`);
    if (inMap.get(map) === true && total !== null) fail(`context.maps.${map} has its items while the saga computes them`);
    if (inMap.get(map) === false && total === null) fail(`context.maps.${map} lacks its items while they run`);
  }
  for (const map of inMap.keys()) if (!progress[map]) fail(`context.maps lacks ${map}, the map the saga is in`);

  /** An item execution entry of `slot`, for the map's current visit and a step of its branch. */
  const checkEntry = (slot: string, entry: unknown, where: string) => {
    const at = parseSlot(slot)!;
    const p = progress[at.map];
    const node = nodeOf(at.map);
    if (!p || !node || !isObject(entry)) fail(`${where} is not an item of a map the saga is in`);
    const exec = parseItemExec(entry.exec);
    if (!exec || exec.map !== at.map || exec.index !== at.index || exec.visit !== p.visit) fail(`${where}.exec is not an execution of that item`);
    const step = node.nodes.find((s) => s.name === exec.step);
    if (!step) fail(`${where}.exec names a step the map's branch does not have`);
    if (exec.index >= (p.next as number)) fail(`${where} is an item that was never started`);
    const maxAttempts = definition.compiled.steps[exec.step]?.retry.maxAttempts ?? 1;
    if (!isCount(entry.attempt) || entry.attempt < 1 || entry.attempt > maxAttempts) fail(`${where}.attempt is not an attempt the step's retry policy allows`);
  };
  const active = context.active;
  if (isObject(active)) {
    for (const slot of Object.keys(active)) {
      const at = parseSlot(slot);
      if (!at) continue;
      // Outside the map's running state (or the rollback's draining) nothing would take the item's outcome.
      if (inMap.get(at.map) !== false && !draining) fail(`context.active.${slot} is an item of a map the saga is not running`);
      checkEntry(slot, active[slot], `context.active.${slot}`);
      vouched.add(slot);
    }
  }
  const timers = context.timers;
  for (const map of Object.keys(progress)) {
    const p = progress[map]!;
    let started = 0;
    for (const slot of Object.keys(p.waiting as object)) {
      const at = parseSlot(slot);
      if (!at || at.map !== map) fail(`context.maps.${map}.waiting names a slot of another map`);
      if (isObject(active) && Object.hasOwn(active, slot)) fail(`context.maps.${map}.waiting.${slot} is running too`);
      checkEntry(slot, (p.waiting as Record<string, unknown>)[slot], `context.maps.${map}.waiting.${slot}`);
      // Its due time wakes it; in the rollback the timers were cleared on purpose (it is dropped).
      if (!context.rollingBack && (!isObject(timers) || typeof timers[slot] !== 'number')) fail(`context.timers lacks ${slot}, which the map waits for`);
      started++;
    }
    if (!context.rollingBack && isObject(active)) {
      for (const slot of Object.keys(active)) if (parseSlot(slot)?.map === map) started++;
      if (started !== p.running) fail(`context.maps.${map}.running is not the number of its items under way`);
    }
  }
  if (isObject(timers)) {
    for (const slot of Object.keys(timers)) {
      const at = parseSlot(slot);
      if (!at) continue;
      if (!isObject(progress[at.map]?.waiting) || !Object.hasOwn(progress[at.map]!.waiting as object, slot)) fail(`context.timers.${slot} is not a retry the map waits for`);
      vouched.add(slot);
    }
  }
  return vouched;
}
