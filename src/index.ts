export { saga, SagaBuilder } from './core/builder.js';
export { SagaDefinition, InvalidInputError, InvalidEventError, NotReadyError, type SagaHandle } from './core/definition.js';
export { dependency } from './core/types.js';
export type {
  StepContext,
  CompensationContext,
  StepOptions,
  GotoOptions,
  Dependency,
  CatchHandler,
  ReadinessProbe,
} from './core/types.js';
export type { RetryPolicy } from './core/policy.js';
export type { SagaContext } from './core/machine.js';
export {
  OrsaError,
  SagaDefinitionError,
  SagaFailedError,
  NonRetryableError,
  StepTimeoutError,
  ResultNotSerializableError,
  toErrorRecord,
  type ErrorRecord,
  type CompensationReport,
} from './errors.js';
export { systemClock, createTestClock, type Clock, type TestClock } from './runtime/clock.js';
export type { ExecutionOptions } from './runtime/execution.js';
export type { SagaObservation, ExecutionStatus } from './runtime/observe.js';
