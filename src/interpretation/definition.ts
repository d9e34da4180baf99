import type { AnyStateMachine } from 'xstate';
import { InvalidEventError, InvalidInputError, isNonRetryable, NotReadyError, UnknownStepError, type CompensationReport } from '../errors.js';
import { Execution, type ExecutionOptions } from './execution.js';
import type { CompiledSaga, StateConfig } from '../compilation/chart.js';
import { compileSaga } from '../compilation/compile.js';
import { sha256Hex } from '../declaration/sha256.js';
import { createSagaMachine, type SagaContext } from '../compilation/machine.js';
import type { Declaration, Node } from '../declaration/types.js';
import { kinds } from '../kinds/registry.js';
import type { KindEffect } from '../kinds/kind.js';

// Re-exported from ../errors.ts, where every orsa error lives, for existing imports.
export { InvalidInputError, InvalidEventError, NotReadyError };

/**
 * A built saga: its statechart (`machine`, `config`), its version, and the
 * functions behind its steps. Run it in memory with `run()`/`start()`, or
 * register it with a durable runtime (`createRuntime`).
 *
 * @example
 * ```ts
 * const results = await exchange.run({ amount: 45.12, from: 'USD', to: 'CNY' });
 * const handle = await exchange.start(input); handle.subscribe(console.log); await handle.result;
 * ```
 */
export class SagaDefinition<I, R> {
  /** The saga's name, as registered. */
  readonly name: string;
  /** Definition version: the explicit one, or the first 16 hex digits of a SHA-256 of the compiled config. */
  readonly version: string;
  /** The statechart config: plain JSON, everything referenced by name. */
  readonly config: StateConfig;
  /** The XState machine. */
  readonly machine: AnyStateMachine;
  private readonly nodes = new Map<string, Node>();

  /** @internal Compiles `declaration` with the registered step kinds unless given its compiled form. */
  constructor(
    /** @internal */ readonly declaration: Declaration,
    /** @internal */ readonly compiled: CompiledSaga = compileSaga(declaration, kinds),
  ) {
    this.name = declaration.name;
    this.config = compiled.config;
    this.version = declaration.version ?? sha256Hex(JSON.stringify(compiled.config)).slice(0, 16);
    this.machine = createSagaMachine(compiled.config, kinds);
    const index = (nodes: Node[]) => {
      for (const node of nodes) {
        this.nodes.set(node.name, node);
        kinds.nested(node).forEach((b) => index(b.nodes));
      }
    };
    index(declaration.nodes);
  }

  /**
   * Runs the saga in memory and resolves with the results of its steps, or
   * rejects with a `SagaFailedError` (failed step, cause, compensation report).
   *
   * @example
   * ```ts
   * const { toTarget } = await exchange.run({ amount: 45.12, from: 'USD', to: 'CNY' });
   * ```
   */
  async run(input: I, options?: ExecutionOptions): Promise<R> {
    const handle = await this.start(input, options);
    return handle.result;
  }

  /**
   * Starts the saga in memory and returns its handle: observe it, send it
   * events, cancel it, await `handle.result`.
   *
   * @example
   * ```ts
   * const handle = await order.start(input, { observer: (o) => console.log(o.type, o) });
   * handle.send('payment.confirmed', { ref: 'p-1' });
   * await handle.result;
   * ```
   */
  async start(input: I, options?: ExecutionOptions): Promise<SagaHandle<R>> {
    const validated = await this.validateInput(input);
    return new Execution<R>(this, validated, options).start();
  }

  /** Validates input against the declared schema (if any); returns the schema's output. */
  async validateInput(input: unknown): Promise<unknown> {
    const schema = this.declaration.inputSchema;
    if (!schema) return input;
    const result = await schema['~standard'].validate(input);
    if (result.issues) throw new InvalidInputError(this.name, result.issues);
    return result.value;
  }

  /** Validates an event payload against the schemas of the waits that consume it. */
  async validateEvent(name: string, payload: unknown): Promise<unknown> {
    let value = payload;
    for (const node of this.nodes.values()) {
      const schema = kinds.of(node).consumes?.(node as never);
      if (schema?.event !== name || !schema.schema) continue;
      const result = await schema.schema['~standard'].validate(payload);
      if (result.issues) throw new InvalidEventError(this.name, name, result.issues);
      value = result.value;
    }
    return value;
  }

  /** @internal */
  node(name: string): Node {
    const node = this.nodes.get(name);
    if (!node) throw new UnknownStepError(this.name, name);
    return node;
  }

  /** @internal What the interpreter runs for an active execution of `name`; throws when its kind runs nothing. */
  effectOf(name: string): { node: Node; effect: KindEffect<any> } {
    const node = this.node(name);
    const effect = kinds.of(node).effect;
    if (!effect) throw new UnknownStepError(this.name, name);
    return { node, effect };
  }

  /** @internal Whether a step error may be retried: NonRetryableError and `retryable: false` never are; then the kind's rule (`retryIf`). */
  isRetryable(step: string, error: unknown): boolean {
    if (isNonRetryable(error)) return false;
    const node = this.nodes.get(step);
    const retryable = node ? kinds.of(node).effect?.retryable : undefined;
    return retryable && node ? retryable(node, error) : true;
  }

  /** @internal Runs the explicit probes and every discovered dependency check, concurrently. */
  async checkReadiness(input: unknown, sagaId: string): Promise<void> {
    const signal = new AbortController().signal;
    const checks: { name: string; run: () => unknown }[] = this.declaration.readiness.map((probe, i) => ({
      name: `readiness probe #${i + 1}`,
      run: () => probe({ input, sagaId, signal }),
    }));
    const seen = new Set<string>();
    for (const node of this.nodes.values()) {
      for (const dep of kinds.of(node).dependencies?.(node as never) ?? []) {
        if (seen.has(dep.name)) continue;
        seen.add(dep.name);
        checks.push({ name: `dependency "${dep.name}"`, run: () => dep.check(signal) });
      }
    }
    const outcomes = await Promise.allSettled(checks.map((c) => Promise.resolve().then(c.run)));
    const failures = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ name: checks[i]!.name, reason: o.reason as unknown }] : []));
    if (failures.length > 0) {
      const first = failures[0]!;
      const why = failures.map((f) => `${f.name}: ${f.reason instanceof Error ? f.reason.message : String(f.reason)}`).join('; ');
      throw new NotReadyError(`saga "${this.name}" is not ready (${why}); no step was run`, { cause: first.reason });
    }
  }

  /** @internal */
  async callCatch(context: SagaContext, status: 'compensated' | 'failed' | 'cancelled', report: CompensationReport): Promise<void> {
    await this.declaration.catch?.({
      sagaId: context.sagaId,
      input: context.input,
      step: context.failure?.step ?? null,
      error: context.failure?.error,
      status,
      report,
    });
  }
}

/** A running saga: observe it, send it events, cancel it, await its result. */
export type SagaHandle<R> = Pick<
  Execution<R>,
  'sagaId' | 'result' | 'subscribe' | 'send' | 'cancel' | 'retryCompensation' | 'getStatus' | 'getSnapshot' | 'getPersistedSnapshot' | 'stop'
>;
