/** Errors of `orsa/testing`'s explorer. */
import { brand, OrsaError } from './base.js';

/**
 * `explore` was given options it cannot use (an input or event payload the
 * saga's schemas refuse, fakes that behave differently on a re-run); the
 * message says which and what to pass.
 *
 * @example
 * ```ts
 * await explore(order).catch((e) => e instanceof ExploreConfigError && console.error(e.message));
 * ```
 */
export class ExploreConfigError extends OrsaError {
  constructor(message: string) {
    super('EXPLORE_CONFIG', message);
  }
}
brand(ExploreConfigError, 'ExploreConfigError');

/**
 * The signal reason of the steps of a run `explore` closed once it had taken
 * that run's state; a step sees it only if it ignores its signal.
 *
 * @example
 * ```ts
 * .step('upload', async ({ signal }) => { signal.throwIfAborted(); }) // under explore, may throw ExploreStoppedError
 * ```
 */
export class ExploreStoppedError extends OrsaError {
  constructor() {
    super('EXPLORE_STOPPED', 'explore closed this run of the saga after taking its state; nothing to do (a step that honours its signal stops here)');
  }
}
brand(ExploreStoppedError, 'ExploreStoppedError');
