import { createActor, type Actor, type AnyStateMachine } from 'xstate';
import type { SagaDefinition } from './definition.js';
import type { ExecutionOptions } from './execution-options.js';

/**
 * Creates and starts the XState actor of one execution: a fresh run from its
 * input, or a resume from a stored snapshot. The execution holds the actor
 * (`created`) before it starts; an actor's error is handed to `failed`, so it
 * ends that execution and never the process.
 *
 * @internal
 * @example
 * ```ts
 * startSagaActor(definition, { sagaId, input, now: clock.now(), snapshot }, { created: (a) => (actor = a), failed: (error) => stop(error) });
 * ```
 */
export function startSagaActor(
  definition: SagaDefinition<any, any>,
  run: { sagaId: string; input: unknown; now: number; headers?: Record<string, string>; parent?: ExecutionOptions['parent']; snapshot?: ExecutionOptions['snapshot']; inspect?: ExecutionOptions['inspect'] },
  hear: { created: (actor: Actor<AnyStateMachine>) => void; failed: (error: unknown) => void },
): void {
  const { sagaId, headers, parent, snapshot, inspect } = run;
  const actor = createActor(definition.machine, {
    id: sagaId,
    systemId: sagaId,
    // Headers are stored once, with the saga: a resume keeps the ones of its first run.
    input: {
      sagaId,
      input: run.input,
      now: run.now,
      ...(headers && Object.keys(headers).length > 0 ? { headers } : {}),
      ...(parent ? { parent } : {}),
    },
    ...(snapshot ? { snapshot } : {}),
    ...(inspect ? { inspect } : {}),
  });
  // Unheard, XState rethrows an actor's error later, outside any caller (a crashed process): hear it, and end here.
  hear.created(actor);
  actor.subscribe({ error: hear.failed });
  actor.start();
}
