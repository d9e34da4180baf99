import type { SagaDefinition } from '../interpretation/definition.js';
import { OrsaError } from '../errors.js';
import type { SagaRecord, SagaStore } from '../stores/types.js';
import type { SagaRegistry } from './registry.js';
import { hasEnded, NOT_STARTED_PREFIX, parseSnapshot, VersionNotRegisteredError, versionKey } from './records.js';
import type { SagaInfo } from './runtime-options.js';

/*
 * How a runtime reports stored sagas: `get()` and `list()` give a SagaInfo,
 * with a `problem` when the runtime with these registered definitions cannot
 * resume the saga.
 */

/** The error for a record whose version this runtime does not have, listing the ones it has. */
export function versionError(record: SagaRecord, registry: ReadonlyMap<string, SagaDefinition<any, any>>): VersionNotRegisteredError {
  const versions = [...registry.values()].filter((d) => d.name === record.sagaName).map((d) => d.version);
  return new VersionNotRegisteredError(record.id, record.sagaName, record.version, versions);
}

/**
 * A stored saga as the runtime reports it.
 *
 * @internal
 * @example
 * ```ts
 * describeRecord(await store.get(id), registry); // { id, status, state, problem? … }
 * ```
 */
export function describeRecord(record: SagaRecord, registry: ReadonlyMap<string, SagaDefinition<any, any>>): SagaInfo {
  const info: SagaInfo = {
    id: record.id,
    sagaName: record.sagaName,
    version: record.version,
    status: record.status,
    dueAt: record.dueAt,
    owner: record.owner,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    state: null,
  };
  try {
    // A queued saga (or one promoted and not yet written) has no statechart state yet.
    info.state = record.snapshot.startsWith(NOT_STARTED_PREFIX) ? null : parseSnapshot(record).value;
    if (!hasEnded(record.status) && !registry.has(versionKey(record.sagaName, record.version))) {
      const e = versionError(record, registry);
      info.problem = { code: e.code, message: e.message };
    }
  } catch (error) {
    if (error instanceof OrsaError) info.problem = { code: error.code, message: error.message };
  }
  return info;
}

/** Unfinished (or queued) sagas a runtime knows by name but not by version: reported once at start, never touched. */
export async function reportUnresumable(store: SagaStore, sagas: SagaRegistry, report: (error: unknown) => void): Promise<void> {
  const names = new Set(sagas.latest.keys());
  const unfinished = await store.list({ status: ['queued', 'running', 'waiting', 'compensating', 'failed'], limit: 10_000 });
  for (const record of unfinished) {
    if (names.has(record.sagaName) && !sagas.get(record.sagaName, record.version)) report(versionError(record, sagas.byVersion));
  }
}
