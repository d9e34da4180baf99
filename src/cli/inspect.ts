import { InspectorMissingError, InspectorUnreachableError } from '../errors.js';
import { inspectorSessionId } from '../durable/inspect-adapter.js';
import { FINAL_STATUSES, type HistoryEvent, type SagaStore } from '../stores/types.js';
import type { Output } from './commands.js';
import { loadSagaModule } from './saga-module.js';
import { clean } from './terminal.js';

/** The chart event a history entry stands for, so the replay reads like the live actor's events. */
function replayEvent(entry: HistoryEvent): { type: string; [key: string]: unknown } {
  const data = entry.data && typeof entry.data === 'object' ? (entry.data as Record<string, unknown>) : {};
  const fields = { ...data, ...(entry.step ? { step: entry.step } : {}), ...(entry.attempt ? { attempt: entry.attempt } : {}), at: entry.at, historySeq: entry.seq };
  const byType: Record<string, string> = {
    'step.completed': `orsa.done.${entry.step}`,
    'step.failed': `orsa.fail.${entry.step}`,
    'step.retrying': `orsa.fail.${entry.step}`,
    'event.received': 'orsa.event',
    'saga.cancelling': 'orsa.cancel',
    'compensation.completed': 'orsa.compensated',
    'compensation.failed': 'orsa.compensationFailed',
    'compensation.retrying': 'orsa.compensationFailed',
  };
  return { ...fields, type: byType[entry.type] ?? entry.type, history: entry.type };
}

const INSPECT_PACKAGE: string = '@statelyai/inspect';

type Inspector = { inspect: { next?: (event: unknown) => void }; adapter?: { status?: string }; stop(): void };

/**
 * `orsa inspect <id> --url ws://…`: replays a stored saga into a Stately
 * WebSocket inspector (its chart, one event per history entry, its stored
 * snapshot), then follows it, polling the store every `intervalMs`, until the
 * saga ends or `signal` aborts. The actor has the session id and name the
 * runtime's `inspect` option gives the live saga, so both show as one actor.
 *
 * @example
 * ```ts
 * await runInspect(store, 'order-1', { url: 'ws://127.0.0.1:8080', intervalMs: 1000, signal, out });
 * ```
 */
export async function runInspect(
  store: SagaStore,
  id: string | undefined,
  options: { url?: string | undefined; sagas?: string | undefined; intervalMs: number; signal: AbortSignal; out: Output },
): Promise<number> {
  const { out, signal } = options;
  if (!id) return usage(out, 'inspect needs a saga id');
  if (!options.url || !/^wss?:\/\//.test(options.url)) return usage(out, 'inspect needs the inspector URL: --url ws://HOST:PORT');
  let record = await store.get(id);
  if (!record) {
    out.error(`orsa: no saga with id "${clean(id)}"; orsa list shows them`);
    return 1;
  }
  const definitions = options.sagas ? await loadSagaModule(options.sagas) : [];
  const definition = definitions.find((d) => d.name === record!.sagaName && d.version === record!.version) ?? definitions.find((d) => d.name === record!.sagaName);
  let module: { createWebSocketInspector: (o: { url: string }) => Inspector };
  try {
    // A computed specifier: the bundler leaves it out of dist, and it resolves from the user's node_modules (an optional peer).
    const specifier = INSPECT_PACKAGE;
    module = (await import(specifier)) as never;
  } catch (error) {
    throw new InspectorMissingError({ cause: error });
  }
  // The inspector reconnects every 5 s for ever, even after stop(): make sure something listens before starting it.
  await assertReachable(options.url);
  const inspector = module.createWebSocketInspector({ url: options.url });
  const sessionId = inspectorSessionId(record.sagaName, id);
  let snapshot: unknown = JSON.parse(record.snapshot);
  const actorRef = {
    id: `${record.sagaName} ${id}`,
    sessionId,
    _parent: undefined,
    logic: { config: definition?.config ?? { id: record.sagaName } },
    getSnapshot: () => snapshot,
  };
  const next = (event: Record<string, unknown>) => inspector.inspect.next?.({ ...event, actorRef, rootId: sessionId });
  out.log(`orsa inspect: saga ${clean(id)} (${clean(record.sagaName)}) → ${clean(options.url)} as actor ${clean(sessionId)}; Ctrl-C stops`);
  next({ type: '@xstate.actor' });
  let lastSeq = 0;
  let rowVersion = -1;
  try {
    for (;;) {
      const history = (await store.history(id)).filter((e) => (e.seq ?? 0) > lastSeq);
      let last: ReturnType<typeof replayEvent> | undefined;
      for (const entry of history) {
        last = replayEvent(entry);
        next({ type: '@xstate.event', event: last, sourceRef: undefined });
        lastSeq = Math.max(lastSeq, entry.seq ?? 0);
      }
      if (record.rowVersion !== rowVersion || last) {
        snapshot = JSON.parse(record.snapshot);
        next({ type: '@xstate.snapshot', event: last ?? { type: 'orsa.stored' }, snapshot });
        rowVersion = record.rowVersion;
      }
      if (FINAL_STATUSES.includes(record.status) || signal.aborted) break;
      await pause(options.intervalMs, signal);
      record = (await store.get(id)) ?? record;
    }
    await flushed(inspector, signal);
    out.log(`orsa inspect: saga ${clean(id)} is ${record.status}${FINAL_STATUSES.includes(record.status) ? '; it ended, nothing more to follow' : ''}`);
    return 0;
  } finally {
    inspector.stop();
  }
}

/** Longest wait for the inspector to accept a connection, in ms. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Connects once to `url` and hangs up; throws a message saying what to do when nothing answers there. */
async function assertReachable(url: string): Promise<void> {
  const specifier = WS_PACKAGE;
  const { default: WebSocket } = (await import(specifier)) as { default: new (url: string) => WsProbe };
  await new Promise<void>((resolve, reject) => {
    const socket = new WebSocket(url);
    const fail = (reason: string) => {
      clearTimeout(timer);
      socket.terminate();
      reject(new InspectorUnreachableError(url, reason));
    };
    const timer = setTimeout(() => fail(`no answer within ${CONNECT_TIMEOUT_MS} ms`), CONNECT_TIMEOUT_MS);
    socket.on('error', (error: Error) => fail(error.message || String(error)));
    socket.on('open', () => {
      clearTimeout(timer);
      socket.close();
      resolve();
    });
  });
}

const WS_PACKAGE: string = 'ws';
type WsProbe = { on(event: string, listener: (...args: any[]) => void): void; close(): void; terminate(): void };

function usage(out: Output, text: string): number {
  out.error(`orsa: ${text}: orsa inspect <id> --url ws://HOST:PORT [--sagas MODULE]`);
  return 2;
}

/** Waits until the inspector is connected and its idle-callback sends have run, so stopping loses nothing. */
async function flushed(inspector: Inspector, signal: AbortSignal): Promise<void> {
  // Bounded: an inspector that went away since the start must not keep a finished saga's inspect running.
  for (let waited = 0; inspector.adapter?.status !== 'open' && !signal.aborted && waited < CONNECT_TIMEOUT_MS; waited += 50) await pause(50, signal);
  for (let i = 0; i < 3; i++) await pause(0, signal);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
