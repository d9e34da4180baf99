/**
 * `orsa/store`: the storage contract, for those who write a store (or read
 * records directly): the interface, its record shapes and the errors a store
 * throws. Check a store against it with `runStoreConformance` from `orsa/testing`.
 *
 * @example
 * ```ts
 * import { StaleRecordError, type SagaStore } from 'orsa/store';
 * class MyStore implements SagaStore { … }
 * ```
 */
export {
  FINAL_STATUSES,
  SAGA_STATUSES,
  type SagaStore,
  type SagaRecord,
  type SagaStatus,
  type HistoryEvent,
  type InboxEvent,
  type RecordPatch,
  type WriteFence,
  type ListFilter,
  type ClaimRequest,
  type PromoteRequest,
  type PromoteResult,
  type QueuePlace,
  type QueueLimitData,
  type LimitData,
  type RateLimitData,
  type BatchWrite,
  type BatchOutcome,
  type StoreWake,
  type StoreWakeError,
  type ScheduleStore,
  type ScheduleRecord,
  type ScheduleDefinition,
  type ScheduleChange,
  type MissedTickPolicy,
  type UpdateOptions,
  type InboxNotice,
} from './stores/types.js';
export { StoreError, StaleRecordError, UnknownSagaError, StoreNotReadyError, StoreSchemaError, StoreConfigError, DriverMissingError } from './errors.js';
export type { StoreUnderTest } from './testing/store-conformance.js';
