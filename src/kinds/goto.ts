import { NonRetryableError, GotoLimitError } from '../errors.js';
import { chartRecord } from '../errors/base.js';
import { IDS, ref, type StateConfig, type Target } from '../compilation/chart.js';
import { assign } from 'xstate';
import { isCurrentExec, visitsOf, type Args } from '../compilation/context.js';
import type { AnyFn, GotoOptions } from '../declaration/types.js';
import type { EmitContext, KindNode, ValidateContext } from './kind.js';

/**
 * Goto: a step option, not a node of its own: after the step completed,
 * `decide` may name this step or an earlier one of the same sequence to jump
 * back to. It lives here whole (what the builder records, its checks, the
 * transitions it adds to its step, the guards and action they name, and the
 * decision the interpreter takes) and the step kind uses it.
 */

/** What the builder records for a step's goto. */
export interface GotoSpec {
  targets: readonly string[];
  decide: AnyFn;
  /** Most entries of a target, the first visit included; then the saga fails with GOTO_LIMIT. */
  maxVisits: number;
}

/** A node that may carry a goto (a step). */
export interface WithGoto extends KindNode {
  goto: GotoSpec | undefined;
}

const DEFAULT_MAX_VISITS = 10;

/** Records the `goto` option of `.step()`. */
export function declareGoto(options: GotoOptions<any, any, any, string> | undefined): GotoSpec | undefined {
  return options ? { targets: [...options.targets], decide: options.decide as AnyFn, maxVisits: options.maxVisits ?? DEFAULT_MAX_VISITS } : undefined;
}

/** Checks a goto once every name is known: targets declared, this step or earlier, in the same sequence. */
export function validateGoto(node: WithGoto, cx: ValidateContext): void {
  const goto = node.goto;
  if (!goto) return;
  cx.later(() => {
    const where = cx.where(node);
    if (typeof goto.decide !== 'function') cx.fail(`${where}: goto needs a decide function`);
    if (!(Number.isInteger(goto.maxVisits) && goto.maxVisits >= 1)) {
      cx.fail(`${where}: goto.maxVisits must be a whole number >= 1 (got ${goto.maxVisits})`);
    }
    if (goto.targets.length === 0) cx.fail(`${where}: goto.targets is empty; list the steps decide may return`);
    const sequence = cx.scopeOf(node.name);
    for (const target of goto.targets) {
      if (!cx.scopeOf(target)) {
        cx.fail(`${where}: goto target "${target}" is not a step of this saga; declare it or fix the name`);
      } else if (cx.scopeOf(target) !== sequence || (cx.indexOf(target) ?? 0) > (cx.indexOf(node.name) ?? 0)) {
        cx.fail(
          `${where}: goto target "${target}" must be this step or an earlier step of the same sequence (goto jumps back; a jump forward would skip results later steps rely on)`,
        );
      }
    }
    cx.compiled(node.name)!.gotoTargets = [...new Set(goto.targets)];
  });
}

/**
 * The transitions a goto adds to its step's `orsa.done.*`, before the one
 * that goes on: per target, jump there while under `maxVisits`, else fail.
 */
export function gotoTransitions(
  node: WithGoto,
  targets: readonly string[],
  complete: (enter: string | null) => StateConfig,
  cx: EmitContext,
): StateConfig[] {
  const step = node.name;
  const out: StateConfig[] = [];
  for (const target of targets) {
    const maxVisits = node.goto!.maxVisits;
    const to: Target = cx.target(target);
    out.push(
      { guard: { type: 'gotoAllowed', params: { step, target, maxVisits } }, target: to.ref, reenter: true, actions: complete(to.enter) },
      {
        guard: { type: 'gotoRequested', params: { step, target } },
        target: ref(IDS.rollback),
        actions: [complete(null), { type: 'gotoLimitReached', params: { step, target, maxVisits } }],
      },
    );
  }
  return out;
}

/** The target `decide` picked for a result, or null; a name outside its targets fails the attempt for good. */
export function decideGoto(node: WithGoto, ctx: { input: unknown; results: unknown }, result: unknown): string | null {
  if (!node.goto) return null;
  const goto = node.goto.decide({ input: ctx.input, results: ctx.results, result }) ?? null;
  if (goto !== null && !node.goto.targets.includes(goto)) {
    throw new NonRetryableError(`step "${node.name}": goto decide returned "${String(goto)}", which is not among its targets (${node.goto.targets.join(', ')})`);
  }
  return goto;
}

export const gotoActions = {
  gotoLimitReached: assign((_: Args, { step, target, maxVisits }: { step: string; target: string; maxVisits: number }) => ({
    failure: { step, error: chartRecord(new GotoLimitError(step, target, maxVisits)) },
  })),
};

export const gotoGuards = {
  gotoAllowed: ({ context, event }: Args, p: { step: string; target: string; maxVisits: number }) =>
    isCurrentExec(context, event, p.step) && event.goto === p.target && visitsOf(context, p.target) < p.maxVisits,
  gotoRequested: ({ context, event }: Args, p: { step: string; target: string }) => isCurrentExec(context, event, p.step) && event.goto === p.target,
};

/** The overview's label of a goto arrow (`again, ≤ 3 visits`, `goto quote, ≤ 5 visits`). Short: Mermaid draws a self-loop's label beside the state. */
export function gotoLabel(guard: { type?: unknown; params?: Record<string, unknown> }, key: string): string | undefined {
  if (guard.type !== 'gotoAllowed') return undefined;
  const params = guard.params ?? {};
  return `${params.target === key ? 'again' : `goto ${String(params.target)}`}, ≤ ${String(params.maxVisits)} visits`;
}
