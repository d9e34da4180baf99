import { describe, expect, it } from 'vitest';
import { saga, type SagaDefinition } from '../src/index.js';
import { explore, formatReport, orsaMatchers, type ExploreOptions } from '../src/testing.js';
import { referenceSagas } from '../machines/index.js';
import { FRAUD_MAX_VISITS } from '../machines/order.saga.js';

expect.extend(orsaMatchers);

/** What each reference saga needs to be explored: a valid input, and a payload its waits' schemas accept. */
const optionsOf: Record<string, ExploreOptions<any>> = {
  'currency-exchange': { input: { amount: 45.12, from: 'USD', to: 'CNY' } },
  'currency-exchange-compensated': { input: { amount: 45.12, from: 'USD', to: 'CNY' } },
  order: { input: { orderId: 'o-1', sku: 'mug', quantity: 2, amountCents: 2_400 }, events: { 'order.confirmed': { confirmedBy: 'qa' } }, maxLoops: FRAUD_MAX_VISITS },
};

/** The saga of examples/manager.ts (declared in the example's body, which runs on import), rebuilt with the same shape. */
const transfer = saga('transfer')
  .input<{ from: string; to: string; amount: number }>()
  .step('debit', ({ input }) => ({ account: input.from, amount: input.amount }), { compensate: () => {} })
  .step('credit', ({ input }) => ({ account: input.to, amount: input.amount }), { compensate: () => {} })
  .sleep('clearing', 400)
  .step('notify', () => 'sent')
  .build();

describe('explore: the reference sagas and the examples have no violation', () => {
  const all: [string, SagaDefinition<any, any>, ExploreOptions<any>][] = [
    // Not ship-batch nor fulfil-order: explore does not drive a map's items yet (its world has no `orsa.items.*`
    // effect), nor a child saga's end (fulfil-order's payment child, order-payment, is explored on its own). Their
    // paths are covered by test/core-paths.test.ts, test/map*.test.ts, test/children*.test.ts and the SIGKILL tests.
    ...referenceSagas
      .filter((d) => d.name !== 'ship-batch' && d.name !== 'fulfil-order')
      .map((d) => [`machines/${d.name}`, d, optionsOf[d.name] ?? {}] as [string, SagaDefinition<any, any>, ExploreOptions<any>]),
    ['examples/manager transfer', transfer, { input: { from: 'a', to: 'b', amount: 10 } }],
  ];
  for (const [name, definition, options] of all) {
    it(`${name}: every failure, crash, cancel, timeout and branch order ends as the contract says`, async () => {
      const report = await explore(definition, options);
      console.log(`explore ${name}: ${report.paths} paths, ${report.states} states, ${report.faults} faults, endings ${JSON.stringify(report.endings)}`);
      expect(report).toHaveNoViolations();
      expect(report.endings.completed).toBeGreaterThan(0);
      expect(report.endings.compensated).toBeGreaterThan(0);
      expect(report.faults).toBeGreaterThan(10);
    });
  }

  it('reaches the paths it claims: the order saga hits its goto limit, times out its wait and fails a compensation', async () => {
    const report = await explore(referenceSagas.find((d) => d.name === 'order')!, optionsOf.order!);
    expect(report.endings.failed).toBeGreaterThan(0); // a compensation failed for good: failed, with a report
    expect(report.endings.cancelled).toBeGreaterThan(0);
    expect(report.truncated).toBe(false);
  });
});

describe('explore: what it reports', () => {
  it('finds the same counts every time (the search is deterministic)', async () => {
    const s = saga('twice').step('a', () => 1, { compensate: () => {} }).step('b', () => 2, { retry: 1 }).build();
    const [one, two] = [await explore(s), await explore(s)];
    expect({ ...one }).toEqual({ ...two });
  });

  it('formats a clean report with its counts', async () => {
    const report = await explore(saga('clean').step('a', () => 1, { compensate: () => {} }).step('b', () => 2).build());
    expect(formatReport(report)).toMatch(/^saga "clean" \(version \w+\): \d+ paths, \d+ states, \d+ faults injected; endings: .*\nno violation$/);
  });

  it('explores the failed effect of a step declared compensateOnFailure and undoes it', async () => {
    const undone: unknown[] = [];
    const s = saga('effect')
      .step('reserve', () => 1, { compensate: () => {} })
      .step('charge', () => 2, { compensateOnFailure: true, compensate: (ctx) => void undone.push(ctx.failed) })
      .step('ship', () => 3)
      .build();
    const report = await explore(s, {
      steps: { charge: { compensate: ({ error, record }) => (undone.push(error !== undefined), record.tookEffect() && record.undo()) } },
    });
    expect(report).toHaveNoViolations();
    expect(undone).toContain(true); // the compensation ran for a failed execution, with its error
  });

  it('explores a failed attempt of a retried compensateOnFailure step that left its effect, then a rollback before the retry', async () => {
    const s = saga('retried-effect')
      .step('reserve', () => 1, { compensate: () => {} })
      .step('charge', () => 2, { retry: 1, compensateOnFailure: true, compensate: () => {} })
      .step('ship', () => 3)
      .build();
    const report = await explore(s);
    expect(report).toHaveNoViolations();
    expect(report.endings.cancelled).toBeGreaterThan(0);
  });

  it('refuses an input the saga schema rejects, and an unknown step in options, saying what to pass', async () => {
    const s = saga('typed')
      .input({ '~standard': { version: 1, vendor: 't', validate: (v: unknown) => (typeof v === 'number' ? { value: v } : { issues: [{ message: 'a number' }] }) } })
      .step('a', () => 1)
      .build();
    await expect(explore(s, { input: 'x' as never })).rejects.toThrow(/pass a valid one as options.input/);
    await expect(explore(s, { input: 1, steps: { nope: {} } })).rejects.toThrow(/no step "nope"/);
  });

  it('says which payload to pass when a wait schema refuses the default one', async () => {
    const order = referenceSagas.find((d) => d.name === 'order')!;
    await expect(explore(order, { input: optionsOf.order!.input })).rejects.toThrow(/options.events\["order.confirmed"\]/);
  });
});
