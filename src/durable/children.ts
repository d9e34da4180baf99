import { UnknownSagaError } from '../errors.js';
import type { SagaEvent } from '../compilation/machine.js';
import type { Clock } from '../interpretation/clock.js';
import { assertInputSerializable, DEFAULT_MAX_INPUT_BYTES } from '../interpretation/serialize.js';
import type { ChildHost, ChildStart } from '../kinds/child-effect.js';
import type { ChildEnded, ParentRef } from '../kinds/child.js';
import { assertSagaId } from '../stores/input-checks.js';
import type { SagaStore } from '../stores/types.js';
import type { CommandName } from './commands.js';
import type { Live } from './live.js';
import type { SagaRegistry } from './registry.js';
import type { Launcher } from './launcher.js';
import { Backoff, isTransientError, StoreUnavailableError } from './transient.js';

/** What the durable child host needs of its runtime. */
export interface DurableChildrenDeps {
  store: SagaStore;
  clock: Clock;
  live: Map<string, Live>;
  workerId: string;
  sagas: SagaRegistry;
  maxInputBytes: number | undefined;
  /** Launches a new saga here (its first write inserts it; an id that exists already is left as it is). */
  launcher: () => Launcher;
  /** After a command is stored: delivers it here when this worker runs the saga, else has it claimed. */
  delivered: (id: string) => Promise<void>;
  /** Whether the runtime still runs (between start and stop). */
  running: () => boolean;
  /** Reports a store fault that is being retried (once per run of faults). */
  report: (error: unknown) => void;
}

/** Delays between retries of a child's store call that met a transient fault. */
const RETRY = { firstMs: 50, maxMs: 2_000 };

/**
 * Child sagas of the durable runtime: each is a record of the store, run by
 * whichever worker claims it, with its own lease and history. The parent is
 * unloaded while its child runs; the child's write that parks or ends it
 * stores a `childEnded` command in the parent's inbox in the same commit
 * (see `child-notices.ts`), which wakes the parent wherever it is claimed.
 *
 * @internal
 * @example
 * ```ts
 * const children = new DurableChildren({ store, clock, live, workerId, sagas, maxInputBytes, launcher: () => launcher, delivered });
 * ```
 */
export class DurableChildren implements ChildHost {
  constructor(private readonly deps: DurableChildrenDeps) {}

  async start(request: ChildStart): Promise<void> {
    const { definition: declared, childId } = request;
    const definition = this.deps.sagas.get(declared.name, declared.version) ?? declared;
    const input = await definition.validateInput(request.input);
    assertInputSerializable(definition.name, input, this.deps.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES);
    assertSagaId(childId);
    // The insert is idempotent by id: one whose answer was lost (and had committed) is found, not repeated.
    // Its fault is reported by the launcher (the child's first write failed), so not here again.
    await this.retrying(request.parent.id, null, async () => {
      if (this.deps.live.has(childId)) return;
      const fence = { rowVersion: 0, owner: this.deps.workerId };
      await this.deps.launcher().launch(definition, childId, input, undefined, fence, false, undefined, false, request.parent).firstWrite;
    });
  }

  async cancel(childId: string, parent: ParentRef): Promise<boolean> {
    return this.retrying(parent.id, `cancelling child saga ${childId}`, () => this.command(childId, 'cancel'));
  }

  async compensate(childId: string, parent: ParentRef, _deliver: (event: SagaEvent) => void): Promise<ChildEnded | null> {
    return this.retrying(parent.id, `rolling back child saga ${childId}`, () => this.askToCompensate(childId, parent));
  }

  private async askToCompensate(childId: string, parent: ParentRef): Promise<ChildEnded | null> {
    const record = await this.deps.store.get(childId);
    const rolledBack: ChildEnded = { step: parent.step, exec: parent.exec, childId, childSaga: record?.sagaName ?? '', status: 'compensated', undone: true };
    // Rolled back already (a resumed parent asks again): its compensation is done.
    if (!record || record.status === 'compensated' || record.status === 'cancelled') return rolledBack;
    // Its rollback failed (the parent was retried by an operator): retry the child's compensation.
    if (record.status === 'failed') await this.command(childId, 'retryCompensation');
    // Parked: roll back. Already rolling back (asked before a crash): a no-op the child consumes.
    else await this.command(childId, 'compensate');
    return null;
  }

  release(): void {
    // Nothing to do here: the parent's final write stores `release` for its parked children (child-notices.ts).
  }

  private async command(id: string, name: CommandName): Promise<boolean> {
    try {
      await this.deps.store.sendEvent(id, name, 'null', this.deps.clock.now(), 'command');
    } catch (error) {
      if (error instanceof UnknownSagaError) return false;
      throw error;
    }
    // Stored: a fault while handing it over is no reason to store it again; the poll delivers it.
    await this.deps.delivered(id).catch((error: unknown) => {
      if (!isTransientError(error)) throw error;
    });
    return true;
  }

  /**
   * Runs a store task of a parent's child step. A transient fault (the database is briefly away) is retried
   * with backoff while the parent runs here, and reported once (as `doing`, unless null): failing the step would roll back a parent
   * whose child is fine (or leave a child running that its parent counts as failed). Every task is safe to
   * repeat: the child's insert is idempotent by id, and a command the child already took is a no-op.
   * Once the parent leaves this worker (stop() under way, lease lost) a fault settles nothing: its execution
   * is stopped, or about to be (passed on, the fault would fail the step and roll the parent back during a
   * stop); whoever resumes the parent asks again.
   */
  private async retrying<T>(parentId: string, doing: string | null, task: () => Promise<T>): Promise<T> {
    const backoff = new Backoff(RETRY.firstMs, RETRY.maxMs);
    const parent = this.deps.live.get(parentId);
    // The parent's execution still runs here (a stop or a lost lease unloads it, and a later claim is another Live).
    const holds = () => this.deps.running() && parent !== undefined && this.deps.live.get(parentId) === parent;
    for (;;) {
      try {
        return await task();
      } catch (error) {
        if (!isTransientError(error)) throw error;
        if (!holds()) return new Promise<T>(() => {});
        const delayMs = backoff.next();
        if (doing !== null && delayMs === RETRY.firstMs) this.deps.report(new StoreUnavailableError(doing, delayMs, { cause: error }));
        await new Promise<void>((resolve) => this.deps.clock.setTimeout(resolve, delayMs));
        // Asked again after the delay too: a retry after stop() (or after the parent left) would start work nobody stops.
        if (!holds()) return new Promise<T>(() => {});
      }
    }
  }
}
