import type { JournalWriter } from './journal-writer.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import type { InboxEvent } from '../stores/types.js';
import { toChartEvent } from './commands.js';
import type { Execution, Transition } from '../interpretation/execution.js';

/**
 * A saga this worker runs: its execution, the fence of its writes, and what it
 * was handed of the inbox. Everything here lives exactly as long as the
 * entry in the runtime's live map: it is freed when the saga ends, is
 * unloaded to wait, or its lease is lost.
 *
 * @internal
 * @example
 * ```ts
 * deliver(live, await store.inbox(id), clock.now()); // each stored row reaches the execution once
 * ```
 */
export interface Live {
  execution: Execution<unknown>;
  definition: SagaDefinition<any, any>;
  fence: { rowVersion: number; owner: string };
  /** Inbox seqs handed to the execution and not yet consumed by a write: a stored event is delivered once, however often it is read. */
  delivered: Set<number>;
  /** Every seq up to this one was consumed by a write of this execution (delivered need not remember them). */
  consumedUpTo: number;
  /** Whether the record is committed: a start whose insert is under way has no row a renewal could see. */
  committed: boolean;
  /** Set once this worker reported losing the saga's lease (one `leaseLost` command per loss). */
  lost: boolean;
  /** Started from a queue: its record exists (promoted), so its first write updates it instead of inserting. */
  dequeued?: boolean;
  /** Splits each snapshot into control state and the journal entries not yet written. */
  journal: JournalWriter;
  /** Set by this execution's first write (its history then says where it resumed). */
  wrote?: boolean;
  /** The transition whose write is under way (waiting in a group commit, or sent): its step ran under this lease too. */
  writing?: Transition | undefined;
}

/** Hands stored inbox rows to the execution, each once. */
export function deliver(live: Live, events: readonly InboxEvent[], now: number): void {
  for (const event of events) {
    if (event.seq <= live.consumedUpTo || live.delivered.has(event.seq)) continue;
    live.delivered.add(event.seq);
    live.execution.deliver(toChartEvent(event, live.definition.compiled.events, now));
  }
}

/** Every seq up to `seq` is consumed: the execution need not remember those it was handed. */
export function consumed(live: Live, seq: number): void {
  if (seq <= live.consumedUpTo) return;
  live.consumedUpTo = seq;
  for (const delivered of live.delivered) if (delivered <= seq) live.delivered.delete(delivered);
}

/**
 * The step executions that were under way when this worker lost the saga's
 * lease, the first time it learns of it (renewal refused, or its fenced write
 * refused); empty afterwards, so one loss is counted once.
 */
export function lostExecutions(live: Live, refused?: Transition): string[] {
  if (live.lost) return [];
  live.lost = true;
  const execs = new Set(live.execution.runningSteps().map((r) => r.exec));
  // A step outcome whose write was refused (or is under way, when a renewal learns of the loss first): that
  // step ran while the lease was lost, too.
  refused ??= live.writing;
  if (refused && typeof refused.event.exec === 'string' && /^orsa\.(done|fail)\./.test(refused.event.type)) execs.add(refused.event.exec);
  return [...execs];
}
