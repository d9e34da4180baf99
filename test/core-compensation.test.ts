import { describe, expect, it } from 'vitest';
import { createTestClock, dependency, NonRetryableError, saga } from '../src/index.js';
import { failure } from './helpers.js';


describe('compensation', () => {
  it('undoes completed steps in reverse order of completion, each receiving its own result', async () => {
    const undone: unknown[] = [];
    const s = saga('reverse')
      .step('a', () => 'A', { compensate: ({ result }) => void undone.push(result) })
      .step('b', () => 'B')
      .step('c', () => 'C')
      .compensate(({ result, results }) => void undone.push([result, Object.keys(results)]))
      .step('d', () => {
        throw new NonRetryableError('d is down');
      }, { compensate: () => void undone.push('never: d did not complete') })
      .build();
    const error = await failure(s.run(undefined));
    expect(undone).toEqual([['C', ['a', 'b', 'c']], 'A']);
    expect(error.status).toBe('compensated');
    expect(error.code).toBe('SAGA_FAILED');
    expect(error.step).toBe('d');
    expect(error.report).toEqual({ compensated: ['c#1', 'a#1'], undone: [] });
    expect(error.message).toMatch(/step "d" failed: d is down; rolled back/);
  });

  it('retries a failing compensation by its own policy', async () => {
    const clock = createTestClock();
    let tries = 0;
    const s = saga('comp-retry')
      .step('a', () => 1, {
        compensate: () => {
          if (++tries < 3) throw new Error('undo failed');
        },
        compensateRetry: { maxAttempts: 3, delayMs: 100 },
      })
      .step('b', () => {
        throw new NonRetryableError('boom');
      })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(1_000);
    const error = await failure(handle.result);
    expect(tries).toBe(3);
    expect(error.status).toBe('compensated');
  });

  it('ends failed, with what is still undone, when a compensation fails for good, and never skips it silently', async () => {
    const clock = createTestClock();
    const undone: string[] = [];
    const s = saga('comp-fails')
      .step('a', () => 1, { compensate: () => void undone.push('a') })
      .step('b', () => 2, {
        compensate: () => {
          throw new Error('refund API down');
        },
        compensateRetry: 1,
      })
      .step('c', () => 3, { compensate: () => void undone.push('c') })
      .step('d', () => {
        throw new NonRetryableError('boom');
      })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(10_000);
    const error = await failure(handle.result);
    expect(undone).toEqual(['c']);
    expect(error.status).toBe('failed');
    expect(error.code).toBe('SAGA_COMPENSATION_FAILED');
    expect(error.report.compensated).toEqual(['c#1']);
    expect(error.report.undone).toEqual(['b#1', 'a#1']);
    expect(error.report.error?.message).toBe('refund API down');
    expect(handle.getStatus()).toBe('failed');
  });

  it('can retry a failed compensation once its cause is fixed', async () => {
    const clock = createTestClock();
    let apiUp = false;
    const undone: string[] = [];
    const s = saga('comp-retry-later')
      .step('a', () => 1, { compensate: () => void undone.push('a') })
      .step('b', () => 2, {
        compensate: () => {
          if (!apiUp) throw new Error('refund API down');
          undone.push('b');
        },
        compensateRetry: 0,
      })
      .step('c', () => {
        throw new NonRetryableError('boom');
      })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(100);
    expect(handle.getStatus()).toBe('failed');
    apiUp = true;
    const outcome = new Promise<string>((resolve) => handle.subscribe((o) => o.type.startsWith('saga.') && resolve(o.type)));
    handle.retryCompensation();
    await clock.advance(100);
    expect(await outcome).toBe('saga.compensated');
    expect(undone).toEqual(['b', 'a']);
  });
});

describe('catch handler', () => {
  it('is called after the rollback with the failed step, the error and the compensation report', async () => {
    const order: string[] = [];
    let caught: unknown;
    const s = saga('caught')
      .input<{ id: number }>()
      .step('a', () => 1, { compensate: () => void order.push('compensate a') })
      .step('b', () => {
        throw new NonRetryableError('b failed');
      })
      .catch((failure) => {
        order.push('catch');
        caught = failure;
      })
      .build();
    await failure(s.run({ id: 7 }));
    expect(order).toEqual(['compensate a', 'catch']);
    expect(caught).toMatchObject({
      input: { id: 7 },
      step: 'b',
      error: { message: 'b failed' },
      status: 'compensated',
      report: { compensated: ['a#1'], undone: [] },
    });
  });
});

describe('readiness', () => {
  it('runs no step when the probe fails, and ends with a SAGA_NOT_READY error', async () => {
    let ran = false;
    const s = saga('not-ready')
      .readiness(() => {
        throw new Error('database unreachable');
      })
      .step('a', () => {
        ran = true;
      })
      .build();
    const error = await failure(s.run(undefined));
    expect(ran).toBe(false);
    expect(error.step).toBeNull();
    expect(error.error).toMatchObject({ code: 'SAGA_NOT_READY' });
    expect(error.error?.message).toMatch(/database unreachable/);
  });

  it('checks every dependency the steps declare they use, each once', async () => {
    const checked: string[] = [];
    const rates = dependency('rates-api', () => void checked.push('rates'));
    const ledger = dependency('ledger', () => {
      checked.push('ledger');
      throw new Error('ledger is read-only');
    });
    let ran = 0;
    const s = saga('deps')
      .step('a', () => ran++, { uses: [rates] })
      .step('b', () => ran++, { uses: [rates, ledger] })
      .build();
    const error = await failure(s.run(undefined));
    expect(checked.sort()).toEqual(['ledger', 'rates']);
    expect(ran).toBe(0);
    expect(error.error?.message).toMatch(/dependency "ledger": ledger is read-only/);
  });

  it('starts the first step once every check passed', async () => {
    const s = saga('ready')
      .readiness(async () => {})
      .step('a', () => 'ran', { uses: [dependency('cache', async () => {})] })
      .build();
    await expect(s.run(undefined)).resolves.toEqual({ a: 'ran' });
  });
});

describe('cancellation', () => {
  it('aborts the running step, compensates what completed and ends cancelled', async () => {
    const clock = createTestClock();
    const undone: string[] = [];
    let aborted: unknown;
    const s = saga('cancel')
      .step('a', () => 1, { compensate: () => void undone.push('a') })
      .step('slow', ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject((aborted = signal.reason)))), {
        compensate: () => void undone.push('slow'),
      })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(10);
    handle.cancel();
    const error = await failure(handle.result);
    expect(aborted).toBeDefined();
    expect(undone).toEqual(['a']);
    expect(error.status).toBe('cancelled');
    expect(error.code).toBe('SAGA_CANCELLED');
    expect(handle.getStatus()).toBe('cancelled');
  });

  it('ignores a cancel once the saga has completed', async () => {
    const s = saga('cancel-late').step('a', () => 1).build();
    const handle = await s.start(undefined);
    await handle.result;
    handle.cancel();
    expect(handle.getStatus()).toBe('completed');
  });
});
