import type { InspectionEvent, Observer } from 'xstate';
import type { SagaDefinition } from '../interpretation/definition.js';
import { RuntimeConfigError, type SagaFailedError } from '../errors.js';
import type { SagaRecord, SagaStatus, SagaStore } from '../stores/types.js';
import type { Clock } from '../interpretation/clock.js';
import type { SagaObservation } from '../interpretation/observe.js';
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
  /** Largest saga input accepted by `startSaga`, in bytes of JSON. Default 1 MiB. */
  maxInputBytes?: number;
  /**
   * How often one step execution may lose its lease while its worker is alive (the worker did not renew in
   * time, e.g. a step blocking the event loop longer than `leaseMs`, and another worker took the saga over)
   * before it fails with `LEASE_LOST` instead of running again. Takeovers after a crash do not count, nor
   * does a lease that lapsed while no other worker took the saga (its worker keeps running it). Default 3.
   */
  maxLeaseLosses?: number;
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
  /**
   * How late a schedule's tick may be fired and still count as on time, in ms:
   * a tick no worker fired within this long after its time was missed (while
   * no worker ran), and its schedule's `missed` policy decides. Default `60_000`.
   */
  scheduleGraceMs?: number;
}

/** The options that must be positive integers, with what each means (for the error message). */
const POSITIVE_INTEGERS = [
  ['leaseMs', 'a lease length in ms, e.g. 30_000'],
  ['pollIntervalMs', 'a poll interval in ms, e.g. 1_000'],
  ['claimBatch', 'a number of sagas per claim, e.g. 100'],
  ['maxResultBytes', 'a size in bytes, e.g. 1_048_576'],
  ['maxInputBytes', 'a size in bytes, e.g. 1_048_576'],
  ['maxLeaseLosses', 'a count, e.g. 3'],
  ['scheduleGraceMs', 'how late a schedule tick may run in ms, e.g. 60_000'],
] as const;

/**
 * Checks the options of {@link createRuntime} that a typo could make
 * meaningless (`leaseMs: NaN` would leave sagas stuck forever).
 *
 * @throws {RuntimeConfigError} saying which option and what is allowed.
 * @example
 * ```ts
 * validateRuntimeOptions({ sagas: [order], leaseMs: 0 }); // throws RUNTIME_CONFIG: leaseMs must be a positive integer …
 * ```
 */
export function validateRuntimeOptions(options: RuntimeOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new RuntimeConfigError('createRuntime needs an options object: createRuntime({ sagas: [mySaga] })');
  }
  if (!Array.isArray(options.sagas) || options.sagas.length === 0) {
    throw new RuntimeConfigError('createRuntime needs at least one saga: createRuntime({ sagas: [mySaga] })');
  }
  for (const [name, meaning] of POSITIVE_INTEGERS) {
    const value: unknown = options[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new RuntimeConfigError(`createRuntime: ${name} must be a positive integer (${meaning}), not ${describeValue(value)}; leave it out for the default`);
    }
  }
  if (options.monitor !== undefined) {
    const interval: unknown = options.monitor?.intervalMs;
    if (typeof interval !== 'number' || !Number.isSafeInteger(interval) || interval <= 0 || typeof options.monitor.report !== 'function') {
      throw new RuntimeConfigError(`createRuntime: monitor needs { intervalMs: a positive integer of ms, report: a function }, not intervalMs ${describeValue(interval)}`);
    }
  }
  if (options.workerId !== undefined && (typeof options.workerId !== 'string' || options.workerId.length === 0)) {
    throw new RuntimeConfigError(`createRuntime: workerId must be a non-empty string, not ${describeValue(options.workerId)}`);
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
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

/** `host:pid:random` in Node; `browser:random` where there is no process (a bundle for a page). */
export function defaultWorkerId(): string {
  const node = globalThis.process?.getBuiltinModule?.('node:os');
  const where = node ? `${node.hostname()}:${globalThis.process.pid}` : 'browser';
  return `${where}:${Math.random().toString(36).slice(2, 8)}`;
}
