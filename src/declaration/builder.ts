import type { StandardSchemaV1 } from '@standard-schema/spec';
import { SagaDefinitionError } from '../errors.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import { attachCompensation, declareStep } from '../kinds/step.js';
import { branchScope, declareParallel } from '../kinds/parallel.js';
import { declareWait } from '../kinds/wait.js';
import { declareSleep } from '../kinds/sleep.js';
import { declareChild } from '../kinds/child.js';
import type { AnyFn, CatchHandler, CompensationContext, Declaration, Node, ReadinessProbe, StepContext, StepOptions } from './types.js';
import type { RetryPolicy } from './policy.js';
import { declareMap, type MapBranch, type MapOptions } from '../kinds/map/declare.js';
import { checkLimits, type SagaLimits } from './limits.js';
import type { BranchResults, Finish, Fresh, Simplify, WaitResult } from './builder-types.js';

export type { Finish } from './builder-types.js';

/**
 * The typed saga builder: each `.step()` widens the results type, so later
 * steps read earlier results with no casts and a misspelt name is a compile
 * error. Declaring is pure; `.build()` validates and compiles.
 *
 * @typeParam I - the saga's input
 * @typeParam R - results of the steps declared so far, by name
 * @typeParam Last - the name of the last step (the one `.compensate()` attaches to)
 * @typeParam A - results added by this sequence (used for parallel branches)
 *
 * @example
 * ```ts
 * const builder: SagaBuilder<{ id: string }, {}, never, {}> = saga('order').input<{ id: string }>();
 * ```
 */
export class SagaBuilder<I, R extends object, Last extends string, A extends object> {
  /** @internal */
  constructor(
    /** @internal */ readonly decl: Declaration,
    /** @internal */ readonly nodes: Node[],
    /** @internal */ readonly scope: string,
    /** @internal */ readonly finish: Finish,
  ) {}

  /**
   * Types the input, optionally with a Standard Schema validator (zod, valibot,
   * arktype) that `start()` runs before anything else.
   *
   * @example
   * ```ts
   * saga('exchange').input<{ amount: number }>()
   * saga('exchange').input(z.object({ amount: z.number().positive() }))
   * ```
   */
  input<T>(): SagaBuilder<T, R, Last, A>;
  input<S extends StandardSchemaV1>(schema: S): SagaBuilder<StandardSchemaV1.InferOutput<S>, R, Last, A>;
  input(schema?: StandardSchemaV1): SagaBuilder<any, R, Last, A> {
    if (schema !== undefined) {
      if (!schema || typeof schema !== 'object' || !('~standard' in schema)) {
        this.decl.errors.push(`saga "${this.decl.name}": .input() takes a Standard Schema validator (zod, valibot, arktype) or nothing`);
      }
      this.decl.inputSchema = schema;
    }
    return this as never;
  }

  /**
   * Declares a step. Its function receives the input and the results of the
   * steps before it; its return value (which must survive JSON) becomes
   * `results[name]` for the steps after it.
   *
   * @example
   * ```ts
   * .step('rates', ({ signal }) => fetchRates(signal), { retry: 3, timeoutMs: 2_000 })
   * .step('toBase', ({ input, results }) => input.amount * results.rates[input.from])
   * .step('ship', shipParcel, { pivot: true })           // the point of no return
   * .step('notify', sendMail, { retry: 'forever' })      // after it: retried until it succeeds
   * ```
   */
  step<N extends string, T, F extends boolean = false>(
    name: Fresh<N, R>,
    run: (ctx: StepContext<I, R>) => T,
    options?: StepOptions<I, R, Awaited<T>, NoInfer<Extract<keyof R, string> | N>, F>,
  ): SagaBuilder<I, Simplify<R & { [K in N]: Awaited<T> }>, N, Simplify<A & { [K in N]: Awaited<T> }>> {
    this.nodes.push(declareStep(name, run as AnyFn, options, this.scope));
    return this as never;
  }

  /**
   * Attaches a compensation to the step declared just before (ORSA's
   * `@saga.rollback`). It receives that step's result.
   *
   * @example
   * ```ts
   * .step('writeFile', writeTransaction)
   * .compensate(({ result }) => fs.rm(result.path))
   * ```
   */
  compensate(
    run: (ctx: CompensationContext<I, R, Last extends keyof R ? R[Last] : never>) => unknown,
    options?: { retry?: number | RetryPolicy },
  ): SagaBuilder<I, R, Last, A> {
    attachCompensation(this.decl, this.nodes, this.scope, run as AnyFn, options);
    return this;
  }

  /**
   * Runs branches concurrently (a parallel state). Each branch is a sequence;
   * after the group, the results of every branch are available. When a branch
   * fails for good the others are aborted, awaited, and what completed is
   * compensated.
   *
   * @example
   * ```ts
   * .parallel('book', {
   *   hotel: (b) => b.step('hotel', bookHotel).compensate(cancelHotel),
   *   flight: (b) => b.step('flight', bookFlight).step('seat', pickSeat),
   * })
   * ```
   */
  parallel<N extends string, B extends Record<string, (branch: SagaBuilder<I, R, never, {}>) => SagaBuilder<I, any, any, any>>>(
    name: Fresh<N, R>,
    branches: B,
  ): SagaBuilder<I, Simplify<R & BranchResults<B>>, never, Simplify<A & BranchResults<B>>> {
    const node = declareParallel(name, this.scope);
    for (const [branchName, declare] of Object.entries(branches)) {
      const nodes: Node[] = [];
      const out = declare(new SagaBuilder(this.decl, nodes, branchScope(node, branchName, this.scope), this.finish));
      if (!(out instanceof SagaBuilder)) {
        this.decl.errors.push(`saga "${this.decl.name}": branch "${branchName}" of parallel "${name}" must return the builder it was given (b => b.step(...))`);
      }
      node.branches.push({ name: branchName, nodes });
    }
    this.nodes.push(node);
    return this as never;
  }

  /**
   * Fan-out: runs `branch` once per item of the list `items` returns, at most
   * `concurrency` items at once (default 10). The result is the list of the
   * items' branch results in item order: element `i` holds item `i`'s step
   * results by name. When an item fails for good, the running items are
   * aborted through their `signal` and awaited, every completed item step is
   * compensated newest first, then the saga's earlier steps.
   *
   * @example
   * ```ts
   * .map('ship', ({ input }) => input.parcels, (b) => b
   *   .step('label', ({ item }) => printLabel(item))
   *   .step('send', ({ item, results }) => send(item, results.label), { retry: 3 })
   *   .compensate(({ result }) => recall(result)),
   * { concurrency: 20 })
   * // results.ship: { label: …, send: … }[]
   * ```
   */
  map<N extends string, T, B extends object>(
    name: Fresh<N, R>,
    items: (ctx: { input: I; results: Readonly<R>; sagaId: string }) => readonly T[] | Promise<readonly T[]>,
    branch: (b: MapBranch<I, R, T, {}, never>) => MapBranch<I, R, T, B, any>,
    options?: MapOptions,
  ): SagaBuilder<I, Simplify<R & { [K in N]: B[] }>, never, Simplify<A & { [K in N]: B[] }>> {
    this.nodes.push(declareMap(this.decl, this.scope, name, items as AnyFn, branch as AnyFn, options));
    return this as never;
  }

  /**
   * Runs another saga as a child: a saga instance of its own (own record,
   * lease and history, linked to this one by `parentId`), started with the
   * input `input` makes. The parent waits durably for it; the child's results
   * become `results[name]`, typed. When the child ends without completing,
   * this step fails and the parent rolls back; when the parent rolls back
   * past a completed child, the child's completed steps are compensated and
   * it ends `compensated`. Its id is `${parentId}:${name}#${visit}`.
   *
   * @example
   * ```ts
   * .child('payment', paymentSaga, ({ input, results }) => ({ orderId: input.orderId, amount: results.quote.total }))
   * .step('ship', ({ results }) => ship(results.payment.charge.receipt))
   * ```
   */
  child<N extends string, CI, CR>(
    name: Fresh<N, R>,
    child: SagaDefinition<CI, CR>,
    input: (ctx: { input: I; results: Readonly<R> }) => CI,
  ): SagaBuilder<I, Simplify<R & { [K in N]: CR }>, never, Simplify<A & { [K in N]: CR }>> {
    this.nodes.push(declareChild(name, child, input as AnyFn, this.scope));
    return this as never;
  }

  /**
   * Waits for a named event sent to the saga (`handle.send(event, payload)`).
   * Events sent before the saga reaches this point are kept and consumed in
   * order. The payload becomes `results[name]`; give a Standard Schema to
   * validate and type it. Past `timeoutMs` the step fails and the saga rolls back.
   *
   * @example
   * ```ts
   * .waitFor('payment', { event: 'payment.confirmed', timeoutMs: 86_400_000, schema: z.object({ ref: z.string() }) })
   * ```
   */
  waitFor<N extends string, S extends StandardSchemaV1 | undefined = undefined>(
    name: Fresh<N, R>,
    options: { event: string; timeoutMs?: number; schema?: S },
  ): SagaBuilder<I, Simplify<R & { [K in N]: WaitResult<S> }>, never, Simplify<A & { [K in N]: WaitResult<S> }>> {
    this.nodes.push(declareWait(name, options, this.scope));
    return this as never;
  }

  /**
   * Pauses the saga. The due time is kept in the snapshot, so the sleep
   * survives restarts.
   *
   * @example
   * ```ts
   * .sleep('coolDown', 60_000)
   * ```
   */
  sleep<N extends string>(name: Fresh<N, R>, ms: number): SagaBuilder<I, R, never, A> {
    this.nodes.push(declareSleep(name, ms, this.scope));
    return this as never;
  }

  /**
   * A readiness probe run before the first step, together with the checks of
   * every dependency the steps declare in `uses`. A saga that is not ready
   * runs no step and ends compensated with a `SAGA_NOT_READY` error.
   *
   * @example
   * ```ts
   * .readiness(async ({ signal }) => { await db.ping(signal); })
   * ```
   */
  readiness(probe: ReadinessProbe<I>): SagaBuilder<I, R, Last, A> {
    this.decl.readiness.push(probe as AnyFn);
    return this;
  }

  /**
   * Called after the rollback with the failed step, the error and the
   * compensation report (ORSA's `@saga.catch`).
   *
   * @example
   * ```ts
   * .catch(({ step, error, report }) => log.warn({ step, error, undone: report.undone }))
   * ```
   */
  catch(handler: CatchHandler<I>): SagaBuilder<I, R, Last, A> {
    if (this.decl.catch) this.decl.errors.push(`saga "${this.decl.name}": .catch() is declared twice; keep one handler`);
    this.decl.catch = handler as AnyFn;
    return this;
  }

  /**
   * Limits how many of these sagas run at once and how fast they start, across every worker sharing the
   * store, for the whole saga and per key. A saga over a limit waits in the store as `queued` and starts
   * when a slot frees, higher `priority` first (`runtime.startSaga(def, input, { priority })`), then first
   * come first served. Limits are not part of the version: changing them changes no statechart.
   *
   * @example
   * ```ts
   * .limits({ concurrency: 10, rate: { starts: 100, perMs: 60_000 }, key: (i) => i.customerId, perKey: { concurrency: 1 } })
   * ```
   */
  limits(limits: SagaLimits<I>): SagaBuilder<I, R, Last, A> {
    if (this.decl.limits) this.decl.errors.push(`saga "${this.decl.name}": .limits() is declared twice; keep one`);
    this.decl.errors.push(...checkLimits(this.decl.name, limits));
    this.decl.limits = limits;
    return this;
  }

  /** Sets an explicit definition version instead of the hash of the compiled statechart. */
  version(version: string): SagaBuilder<I, R, Last, A> {
    this.decl.version = version;
    return this;
  }

  /**
   * Validates the declaration and compiles it into an XState statechart.
   * Every definition mistake throws here, as a `SagaDefinitionError`.
   *
   * @example
   * ```ts
   * const exchange = saga('exchange').input<{ amount: number }>().step('a', a).build();
   * ```
   */
  build(): SagaDefinition<I, R> {
    if (this.nodes !== this.decl.nodes) {
      throw new SagaDefinitionError(`saga "${this.decl.name}": call .build() on the saga, not inside a parallel branch`);
    }
    return this.finish(this.decl) as SagaDefinition<I, R>;
  }
}
