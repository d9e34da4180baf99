import { OrsaError } from '../errors.js';
import { FINAL_STATUSES, type SagaStore } from '../store/types.js';

/** What an operator can ask of a stored saga, from the CLI or the dashboard. */
export type ControlCommand = 'cancel' | 'retry' | 'resume' | 'event';

/** Inbox names of the control events (the runtime maps them to chart events). */
const CONTROL = { resume: '$resume', cancel: '$cancel', retry: '$retryCompensation' } as const;

/**
 * A command that makes no sense for this saga; the message says why and what to do.
 *
 * @example
 * ```ts
 * try { await sendCommand(store, id, { command: 'retry' }, Date.now()); } catch (e) { if (e instanceof ControlRefusedError) console.error(e.message); }
 * ```
 */
export class ControlRefusedError extends OrsaError {
  declare readonly code: 'UNKNOWN_SAGA' | 'SAGA_ENDED' | 'NOT_FAILED' | 'BAD_EVENT';
  constructor(code: ControlRefusedError['code'], message: string) {
    super(code, message);
  }
}

/**
 * Stores an operator's command in the saga's inbox, where the worker running
 * the saga picks it up (the CLI and the dashboard never run step code). The
 * one place commands are written: when inbox rows get a `kind` column for
 * commands, only this function changes.
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
): Promise<{ seq: number; sagaName: string; version: string }> {
  const record = await store.get(id);
  if (!record) throw new ControlRefusedError('UNKNOWN_SAGA', `no saga with id "${id}"; orsa list shows them`);
  const { command } = request;
  if (FINAL_STATUSES.includes(record.status)) {
    throw new ControlRefusedError('SAGA_ENDED', `saga ${id} already ended ${record.status}; there is nothing to ${command}`);
  }
  if (command === 'retry' && record.status !== 'failed') {
    throw new ControlRefusedError('NOT_FAILED', `saga ${id} is ${record.status}, not failed; retry applies to a saga whose compensation could not finish`);
  }
  let name: string;
  let payload = 'null';
  if (command === 'event') {
    if (typeof request.name !== 'string' || request.name.length === 0 || request.name.startsWith('$')) {
      throw new ControlRefusedError('BAD_EVENT', 'an event needs a name (the one the saga waits for), not empty and not starting with $');
    }
    name = request.name;
    try {
      payload = JSON.stringify(request.payload ?? null);
    } catch (error) {
      throw new ControlRefusedError('BAD_EVENT', `the event payload cannot be stored as JSON (${(error as Error).message}); send plain JSON`);
    }
  } else name = CONTROL[command];
  const event = await store.sendEvent(id, name, payload, nowMs);
  return { seq: event.seq, sagaName: record.sagaName, version: record.version };
}

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
