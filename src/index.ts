export { saga, SagaBuilder } from './core/builder.js';
export { toMermaid } from './core/diagram.js';
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
export { createRuntime, Runtime } from './runtime/runtime.js';
export type { RuntimeOptions, RuntimeHooks, SagaInfo } from './runtime/runtime-options.js';
export { CorruptRecordError, VersionNotRegisteredError } from './runtime/records.js';
export { isTransientError, StoreUnavailableError } from './runtime/transient.js';
export { MemoryStore } from './store/memory.js';
export {
  FINAL_STATUSES,
  SAGA_STATUSES,
  StoreError,
  StaleRecordError,
  UnknownSagaError,
  type SagaStore,
  type SagaRecord,
  type SagaStatus,
  type HistoryEvent,
  type InboxEvent,
  type RecordPatch,
  type WriteFence,
  type ListFilter,
  type ClaimRequest,
} from './store/types.js';
export { StoreNotReadyError, StoreSchemaError, StoreConfigError } from './store/errors.js';
