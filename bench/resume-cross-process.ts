/**
 * Cross-process event latency on PostgreSQL: sagas wait for an event in a
 * worker child process (a runtime with default options); the parent process
 * sends each event through a runtime of its own (not started) on another
 * store over the same schema. Latency: from the send being called to the
 * step after the wait completing in the worker (its onComplete hook, told
 * back over IPC with a wall-clock timestamp). Each send comes after a random
 * pause below the worker's poll interval, so that sends do not line up with
 * its polls. Baseline in the same run: the same saga and send inside one
 * process (`sameProcessEventP50Ms`).
 * Prints { store: 'postgres', scenario: 'crossProcessEvent', sends, pollIntervalMs,
 *   crossProcessEventP50Ms, crossProcessEventP90Ms, sameProcessEventP50Ms }.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRuntime, saga } from '../src/index.js';
import { PostgresStore } from '../src/stores/postgres/store.js';

/** The worker's poll interval: the runtime's default. */
const POLL_INTERVAL_MS = 1_000;
const WORKER_FLAG = '--cross-process-worker';

const waiter = saga('waiter').version('1').input<number>().waitFor('go', { event: 'go' }).step('b', ({ input }) => input + 1).build();

const now = () => performance.timeOrigin + performance.now();
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** True in the worker child: the bench's bundle run with WORKER_FLAG. */
export const isCrossProcessWorker = process.argv[2] === WORKER_FLAG;

/** The worker child: starts `sends` waiting sagas, says so, then reports each completion to the parent. */
export async function runCrossProcessWorker(): Promise<void> {
  const [, , , url, schema, count] = process.argv;
  const store = new PostgresStore({ connectionString: url!, schema: schema! });
  const runtime = createRuntime({
    sagas: [waiter],
    store,
    hooks: { onComplete: (record) => void process.send!({ done: record.id, at: now() }) },
    onError: (e) => console.error(e),
  });
  await runtime.start();
  for (let i = 0; i < Number(count); i++) await runtime.startSaga(waiter, i, { id: `x-${i}` });
  while (((await store.countByStatus()).waiting ?? 0) < Number(count)) await new Promise((resolve) => setTimeout(resolve, 20));
  process.send!({ ready: true });
  process.on('message', async (m: { stop?: boolean }) => {
    if (!m.stop) return;
    await runtime.stop();
    await store.close();
    process.disconnect();
  });
}

function nextMessage<T>(child: ChildProcess, accept: (m: any) => m is T): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (!accept(m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code: number | null) => reject(new Error(`the worker child exited (${code}) before answering`));
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Latency of `sends` events sent and consumed in one process (the worker's own runtime sends). */
async function sameProcess(url: string, schema: string, sends: number): Promise<number[]> {
  const store = new PostgresStore({ connectionString: url, schema });
  await store.init();
  const done = new Map<string, (at: number) => void>();
  const runtime = createRuntime({ sagas: [waiter], store, hooks: { onComplete: (record) => done.get(record.id)?.(now()) }, onError: (e) => console.error(e) });
  await runtime.start();
  const latencies: number[] = [];
  for (let i = 0; i < sends; i++) {
    const id = `s-${i}`;
    await runtime.startSaga(waiter, i, { id });
    while ((await store.get(id))?.status !== 'waiting') await new Promise((resolve) => setTimeout(resolve, 5));
    const completed = new Promise<number>((resolve) => done.set(id, resolve));
    const sentAt = now();
    await runtime.send(id, 'go');
    latencies.push((await completed) - sentAt);
  }
  await runtime.stop();
  await store.close();
  return latencies;
}

/** Measures and prints the crossProcessEvent line. `schema` must not exist yet; the caller drops it (and `${schema}_same`). */
export async function measureCrossProcessEvent(url: string, schema: string, sends: number): Promise<void> {
  const sender = new PostgresStore({ connectionString: url, schema });
  await sender.init();
  const child = spawn(process.execPath, [process.argv[1]!, WORKER_FLAG, url, schema, String(sends)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const sendingRuntime = createRuntime({ sagas: [waiter], store: sender, onError: (e) => console.error(e) }); // never started: it only sends
  const latencies: number[] = [];
  try {
    await nextMessage(child, (m): m is { ready: true } => m?.ready === true);
    for (let i = 0; i < sends; i++) {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * POLL_INTERVAL_MS));
      const id = `x-${i}`;
      const completed = nextMessage(child, (m): m is { done: string; at: number } => m?.done === id);
      const sentAt = now();
      await sendingRuntime.send(id, 'go');
      latencies.push((await completed).at - sentAt);
    }
    child.send({ stop: true });
    await new Promise((resolve) => child.once('exit', resolve));
  } finally {
    if (child.exitCode === null) child.kill();
    await sender.close();
  }
  const local = await sameProcess(url, `${schema}_same`, sends);
  console.log(
    JSON.stringify({
      store: 'postgres',
      scenario: 'crossProcessEvent',
      sends,
      pollIntervalMs: POLL_INTERVAL_MS,
      crossProcessEventP50Ms: round2(quantile(latencies, 0.5)),
      crossProcessEventP90Ms: round2(quantile(latencies, 0.9)),
      sameProcessEventP50Ms: round2(quantile(local, 0.5)),
    }),
  );
}

export const crossProcessSchema = () => `orsa_xproc_${randomBytes(4).toString('hex')}`;
