import type { HistoryRow } from './encoding.js';
import type { JournalEntry } from './types.js';

/*
 * How the built-in stores keep a snapshot without rewriting it at every step:
 * the write of a transition carries the control state (the snapshot with its
 * journaled fields empty, a size that does not grow with the saga) and the
 * journal entries that transition produced (a step's result, a visit count, a
 * log entry, a map item's result, an execution undone), each written once. A read assembles them. Stores stay ignorant
 * of XState: they only know that a snapshot is JSON with a `context` object
 * whose `results`/`visits` are objects and `log` an array.
 */

/** A stored journal entry in the order the stores keep: field, key, value (JSON text). */
export type JournalRow = readonly [field: string, key: string | null, value: string];

/** A journal entry as the row the stores keep. */
export const journalRow = (entry: JournalEntry): JournalRow => [entry.field, entry.key, entry.value];

/**
 * The snapshot of a record: its control state with the journal applied in
 * write order (`results[key] = value`, `visits[key] = value`, `log.push(value)`).
 * A key keeps the position of its first write and takes the value of its last,
 * as the machine's assigns do, so the text equals the snapshot the machine
 * held. With no entries, or a control state that is not such JSON (a corrupt
 * record), the control state comes back as stored: the reader reports it.
 *
 * @example
 * ```ts
 * assembleSnapshot('{"context":{"results":{},"visits":{},"log":[]}}', [['results', 'a', '1']]);
 * // '{"context":{"results":{"a":1},"visits":{},"log":[]}}'
 * ```
 */
/** Prefix of a snapshot whose journal could not be read: never valid JSON, so every reader refuses it. */
export const UNREADABLE_JOURNAL = 'orsa: unreadable journal entry; ';

export function assembleSnapshot(control: string, rows: readonly JournalRow[] | null | undefined): string {
  if (!rows || rows.length === 0) return control;
  let snapshot: { context?: { results?: unknown; visits?: unknown; log?: unknown; items?: unknown; compensated?: unknown } };
  try {
    snapshot = JSON.parse(control);
  } catch {
    return control;
  }
  const context = snapshot?.context;
  if (!context || typeof context !== 'object') return control;
  const results = objectField(context, 'results');
  const visits = objectField(context, 'visits');
  // Keyed by exec, in order: a later entry of an exec (a compensateOnFailure step's later outcome) replaces it and moves last.
  const logged = new Map<unknown, unknown>();
  for (const entry of Array.isArray(context.log) ? (context.log as unknown[]) : []) logged.set(execOf(entry), entry);
  for (const [field, key, value] of rows) {
    let parsed: unknown;
    try {
      // '' stands for undefined (a step that returned nothing): the key keeps its place, JSON omits it.
      parsed = value === '' ? undefined : JSON.parse(value);
    } catch {
      // A corrupt entry: the control state alone would read as a saga that lost results, so hand the
      // reader text that is not JSON; it reports the record as corrupt (CORRUPT_RECORD) and leaves it.
      return `${UNREADABLE_JOURNAL}${control}`;
    }
    if (field === 'log') logged.set(execOf(parsed), parsed);
    // An execution undone (appended once each: a rollback of thousands of items must not rewrite the list per write).
    else if (field === 'compensated') listField(context, 'compensated').push(parsed);
    // A map's items (kinds/map): only sagas that ran a map have the field, so it is made on first use.
    else if (field === 'items' && key !== null) define(objectField(context, 'items'), key, parsed);
    else if (key !== null) define(field === 'results' ? results : visits, key, parsed);
  }
  context.log = [...logged.values()];
  return JSON.stringify(snapshot);
}

/** The exec of a log entry, or the entry itself when it has none (then it is never merged with another). */
function execOf(entry: unknown): unknown {
  const exec = (entry as { exec?: unknown } | null)?.exec;
  return typeof exec === 'string' ? exec : entry;
}

function objectField(context: Record<string, unknown>, name: string): Record<string, unknown> {
  const value = context[name];
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  return (context[name] = {});
}

function listField(context: Record<string, unknown>, name: string): unknown[] {
  const value = context[name];
  if (Array.isArray(value)) return value;
  return (context[name] = []) as unknown[];
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * What a store counts of its own writes ({@link StoreStats}): bytes of
 * snapshot, journal and history text handed to the database, and commits.
 */
export interface StoreStats {
  /** Bytes of snapshot, journal values and history data written (UTF-16 length: what the store handed on, not the page I/O). */
  bytesWritten: number;
  /** Inserts and updates written (a group commit counts each of its writes). */
  writes: number;
  /** Commits that wrote them: a group commit is one. */
  commits: number;
}

/** Counts the text a write hands to the database. */
export function writeBytes(snapshot: string, journal: readonly JournalEntry[] | undefined, history: readonly HistoryRow[]): number {
  let bytes = snapshot.length;
  if (journal) for (const entry of journal) bytes += entry.value.length + (entry.key?.length ?? 0);
  for (const row of history) bytes += row.type.length + (row.data?.length ?? 0);
  return bytes;
}
