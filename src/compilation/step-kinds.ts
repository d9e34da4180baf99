import type { Declaration, Node, StepNode } from '../declaration/types.js';

/**
 * The classic saga model, checked at build time: compensable steps, then at
 * most one pivot (the point of no return), then retriable steps only. After
 * the pivot completed nothing may fail for good, since a rollback would undo
 * steps before a point the business said cannot be undone.
 */

/** The pivot step of a declaration, if it declares one (only top-level steps may be pivots). */
export function pivotOf(decl: Declaration): StepNode | undefined {
  return decl.nodes.find((n): n is StepNode => n.kind === 'step' && n.pivot);
}

/** Reports every way the declaration breaks the step-kind rules through `fail`. */
export function checkStepKinds(decl: Declaration, fail: (message: string) => void): void {
  const where = (node: Node) => `saga "${decl.name}": ${node.position}`;
  const pivots: StepNode[] = [];
  const walk = (nodes: Node[], nested: boolean) => {
    for (const node of nodes) {
      if (node.kind === 'parallel') node.branches.forEach((b) => walk(b.nodes, true));
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
  const after = decl.nodes.slice(decl.nodes.indexOf(pivot) + 1);
  const checkAfter = (nodes: Node[]) => {
    for (const node of nodes) {
      const because = `comes after the pivot "${pivot.name}", where the saga only goes forward`;
      if (node.kind === 'parallel') checkAfter(node.branches.flatMap((b) => b.nodes));
      else if (node.kind === 'wait' && node.timeoutMs !== undefined) {
        fail(`${where(node)} ${because}, but its timeoutMs would fail it for good; drop timeoutMs or wait before the pivot`);
      } else if (node.kind === 'step') {
        if (node.retry !== 'forever' && !(typeof node.retry === 'object' && node.retry.maxAttempts === Infinity)) {
          fail(`${where(node)} ${because}, but it can fail for good (${node.timeoutMs !== undefined ? 'a timeout without infinite retry' : 'finite retry'}); declare it retriable with { retry: 'forever' }`);
        }
        if (node.compensate) fail(`${where(node)} ${because}, so its compensation can never run; drop it`);
        if (node.goto) fail(`${where(node)} ${because}, but its goto fails the saga once it hits goto.maxVisits; move the loop before the pivot`);
      }
    }
  };
  checkAfter(after);
}
