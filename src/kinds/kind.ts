import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { CompiledStep, StateConfig, Target } from '../compilation/chart.js';
import type { Args } from '../compilation/context.js';
import type { Declaration, Dependency, Node, StepContext } from '../declaration/types.js';

/**
 * The contract of a step kind (step, parallel, wait, sleep; a child saga, a
 * fan-out): everything orsa knows about one kind of node lives in the module
 * that implements this interface, and `registry.ts` lists the modules. The
 * compiler, the machine, the interpreter and the readiness probe are generic:
 * they walk the declaration and ask the node's kind.
 *
 * A kind module holds, in this order:
 * 1. its declaration: the node type the builder records (`kind`, `name` and
 *    `position` plus the kind's own fields) and a `declare…` function that the
 *    thin builder method on `SagaBuilder` calls;
 * 2. its compilation: {@link StepKind.validate} and {@link StepKind.emit}, pure
 *    (no I/O, no `node:*`, no clock, never calling the user's functions);
 * 3. the actions and guards its states name ({@link StepKind.actions},
 *    {@link StepKind.guards});
 * 4. its effect: what the interpreter runs while one of its executions is
 *    active ({@link StepKind.effect}); none when the chart alone drives it.
 *
 * @example
 * ```ts
 * export const sleepKind: StepKind<SleepNode> = {
 *   kind: 'sleep',
 *   validate: (node, cx) => { if (!(node.ms >= 0)) cx.fail(`${cx.where(node)}: the duration must be >= 0`); return cx.facts(node); },
 *   emit: (node, next) => ({ id: stepId(node.name), tags: [TAGS.waiting], on: { 'orsa.wake': { target: next.ref } } }),
 * };
 * ```
 */
export interface StepKind<N extends KindNode = KindNode> {
  /** The tag the builder records in `node.kind`; unique in the registry. */
  readonly kind: N['kind'];

  /**
   * The sequences nested in a node (a parallel group's branches), for the
   * generic walks: unique names, goto scopes, the events a group waits for,
   * the pivot rules, the readiness probe. Leave it out for a leaf kind.
   */
  nested?(node: N): readonly Sequence[];

  /**
   * Checks a node at build time and returns its compiled facts (retry,
   * timeout, goto targets, all plain JSON), or `null` for a container whose
   * executions are its children's (parallel). Report every mistake with
   * `cx.fail` (the user sees them all at once) rather than throwing; call
   * `cx.sequence` for each nested sequence so it is checked too, and
   * `cx.later` for a check that needs every name of the saga (goto targets).
   * The name itself (syntax, uniqueness, reserved words) is checked already.
   * Pure: never call the user's functions here.
   */
  validate(node: N, cx: ValidateContext): CompiledStep | null;

  /**
   * The mistakes of a node placed after the saga's pivot, where the saga only
   * goes forward: anything that can fail for good, compensate or jump back
   * there is refused. Return one message per mistake (each starts with
   * `where` and `because`); leave it out when the kind cannot fail for good.
   */
  afterPivot?(node: N, where: string, because: string): string[];

  /**
   * The chart state of a node (called only once the whole saga validated).
   * `next` is where it goes when it is done: use `next.ref` as the target and
   * add `enterActions(next)` to that transition. Plain JSON: actions and
   * guards are referenced by name with JSON params, and the output must be
   * stable (it is hashed into the saga's version: changing it for an existing
   * kind makes stored sagas of that shape unresumable).
   */
  emit(node: N, next: Target, cx: EmitContext): StateConfig;

  /**
   * The actions the kind's states name, by name (XState `assign` actions,
   * pure functions of context and event). Names are global to the machine:
   * the registry refuses a name two kinds define.
   */
  readonly actions?: Readonly<Record<string, unknown>>;

  /** The guards the kind's states name, by name (pure predicates of context and event). */
  readonly guards?: Readonly<Record<string, (args: Args, params: any) => boolean>>;

  /** The inbox event a node consumes (a wait), with the schema its payload is validated against before it is stored. */
  consumes?(node: N): { event: string; schema: StandardSchemaV1 | undefined } | undefined;

  /** The services a node uses: their checks join the readiness probe that runs before the first step. */
  dependencies?(node: N): readonly Dependency[];

  /**
   * What the interpreter runs while an execution of a node is active
   * (`context.active[name]` holds it): the shared step runner calls it with
   * its timeout, interceptors, result checks and `orsa.done.*` /
   * `orsa.fail.*` events. Leave it out when the chart alone drives the kind
   * (timers, inbox events): such a kind never puts an execution in `active`.
   */
  readonly effect?: KindEffect<N>;

  /** How the overview diagram draws the kind's states; without it they are drawn as plain states under their names. */
  readonly drawing?: KindDrawing;

  /**
   * A `orsa.done.*` that arrives while the saga rolls back (a branch or item
   * that finished after a sibling failed): return the context update that
   * records it when the execution is one of this kind's (its `exec` names
   * it), else `undefined` and the chart records it as a plain step's result.
   * `compensable` lists the names whose results are compensated.
   */
  readonly completeLate?: (context: Args['context'], event: Args['event'], slot: string, compensable: readonly string[]) => object | undefined;
}

/**
 * How the overview diagram (src/diagram) draws a state of a kind. Diagrams
 * are drawn from the compiled config alone (a stored chart, without the
 * saga's code), so these read the state's JSON, never a node.
 */
export interface KindDrawing {
  /** Whether a state of the chart is one of this kind's (by its tags or type). */
  owns(state: StateConfig): boolean;
  /** What the state does besides running, for its second line (`retried, up to 4 attempts`); undefined when nothing. */
  describe?(state: StateConfig): string | undefined;
  /** The label of an arrow out of the state, from the guard of its transition (`on payment.confirmed`); undefined for none. */
  label?(guard: { type?: unknown; params?: Record<string, unknown> }, key: string): string | undefined;
}

/** The fields every node has, whatever its kind. */
export interface KindNode {
  kind: string;
  name: string;
  /** How the node was declared (`parallel "book" branch "hotel": step "room"`), for error messages. */
  position: string;
}

/** A named sequence of nodes nested in another node (a parallel branch). */
export interface Sequence {
  name: string;
  nodes: Node[];
}

/** What {@link StepKind.validate} may use. */
export interface ValidateContext {
  /** The saga's name. */
  readonly saga: string;
  /** Whether the node sits inside another node's sequence (a parallel branch) rather than at the top level. */
  readonly nested: boolean;
  /** Reports a definition mistake: `build()` throws one `SagaDefinitionError` listing them all. */
  fail(message: string): void;
  /** `saga "name": <position>`, the prefix of a message about `node`. */
  where(node: KindNode): string;
  /** Default facts of a node: no retry, no timeout, no compensation, no goto. */
  facts(node: KindNode): CompiledStep;
  /** Checks a nested sequence (call it for each of a container's sequences). */
  sequence(nodes: Node[], where: string): void;
  /** Runs `check` once every node of the saga was validated (every name is known then). */
  later(check: () => void): void;
  /** The sequence a name was declared in, once known. */
  scopeOf(name: string): Node[] | undefined;
  /** The index of a name in its sequence, once known. */
  indexOf(name: string): number | undefined;
  /** Registers a dependency a step uses; reports two different ones under one name. */
  use(node: KindNode, dependency: Dependency): void;
  /** The compiled facts of a name validated so far. */
  compiled(name: string): CompiledStep | undefined;
}

/** What {@link StepKind.emit} may use. */
export interface EmitContext {
  /** The compiled facts of every name (to know how a target is entered). */
  readonly steps: Readonly<Record<string, CompiledStep>>;
  /** The target that enters the node named `name`. */
  target(name: string): Target;
  /** The states of a nested sequence, chained in order; the last one goes to `exit` (a state reference). */
  sequence(nodes: Node[], exit: string): Record<string, StateConfig>;
}

/**
 * How the interpreter runs one execution of a node: `run` is called once per
 * attempt with the attempt's context (input, results, signal, idempotency
 * key); what it returns (or resolves to) is the execution's result, what it
 * throws its failure.
 */
export interface KindEffect<N> {
  /** Runs one attempt. */
  run(node: N, ctx: StepContext<unknown, Record<string, unknown>>): unknown;
  /**
   * Checks a result before the chart takes it (it is serialisable already)
   * and returns where the step goes next (a goto target) or null; throws what
   * the attempt fails with instead.
   */
  accept?(node: N, ctx: StepContext<unknown, Record<string, unknown>>, result: unknown): string | null;
  /** Whether an error of an attempt may be retried (a `NonRetryableError` never is; checked before). Default: yes. */
  retryable?(node: N, error: unknown): boolean;
}

/**
 * The step kinds of a saga, as the compiler, the machine and the interpreter
 * see them (`registry.ts` makes the one orsa uses).
 */
export interface KindRegistry {
  /** Every kind, in registry order. */
  readonly kinds: readonly StepKind[];
  /** The kind of a node; throws for a kind not in the registry. */
  of(node: KindNode): StepKind;
  /** The sequences nested in a node (none for a leaf kind). */
  nested(node: KindNode): readonly Sequence[];
  /** Rules across kinds, checked once every node validated (the pivot model). */
  readonly rules: readonly ((decl: Declaration, fail: (message: string) => void, kinds: KindRegistry) => void)[];
  /** The name of the saga's pivot step, if it declares one. */
  pivotOf(decl: Declaration): string | undefined;
}
