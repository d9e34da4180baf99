import { describe, expect, it } from 'vitest';
import { saga, type SagaDefinition } from '../src/index.js';
import { toMermaid } from '../src/diagram/diagram.js';
import type { StateConfig } from '../src/compilation/compile.js';
import { referenceSagas } from '../machines/index.js';
import { orderSaga } from './diagram-fixture.js';
import { parse } from './diagram-parse.js';

const noop = () => undefined;

/** Step names of a compiled chart (states with an `s:` id), from the config alone. */
function stepsOf(config: StateConfig): string[] {
  const out: string[] = [];
  const visit = (c: StateConfig) => {
    if (typeof c.id === 'string' && c.id.startsWith('s:')) out.push(c.id.slice(2));
    for (const child of Object.values((c.states ?? {}) as Record<string, StateConfig>)) visit(child);
  };
  visit(config);
  return out;
}

describe('toMermaid overview (the default)', () => {
  const diagram = toMermaid(orderSaga());
  const { parentOf, edges, statements, depthAtEnd } = parse(diagram);
  const lines = statements.map((s) => s.text);

  it('is a stateDiagram-v2 titled with the saga name, every block closed, deterministic from the JSON config', () => {
    expect(diagram.startsWith('---\ntitle: order\n---\nstateDiagram-v2\n')).toBe(true);
    expect(depthAtEnd).toBe(1);
    expect(toMermaid({ config: JSON.parse(JSON.stringify(orderSaga().config)) as StateConfig })).toBe(diagram);
    expect(toMermaid(orderSaga(), { detail: 'overview' })).toBe(diagram);
  });

  it('shows no internal event or guard name', () => {
    expect(diagram).not.toMatch(/orsa\.|isCurrent|isDue|shouldRetry|gotoAllowed|hasEvent|onDone|\[\w+/);
  });

  it('labels every step with its name, in the steps box; branch steps in their branch, in the group', () => {
    for (const step of ['reserve', 'check', 'confirmation', 'nap', 'notify']) {
      expect(lines).toContain(`state "${step}" as ${step}`);
      expect(parentOf.get(step), step).toBe('steps');
    }
    expect(lines).toContain('state "readiness check" as readiness');
    expect(parentOf.get('fulfil')).toBe('steps');
    expect(parentOf.get('fulfil_payment')).toBe('fulfil');
    expect(parentOf.get('fulfil_shipping')).toBe('fulfil');
    expect(parentOf.get('charge')).toBe('fulfil_payment');
    expect(parentOf.get('book')).toBe('fulfil_shipping');
    expect(parentOf.get('label')).toBe('fulfil_shipping');
    expect(statements.filter((s) => s.text === '--').map((s) => s.block)).toEqual(['fulfil']);
  });

  it('draws the main path as plain arrows from step to step', () => {
    for (const edge of [
      '[*] --> steps',
      '[*] --> readiness',
      'readiness --> reserve',
      'reserve --> fulfil',
      '[*] --> charge',
      '[*] --> book',
      'book --> label',
      'fulfil --> check',
      'check --> confirmation',
      'notify --> completed',
      'completed --> [*]',
    ]) {
      expect(edges).toContain(edge);
    }
    // A branch ends in its own region.
    expect(statements).toContainEqual({ block: 'fulfil_payment', text: 'charge --> [*]' });
    expect(statements).toContainEqual({ block: 'fulfil_shipping', text: 'label --> [*]' });
  });

  it('says in words what retries, gotos, waits and sleeps do', () => {
    expect(lines).toContain('charge : retried, up to 3 attempts · undone on rollback');
    expect(edges).toContain('check --> check : again, ≤ 3 visits');
    expect(lines).toContain('confirmation : waits at most 1 s');
    expect(edges).toContain('confirmation --> nap : on order.confirmed');
    expect(lines).toContain('nap : sleeps 10 ms');
    expect(edges).toContain('nap --> notify : after the sleep');
  });

  it('draws each compensation as its own state in the rollback, newest first, tied to its step', () => {
    expect(lines).toContain('reserve : undone on rollback');
    expect(parentOf.get('undo_charge')).toBe('rollback');
    expect(parentOf.get('undo_reserve')).toBe('rollback');
    expect(lines).toContain('state "undo charge" as undo_charge');
    expect(edges).toEqual(expect.arrayContaining(['[*] --> undo_charge', 'undo_charge --> undo_reserve', 'undo_reserve --> [*]']));
    // Steps without a compensation have none.
    for (const step of ['book', 'label', 'check', 'notify']) expect(diagram).not.toContain(`undo ${step}`);
    expect(lines).not.toContain('book : undone on rollback');
  });

  it('leads to the rollback with one arrow, and from it through the catch handler to the outcomes', () => {
    expect(edges.filter((e) => e.endsWith('--> rollback') || e.includes('--> rollback :'))).toEqual([
      'steps --> rollback : a step fails for good, or cancel',
      'failed --> rollback : retry compensation',
    ]);
    expect(edges).toEqual(
      expect.arrayContaining([
        'rollback --> catch_handler',
        'catch_handler --> compensated : all undone',
        'catch_handler --> cancelled : all undone after a cancel',
        'catch_handler --> failed : an undo fails for good',
        'compensated --> [*]',
        'cancelled --> [*]',
      ]),
    );
    expect(edges).not.toContain('failed --> [*]'); // an operator can retry it
  });

  it('goes straight from the rollback to the outcomes without a catch handler, and says when there is nothing to undo', () => {
    const plain = toMermaid(saga('plain').step('a', noop).step('b', noop).build());
    const { edges: plainEdges, parentOf: plainParents } = parse(plain);
    expect(plainEdges).toContain('rollback --> compensated : all undone');
    expect(plain).not.toContain('catch');
    expect(plainParents.get('nothing_to_undo')).toBe('rollback');
  });

  it('keeps step names that clash with its own states or with Mermaid keywords', () => {
    const odd = toMermaid(saga('odd').step('steps', noop, { compensate: noop }).step('catch_handler', noop).step('note', noop).step('book-hotel', noop).build());
    const { parentOf: p, edges: e, statements: s } = parse(odd);
    const texts = s.map((x) => x.text);
    expect(texts).toContain('state "steps" as steps_2');
    expect(texts).toContain('state "catch_handler" as catch_handler');
    expect(texts).toContain('state "note" as _note');
    expect(texts).toContain('state "book-hotel" as book_hotel');
    expect(p.get('steps_2')).toBe('steps');
    expect(e).toEqual(expect.arrayContaining(['steps_2 --> catch_handler', 'catch_handler --> _note', '_note --> book_hotel', 'steps --> rollback : a step fails for good, or cancel']));
    expect(texts).toContain('state "undo steps" as undo_steps');
  });

  it('draws every step of every reference saga exactly once', () => {
    for (const definition of referenceSagas) {
      const text = toMermaid(definition);
      for (const step of stepsOf(definition.config)) {
        const labels = text.split('\n').filter((l) => l.trim().startsWith(`state "${step}" as `));
        expect(labels, `${definition.name}: ${step}`).toHaveLength(1);
      }
    }
  });
});

describe('toMermaid overview of generated sagas (seeded fuzz)', () => {
  /** mulberry32: a seeded generator, so a failure replays. */
  const seeded = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const random = seeded(9);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  // Names that clash with the overview's own states, Mermaid keywords, or its label syntax.
  const names = ['a', 'steps', 'note', 'end', 'state', 'default-x', '_9lives', 'book-hotel', 'undo_a', 'catch_handler', 'nothing_to_undo', 'fulfil_l'];

  it('always gives a well-formed diagram naming every step once and undoing every compensable one', () => {
    for (let round = 0; round < 150; round++) {
      const used = new Set<string>();
      const fresh = () => {
        let n = pick(names);
        while (used.has(n)) n = `${n}${Math.floor(random() * 10)}`;
        used.add(n);
        return n;
      };
      const compensable: string[] = [];
      let builder = saga(`fuzz-${round}`) as unknown as { step: Function; sleep: Function; parallel: Function; build: () => SagaDefinition<any, any> };
      const count = 1 + Math.floor(random() * 5);
      for (let i = 0; i < count; i++) {
        const roll = random();
        const name = fresh();
        if (roll < 0.15) builder = builder.sleep(name, 1 + Math.floor(random() * 10_000));
        else if (roll < 0.3) {
          const [left, right] = [fresh(), fresh()];
          if (random() < 0.5) compensable.push(left);
          const comp = compensable.includes(left) ? { compensate: noop } : {};
          builder = builder.parallel(name, { l: (b: any) => b.step(left, noop, comp), r: (b: any) => b.step(right, noop, { retry: 1 }) });
        } else {
          const options = { ...(random() < 0.4 ? { compensate: noop } : {}), ...(random() < 0.3 ? { retry: 2 } : {}) };
          if ('compensate' in options) compensable.push(name);
          builder = builder.step(name, noop, options);
        }
      }
      const definition = builder.build();
      const text = toMermaid(definition);
      const { parentOf, statements, depthAtEnd } = parse(text);
      expect(depthAtEnd, text).toBe(1);
      for (const id of parentOf.keys()) expect(id).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      for (const s of statements) if (s.text.includes(' : ')) expect(s.text.split(' : ')[1]).not.toMatch(/[:;]/);
      for (const step of stepsOf(definition.config)) {
        const label = `state "${step.replace(/:/g, '∶').replace(/;/g, ',').replace(/"/g, "'")}" as `;
        // The steps box is always `steps`: a step of that name gets another id.
        const declared = text.split('\n').filter((l) => l.trim().startsWith(label) && !l.trim().endsWith(' as steps'));
        expect(declared, `${step}\n${text}`).toHaveLength(1);
      }
      for (const step of compensable) expect(text).toContain(`"undo ${step.replace(/:/g, '∶').replace(/;/g, ',').replace(/"/g, "'")}"`);
    }
  });
});
