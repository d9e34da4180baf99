import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The public surface, pinned: each entry point's exports (values and types) by name. A change here
// is a change of the package's contract: update the list on purpose, and the README with it.
const root = join(import.meta.dirname, '..');
const entries = {
  orsa: 'src/index.ts',
  'orsa/sqlite': 'src/sqlite.ts',
  'orsa/postgres': 'src/postgres.ts',
  'orsa/store': 'src/store.ts',
  'orsa/testing': 'src/testing.ts',
} as const;

function exportsOf(): Record<keyof typeof entries, string[]> {
  const files = Object.values(entries).map((f) => join(root, f));
  const program = ts.createProgram(files, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const out = {} as Record<keyof typeof entries, string[]>;
  for (const [name, file] of Object.entries(entries) as [keyof typeof entries, string][]) {
    const source = program.getSourceFile(join(root, file))!;
    out[name] = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).map((s) => s.getName()).sort();
  }
  return out;
}

const errorClasses = [
  'ChildSagaFailedError',
  'CorruptRecordError',
  'DriverMissingError',
  'EventBacklogFullError',
  'ExecutionStoppedError',
  'GotoLimitError',
  'InputNotSerializableError',
  'InvalidEventError',
  'InvalidInputError',
  'InvalidQueueOptionError',
  'InvalidSagaIdError',
  'InvalidScheduleError',
  'LeaseLostError',
  'MapItemFailedError',
  'NonRetryableError',
  'NotReadyError',
  'OrsaError',
  'ParentRolledBackError',
  'ResultNotSerializableError',
  'RuntimeConfigError',
  'SagaDefinitionError',
  'SagaEndedError',
  'SagaFailedError',
  'SagaIdTakenError',
  'SagaNotFailedError',
  'SagaNotRegisteredError',
  'SagaRollingBackError',
  'SagaUnloadedError',
  'StaleRecordError',
  'StepTimeoutError',
  'StoreConfigError',
  'StoreError',
  'StoreNotReadyError',
  'StoreSchemaError',
  'StoreUnavailableError',
  'TracingUnavailableError',
  'UnknownEventError',
  'UnknownSagaError',
  'UnknownStepError',
  'VersionNotRegisteredError',
  'WaitTimeoutError',
];

describe('public surface', () => {
  const actual = exportsOf();

  it('orsa exports the declaration, the runtimes, the in-memory store and the errors, nothing store-internal', () => {
    expect(actual.orsa).toEqual(
      [
        ...errorClasses,
        'CatchHandler',
        'Clock',
        'CompensationContext',
        'CompensationReport',
        'Dependency',
        'ErrorRecord',
        'ExecutionOptions',
        'ExecutionStatus',
        'FailedEffectCompensationContext',
        'GotoOptions',
        'HistoryEvent',
        'ItemCompensationContext',
        'ItemContext',
        'ItemStepOptions',
        'LimitValues',
        'ListFilter',
        'Logger',
        'MapBranch',
        'MapOptions',
        'MemoryStore',
        'MissedTickPolicy',
        'OrsaErrorCode',
        'RateLimit',
        'ReadinessProbe',
        'RetryPolicy',
        'Runtime',
        'RuntimeHooks',
        'RuntimeOptions',
        'SagaBuilder',
        'SagaDefinition',
        'SagaHandle',
        'SagaInfo',
        'SagaInterceptor',
        'SagaLimits',
        'SagaObservation',
        'SagaRun',
        'SagaRunEnd',
        'SagaRunEvent',
        'SagaStatus',
        'ScheduleChange',
        'ScheduleInfo',
        'ScheduleOptions',
        'StepContext',
        'StepOptions',
        'StepOptionsBase',
        'StepCall',
        'TestClock',
        'createRuntime',
        'createTestClock',
        'dependency',
        'isOrsaError',
        'isTransientError',
        'loggingInterceptor',
        'saga',
        'systemClock',
        'toErrorRecord',
        'toMermaid',
      ].sort(),
    );
    expect(actual.orsa).not.toContain('SagaContext');
    expect(actual.orsa).not.toContain('SagaStore');
  });

  it('orsa/sqlite and orsa/postgres export their store and its options', () => {
    expect(actual['orsa/sqlite']).toEqual(['SqliteStore', 'SqliteStoreOptions']);
    expect(actual['orsa/postgres']).toEqual(['PostgresStore', 'PostgresStoreOptions']);
  });

  it('orsa/store exports the storage contract for store authors', () => {
    expect(actual['orsa/store']).toEqual(
      [
        'BatchOutcome',
        'BatchWrite',
        'ClaimRequest',
        'DriverMissingError',
        'FINAL_STATUSES',
        'HistoryEvent',
        'InboxEvent',
        'LimitData',
        'InboxNotice',
        'ListFilter',
        'PromoteRequest',
        'PromoteResult',
        'QueueLimitData',
        'QueuePlace',
        'RateLimitData',
        'MissedTickPolicy',
        'RecordPatch',
        'SAGA_STATUSES',
        'SagaRecord',
        'SagaStatus',
        'SagaStore',
        'ScheduleChange',
        'ScheduleDefinition',
        'ScheduleRecord',
        'ScheduleStore',
        'StaleRecordError',
        'StoreConfigError',
        'StoreError',
        'StoreNotReadyError',
        'StoreSchemaError',
        'StoreUnderTest',
        'StoreWake',
        'StoreWakeError',
        'UnknownSagaError',
        'UpdateOptions',
        'WriteFence',
      ].sort(),
    );
  });

  it('orsa/testing exports the explorer, its report and matcher, and the store conformance suite', () => {
    expect(actual['orsa/testing']).toEqual(
      [
        'ExploreConfigError',
        'ExploreOptions',
        'ExploreReport',
        'Recorder',
        'StepFake',
        'StoreUnderTest',
        'Violation',
        'ViolationRule',
        'explore',
        'formatReport',
        'orsaMatchers',
        'runStoreConformance',
      ].sort(),
    );
  });

  it('names every orsa error class in orsa', async () => {
    const orsa = (await import('../src/index.js')) as Record<string, unknown>;
    const classes = Object.keys(orsa).filter((k) => /^[A-Z]\w*Error$/.test(k));
    expect(classes.sort()).toEqual(errorClasses);
  });
});
