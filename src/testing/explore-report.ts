import type { ViolationRule } from './explore-invariants.js';

/** A rule broken on some path, with the shortest path found that breaks it. */
export interface Violation {
  rule: ViolationRule;
  /** The step the rule is about. */
  step: string;
  message: string;
  /** What happened, in order, from the start: steps completing, faults, crashes, resumes. Replaying it reproduces the violation. */
  path: string[];
  /** Paths on which the same rule broke for the same step. */
  occurrences: number;
}

/** What `explore` found. */
export interface ExploreReport {
  saga: string;
  version: string;
  /** Distinct paths explored: each ends in a final status, or joins a state already explored. */
  paths: number;
  /** Distinct states of the chart and the world (context and effects) explored. */
  states: number;
  /** Faults injected over all paths: failures, crashes, cancels, timeouts. */
  faults: number;
  /** How the explored paths ended, by status. */
  endings: Record<string, number>;
  violations: Violation[];
  /** True when `maxStates` stopped the exploration before every state was seen. */
  truncated: boolean;
}

/**
 * Formats a report for a terminal: the counts, then each violation with the
 * numbered path that reproduces it.
 *
 * @example
 * ```ts
 * console.log(formatReport(await explore(order)));
 * ```
 */
export function formatReport(report: ExploreReport): string {
  const endings = Object.entries(report.endings)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
  const lines = [
    `saga "${report.saga}" (version ${report.version}): ${report.paths} paths, ${report.states} states, ${report.faults} faults injected; endings: ${endings || 'none'}${report.truncated ? ' (truncated at maxStates: raise it to see every state)' : ''}`,
  ];
  if (report.violations.length === 0) {
    lines.push('no violation');
    return lines.join('\n');
  }
  lines.push(`${report.violations.length} violation${report.violations.length === 1 ? '' : 's'}:`);
  report.violations.forEach((v, i) => {
    lines.push('', `${i + 1}. [${v.rule}] ${v.message}${v.occurrences > 1 ? ` (on ${v.occurrences} paths)` : ''}`, '   path:');
    v.path.forEach((step, j) => lines.push(`   ${String(j + 1).padStart(3)}. ${step}`));
  });
  return lines.join('\n');
}
