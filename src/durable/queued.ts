import { InvalidQueueOptionError } from '../errors.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import type { SagaLimits } from '../declaration/limits.js';
import type { QueueLimitData, QueuePlace, SagaRecord } from '../stores/types.js';
import { CorruptRecordError, NOT_STARTED_PREFIX } from './records.js';

/*
 * A queued saga as stored: not yet a statechart snapshot (nothing of it has
 * run), only its input, under one key no XState snapshot has. Promotion keeps
 * it; the worker that runs the saga starts it from that input, and its first
 * write replaces it with the real snapshot.
 */

const QUEUED_KEY = 'orsa.queued';

/** The stored snapshot of a queued saga. */
export function queuedSnapshot(input: unknown): string {
  return JSON.stringify({ [QUEUED_KEY]: { input: input ?? null } });
}

/**
 * The input of a record that has not started yet (queued, or promoted and not
 * yet written by its worker); undefined for any other snapshot.
 *
 * @throws {CorruptRecordError} when the record is marked as not started but holds no input.
 */
export function notStarted(record: Pick<SagaRecord, 'id' | 'snapshot'>): { input: unknown } | undefined {
  // Cheap test first: every step's snapshot passes here on its way to a claim.
  if (!record.snapshot.startsWith(NOT_STARTED_PREFIX)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.snapshot);
  } catch (error) {
    throw new CorruptRecordError(record.id, 'not valid JSON', { cause: error });
  }
  const body = (parsed as Record<string, unknown>)[QUEUED_KEY] as { input?: unknown } | null;
  if (typeof body !== 'object' || body === null || !Object.prototype.hasOwnProperty.call(body, 'input')) {
    throw new CorruptRecordError(record.id, `its "${QUEUED_KEY}" field holds no input`);
  }
  return { input: body.input };
}

/** The limits as a store applies them (no key function). */
export function limitData(limits: SagaLimits<unknown>): QueueLimitData {
  const data: QueueLimitData = {};
  if (limits.concurrency !== undefined) data.concurrency = limits.concurrency;
  if (limits.rate) data.rate = { starts: limits.rate.starts, perMs: limits.rate.perMs };
  if (limits.perKey) data.perKey = limitData(limits.perKey);
  return data;
}

const MIN_PRIORITY = -(2 ** 31);
const MAX_PRIORITY = 2 ** 31 - 1;

/**
 * Where a new saga of a limited definition waits: its key (from the declared
 * key function) and priority (default 0; higher starts first).
 *
 * @throws {InvalidQueueOptionError} for a priority that is not a 32-bit integer, or a key function that throws or gives no string of 1–255 characters.
 */
export function queuePlace(definition: SagaDefinition<any, any>, limits: SagaLimits<unknown>, input: unknown, priority: unknown = 0): QueuePlace {
  const name = definition.name;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
    throw new InvalidQueueOptionError(name, `priority must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY} (higher starts first), not ${String(priority)}`);
  }
  if (!limits.key) return { key: null, priority };
  let key: unknown;
  try {
    key = limits.key(input);
  } catch (error) {
    throw new InvalidQueueOptionError(name, `its limits' key function threw (${String(error).slice(0, 200)}); make it total over valid inputs`, { cause: error });
  }
  if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
    const shown = typeof key === 'string' ? `a string of ${key.length} characters` : typeof key;
    throw new InvalidQueueOptionError(name, `its limits' key function must return a string of 1 to 255 characters, not ${shown}`);
  }
  return { key, priority };
}
