/**
 * One error hierarchy: every error orsa throws or rejects with is an
 * {@link OrsaError} with a stable `name`, a `code` from {@link OrsaErrorCode},
 * the native `cause`, and a message that says what to do next. One class per
 * code, defined in `src/errors/` by layer and all re-exported here, so this
 * module is the one place to import an error from.
 *
 * @example
 * ```ts
 * import { isOrsaError, SagaFailedError } from './errors.js';
 * ```
 */
export { OrsaError, isOrsaError, toErrorRecord, type OrsaErrorCode, type ErrorRecord } from './errors/base.js';
export * from './errors/definition.js';
export * from './errors/execution.js';
export * from './errors/children.js';
export * from './errors/runtime.js';
export * from './errors/store.js';
export * from './errors/cli.js';
export * from './errors/testing.js';
