import { CorruptRecordError, SagaFailedError, VersionNotRegisteredError } from '../errors.js';
import { toPlain } from '../compilation/append-map.js';
import type { SagaContext } from '../compilation/machine.js';
import type { HistoryEvent, SagaRecord, SagaStatus } from '../stores/types.js';
import { reportOf, type SagaObservation } from '../interpretation/observe.js';

// Re-exported from ../errors.ts, where every orsa error lives, for existing imports.
export { CorruptRecordError, VersionNotRegisteredError };

/** The saga's run has ended: finished for good, or `failed` and waiting for an operator. */
export const hasEnded = (status: SagaStatus): boolean =>
  status === 'completed' || status === 'compensated' || status === 'failed' || status === 'cancelled';

/** How the snapshot of a saga that never started begins (see `queued.ts`). */
export const NOT_STARTED_PREFIX = '{"orsa.queued"';

/** The key a definition is registered under. */
export const versionKey = (sagaName: string, version: string): string => `${sagaName}@${version}`;

/** The persisted XState snapshot of a record, parsed and checked for the fields orsa relies on. */
export interface ParsedSnapshot {
  value: unknown;
  status: string;
  context: SagaContext;
  [key: string]: unknown;
}

export function parseSnapshot(record: SagaRecord): ParsedSnapshot {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.snapshot);
  } catch (error) {
    throw new CorruptRecordError(record.id, 'not valid JSON', { cause: error });
  }
  const snapshot = parsed as Partial<ParsedSnapshot> | null;
  const context = snapshot?.context as Partial<SagaContext> | undefined;
  if (!snapshot || typeof snapshot !== 'object' || snapshot.value === undefined || !context || typeof context !== 'object') {
    throw new CorruptRecordError(record.id, 'no statechart value or context');
  }
  for (const key of ['results', 'active', 'timers', 'visits', 'log', 'inbox', 'compensated'] as const) {
    if (context[key] === undefined || context[key] === null || typeof context[key] !== 'object') {
      throw new CorruptRecordError(record.id, `context.${key} is missing`);
    }
  }
  if (context.sagaId !== record.id) throw new CorruptRecordError(record.id, `it belongs to saga ${String(context.sagaId)}`);
  return snapshot as ParsedSnapshot;
}

/** The outcome of a finished record: its results, or the error a local run would have rejected with. */
export function outcomeOf(record: SagaRecord, known?: SagaContext): { ok: true; results: unknown } | { ok: false; error: SagaFailedError } {
  // Cancelled while queued: nothing ran, nothing to compensate.
  if (!known && record.status === 'cancelled' && record.snapshot.startsWith(NOT_STARTED_PREFIX)) {
    return { ok: false, error: new SagaFailedError(record.id, 'cancelled', null, undefined, { compensated: [], undone: [] }) };
  }
  const context = known ?? parseSnapshot(record).context;
  if (record.status === 'completed') return { ok: true, results: toPlain(context.results) };
  const status = record.status === 'failed' || record.status === 'cancelled' ? record.status : 'compensated';
  return { ok: false, error: new SagaFailedError(record.id, status, context.failure?.step ?? null, context.failure?.error, reportOf(context)) };
}

/** An observation as a history entry: its own fields beside sagaId, at, type, step and attempt are its data. */
export function toHistory(observation: SagaObservation): HistoryEvent {
  const o = observation as SagaObservation & { step?: string; attempt?: number };
  // A loop, not rest destructuring: this runs for every history entry, and two rests cost two copies.
  let data: Record<string, unknown> | null = null;
  for (const key in o) {
    if (key === 'sagaId' || key === 'at' || key === 'type' || key === 'step' || key === 'attempt') continue;
    (data ??= {})[key] = (o as Record<string, unknown>)[key];
  }
  return { at: o.at, type: o.type, step: o.step ?? null, attempt: o.attempt ?? null, data };
}
