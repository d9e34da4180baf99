import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { saga } from '../src/index.js';

/**
 * The Stately inspector's WebSocket adapter sends one JSON text frame per
 * inspection record: `@xstate.actor` (name = the actor's id, `definition` =
 * the machine config as JSON), `@xstate.event` and `@xstate.snapshot`, each
 * with the actor's `sessionId`. In Node it connects with the `ws` package
 * (through isomorphic-ws), so no WebSocket implementation has to be passed.
 */
type Frame = {
  type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot';
  sessionId: string;
  name?: string;
  definition?: string;
  event?: { type: string };
  snapshot?: { value?: unknown; status?: string; context?: { results?: Record<string, unknown> } };
};

describe('Stately inspector', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function startServer() {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const frames: Frame[] = [];
    const sockets = new Set<WebSocket>();
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
    });
    cleanups.push(async () => {
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, frames, server };
  }

  const exchange = saga('inspected-exchange')
    .input<{ amount: number }>()
    .step('rates', () => ({ USD: 3 }))
    .step('convert', ({ input, results }) => input.amount * results.rates.USD)
    .build();

  it('receives the saga actor, its step events and its final snapshot over a WebSocket', async () => {
    const { url, frames, server } = await startServer();
    const connected = once(server, 'connection');
    const inspector = createWebSocketInspector({ url });
    cleanups.push(() => inspector.stop());
    await connected;

    const sagaId = 'saga-inspected-1';
    const results = await exchange.run({ amount: 2 }, { sagaId, inspect: inspector.inspect });
    expect(results).toEqual({ rates: { USD: 3 }, convert: 6 });

    // The inspector sends from an idle callback: wait for the last snapshot to arrive.
    await vi.waitFor(() => expect(frames.some((f) => f.type === '@xstate.snapshot' && f.snapshot?.value === 'completed')).toBe(true));

    const actor = frames.find((f) => f.type === '@xstate.actor' && f.name === sagaId);
    expect(actor, 'an @xstate.actor frame named after the saga id').toBeDefined();
    expect(JSON.parse(actor!.definition!)).toMatchObject({ id: 'inspected-exchange', initial: 'rates' });
    const mine = frames.filter((f) => f.sessionId === actor!.sessionId);

    const events = mine.filter((f) => f.type === '@xstate.event').map((f) => f.event!.type);
    expect(events).toEqual(expect.arrayContaining(['orsa.done.rates', 'orsa.done.convert']));
    expect(events.indexOf('orsa.done.rates')).toBeLessThan(events.indexOf('orsa.done.convert'));

    const snapshots = mine.filter((f) => f.type === '@xstate.snapshot');
    const afterRates = snapshots.find((f) => f.event?.type === 'orsa.done.rates');
    expect(afterRates?.snapshot).toMatchObject({ value: 'convert', context: { results: { rates: { USD: 3 } } } });
    const last = snapshots[snapshots.length - 1]!;
    expect(last.event?.type).toBe('orsa.done.convert');
    expect(last.snapshot).toMatchObject({ value: 'completed', status: 'done', context: { results: { convert: 6 } } });
  });

  it('shows a saga that ran before the inspector had connected', async () => {
    const { url, frames } = await startServer();
    const inspector = createWebSocketInspector({ url });
    cleanups.push(() => inspector.stop());

    // Run at once: the records are deferred until the connection is up.
    await exchange.run({ amount: 1 }, { sagaId: 'saga-inspected-2', inspect: inspector.inspect });
    await vi.waitFor(() => expect(frames.some((f) => f.type === '@xstate.snapshot' && f.snapshot?.value === 'completed')).toBe(true));
    expect(frames.some((f) => f.type === '@xstate.actor' && f.name === 'saga-inspected-2')).toBe(true);
  });
});
