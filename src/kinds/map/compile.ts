import type { CompiledRetry } from '../../declaration/policy.js';
import type { MapNode } from './declare.js';
import { MAP_TAGS, MAX_MAP_ITEMS } from './names.js';

/**
 * The map's part of the compiler (pure): the checks of a `.map()` and its one
 * state in the chart. A map is one compound state whatever its number of
 * items: `items` while the runtime computes the list, `running` while the
 * items run (their progress is context, see actions.ts), then the next step.
 */

type StateConfig = { [key: string]: unknown };

/** Reports the mistakes of a map node through `fail` (its branch's steps are checked as a nested sequence besides). */
export function checkMap(node: MapNode, nested: boolean, where: (node: { position: string }) => string, fail: (message: string) => void): void {
  if (nested) fail(`${where(node)} is inside a parallel group; a map must be a top-level step of the saga (it runs its items concurrently already)`);
  if (typeof node.items !== 'function') fail(`${where(node)} needs an items function as its second argument (({ input, results }) => items)`);
  if (!(Number.isInteger(node.concurrency) && node.concurrency >= 1 && node.concurrency <= MAX_MAP_ITEMS)) {
    fail(`${where(node)}: concurrency must be a whole number >= 1 (got ${String(node.concurrency)})`);
  }
  for (const step of node.nodes) {
    if (step.kind !== 'step') fail(`${where(step)}: a map branch holds plain steps only`);
    if (step.goto) fail(`${where(step)}: goto is not allowed in a map branch (an item runs its steps once, in order); loop inside the step or before the map`);
    if (step.pivot) fail(`${where(step)}: a pivot is not allowed in a map branch; the point of no return must be a top-level step`);
    if (step.compensateOnFailure) fail(`${where(step)}: compensateOnFailure is not allowed in a map branch; compensate completed item steps only`);
  }
}

/**
 * The map's state. `next` is where the saga goes once every item completed
 * (`nextActions` start it); `retries` the compiled retry policy of each
 * branch step that retries; `rollback` the rollback's state reference.
 *
 * @example
 * ```ts
 * compileMap(node, '#s:after', [], { ship: { maxAttempts: 3, delayMs: 100, backoff: 2, maxDelayMs: 30_000, jitter: 0 } }, '#orsa:rollback');
 * ```
 */
export function compileMap(node: MapNode, next: string, nextActions: StateConfig[], retries: Record<string, CompiledRetry>, rollback: string): StateConfig {
  const map = node.name;
  const steps = node.nodes.map((s) => s.name);
  const compensable = node.nodes.filter((s) => typeof s.compensate === 'function').map((s) => s.name);
  const current = { type: 'isItemCurrent', params: { map } };
  const policies: Record<string, CompiledRetry> = {};
  for (const step of steps) if (retries[step] && retries[step]!.maxAttempts > 1) policies[step] = retries[step]!;
  const timeouts = Object.fromEntries(node.nodes.filter((s) => s.timeoutMs !== undefined).map((s) => [s.name, s.timeoutMs!]));
  const failed = { guard: current, target: rollback, actions: { type: 'itemFailed', params: { map } } };
  return {
    id: `s:${map}`,
    // What the diagram and the inspector show of it; the timeouts are enforced by the runtime.
    meta: { map: { concurrency: node.concurrency, steps, compensable, ...(Object.keys(timeouts).length > 0 ? { timeoutsMs: timeouts } : {}) }, ...(compensable.length > 0 ? { compensable: true } : {}) },
    initial: 'items',
    entry: { type: 'enterMap', params: { map } },
    states: {
      items: {
        tags: [MAP_TAGS.items],
        on: {
          [`orsa.items.${map}`]: { guard: { type: 'isMapVisit', params: { map } }, target: 'running', actions: { type: 'takeItems', params: { map, first: steps[0], concurrency: node.concurrency } } },
          [`orsa.itemsFailed.${map}`]: { guard: { type: 'isMapVisit', params: { map } }, target: rollback, actions: { type: 'itemsFailed', params: { map } } },
        },
      },
      running: {
        tags: [MAP_TAGS.running],
        always: { guard: { type: 'mapDone', params: { map } }, target: next, actions: [{ type: 'completeMap', params: { map, steps } }, ...nextActions] },
        on: {
          'orsa.done.*': { guard: current, actions: { type: 'itemDone', params: { map, steps, compensable, concurrency: node.concurrency } } },
          'orsa.fail.*': Object.keys(policies).length > 0 ? [{ guard: { type: 'itemShouldRetry', params: { map, policies } }, actions: { type: 'itemRetry', params: { map, policies } } }, failed] : failed,
          'orsa.wake': { guard: { type: 'itemDue', params: { map } }, actions: { type: 'wakeItems', params: { map } } },
        },
      },
    },
  };
}
