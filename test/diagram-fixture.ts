import { saga } from '../src/index.js';

const noop = () => undefined;

/** The saga both diagram specs draw: readiness, a compensated step, a parallel group, a goto, a wait, a sleep and a catch. */
export function orderSaga() {
  return saga('order')
    .input<{ n: number }>()
    .readiness(noop)
    .step('reserve', () => 1, { compensate: noop })
    .parallel('fulfil', {
      payment: (b) => b.step('charge', () => 2, { retry: 2 }).compensate(noop),
      shipping: (b) => b.step('book', () => 3).step('label', () => 4),
    })
    .step('check', () => 5, { goto: { targets: ['check'], decide: () => null, maxVisits: 3 } })
    .waitFor('confirmation', { event: 'order.confirmed', timeoutMs: 1_000 })
    .sleep('nap', 10)
    .step('notify', () => 6)
    .catch(noop)
    .build();
}
