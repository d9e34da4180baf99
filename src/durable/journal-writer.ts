import { AppendMap, type RecordLike } from '../compilation/append-map.js';
import type { SagaContext } from '../compilation/machine.js';
import type { JournalEntry, JournalWrite } from '../stores/types.js';

/** Journal text of a value; `''` stands for `undefined` (a step that returned nothing), which JSON cannot carry. */
export const journalValue = (value: unknown): string => (value === undefined ? '' : JSON.stringify(value));

/** What one write sends: the control state and the journal entries produced since the last write. */
export interface JournalSplit {
  control: string;
  journal: JournalWrite;
  /** Call once the write is durable: later splits start after these entries. */
  written(): void;
}

/**
 * Splits each persisted snapshot of one execution into the control state
 * (results, visits and log left empty: a size independent of the saga's
 * length) and the journal entries added since the last successful write, so
 * each step result, visit count and log entry is written once.
 *
 * A resumed execution's first write resends the whole journal with `reset`:
 * its context came from an assembled snapshot (or a pre-journal record whose
 * snapshot held everything), so it cannot tell which pieces the store holds
 * as entries. That costs one O(length) write per resume, not per step.
 *
 * @example
 * ```ts
 * const writer = new JournalWriter(false);
 * const { control, journal, written } = writer.split(persisted);
 * await store.update(id, fence, { status, snapshot: control, journal, dueAt, leaseUntil }, history, { now });
 * written();
 * ```
 */
export class JournalWriter {
  #results = 0;
  #visits = 0;
  #items = 0;
  #compensated = 0;
  /** Log entries already written (entries are immutable objects, shared from snapshot to snapshot). */
  #logged: WeakSet<object> | undefined; // made at the first log entry written: most sagas never log one
  #reset: boolean;

  /** @param resumed whether the execution was restored from a stored snapshot. */
  constructor(resumed: boolean) {
    this.#reset = resumed;
  }

  split(persisted: { context: SagaContext }): JournalSplit {
    const context = persisted.context;
    const reset = this.#reset;
    const entries: JournalEntry[] = [];
    const results = AppendMap.from(context.results as RecordLike<unknown>);
    const visits = AppendMap.from(context.visits as RecordLike<number>);
    const from = reset ? { results: 0, visits: 0 } : { results: this.#results, visits: this.#visits };
    for (const [key, value] of results.writesSince(from.results)) entries.push({ field: 'results', key, value: journalValue(value) });
    for (const [key, value] of visits.writesSince(from.visits)) entries.push({ field: 'visits', key, value: String(value) });
    // A map's items list and its items' step results (kinds/map): one entry each, when produced.
    // A plain record here is the one restored at resume, sent whole by the reset write: converting it at
    // every later write (a rollback writes no item) would cost O(items) each time, so only a reset does.
    const items = context.items === undefined ? null : context.items instanceof AppendMap || reset ? AppendMap.from(context.items as RecordLike<unknown>) : null;
    if (items) for (const [key, value] of items.writesSince(reset ? 0 : this.#items)) entries.push({ field: 'items', key, value: journalValue(value) });
    // The log only grows at its end, but a compensateOnFailure step's later outcome moves its entry there
    // (machine.ts logOnce): every entry past the last one written is new; the reader keeps each exec's newest.
    const log = context.log;
    let first = log.length;
    if (reset) first = 0;
    else while (first > 0 && !this.#logged?.has(log[first - 1]!)) first--;
    for (let i = first; i < log.length; i++) entries.push({ field: 'log', key: null, value: JSON.stringify(log[i]) });
    // Executions undone only grow at the end of the list: each is written once (a rollback of 10,000 items
    // rewriting the list at each of its writes wrote O(n²) bytes).
    const compensated = context.compensated;
    for (let i = reset ? 0 : this.#compensated; i < compensated.length; i++) entries.push({ field: 'compensated', key: null, value: JSON.stringify(compensated[i]) });
    const control = JSON.stringify({ ...persisted, context: { ...context, results: {}, visits: {}, log: [], compensated: [], ...(context.items !== undefined ? { items: {} } : {}) } });
    return {
      control,
      journal: reset ? { entries, reset: true } : { entries },
      written: () => {
        this.#reset = false;
        this.#results = results.size;
        this.#visits = visits.size;
        if (items) this.#items = items.size;
        this.#compensated = compensated.length;
        for (let i = first; i < log.length; i++) (this.#logged ??= new WeakSet()).add(log[i]!);
      },
    };
  }
}
