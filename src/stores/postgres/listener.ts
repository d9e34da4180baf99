import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { StoreWake, StoreWakeError } from '../types.js';

/**
 * The channel a schema's triggers notify (migration 7: `'orsa_wake_' || md5(schema)`): a fixed length,
 * whatever the schema's name, under PostgreSQL's 63-byte limit on identifiers.
 *
 * @example
 * ```ts
 * wakeChannel('orsa'); // 'orsa_wake_' + 32 hex digits
 * ```
 */
export function wakeChannel(schema: string): string {
  return `orsa_wake_${createHash('md5').update(schema).digest('hex')}`;
}

/**
 * A notification's payload as a wake-up: `i:<saga id>` (an inbox row) or `r:<due at>:<saga id>` (a
 * released saga). Anything else (another program notifying the channel) is no wake-up.
 */
export function parseWake(payload: string | undefined): StoreWake | undefined {
  if (payload?.startsWith('i:')) return { sagaId: payload.slice(2) };
  const released = /^r:(\d+):(.+)$/s.exec(payload ?? '');
  if (!released) return undefined;
  const dueAt = Number(released[1]);
  return Number.isSafeInteger(dueAt) ? { sagaId: released[2]!, dueAt } : { sagaId: released[2]! };
}

/** Delays between attempts to listen again: doubling from 100 ms up to 5 s. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

interface Subscriber {
  onWake: (wake: StoreWake) => void;
  onError: StoreWakeError | undefined;
}

/**
 * One store's LISTEN connection: a client of its own (never one of the write
 * pool's, which it would hold forever), opened for the first subscriber and
 * closed after the last. A connection that fails or ends is replaced after a
 * backoff; each failed attempt is told to the subscribers' `onError`, and
 * once listening again they get a wake-up naming no saga (notifications sent
 * in between are lost, so they look at everything).
 *
 * @internal
 * @example
 * ```ts
 * const listener = new PostgresListener(() => new pg.Client(config), wakeChannel('orsa'));
 * const stop = await listener.subscribe((wake) => console.log(wake));
 * await stop();
 * ```
 */
export class PostgresListener {
  readonly #subscribers = new Set<Subscriber>();
  /** The connection that listens or is being opened; null when closed or between attempts. */
  #client: pg.Client | null = null;
  #opening: Promise<void> | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #failures = 0;

  constructor(
    private readonly newClient: () => pg.Client,
    private readonly channel: string,
  ) {}

  /** Subscribes; resolves once listening, or once the first attempt failed (retried in the background). */
  async subscribe(onWake: (wake: StoreWake) => void, onError?: StoreWakeError): Promise<() => Promise<void>> {
    const subscriber: Subscriber = { onWake, onError };
    this.#subscribers.add(subscriber);
    if (!this.#client && !this.#retry) this.#opening ??= this.#open(false);
    await this.#opening;
    return async () => {
      if (!this.#subscribers.delete(subscriber) || this.#subscribers.size > 0) return;
      await this.close();
    };
  }

  /** Stops listening (every subscription ends). */
  async close(): Promise<void> {
    this.#subscribers.clear();
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    await this.#opening;
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }

  async #open(reconnected: boolean): Promise<void> {
    const client = this.newClient();
    this.#client = client;
    // A connection that drops emits 'error' and/or 'end' (pg 8); unheard, 'error' would crash the process.
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('Connection terminated: the wake-up listener lost its connection')));
    client.on('notification', (message) => {
      const wake = parseWake(message.payload);
      if (wake) this.#tell(wake);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
    } catch (error) {
      this.#lost(client, error);
      return;
    } finally {
      this.#opening = null;
    }
    if (this.#client !== client) return; // closed meanwhile
    this.#failures = 0;
    if (reconnected) this.#tell({});
  }

  /** The connection failed or ended: drop it and, while anyone listens, try again after a backoff. */
  #lost(client: pg.Client, error: unknown): void {
    if (this.#client !== client) return; // already handled (a failure emits both 'error' and 'end'), or closed
    this.#client = null;
    client.end().catch(() => {});
    if (this.#subscribers.size === 0) return;
    const retryInMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(this.#failures++, 16));
    for (const subscriber of [...this.#subscribers]) subscriber.onError?.(error, retryInMs);
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (this.#subscribers.size > 0) this.#opening = this.#open(true);
    }, retryInMs);
    // A retry pending must not keep the process alive on its own.
    this.#retry.unref?.();
  }

  #tell(wake: StoreWake): void {
    for (const subscriber of [...this.#subscribers]) {
      try {
        subscriber.onWake(wake);
      } catch {
        // A subscriber's fault must not stop the others hearing, nor reach pg's event emitter.
      }
    }
  }
}
