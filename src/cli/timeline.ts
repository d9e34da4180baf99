import type { HistoryEvent, InboxEvent, SagaRecord } from '../stores/types.js';

/** One line of a saga's timeline, as `orsa show` and the dashboard present it. */
export interface TimelineEntry {
  /** ms since the saga started; never negative. */
  offsetMs: number;
  at: number;
  type: string;
  step: string | null;
  attempt: number | null;
  /** What happened, in words (error message, due time, worker ids, compensation report). */
  detail: string;
  /** A takeover: another worker resumed the saga and runs its steps again. */
  takeover?: { worker: string; previous: string | null };
}

/** The parts of a stored snapshot operators look at. */
export interface SnapshotView {
  value: unknown;
  context: {
    input?: unknown;
    results?: Record<string, unknown>;
    active?: Record<string, { attempt: number; exec: string }>;
    visits?: Record<string, number>;
    timers?: Record<string, number>;
    failure?: { step: string | null; error?: { message?: string; code?: string } };
    compError?: { message?: string };
    log?: { step: string; exec: string }[];
    compensated?: string[];
  };
}

/**
 * The stored snapshot, or null when it cannot be read (operators still see the record).
 *
 * @example
 * ```ts
 * snapshotOf(record)?.context.results;
 * ```
 */
export function snapshotOf(record: Pick<SagaRecord, 'snapshot'>): SnapshotView | null {
  let parsed;
  try {
    parsed = JSON.parse(record.snapshot);
  } catch {
    return null;
  }
  if (!isObject(parsed) || !isObject(parsed.context)) return null;
  // A record written by another version or by hand may hold anything: keep only the maps this view promises.
  const context = { ...parsed.context };
  for (const key of MAPS) if (context[key] !== undefined && !isObject(context[key])) delete context[key];
  if (context.active) context.active = Object.fromEntries(Object.entries(context.active).filter(([, a]) => isObject(a)));
  return { ...parsed, context } as SnapshotView;
}

const MAPS = ['results', 'active', 'visits', 'timers'] as const;
const isObject = (value: unknown): value is Record<string, any> => !!value && typeof value === 'object' && !Array.isArray(value);

/**
 * A state value as text: `charge`, `rollback.compensating`, `ship.{a.x, b.y}`.
 *
 * @example
 * ```ts
 * stateText({ rollback: 'compensating' }); // 'rollback.compensating'
 * ```
 */
export function stateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => (v && typeof v === 'object' ? `${k}.{${stateText(v)}}` : `${k}.${String(v)}`))
      .join(', ');
  }
  return String(value);
}

/**
 * Epoch ms as `2026-11-26 09:15:18Z` (milliseconds shown when not zero); `-` for null.
 *
 * @example
 * ```ts
 * iso(Date.UTC(2026, 0, 1)); // '2026-01-01 00:00:00Z'
 * ```
 */
export const iso = (ms: number | null | undefined): string =>
  typeof ms !== 'number' || !Number.isFinite(ms) ? '-' : new Date(ms).toISOString().replace('T', ' ').replace('.000Z', 'Z');

function describe(event: HistoryEvent): string {
  const data = (event.data && typeof event.data === 'object' ? event.data : {}) as Record<string, any>;
  const parts: string[] = [];
  if (data.error?.message !== undefined) parts.push(`error: ${String(data.error.message)}`);
  if (typeof data.dueAt === 'number') parts.push(`${event.type === 'sleep.started' ? 'until' : 'retry at'} ${iso(data.dueAt)}`);
  if (data.report && Array.isArray(data.report.compensated)) {
    const undone = Array.isArray(data.report.undone) ? data.report.undone : [];
    parts.push(`compensated [${data.report.compensated.join(', ')}]${undone.length ? `, still undone [${undone.join(', ')}]` : ''}`);
  }
  if (data.name !== undefined) parts.push(`event ${String(data.name)}`);
  if (typeof data.worker === 'string' && event.type === 'saga.started') parts.push(`by worker ${data.worker}`);
  return parts.join('; ');
}

/**
 * A saga's history as a timeline: `saga.started` first, offsets from it
 * (never negative, even for entries stamped a little before it by older
 * versions), and every `saga.resumed` by another worker shown as a takeover
 * with both worker ids.
 *
 * @example
 * ```ts
 * for (const e of timelineOf(record, await store.history(id))) console.log(`+${e.offsetMs}`, e.type, e.detail);
 * ```
 */
export function timelineOf(record: Pick<SagaRecord, 'createdAt'>, history: readonly HistoryEvent[]): TimelineEntry[] {
  const ordered = [...history].sort((a, b) => (a.type === 'saga.started' ? -1 : b.type === 'saga.started' ? 1 : 0));
  // A loop, not Math.min(...): a long-running saga's history can exceed the engine's argument limit.
  const start = history.reduce((min, e) => Math.min(min, e.at), record.createdAt);
  let worker: string | null = null;
  return ordered.map((event) => {
    const entry: TimelineEntry = {
      offsetMs: Math.max(0, event.at - start),
      at: event.at,
      type: event.type,
      step: event.step ?? null,
      attempt: event.attempt ?? null,
      detail: describe(event),
    };
    const by = (event.data as { worker?: unknown } | null | undefined)?.worker;
    if (typeof by === 'string') {
      if (event.type === 'saga.resumed' && by === worker) entry.detail = `resumed by worker ${by}`;
      else if (event.type === 'saga.resumed') {
        entry.takeover = { worker: by, previous: worker };
        entry.detail = worker ? `taken over by worker ${by} (was ${worker})` : `resumed by worker ${by}`;
      }
      worker = by;
    }
    return entry;
  });
}

/**
 * Failed attempts per step (retried or failed for good), for the chart's counters.
 *
 * @example
 * ```ts
 * failuresByStep(await store.history(id)); // { charge: 2 }
 * ```
 */
export function failuresByStep(history: readonly HistoryEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of history) {
    if ((e.type === 'step.failed' || e.type === 'step.retrying') && e.step) counts[e.step] = (counts[e.step] ?? 0) + 1;
  }
  return counts;
}

/**
 * Inbox events as operators read them: name, payload (JSON text), when.
 *
 * @example
 * ```ts
 * pendingOf(await store.inbox(id));
 * ```
 */
export const pendingOf = (inbox: readonly InboxEvent[]) =>
  inbox.map((e) => ({ seq: e.seq, name: e.name, payload: e.payload, at: e.at }));
