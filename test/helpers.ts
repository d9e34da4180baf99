import { expect } from 'vitest';
import { SagaFailedError } from '../src/index.js';

/** Awaits a saga that must not complete and returns its SagaFailedError (failing the test otherwise). */
export async function failure(promise: Promise<unknown>): Promise<SagaFailedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SagaFailedError);
  return error as SagaFailedError;
}
