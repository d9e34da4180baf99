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
export { SagaBuilder } from './declaration/builder.js';
export { saga } from './saga.js';
export { toMermaid } from './diagram/diagram.js';
export { SagaDefinition, type SagaHandle } from './interpretation/definition.js';
export { dependency } from './declaration/types.js';
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
} from './declaration/types.js';
export { MapBranch, type ItemContext, type ItemCompensationContext, type ItemStepOptions, type MapOptions } from './kinds/map/declare.js';
export type { RetryPolicy } from './declaration/policy.js';
export type { SagaLimits, LimitValues, RateLimit } from './declaration/limits.js';
export {
  OrsaError,
  isOrsaError,
  SagaDefinitionError,
  SagaFailedError,
  NonRetryableError,
  StepTimeoutError,
  ResultNotSerializableError,
  UnknownEventError,
  EventBacklogFullError,
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
  MapItemFailedError,
  ChildSagaFailedError,
  ParentRolledBackError,
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
  InvalidQueueOptionError,
  InvalidScheduleError,
  toErrorRecord,
  type OrsaErrorCode,
  type ErrorRecord,
  type CompensationReport,
} from './errors.js';
export { systemClock, createTestClock, type Clock, type TestClock } from './interpretation/clock.js';
export type { ExecutionOptions } from './interpretation/execution.js';
export type { SagaObservation, ExecutionStatus } from './interpretation/observe.js';
export { createRuntime, Runtime } from './durable/runtime.js';
export type { SagaInterceptor, SagaRun, SagaRunEnd, SagaRunEvent, StepCall } from './observe/interceptors.js';
export { loggingInterceptor, type Logger } from './observe/logger.js';
export type { RuntimeOptions, RuntimeHooks, SagaInfo } from './durable/runtime-options.js';
export type { ScheduleOptions, ScheduleInfo } from './durable/schedule-types.js';
export type { MissedTickPolicy, ScheduleChange } from './stores/schedules.js';
export { isTransientError } from './durable/transient.js';
export { MemoryStore } from './stores/memory/store.js';
// What a runtime's queries and hooks hand back; the contract a store implements is in `orsa/store`.
export type { SagaStatus, HistoryEvent, ListFilter } from './stores/types.js';
