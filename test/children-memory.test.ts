import { describe, expect, it } from 'vitest';
import { createTestClock, NonRetryableError, saga } from '../src/index.js';
import { failure } from './helpers.js';

/** A payment saga: charge (compensated by a refund), then a receipt. Every effect is logged by idempotency key. */
function payments(log: string[], opts: { declineAbove?: number } = {}) {
  return saga('payment')
    .input<{ orderId: string; amount: number }>()
    .step(
      'charge',
      ({ input, idempotencyKey }) => {
        log.push(`charge ${idempotencyKey}`);
        if (opts.declineAbove !== undefined && input.amount > opts.declineAbove) throw new NonRetryableError('card declined');
        return { chargeId: `ch-${input.orderId}`, amount: input.amount };
      },
      { compensate: ({ idempotencyKey }) => void log.push(`refund ${idempotencyKey}`) },
    )
    .step('receipt', ({ results }) => ({ receipt: `r-${results.charge.chargeId}` }), {
      compensate: ({ idempotencyKey }) => void log.push(`void receipt ${idempotencyKey}`),
    })
    .build();
}

function orders(log: string[], payment: ReturnType<typeof payments>, opts: { failShip?: boolean } = {}) {
  return saga('order')
    .input<{ orderId: string; amount: number }>()
    .step('reserve', ({ idempotencyKey }) => (log.push(`reserve ${idempotencyKey}`), { reservation: 'res-1' }), {
      compensate: ({ idempotencyKey }) => void log.push(`release ${idempotencyKey}`),
    })
    .child('payment', payment, ({ input }) => ({ orderId: input.orderId, amount: input.amount }))
    .step('ship', ({ results, idempotencyKey }) => {
      log.push(`ship ${idempotencyKey}`);
      if (opts.failShip) throw new NonRetryableError('no courier');
      return { parcel: `p-${results.payment.charge.chargeId}`, receipt: results.payment.receipt.receipt };
    })
    .build();
}

describe('child sagas in memory (def.run)', () => {
  it('gives the parent the child\'s results, typed, as the child step\'s result', async () => {
    const log: string[] = [];
    const order = orders(log, payments(log));
    const results = await order.run({ orderId: 'o1', amount: 10 }, { sagaId: 'o1', clock: createTestClock() });
    expect(results.payment).toEqual({ charge: { chargeId: 'ch-o1', amount: 10 }, receipt: { receipt: 'r-ch-o1' } });
    expect(results.ship).toEqual({ parcel: 'p-ch-o1', receipt: 'r-ch-o1' });
    // The child is an instance of its own: its id is derived from the parent's and the step's execution.
    expect(log).toEqual(['reserve o1:reserve#1', 'charge o1:payment#1:charge#1', 'ship o1:ship#1']);
  });

  it('fails the child step when the child fails, and the parent compensates its earlier steps', async () => {
    const log: string[] = [];
    const order = orders(log, payments(log, { declineAbove: 100 }));
    const error = await failure(order.run({ orderId: 'o2', amount: 500 }, { sagaId: 'o2', clock: createTestClock() }));
    expect(error.status).toBe('compensated');
    expect(error.step).toBe('payment');
    expect(error.error).toMatchObject({ code: 'CHILD_FAILED' });
    expect(error.error?.message).toContain('child saga "payment" (o2:payment#1)');
    expect(error.error?.message).toContain('card declined');
    expect(log).toEqual(['reserve o2:reserve#1', 'charge o2:payment#1:charge#1', 'release o2:reserve#1:compensate']);
  });

  it('rolls a completed child back when the parent fails later: its steps are compensated once, in reverse', async () => {
    const log: string[] = [];
    const order = orders(log, payments(log), { failShip: true });
    const error = await failure(order.run({ orderId: 'o3', amount: 10 }, { sagaId: 'o3', clock: createTestClock() }));
    expect(error.status).toBe('compensated');
    expect(error.report.compensated).toEqual(['payment#1', 'reserve#1']);
    expect(log).toEqual([
      'reserve o3:reserve#1',
      'charge o3:payment#1:charge#1',
      'ship o3:ship#1',
      'void receipt o3:payment#1:receipt#1:compensate',
      'refund o3:payment#1:charge#1:compensate',
      'release o3:reserve#1:compensate',
    ]);
  });

  it('cancels a running child when the parent is cancelled', async () => {
    const log: string[] = [];
    let started!: () => void;
    const charging = new Promise<void>((resolve) => (started = resolve));
    const slow = saga('slow-payment')
      .input<{ orderId: string }>()
      .step('hold', ({ idempotencyKey }) => void log.push(`hold ${idempotencyKey}`), { compensate: ({ idempotencyKey }) => void log.push(`unhold ${idempotencyKey}`) })
      .step('charge', ({ signal }) => {
        started();
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      })
      .build();
    const order = saga('order-c')
      .input<{ orderId: string }>()
      .child('payment', slow, ({ input }) => input)
      .build();
    const handle = await order.start({ orderId: 'o4' }, { sagaId: 'o4', clock: createTestClock() });
    await charging;
    handle.cancel();
    const error = await failure(handle.result);
    expect(error.status).toBe('cancelled');
    expect(log).toEqual(['hold o4:payment#1:hold#1', 'unhold o4:payment#1:hold#1:compensate']);
  });
});

describe('child sagas in memory: more shapes', () => {
  it('runs children in parallel branches and gives each branch its child\'s results', async () => {
    const log: string[] = [];
    const leaf = saga('leaf')
      .input<{ n: number }>()
      .step('double', ({ input, idempotencyKey }) => (log.push(idempotencyKey), input.n * 2))
      .build();
    const fan = saga('fan')
      .parallel('both', {
        left: (b) => b.child('l', leaf, () => ({ n: 1 })),
        right: (b) => b.child('r', leaf, () => ({ n: 2 })).step('sum', ({ results }) => results.r.double + 1),
      })
      .step('total', ({ results }) => results.l.double + results.sum)
      .build();
    const results = await fan.run(undefined, { sagaId: 'f1', clock: createTestClock() });
    expect(results.total).toBe(2 + 5);
    expect(log.sort()).toEqual(['f1:l#1:double#1', 'f1:r#1:double#1']);
  });

  it('ends the parent failed when a child cannot roll back, and a retry of the parent retries the child\'s rollback', async () => {
    const clock = createTestClock();
    const log: string[] = [];
    let refundWorks = false;
    const pay = saga('pay')
      .step('charge', () => 'ch-1', {
        compensate: ({ idempotencyKey }) => {
          log.push(`refund ${idempotencyKey} ${refundWorks ? 'ok' : 'down'}`);
          if (!refundWorks) throw new NonRetryableError('refunds are down');
        },
      })
      .build();
    const parent = saga('buy')
      .child('pay', pay, () => undefined)
      .step('ship', () => {
        throw new NonRetryableError('no courier');
      })
      .build();
    const handle = await parent.start(undefined, { sagaId: 'b1', clock });
    const error = await failure(handle.result);
    expect(error.status).toBe('failed');
    expect(error.report.undone).toEqual(['pay#1']);
    refundWorks = true;
    handle.retryCompensation();
    for (let i = 0; i < 50 && handle.getStatus() !== 'compensated'; i++) await clock.advance(10);
    expect(handle.getStatus()).toBe('compensated');
    expect(log).toEqual(['refund b1:pay#1:charge#1:compensate down', 'refund b1:pay#1:charge#1:compensate ok']);
  });
});
