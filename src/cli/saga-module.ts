import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SagaDefinition } from '../interpretation/definition.js';
import { SagaModuleError } from '../errors.js';

/**
 * Loads the saga definitions a JS module exports (named exports, the default
 * export, or arrays of them), for the charts of `orsa dashboard --sagas` and
 * `orsa inspect --sagas`. Only the operator names this module: stored state
 * never names code to load.
 *
 * @example
 * ```ts
 * const definitions = await loadSagaModule('./dist/sagas.js');
 * ```
 */
export async function loadSagaModule(path: string): Promise<SagaDefinition<any, any>[]> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new SagaModuleError(path, `cannot load the saga module ${path} (${(error as Error).message}); pass a JavaScript module (built .js or .mjs) that exports your saga definitions`, { cause: error });
  }
  const found = new Set<SagaDefinition<any, any>>();
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    // Duck-typed as well: the module may hold another copy of orsa (ESM and CJS builds).
    else if (value instanceof SagaDefinition || (value && typeof value === 'object' && 'config' in value && 'version' in value && 'name' in value && 'machine' in value)) {
      found.add(value as SagaDefinition<any, any>);
    }
  };
  for (const value of Object.values(module)) visit(value);
  if (found.size === 0) throw new SagaModuleError(path, `the module ${path} exports no saga definitions; export the values .build() returned`);
  return [...found];
}
