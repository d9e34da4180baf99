/**
 * `orsa/testing`: verify sagas before production (`explore`, its report and
 * a vitest matcher) and the store conformance suite (needs vitest).
 *
 * @example
 * ```ts
 * import { explore, formatReport, runStoreConformance } from 'orsa/testing';
 * console.log(formatReport(await explore(order)));
 * runStoreConformance('MyStore', async () => ({ store: new MyStore() }));
 * ```
 */
export { runStoreConformance, type StoreUnderTest } from './testing/store-conformance.js';
export { explore, type ExploreOptions } from './testing/explore.js';
export { ExploreConfigError } from './errors.js';
export { formatReport, type ExploreReport, type Violation } from './testing/explore-report.js';
export type { ViolationRule } from './testing/explore-invariants.js';
export type { StepFake, Recorder } from './testing/explore-world.js';
export { orsaMatchers } from './testing/explore-matcher.js';
