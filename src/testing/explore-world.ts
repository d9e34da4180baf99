import { SagaDefinition } from '../interpretation/definition.js';
import type { AnyFn, Declaration, Node } from '../declaration/types.js';

/**
 * The world a saga talks to while `explore` drives it: recording fakes stand
 * in for its steps and compensations, and every call waits for the explorer
 * to decide its outcome. The ledger is what the outside world saw (effects
 * and their undos), deduplicated by idempotency key the way a real service
 * deduplicates an at-least-once retry.
 */

/** One effect a step left in the world. */
export interface Effect {
  exec: string;
  step: string;
  /** Whether a rollback must undo it (the step has a compensation, or a user fake recorded it). */
  mustUndo: boolean;
  /** Left by an execution that then failed (a step declared with `compensateOnFailure`). */
  failed: boolean;
}

/** What the world saw, in order. Plain data: copied into every explored state. */
export interface Ledger {
  effects: Effect[];
  /** Undos, in the order they happened: the execution undone and the key that deduplicates a rerun. */
  undos: { exec: string; key: string }[];
  /** The result each step's latest completed execution returned: what a completed saga must hold. */
  results: Record<string, unknown>;
  /**
   * Executions whose compensation the explorer reported complete to the saga.
   * A crash before that report reruns the compensation under the same key (the
   * service deduplicates it); a call after it, with no crash between, is the
   * saga running the compensation twice, and its undo counts again.
   */
  compensated: string[];
}

/** Records effects from a user's fake; `explore` hands it to fakes passed in `options.steps`. */
export interface Recorder {
  /** Records that this step execution changed the world (a rollback must undo it). */
  effect(): void;
  /** Records an undo, by default of the execution being compensated; pass another execution (`'charge#1'`) to undo that one. */
  undo(exec?: string): void;
  /** Whether the execution (by default the one this call is about) left an effect: what a compensation of a failed execution asks its service. */
  tookEffect(exec?: string): boolean;
}

/** A user's own fake for one step: its function, its compensation, or both. */
export interface StepFake {
  /** Runs when the explorer lets the step complete (or crash after its effect); its return value is the result. */
  run?: (ctx: { step: string; exec: string; attempt: number; input: unknown; results: Record<string, unknown>; record: Recorder }) => unknown;
  /** Runs when the explorer lets the compensation complete. `record.undo()` records the undo. */
  compensate?: (ctx: { step: string; exec: string; result: unknown; error: unknown; record: Recorder }) => unknown;
}

/** A call under way that waits for the explorer's decision. */
export interface Pending {
  kind: 'step' | 'compensation' | 'readiness';
  step: string;
  exec: string;
  attempt: number;
  ctx: Record<string, any>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The mutable side of one explored edge: calls waiting, the ledger, what the explorer saw go wrong. */
export class World {
  readonly pending: Pending[] = [];
  /** The goto target the next completing step's decide returns. */
  nextGoto: string | null = null;
  /** Undos seen in this edge, each with the number of undos recorded up to it, for the invariants to check as of that moment. */
  readonly undone: { exec: string; upTo: number }[] = [];
  constructor(readonly ledger: Ledger) {}

  take(pending: Pending): void {
    const i = this.pending.indexOf(pending);
    if (i >= 0) this.pending.splice(i, 1);
  }

  recordEffect(exec: string, step: string, mustUndo: boolean, failed = false): void {
    const i = this.ledger.effects.findIndex((e) => e.exec === exec);
    // A retry that completes what a failed attempt started: the same effect, now of a completed execution.
    if (i >= 0 && this.ledger.effects[i]!.failed && !failed) this.ledger.effects[i] = { ...this.ledger.effects[i]!, failed: false };
    if (i >= 0) return; // a rerun after a crash: the service deduplicates by key
    this.ledger.effects.push({ exec, step, mustUndo, failed });
  }

  recordUndo(exec: string, key: string): void {
    if (this.ledger.undos.some((u) => u.key === key)) return;
    this.ledger.undos.push({ exec, key });
    this.undone.push({ exec, upTo: this.ledger.undos.length });
  }

  recorder(step: string, exec: string): Recorder {
    let calls = 0;
    const again = this.ledger.compensated.includes(exec) ? 'again:' : '';
    return {
      effect: () => this.recordEffect(exec, step, true),
      // Each call of one run is a distinct undo; a rerun of the same run (same key, same call) is not, unless it
      // comes after the saga was told the compensation completed.
      undo: (target) => this.recordUndo(target ?? exec, `${exec}:${again}compensate#${calls++}`),
      tookEffect: (target) => this.ledger.effects.some((e) => e.exec === (target ?? exec)),
    };
  }
}

/** Holds the world of the edge being explored; the fakes read it when they are called. */
export interface Control {
  world: World;
}

const execOf = (idempotencyKey: string, sagaId: string) => idempotencyKey.slice(sagaId.length + 1).replace(/:compensate$/, '');

/**
 * The saga with its steps, compensations, goto decisions, readiness and catch
 * handler replaced by fakes that park each call in `control.world.pending`.
 * The compiled statechart is the original one: the real chart runs.
 */
export function fakeDefinition(definition: SagaDefinition<any, any>, control: Control): SagaDefinition<any, any> {
  const park =
    (kind: Pending['kind'], step: string) =>
    (ctx: Record<string, any>) =>
      new Promise((resolve, reject) => {
        const exec = kind === 'readiness' ? 'readiness' : execOf(ctx.idempotencyKey as string, ctx.sagaId as string);
        control.world.pending.push({ kind, step, exec, attempt: (ctx.attempt as number) ?? 1, ctx, resolve, reject });
      });
  const fake = (nodes: Node[]): Node[] =>
    nodes.map((node): Node => {
      if (node.kind === 'parallel') return { ...node, branches: node.branches.map((b) => ({ name: b.name, nodes: fake(b.nodes) })) };
      if (node.kind !== 'step') return node;
      return {
        ...node,
        run: park('step', node.name),
        compensate: node.compensate ? park('compensation', node.name) : undefined,
        uses: [],
        goto: node.goto ? { ...node.goto, decide: () => control.world.nextGoto } : undefined,
      };
    });
  const original = definition.declaration;
  const decl: Declaration = {
    ...original,
    nodes: fake(original.nodes),
    // One probe stands for every readiness check, so that "not ready" is one decision.
    readiness: definition.compiled.hasReadiness ? [park('readiness', 'readiness') as AnyFn] : [],
    catch: original.catch ? () => undefined : undefined,
    errors: [],
  };
  return new SagaDefinition(decl, definition.compiled);
}
