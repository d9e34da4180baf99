import { stepId, withActions, withEntry, enterActions, ref, type StateConfig } from '../compilation/chart.js';
import type { Node } from '../declaration/types.js';
import type { StepKind } from './kind.js';

/**
 * The parallel group: branches (each a sequence of nodes) run concurrently as
 * the regions of a parallel state; the group is done when every branch is.
 * It has no execution of its own: its branches' nodes are the executions.
 */

/** What `.parallel()` records. */
export interface ParallelNode {
  kind: 'parallel';
  name: string;
  branches: { name: string; nodes: Node[] }[];
  position: string;
}

/** Records `.parallel(name, …)`; the builder adds each branch's nodes, declared in {@link branchScope}. */
export function declareParallel(name: string, scope: string): ParallelNode {
  return { kind: 'parallel', name, branches: [], position: `${scope}parallel "${name}"` };
}

/** The scope (position prefix) of the nodes declared in a branch. */
export function branchScope(node: ParallelNode, branch: string, scope: string): string {
  return `${scope}parallel "${node.name}" branch "${branch}": `;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,99}$/;

export const parallelKind: StepKind<ParallelNode> = {
  kind: 'parallel',

  nested: (node) => node.branches,

  validate(node, cx) {
    if (node.branches.length === 0) cx.fail(`${cx.where(node)} has no branches`);
    for (const branch of node.branches) {
      if (!NAME.test(branch.name)) cx.fail(`${cx.where(node)}: branch name "${branch.name}" must hold only letters, digits, _ and -`);
      cx.sequence(branch.nodes, `branch "${branch.name}" of ${node.position}`);
    }
    return null;
  },

  emit(node, next, cx) {
    const step = node.name;
    const branches: Record<string, StateConfig> = {};
    const entry: StateConfig[] = [{ type: 'countVisit', params: { step } }];
    for (const branch of node.branches) {
      const doneId = `b:${step}:${branch.name}:done`;
      const first = branch.nodes[0]!.name;
      entry.push(...enterActions(cx.target(first)));
      branches[branch.name] = {
        initial: first,
        states: { ...cx.sequence(branch.nodes, ref(doneId)), done: { id: doneId, type: 'final' } },
      };
    }
    return { id: stepId(step), type: 'parallel', ...withEntry(entry), states: branches, onDone: withActions({ target: next.ref }, enterActions(next)) };
  },

  // Drawn as a box of its branches: the overview draws any parallel state so, whatever its kind.
  drawing: { owns: (state) => state.type === 'parallel' },
};
