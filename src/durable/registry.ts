import { RuntimeConfigError } from '../errors.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import { versionKey } from './records.js';
import type { Node } from '../declaration/types.js';

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
    // The sagas a registered one starts as children are registered too (after the given ones, so an explicit
    // registration of the same name stays the latest): a worker must be able to resume every child it may start.
    const given = new Set(sagas);
    const all = [...sagas];
    for (let i = 0; i < all.length; i++) {
      for (const child of childSagas(all[i]!.declaration.nodes)) if (!all.includes(child)) all.push(child);
    }
    for (const definition of all) {
      if (!given.has(definition) && this.byVersion.has(versionKey(definition.name, definition.version))) continue;
      const key = versionKey(definition.name, definition.version);
      if (this.byVersion.has(key) && this.byVersion.get(key) !== definition) {
        throw new RuntimeConfigError(`two different definitions of saga "${definition.name}" have version ${definition.version}; give one an explicit .version()`);
      }
      this.byVersion.set(key, definition);
      if (given.has(definition) || !this.latest.has(definition.name)) this.latest.set(definition.name, definition); // the last one registered starts new instances
      this.versionsByName.set(definition.name, [...(this.versionsByName.get(definition.name) ?? []), definition.version]);
    }
  }

  /** The definition that runs a stored saga of this name and version, if registered. */
  get(name: string, version: string): SagaDefinition<any, any> | undefined {
    return this.byVersion.get(versionKey(name, version));
  }
}

/** The child sagas a declaration starts (`.child()`), parallel branches included. */
function childSagas(nodes: readonly Node[]): SagaDefinition<any, any>[] {
  return nodes.flatMap((n) => (n.kind === 'child' ? [n.saga] : n.kind === 'parallel' ? n.branches.flatMap((b) => childSagas(b.nodes)) : []));
}
