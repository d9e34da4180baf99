import { brand, OrsaError, type ErrorRecord } from './base.js';

/**
 * A child step's error when its child saga ended without completing
 * (compensated, cancelled or failed): the parent step fails for good and the
 * parent rolls back. `childError` is the child's own failure, as a record.
 *
 * @example
 * ```ts
 * if (failure.error?.code === 'CHILD_FAILED') console.log('see the child saga', failure.error.message);
 * ```
 */
export class ChildSagaFailedError extends OrsaError {
  constructor(
    readonly step: string,
    readonly childId: string,
    readonly childSaga: string,
    readonly childStatus: string,
    readonly childError?: ErrorRecord | null,
  ) {
    const why = childError ? `: ${childError.message}` : '';
    super(
      'CHILD_FAILED',
      `child saga "${childSaga}" (${childId}) of step "${step}" ended ${childStatus}${why}; see its history with \`orsa show ${childId}\``,
      childError ? { cause: childError } : undefined,
    );
  }
}
brand(ChildSagaFailedError, 'ChildSagaFailedError');

/**
 * Why a completed child saga rolls back: its parent rolled back past the
 * child step. The child's completed steps are compensated and it ends
 * `compensated`; this is its `failure.error`.
 *
 * @example
 * ```ts
 * const info = await runtime.get(childId); // info.status === 'compensated', failure code PARENT_ROLLED_BACK
 * ```
 */
export class ParentRolledBackError extends OrsaError {
  constructor(readonly parentId: string) {
    super('PARENT_ROLLED_BACK', `the parent saga ${parentId} rolled back past this child, so its completed steps were compensated; see the parent's history`);
  }
}
brand(ParentRolledBackError, 'ParentRolledBackError');
