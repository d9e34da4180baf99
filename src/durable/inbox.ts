import { InvalidEventError, SagaEndedError, SagaNotFailedError, UnknownEventError, UnknownSagaError } from '../errors.js';
import type { Clock } from '../interpretation/clock.js';
import { DEFAULT_MAX_INPUT_BYTES, findUnserializable } from '../interpretation/serialize.js';
import { assertSagaId } from '../stores/input-checks.js';
import type { SagaRecord, SagaStore } from '../stores/types.js';
import type { CommandName } from './commands.js';
import { deliver, type Live } from './live.js';
import { hasEnded } from './records.js';
import type { SagaRegistry } from './registry.js';

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
 * the payload passes the wait's schema and survives JSON.
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
    await this.deps.store.sendEvent(id, name, JSON.stringify(value ?? null), this.deps.clock.now(), 'event');
    await this.delivered(id);
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
