import { InvalidEventError, SagaEndedError, SagaNotFailedError, UnknownEventError, UnknownSagaError } from '../errors.js';
import type { Clock } from '../interpretation/clock.js';
import { DEFAULT_MAX_INPUT_BYTES, findUnserializable } from '../interpretation/serialize.js';
import { assertSagaId } from '../stores/input-checks.js';
import type { InboxEvent, SagaRecord, SagaStore } from '../stores/types.js';
import { assertBacklogRoom, backlogOf, MAX_QUEUED_PER_EVENT } from '../compilation/machine.js';
import type { CommandName } from './commands.js';
import { deliver, type Live } from './live.js';
import { hasEnded } from './records.js';
import type { SagaRegistry } from './registry.js';

/**
 * Refuses (EVENT_BACKLOG_FULL) an event for a stored saga that already holds
 * the most events of that name it keeps unconsumed: those in its stored
 * context (delivered, not yet taken by a wait) plus its unconsumed inbox rows
 * of that name (stored, not yet delivered). Refused here, the sender learns it
 * and nothing is stored; accepted, the event fits when it is delivered.
 *
 * The rows and the record are two reads, and a write between them moves rows
 * into the context. Rows read before the record (`pending`) can only be
 * counted twice, never missed: below the limit, that settles it at the cost of
 * one read. Else it is counted exactly: rows read between two reads of the
 * record that find it unchanged (a few tries; the last count is the cautious
 * one). So a count may be too high (a refusal the sender retries), never too
 * low (an event accepted, then dropped).
 *
 * Two processes sending at once (sends of one process go one at a time:
 * {@link oneSendAtATime}), or a raw store user, can still overfill
 * it: the worker then reports the event it cannot keep (history
 * `event.received` with `dropped`, payload included, and a logged warning)
 * instead of dropping it silently. Keeping such a row unconsumed until there
 * is room would need the store to consume rows out of order (a write consumes
 * every row up to its seq), so it is reported instead.
 *
 * @example
 * ```ts
 * const pending = await store.inbox(id);
 * await assertStoredBacklogRoom(store, (await store.get(id))!, 'item.added', pending);
 * ```
 */
export async function assertStoredBacklogRoom(store: SagaStore, record: SagaRecord, name: string, pending?: readonly InboxEvent[]): Promise<void> {
  if (pending && backlogOf(name, storedInbox(record), events(pending)) < MAX_QUEUED_PER_EVENT) return;
  let read = record;
  for (let tries = 0; ; tries++) {
    const rows = events(await store.inbox(read.id));
    const again = await store.get(read.id);
    if (!again || again.rowVersion === read.rowVersion || tries === 2) return assertBacklogRoom(read.id, read.sagaName, name, storedInbox(again ?? read), rows);
    read = again;
  }
}

/** Per store, the sends under way by saga id: the tail of each id's chain (see {@link oneSendAtATime}). */
const sending = new WeakMap<SagaStore, Map<string, Promise<void>>>();

/**
 * Runs `send` (a backlog check, then the store of the event) once the sends
 * to that saga this process started before it have settled. The check reads
 * before it stores, so concurrent sends (`Promise.all` of many) would all
 * count the same backlog and all be accepted past the limit; one at a time,
 * each counts the rows the ones before it stored. An id is kept only while
 * a send to it is under way.
 *
 * @example
 * ```ts
 * await oneSendAtATime(store, 'order-1', () => storeTheEvent());
 * ```
 */
export function oneSendAtATime<T>(store: SagaStore, id: string, send: () => Promise<T>): Promise<T> {
  let byId = sending.get(store);
  if (!byId) sending.set(store, (byId = new Map()));
  const ids = byId;
  const before = ids.get(id);
  const run = before ? before.then(send) : send(); // none under way: at once, not a tick later
  const tail = run.then(
    () => {},
    () => {},
  );
  ids.set(id, tail);
  void tail.then(() => {
    if (ids.get(id) === tail) ids.delete(id);
  });
  return run;
}

/** The event rows of an inbox (commands are no backlog). */
const events = (rows: readonly InboxEvent[]) => rows.filter((row) => row.kind !== 'command').map((row) => ({ name: row.name }));

/** The inbox of a stored snapshot's context (events delivered, not yet taken by a wait). */
function storedInbox(record: SagaRecord): { name?: unknown }[] {
  try {
    const stored = (JSON.parse(record.snapshot) as { context?: { inbox?: unknown } } | null)?.context?.inbox;
    return Array.isArray(stored) ? (stored as { name?: unknown }[]) : [];
  } catch {
    return []; // an unreadable snapshot is the worker's to report (CorruptRecordError); the rows alone are counted
  }
}

/** What the inbox needs of its runtime. */
export interface InboxDeps {
  store: SagaStore;
  clock: Clock;
  sagas: SagaRegistry;
  live: Map<string, Live>;
  maxInputBytes: number | undefined;
  /** Whether the runtime runs (else a send is only stored, for the next start). */
  running: () => boolean;
  /** Asks the poller to claim the saga now (it runs elsewhere or not at all yet). */
  poll: (id: string) => void;
  /** Ends a saga still waiting in its queue `cancelled`; false when it left the queue meanwhile. */
  cancelQueued: (id: string) => Promise<boolean>;
}

/**
 * The way in to a saga from outside: events and control commands are stored
 * first (never lost), then delivered at once when this worker runs the saga,
 * else by the worker that claims it. Everything is checked before it is
 * stored: the saga exists and has not ended, the event is one it waits for,
 * the payload passes the wait's schema and survives JSON, and the saga has
 * room for one more of that name (assertStoredBacklogRoom).
 *
 * @internal
 * @example
 * ```ts
 * const inbox = new Inbox({ store, clock, sagas, live, maxInputBytes: undefined, running: () => true, poll: (id) => poller.poll(id) });
 * await inbox.send('order-1', 'payment.confirmed', { ref: 'p-1' });
 * ```
 */
export class Inbox {
  constructor(private readonly deps: InboxDeps) {}

  /** Stores an event for a saga, then delivers it. */
  async send(id: string, name: string, payload?: unknown): Promise<void> {
    assertSagaId(id);
    await oneSendAtATime(this.deps.store, id, () => this.store(id, name, payload));
    await this.delivered(id);
  }

  /** Checks an event, then stores it (one send to a saga at a time: {@link oneSendAtATime}). */
  private async store(id: string, name: string, payload: unknown): Promise<void> {
    // Read before the record, for the backlog check (assertStoredBacklogRoom).
    const pending = await this.deps.store.inbox(id);
    const record = await this.target(id);
    if (typeof name !== 'string') throw new UnknownEventError(record.sagaName, String(name), []);
    if (hasEnded(record.status)) throw new SagaEndedError(id, record.status, `take the event ${JSON.stringify(name)}`);
    const definition = this.deps.sagas.get(record.sagaName, record.version);
    // A saga this runtime cannot run is checked by the worker that runs it (it consumes unknown events without effect).
    let value = payload;
    if (definition) {
      if (!definition.compiled.events.includes(name)) throw new UnknownEventError(record.sagaName, name, definition.compiled.events);
      value = await definition.validateEvent(name, payload);
    }
    // Like input and results: a payload JSON would change is refused before it is stored.
    const unserializable = findUnserializable(value, this.deps.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES);
    if (unserializable) throw new InvalidEventError(record.sagaName, name, [{ message: `${unserializable.path} is ${unserializable.reason}` }]);
    await assertStoredBacklogRoom(this.deps.store, record, name, pending);
    await this.deps.store.sendEvent(id, name, JSON.stringify(value ?? null), this.deps.clock.now(), 'event');
  }

  /** Stores a cancel for a saga that has not ended. */
  async cancel(id: string): Promise<void> {
    const record = await this.target(id);
    if (hasEnded(record.status)) throw new SagaEndedError(id, record.status, 'cancel');
    // Promoted meanwhile: it is no longer queued, and the command below cancels it where it runs.
    if (record.status === 'queued' && (await this.deps.cancelQueued(id))) return;
    await this.command(id, 'cancel');
  }

  /** Stores a retry of the compensation of a saga that ended `failed`. */
  async retryCompensation(id: string): Promise<void> {
    const record = await this.target(id);
    if (record.status !== 'failed') throw new SagaNotFailedError(id, record.status);
    await this.command(id, 'retryCompensation');
  }

  /** Stores a command in the command channel, then delivers it. */
  async command(id: string, name: CommandName, payload: unknown = null): Promise<void> {
    await this.deps.store.sendEvent(id, name, JSON.stringify(payload), this.deps.clock.now(), 'command');
    await this.delivered(id);
  }

  /** The record a send or command is for; the id is checked first. */
  private async target(id: string): Promise<SagaRecord> {
    assertSagaId(id);
    const record = await this.deps.store.get(id);
    if (!record) throw new UnknownSagaError(id);
    return record;
  }

  /** After a send: delivers it at once when this worker runs the saga, else asks the poller to claim it. */
  async delivered(id: string): Promise<void> {
    const live = this.deps.live.get(id);
    // Everything still pending, in order: events stored by other processes before this one come first.
    if (live) deliver(live, await this.deps.store.inbox(id), this.deps.clock.now());
    else if (this.deps.running()) this.deps.poll(id);
  }
}
