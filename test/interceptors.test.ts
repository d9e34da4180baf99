import { describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, MemoryStore, NonRetryableError, saga, type SagaInterceptor } from '../src/index.js';
import { failure } from './helpers.js';

const noop = () => undefined;

describe('interceptors', () => {
  it('wrap every step and compensation attempt, the first given outermost, and see what runs', async () => {
    const calls: string[] = [];
    const tag = (name: string): SagaInterceptor => ({
      step: (call, next) => (calls.push(`${name}>${call.step}#${call.attempt} ${call.idempotencyKey}`), next(call)),
      compensation: (call, next) => (calls.push(`${name}>undo ${call.step} ${call.idempotencyKey}`), next(call)),
    });
    const trip = saga('trip')
      .step('hotel', () => 'H', { compensate: noop })
      .step('flight', () => {
        throw new NonRetryableError('no seats');
      })
      .build();
    await failure(trip.run(undefined, { sagaId: 't', interceptors: [tag('outer'), tag('inner')] }));
    expect(calls).toEqual([
      'outer>hotel#1 t:hotel#1',
      'inner>hotel#1 t:hotel#1',
      'outer>flight#1 t:flight#1',
      'inner>flight#1 t:flight#1',
      'outer>undo hotel t:hotel#1:compensate',
      'inner>undo hotel t:hotel#1:compensate',
    ]);
  });

  it('may change what a step returns, as the step itself would', async () => {
    const doubling: SagaInterceptor = { step: async (call, next) => ((await next(call)) as number) * 2 };
    await expect(saga('n').step('a', () => 21).build().run(undefined, { interceptors: [doubling] })).resolves.toEqual({ a: 42 });
  });

  it('hold the saga until the run interceptor calls next; events sent meanwhile are kept', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const late: SagaInterceptor = { run: async (run, next) => (await gate, next(run)) };
    const waiting = saga('w').waitFor('go', { event: 'go' }).step('after', () => 'done').build();
    const handle = await waiting.start(undefined, { interceptors: [late] });
    await handle.send('go', { ok: true });
    release();
    await expect(handle.result).resolves.toEqual({ go: { ok: true }, after: 'done' });
  });

  it('store the headers of the first run with the saga and hand them to every later run', async () => {
    const store = new MemoryStore();
    const seen: { resumed: boolean; headers: Record<string, string> }[] = [];
    const stamping: SagaInterceptor = {
      run: (run, next) => {
        seen.push({ resumed: run.resumed, headers: run.headers });
        return next(run.resumed ? run : { ...run, headers: { ...run.headers, origin: 'first-run' } });
      },
    };
    const clock = createTestClock();
    const nap = saga('nap').step('a', () => 1).sleep('rest', 60_000).step('b', () => 2).build();
    const runtime = createRuntime({ sagas: [nap], store, clock, interceptors: [stamping], tracing: false });
    try {
      const { id } = await runtime.startSaga(nap, undefined);
      await clock.advance(10);
      expect((await store.get(id))?.status).toBe('waiting');
      await clock.advance(60_000);
      await expect(runtime.result(id)).resolves.toEqual({ a: 1, b: 2 });
      const stored = JSON.parse((await store.get(id))!.snapshot) as { context: { headers?: Record<string, string> } };
      expect(stored.context.headers).toEqual({ origin: 'first-run' });
      // The sleep unloaded the saga; the run that woke it received the stored headers.
      expect(seen).toEqual([
        { resumed: false, headers: {} },
        { resumed: true, headers: { origin: 'first-run' } },
      ]);
    } finally {
      await runtime.stop();
    }
  });

  it('stop the execution with the error a run interceptor throws', async () => {
    const broken: SagaInterceptor = {
      run: () => {
        throw new Error('interceptor bug');
      },
    };
    await expect(saga('x').step('a', () => 1).build().run(undefined, { interceptors: [broken] })).rejects.toThrow('interceptor bug');
  });
});
