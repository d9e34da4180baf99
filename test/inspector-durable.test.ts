import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWebSocketInspector } from '@statelyai/inspect';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { main } from '../src/cli/main.js';
import { createRuntime, createTestClock, saga } from '../src/index.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

type Frame = {
  type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot';
  sessionId: string;
  name?: string;
  definition?: string;
  event?: { type: string; step?: string; history?: string };
  snapshot?: { value?: unknown; status?: string };
};

const napper = saga('napper')
  .step('before', () => 'b')
  .sleep('nap', 1_000)
  .step('after', () => 'a')
  .build();
const approval = saga('approval')
  .step('prepare', () => 'p')
  .waitFor('decision', { event: 'approved' })
  .step('apply', () => 'applied')
  .build();

describe('Stately inspector for durable sagas', () => {
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
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, frames };
  }

  it('shows a saga as one actor named by its saga and id, across wakes and across processes', async () => {
    const { url, frames } = await startServer();
    const store = new SqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'orsa-inspect-')), 'sagas.db') });
    cleanups.push(() => store.close());
    const clock = createTestClock();
    // Two processes, each with its own inspector connection: the first starts the saga, which sleeps; the second wakes it.
    const first = createWebSocketInspector({ url });
    const second = createWebSocketInspector({ url });
    cleanups.push(() => first.stop(), () => second.stop());
    const a = createRuntime({ sagas: [napper], store, clock, workerId: 'worker-a', inspect: first.inspect });
    await a.startSaga(napper, undefined, { id: 'nap-1' });
    await clock.advance(10);
    await a.stop();
    const b = createRuntime({ sagas: [napper], store, clock, workerId: 'worker-b', inspect: second.inspect });
    cleanups.push(() => b.stop());
    await b.start();
    await clock.advance(2_000);
    await expect(b.result('nap-1')).resolves.toEqual({ before: 'b', after: 'a' });

    await vi.waitFor(() => expect(frames.some((f) => f.type === '@xstate.snapshot' && f.snapshot?.value === 'completed')).toBe(true));
    const actors = frames.filter((f) => f.type === '@xstate.actor');
    expect(actors.length).toBeGreaterThanOrEqual(2); // one per wake: the same actor announced again
    expect(new Set(frames.map((f) => f.sessionId))).toEqual(new Set(['orsa:napper:nap-1']));
    expect(new Set(actors.map((f) => f.name))).toEqual(new Set(['napper nap-1']));
    const events = frames.filter((f) => f.type === '@xstate.event').map((f) => f.event!.type);
    // Two XState actors (one per process) feed the one inspector actor, in order.
    expect(events).toEqual(['xstate.init', 'orsa.done.before', 'xstate.init', 'orsa.wake', 'orsa.done.after']);
  });

  it('orsa inspect replays a stored saga and follows it live until it ends', async () => {
    const { url, frames } = await startServer();
    const db = join(mkdtempSync(join(tmpdir(), 'orsa-inspect-cli-')), 'sagas.db');
    const store = new SqliteStore({ path: db });
    const clock = createTestClock();
    const runtime = createRuntime({ sagas: [approval], store, clock });
    cleanups.push(async () => {
      await runtime.stop();
      await store.close();
    });
    await runtime.startSaga(approval, undefined, { id: 'approval-1' });
    await clock.advance(10);

    const logs: string[] = [];
    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const inspecting = main(['inspect', 'approval-1', '--url', url, '--db', db, '--interval-ms', '50'], { log: (s) => logs.push(s), error: (s) => logs.push(s) }, { signal: controller.signal });

    await vi.waitFor(() => expect(frames.some((f) => f.type === '@xstate.snapshot' && f.snapshot?.value === 'decision')).toBe(true), { timeout: 10_000 });
    const actor = frames.find((f) => f.type === '@xstate.actor')!;
    expect(actor).toMatchObject({ sessionId: 'orsa:approval:approval-1', name: 'approval approval-1' });
    expect(JSON.parse(actor.definition!)).toEqual({ id: 'approval' }); // no --sagas: the stored saga's name only
    const replayed = frames.filter((f) => f.type === '@xstate.event').map((f) => f.event!.type);
    expect(replayed).toEqual(['saga.started', 'step.started', 'orsa.done.prepare']);

    await runtime.send('approval-1', 'approved');
    await clock.advance(10);
    expect(await inspecting).toBe(0); // it stops by itself once the saga has ended
    const events = frames.filter((f) => f.type === '@xstate.event').map((f) => f.event!.type);
    // The wake that delivered the event is recorded (saga.resumed, with the worker's id) before what it ran.
    expect(events.slice(3)).toEqual(['saga.resumed', 'orsa.event', 'step.started', 'orsa.done.apply', 'saga.completed']);
    expect(frames.at(-1)).toMatchObject({ type: '@xstate.snapshot', sessionId: 'orsa:approval:approval-1', snapshot: { value: 'completed' } });
    expect(logs.at(-1)).toMatch(/saga approval-1 is completed; it ended/);
  });
  it('orsa inspect stops and says so when no inspector answers at --url, instead of waiting for ever', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'orsa-inspect-none-')), 'sagas.db');
    const store = new SqliteStore({ path: db });
    const runtime = createRuntime({ sagas: [napper], store, clock: createTestClock() });
    await runtime.startSaga(napper, undefined, { id: 'napper-9' });
    await runtime.stop();
    await store.close();
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const logs: string[] = [];
    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const code = await main(['inspect', 'napper-9', '--url', `ws://127.0.0.1:${port}`, '--db', db], { log: (s) => logs.push(s), error: (s) => logs.push(s) }, { signal: controller.signal });
    expect(code).toBe(1);
    expect(logs.at(-1)).toMatch(new RegExp(`no inspector answers at ws://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\); start the inspector's WebSocket server first`));
  });
});
