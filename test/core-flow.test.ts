import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestClock, InvalidEventError, NonRetryableError, saga } from '../src/index.js';
import { failure } from './helpers.js';


describe('parallel groups', () => {
  it('runs branches concurrently and exposes every branch result after the group', async () => {
    const clock = createTestClock();
    const started: string[] = [];
    const delay = (ms: number, value: string) => new Promise<string>((r) => clock.setTimeout(() => r(value), ms));
    const s = saga('parallel')
      .step('order', () => 'o-1')
      .parallel('book', {
        hotel: (b) => b.step('hotel', () => (started.push('hotel'), delay(100, 'h'))),
        flight: (b) => b.step('flight', () => (started.push('flight'), delay(50, 'f'))).step('seat', ({ results }) => `${results.flight}-12A`),
      })
      .step('summary', ({ results }) => `${results.order}:${results.hotel}:${results.seat}`)
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(0);
    expect(started.sort()).toEqual(['flight', 'hotel']);
    await clock.advance(100);
    await expect(handle.result).resolves.toMatchObject({ summary: 'o-1:h:f-12A' });
  });

  it('aborts and awaits the other branches when one fails for good, then compensates every branch that completed', async () => {
    const clock = createTestClock();
    const log: string[] = [];
    const s = saga('parallel-fail')
      .step('reserve', () => 'r', { compensate: () => void log.push('undo reserve') })
      .parallel('book', {
        fast: (b) => b.step('fast', () => 'f', { compensate: () => void log.push('undo fast') }),
        slow: (b) =>
          b.step('slow', ({ signal }) =>
            new Promise((resolve) => {
              // Ignores the abort for a while, then completes anyway: it must still be compensated.
              signal.addEventListener('abort', () => {
                log.push('slow aborted');
                clock.setTimeout(() => {
                  log.push('slow settled');
                  resolve('s');
                }, 500);
              });
            }), { compensate: () => void log.push('undo slow') }),
        failing: (b) =>
          b.step('failing', () => new Promise((_, reject) => clock.setTimeout(() => reject(new NonRetryableError('no seats')), 100)), {
            compensate: () => void log.push('never'),
          }),
      })
      .step('after', () => log.push('never runs'))
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(100);
    expect(log).toEqual(['slow aborted']);
    expect(handle.getStatus()).toBe('compensating');
    await clock.advance(500);
    const error = await failure(handle.result);
    expect(log).toEqual(['slow aborted', 'slow settled', 'undo slow', 'undo fast', 'undo reserve']);
    expect(error.step).toBe('failing');
    expect(error.report.compensated).toEqual(['slow#1', 'fast#1', 'reserve#1']);
  });

  it('does not compensate a branch that failed after the abort', async () => {
    const clock = createTestClock();
    const log: string[] = [];
    const s = saga('parallel-abort')
      .parallel('g', {
        a: (b) => b.step('a', ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), { compensate: () => void log.push('undo a') }),
        b: (b) => b.step('b', () => Promise.reject(new NonRetryableError('b failed'))),
      })
      .build();
    const error = await failure(s.run(undefined, { clock }));
    expect(log).toEqual([]);
    expect(error.report).toEqual({ compensated: [], undone: [] });
  });
});

describe('goto', () => {
  it('jumps back to a declared step until decide says go on, and compensates every execution in reverse order', async () => {
    const log: string[] = [];
    let stock = 0;
    const s = saga('goto')
      .step('reserve', ({ idempotencyKey }) => {
        stock++;
        log.push(`reserve ${idempotencyKey.split(':')[1]}`);
        return stock;
      }, { compensate: ({ result }) => void log.push(`release ${result}`) })
      .step('check', ({ results }) => results.reserve >= 3, {
        goto: { targets: ['reserve'], decide: ({ result }) => (result ? null : 'reserve'), maxVisits: 5 },
      })
      .step('pay', () => {
        throw new NonRetryableError('card declined');
      })
      .build();
    const error = await failure(s.run(undefined));
    expect(log).toEqual(['reserve reserve#1', 'reserve reserve#2', 'reserve reserve#3', 'release 3', 'release 2', 'release 1']);
    expect(error.report.compensated).toEqual(['reserve#3', 'reserve#2', 'reserve#1']);
  });

  it('fails with GOTO_LIMIT when a target would be entered more than maxVisits times', async () => {
    let runs = 0;
    const s = saga('goto-limit')
      .step('poll', () => ++runs, { goto: { targets: ['poll'], decide: () => 'poll', maxVisits: 4 } })
      .build();
    const error = await failure(s.run(undefined));
    expect(runs).toBe(4);
    expect(error.error).toMatchObject({ code: 'GOTO_LIMIT' });
    expect(error.error?.message).toMatch(/maxVisits/);
  });

  it('fails the step when decide returns an undeclared target', async () => {
    const s = saga('goto-undeclared')
      .step('a', () => 1)
      .step('b', () => 2, { goto: { targets: ['a'], decide: () => 'b' as 'a' } })
      .build();
    const error = await failure(s.run(undefined));
    expect(error.error?.message).toMatch(/not among its targets/);
  });
});

describe('waitFor', () => {
  it('waits for a named event, validates its payload and passes it on as the step result', async () => {
    const clock = createTestClock();
    const s = saga('wait')
      .step('order', () => 'o-1')
      .waitFor('payment', { event: 'payment.confirmed', timeoutMs: 60_000, schema: z.object({ ref: z.string() }) })
      .step('ship', ({ results }) => `shipped after ${results.payment.ref}`)
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(1_000);
    expect(handle.getStatus()).toBe('waiting');
    await expect(handle.send('payment.confirmed', { ref: 42 })).rejects.toBeInstanceOf(InvalidEventError);
    expect(handle.getStatus()).toBe('waiting');
    await handle.send('payment.confirmed', { ref: 'p-9' });
    await expect(handle.result).resolves.toMatchObject({ ship: 'shipped after p-9' });
  });

  it('keeps an event sent before the saga waits for it', async () => {
    const clock = createTestClock();
    const s = saga('early')
      .step('slow', () => new Promise((r) => clock.setTimeout(() => r('done'), 100)))
      .waitFor('approval', { event: 'approved' })
      .build();
    const handle = await s.start(undefined, { clock });
    await handle.send('approved', { by: 'ann' });
    await clock.advance(100);
    await expect(handle.result).resolves.toEqual({ slow: 'done', approval: { by: 'ann' } });
  });

  it('fails the saga and compensates when no event arrives before timeoutMs', async () => {
    const clock = createTestClock();
    const undone: string[] = [];
    const s = saga('wait-timeout')
      .step('hold', () => 1, { compensate: () => void undone.push('hold') })
      .waitFor('confirm', { event: 'confirmed', timeoutMs: 5_000 })
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(4_999);
    expect(handle.getStatus()).toBe('waiting');
    await clock.advance(1);
    const error = await failure(handle.result);
    expect(error.step).toBe('confirm');
    expect(error.error).toMatchObject({ code: 'WAIT_TIMEOUT' });
    expect(undone).toEqual(['hold']);
  });
});

describe('sleep', () => {
  it('pauses for the given duration, with the due time kept in the snapshot', async () => {
    const clock = createTestClock();
    const start = clock.now();
    let at = 0;
    const s = saga('sleepy')
      .sleep('coolDown', 30_000)
      .step('after', () => void (at = clock.now() - start))
      .build();
    const handle = await s.start(undefined, { clock });
    await clock.advance(0);
    expect(handle.getSnapshot().context.timers).toEqual({ coolDown: start + 30_000 });
    expect(handle.getStatus()).toBe('waiting');
    await clock.advance(30_000);
    await handle.result;
    expect(at).toBe(30_000);
  });
});
