/**
 * `orsa/testing`: the store conformance suite (needs vitest).
 *
 * @example
 * ```ts
 * import { runStoreConformance } from 'orsa/testing';
 * runStoreConformance('MyStore', async () => ({ store: new MyStore() }));
 * ```
 */
export { runStoreConformance, type StoreUnderTest } from './testing/store-conformance.js';
