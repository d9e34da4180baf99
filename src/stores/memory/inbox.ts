import type { InboxEvent, InboxKind } from '../types.js';

interface StoredInboxEvent {
  event: InboxEvent;
  consumed: boolean;
}

/**
 * The memory store's inboxes: events and commands per saga, numbered in one
 * sequence, marked consumed by the write that consumed them. Copies go out,
 * so a caller never mutates what is stored.
 *
 * @internal
 * @example
 * ```ts
 * const inboxes = new MemoryInboxes();
 * inboxes.push('order-1', 'event', 'payment.confirmed', '{}', Date.now());
 * inboxes.unconsumed('order-1'); // [{ seq: 1, … }]
 * ```
 */
export class MemoryInboxes {
  readonly #inbox = new Map<string, StoredInboxEvent[]>();
  #seq = 0;

  /** Stores an event or command; returns a copy of it. */
  push(sagaId: string, kind: InboxKind, name: string, payload: string, at: number): InboxEvent {
    const event: InboxEvent = { seq: ++this.#seq, sagaId, kind, name, payload, at };
    const events = this.#inbox.get(sagaId) ?? [];
    events.push({ event, consumed: false });
    this.#inbox.set(sagaId, events);
    return { ...event };
  }

  /** Marks a saga's entries up to `seq` consumed. */
  consume(sagaId: string, seq: number): void {
    for (const entry of this.#inbox.get(sagaId) ?? []) if (entry.event.seq <= seq) entry.consumed = true;
  }

  /** A saga's unconsumed entries, oldest first. */
  unconsumed(sagaId: string): InboxEvent[] {
    return (this.#inbox.get(sagaId) ?? []).filter((e) => !e.consumed).map((e) => ({ ...e.event }));
  }

  /** The unconsumed entries of several sagas, in seq order. */
  pending(sagaIds: readonly string[]): InboxEvent[] {
    const events: InboxEvent[] = [];
    for (const sagaId of new Set(sagaIds)) events.push(...this.unconsumed(sagaId));
    return events.sort((a, b) => a.seq - b.seq);
  }

  /** Whether a saga has unconsumed entries. */
  hasPending(sagaId: string): boolean {
    return this.#inbox.get(sagaId)?.some((e) => !e.consumed) ?? false;
  }
}
