import { kinds } from '../kinds/registry.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import { lookup } from '../compilation/append-map.js';
import type { SagaContext } from '../compilation/machine.js';
import type { Node } from '../declaration/types.js';
import { reportOf, type ExecutionStatus } from '../interpretation/observe.js';
import type { Ledger } from './explore-world.js';

/**
 * The invariants `explore` checks on every path: what the world saw (the
 * ledger) against what the saga's contract promises (DESIGN.md §3).
 */

/** Stable codes of the rules a path can break. */
export type ViolationRule =
  | 'UNDONE_TWICE'
  | 'UNDONE_WITHOUT_EFFECT'
  | 'WRONG_UNDO_ORDER'
  | 'NOT_UNDONE'
  | 'UNDONE_ON_COMPLETION'
  | 'RESULTS_CHANGED'
  | 'ROLLED_BACK_PAST_PIVOT'
  | 'VISIT_LIMIT_EXCEEDED'
  | 'FAILED_WITHOUT_REPORT'
  | 'STUCK';

/** One broken rule, found on one path. */
export interface Finding {
  rule: ViolationRule;
  /** The step it is about (deduplicates the same mistake seen on many paths). */
  step: string;
  message: string;
}

/** What the invariants need to know about the saga, computed once from its declaration. */
export interface SagaShape {
  pivot: string | undefined;
  /** For each step, the parallel branches it sits in, as `group/branch`. */
  branches: Map<string, string[]>;
  gotoLimits: { step: string; target: string; maxVisits: number }[];
  /** Position of each step's top-level node in the saga (a branch's steps share their group's). */
  topIndex: Map<string, number>;
  /** Steps with a compensation. */
  compensable: Set<string>;
}

/** Reads the shape of a saga from its declaration. */
export function shapeOf(definition: SagaDefinition<any, any>): SagaShape {
  const shape: SagaShape = { pivot: undefined, branches: new Map(), gotoLimits: [], topIndex: new Map(), compensable: new Set() };
  const walk = (nodes: Node[], path: string[], top?: number) => {
    for (const [i, node] of nodes.entries()) {
      shape.topIndex.set(node.name, top ?? i);
      const nested = kinds.nested(node);
      if (nested.length > 0) {
        for (const b of nested) walk(b.nodes, [...path, `${node.name}/${b.name}`], top ?? i);
        continue;
      }
      shape.branches.set(node.name, path);
      if (node.kind !== 'step') continue;
      if (node.pivot) shape.pivot = node.name;
      if (node.compensate) shape.compensable.add(node.name);
      for (const target of node.goto?.targets ?? []) shape.gotoLimits.push({ step: node.name, target, maxVisits: node.goto!.maxVisits });
    }
  };
  walk(definition.declaration.nodes, []);
  return shape;
}

const stepOf = (exec: string) => exec.slice(0, exec.lastIndexOf('#'));

/** Whether two steps run in different branches of one parallel group (their compensations may interleave). */
function concurrent(shape: SagaShape, a: string, b: string): boolean {
  const pa = shape.branches.get(a) ?? [];
  const pb = shape.branches.get(b) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    return pa[i]!.split('/')[0] === pb[i]!.split('/')[0];
  }
  return false;
}

/** Checks an undo the moment it happens: once, of something that took effect, newest first. */
export function checkUndo(shape: SagaShape, ledger: Ledger, exec: string, upTo = ledger.undos.length): Finding[] {
  const step = stepOf(exec);
  const undos = ledger.undos.slice(0, upTo);
  const findings: Finding[] = [];
  const times = undos.filter((u) => u.exec === exec).length;
  if (times > 1) findings.push({ rule: 'UNDONE_TWICE', step, message: `${exec} was undone ${times} times; a compensation must undo its execution exactly once` });
  const index = ledger.effects.findIndex((e) => e.exec === exec);
  if (index === -1) {
    findings.push({ rule: 'UNDONE_WITHOUT_EFFECT', step, message: `${exec} was undone but never took effect (it did not complete); only completed executions may be compensated` });
    return findings;
  }
  if (times > 1) return findings;
  const later = ledger.effects
    .slice(index + 1)
    // An effect of a step without a compensation is reported once, as NOT_UNDONE, not as an order mistake of every undo before it.
    .filter((e) => e.mustUndo && shape.compensable.has(e.step) && !concurrent(shape, step, e.step) && !undos.some((u) => u.exec === e.exec));
  if (later.length > 0) {
    findings.push({
      rule: 'WRONG_UNDO_ORDER',
      step,
      message: `${exec} was undone before ${later.map((e) => e.exec).join(', ')}, which completed after it; compensations must run newest first`,
    });
  }
  return findings;
}

/** Checks any state: goto visit limits hold. */
export function checkState(shape: SagaShape, context: SagaContext): Finding[] {
  const findings: Finding[] = [];
  for (const { step, target, maxVisits } of shape.gotoLimits) {
    const visits = lookup(context.visits, target) ?? 0;
    if (visits > maxVisits) {
      findings.push({ rule: 'VISIT_LIMIT_EXCEEDED', step, message: `"${target}" was entered ${visits} times, above the goto.maxVisits of ${maxVisits} set on "${step}"` });
    }
  }
  return findings;
}

/** Checks the end of a path: its status, what was undone, and the results a completed saga holds. */
export function checkEnd(shape: SagaShape, ledger: Ledger, status: ExecutionStatus, context: SagaContext): Finding[] {
  const findings: Finding[] = [];
  const undone = (exec: string) => ledger.undos.some((u) => u.exec === exec);
  if (status === 'completed') {
    for (const u of ledger.undos) {
      findings.push({ rule: 'UNDONE_ON_COMPLETION', step: stepOf(u.exec), message: `the saga completed, yet ${u.exec} was undone` });
    }
    for (const [step, result] of Object.entries(ledger.results)) {
      if (JSON.stringify(lookup(context.results, step)) !== JSON.stringify(result)) {
        findings.push({
          rule: 'RESULTS_CHANGED',
          step,
          message: `the completed saga holds ${JSON.stringify(lookup(context.results, step))} as the result of "${step}", but its last execution returned ${JSON.stringify(result)}`,
        });
      }
    }
    return findings;
  }
  if (shape.pivot !== undefined && ledger.effects.some((e) => e.step === shape.pivot && !e.failed)) {
    findings.push({ rule: 'ROLLED_BACK_PAST_PIVOT', step: shape.pivot, message: `the pivot "${shape.pivot}" completed, yet the saga ended ${status} instead of completing` });
  }
  const left = ledger.effects.filter((e) => e.mustUndo && !undone(e.exec)).map((e) => e.exec);
  if (status === 'failed') {
    const report = reportOf(context);
    const reported = new Set(report.undone);
    const missing = left.filter((exec) => !reported.has(exec));
    if (!report.error || missing.length > 0) {
      findings.push({
        rule: 'FAILED_WITHOUT_REPORT',
        step: stepOf(missing[0] ?? context.comp?.exec ?? '?#0'),
        message: report.error
          ? `the saga ended failed but its report does not list ${missing.join(', ')} as still to undo`
          : 'the saga ended failed without the error of the compensation that failed',
      });
    }
    return findings;
  }
  for (const exec of left) {
    findings.push({ rule: 'NOT_UNDONE', step: stepOf(exec), message: `the saga ended ${status}, but ${exec} took effect and was never undone` });
  }
  return findings;
}
