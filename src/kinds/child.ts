import { assign } from 'xstate';
import { ChildSagaFailedError, type ErrorRecord } from '../errors.js';
import { chartRecord } from '../errors/base.js';
import { toPlain } from '../compilation/append-map.js';
import { IDS, TAGS, ref, stepId } from '../compilation/chart.js';
import { compileRetry } from '../compilation/retry.js';
import type { Args, SagaContext, SagaEvent } from '../compilation/context.js';
import type { AnyFn, Declaration } from '../declaration/types.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import type { StepKind } from './kind.js';
import { tagsOf } from './drawing.js';

export type { ParentRef } from '../compilation/context.js';
/**
 * The child step kind (`.child(name, saga, input)`), the parts that are pure:
 * its build-time checks, its state in the chart, the actions and guards behind
 * it, the parking states every machine gets so that a completed child can
 * still be rolled back by its parent, and the protocol between a parent and
 * its children (the notice a child's write leaves in its parent's inbox and
 * the chart event it becomes). The effect is in `child-effect.ts`.
 *
 * The protocol, by inbox command:
 * - child → parent `childEnded` (stored by the child's write that parks it or ends it, same commit):
 *   parked → `orsa.done.<step>` with the child's results; ended without being asked → `orsa.fail.<step>`
 *   (CHILD_FAILED); ended after its parent asked it to roll back → `orsa.compensated` / `orsa.compensationFailed`.
 * - parent → child `compensate` (a parked child rolls back), `release` (the parent completed: the
 *   child ends `completed`, stored by the parent's final write), `cancel` (the parent is cancelled or
 *   rolls back while the child runs).
 */

/** Tag of a child step's state: the runtime starts (or awaits) a child saga there. */
export const CHILD_TAG = 'orsa.child';
export { PARKED_TAG } from '../compilation/parking.js';

/** The id of the child saga started by one execution of a child step: the same on every resume of the parent. */
export function childIdOf(parentId: string, exec: string): string {
  return `${parentId}:${exec}`;
}

/** What `.child()` records. */
export interface ChildNode {
  kind: 'child';
  name: string;
  /** The child saga's definition. */
  saga: SagaDefinition<any, any>;
  /** Makes the child's input from the parent's input and earlier results. */
  input: AnyFn;
  position: string;
}

/** Records `.child(name, saga, input)`. */
export function declareChild(name: string, saga: SagaDefinition<any, any>, input: AnyFn, scope: string): ChildNode {
  return { kind: 'child', name, saga, input, position: `${scope}child "${name}"` };
}

/**
 * The child step. Its state: the runtime starts the child on entry; once the
 * child is durably started, `orsa.childStarted.<step>` marks the execution
 * `awaiting` (the parent then counts as waiting and is unloaded). The child's
 * end arrives as `orsa.done.<step>` / `orsa.fail.<step>`, guarded by the
 * execution like any step outcome. The child's name and version stand in
 * `meta`, so they show in the chart and count in the parent's version. Its
 * effect is not the shared step runner's (`child-effect.ts`).
 */
export const childKind: StepKind<ChildNode> = {
  kind: 'child',

  validate(node, cx) {
    const child = node.saga as { name?: unknown; version?: unknown; declaration?: Declaration } | undefined;
    const where = cx.where(node);
    if (!child || typeof child.name !== 'string' || typeof child.version !== 'string' || !child.declaration) {
      cx.fail(`${where} needs a built saga (saga(...)…build()) as its child`);
    } else {
      if (child.name === cx.saga) cx.fail(`${where} starts a saga of its own name "${cx.saga}"; a saga cannot be its own child`);
      const pivot = (nodes: Declaration['nodes']): boolean =>
        nodes.some((n) => (n.kind === 'step' && n.pivot) || (n.kind === 'parallel' && n.branches.some((b) => pivot(b.nodes))));
      if (pivot(child.declaration.nodes)) {
        cx.fail(`${where}: the child saga "${child.name}" declares a pivot, but a parent may roll a completed child back; run it on its own, or drop its pivot`);
      }
    }
    if (typeof node.input !== 'function') cx.fail(`${where} needs a function that makes the child's input ({ input, results }) => childInput`);
    // No retry: a child retries its own steps. Its compensation (asking the child to roll back) runs once.
    return { ...cx.facts(node), compensateRetry: compileRetry(0, '') };
  },

  afterPivot: (_node, where, because) => [`${where} ${because}, but a child saga can fail for good (and would have to be rolled back); start it before the pivot`],

  emit(node, next) {
    const step = node.name;
    const current = { type: 'isCurrent', params: { step } };
    return {
      id: stepId(step),
      tags: [TAGS.step, TAGS.waiting, CHILD_TAG],
      meta: { child: node.saga.name, childVersion: node.saga.version },
      on: {
        [`orsa.childStarted.${step}`]: { guard: current, actions: { type: 'awaitChild', params: { step } } },
        // Always compensable: rolling back past a completed child asks the child to roll back.
        [`orsa.done.${step}`]: {
          guard: current,
          target: next.ref,
          actions: { type: 'complete', params: next.enter === null ? { step, compensable: true } : { step, compensable: true, enter: next.enter } },
        },
        [`orsa.fail.${step}`]: { guard: current, target: ref(IDS.rollback), actions: { type: 'fail', params: { step } } },
      },
    };
  },

  actions: {
    /** The child is durably started: its execution now waits for the child's end (the parent counts as waiting). */
    awaitChild: assign(({ context }: Args, { step }: { step: string }) => {
      const entry = context.active[step];
      return entry ? { active: { ...context.active, [step]: { ...entry, awaiting: true as const } } } : {};
    }),
  },

  drawing: {
    owns: (state) => tagsOf(state).includes(CHILD_TAG),
    describe: (state) => `runs the saga ${String((state.meta as { child?: unknown } | undefined)?.child)} as a child`,
  },
};

/** What a child's write tells its parent (the payload of `childEnded`). */
export interface ChildEnded {
  step: string;
  exec: string;
  childId: string;
  childSaga: string;
  status: 'parked' | 'compensated' | 'cancelled' | 'failed';
  /** It rolled back because its parent asked it to. */
  undone: boolean;
  /** Its results, when parked. */
  result?: unknown;
  error?: ErrorRecord | null;
}

/**
 * The notice a child's transition owes its parent: when it parks, and when it
 * ends otherwise (each status once); null for anything else, and for a saga
 * that has no parent.
 */
export function childNotice(
  context: SagaContext,
  sagaName: string,
  t: { status: string; previous: string | null; enteredParking?: boolean },
): ChildEnded | null {
  const parent = context.parent;
  if (!parent) return null;
  const base = { step: parent.step, exec: parent.exec, childId: context.sagaId, childSaga: sagaName, undone: context.undoneByParent === true };
  if (t.enteredParking) return { ...base, status: 'parked', result: toPlain(context.results) };
  if ((t.status === 'compensated' || t.status === 'cancelled' || t.status === 'failed') && t.previous !== t.status) {
    return { ...base, status: t.status, error: context.failure?.error ?? null };
  }
  return null;
}

const STATUSES = new Set(['parked', 'compensated', 'cancelled', 'failed']);

/** The chart event a `childEnded` notice is for the parent; null for a payload no child wrote (consumed without effect). */
export function childOutcomeEvent(notice: unknown, now: number): SagaEvent | null {
  const n = notice as Partial<ChildEnded> | null;
  if (!n || typeof n !== 'object' || typeof n.step !== 'string' || typeof n.exec !== 'string' || typeof n.childId !== 'string') return null;
  if (typeof n.status !== 'string' || !STATUSES.has(n.status) || !/^[A-Za-z_][A-Za-z0-9_-]{0,99}$/.test(n.step)) return null;
  const exec = n.exec;
  if (n.status === 'parked') return { type: `orsa.done.${n.step}`, exec, result: n.result ?? null, now };
  const error = chartRecord(new ChildSagaFailedError(n.step, n.childId, String(n.childSaga), n.status, n.error ?? null));
  const withCause = n.error ? { ...error, cause: n.error } : error;
  if (n.undone) {
    // Asked to roll back: its end is the outcome of the parent's compensation of the child step.
    return n.status === 'failed' ? { type: 'orsa.compensationFailed', exec, error: withCause, retryable: false, now } : { type: 'orsa.compensated', exec, now };
  }
  return { type: `orsa.fail.${n.step}`, exec, error: withCause, retryable: false, now };
}
