import type { StandardSchemaV1 } from '@standard-schema/spec';
import { assign } from 'xstate';
import { WaitTimeoutError } from '../errors.js';
import { chartRecord } from '../errors/base.js';
import { IDS, TAGS, enterActions, ref, stepId, type StateConfig } from '../compilation/chart.js';
import { nowOf, visitsOf, withEntry, withKey, without, type Args } from '../compilation/context.js';
import type { StepKind } from './kind.js';
import { duration, entryParam, tagsOf } from './drawing.js';

/**
 * The wait: the saga waits for a named event sent to it (`handle.send`). The
 * chart alone drives it: the runtime queues sent events in the context's
 * inbox (`enqueueEvent`) and the wait takes the first of its name.
 */

/** What `.waitFor()` records. */
export interface WaitNode {
  kind: 'wait';
  name: string;
  event: string;
  timeoutMs: number | undefined;
  schema: StandardSchemaV1 | undefined;
  position: string;
}

/** Records `.waitFor(name, { event, timeoutMs, schema })`. */
export function declareWait(name: string, options: { event: string; timeoutMs?: number; schema?: StandardSchemaV1 } | undefined, scope: string): WaitNode {
  return { kind: 'wait', name, event: options?.event as string, timeoutMs: options?.timeoutMs, schema: options?.schema, position: `${scope}waitFor "${name}"` };
}

export const waitKind: StepKind<WaitNode> = {
  kind: 'wait',

  validate(node, cx) {
    const facts = cx.facts(node);
    if (typeof node.event !== 'string' || node.event.length === 0) cx.fail(`${cx.where(node)} needs { event: 'name' }`);
    if (node.timeoutMs !== undefined && !(Number.isFinite(node.timeoutMs) && node.timeoutMs > 0)) {
      cx.fail(`${cx.where(node)}: timeoutMs must be a number of ms > 0 (got ${node.timeoutMs})`);
    }
    facts.timeoutMs = node.timeoutMs ?? null;
    return facts;
  },

  afterPivot: (node, where, because) =>
    node.timeoutMs === undefined ? [] : [`${where} ${because}, but its timeoutMs would fail it for good; drop timeoutMs or wait before the pivot`],

  emit(node, next) {
    const step = node.name;
    const state: StateConfig = {
      id: stepId(step),
      tags: [TAGS.event],
      entry: { type: 'startWait', params: { step, timeoutMs: node.timeoutMs ?? null } },
      always: {
        guard: { type: 'hasEvent', params: { event: node.event } },
        target: next.ref,
        actions: [{ type: 'takeEvent', params: { step, event: node.event } }, ...enterActions(next)],
      },
    };
    if (node.timeoutMs !== undefined) {
      state.on = {
        'orsa.wake': {
          guard: { type: 'isDue', params: { timer: step } },
          target: ref(IDS.rollback),
          actions: { type: 'waitTimedOut', params: { step, event: node.event, timeoutMs: node.timeoutMs } },
        },
      };
    }
    return state;
  },

  actions: {
    startWait: assign(({ context, event }: Args, { step, timeoutMs }: { step: string; timeoutMs: number | null }) => ({
      visits: withKey(context.visits, step, visitsOf(context, step) + 1),
      timers: timeoutMs === null ? context.timers : withEntry(context.timers, step, nowOf(event) + timeoutMs),
    })),
    takeEvent: assign(({ context }: Args, { step, event }: { step: string; event: string }) => {
      const index = context.inbox.findIndex((e) => e.name === event);
      if (index === -1) return {}; // cannot happen once build() refused concurrent waits on one event; never crash the actor
      const taken = context.inbox[index]!;
      return {
        inbox: context.inbox.filter((_, i) => i !== index),
        results: withKey(context.results, step, taken.payload),
        timers: without(context.timers, step),
      };
    }),
    waitTimedOut: assign((_: Args, { step, event, timeoutMs }: { step: string; event: string; timeoutMs: number }) => ({
      failure: { step, error: chartRecord(new WaitTimeoutError(step, event, timeoutMs)) },
    })),
  },

  guards: {
    hasEvent: ({ context }: Args, { event }: { event: string }) => context.inbox.some((e) => e.name === event),
  },

  drawing: {
    owns: (state) => tagsOf(state).includes(TAGS.event),
    describe(state) {
      const timeoutMs = entryParam(state, 'startWait', 'timeoutMs');
      return typeof timeoutMs === 'number' ? `waits at most ${duration(timeoutMs)}` : 'waits for its event';
    },
    label: (guard) => (guard.type === 'hasEvent' ? `on ${String(guard.params?.event)}` : undefined),
  },

  consumes: (node) => (typeof node.event === 'string' && node.event.length > 0 ? { event: node.event, schema: node.schema } : undefined),
};
