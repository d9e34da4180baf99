import { describe, expect, it } from 'vitest';
import { createTestClock, NonRetryableError, saga, SagaDefinitionError, toMermaid } from '../src/index.js';
import { failure } from './helpers.js';

const build = (declare: () => unknown) => {
  try {
    declare();
  } catch (error) {
    expect(error).toBeInstanceOf(SagaDefinitionError);
    return (error as Error).message;
  }
  throw new Error('expected a SagaDefinitionError');
};

describe('step kinds: compensable steps, one pivot, retriable steps after it', () => {
  it('refuses, naming the step and why, every declaration that could roll back past its pivot', () => {
    expect(build(() => saga('s').step('a', () => 1, { pivot: true }).step('b', () => 2, { pivot: true }).build())).toMatch(/2 pivots \("a", "b"\)/);
    expect(build(() => saga('s').step('a', () => 1, { pivot: true }).step('b', () => 2).build())).toMatch(
      /step "b" comes after the pivot "a".*can fail for good \(finite retry\).*retry: 'forever'/,
    );
    expect(build(() => saga('s').step('a', () => 1, { pivot: true }).step('b', () => 2, { retry: 5, timeoutMs: 10 }).build())).toMatch(/step "b".*finite retry/);
    expect(build(() => saga('s').step('a', () => 1, { pivot: true }).step('b', () => 2, { timeoutMs: 10 }).build())).toMatch(/a timeout without infinite retry/);
    expect(build(() => saga('s').step('a', () => 1, { pivot: true }).waitFor('w', { event: 'e', timeoutMs: 5 }).build())).toMatch(/waitFor "w" comes after the pivot "a".*timeoutMs/);
    expect(build(() => saga('s').step('a', () => 1, { pivot: true }).step('b', () => 2, { retry: 'forever', compensate: () => {} }).build())).toMatch(
      /step "b" comes after the pivot.*compensation can never run/,
    );
    expect(
      build(() => saga('s').step('a', () => 1, { pivot: true }).step('b', () => 2, { retry: 'forever', goto: { targets: ['b'], decide: () => null } }).build()),
    ).toMatch(/step "b" comes after the pivot.*goto.maxVisits/);
    expect(build(() => saga('s').step('a', () => 1, { pivot: true, compensate: () => {} }).build())).toMatch(/step "a" is the pivot and has a compensation/);
    expect(build(() => saga('s').step('a', () => 1, { pivot: true, goto: { targets: ['a'], decide: () => null } }).build())).toMatch(/step "a" is the pivot and has a goto/);
    expect(build(() => saga('s').parallel('g', { x: (b) => b.step('a', () => 1, { pivot: true }), y: (b) => b.step('b', () => 2) }).build())).toMatch(
      /branch "x": step "a" is a pivot inside a parallel group/,
    );
    expect(
      build(() =>
        saga('s')
          .step('a', () => 1, { pivot: true })
          .parallel('g', { x: (b) => b.step('c', () => 1, { retry: 'forever' }), y: (b) => b.step('d', () => 2) })
          .build(),
      ),
    ).toMatch(/branch "y": step "d" comes after the pivot/);
    expect(build(() => saga('s').step('a', () => 1, { compensateOnFailure: true } as never).build())).toMatch(/compensateOnFailure but has no compensation/);
    expect(build(() => saga('s').step('a', () => 1, { retry: 'always' as never }).build())).toMatch(/retry must be a number of retries, a policy object or 'forever'/);
    expect(build(() => saga('s').step('a', () => 1, { retry: { maxAttempts: Infinity, retryIf: () => true } }).build())).toMatch(/drop retryIf/);
    // The shorthand counts retries: Infinity is not one (it used to be refused, and a pivot check would call it finite).
    expect(build(() => saga('s').step('a', () => 1, { retry: Infinity }).build())).toMatch(/whole number of retries >= 0 \(got Infinity\).*retry: 'forever'/);
  });

  it('accepts the classic shape: compensable steps, the pivot, then retriable steps, sleeps and untimed waits', () => {
    const s = saga('s')
      .step('a', () => 1, { compensate: () => {} })
      .step('ship', () => 2, { pivot: true })
      .step('notify', () => 3, { retry: 'forever', timeoutMs: 1_000 })
      .sleep('pause', 10)
      .waitFor('ack', { event: 'ack' })
      .step('close', () => 4, { retry: { maxAttempts: Infinity, delayMs: 5 } })
      .build();
    expect(s.config).toMatchObject({ states: { ship: { meta: { pivot: true } } } });
    expect(toMermaid(s, { detail: 'full' })).toMatch(/class ship pivot\n {2}note left of ship : pivot, the point of no return/);
    expect(toMermaid(s)).toMatch(/ship : .*pivot — no rollback after it/);
    expect(toMermaid(s)).toMatch(/\n {2}class ship pivot\n/);
    expect(toMermaid(s)).toMatch(/notify : retried until it succeeds/);
  });

  it('retries a retriable step until it succeeds, non-retryable errors included', async () => {
    const clock = createTestClock();
    let calls = 0;
    const s = saga('s')
      .step('ship', () => 'shipped', { pivot: true })
      .step('notify', () => {
        if (++calls < 4) throw new NonRetryableError('mail server says no');
        return 'sent';
      }, { retry: { maxAttempts: Infinity, delayMs: 100 } })
      .build();
    const handle = await s.start(undefined, { clock });
    for (let i = 0; i < 10 && calls < 4; i++) await clock.next();
    await expect(handle.result).resolves.toEqual({ ship: 'shipped', notify: 'sent' });
    expect(calls).toBe(4);
  });

  it('ignores a cancel once the pivot started, and honours one before', async () => {
    let release!: (v: string) => void;
    const s = saga('s')
      .step('reserve', () => 'r', { compensate: () => {} })
      .step('ship', () => new Promise<string>((r) => (release = r)), { pivot: true })
      .step('notify', () => 'sent', { retry: 'forever' })
      .build();
    const clock = createTestClock();
    const during = await s.start(undefined, { clock });
    await clock.advance(0);
    during.cancel();
    release('shipped');
    await expect(during.result).resolves.toEqual({ reserve: 'r', ship: 'shipped', notify: 'sent' });

    const gated = saga('g')
      .step('reserve', ({ signal }) => new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), { compensate: () => {} })
      .step('ship', () => 's', { pivot: true })
      .build();
    const before = await gated.start(undefined, { clock });
    before.cancel();
    expect((await failure(before.result)).status).toBe('cancelled');
  });

  it('compensates a failed execution of a step declared compensateOnFailure, newest first, with its error', async () => {
    const calls: unknown[] = [];
    const s = saga('s')
      .step('reserve', () => 'r', { compensate: ({ result }) => void calls.push(['release', result]) })
      .step('charge', (): string => {
        throw new NonRetryableError('gateway timed out after sending');
      }, {
        compensateOnFailure: true,
        compensate: (ctx) => void calls.push(ctx.failed ? ['refund-if-charged', ctx.error.message] : ['refund', ctx.result]),
      })
      .build();
    const error = await failure(s.run(undefined));
    expect(error.status).toBe('compensated');
    expect(calls).toEqual([['refund-if-charged', 'gateway timed out after sending'], ['release', 'r']]);
  });

  it('compensates a failed attempt of a compensateOnFailure step when the rollback comes before its retry', async () => {
    const calls: unknown[] = [];
    const clock = createTestClock();
    const s = saga('s')
      .step('charge', (): string => {
        throw new Error('gateway timed out after sending');
      }, {
        retry: { maxAttempts: 3, delayMs: 1_000 },
        compensateOnFailure: true,
        compensate: (ctx) => void calls.push(ctx.failed ? ['refund-if-charged', ctx.error.message] : ['refund', ctx.result]),
      })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(0); // attempt 1 failed: its retry waits 1 s
    handle.cancel();
    expect((await failure(handle.result)).status).toBe('cancelled');
    expect(calls).toEqual([['refund-if-charged', 'gateway timed out after sending']]);
  });

  it('compensates a compensateOnFailure step that failed once then completed exactly once, with its result', async () => {
    const calls: unknown[] = [];
    let attempts = 0;
    const clock = createTestClock();
    const s = saga('s')
      .step('charge', () => {
        if (++attempts === 1) throw new Error('gateway timed out after sending');
        return 'ch-1';
      }, {
        retry: { maxAttempts: 3, delayMs: 10 },
        compensateOnFailure: true,
        compensate: (ctx) => void calls.push(ctx.failed ? ['refund-if-charged', ctx.error.message] : ['refund', ctx.result]),
      })
      .step('ship', (): string => {
        throw new NonRetryableError('no stock');
      })
      .build();
    const handle = await s.start(undefined, { clock });
    for (let i = 0; i < 10 && calls.length === 0; i++) await clock.next();
    const error = await failure(handle.result);
    expect(error.status).toBe('compensated');
    expect(error.report?.undone).toEqual([]);
    expect(calls).toEqual([['refund', 'ch-1']]);
  });

  it('does not compensate a failed execution of an ordinary step', async () => {
    const calls: string[] = [];
    const s = saga('s')
      .step('reserve', () => 'r', { compensate: () => void calls.push('release') })
      .step('charge', (): string => {
        throw new NonRetryableError('declined');
      }, { compensate: () => void calls.push('refund') })
      .build();
    await failure(s.run(undefined));
    expect(calls).toEqual(['release']);
  });
});
