import { RuntimeConfigError } from '../errors.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import { versionKey } from './records.js';

/**
 * The saga definitions a runtime can run: by name and version (to resume a
 * stored saga), the latest by name (to start a new one), and each name's
 * versions (what a claim may take).
 *
 * @internal
 * @example
 * ```ts
 * const registry = new SagaRegistry([orderV1, orderV2]);
 * registry.latest.get('order'); // orderV2: the last one registered starts new instances
 * ```
 */
export class SagaRegistry {
  readonly byVersion = new Map<string, SagaDefinition<any, any>>();
  readonly latest = new Map<string, SagaDefinition<any, any>>();
  readonly versionsByName = new Map<string, string[]>();

  constructor(sagas: readonly SagaDefinition<any, any>[]) {
    for (const definition of sagas) {
      const key = versionKey(definition.name, definition.version);
      if (this.byVersion.has(key) && this.byVersion.get(key) !== definition) {
        throw new RuntimeConfigError(`two different definitions of saga "${definition.name}" have version ${definition.version}; give one an explicit .version()`);
      }
      this.byVersion.set(key, definition);
      this.latest.set(definition.name, definition); // the last one registered starts new instances
      this.versionsByName.set(definition.name, [...(this.versionsByName.get(definition.name) ?? []), definition.version]);
    }
  }

  /** The definition that runs a stored saga of this name and version, if registered. */
  get(name: string, version: string): SagaDefinition<any, any> | undefined {
    return this.byVersion.get(versionKey(name, version));
  }
}
