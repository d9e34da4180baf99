import { NonRetryableError, toErrorRecord } from '../errors.js';
import { lookup, readOnlyView, toPlain } from '../compilation/append-map.js';
import type { SagaContext, SagaEvent } from '../compilation/context.js';
import type { SagaDefinition } from './definition.js';
import { findUnserializable } from './serialize.js';
import type { MapNode } from '../kinds/map/declare.js';
import { itemResultKey, itemsKey, MAP_TAGS, MAX_MAP_ITEMS, type ItemExec } from '../kinds/map/names.js';

/**
 * The map's runtime side (its kind is src/kinds/map): computing a map's items (user code, so an effect
 * like a step, never an action) and the context an item step receives.
 */

/** The map node of an item execution. */
export const mapNodeOf = (definition: SagaDefinition<any, any>, item: ItemExec): MapNode => definition.node(item.map) as MapNode;

/**
 * What an item step (or its compensation) receives beside a step's context:
 * its item, its index, and `results` holding the saga's results before the
 * map plus this item's earlier branch steps (O(steps), not O(items)).
 */
export function itemContext(definition: SagaDefinition<any, any>, context: SagaContext, item: ItemExec): { item: unknown; index: number; results: Readonly<Record<string, unknown>> } {
  const node = mapNodeOf(definition, item);
  const items = context.items ?? {};
  const list = lookup(items, itemsKey(item.map, item.visit)) as unknown[] | undefined;
  const own: Record<string, unknown> = {};
  for (const step of node.nodes) {
    if (step.name === item.step) break;
    own[step.name] = lookup(items, itemResultKey(item.map, item.index, step.name, item.visit));
  }
  const results = Object.freeze({ ...toPlain(context.results), ...own });
  return { item: list?.[item.index], index: item.index, results };
}

/** Keys of the items computations a snapshot asks for (one per map visit), as kept in the execution's settled set. */
export function wantedItemTasks(snapshot: { hasTag(tag: string): boolean; context: SagaContext }): string[] {
  if (!snapshot.hasTag(MAP_TAGS.items)) return [];
  const maps = snapshot.context.maps ?? {};
  return Object.keys(maps).filter((map) => maps[map]!.total === null).map((map) => `items:${map}#${maps[map]!.visit}`);
}

/**
 * Computes the items of the map the saga entered and feeds them back as
 * `orsa.items.<map>` (or `orsa.itemsFailed.<map>`: the saga rolls back).
 *
 * @internal
 * @example
 * ```ts
 * const items = new MapItemsTasks();
 * items.start(snapshot, { definition, sagaId, settled, enqueue, now: () => clock.now() });
 * ```
 */
export class MapItemsTasks {
  private readonly running = new Set<string>();

  start(
    snapshot: { hasTag(tag: string): boolean; context: SagaContext },
    deps: { definition: SagaDefinition<any, any>; sagaId: string; settled: Set<string>; enqueue: (event: SagaEvent) => void; now: () => number },
  ): void {
    for (const key of wantedItemTasks(snapshot)) {
      if (this.running.has(key) || deps.settled.has(key)) continue;
      this.running.add(key);
      const map = key.slice('items:'.length, key.lastIndexOf('#'));
      const visit = snapshot.context.maps![map]!.visit;
      const context = snapshot.context;
      const finish = (event: SagaEvent) => {
        this.running.delete(key);
        deps.settled.add(key);
        deps.enqueue(event);
      };
      new Promise<unknown>((resolve) => resolve((deps.definition.node(map) as MapNode).items({ input: context.input, results: readOnlyView(context.results), sagaId: deps.sagaId })))
        .then((items) => checkedItems(map, items))
        .then(
          (items) => finish({ type: `orsa.items.${map}`, visit, items, now: deps.now() }),
          (error) => finish({ type: `orsa.itemsFailed.${map}`, visit, error: toErrorRecord(error), now: deps.now() }),
        );
    }
  }
}

/** The items as the saga keeps them: a list JSON carries unchanged, of at most MAX_MAP_ITEMS. */
function checkedItems(map: string, items: unknown): unknown[] {
  if (!Array.isArray(items)) throw itemsError(map, `it returned ${items === null ? 'null' : typeof items}, not an array; return the list of items`);
  if (items.length > MAX_MAP_ITEMS) throw itemsError(map, `it returned ${items.length} items, more than ${MAX_MAP_ITEMS}; split the work into several maps or child sagas`);
  const found = findUnserializable(items);
  if (found) throw itemsError(map, `${found.path} is ${found.reason}`);
  return items;
}

/** The items function returned what the saga cannot keep: not retried, the saga rolls back with it. */
const itemsError = (map: string, reason: string) => new NonRetryableError(`the items function of map "${map}" is wrong: ${reason}`);
