import { assign } from 'xstate';
import { ParentRolledBackError } from '../errors.js';
import { chartRecord } from '../errors/base.js';
import { IDS, TAGS, ref, type StateConfig } from './chart.js';
import type { Args } from './context.js';

/*
 * Parking: how a completed child saga can still be rolled back by its parent
 * (the child step kind is src/kinds/child.ts). Every machine gets it.
 */

/** Tag of the state where a completed child waits for its parent's end. */
export const PARKED_TAG = 'orsa.parked';
const FINISHING = 'orsa:finishing';
const PARKED = 'orsa:parked';

/**
 * The machine's config with the parking states: a saga whose steps all
 * completed goes to `completed` as before, unless it is a child, which parks
 * until its parent ends (`release` → `completed`) or rolls back past it
 * (`compensate` → its rollback). Added to the machine, not to the compiled
 * config, so every saga's version (a hash of that config) stays as it was.
 * Its guard `hasParent` and action `undoForParent` are the machine's own ({@link parkingGuards}, {@link parkingActions}).
 */
export function withParking(config: StateConfig): StateConfig {
  const completed = ref(IDS.completed);
  const retarget = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(retarget);
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = key === 'target' && v === completed ? ref(FINISHING) : retarget(v);
    return out;
  };
  const states = retarget(config.states ?? {}) as Record<string, unknown>;
  states.finishing = { id: FINISHING, always: [{ guard: 'hasParent', target: ref(PARKED) }, { target: completed }] };
  states.parked = {
    id: PARKED,
    tags: [TAGS.waiting, PARKED_TAG],
    on: {
      'orsa.release': { target: completed },
      'orsa.compensateChild': { target: ref(IDS.rollback), actions: 'undoForParent' },
      // Handled here, so the saga-wide cancel does not apply: a parked child's fate is its parent's.
      'orsa.cancel': { actions: [] },
    },
  };
  return { ...config, states };
}

/** The actions of the parking states (every machine has them). */
export const parkingActions = {
  /** A parked child asked by its parent to roll back. */
  undoForParent: assign(({ context }: Args) => ({
    undoneByParent: true,
    failure: { step: null, error: chartRecord(new ParentRolledBackError(context.parent?.id ?? 'unknown')) },
  })),
};

/** The guards of the parking states: a child parks when its steps are done. */
export const parkingGuards = {
  hasParent: ({ context }: Args): boolean => context.parent !== undefined,
};
