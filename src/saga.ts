import { SagaBuilder, type Finish } from './declaration/builder.js';
import type { Declaration } from './declaration/types.js';
import { SagaDefinition } from './interpretation/definition.js';

/**
 * Where the layers meet: the builder (src/declaration) knows neither the
 * compiler nor the interpreter; `saga()` gives it the step that turns a
 * finished declaration into a runnable definition (compiled with the
 * registered step kinds, run in memory by `def.run()`/`def.start()`). As in
 * Hono, the base knows no implementation and this module picks the default.
 */

const finish: Finish = (decl) => new SagaDefinition(decl);

/**
 * Starts declaring a saga.
 *
 * @example
 * ```ts
 * const exchange = saga('currency-exchange')
 *   .input<{ amount: number; from: string; to: string }>()
 *   .step('rates', () => fetchRates(), { retry: 3 })
 *   .step('toBase', ({ input, results }) => input.amount * results.rates[input.from]!)
 *   .build();
 * const results = await exchange.run({ amount: 45.12, from: 'USD', to: 'CNY' });
 * ```
 */
export function saga(name: string): SagaBuilder<unknown, {}, never, {}> {
  const decl: Declaration = { name, version: undefined, inputSchema: undefined, nodes: [], readiness: [], catch: undefined, errors: [] };
  return new SagaBuilder(decl, decl.nodes, '', finish);
}
