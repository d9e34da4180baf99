import type { SagaEvent } from '../compilation/context.js';
import type { Interception } from '../observe/interceptors.js';
import { persistedOf, type ExecutionOptions, type SagaSnapshot, type Transition } from './execution-options.js';
import { dueAtOf, type ExecutionStatus, type SagaObservation } from './observe.js';

/**
 * The write path of one transition of a persisted execution: the transition
 * as the persister receives it, the write, and the continuation once it is
 * stored (or refused). The execution's loop waits for it: the effects of a
 * snapshot start only once that snapshot is stored.
 *
 * @internal
 * @example
 * ```ts
 * writeTransition(persist, { sagaId, event, status, previous, after, observations }, { hooks, stopped, written, failed });
 * ```
 */
export function writeTransition(
  persist: NonNullable<ExecutionOptions['persist']>,
  change: {
    sagaId: string;
    event: SagaEvent;
    status: ExecutionStatus;
    previous: ExecutionStatus | null;
    after: SagaSnapshot;
    observations: SagaObservation[];
    /** The transition parks a child saga (see compilation/parking.ts). */
    enteredParking: boolean;
  },
  then: {
    hooks: Interception | undefined;
    /** Whether the execution stopped meanwhile. */
    stopped: () => boolean;
    /** The transition is stored. */
    written: (transition: Transition) => void;
    /** The write failed: the execution stops with the error. */
    failed: (error: unknown) => void;
  },
): void {
  const { after } = change;
  const transition: Transition = {
    sagaId: change.sagaId,
    event: change.event,
    status: change.status,
    previous: change.previous,
    enteredParking: change.enteredParking,
    dueAt: dueAtOf(after.context),
    persisted: () => persistedOf(after),
    observations: change.observations,
  };
  then.hooks?.writing();
  // A microtask later (the loop unwinds first), and the persister's own promise awaited directly: a
  // `.then(() => persist(t))` would wrap it in another promise, two more microtask hops per write.
  queueMicrotask(() => {
    let written: Promise<void> | void;
    try {
      written = persist(transition);
    } catch (error) {
      then.failed(error);
      return;
    }
    Promise.resolve(written).then(() => then.written(transition), then.failed);
  });
}
