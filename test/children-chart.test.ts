import { describe, expect, it } from 'vitest';
import { saga, SagaDefinitionError } from '../src/index.js';
import { toMermaid } from '../src/diagram/diagram.js';

const payment = saga('payment').input<{ amount: number }>().step('charge', () => 'ch-1', { compensate: () => {} }).build();
const order = () =>
  saga('order')
    .input<{ amount: number }>()
    .step('reserve', () => 'r')
    .child('payment', payment, ({ input }) => input)
    .step('ship', () => 's')
    .build();

describe('the child step kind in the chart', () => {
  it('is a state of its own kind: tagged orsa.child, naming the child saga and version in meta, compensable', () => {
    const state = (order().config.states as Record<string, Record<string, unknown>>).payment!;
    expect(state.tags).toEqual(['orsa.step', 'orsa.waiting', 'orsa.child']);
    expect(state.meta).toEqual({ child: 'payment', childVersion: payment.version });
    const on = state.on as Record<string, { actions?: unknown; target?: string }>;
    expect(Object.keys(on)).toEqual(['orsa.childStarted.payment', 'orsa.done.payment', 'orsa.fail.payment']);
    expect(on['orsa.done.payment']).toMatchObject({ target: '#s:ship', actions: { type: 'complete', params: { step: 'payment', compensable: true, enter: 'ship' } } });
  });

  it("changes the parent's version when the child saga changes", () => {
    const other = saga('payment').input<{ amount: number }>().step('charge', () => 'ch-2').step('receipt', () => 'r').build();
    const withOther = saga('order').input<{ amount: number }>().step('reserve', () => 'r').child('payment', other, ({ input }) => input).step('ship', () => 's').build();
    expect(withOther.version).not.toBe(order().version);
  });

  it('leaves the version of a saga without children as it was: parking is added to the machine, not to the compiled config', () => {
    expect(JSON.stringify(payment.config)).not.toContain('parked');
    expect(Object.keys((payment.machine.root as unknown as { states: object }).states)).toEqual(expect.arrayContaining(['finishing', 'parked']));
  });

  it('draws the child step as its own kind in both diagrams', () => {
    const overview = toMermaid(order());
    expect(overview).toContain('runs the saga payment as a child');

    const full = toMermaid(order(), { detail: 'full' });
    expect(full).toContain('note right of payment : child saga payment');
    expect(full).toContain('payment --> ship : orsa.done.payment [isCurrent]');
  });

  it('refuses at build time a child that is not a built saga, one with a pivot, and one after the pivot', () => {
    expect(() => saga('o').child('p', {} as never, () => ({})).build()).toThrow(/needs a built saga/);
    const pivoted = saga('pivoted').step('ship', () => 1, { pivot: true }).build();
    expect(() => saga('o').child('p', pivoted, () => undefined).build()).toThrow(/declares a pivot, but a parent may roll a completed child back/);
    expect(() =>
      saga('o')
        .step('ship', () => 1, { pivot: true })
        .child('p', payment, () => ({ amount: 1 }))
        .build(),
    ).toThrow(SagaDefinitionError);
  });
});
