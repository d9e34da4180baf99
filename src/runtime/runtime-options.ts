import type { InspectionEvent, Observer } from 'xstate';
import type { SagaDefinition } from '../core/definition.js';
import type { SagaFailedError } from '../errors.js';
import type { SagaRecord, SagaStatus, SagaStore } from '../store/types.js';
import type { Clock } from './clock.js';
import type { SagaObservation } from './observe.js';
import type { SagaInterceptor } from '../observe/interceptors.js';
import type { Logger } from '../observe/logger.js';

/** ORSA's manager hooks. Each is awaited; one that throws is reported through `onError` and changes nothing. */
export interface RuntimeHooks {
  /** After every write of a saga record (one per step). */
  onStore?: (record: SagaRecord) => unknown;
  /** A saga completed; `results` are its step results. */
  onComplete?: (record: SagaRecord, results: unknown) => unknown;
  /** A saga ended compensated, failed (compensation could not finish) or cancelled. */
  onAbort?: (record: SagaRecord, error: SagaFailedError) => unknown;
  /** `start()` finished its first recovery pass. */
  onStartup?: () => unknown;
  /** `stop()` released everything. */
  onShutdown?: () => unknown;
}

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /** The sagas this runtime may start and resume. Several versions of one name may be registered side by side. */
  sagas: readonly SagaDefinition<any, any>[];
  /** Where sagas are persisted. Default: a SQLite file at `.orsa/orsa.db` (created when missing). */
  store?: SagaStore;
  /** This worker's name in leases. Default: `host:pid:random`. */
  workerId?: string;
  /** How long a lease lasts without renewal, in ms; a crashed worker's sagas are taken over after it. Default 30_000. */
  leaseMs?: number;
  /** How often to look for due, orphaned or newly signalled sagas, in ms. Default 1_000. */
  pollIntervalMs?: number;
  /** Most sagas taken over per poll. Default 100. */
  claimBatch?: number;
  clock?: Clock;
  random?: () => number;
  /** Receives every observation of every saga this worker runs. */
  observer?: (observation: SagaObservation & { sagaName: string }) => void;
  /** XState inspection hook, passed to every actor (an observer or a function). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  hooks?: RuntimeHooks;
  /** Called every `intervalMs` with the number of sagas in the store by status (ORSA's monitor). */
  monitor?: { intervalMs: number; report: (counts: Record<SagaStatus, number>) => unknown };
  /** Problems that do not stop the runtime: a corrupt record, an unregistered version, a hook that threw. Default: console.error. */
  onError?: (error: unknown) => void;
  /** Largest step result accepted, in bytes of JSON. Default 1 MiB. */
  maxResultBytes?: number;
  /**
   * OpenTelemetry spans for saga runs, steps and compensations. Default: on when
   * `@opentelemetry/api` is installed (no-op until an SDK is registered); `false`
   * turns it off; `true` makes a missing package an error at `start()`.
   */
  tracing?: boolean;
  /** Structured logs of what sagas do (pino-style `debug/info/warn/error(fields, message)`). Default: none, nothing is logged. */
  logger?: Logger;
  /** Wrap every saga run, step and compensation, after tracing and logging (`(input, next)`). Default: none. */
  interceptors?: readonly SagaInterceptor[];
}

/** A saga as the runtime reports it. */
export interface SagaInfo {
  id: string;
  sagaName: string;
  version: string;
  status: SagaStatus;
  dueAt: number | null;
  owner: string | null;
  createdAt: number;
  updatedAt: number;
  /** The statechart state value; null when the snapshot cannot be read. */
  state: unknown;
  /** Set when this runtime cannot resume the saga (unregistered version, corrupt snapshot). */
  problem?: { code: string; message: string };
}
