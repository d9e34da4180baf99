import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, NonRetryableError, saga, type Runtime } from '../src/index.js';
import { formatTraceparent, otelInterceptor, ORSA_ATTRIBUTES as A, parseTraceparent } from '../src/otel.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { failure } from './helpers.js';

const exporter = new InMemorySpanExporter();
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  trace.disable();
  context.disable();
});
const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  exporter.reset();
});

const spans = (name?: string) => exporter.getFinishedSpans().filter((s) => name === undefined || s.name === name);
const one = (name: string): ReadableSpan => {
  const found = spans(name);
  expect(found.map((s) => s.name)).toEqual([name]);
  return found[0]!;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const eventNames = (span: ReadableSpan) => span.events.map((e) => e.name);

describe('OpenTelemetry tracing', () => {
  it('makes a span per saga run and per step attempt, with orsa.* attributes, failures recorded and retries as events', async () => {
    const clock = createTestClock();
    let calls = 0;
    const flaky = saga('flaky')
      .step('fetch', () => {
        if (++calls < 2) throw Object.assign(new Error('rate service down'), { code: 'DOWN' });
        return 7;
      }, { retry: { maxAttempts: 3, delayMs: 1_000, jitter: 0 } })
      .step('use', ({ results }) => results.fetch * 2)
      .build();
    const handle = await flaky.start(undefined, { clock, sagaId: 'f-1', interceptors: [otelInterceptor()] });
    await clock.advance(1_000);
    await expect(handle.result).resolves.toEqual({ fetch: 7, use: 14 });

    const run = one('saga flaky');
    expect(run.attributes).toMatchObject({ [A.sagaName]: 'flaky', [A.sagaId]: 'f-1', [A.sagaVersion]: flaky.version, [A.status]: 'completed', [A.resumed]: false });
    expect(run.status.code).toBe(SpanStatusCode.OK);
    expect(eventNames(run)).toEqual(['orsa.step.retrying', 'orsa.saga.waiting']); // the backoff is a wait
    expect(run.events[0]!.attributes).toMatchObject({ [A.step]: 'fetch', [A.attempt]: 1, 'orsa.retry.delay_ms': 1_000, [A.errorCode]: 'DOWN' });

    const attempts = spans('step fetch').sort((a, b) => Number(a.attributes[A.attempt]) - Number(b.attributes[A.attempt]));
    expect(attempts.map((s) => [s.attributes[A.attempt], s.status.code])).toEqual([
      [1, SpanStatusCode.ERROR],
      [2, SpanStatusCode.OK],
    ]);
    expect(attempts[0]!.events.find((e) => e.name === 'exception')?.attributes).toMatchObject({ 'exception.message': 'rate service down' });
    for (const s of [...attempts, one('step use')]) {
      expect(s.spanContext().traceId).toBe(run.spanContext().traceId);
      expect(parentOf(s)).toBe(run.spanContext().spanId);
      expect(s.attributes).toMatchObject({ [A.sagaName]: 'flaky', [A.sagaId]: 'f-1' });
    }
    expect(attempts.map((s) => s.attributes[A.idempotencyKey])).toEqual(['f-1:fetch#1', 'f-1:fetch#1']);
  });

  it("runs the step function inside its span: the step's own spans are its children", async () => {
    const app = trace.getTracer('app');
    const charged = saga('charged')
      .step('charge', async () => {
        await Promise.resolve(); // across an await, as an HTTP client would
        return app.startActiveSpan('POST /charges', (span) => {
          span.end();
          return 'ch_1';
        });
      })
      .build();
    await charged.run(undefined, { interceptors: [otelInterceptor()] });
    const step = one('step charge');
    const call = one('POST /charges');
    expect(parentOf(call)).toBe(step.spanContext().spanId);
    expect(call.spanContext().traceId).toBe(step.spanContext().traceId);
  });

  it('makes a span per compensation, and marks a rolled-back run as an error with its cause', async () => {
    const trip = saga('trip')
      .step('hotel', () => 'H1', { compensate: () => undefined })
      .step('flight', () => {
        throw new NonRetryableError('no seats');
      })
      .build();
    await failure(trip.run(undefined, { sagaId: 't-1', interceptors: [otelInterceptor()] }));
    const undo = one('compensate hotel');
    const run = one('saga trip');
    expect(undo.attributes).toMatchObject({ [A.step]: 'hotel', [A.idempotencyKey]: 't-1:hotel#1:compensate', [A.attempt]: 1 });
    expect(parentOf(undo)).toBe(run.spanContext().spanId);
    expect(run.status).toMatchObject({ code: SpanStatusCode.ERROR });
    expect(run.status.message).toContain('no seats');
    expect(run.attributes[A.status]).toBe('compensated');
    expect(eventNames(run)).toEqual(expect.arrayContaining(['orsa.step.failed', 'exception']));
    expect(one('step flight').status.code).toBe(SpanStatusCode.ERROR);
  });

  it('ends a step span with an error when the saga refuses what the step returned', async () => {
    const bad = saga('bad')
      .step('load', () => ({ at: new Date(0) }))
      .build();
    await failure(bad.run(undefined, { interceptors: [otelInterceptor()] }));
    const load = one('step load');
    expect(load.status.code).toBe(SpanStatusCode.ERROR);
    expect(load.attributes[A.errorCode]).toBe('RESULT_NOT_SERIALIZABLE');

    exporter.reset();
    const loose = saga('loose')
      .step('a', () => 1)
      .step('b', async () => 2, { goto: { targets: ['a'], decide: () => 'nowhere' as 'a' } })
      .build();
    await failure(loose.run(undefined, { interceptors: [otelInterceptor()] }));
    expect(one('step a').status.code).toBe(SpanStatusCode.OK);
    expect(one('step b').status).toMatchObject({ code: SpanStatusCode.ERROR, message: expect.stringContaining('"nowhere"') });
  });

  it('ends the span of an attempt that times out, even when the step never settles', async () => {
    const clock = createTestClock();
    const stuck = saga('stuck')
      .step('hang', () => new Promise(() => {}), { timeoutMs: 1_000 })
      .build();
    const handle = await stuck.start(undefined, { clock, interceptors: [otelInterceptor()] });
    await clock.advance(1_000);
    await failure(handle.result);
    const hang = one('step hang');
    expect(hang.status.code).toBe(SpanStatusCode.ERROR);
    expect(hang.attributes[A.errorCode]).toBe('STEP_TIMEOUT');
  });

  it('records a wait as an event of the run span', async () => {
    const clock = createTestClock();
    const nap = saga('nap').step('a', () => 1).sleep('rest', 60_000).step('b', () => 2).build();
    const handle = await nap.start(undefined, { clock, interceptors: [otelInterceptor()] });
    await clock.advance(60_000);
    await handle.result;
    const waiting = one('saga nap').events.find((e) => e.name === 'orsa.saga.waiting');
    expect(waiting?.attributes).toMatchObject({ 'orsa.wait.delay_ms': 60_000 });
  });

  it('continues the trace when another runtime resumes the saga from the same SQLite file', async () => {
    const clock = createTestClock();
    const path = join(mkdtempSync(join(tmpdir(), 'orsa-trace-')), 'orsa.db');
    const keys: string[] = [];
    const transfer = (first: boolean) =>
      saga('transfer')
        .step('debit', () => 'D')
        .step('credit', ({ signal, idempotencyKey }) => {
          keys.push(idempotencyKey);
          // The first runtime stops while credit runs: its signal aborts it.
          if (first) return new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
          return 'C';
        })
        .version('1')
        .build();
    const firstStore = new SqliteStore({ path });
    const first = createRuntime({ sagas: [transfer(true)], store: firstStore, clock, leaseMs: 10_000, workerId: 'w1' });
    const caller = trace.getTracer('app');
    const { id } = await caller.startActiveSpan('POST /transfers', async (span) => {
      try {
        return await first.startSaga('transfer', undefined);
      } finally {
        span.end();
      }
    });
    await clock.advance(10);
    expect(keys).toHaveLength(1);
    await first.stop();
    await firstStore.close();

    const second = createRuntime({ sagas: [transfer(false)], store: new SqliteStore({ path }), clock, leaseMs: 10_000, workerId: 'w2' });
    runtimes.push(second);
    await second.start();
    await clock.advance(11_000);
    await expect(second.result(id)).resolves.toEqual({ debit: 'D', credit: 'C' });

    const request = one('POST /transfers');
    const runs = spans('saga transfer');
    expect(runs.map((s) => s.attributes[A.resumed])).toEqual([false, true]);
    const [firstRun, resumed] = runs as [ReadableSpan, ReadableSpan];
    // The first run continues the caller's trace; the resumed run is a child of the first run.
    expect(parentOf(firstRun)).toBe(request.spanContext().spanId);
    expect(resumed.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(parentOf(resumed)).toBe(firstRun.spanContext().spanId);
    expect(eventNames(firstRun)).toContain('orsa.saga.stopped');
    expect(firstRun.status.code).toBe(SpanStatusCode.UNSET);
    expect(resumed.attributes[A.status]).toBe('completed');

    const credits = spans('step credit');
    expect(credits).toHaveLength(2);
    expect(credits.map((s) => parentOf(s))).toEqual([firstRun.spanContext().spanId, resumed.spanContext().spanId]);
    expect(credits.map((s) => s.attributes[A.idempotencyKey])).toEqual([keys[0], keys[0]]);
    // The first attempt was aborted when its runtime stopped: recorded as its error.
    expect(credits[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(credits[0]!.attributes[A.errorCode]).toBe('EXECUTION_STOPPED');

    // The trace context is stored with the saga, in its snapshot.
    const stored = JSON.parse((await second.store.get(id))!.snapshot) as { context: { headers?: Record<string, string> } };
    expect(stored.context.headers?.traceparent).toBe(`00-${firstRun.spanContext().traceId}-${firstRun.spanContext().spanId}-01`);
  });

  it('stays out of the way while no SDK is registered, and traces the next run once one is', async () => {
    trace.disable();
    const active: boolean[] = [];
    const plain = saga('plain')
      .step('a', () => {
        active.push(trace.getActiveSpan() !== undefined);
        return 1;
      })
      .build();
    const runtime = createRuntime({ sagas: [plain], store: new SqliteStore({ path: ':memory:' }) });
    runtimes.push(runtime);
    try {
      expect(otelInterceptor().enabled!()).toBe(false);
      const { id } = await runtime.startSaga('plain', undefined);
      await expect(runtime.result(id)).resolves.toEqual({ a: 1 });
      const stored = JSON.parse((await runtime.store.get(id))!.snapshot) as { context: Record<string, unknown> };
      expect(stored.context).not.toHaveProperty('headers');
      expect(spans()).toEqual([]);
      expect(active).toEqual([false]); // not even a no-op span is put in the step's context
    } finally {
      trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    }
    // Decided per run: the same runtime traces a saga started after an SDK registered.
    expect(otelInterceptor().enabled!()).toBe(true);
    const { id } = await runtime.startSaga('plain', undefined);
    await runtime.result(id);
    expect(active).toEqual([false, true]);
    expect(one('step a').attributes[A.sagaId]).toBe(id);
  });

  it('is off with tracing: false', async () => {
    const runtime = createRuntime({ sagas: [saga('quiet').step('a', () => 1).build()], store: new SqliteStore({ path: ':memory:' }), tracing: false });
    runtimes.push(runtime);
    const { id } = await runtime.startSaga('quiet', undefined);
    await runtime.result(id);
    expect(spans()).toEqual([]);
  });
});

describe('without @opentelemetry/api installed', () => {
  // A child process whose module resolution refuses every @opentelemetry/* package.
  const runWithout = (...args: string[]) =>
    JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '--import', './test/fixtures/without-otel.mjs', 'test/fixtures/run-without-otel.ts', ...args], { encoding: 'utf8' }),
    ) as Record<string, unknown>;

  it('imports orsa and runs sagas untraced', () => {
    expect(runWithout()).toEqual({ results: { a: 1 } });
  });

  it('says what to install when tracing: true is asked for', () => {
    expect(runWithout('required')).toMatchObject({ code: 'TRACING_UNAVAILABLE', message: expect.stringContaining('npm install @opentelemetry/api') });
  });
});

describe('stored traceparent', () => {
  /** mulberry32: a seeded generator, so a failure replays. */
  const seeded = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  it('round-trips valid span contexts and rejects anything else without throwing (seeded fuzz)', () => {
    const random = seeded(20261126);
    const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('');
    const alphabet = '0123456789abcdefABCDEF-xz \n';
    for (let i = 0; i < 2_000; i++) {
      const ctx = { traceId: hex(32), spanId: hex(16), traceFlags: Math.floor(random() * 256) };
      const text = formatTraceparent(ctx)!;
      expect(parseTraceparent(text)).toEqual({ ...ctx, isRemote: true });
      // Mutate one character, truncate, or make noise: never a throw; a result is always well-formed.
      const at = Math.floor(random() * text.length);
      const variants: unknown[] = [
        text.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + text.slice(at + 1),
        text.slice(0, at),
        Array.from({ length: Math.floor(random() * 60) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''),
        random() < 0.5 ? null : Math.floor(random() * 1e9),
      ];
      for (const value of variants) {
        const parsed = parseTraceparent(value);
        if (parsed) {
          expect(parsed.traceId).toMatch(/^[0-9a-f]{32}$/);
          expect(parsed.spanId).toMatch(/^[0-9a-f]{16}$/);
          expect(parsed.traceId).not.toBe('0'.repeat(32));
        }
      }
    }
    expect(parseTraceparent(`00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`)).toBeUndefined();
    expect(formatTraceparent({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 })).toBeUndefined();
  });
});
