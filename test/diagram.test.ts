import { describe, expect, it } from 'vitest';
import { saga } from '../src/index.js';
import { toMermaid } from '../src/diagram/diagram.js';
import type { StateConfig } from '../src/compilation/compile.js';
import { orderSaga } from './diagram-fixture.js';
import { parse } from './diagram-parse.js';

const noop = () => undefined;

/** The whole statechart, as `{ detail: 'full' }` draws it (the default overview has its own spec file). */
const full = (definition: Parameters<typeof toMermaid>[0]) => toMermaid(definition, { detail: 'full' });

describe("toMermaid(…, { detail: 'full' })", () => {
  const diagram = full(orderSaga());
  const { parentOf, edges, statements, depthAtEnd } = parse(diagram);

  describe('document', () => {
    it('is a stateDiagram-v2 titled with the saga name', () => {
      expect(diagram.startsWith('---\ntitle: order\n---\nstateDiagram-v2\n')).toBe(true);
      expect(depthAtEnd).toBe(1); // every block it opens is closed
      expect(diagram.endsWith('\n')).toBe(true);
    });

    it('starts where the chart starts (readiness, when the saga has a probe)', () => {
      expect(edges).toContain('[*] --> readiness');
      expect(edges).toContain('readiness --> reserve : orsa.ready');
      expect(edges).toContain('readiness --> rollback : orsa.notReady');
    });

    it('is deterministic: the same declaration always gives the same text', () => {
      expect(full(orderSaga())).toBe(diagram);
      expect(full(orderSaga())).toBe(full({ config: JSON.parse(JSON.stringify(orderSaga().config)) as StateConfig }));
    });

    it('changes when the chart changes', () => {
      const other = saga('order').step('reserve', () => 1).build();
      expect(full(other)).not.toBe(diagram);
    });
  });

  describe('steps', () => {
    it('draws every step, wait and sleep as a state', () => {
      for (const step of ['reserve', 'charge', 'book', 'label', 'check', 'confirmation', 'nap', 'notify']) {
        expect(parentOf.has(step), step).toBe(true);
      }
    });

    it('labels a step transition with its event and guard, leaving out params that repeat the step name', () => {
      expect(edges).toContain('reserve --> fulfil : orsa.done.reserve [isCurrent]');
      expect(edges).toContain('reserve --> rollback : orsa.fail.reserve [isCurrent]');
      expect(edges).toContain('notify --> completed : orsa.done.notify [isCurrent]');
    });

    it('draws a step with retries as a composite state: running ⇄ retrying', () => {
      expect(parentOf.get('charge_running')).toBe('charge');
      expect(parentOf.get('charge_retrying')).toBe('charge');
      expect(edges).toContain('[*] --> charge_running');
      expect(edges).toContain('charge_running --> charge_retrying : orsa.fail.charge [shouldRetry(maxAttempts=3)]');
      expect(edges).toContain('charge_retrying --> charge_running : orsa.wake [isDue]');
      expect(edges).toContain('charge_running --> rollback : orsa.fail.charge [isCurrent]');
    });

    it('draws a goto as a guarded transition back to its target, with the visit limit', () => {
      expect(edges).toContain('check --> check : orsa.done.check [gotoAllowed(target=check, maxVisits=3)]');
      expect(edges).toContain('check --> rollback : orsa.done.check [gotoRequested(target=check)]');
      expect(edges).toContain('check --> confirmation : orsa.done.check [isCurrent]');
    });

    it('shows what a wait waits for and how long, and how long a sleep lasts', () => {
      expect(edges).toContain('confirmation --> nap : [hasEvent(event=order.confirmed)]');
      expect(edges).toContain('confirmation --> rollback : orsa.wake [isDue]');
      expect(statements.map((s) => s.text)).toContain('confirmation : entry / startWait(timeoutMs=1000)');
      expect(statements.map((s) => s.text)).toContain('nap : entry / startTimer(ms=10)');
      expect(edges).toContain('nap --> notify : orsa.wake [isDue]');
    });
  });

  describe('parallel groups', () => {
    it('nest each branch inside the group, and each branch’s steps inside the branch', () => {
      expect(parentOf.get('fulfil')).toBe('(root)');
      expect(parentOf.get('fulfil_payment')).toBe('fulfil');
      expect(parentOf.get('fulfil_shipping')).toBe('fulfil');
      expect(parentOf.get('charge')).toBe('fulfil_payment');
      expect(parentOf.get('book')).toBe('fulfil_shipping');
      expect(parentOf.get('label')).toBe('fulfil_shipping');
    });

    it('are concurrent: the branches are regions separated by --', () => {
      const lines = diagram.split('\n').map((l) => l.trim());
      const group = lines.slice(lines.indexOf('state fulfil {'));
      const payment = group.indexOf('state fulfil_payment {');
      const shipping = group.indexOf('state fulfil_shipping {');
      expect(payment).toBeGreaterThan(0);
      expect(group.slice(payment, shipping)).toContain('--');
      expect(statements.filter((s) => s.text === '--').map((s) => s.block)).toEqual(['fulfil']);
    });

    it('end each branch in a final state and leave the group when all are done', () => {
      expect(edges).toContain('label --> fulfil_shipping_done : orsa.done.label [isCurrent]');
      expect(edges).toContain('fulfil_shipping_done --> [*]');
      expect(edges).toContain('fulfil_payment_done --> [*]');
      expect(edges).toContain('fulfil --> check : onDone');
    });

    it('keep the branch name as the label of its region', () => {
      expect(diagram).toContain('state "payment" as fulfil_payment');
      expect(diagram).toContain('state "done" as fulfil_payment_done');
    });
  });

  describe('rollback and final states', () => {
    it('draws the rollback region with its states', () => {
      for (const state of ['rollback_draining', 'rollback_next', 'rollback_compensating', 'rollback_waiting']) {
        expect(parentOf.get(state), state).toBe('rollback');
      }
      expect(edges).toContain('rollback_draining --> rollback_next : [nothingActive]');
      expect(edges).toContain('rollback_next --> rollback_compensating : [hasPendingCompensation]');
      expect(edges).toContain('rollback_compensating --> rollback_next : orsa.compensated [isCurrentCompensation]');
      expect(edges).toContain(
        'rollback_compensating --> rollback_waiting : orsa.compensationFailed [shouldRetryCompensation(policies={reserve,charge})]',
      );
      expect(edges).toContain('rollback_waiting --> rollback_compensating : orsa.wake [isDue(timer=$compensation)]');
    });

    it('draws transitions that only run actions as self-loops', () => {
      expect(edges).toContain('rollback_draining --> rollback_draining : orsa.done.*');
    });

    it('goes through the catch handler to the outcome', () => {
      expect(edges).toContain('settle --> outcome : orsa.caught');
      expect(edges).toContain('outcome --> failed : [compensationDidFail]');
      expect(edges).toContain('outcome --> cancelled : [wasCancelled]');
      expect(edges).toContain('outcome --> compensated');
    });

    it('marks completed, compensated and cancelled final, and not failed (an operator can retry it)', () => {
      for (const final of ['completed', 'compensated', 'cancelled']) expect(edges).toContain(`${final} --> [*]`);
      expect(edges).not.toContain('failed --> [*]');
      expect(edges).toContain('failed --> rollback_next : orsa.retryCompensation');
    });

    it('lists what the saga handles in every state (cancel, events) in a note', () => {
      const note = statements.filter((s) => s.block === 'note').map((s) => s.text);
      expect(note).toContain('orsa.cancel [isForward] → rollback');
      expect(note).toContain('orsa.event (stays in its state)');
      expect(diagram).toContain('note right of readiness');
    });

    it('draws every transition of the chart exactly once', () => {
      const count = (config: StateConfig): number => {
        let n = 0;
        const perTargets = (value: unknown) =>
          [value].flat().forEach((t) => {
            const target = typeof t === 'string' ? t : (t as { target?: unknown }).target;
            n += Array.isArray(target) ? target.length : 1;
          });
        Object.values((config.on ?? {}) as Record<string, unknown>).forEach(perTargets);
        if (config.always) perTargets(config.always);
        if (config.onDone) perTargets(config.onDone);
        for (const child of Object.values((config.states ?? {}) as Record<string, StateConfig>)) n += count(child);
        return n;
      };
      const config = orderSaga().config;
      const rootTransitions = Object.keys(config.on as object).length;
      expect(edges.filter((e) => !e.includes('[*]'))).toHaveLength(count(config) - rootTransitions);
    });
  });

  describe('Mermaid syntax', () => {
    it('uses ids Mermaid accepts: letters, digits and _ only', () => {
      for (const id of parentOf.keys()) expect(id).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
    });

    it('keeps : and ; out of labels (Mermaid ends a label there)', () => {
      for (const edge of edges) {
        const label = edge.split(' : ')[1] ?? '';
        expect(label).not.toMatch(/[:;]/);
      }
    });

    it('renames states whose names Mermaid cannot take, and shows the real name', () => {
      const text = full(saga('odd-names').step('book-hotel', noop).step('note', noop).step('defaultRate', noop).build());
      expect(text).toContain('state "book-hotel" as book_hotel');
      expect(text).toContain('state "note" as _note');
      expect(text).toContain('state "defaultRate" as _defaultRate');
      expect(text).toContain('book_hotel --> _note : orsa.done.book-hotel [isCurrent]');
    });

    it('replaces : in user-given event names', () => {
      const text = full(saga('colon').waitFor('paid', { event: 'payment:confirmed' }).build());
      expect(text).toContain('[hasEvent(event=payment∶confirmed)]');
    });
  });

  describe('any JSON statechart', () => {
    const config: StateConfig = {
      id: 'hand',
      initial: 'a',
      states: {
        a: { on: { GO: 'b', DEEP: 'c.inner', MANY: { target: ['#x', 'b'] } }, after: { 500: 'b' } },
        b: { on: { IN: '.kid' }, initial: 'kid', states: { kid: {} } },
        c: { id: 'x', initial: 'inner', states: { inner: { type: 'final' } } },
      },
    };

    it('resolves sibling, child, #id and multiple targets, and delayed transitions', () => {
      const { edges: hand } = parse(full({ config }));
      expect(hand).toContain('a --> b : GO');
      expect(hand).toContain('a --> c_inner : DEEP');
      expect(hand).toContain('a --> c : MANY');
      expect(hand).toContain('a --> b : MANY');
      expect(hand).toContain('a --> b : after 500 ms');
      expect(hand).toContain('b --> b_kid : IN');
      expect(hand).toContain('c_inner --> [*]');
    });

    it('refuses a target that names no state', () => {
      expect(() => full({ config: { id: 'bad', initial: 'a', states: { a: { on: { GO: 'nowhere' } } } } })).toThrow(/"nowhere"/);
    });
  });
});
