import { TAGS, enterActions, stepId } from '../compilation/chart.js';
import type { StepKind } from './kind.js';
import { duration, entryParam, tagsOf } from './drawing.js';

/**
 * The sleep: the saga pauses; the due time is kept in the snapshot's timers,
 * so the sleep survives restarts. The chart alone drives it (the shared
 * `startTimer`/`clearTimer` actions and the `isDue` guard).
 */

/** What `.sleep()` records. */
export interface SleepNode {
  kind: 'sleep';
  name: string;
  ms: number;
  position: string;
}

/** Records `.sleep(name, ms)`. */
export function declareSleep(name: string, ms: number, scope: string): SleepNode {
  return { kind: 'sleep', name, ms, position: `${scope}sleep "${name}"` };
}

export const sleepKind: StepKind<SleepNode> = {
  kind: 'sleep',

  validate(node, cx) {
    if (!(Number.isFinite(node.ms) && node.ms >= 0)) cx.fail(`${cx.where(node)}: the duration must be a number of ms >= 0 (got ${node.ms})`);
    return cx.facts(node);
  },

  emit(node, next) {
    const step = node.name;
    return {
      id: stepId(step),
      tags: [TAGS.waiting],
      // Visits count here too, so that a goto loop through a sleep (poll, pause, poll) meets its maxVisits.
      entry: [{ type: 'countVisit', params: { step } }, { type: 'startTimer', params: { timer: step, ms: node.ms } }],
      on: {
        'orsa.wake': {
          guard: { type: 'isDue', params: { timer: step } },
          target: next.ref,
          actions: [{ type: 'clearTimer', params: { timer: step } }, ...enterActions(next)],
        },
      },
    };
  },

  drawing: {
    owns: (state) => tagsOf(state).includes(TAGS.waiting),
    describe(state) {
      const ms = entryParam(state, 'startTimer', 'ms');
      return typeof ms === 'number' ? `sleeps ${duration(ms)}` : undefined;
    },
    label: () => 'after the sleep',
  },
};
