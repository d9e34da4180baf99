import { SagaDefinitionError } from '../errors.js';
import type { KindNode, KindRegistry, Sequence, StepKind } from './kind.js';
import { checkPivot, pivotOf } from './pivot.js';
import { stepKind } from './step.js';
import { parallelKind } from './parallel.js';
import { waitKind } from './wait.js';
import { sleepKind } from './sleep.js';
import { mapKind } from './map/kind.js';
import { childKind } from './child.js';

/**
 * Every step kind orsa knows, one line each: adding a kind is one module
 * (see `kind.ts`) plus one line here (and a thin builder method on
 * `SagaBuilder` that records its node).
 */
export const KINDS = [
  // First: its states carry the step and waiting tags too, and the overview asks the kinds in this order.
  childKind,
  stepKind,
  parallelKind,
  waitKind,
  sleepKind,
  mapKind,
] as const;

/** A node of any registered kind: what the builder records. */
export type Node = (typeof KINDS)[number] extends infer K ? (K extends StepKind<infer N> ? N : never) : never;

/** The registry the compiler, the machine and the interpreter use. */
export const kinds: KindRegistry = createKindRegistry(KINDS as readonly StepKind<any>[], [checkPivot], (decl) => pivotOf(decl)?.name);

/**
 * Makes a registry of `list` (tests make one with a kind of their own);
 * refuses two kinds of one name.
 */
export function createKindRegistry(
  list: readonly StepKind<any>[],
  rules: KindRegistry['rules'],
  pivot: KindRegistry['pivotOf'] = () => undefined,
): KindRegistry {
  const byKind = new Map<string, StepKind>();
  for (const kind of list) {
    if (byKind.has(kind.kind)) {
      throw new SagaDefinitionError(`two step kinds are registered as "${kind.kind}"; give each kind module its own kind name in src/kinds/registry.ts`);
    }
    byKind.set(kind.kind, kind);
  }
  const none: readonly Sequence[] = [];
  return {
    kinds: list,
    of(node: KindNode): StepKind {
      const kind = byKind.get(node.kind);
      if (!kind) {
        throw new SagaDefinitionError(
          `${node.position}: no step kind "${node.kind}" is registered (known: ${[...byKind.keys()].join(', ')}); add its module to src/kinds/registry.ts`,
        );
      }
      return kind;
    },
    nested: (node) => byKind.get(node.kind)?.nested?.(node as never) ?? none,
    rules,
    pivotOf: pivot,
  };
}
