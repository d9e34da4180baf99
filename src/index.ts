/**
 * `orsa`: declare sagas, run them in memory or durably. Store drivers are in
 * `orsa/sqlite` and `orsa/postgres`, the storage contract in `orsa/store`.
 *
 * @example
 * ```ts
 * import { saga } from 'orsa';
 * const hello = saga('hello').step('greet', () => 'hi').build();
 * await hello.run(undefined);
 * ```
 */
export { saga, SagaBuilder } from './core/builder.js';
export { toMermaid } from './core/diagram.js';
export { SagaDefinition, type SagaHandle } from './core/definition.js';
export { dependency } from './core/types.js';
export type {
  StepContext,
  CompensationContext,
  FailedEffectCompensationContext,
  StepOptions,
  StepOptionsBase,
  GotoOptions,
  Dependency,
  CatchHandler,
  ReadinessProbe,
} from './core/types.js';
export type { RetryPolicy } from './core/policy.js';
export {
  OrsaError,
  isOrsaError,
  SagaDefinitionError,
  SagaFailedError,
  NonRetryableError,
  StepTimeoutError,
  ResultNotSerializableError,
  UnknownEventError,
  SagaEndedError,
  SagaNotFailedError,
  InputNotSerializableError,
  InvalidSagaIdError,
  RuntimeConfigError,
  LeaseLostError,
  InvalidInputError,
  InvalidEventError,
  NotReadyError,
  UnknownStepError,
  GotoLimitError,
  WaitTimeoutError,
  ExecutionStoppedError,
  SagaRollingBackError,
  CorruptRecordError,
  VersionNotRegisteredError,
  SagaNotRegisteredError,
  SagaIdTakenError,
  SagaUnloadedError,
  StoreError,
  StaleRecordError,
  UnknownSagaError,
  StoreNotReadyError,
  StoreSchemaError,
  StoreConfigError,
  DriverMissingError,
  StoreUnavailableError,
  TracingUnavailableError,
  toErrorRecord,
  type OrsaErrorCode,
  type ErrorRecord,
  type CompensationReport,
} from './errors.js';
export { systemClock, createTestClock, type Clock, type TestClock } from './runtime/clock.js';
export type { ExecutionOptions } from './runtime/execution.js';
export type { SagaObservation, ExecutionStatus } from './runtime/observe.js';
export { createRuntime, Runtime } from './runtime/runtime.js';
export type { SagaInterceptor, SagaRun, SagaRunEnd, SagaRunEvent, StepCall } from './observe/interceptors.js';
export { loggingInterceptor, type Logger } from './observe/logger.js';
export type { RuntimeOptions, RuntimeHooks, SagaInfo } from './runtime/runtime-options.js';
export { isTransientError } from './runtime/transient.js';
export { MemoryStore } from './store/memory.js';
// What a runtime's queries and hooks hand back; the contract a store implements is in `orsa/store`.
export type { SagaStatus, HistoryEvent, ListFilter } from './store/types.js';
