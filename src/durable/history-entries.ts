import type { Node } from '../declaration/types.js';
import { kinds } from '../kinds/registry.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import type { SagaContext } from '../compilation/machine.js';
import type { HistoryEvent } from '../stores/types.js';
import type { Transition } from '../interpretation/execution.js';
import { toHistory } from './records.js';
import { childIdOf } from '../kinds/child.js';

const CHILD_STARTED = 'orsa.childStarted.';

/**
 * The history entries one durable write appends: the interpreter's
 * observations, plus the facts only the runtime knows, so that `orsa show`
 * and the dashboard can draw a complete timeline:
 * - `saga.started` first, stamped with the start event's time (never after
 *   the steps it started) and the worker that started it;
 * - `saga.resumed` with the first write of a worker that loaded the saga
 *   from the store (a wake, or a takeover after a crash or a lost lease),
 *   with that worker's id;
 * - `sleep.started` when a `.sleep()` step is entered, with its due time.
 *
 * @example
 * ```ts
 * const history = historyFor(transition, definition, persisted.context, this.workerId, live);
 * ```
 */
export function historyFor(t: Transition, definition: SagaDefinition<any, any>, context: SagaContext, workerId: string, live: { wrote?: boolean }): HistoryEvent[] {
  // The resume itself is not written when it re-runs nothing (a wake from a sleep or a wait): record it with the execution's first write.
  // A flag on the live saga, not a WeakSet of executions: a weak entry per saga costs every garbage collection.
  const firstWrite = live.wrote !== true;
  live.wrote = true;
  const at = t.event.now;
  const history = t.observations.map(toHistory);
  for (const [step, ms] of sleepsOf(definition)) {
    // A sleep sets its timer to (time of entry + ms): equal to this event's time + ms only in the transition that entered it.
    const dueAt = context.timers[step];
    if (dueAt !== undefined && dueAt === at + ms && t.event.type !== 'orsa.resume') history.push({ at, type: 'sleep.started', step, attempt: null, data: { dueAt } });
  }
  // A child step's child saga is stored: the parent's timeline names it (the child's names its parent).
  if (t.event.type.startsWith(CHILD_STARTED) && typeof t.event.exec === 'string') {
    history.push({ at, type: 'child.started', step: t.event.type.slice(CHILD_STARTED.length), attempt: null, data: { childId: childIdOf(context.sagaId, t.event.exec) } });
  }
  if (t.enteredParking) history.push({ at, type: 'saga.parked', step: null, attempt: null, data: { parentId: context.parent?.id ?? null } });
  if (t.event.type === 'orsa.start') history.unshift({ at, type: 'saga.started', step: null, attempt: null, data: { worker: workerId, ...(context.parent ? { parentId: context.parent.id } : {}) } });
  else if (firstWrite) history.unshift({ at, type: 'saga.resumed', step: null, attempt: null, data: { worker: workerId } });
  return history;
}

const sleeps = new WeakMap<SagaDefinition<any, any>, [string, number][]>();

/** The `.sleep()` steps of a definition with their duration in ms, computed once per definition. */
function sleepsOf(definition: SagaDefinition<any, any>): [string, number][] {
  let found = sleeps.get(definition);
  if (!found) {
    found = [];
    const visit = (nodes: readonly Node[]) => {
      for (const node of nodes) {
        if (node.kind === 'sleep' && typeof node.ms === 'number') found!.push([node.name, node.ms]);
        for (const branch of kinds.nested(node)) visit(branch.nodes);
      }
    };
    visit(definition.declaration.nodes);
    sleeps.set(definition, found);
  }
  return found;
}
