import type { SagaEvent } from '../compilation/machine.js';
import type { InboxEvent } from '../stores/types.js';
import { childOutcomeEvent } from '../kinds/child.js';

/**
 * The command channel: what a stored inbox row of kind `'command'` means to
 * the chart. A Map, so a name can only ever be one of these (no prototype
 * lookups), and a user event never reaches it: user events are rows of kind
 * `'event'`, whatever their name.
 */
const COMMANDS = new Map<string, string>([
  ['cancel', 'orsa.cancel'],
  ['retryCompensation', 'orsa.retryCompensation'],
  // From `orsa resume`: no transition; its commit consumes it, and the claim that delivered it resumed the saga.
  ['resume', 'orsa.nudge'],
  // Stored by a worker that lost its lease while steps ran; the payload names the executions ({ execs }).
  ['leaseLost', 'orsa.leaseLost'],
  // Child sagas (src/kinds/child.ts): a parent asks a parked child to roll back, or to complete;
  // a child's write tells its parent that it parked or ended (the payload is a ChildEnded).
  ['compensate', 'orsa.compensateChild'],
  ['release', 'orsa.release'],
  ['childEnded', 'childEnded'],
]);

/** The command names a runtime stores (`SagaStore.sendEvent(id, name, payload, at, 'command')`). */
export type CommandName = 'cancel' | 'retryCompensation' | 'resume' | 'leaseLost' | 'compensate' | 'release' | 'childEnded';

/**
 * Turns a stored inbox row into the chart event it stands for. A row that
 * means nothing to this saga (an event no wait declares, an unknown command,
 * an unreadable payload) becomes a no-op that still carries its `seq`, so
 * the next write consumes it instead of keeping it in the snapshot.
 *
 * @example
 * ```ts
 * toChartEvent({ seq: 4, sagaId: 'o-1', kind: 'command', name: 'cancel', payload: 'null', at }, ['approved'], now); // { type: 'orsa.cancel', seq: 4, now }
 * ```
 */
export function toChartEvent(row: InboxEvent, waitedFor: readonly string[], now: number): SagaEvent {
  const seq = row.seq;
  const ignored = { type: 'orsa.nudge', seq, now };
  if (row.kind === 'command') {
    const type = COMMANDS.get(row.name);
    if (type === undefined) return ignored;
    if (type === 'childEnded') {
      const event = childOutcomeEvent(parse(row.payload), now);
      return event ? { ...event, seq } : ignored;
    }
    if (type !== 'orsa.leaseLost') return { type, seq, now };
    const payload = parse(row.payload) as { execs?: unknown } | undefined;
    return { type, execs: Array.isArray(payload?.execs) ? payload.execs : [], seq, now };
  }
  // Rows from before the channels existed may lack a kind: they are events.
  if (!waitedFor.includes(row.name)) return ignored;
  const payload = parse(row.payload);
  return payload === undefined ? ignored : { type: 'orsa.event', name: row.name, payload, seq, now };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
