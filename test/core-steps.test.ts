import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createTestClock,
  InvalidInputError,
  NonRetryableError,
  saga,
  type SagaObservation,
} from '../src/index.js';
import { failure } from './helpers.js';


describe('steps', () => {
  it('passes the input and the results of earlier steps to each step, and resolves with all results', async () => {
    const seen: unknown[] = [];
    const exchange = saga('exchange')
      .input<{ amount: number; from: string; to: string }>()
      .step('rates', () => ({ USD: 3.2, CNY: 0.45 }) as Record<string, number>)
      .step('toBase', ({ input, results }) => input.amount * results.rates[input.from]!)
      .step('toTarget', ({ input, results }) => {
        seen.push(results);
        return results.toBase / results.rates[input.to]!;
      })
      .build();
    const results = await exchange.run({ amount: 10, from: 'USD', to: 'CNY' });
    expect(results.toBase).toBe(32);
    expect(results.toTarget).toBeCloseTo(71.11, 2);
    expect(seen[0]).toEqual({ rates: { USD: 3.2, CNY: 0.45 }, toBase: 32 });
  });

  it('gives each step execution an idempotency key that is stable across its retries', async () => {
    const keys: string[] = [];
    const clock = createTestClock();
    const s = saga('keys')
      .step('flaky', ({ idempotencyKey, attempt }) => {
        keys.push(idempotencyKey);
        if (attempt < 3) throw new Error('try again');
        return attempt;
      }, { retry: { maxAttempts: 3, delayMs: 10 } })
      .build();
    const handle = await s.start(undefined, { clock, sagaId: 'order-1' });
    await clock.advance(100);
    await expect(handle.result).resolves.toEqual({ flaky: 3 });
    expect(keys).toEqual(['order-1:flaky#1', 'order-1:flaky#1', 'order-1:flaky#1']);
  });

  it('validates the input with a Standard Schema validator and runs nothing when it is invalid', async () => {
    let ran = false;
    const s = saga('validated')
      .input(z.object({ amount: z.number().positive() }))
      .step('a', ({ input }) => {
        ran = true;
        return input.amount;
      })
      .build();
    await expect(s.run({ amount: 5 })).resolves.toEqual({ a: 5 });
    ran = false;
    const error = await s.run({ amount: -1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).message).toMatch(/amount/);
    expect(ran).toBe(false);
  });
});

describe('retry', () => {
  it('retries only the failing step, waiting delayMs then growing by the backoff factor up to maxDelayMs', async () => {
    const clock = createTestClock();
    const start = clock.now();
    const calls: Record<string, number[]> = { first: [], flaky: [] };
    const s = saga('backoff')
      .step('first', () => void calls.first!.push(clock.now() - start))
      .step('flaky', ({ attempt }) => {
        calls.flaky!.push(clock.now() - start);
        if (attempt < 5) throw new Error(`attempt ${attempt} failed`);
        return 'ok';
      }, { retry: { maxAttempts: 5, delayMs: 100, backoff: 2, maxDelayMs: 300 } })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(10_000);
    await expect(handle.result).resolves.toMatchObject({ flaky: 'ok' });
    expect(calls.first).toEqual([0]);
    expect(calls.flaky).toEqual([0, 100, 300, 600, 900]);
  });

  it("treats retry: 3 as ORSA did: three retries, four attempts in all", async () => {
    const clock = createTestClock();
    let attempts = 0;
    const s = saga('orsa-retry')
      .step('always', () => {
        attempts++;
        throw new Error('down');
      }, { retry: 3 })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(60_000);
    const error = await failure(handle.result);
    expect(attempts).toBe(4);
    expect(error.step).toBe('always');
    expect(error.error?.message).toBe('down');
  });

  it('spreads waits by jitter using the injected randomness', async () => {
    const clock = createTestClock();
    const times: number[] = [];
    const start = clock.now();
    const s = saga('jitter')
      .step('x', ({ attempt }) => {
        times.push(clock.now() - start);
        if (attempt === 1) throw new Error('once');
      }, { retry: { maxAttempts: 2, delayMs: 1000, jitter: 0.5 } })
      .build();
    const handle = await s.start(undefined, { clock, random: () => 0 });
    await clock.advance(5_000);
    await handle.result;
    expect(times).toEqual([0, 500]);
  });

  it('fails at once on a NonRetryableError, without the remaining attempts', async () => {
    const clock = createTestClock();
    let attempts = 0;
    const s = saga('non-retryable')
      .step('limit', () => {
        attempts++;
        throw new NonRetryableError('amount above 1000');
      }, { retry: 5 })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(1_000);
    const error = await failure(handle.result);
    expect(attempts).toBe(1);
    expect(error.error).toMatchObject({ name: 'NonRetryableError', message: 'amount above 1000', retryable: false });
  });

  it('retries only the errors retryIf accepts', async () => {
    const clock = createTestClock();
    const errors = [new Error('ECONNRESET'), new Error('400 bad request')];
    let attempts = 0;
    const s = saga('retry-if')
      .step('call', () => {
        throw errors[attempts++]!;
      }, { retry: { maxAttempts: 5, delayMs: 1, retryIf: (e) => (e as Error).message.startsWith('ECONN') } })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(1_000);
    const error = await failure(handle.result);
    expect(attempts).toBe(2);
    expect(error.error?.message).toBe('400 bad request');
  });

  it('reports each retry to observers with the attempt and its due time', async () => {
    const clock = createTestClock();
    const seen: SagaObservation[] = [];
    const s = saga('observed')
      .step('x', ({ attempt }) => {
        if (attempt === 1) throw new Error('once');
        return 1;
      }, { retry: { maxAttempts: 2, delayMs: 250 } })
      .build();
    const handle = await s.start(undefined, { clock, observer: (o) => seen.push(o) });
    await clock.advance(1_000);
    await handle.result;
    const types = seen.map((o) => `${o.type}${'attempt' in o ? `#${o.attempt}` : ''}`);
    expect(types).toEqual(['step.started#1', 'step.retrying#1', 'step.started#2', 'step.completed#2', 'saga.completed']);
    const retrying = seen[1] as Extract<SagaObservation, { type: 'step.retrying' }>;
    expect(retrying.dueAt - retrying.at).toBe(250);
  });
});

describe('timeout', () => {
  it('aborts the step signal after timeoutMs and counts it as a failure', async () => {
    const clock = createTestClock();
    const reasons: unknown[] = [];
    const s = saga('timeout')
      .step('slow', ({ signal, attempt }) =>
        new Promise((resolve, reject) => {
          if (attempt === 2) return resolve('fast enough');
          signal.addEventListener('abort', () => {
            reasons.push(signal.reason);
            reject(signal.reason);
          });
        }), { timeoutMs: 1_000, retry: { maxAttempts: 2, delayMs: 10 } })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(999);
    expect(reasons).toHaveLength(0);
    await clock.advance(1);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatchObject({ name: 'StepTimeoutError', code: 'STEP_TIMEOUT' });
    await clock.advance(100);
    await expect(handle.result).resolves.toEqual({ slow: 'fast enough' });
  });

  it('fails the saga when the last attempt times out, even if the step ignores its signal', async () => {
    const clock = createTestClock();
    const s = saga('timeout-ignored')
      .step('stuck', () => new Promise(() => {}), { timeoutMs: 50 })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(50);
    const error = await failure(handle.result);
    expect(error.error?.code).toBe('STEP_TIMEOUT');
  });
});

describe('step results', () => {
  it.each([
    ['a function', () => ({ f: () => 1 }), /\$\.f is a function/],
    ['a cycle', () => { const a: Record<string, unknown> = {}; a.self = a; return a; }, /cycle/],
    ['a BigInt', () => ({ n: 10n }), /BigInt/],
    ['a Map', () => new Map([[1, 2]]), /Map/],
    ['a Date', () => ({ at: new Date(0) }), /toISOString/],
  ])('fails the step, naming it, when its result holds %s', async (_, run, message) => {
    const s = saga('bad-result').step('producer', run as () => unknown).build();
    const error = await failure(s.run(undefined));
    expect(error.step).toBe('producer');
    expect(error.error).toMatchObject({ code: 'RESULT_NOT_SERIALIZABLE' });
    expect(error.error?.message).toMatch(/step "producer"/);
    expect(error.error?.message).toMatch(message);
  });

  it('refuses a result larger than maxResultBytes', async () => {
    const s = saga('big').step('blob', () => 'x'.repeat(2_000)).build();
    const error = await failure(s.run(undefined, { maxResultBytes: 1_000 }));
    expect(error.error?.message).toMatch(/larger than 1000 bytes/);
  });

  it.each([
    ['inside arrays', () => ({ items: [1, 2, { at: new Date(0) }] }), '$.items[2].at is a Date'],
    ['under a key that is not a name', () => ({ 'we ird': [1, undefined] }), '$["we ird"][1] is undefined in an array'],
  ])('names the path of the offending value %s', async (_, run, message) => {
    const s = saga('bad-path').step('producer', run as () => unknown).build();
    const error = await failure(s.run(undefined));
    expect(error.error?.message).toContain(message);
  });

  it('counts maxResultBytes in UTF-8 bytes of JSON: a result just under it is kept, just over it refused', async () => {
    // 'é' is 2 bytes: 499 of them with their quotes make 1,000 bytes; 500 make 1,002.
    const under = await saga('under').step('text', () => 'é'.repeat(499)).build().run(undefined, { maxResultBytes: 1_000 });
    expect(under).toEqual({ text: 'é'.repeat(499) });
    const error = await failure(saga('over').step('text', () => 'é'.repeat(500)).build().run(undefined, { maxResultBytes: 1_000 }));
    expect(error.error?.message).toMatch(/larger than 1000 bytes/);
  });

  it.each([
    ['an array with its own toJSON', () => Object.assign([1], { toJSON: () => 'x'.repeat(2_000) })],
    ['an array of a subclass with toJSON', () => {
      class Page extends Array<number> {
        toJSON(): string {
          return 'x'.repeat(2_000);
        }
      }
      return Page.from([1, 2]);
    }],
    ['an object with a toJSON that is not enumerable', () => Object.defineProperty({ id: 1 }, 'toJSON', { value: () => 'x'.repeat(2_000) })],
  ])('measures maxResultBytes on what JSON writes, %s included', async (_, run) => {
    // The result is small as walked, but JSON writes what its toJSON returns: 2,002 bytes.
    const error = await failure(saga('to-json').step('page', run as () => unknown).build().run(undefined, { maxResultBytes: 1_000 }));
    expect(error.error?.message).toMatch(/larger than 1000 bytes/);
  });

  it('refuses a result whose toJSON() gives nothing JSON can store, naming it', async () => {
    const error = await failure(saga('to-json').step('page', () => Object.defineProperty({ id: 1 }, 'toJSON', { value: () => undefined })).build().run(undefined));
    expect(error.error?.code).toBe('RESULT_NOT_SERIALIZABLE');
    expect(error.error?.message).toMatch(/toJSON\(\) gives nothing JSON can store/);
  });

  it.each([
    ['escapes and control characters', '"\\\u0000\u001f\u2028'.repeat(50)],
    ['lone surrogates', '\ud800x\udc00'.repeat(50)],
    ['characters of 3 and 4 bytes', '€😀'.repeat(50)],
    ['the longest number JSON writes (25 bytes)', -0.0000012345678901234567],
    ['long numbers', [-1.2345678901234567e-300, -123456789012345680000, -Number.MAX_VALUE, Number.MIN_VALUE]],
    ['nested arrays and objects, undefined members dropped', { a: [[[]], {}, [null, true, false]], b: undefined, '\u0001"': { '😀': '' } }],
  ])('keeps a result of exactly maxResultBytes and refuses one byte less: %s', async (_, value) => {
    const bytes = Buffer.byteLength(JSON.stringify(value));
    const kept = await saga('exact').step('v', () => value).build().run(undefined, { maxResultBytes: bytes });
    expect(JSON.stringify(kept.v)).toBe(JSON.stringify(value));
    const error = await failure(saga('exact').step('v', () => value).build().run(undefined, { maxResultBytes: bytes - 1 }));
    expect(error.error?.message).toMatch(new RegExp(`larger than ${bytes - 1} bytes`));
  });
});
