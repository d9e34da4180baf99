import { describe, expect, it, vi } from 'vitest';
import * as errors from '../src/errors.js';
import { createTestClock, isOrsaError, NonRetryableError, OrsaError, saga, StoreError } from '../src/index.js';
import { failure } from './helpers.js';

// A second copy of the errors modules (src/errors.ts and the src/errors/ folder it re-exports), as when the
// ESM and the CJS build of orsa both load in one process: the registry is emptied, so they are evaluated again.
vi.resetModules();
const other = (await import('../src/errors.js')) as typeof errors;

const samples = (m: typeof errors): errors.OrsaError[] => [
  new m.SagaDefinitionError('saga "x" has no steps'),
  new m.NonRetryableError('card declined'),
  new m.StepTimeoutError('charge', 500),
  new m.ResultNotSerializableError('load', 'a Date'),
  new m.SagaFailedError('s1', 'compensated', 'charge', undefined, { compensated: [], undone: [] }),
  new m.SagaFailedError('s1', 'failed', 'charge', undefined, { compensated: [], undone: ['reserve'] }),
  new m.SagaFailedError('s1', 'cancelled', null, undefined, { compensated: [], undone: [] }),
  new m.InvalidInputError('order', [{ message: 'required', path: ['amount'] }]),
  new m.InvalidEventError('order', 'paid', [{ message: 'not a string' }]),
  new m.NotReadyError('database down'),
  new m.UnknownStepError('order', 'ship'),
  new m.GotoLimitError('check', 'fetch', 10),
  new m.WaitTimeoutError('await', 'paid', 1000),
  new m.MapItemFailedError('ship', 3, 'send', 'carrier down'),
  new m.ExecutionStoppedError(),
  new m.SagaRollingBackError(),
  new m.CorruptRecordError('s1', 'not valid JSON'),
  new m.VersionNotRegisteredError('s1', 'order', 'abc', ['def']),
  new m.RuntimeConfigError('createRuntime needs at least one saga'),
  new m.SagaNotRegisteredError('refund'),
  new m.SagaIdTakenError('s1', 'order', 'refund'),
  new m.SagaUnloadedError(),
  new m.StaleRecordError('s1'),
  new m.UnknownSagaError('s1'),
  new m.StoreNotReadyError('MemoryStore', 'closed'),
  new m.StoreSchemaError('schema version 9 is newer than this orsa knows'),
  new m.StoreConfigError('synchronous must be FULL or NORMAL'),
  new m.DriverMissingError('better-sqlite3', 'the default SQLite store'),
  new m.UnknownEventError('order', 'order.confirmd', ['order.confirmed']),
  new m.EventBacklogFullError('s1', 'order', 'item.added', 100),
  new m.SagaEndedError('s1', 'completed', 'cancel'),
  new m.SagaNotFailedError('s1', 'waiting'),
  new m.InputNotSerializableError('order', '$.at', 'a Date at $.at'),
  new m.InvalidSagaIdError('it is empty'),
  new m.InvalidInboxKindError('admin'),
  new m.LeaseLostError('charge', 3),
  new m.StoreUnavailableError('claiming sagas', 100, { cause: Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }) }),
  new m.TracingUnavailableError(),
  new m.ExploreConfigError('explore: the input was refused; pass a valid one as options.input'),
  new m.ExploreStoppedError(),
  new m.BadEventError('an event needs a name: the one the saga waits for'),
  new m.StoreNotFoundError('no SQLite file at typo.db; pass --db PATH'),
  new m.SagaModuleError('sagas.ts', 'cannot load the saga module sagas.ts; pass a built .js or .mjs module'),
  new m.InspectorMissingError(),
  new m.InspectorUnreachableError('ws://localhost:9', 'ECONNREFUSED'),
  new m.InvalidQueueOptionError('order', 'priority must be an integer'),
  new m.InvalidScheduleError('nightly', "timezone 'Mars/Olympus' is not an IANA time zone this runtime knows; write one such as 'UTC'"),
  new m.ChildSagaFailedError('payment', 'order-1:payment#1', 'payment', 'compensated', { name: 'Error', message: 'card declined' }),
  new m.ParentRolledBackError('order-1'),
];

// Every code of the union; the compiler rejects this object when a code is added without a line here.
const everyCode: Record<errors.OrsaErrorCode, true> = {
  SAGA_DEFINITION: true, NON_RETRYABLE: true, STEP_TIMEOUT: true, RESULT_NOT_SERIALIZABLE: true, SAGA_FAILED: true,
  SAGA_COMPENSATION_FAILED: true, SAGA_CANCELLED: true, INVALID_INPUT: true, INVALID_EVENT: true, SAGA_NOT_READY: true,
  UNKNOWN_STEP: true, GOTO_LIMIT: true, WAIT_TIMEOUT: true, MAP_ITEM_FAILED: true, EXECUTION_STOPPED: true, SAGA_ROLLING_BACK: true,
  CORRUPT_RECORD: true, VERSION_NOT_REGISTERED: true, RUNTIME_CONFIG: true, SAGA_NOT_REGISTERED: true, SAGA_ID_TAKEN: true,
  SAGA_UNLOADED: true, STALE_RECORD: true, UNKNOWN_SAGA: true, STORE_NOT_READY: true, STORE_SCHEMA: true, STORE_CONFIG: true,
  DRIVER_MISSING: true, UNKNOWN_EVENT: true, EVENT_BACKLOG_FULL: true, SAGA_ENDED: true, NOT_FAILED: true, INPUT_NOT_SERIALIZABLE: true, INVALID_SAGA_ID: true,
  INVALID_INBOX_KIND: true, LEASE_LOST: true, STORE_UNAVAILABLE: true, TRACING_UNAVAILABLE: true, EXPLORE_CONFIG: true,
  EXPLORE_STOPPED: true, BAD_EVENT: true, STORE_NOT_FOUND: true, SAGA_MODULE: true, INSPECTOR_MISSING: true, INSPECTOR_UNREACHABLE: true,
  INVALID_QUEUE_OPTION: true, INVALID_SCHEDULE: true,
  CHILD_FAILED: true, PARENT_ROLLED_BACK: true,
};

describe('errors', () => {
  it('has a class for every code of OrsaErrorCode', () => {
    expect(new Set(samples(errors).map((e) => e.code))).toEqual(new Set(Object.keys(everyCode)));
  });

  it('gives each code one class, whose name is the class name', () => {
    const byCode = new Map<string, string>();
    for (const error of samples(errors)) {
      expect(error.name).toBe(error.constructor.name);
      const owner = byCode.get(error.code);
      if (owner) expect(owner).toBe(error.name);
      byCode.set(error.code, error.name);
      expect(error.message.length).toBeGreaterThan(10);
    }
    // SagaFailedError alone carries three codes, one per way a saga can end without completing.
    expect(new Set(byCode.values()).size).toBe(byCode.size - 2);
  });

  it('recognises an error made by another copy of orsa with instanceof, of its own class and its bases only', () => {
    expect(other.NonRetryableError).not.toBe(errors.NonRetryableError);
    expect(Object.getPrototypeOf(new other.NonRetryableError('x'))).not.toBe(errors.NonRetryableError.prototype);
    for (const error of samples(other)) {
      const own = (errors as unknown as Record<string, typeof OrsaError>)[error.name]!;
      expect(error instanceof own).toBe(true);
      expect(error instanceof OrsaError).toBe(true);
      expect(isOrsaError(error)).toBe(true);
      expect(error instanceof StoreError).toBe(error.name.startsWith('Store') || ['StaleRecordError', 'UnknownSagaError', 'DriverMissingError'].includes(error.name));
      expect(error instanceof NonRetryableError).toBe(error.name === 'NonRetryableError');
    }
  });

  it('does not take a plain error, or an object with a look-alike code, for an orsa error', () => {
    expect(new Error('x') instanceof OrsaError).toBe(false);
    expect({ name: 'NonRetryableError', code: 'NON_RETRYABLE' } instanceof NonRetryableError).toBe(false);
    expect(isOrsaError({ code: 'STALE_RECORD' })).toBe(false);
    expect(isOrsaError(null)).toBe(false);
  });

  it('keeps a user subclass its own name, and does not mistake its base class instances for it', () => {
    class CardDeclined extends NonRetryableError {}
    const declined = new CardDeclined('card declined');
    expect(declined.name).toBe('CardDeclined');
    expect(declined.code).toBe('NON_RETRYABLE');
    expect(declined instanceof NonRetryableError).toBe(true);
    expect(new NonRetryableError('x') instanceof CardDeclined).toBe(false);
    expect(new other.NonRetryableError('x') instanceof CardDeclined).toBe(false);
  });

  it('does not retry a NonRetryableError thrown with another copy of orsa', async () => {
    const clock = createTestClock();
    let attempts = 0;
    const s = saga('other-copy')
      .step('charge', () => {
        attempts++;
        throw new other.NonRetryableError('card declined');
      }, { retry: 4 })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(10_000);
    const error = await failure(handle.result);
    expect(attempts).toBe(1);
    expect(error.error).toMatchObject({ name: 'NonRetryableError', code: 'NON_RETRYABLE', retryable: false });
  });
});
