import { BadEventError, EventBacklogFullError, SagaEndedError, SagaNotFailedError, UnknownSagaError } from '../errors.js';
import type { CommandName } from '../durable/commands.js';
import { assertStoredBacklogRoom, oneSendAtATime } from '../durable/inbox.js';
import { FINAL_STATUSES, type SagaStore } from '../stores/types.js';

/** What an operator can ask of a stored saga, from the CLI or the dashboard. */
export type ControlCommand = 'cancel' | 'retry' | 'resume' | 'event';

/** Runtime commands travel in the inbox's command channel, apart from user events (see src/durable/commands.ts). */
const CONTROL = { resume: 'resume', cancel: 'cancel', retry: 'retryCompensation' } as const satisfies Record<string, CommandName>;

/**
 * Whether an error is sendCommand refusing a command that makes no sense for
 * this saga (no such saga, its run ended, it is not failed, a bad event, a
 * full backlog of that event); the message says why and what to do.
 *
 * @example
 * ```ts
 * try { await sendCommand(store, id, { command: 'retry' }, Date.now()); } catch (e) { if (isControlRefusal(e)) console.error(e.message); }
 * ```
 */
export function isControlRefusal(error: unknown): error is UnknownSagaError | SagaEndedError | SagaNotFailedError | BadEventError | EventBacklogFullError {
  return (
    error instanceof UnknownSagaError ||
    error instanceof SagaEndedError ||
    error instanceof SagaNotFailedError ||
    error instanceof BadEventError ||
    error instanceof EventBacklogFullError
  );
}

/**
 * Stores an operator's command in the saga's inbox, where the worker running
 * the saga picks it up (the CLI and the dashboard never run step code). The
 * one place they write the inbox: commands go in as kind `'command'`, user
 * events as kind `'event'`, so no event name can ever act as a command.
 *
 * @example
 * ```ts
 * const { seq } = await sendCommand(store, 'order-1', { command: 'cancel' }, Date.now());
 * await sendCommand(store, 'order-1', { command: 'event', name: 'confirmed', payload: { by: 'ops' } }, Date.now());
 * ```
 */
export async function sendCommand(
  store: SagaStore,
  id: string,
  request: { command: ControlCommand; name?: string; payload?: unknown },
  nowMs: number,
): Promise<{ seq: number; sagaName: string; version: string; cancelledQueued?: true }> {
  // Events one at a time per saga (the dashboard serves requests concurrently): each backlog check counts the rows stored before it.
  return request.command === 'event' ? oneSendAtATime(store, id, () => storeCommand(store, id, request, nowMs)) : storeCommand(store, id, request, nowMs);
}

async function storeCommand(
  store: SagaStore,
  id: string,
  request: { command: ControlCommand; name?: string; payload?: unknown },
  nowMs: number,
): Promise<{ seq: number; sagaName: string; version: string; cancelledQueued?: true }> {
  const { command } = request;
  // Read before the record, for the backlog check (assertStoredBacklogRoom).
  const pending = command === 'event' ? await store.inbox(id) : undefined;
  const record = await store.get(id);
  if (!record) throw new UnknownSagaError(id);
  // A queued saga has no worker to act on a command: stored, the cancel would wait for a slot and run the
  // saga's first step before cancelling it. It ends cancelled here, having run nothing (unless promoted meanwhile:
  // then the command below reaches the worker now running it).
  if (command === 'cancel' && record.status === 'queued') {
    const history = [{ at: nowMs, type: 'saga.cancelled', step: null, attempt: null, data: { queued: true } }] as const;
    if (await store.cancelQueued(id, nowMs, history)) return { seq: 0, sagaName: record.sagaName, version: record.version, cancelledQueued: true };
  }
  // As the runtime decides: a failed saga takes only retry (its run has ended; it waits for an operator).
  if (FINAL_STATUSES.includes(record.status) || (record.status === 'failed' && command !== 'retry')) {
    throw new SagaEndedError(id, record.status, command, `retry its compensation (orsa retry ${id})`);
  }
  if (command === 'retry' && record.status !== 'failed') {
    throw new SagaNotFailedError(id, record.status);
  }
  let name: string;
  let payload = 'null';
  if (command === 'event') {
    if (typeof request.name !== 'string' || request.name.length === 0) {
      throw new BadEventError('an event needs a name: the one the saga waits for; nothing was stored');
    }
    name = request.name;
    // Refused as the runtime refuses it: the saga would have to drop it.
    await assertStoredBacklogRoom(store, record, name, pending);
    try {
      payload = JSON.stringify(request.payload ?? null);
    } catch (error) {
      throw new BadEventError(`the event payload cannot be stored as JSON (${(error as Error).message}); send plain JSON`, { cause: error });
    }
  } else name = CONTROL[command];
  const event = await store.sendEvent(id, name, payload, nowMs, command === 'event' ? 'event' : 'command');
  return { seq: event.seq, sagaName: record.sagaName, version: record.version };
}

/**
 * The sentence both the CLI and the dashboard show when a cancel ended a queued saga at once.
 *
 * @example
 * ```ts
 * queuedCancelledMessage('order-1');
 * ```
 */
export const queuedCancelledMessage = (id: string): string => `cancelled: saga ${id} was queued; it ended cancelled without running anything`;

/**
 * The sentence both the CLI and the dashboard show once a command is stored: it does not claim a worker is running.
 *
 * @example
 * ```ts
 * storedMessage('cancel', 'order-1', 7, 'order', 'v1');
 * ```
 */
export const storedMessage = (command: ControlCommand, id: string, seq: number, sagaName: string, version: string): string =>
  `stored: ${command} for saga ${id} (event #${seq}); a worker running "${sagaName}" version ${version} will act on it when it runs`;
