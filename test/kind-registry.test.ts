import { describe, expect, it } from 'vitest';
import { assign, createActor } from 'xstate';
import { saga, SagaDefinitionError } from '../src/index.js';
import { enterActions, stepId, withActions, type StateConfig } from '../src/compilation/chart.js';
import { compileSaga } from '../src/compilation/compile.js';
import { withKey, type Args, type SagaContext } from '../src/compilation/context.js';
import { createSagaMachine } from '../src/compilation/machine.js';
import { toPlain } from '../src/compilation/append-map.js';
import type { Declaration } from '../src/declaration/types.js';
import type { StepKind } from '../src/kinds/kind.js';
import { checkPivot } from '../src/kinds/pivot.js';
import { createKindRegistry, KINDS, kinds } from '../src/kinds/registry.js';

/**
 * A kind written the way a kind author would: one module's worth of code
 * (its node, its checks, its state, its action) and one registry entry. It
 * stores a constant as its result and goes on at once.
 */
interface MarkNode {
  kind: 'mark';
  name: string;
  value: unknown;
  position: string;
}

const markKind: StepKind<MarkNode> = {
  kind: 'mark',
  validate(node, cx) {
    if (node.value === undefined) cx.fail(`${cx.where(node)} needs a value`);
    return cx.facts(node);
  },
  emit: (node, next): StateConfig => ({
    id: stepId(node.name),
    entry: { type: 'recordMark', params: { step: node.name, value: node.value } },
    always: withActions({ target: next.ref }, enterActions(next)),
  }),
  actions: {
    recordMark: assign(({ context }: Args, { step, value }: { step: string; value: unknown }) => ({ results: withKey(context.results, step, value) })),
  },
};

const withMark = createKindRegistry([...(KINDS as readonly StepKind<any>[]), markKind as StepKind<any>], [checkPivot]);

/** A declaration holding `nodes` after a plain step `a`, as a builder with a `.mark()` method would record it. */
function declaration(...extra: object[]): Declaration {
  const base = saga('marked').step('a', () => 1) as unknown as { decl: Declaration };
  return { ...base.decl, nodes: [...base.decl.nodes, ...(extra as never[])] };
}

describe('step kinds: one module and one registry entry', () => {
  it('compiles and runs a kind added only to the registry, on the real XState interpreter', () => {
    const decl = declaration({ kind: 'mark', name: 'm', value: { ok: true }, position: 'mark "m"' });
    const compiled = compileSaga(decl, withMark);
    expect((compiled.config.states as Record<string, StateConfig>).m).toEqual({
      id: 's:m',
      entry: { type: 'recordMark', params: { step: 'm', value: { ok: true } } },
      always: { target: '#orsa:completed' },
    });
    const actor = createActor(createSagaMachine(compiled.config, withMark), { input: { sagaId: 's-1', input: null, now: 0 } }).start();
    expect(actor.getSnapshot().context.active).toEqual({ a: { exec: 'a#1', attempt: 1 } });
    actor.send({ type: 'orsa.done.a', exec: 'a#1', result: 1, goto: null, now: 1 });
    const snapshot = actor.getSnapshot();
    expect(snapshot.status).toBe('done');
    expect(toPlain((snapshot.context as SagaContext).results)).toEqual({ a: 1, m: { ok: true } });
  });

  it("reports the new kind's own mistakes with the others, at build time", () => {
    const decl = declaration({ kind: 'mark', name: 'm', value: undefined, position: 'mark "m"' }, { kind: 'mark', name: 'a', value: 1, position: 'mark "a"' });
    expect(() => compileSaga(decl, withMark)).toThrow(/2 mistakes:\n- saga "marked": mark "m" needs a value\n- saga "marked": the name "a" is used twice/);
  });

  it('refuses a node whose kind is not registered, naming the registry', () => {
    const decl = declaration({ kind: 'mark', name: 'm', value: 1, position: 'mark "m"' });
    expect(() => compileSaga(decl, kinds)).toThrow(SagaDefinitionError);
    expect(() => compileSaga(decl, kinds)).toThrow(/mark "m": no step kind "mark" is registered \(known: child, step, parallel, wait, sleep, map\); add its module to src\/kinds\/registry.ts/);
  });

  it('refuses two kinds of one name, and an action name two kinds define', () => {
    expect(() => createKindRegistry([markKind, markKind] as StepKind<any>[], [])).toThrow(/two step kinds are registered as "mark"/);
    const clash: StepKind<any> = { ...markKind, kind: 'clash', actions: { complete: markKind.actions!.recordMark } };
    const registry = createKindRegistry([...(KINDS as readonly StepKind<any>[]), clash], []);
    const config = compileSaga(declaration(), registry).config;
    expect(() => createSagaMachine(config, registry)).toThrow(/step kind "clash" defines the action "complete", which another kind or the saga itself defines/);
  });

});
