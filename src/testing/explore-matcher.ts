import type { ExploreReport } from './explore-report.js';
import { formatReport } from './explore-report.js';

/**
 * Vitest (or Jest) matchers for `explore` reports. Register them once with
 * `expect.extend(orsaMatchers)`; a failing match prints every violation with
 * the path that reproduces it.
 *
 * @example
 * ```ts
 * import { expect } from 'vitest';
 * import { explore, orsaMatchers } from 'orsa/testing';
 * expect.extend(orsaMatchers);
 * expect(await explore(order)).toHaveNoViolations();
 * ```
 */
export const orsaMatchers = {
  /** Passes when `explore` found no violation (and was not cut short by `maxStates`). */
  toHaveNoViolations(received: ExploreReport) {
    if (!received || typeof received !== 'object' || !Array.isArray((received as Partial<ExploreReport>).violations)) {
      return { pass: false, message: () => `expected the report returned by explore(saga), got ${String(received)}; await explore(...) first` };
    }
    const pass = received.violations.length === 0 && !received.truncated;
    return {
      pass,
      message: () =>
        pass
          ? `expected violations in saga "${received.saga}", found none over ${received.paths} paths`
          : `expected no violations, but explore reported:\n${formatReport(received)}`,
    };
  },
};

interface OrsaMatchers<R = unknown> {
  /** The `explore` report has no violation and covered every state. */
  toHaveNoViolations(): R;
}

declare module 'vitest' {
  interface Assertion<T = any> extends OrsaMatchers<T> {}
  interface AsymmetricMatchersContaining extends OrsaMatchers {}
}
