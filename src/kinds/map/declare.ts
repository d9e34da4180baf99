import type { RetryPolicy } from '../../declaration/policy.js';
import type { AnyFn, Declaration, Dependency, StepContext, StepNode } from '../../declaration/types.js';
import { DEFAULT_MAP_CONCURRENCY } from './names.js';

/** A `.map()` as the builder collects it: the items function, the branch each item runs, and its concurrency. */
export interface MapNode {
  kind: 'map';
  name: string;
  /** `({ input, results }) => items`, called once when the saga enters the map. */
  items: AnyFn;
  /** The branch: plain steps only (see {@link MapBranch}). */
  nodes: StepNode[];
  concurrency: number;
  position: string;
}

/** What a step of a map branch receives: a step's context plus its item and the item's index in the list. */
export type ItemContext<I, R, T> = StepContext<I, R> & {
  /** The item this branch runs for. */
  item: T;
  /** Its position in the list the items function returned (0 first). */
  index: number;
};

/** What the compensation of a map branch step receives: its item's context plus that step's result. */
export type ItemCompensationContext<I, R, T, U> = ItemContext<I, R, T> & {
  /** The result of the item's step execution being undone. */
  result: U;
};

/** Options of a step in a map branch: the options of a step, without goto, pivot and compensateOnFailure. */
export interface ItemStepOptions<I, R, T, U> {
  /** As for `.step()`: `retry: 3`, a full policy, or `'forever'`. Each item retries on its own. Default: no retry. */
  retry?: number | RetryPolicy | 'forever';
  /** Abort the item step's signal and count a failure after this many ms. Default: none. */
  timeoutMs?: number;
  /** Undoes this item's step when the saga rolls back (after an item, or a later step, failed for good). */
  compensate?: (ctx: ItemCompensationContext<I, R, T, U>) => unknown;
  /** Retry policy of the compensation. Default: 3 retries, 100 ms doubling. */
  compensateRetry?: number | RetryPolicy;
  /** Dependencies this step uses: their checks join the readiness probe. */
  uses?: readonly Dependency[];
}

/** Options of `.map()`. */
export interface MapOptions {
  /** Most items whose branch runs at once, a whole number >= 1. Default 10 ({@link DEFAULT_MAP_CONCURRENCY}). */
  concurrency?: number;
}

type Fresh<N extends string, R> = N extends keyof R ? `step "${N}" is already declared: step names must be unique` : N;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** A kind a map branch may not hold: the argument is typed so that calling it does not compile. */
type Refused = `a map branch holds plain steps only`;

/**
 * The builder of a map branch: the steps each item runs, in order. A branch
 * holds plain steps (with retry, timeout, compensation and `uses`); wait,
 * sleep, parallel groups, nested maps, child sagas, goto, pivot and
 * `compensateOnFailure` are refused by `.build()` with a `SagaDefinitionError`.
 *
 * @typeParam I - the saga's input
 * @typeParam R - results of the saga's steps before the map
 * @typeParam T - the item type
 * @typeParam A - results of this branch's steps so far (one element of the map's result)
 * @typeParam Last - the last step's name (the one `.compensate()` attaches to)
 *
 * @example
 * ```ts
 * .map('charge', ({ input }) => input.orders, (b) => b
 *   .step('reserve', ({ item }) => stock.reserve(item.sku))
 *   .compensate(({ result }) => stock.release(result.id))
 *   .step('charge', ({ item, results }) => pay(item, results.reserve.id), { retry: 3 }),
 * { concurrency: 20 })
 * ```
 */
export class MapBranch<I, R extends object, T, A extends object, Last extends string> {
  /** @internal */
  constructor(
    /** @internal */ readonly decl: Declaration,
    /** @internal */ readonly nodes: StepNode[],
    /** @internal */ readonly scope: string,
  ) {}

  /**
   * Declares a step of the branch. It receives the saga's input, its item and
   * index, and `results`: the saga's results before the map plus this item's
   * earlier branch steps. Its return value becomes `results[name]` for the
   * item's later steps and a field of the item's element in the map's result.
   *
   * @example
   * ```ts
   * (b) => b.step('ship', ({ item, signal }) => ship(item, { signal }), { retry: 3, timeoutMs: 5_000 })
   * ```
   */
  step<N extends string, U>(
    name: Fresh<N, R & A>,
    run: (ctx: ItemContext<I, Simplify<R & A>, T>) => U,
    options?: ItemStepOptions<I, Simplify<R & A>, T, Awaited<U>>,
  ): MapBranch<I, R, T, Simplify<A & { [K in N]: Awaited<U> }>, N> {
    const opts = (options ?? {}) as ItemStepOptions<unknown, object, unknown, unknown> & { goto?: unknown; pivot?: unknown; compensateOnFailure?: unknown };
    this.nodes.push({
      kind: 'step',
      name,
      run: run as AnyFn,
      retry: opts.retry,
      timeoutMs: opts.timeoutMs,
      compensate: opts.compensate as AnyFn | undefined,
      compensateRetry: opts.compensateRetry,
      uses: opts.uses ?? [],
      // Kept as given so that build() refuses them with a message, rather than dropping them silently.
      goto: opts.goto ? ({ targets: [], decide: opts.goto, maxVisits: 1 } as unknown as StepNode['goto']) : undefined,
      pivot: opts.pivot === true,
      compensateOnFailure: opts.compensateOnFailure === true,
      position: `${this.scope}step "${name}"`,
    });
    return this as never;
  }

  /**
   * Attaches a compensation to the branch step declared just before. It runs
   * once per completed execution of that step (one per item), newest first.
   *
   * @example
   * ```ts
   * (b) => b.step('reserve', ({ item }) => reserve(item)).compensate(({ result }) => release(result))
   * ```
   */
  compensate(
    run: (ctx: ItemCompensationContext<I, Simplify<R & A>, T, Last extends keyof A ? A[Last] : never>) => unknown,
    options?: { retry?: number | RetryPolicy },
  ): MapBranch<I, R, T, A, Last> {
    const last = this.nodes[this.nodes.length - 1];
    if (!last) {
      this.decl.errors.push(`saga "${this.decl.name}": ${this.scope}.compensate() must follow a .step() (it undoes the step declared just before it)`);
    } else if (last.compensate) {
      this.decl.errors.push(`saga "${this.decl.name}": ${last.position} has two compensations; keep one`);
    } else {
      last.compensate = run as AnyFn;
      last.compensateRetry = options?.retry;
    }
    return this;
  }

  /** Not in a map branch: refused by `.build()`. Wait before or after the map instead. */
  waitFor(_refused: Refused, ..._rest: never[]): never {
    return this.refuse('waitFor');
  }

  /** Not in a map branch: refused by `.build()`. Sleep before or after the map, or retry the item step with a delay. */
  sleep(_refused: Refused, ..._rest: never[]): never {
    return this.refuse('sleep');
  }

  /** Not in a map branch: refused by `.build()`. Put the concurrent work in items of their own. */
  parallel(_refused: Refused, ..._rest: never[]): never {
    return this.refuse('parallel');
  }

  /** Not in a map branch: refused by `.build()`. Flatten the nested list into the items. */
  map(_refused: Refused, ..._rest: never[]): never {
    return this.refuse('map');
  }

  /** Not in a map branch: refused by `.build()`. */
  child(_refused: Refused, ..._rest: never[]): never {
    return this.refuse('child');
  }

  private refuse(kind: string): never {
    this.decl.errors.push(
      `saga "${this.decl.name}": ${this.scope}.${kind}() is not allowed in a map branch; a branch holds plain steps only (.step() with retry, timeoutMs, compensate, uses), so move the ${kind} before or after the map`,
    );
    return this as never;
  }
}

/**
 * Collects a `.map()` into a {@link MapNode} (the builder's `.map()` calls it).
 *
 * @internal
 * @example
 * ```ts
 * nodes.push(declareMap(decl, scope, 'charge', ({ input }) => input.orders, (b) => b.step('pay', pay), { concurrency: 5 }));
 * ```
 */
export function declareMap(decl: Declaration, scope: string, name: string, items: AnyFn, branch: AnyFn, options: MapOptions | undefined): MapNode {
  const position = `${scope}map "${name}"`;
  const nodes: StepNode[] = [];
  if (typeof branch !== 'function') {
    decl.errors.push(`saga "${decl.name}": ${position} needs a branch function as its third argument ((b) => b.step(...))`);
  } else {
    const out = branch(new MapBranch(decl, nodes, `${position}: `));
    if (!(out instanceof MapBranch)) decl.errors.push(`saga "${decl.name}": the branch of ${position} must return the builder it was given (b => b.step(...))`);
  }
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    decl.errors.push(`saga "${decl.name}": ${position}: options must be an object ({ concurrency })`);
  }
  return { kind: 'map', name, items, nodes, concurrency: options?.concurrency ?? DEFAULT_MAP_CONCURRENCY, position };
}
