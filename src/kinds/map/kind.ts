import { assign } from 'xstate';
import { enterActions, IDS, ref, type StateConfig } from '../../compilation/chart.js';
import type { Args } from '../../compilation/context.js';
import type { StepKind } from '../kind.js';
import { mapActions, mapGuards } from './actions.js';
import { checkMap, compileMap } from './compile.js';
import type { MapNode } from './declare.js';
import { itemCompletedLate } from './actions.js';
import { parseItemExec } from './names.js';

/**
 * The fan-out kind (`.map`): one state of its own in the chart whatever the
 * number of items. Its branch is a nested sequence of plain steps (checked,
 * named and indexed like a parallel branch's), whose executions run per item
 * in slots `map[index]` (names.ts); the runtime side (computing the items,
 * an item's context) is src/interpretation/map-items.ts, the check of stored
 * snapshots src/durable/validate-map.ts.
 */

type MapMeta = { concurrency: number; steps: string[]; compensable: string[] };
const metaOf = (state: StateConfig): MapMeta | undefined => (state.meta as { map?: MapMeta } | undefined)?.map;

export const mapKind: StepKind<MapNode> = {
  kind: 'map',

  nested: (node) => [{ name: 'branch', nodes: node.nodes as never }],

  validate(node, cx) {
    checkMap(node, cx.nested, (n) => `saga "${cx.saga}": ${n.position}`, (message) => cx.fail(message));
    cx.sequence(node.nodes as never, `the branch of ${node.position}`);
    // A container: its executions are its branch steps', per item.
    return null;
  },

  afterPivot: (_node, where, because) => [`${where} ${because}, but an item can fail for good; move the map before the pivot`],

  emit(node, next, cx) {
    const retries = Object.fromEntries(node.nodes.map((s) => [s.name, cx.steps[s.name]!.retry]));
    return compileMap(node, next.ref, enterActions(next), retries, ref(IDS.rollback));
  },

  actions: Object.fromEntries(Object.entries(mapActions).map(([name, update]) => [name, assign((args: Args, params: any) => (update as (a: unknown, p: unknown) => object)(args, params))])),

  guards: mapGuards as unknown as Record<string, (args: Args, params: any) => boolean>,

  // An item that finished while the saga rolls back: its result goes with the items, its log entry names its branch step.
  completeLate(context, event, slot, compensable) {
    const item = parseItemExec(event.exec);
    return item ? itemCompletedLate(context as never, event as never, slot, item, compensable.includes(item.step)) : undefined;
  },

  drawing: {
    owns: (state) => metaOf(state) !== undefined,
    describe(state) {
      const map = metaOf(state)!;
      return `for each item, ${map.concurrency} at a time: ${map.steps.join(' → ')}`;
    },
  },
};
