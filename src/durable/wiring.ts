import { SagaIdTakenError } from '../errors.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import type { Clock } from '../interpretation/clock.js';
import type { Transition } from '../interpretation/execution.js';
import { assertInputSerializable, DEFAULT_MAX_INPUT_BYTES } from '../interpretation/serialize.js';
import { assertSagaId } from '../stores/input-checks.js';
import type { SagaStore } from '../stores/types.js';
import type { SagaInterceptor } from '../observe/interceptors.js';
import type { RuntimeOptions } from './runtime-options.js';
import type { Live } from './live.js';
import type { RecordGate } from './claims.js';
import type { SagaRegistry } from './registry.js';
import { outcomeOf } from './records.js';
import { Waiters } from './waiters.js';
import { Inbox } from './inbox.js';
import { TransitionWriter } from './writer.js';
import { Poller } from './poller.js';
import { Launcher } from './launcher.js';
import { Repeater } from './repeater.js';
import { QueueKeeper } from './queues.js';
import { Scheduler } from './scheduler.js';
import { DurableChildren } from './children.js';

/** What the parts of a runtime share with it, and what they call back. */
export interface WiringHost {
  options: RuntimeOptions;
  store: SagaStore;
  clock: Clock;
  workerId: string;
  leaseMs: number;
  sagas: SagaRegistry;
  live: Map<string, Live>;
  gate: RecordGate;
  /** Ended sagas whose final write committed and whose observers have not yet heard of it. */
  announcing: Set<string>;
  running: () => boolean;
  interceptors: () => SagaInterceptor[];
  leaseLost: (live: Live, refused?: Transition) => void;
  guard: (task: () => unknown) => Promise<void>;
  report: (error: unknown) => void;
}

/** The parts of a runtime, wired to one another, and the two jobs that take several of them. */
export interface RuntimeParts {
  waiters: Waiters;
  repeater: Repeater;
  inbox: Inbox;
  scheduler: Scheduler;
  poller: Poller;
  writer: TransitionWriter;
  launcher: Launcher;
  queues: QueueKeeper;
  /** Starts a saga with this id (startSaga once the runtime runs, and the scheduler's ticks); a limited saga is queued. */
  begin: (definition: SagaDefinition<any, any>, input: unknown, id: string, priority?: unknown) => Promise<{ id: string; created: boolean }>;
}

/**
 * Builds the parts of a durable runtime (poller, writer, launcher, queues,
 * scheduler, inbox) and wires each to the others it calls; the runtime
 * facade keeps them and only starts and stops them.
 *
 * @internal
 * @example
 * ```ts
 * const { poller, inbox, begin } = wireRuntime({ options, store, clock, workerId, leaseMs, sagas, live, gate, announcing, running, interceptors, leaseLost, guard, report });
 * ```
 */
export function wireRuntime(host: WiringHost): RuntimeParts {
  const { options, store, clock, sagas, live, gate, announcing, running, report, guard } = host;
  const waiters = new Waiters(clock);
  const repeater = new Repeater(clock, running, report);
  const inbox: Inbox = new Inbox({
    store,
    clock,
    sagas,
    live,
    maxInputBytes: options.maxInputBytes,
    running,
    poll: (id) => void poller.poll(id),
    cancelQueued: (id) => cancelQueued(id),
  });
  const scheduler = new Scheduler({
    store,
    clock,
    sagas,
    graceMs: options.scheduleGraceMs ?? 60_000,
    maxInputBytes: options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES,
    start: (definition, input, id) => begin(definition, input, id),
    report,
    running,
  });
  const common = { store, clock, workerId: host.workerId, leaseMs: host.leaseMs, live, guard };
  const poller: Poller = new Poller({
    ...common,
    gate,
    claimBatch: options.claimBatch ?? 100,
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
    versionsByName: sagas.versionsByName,
    resume: (record, inbox) => launcher.resume(record, inbox),
    promote: () => queues.promoteAll(),
    running,
    schedules: scheduler,
  });
  const writer = new TransitionWriter({
    ...common,
    hooks: options.hooks,
    announcing,
    wakeAt: (dueAt) => poller.wakeAt(dueAt),
    leaseLost: (live, refused) => host.leaseLost(live, refused),
    // A slot freed here: the next queued saga starts now, not at the next poll.
    slotFreed: (name) => void (queues.limited(name) && queues.promote(name).catch((e: unknown) => report(e))),
    notified: (ids) => {
      for (const id of ids) void inbox.delivered(id).catch((error: unknown) => report(error));
    },
  });
  const children = new DurableChildren({ ...common, sagas, maxInputBytes: options.maxInputBytes, launcher: () => launcher, delivered: (id) => inbox.delivered(id), running, report });
  const launcher: Launcher = new Launcher({
    ...common,
    options,
    sagas,
    gate,
    writer,
    waiters,
    announcing,
    interceptors: host.interceptors,
    running,
    wakeAt: (dueAt) => poller.wakeAt(dueAt),
    children,
  });
  const queues: QueueKeeper = new QueueKeeper({
    ...common,
    gate,
    sagas,
    batch: options.claimBatch ?? 100,
    resume: (record) => launcher.resume(record),
    report,
    wakeAt: (at) => poller.wakeAt(at),
    running,
  });

  /** Ends a queued saga `cancelled`; false when it was promoted meanwhile (then it is cancelled where it runs). */
  async function cancelQueued(id: string): Promise<boolean> {
    const cancelled = await queues.cancel(id);
    if (!cancelled) return false;
    waiters.wake(id);
    const outcome = outcomeOf(cancelled);
    if (!outcome.ok) await guard(() => options.hooks?.onAbort?.(cancelled, outcome.error));
    return true;
  }

  async function begin(definition: SagaDefinition<any, any>, input: unknown, id: string, priority?: unknown): Promise<{ id: string; created: boolean }> {
    const validated = await definition.validateInput(input);
    assertInputSerializable(definition.name, validated, options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES);
    assertSagaId(id);
    if (definition.declaration.limits && !live.has(id)) {
      const { inserted, record } = await queues.enqueue(definition, id, validated, priority);
      if (!inserted && record.sagaName !== definition.name) throw new SagaIdTakenError(id, record.sagaName, definition.name);
      return { id, created: inserted };
    }
    return launcher.start(definition, id, validated);
  }

  return { waiters, repeater, inbox, scheduler, poller, writer, launcher, queues, begin };
}
