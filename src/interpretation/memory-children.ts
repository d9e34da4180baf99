import type { SagaDefinition } from './definition.js';
import type { Clock } from './clock.js';
import type { ExecutionOptions } from './execution-options.js';
import { MemoryChildHost, type LocalChild } from '../kinds/child-effect.js';

/**
 * The child host of an execution run in memory: each child runs here as an
 * execution of its own, with its parent's clock, randomness and limits (never
 * its id, snapshot, persister or observer).
 *
 * @internal
 * @example
 * ```ts
 * const children = memoryChildren(options, clock, (child, input, own) => new Execution(child, input, own));
 * ```
 */
export function memoryChildren(
  options: ExecutionOptions,
  clock: Clock,
  create: (definition: SagaDefinition<any, any>, input: unknown, options: ExecutionOptions) => LocalChild,
): MemoryChildHost {
  return new MemoryChildHost((child, childInput, own) => {
    const { sagaId: _id, snapshot: _s, persist: _p, committed: _c, observer: _o, ...inherited } = options;
    return create(child, childInput, { ...inherited, ...own });
  }, clock);
}
