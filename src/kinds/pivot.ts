import type { Declaration, Node } from '../declaration/types.js';
import type { KindRegistry } from './kind.js';
import type { StepNode } from './step.js';

/**
 * The classic saga model, checked at build time: compensable steps, then at
 * most one pivot (the point of no return), then retriable steps only. After
 * the pivot completed nothing may fail for good, since a rollback would undo
 * steps before a point the business said cannot be undone. A kind says what
 * it may not do there with `afterPivot`.
 */

/** The pivot step of a declaration, if it declares one (only top-level steps may be pivots). */
export function pivotOf(decl: Declaration): StepNode | undefined {
  return decl.nodes.find((n): n is StepNode => n.kind === 'step' && n.pivot);
}

/** Reports every way the declaration breaks the pivot rules through `fail`. */
export function checkPivot(decl: Declaration, fail: (message: string) => void, kinds: KindRegistry): void {
  const where = (node: Node) => `saga "${decl.name}": ${node.position}`;
  const pivots: StepNode[] = [];
  const walk = (nodes: Node[], nested: boolean) => {
    for (const node of nodes) {
      kinds.nested(node).forEach((b) => walk(b.nodes, true));
      if (node.kind !== 'step') continue;
      if (node.compensateOnFailure && typeof node.compensate !== 'function') {
        fail(`${where(node)} declares compensateOnFailure but has no compensation; add compensate (it receives the error) or drop the flag`);
      }
      if (!node.pivot) continue;
      pivots.push(node);
      if (nested) fail(`${where(node)} is a pivot inside a parallel group; the point of no return must be a top-level step (its siblings could still fail and roll it back)`);
    }
  };
  walk(decl.nodes, false);
  if (pivots.length > 1) {
    fail(`saga "${decl.name}" declares ${pivots.length} pivots (${pivots.map((p) => `"${p.name}"`).join(', ')}); a saga has one point of no return: keep the first, make the later ones retriable`);
  }
  const pivot = pivots[0];
  if (!pivot || !decl.nodes.includes(pivot)) return;
  if (pivot.compensate && !pivot.compensateOnFailure) {
    fail(`${where(pivot)} is the pivot and has a compensation that can never run (a completed pivot is never rolled back); drop it`);
  }
  if (pivot.goto) {
    fail(`${where(pivot)} is the pivot and has a goto, which fails the saga once it hits goto.maxVisits and would roll back past the pivot; move the loop before the pivot`);
  }
  const because = `comes after the pivot "${pivot.name}", where the saga only goes forward`;
  const checkAfter = (nodes: Node[]) => {
    for (const node of nodes) {
      // A container's own mistakes first, then its children's (a parallel group has none of its own).
      for (const mistake of kinds.of(node).afterPivot?.(node as never, where(node), because) ?? []) fail(mistake);
      kinds.nested(node).forEach((b) => checkAfter(b.nodes));
    }
  };
  checkAfter(decl.nodes.slice(decl.nodes.indexOf(pivot) + 1));
}
