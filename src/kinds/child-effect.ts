import { ChildSagaFailedError, toErrorRecord } from '../errors.js';
import { readOnlyView } from '../compilation/append-map.js';
import type { SagaContext, SagaEvent } from '../compilation/machine.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import type { ChildNode } from '../declaration/types.js';
import type { Clock } from '../interpretation/clock.js';
import { childIdOf, childNotice, childOutcomeEvent, type ChildEnded, type ParentRef } from './child.js';

/** What a host needs to start one child saga. */
export interface ChildStart {
  parent: ParentRef;
  childId: string;
  definition: SagaDefinition<any, any>;
  input: unknown;
  /** Feeds a chart event to the parent (a host that runs the child here without a store reports its end through it). */
  deliver: (event: SagaEvent) => void;
}

/**
 * Where child sagas run: in this process beside an in-memory parent
 * (`MemoryChildHost`), or as records of the runtime's store, run by any
 * worker (the durable runtime's host), whose ends reach the parent through
 * its inbox.
 *
 * @internal
 */
export interface ChildHost {
  /** Starts the child; idempotent by id. Resolves once the child exists for good (for a durable host: its record is committed). */
  start(request: ChildStart): Promise<void>;
  /** Asks a child to cancel; false when there is no such child. */
  cancel(childId: string, parent: ParentRef): Promise<boolean>;
  /**
   * Asks a completed (parked) child to roll back. Resolves with its end when
   * it has already rolled back; null when its end will come later (as a notice).
   */
  compensate(childId: string, parent: ParentRef, deliver: (event: SagaEvent) => void): Promise<ChildEnded | null>;
  /** The parent completed: its parked children complete too. A durable host does it in the parent's final write instead. */
  release(childIds: readonly string[]): void;
}

/** What a child runner needs of its execution. */
export interface ChildRunnerDeps {
  definition: SagaDefinition<any, any>;
  sagaId: string;
  clock: Clock;
  host: ChildHost;
  enqueue: (event: SagaEvent) => void;
}

/**
 * The effect of child steps for one parent execution: starts each child
 * once, cancels it when the parent rolls back while it runs, asks a completed
 * child to roll back when the parent's rollback reaches it, and releases the
 * parked children when the parent completes.
 *
 * @internal
 * @example
 * ```ts
 * const children = new ChildRunner({ definition, sagaId, clock, host, enqueue });
 * if (children.owns(step)) children.ensure(step, context.active[step], context, draining);
 * ```
 */
export class ChildRunner {
  /** Starts under way or done here, by execution: a commit of an older snapshot must not start a child twice. */
  private readonly starting = new Map<string, Promise<void>>();
  private readonly cancelled = new Set<string>();
  private readonly undoing = new Set<string>();

  constructor(private readonly deps: ChildRunnerDeps) {}

  /** Whether `step` is a child step. */
  owns(step: string): boolean {
    return this.deps.definition.compiled.steps[step]?.kind === 'child';
  }

  /** Starts (or, while the parent drains, cancels) the child of an active child step. */
  ensure(step: string, entry: { exec: string; awaiting?: true }, context: SagaContext, draining: boolean): void {
    const { exec } = entry;
    const childId = childIdOf(this.deps.sagaId, exec);
    const node = this.deps.definition.node(step) as ChildNode;
    if (draining) {
      if (this.cancelled.has(exec)) return;
      this.cancelled.add(exec);
      // A start under way here finishes first: cancelling a child that is not yet stored would find nothing.
      const started = this.starting.get(exec) ?? Promise.resolve();
      void started
        .catch(() => {})
        .then(() => this.deps.host.cancel(childId, { id: this.deps.sagaId, step, exec }))
        .then(
          // No child: nothing ran, so the step simply did not complete.
          (found) => (found ? undefined : this.fail(step, exec, new ChildSagaFailedError(step, childId, node.saga.name, 'cancelled before it started'))),
          (error: unknown) => this.fail(step, exec, error),
        );
      return;
    }
    if (entry.awaiting || this.starting.has(exec)) return;
    const parent: ParentRef = { id: this.deps.sagaId, step, exec };
    const start = Promise.resolve()
      .then(() => node.input({ input: context.input, results: readOnlyView(context.results) }))
      .then((input) => this.deps.host.start({ parent, childId, definition: node.saga, input, deliver: this.deps.enqueue }));
    this.starting.set(exec, start);
    start.then(
      () => this.deps.enqueue({ type: `orsa.childStarted.${step}`, exec, now: this.deps.clock.now() }),
      (error: unknown) => this.fail(step, exec, error),
    );
  }

  /** The parent's rollback reached a completed child: asks it to roll back; its end is the compensation's outcome. */
  compensate(context: SagaContext, key: string): void {
    if (this.undoing.has(key)) return;
    this.undoing.add(key);
    const exec = context.comp!.exec;
    const step = context.log.find((e) => e.exec === exec)!.step;
    const parent: ParentRef = { id: this.deps.sagaId, step, exec };
    this.deps.host.compensate(childIdOf(this.deps.sagaId, exec), parent, this.deps.enqueue).then(
      (ended) => {
        const event = ended && childOutcomeEvent({ ...ended, undone: true }, this.deps.clock.now());
        if (event) this.deps.enqueue(event);
      },
      (error: unknown) =>
        this.deps.enqueue({ type: 'orsa.compensationFailed', exec, error: toErrorRecord(error), retryable: false, now: this.deps.clock.now() }),
    );
  }

  /** Whether this compensation undoes a child step. */
  undoesChild(context: SagaContext): boolean {
    const exec = context.comp?.exec;
    const step = exec === undefined ? undefined : context.log.find((e) => e.exec === exec)?.step;
    return step !== undefined && this.owns(step);
  }

  /** The parent ended. Completed: the children it logged (every completed child step) complete too. */
  ended(context: SagaContext, status: string): void {
    // A failed parent may be retried: its compensation of a child then asks the child again.
    this.undoing.clear();
    if (status !== 'completed') return;
    const ids = context.log.filter((e) => this.owns(e.step)).map((e) => childIdOf(this.deps.sagaId, e.exec));
    if (ids.length > 0) this.deps.host.release(ids);
  }

  private fail(step: string, exec: string, error: unknown): void {
    this.deps.enqueue({ type: `orsa.fail.${step}`, exec, error: toErrorRecord(error), retryable: false, now: this.deps.clock.now() });
  }
}

/** A child saga run in this process (the part of `Execution` a host uses). */
export interface LocalChild {
  start(): unknown;
  cancel(): void;
  retryCompensation(): void;
  deliver(event: SagaEvent): void;
  getSnapshot(): { context: SagaContext };
}

/** What a local host passes on to the child executions it makes. */
export interface LocalChildOptions {
  sagaId: string;
  parent: ParentRef;
  persist: (t: { status: string; previous: string | null; enteredParking?: boolean }) => void;
}

/**
 * Runs child sagas in this process beside an in-memory parent (`def.run()`):
 * each child is an execution of its own, whose transitions are watched for
 * the notice a durable child would store in its parent's inbox.
 *
 * @internal
 * @example
 * ```ts
 * const host = new MemoryChildHost((definition, input, options) => new Execution(definition, input, { ...parentOptions, ...options }), clock);
 * ```
 */
export class MemoryChildHost implements ChildHost {
  private readonly children = new Map<string, { execution: LocalChild; notice: ChildEnded | null; deliver: (event: SagaEvent) => void }>();

  constructor(
    private readonly create: (definition: SagaDefinition<any, any>, input: unknown, options: LocalChildOptions) => LocalChild,
    private readonly clock: Clock,
  ) {}

  async start(request: ChildStart): Promise<void> {
    if (this.children.has(request.childId)) return;
    const input = await request.definition.validateInput(request.input);
    if (this.children.has(request.childId)) return;
    const entry = { execution: undefined as unknown as LocalChild, notice: null as ChildEnded | null, deliver: request.deliver };
    entry.execution = this.create(request.definition, input, {
      sagaId: request.childId,
      parent: request.parent,
      persist: (t) => {
        const notice = childNotice(entry.execution.getSnapshot().context, request.definition.name, t);
        if (!notice) return;
        entry.notice = notice;
        const event = childOutcomeEvent(notice, this.clock.now());
        if (event) entry.deliver(event);
      },
    });
    this.children.set(request.childId, entry);
    entry.execution.start();
  }

  async cancel(childId: string): Promise<boolean> {
    const child = this.children.get(childId);
    if (!child) return false;
    child.execution.cancel();
    return true;
  }

  async compensate(childId: string, parent: ParentRef, deliver: (event: SagaEvent) => void): Promise<ChildEnded | null> {
    const child = this.children.get(childId);
    if (!child) return { step: parent.step, exec: parent.exec, childId, childSaga: '', status: 'compensated', undone: true };
    child.deliver = deliver;
    const status = child.notice?.status;
    if (status === 'parked') child.execution.deliver({ type: 'orsa.compensateChild', now: this.clock.now() });
    else if (status === 'failed' && child.notice?.undone) child.execution.retryCompensation();
    else if (status === 'compensated' || status === 'cancelled') return child.notice;
    return null;
  }

  release(childIds: readonly string[]): void {
    for (const id of childIds) {
      const child = this.children.get(id);
      if (child?.notice?.status === 'parked') child.execution.deliver({ type: 'orsa.release', now: this.clock.now() });
    }
  }
}
