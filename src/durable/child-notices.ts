import type { SagaContext } from '../compilation/machine.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import type { Transition } from '../interpretation/execution-options.js';
import { childIdOf, childNotice } from '../kinds/child.js';
import type { InboxNotice } from '../stores/types.js';

/**
 * The commands a transition's write stores in other sagas' inboxes, in the
 * same commit: a child tells its parent that it parked or ended
 * (`childEnded`); a parent that completed tells each child it logged, and did
 * not roll back, to complete (`release`). In the same commit, so a crash
 * between the write and the notice cannot lose it, whichever process runs the other saga.
 *
 * @internal
 * @example
 * ```ts
 * await store.update(id, fence, patch, history, { now, notify: noticesFor(t, context, definition) });
 * ```
 */
export function noticesFor(t: Transition, context: SagaContext, definition: SagaDefinition<any, any>): InboxNotice[] {
  const notices: InboxNotice[] = [];
  const ended = childNotice(context, definition.name, t);
  if (ended) notices.push({ sagaId: context.parent!.id, name: 'childEnded', payload: JSON.stringify(ended) });
  if (t.status === 'completed' && t.previous !== 'completed') {
    for (const entry of context.log) {
      if (definition.compiled.steps[entry.step]?.kind !== 'child' || context.compensated.includes(entry.exec)) continue;
      notices.push({ sagaId: childIdOf(context.sagaId, entry.exec), name: 'release', payload: 'null' });
    }
  }
  return notices;
}
