import { afterEach, describe, expect, it } from 'vitest';

// Regressions found in review: each of these failed before its fix.
import { createRuntime, createTestClock, NonRetryableError, saga, SagaFailedError, type Runtime } from '../src/index.js';
import { MemoryStore } from '../src/stores/memory/store.js';

const runtimes: Runtime[] = [];
const track = (runtime: Runtime) => (runtimes.push(runtime), runtime);
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe('goto visit limit', () => {
  it('stops a goto loop whose target is a sleep after maxVisits (poll-with-pause pattern)', async () => {
    const clock = createTestClock();
    let checks = 0;
    const s = saga('poll-sleep')
      .sleep('pause', 1_000)
      .step('check', () => (++checks, false), // The types only offer steps that have results as targets; .build() accepts a sleep (plain JS, or a cast).
      { goto: { targets: ['pause' as never], decide: () => 'pause' as never, maxVisits: 3 } })
      .build();
    const handle = await s.start(undefined, { clock });
    const result = outcome(handle.result);
    await clock.advance(20_000);
    // maxVisits: 3 => "pause" is entered at most 3 times, so "check" runs 3 times, then GOTO_LIMIT.
    expect(checks).toBe(3);
    expect(handle.getStatus()).toBe('compensated');
    const r = await result;
    expect(r.ok).toBe(false);
    expect((r as { error: SagaFailedError }).error.error?.code).toBe('GOTO_LIMIT');
  });

  it('stops a goto loop whose target is a parallel group after maxVisits', async () => {
    const clock = createTestClock();
    let rounds = 0;
    const later = <T>(value: T) => new Promise<T>((r) => clock.setTimeout(() => r(value), 10));
    const s = saga('poll-parallel')
      .parallel('fanout', {
        a: (b) => b.step('a', () => later(1)),
        b: (b) => b.step('b', () => later(2)),
      })
      .step('check', () => ++rounds, { goto: { targets: ['fanout' as never], decide: () => 'fanout' as never, maxVisits: 3 } })
      .build();
    const handle = await s.start(undefined, { clock });
    const result = outcome(handle.result);
    await clock.advance(1_000);
    expect(rounds).toBe(3);
    expect(handle.getStatus()).toBe('compensated');
    expect(await result).toMatchObject({ ok: false });
  });
});

describe('waitFor in parallel branches', () => {
  it('refuses at build time two concurrent branches waiting for the same event (one event is consumed by one wait)', () => {
    expect(() =>
      saga('two-waiters')
        .parallel('both', {
          left: (b) => b.waitFor('l', { event: 'go' }),
          right: (b) => b.waitFor('r', { event: 'go' }),
        })
        .build(),
    ).toThrow(/branches "left" and "right" of parallel "both" both wait for the event "go"; an event is consumed by one wait/);
  });
});

describe('durable inbox delivery', () => {
  it('does not drop an event stored by another process (orsa cancel) when a later event is delivered directly', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    let release!: () => void;
    const s = saga('inbox-order')
      .step('slow', () => new Promise<number>((r) => (release = () => r(1))), { compensate: () => {} })
      .waitFor('w', { event: 'note' })
      .build();
    const runtime = track(createRuntime({ sagas: [s], store, clock, onError: () => {} }));
    const { id } = await runtime.startSaga(s, undefined);
    await clock.advance(10);
    // `orsa cancel <id>` from the CLI: stored by another process (seq 1), picked up by the worker's poll later.
    await store.sendEvent(id, 'cancel', 'null', clock.now(), 'command');
    // The application sends an event through this worker (seq 2): delivered at once.
    await runtime.send(id, 'note', 'hello');
    await clock.advance(10);
    release();
    await clock.advance(5_000); // several polls
    expect((await store.get(id))?.status).toBe('cancelled');
  });

  it('does not drop an event sent through a worker that does not run the saga', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    let release!: () => void;
    const s = saga('inbox-order2')
      .step('slow', () => new Promise<number>((r) => (release = () => r(1))))
      .waitFor('w1', { event: 'e1' })
      .waitFor('w2', { event: 'e2' })
      .version('1')
      .build();
    const a = track(createRuntime({ sagas: [s], store, clock, workerId: 'A', onError: () => {} }));
    const b = track(createRuntime({ sagas: [s], store, clock, workerId: 'B', onError: () => {} }));
    const { id } = await a.startSaga(s, undefined);
    await b.start();
    await clock.advance(10);
    await b.send(id, 'e1', 'one'); // B does not run it: stored, B's claim fails (A holds the lease)
    await a.send(id, 'e2', 'two'); // A runs it: delivered at once
    await clock.advance(10);
    release();
    await clock.advance(5_000);
    expect((await store.get(id))?.status).toBe('completed');
  });
});

describe('durable live bookkeeping', () => {
  it('does not run a step twice when the same id is started again while the first run is still going', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    let runs = 0;
    const s = saga('dup-start')
      .step('slow', () => (++runs, new Promise<number>(() => {})))
      .build();
    const runtime = track(createRuntime({ sagas: [s], store, clock, onError: () => {} }));
    await runtime.startSaga(s, undefined, { id: 'order-1' });
    await clock.advance(10);
    const again = await runtime.startSaga(s, undefined, { id: 'order-1' });
    expect(again.created).toBe(false);
    await clock.advance(10);
    // Any event for it (here the CLI's `orsa resume` nudge) makes this worker claim its own running saga again.
    await store.sendEvent('order-1', 'resume', 'null', clock.now(), 'command');
    await clock.advance(1_000); // the next poll picks it up
    await clock.advance(10);
    expect(runs).toBe(1);
  });

  it('keeps renewing the lease of a saga whose compensation is being retried (no duplicate compensation)', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    let refundUp = false;
    let refunds = 0;
    const s = saga('retry-comp')
      .step('charge', () => 1, {
        compensate: () => {
          if (!refundUp) throw new Error('refund API down');
          refunds++;
          return new Promise(() => {}); // a slow refund (longer than the lease)
        },
        compensateRetry: 0,
      })
      .step('ship', () => {
        throw new NonRetryableError('no stock');
      })
      .build();
    const runtime = track(createRuntime({ sagas: [s], store, clock, leaseMs: 10_000, pollIntervalMs: 1_000, onError: () => {} }));
    const { id } = await runtime.startSaga(s, undefined);
    await clock.advance(10);
    expect((await store.get(id))?.status).toBe('failed');
    refundUp = true;
    await runtime.retryCompensation(id);
    await clock.advance(10);
    expect(refunds).toBe(1);
    await clock.advance(30_000);
    expect(refunds).toBe(1);
  });
});

describe('history and hooks', () => {
  it('does not record a step as started again when a stored event changes nothing', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const s = saga('nudge')
      .step('slow', () => new Promise<number>(() => {}))
      .build();
    const runtime = track(createRuntime({ sagas: [s], store, clock, onError: () => {} }));
    const { id } = await runtime.startSaga(s, undefined);
    await clock.advance(10);
    await store.sendEvent(id, 'resume', 'null', clock.now(), 'command'); // `orsa resume` on a saga this worker runs: nothing to do
    await clock.advance(1_000); // the next poll delivers it
    const started = (await runtime.history(id)).filter((h) => h.type === 'step.started');
    expect(started).toHaveLength(1);
  });

  it('calls onAbort once for a failed saga, not again for every event it receives afterwards', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    let aborts = 0;
    const s = saga('abort-once')
      .step('charge', () => 1, {
        compensate: () => {
          throw new Error('refund API down');
        },
        compensateRetry: 0,
      })
      .step('ship', () => {
        throw new NonRetryableError('no stock');
      })
      .build();
    const runtime = track(createRuntime({ sagas: [s], store, clock, onError: () => {}, hooks: { onAbort: () => void aborts++ } }));
    const { id } = await runtime.startSaga(s, undefined);
    await clock.advance(10);
    expect((await store.get(id))?.status).toBe('failed');
    expect(aborts).toBe(1);
    // The runtime refuses a cancel of a failed saga; one stored anyway (an older CLI, a raw store user) changes nothing.
    await expect(runtime.cancel(id)).rejects.toMatchObject({ code: 'SAGA_ENDED' });
    await store.sendEvent(id, 'cancel', 'null', clock.now(), 'command');
    await clock.advance(1_000);
    expect(aborts).toBe(1);
    expect(await store.inbox(id)).toEqual([]);
  });
});

describe('versions', () => {
  it('never touches a record whose name is registered but whose version only matches another saga', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const orderV1 = saga('order').step('a', () => new Promise(() => {})).version('1').build();
    const old = createRuntime({ sagas: [orderV1], store, clock, workerId: 'old', leaseMs: 1_000, onError: () => {} });
    const { id } = await old.startSaga(orderV1, undefined);
    await clock.advance(10);
    (old as unknown as { running: boolean }).running = false; // crashed
    await clock.advance(2_000);
    const before = await store.get(id);
    const orderV2 = saga('order').step('a', () => 2).step('b', () => 3).version('2').build();
    const payment = saga('payment').step('p', () => 1).version('1').build();
    const errors: unknown[] = [];
    const runtime = track(createRuntime({ sagas: [orderV2, payment], store, clock, onError: (e) => errors.push(e) }));
    await runtime.start();
    await clock.advance(10);
    const after = await store.get(id);
    expect(after?.rowVersion).toBe(before?.rowVersion);
    expect(after?.owner).toBe(before?.owner);
  });
});

describe('lease renewal', () => {
  it('reports a failed lease renewal through onError instead of an unhandled rejection', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    let failRenew = true;
    const realRenew = store.renew.bind(store);
    store.renew = async (...args) => {
      if (failRenew) {
        failRenew = false;
        throw new Error('connection reset');
      }
      return realRenew(...args);
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const s = saga('renew').step('slow', () => new Promise(() => {})).build();
      const errors: unknown[] = [];
      const runtime = track(createRuntime({ sagas: [s], store, clock, leaseMs: 3_000, onError: (e) => errors.push(e) }));
      await runtime.startSaga(s, undefined);
      await clock.advance(1_500);
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      expect(errors.map((e) => (e as Error).message)).toContain('connection reset');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('takeover during rollback', () => {
  it('re-runs a sibling step the crashed worker had under way, with a live signal, and compensates it once it completes', async () => {
    // On purpose: the crashed run may have done its side effect. An aborted signal would make an
    // honest step give up and leave that effect behind; an idempotent re-run completes and is undone.
    const clock = createTestClock();
    const store = new MemoryStore();
    const seen: boolean[] = [];
    const undone: string[] = [];
    const def = (second: boolean) =>
      saga('drain')
        .parallel('g', {
          x: (b) => b.step('x', () => new Promise((_, reject) => clock.setTimeout(() => reject(new NonRetryableError('no')), 100))),
          y: (b) =>
            b.step('y', ({ signal }) => {
              if (!second) return new Promise(() => {}); // the first worker dies while y runs
              return new Promise((resolve) => clock.setTimeout(() => (seen.push(signal.aborted), resolve('y')), 50));
            }, { compensate: ({ idempotencyKey }) => void undone.push(idempotencyKey) }),
        })
        .version('1')
        .build();
    const a = createRuntime({ sagas: [def(false)], store, clock, workerId: 'A', leaseMs: 5_000, onError: () => {} });
    const { id } = await a.startSaga('drain', undefined);
    await clock.advance(200);
    expect((await store.get(id))?.status).toBe('compensating');
    (a as unknown as { running: boolean }).running = false;
    const b = track(createRuntime({ sagas: [def(true)], store, clock, workerId: 'B', leaseMs: 5_000 }));
    await b.start();
    await clock.advance(20_000);
    expect(seen).toEqual([false]);
    expect(undone).toEqual([`${id}:y#1:compensate`]);
    expect((await store.get(id))?.status).toBe('compensated');
  });
});
