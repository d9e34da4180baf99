import type { Actor, AnyStateMachine, InspectionEvent, Observer, Snapshot } from 'xstate';
import type { SagaContext, SagaEvent } from '../compilation/machine.js';
import type { Clock } from './clock.js';
import type { ExecutionStatus, SagaObservation } from './observe.js';
import type { SagaInterceptor } from '../observe/interceptors.js';
import type { ChildHost } from '../kinds/child-effect.js';
import type { ParentRef } from '../kinds/child.js';

/** What the interpreter hands to a persister before it lets a transition's effects start. */
export interface Transition {
  sagaId: string;
  event: SagaEvent;
  status: ExecutionStatus;
  /** The status before this transition (null for the first one of this execution). */
  previous: ExecutionStatus | null;
  /** This transition parked a child saga (its steps completed; it waits for its parent's end). */
  enteredParking?: boolean;
  dueAt: number | null;
  /** Returns the persisted snapshot (computed on demand: in-memory runs never pay for it). */
  persisted: () => Snapshot<unknown>;
  observations: SagaObservation[];
}

/** Options of one saga execution. */
export interface ExecutionOptions {
  /** The saga instance id. Default: a random UUID. */
  sagaId?: string;
  /** Default: the system clock. Pass `createTestClock()` in tests. */
  clock?: Clock;
  /** Source of randomness for retry jitter, in [0, 1). Default Math.random. */
  random?: () => number;
  /** XState's inspection hook: pass `createBrowserInspector().inspect` or a WebSocket inspector's (an observer or a function). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Receives every observation (step started, completed, retrying, …). */
  observer?: (observation: SagaObservation) => void;
  /** Largest step result accepted, in bytes of JSON. Default 1 MiB. */
  maxResultBytes?: number;
  /** @internal The fencing token steps receive (the record's row version at claim). Default 0 (no lease). */
  fencingToken?: number;
  /** @internal A step execution whose lease was lost this many times fails with LEASE_LOST. Default 3. */
  maxLeaseLosses?: number;
  /** @internal Called after a persisted transition's observations were emitted (even when the write unloaded the saga). */
  committed?: (transition: Transition) => void;
  /** @internal A persisted snapshot to resume from. */
  snapshot?: Snapshot<unknown>;
  /** @internal Called for every transition before its effects start; a rejection stops the execution. */
  persist?: (transition: Transition) => Promise<void> | void;
  /** @internal Where child sagas run (default: in this process, beside this execution). */
  children?: ChildHost;
  /** @internal The parent of a child saga. */
  parent?: ParentRef;
  /** Wrap the saga run, each step attempt and each compensation attempt (tracing, logging, metrics). First is outermost. Default: none. */
  interceptors?: readonly SagaInterceptor[];
}

/** How often a step execution may lose its lease before it fails with LEASE_LOST. */
export const DEFAULT_MAX_LEASE_LOSSES = 3;

/** The statechart snapshot of a saga, with its typed context (what `Execution.getSnapshot()` returns). */
export type SagaSnapshot = ReturnType<Actor<AnyStateMachine>['getSnapshot']> & { context: SagaContext };

/**
 * The persisted form of a snapshot, as XState's getPersistedSnapshot makes it
 * for a machine without child actors (orsa's never has any), without its
 * deep copy of the context: the caller serialises it at once.
 *
 * @internal
 * @example
 * ```ts
 * const stored = JSON.stringify(persistedOf(actor.getSnapshot() as SagaSnapshot));
 * ```
 */
export function persistedOf(snapshot: SagaSnapshot): Snapshot<unknown> {
  const s = snapshot as SagaSnapshot & { historyValue: unknown; output?: unknown; error?: unknown; status: string; value: unknown };
  return { status: s.status, value: s.value, historyValue: s.historyValue, context: s.context, children: {}, output: s.output, error: s.error } as unknown as Snapshot<unknown>;
}
