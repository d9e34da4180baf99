import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRuntime, createTestClock, MemoryStore, NonRetryableError, saga, type Logger, type Runtime } from '../src/index.js';

type Line = { level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields: Record<string, unknown> };

/** A pino-shaped logger that keeps its lines. */
function capture(): Logger & { lines: Line[]; find: (message: string) => Line[] } {
  const lines: Line[] = [];
  const at = (level: Line['level']) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), find: (m) => lines.filter((l) => l.message.includes(m)) };
}

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  vi.restoreAllMocks();
});

describe('logger', () => {
  it('logs a saga start, its step retries with structured fields, the failure for good and the rollback', async () => {
    const clock = createTestClock();
    const logger = capture();
    const trip = saga('trip')
      .step('hotel', () => 'H', { compensate: () => undefined })
      .step('flight', () => {
        throw Object.assign(new Error('no seats'), { code: 'NO_SEATS' });
      }, { retry: { maxAttempts: 2, delayMs: 500, jitter: 0 } })
      .build();
    const runtime = createRuntime({ sagas: [trip], store: new MemoryStore(), clock, logger, workerId: 'w1', tracing: false });
    runtimes.push(runtime);
    const { id } = await runtime.startSaga(trip, undefined, { id: 'trip-1' });
    await clock.advance(10);
    await clock.advance(500);
    await clock.advance(10);
    await runtime.result(id).catch(() => {});

    const base = { sagaId: 'trip-1', sagaName: 'trip', version: trip.version, workerId: 'w1' };
    expect(logger.find('saga started')).toEqual([{ level: 'info', message: 'saga started', fields: base }]);
    expect(logger.find('step failed; retrying')).toEqual([
      { level: 'warn', message: 'step failed; retrying', fields: { ...base, step: 'flight', attempt: 1, delayMs: 500, code: 'NO_SEATS', reason: 'no seats' } },
    ]);
    expect(logger.find('step failed for good')).toEqual([
      { level: 'error', message: 'step failed for good', fields: { ...base, step: 'flight', attempt: 2, code: 'NO_SEATS', reason: 'no seats' } },
    ]);
    expect(logger.find('saga compensated')).toEqual([
      { level: 'warn', message: 'saga compensated', fields: { ...base, status: 'compensated', code: 'NO_SEATS', reason: 'no seats' } },
    ]);
    // Every line names its saga and worker.
    for (const line of logger.lines) expect(line.fields).toMatchObject({ workerId: 'w1' });
  });

  it('logs a takeover by another worker and the resumed run', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const logger = capture();
    const def = (hang: boolean) =>
      saga('handover')
        .step('a', () => (hang ? new Promise<string>(() => {}) : 'A'))
        .version('1')
        .build();
    const crashed = createRuntime({ sagas: [def(true)], store, clock, leaseMs: 10_000, workerId: 'w1', tracing: false });
    const { id } = await crashed.startSaga('handover', undefined);
    (crashed as unknown as { running: boolean }).running = false; // dies: its lease runs out
    const survivor = createRuntime({ sagas: [def(false)], store, clock, leaseMs: 10_000, workerId: 'w2', logger, tracing: false });
    runtimes.push(survivor);
    await survivor.start();
    await clock.advance(11_000);
    await expect(survivor.result(id)).resolves.toEqual({ a: 'A' });
    expect(logger.find('taken over')).toEqual([
      { level: 'info', message: 'saga taken over (its lease expired or was released)', fields: { sagaId: id, sagaName: 'handover', version: '1', status: 'running', workerId: 'w2' } },
    ]);
    expect(logger.find('saga resumed')[0]?.fields).toMatchObject({ sagaId: id, workerId: 'w2' });
    expect(logger.find('saga completed')[0]?.level).toBe('info');
  });

  it('warns when this worker loses its lease to another one', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const logger = capture();
    const slow = saga('slow').step('a', ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))).build();
    const runtime = createRuntime({ sagas: [slow], store, clock, leaseMs: 9_000, workerId: 'w1', logger, tracing: false, onError: () => {} });
    runtimes.push(runtime);
    const { id } = await runtime.startSaga(slow, undefined);
    // Another worker takes the record over behind this one's back.
    await store.release(id, 'w1');
    expect(await store.claim({ owner: 'w2', now: clock.now(), leaseUntil: clock.now() + 60_000, limit: 1, dueOnly: false, id })).toHaveLength(1);
    await clock.advance(3_000); // the next renewal finds the lease gone
    expect(logger.find('lease lost')).toEqual([
      { level: 'warn', message: expect.stringContaining('lease lost'), fields: expect.objectContaining({ sagaId: id, workerId: 'w1', code: 'STALE_RECORD' }) },
    ]);
  });

  it('logs a corrupt record at error, with its code, and leaves it untouched', async () => {
    const store = new MemoryStore();
    const logger = capture();
    const plain = saga('plain').step('a', () => 1).build();
    await store.init();
    await store.insert({ id: 'bad-1', sagaName: 'plain', version: plain.version, status: 'running', snapshot: '{"truncated', dueAt: 0, owner: null, leaseUntil: null, now: 0 }, []);
    const runtime = createRuntime({ sagas: [plain], store, logger, tracing: false, onError: () => {} });
    runtimes.push(runtime);
    await runtime.start();
    expect(logger.find('corrupt')).toEqual([
      { level: 'error', message: 'corrupt saga record left untouched', fields: expect.objectContaining({ code: 'CORRUPT_RECORD', sagaId: 'bad-1' }) },
    ]);
    expect((await store.get('bad-1'))?.snapshot).toBe('{"truncated');
  });

  it('is quiet by default: a failing saga writes nothing to the console', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m).mockImplementation(() => {}));
    const failing = saga('failing').step('a', () => 1, { compensate: () => undefined }).step('b', () => {
      throw new NonRetryableError('nope');
    }).build();
    const runtime = createRuntime({ sagas: [failing], store: new MemoryStore() });
    runtimes.push(runtime);
    const { id } = await runtime.startSaga(failing, undefined);
    await runtime.result(id).catch(() => {});
    await runtime.stop();
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it('builds no debug line when the logger says debug is off (pino isLevelEnabled)', async () => {
    const logger = Object.assign(capture(), { isLevelEnabled: (level: string) => level !== 'debug' });
    const runtime = createRuntime({ sagas: [saga('two').step('a', () => 1).step('b', () => 2).build()], store: new MemoryStore(), logger, tracing: false });
    runtimes.push(runtime);
    const { id } = await runtime.startSaga('two', undefined);
    await runtime.result(id);
    await new Promise((resolve) => setImmediate(resolve)); // the run's end is logged once its last write settled
    expect(logger.lines.map((l) => `${l.level} ${l.message}`)).toEqual(['info saga started', 'info saga completed']);
  });

  it('keeps the saga going when the logger throws', async () => {
    const broken: Logger = { debug: () => {}, info: () => { throw new Error('disk full'); }, warn: () => {}, error: () => {} };
    const runtime = createRuntime({ sagas: [saga('fine').step('a', () => 1).build()], store: new MemoryStore(), logger: broken, tracing: false });
    runtimes.push(runtime);
    const { id } = await runtime.startSaga('fine', undefined);
    await expect(runtime.result(id)).resolves.toEqual({ a: 1 });
  });
});
