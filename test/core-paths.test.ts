import { getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { saga, type SagaDefinition } from '../src/index.js';
import type { SagaContext } from '../src/compilation/machine.js';
import { TAGS } from '../src/compilation/compile.js';
import { referenceSagas } from '../machines/index.js';

/**
 * Path coverage: every path through a saga's statechart in which a step fails
 * for good (enumerated by @xstate/graph, without running any step) must end
 * compensated, with exactly the completed compensable executions undone, in
 * reverse order of completion.
 */

type Snap = { value: unknown; context: SagaContext; hasTag(tag: string): boolean; status: string };
const LATER = Number.MAX_SAFE_INTEGER;

/** The events the runtime could send in a snapshot: every outcome of every effect under way. */
function possibleEvents(definition: SagaDefinition<any, any>, s: Snap) {
  const c = s.context;
  const events: Record<string, unknown>[] = [];
  for (const [step, { exec }] of Object.entries(c.active)) {
    const targets = definition.compiled.steps[step]?.gotoTargets ?? [];
    for (const goto of [null, ...targets]) events.push({ type: `orsa.done.${step}`, exec, result: `result of ${exec}`, goto, now: 0 });
    events.push({ type: `orsa.fail.${step}`, exec, error: { name: 'Error', message: `${exec} failed` }, retryable: false, now: 0 });
    if ((definition.compiled.steps[step]?.retry.maxAttempts ?? 1) > 1) {
      events.push({ type: `orsa.fail.${step}`, exec, error: { name: 'Error', message: `${exec} flaked` }, retryable: true, random: 0.5, now: 0 });
    }
  }
  if (s.hasTag(TAGS.readiness)) events.push({ type: 'orsa.ready', now: 0 });
  // A map (kinds/map) waits for its items list: two items, so that their completions interleave.
  if (s.hasTag('orsa.map.items')) {
    for (const [map, progress] of Object.entries(c.maps ?? {})) if (progress.total === null) events.push({ type: `orsa.items.${map}`, visit: progress.visit, items: [0, 1], now: 0 });
  }
  if (s.hasTag(TAGS.compensating) && c.comp) events.push({ type: 'orsa.compensated', exec: c.comp.exec, now: 0 });
  if (s.hasTag(TAGS.catch)) events.push({ type: 'orsa.caught', now: 0 });
  if (Object.keys(c.timers).length > 0) events.push({ type: 'orsa.wake', now: LATER });
  // Only while waiting: an event sent in every state would grow the inbox without end.
  if (s.hasTag(TAGS.event)) for (const event of definition.compiled.events) events.push({ type: 'orsa.event', name: event, payload: { event }, now: 0 });
  return events as { type: string }[];
}

function failurePaths(definition: SagaDefinition<any, any>) {
  // One shortest path per distinct state; states differ by context, so every completion order is its own state.
  const paths = getShortestPaths(definition.machine, {
    input: { sagaId: 'path', input: null, now: 0 },
    events: (s: unknown) => possibleEvents(definition, s as Snap),
    serializeState: (s: unknown) => JSON.stringify({ v: (s as Snap).value, c: (s as Snap).context }),
  } as never);
  return paths.filter((p) => (p.state as unknown as Snap).hasTag(TAGS.compensated));
}

function checkPath(path: ReturnType<typeof failurePaths>[number]) {
  const completed: string[] = [];
  const compensated: string[] = [];
  let before: SagaContext | undefined;
  for (const { event, state } of path.steps) {
    if (event.type.startsWith('xstate.done.state.')) continue; // injected by the traversal, not sent by orsa
    const context = (state as unknown as Snap).context;
    if (before && context.log.length > before.log.length) completed.push(...context.log.slice(before.log.length).map((e) => e.exec));
    if (event.type === 'orsa.compensated') compensated.push((event as unknown as { exec: string }).exec);
    before = context;
  }
  const end = (path.state as unknown as Snap).context;
  expect(end.failure).not.toBeNull();
  expect(compensated).toEqual([...completed].reverse());
  expect(end.compensated).toEqual(compensated);
}

const reference = {
  sequence: saga('sequence')
    .step('rates', () => 1, { retry: 1 })
    .step('file', () => 2, { compensate: () => {} })
    .step('charge', () => 3, { compensate: () => {} })
    .step('notify', () => 4)
    .build(),
  parallel: saga('parallel')
    .readiness(() => {})
    .step('reserve', () => 1, { compensate: () => {} })
    .parallel('book', {
      pay: (b) => b.step('pay', () => 2, { compensate: () => {} }),
      ship: (b) => b.step('label', () => 3, { compensate: () => {} }).step('pickup', () => 4),
    })
    .step('confirm', () => 5)
    .catch(() => {})
    .build(),
  loop: saga('loop')
    .step('reserve', () => 1, { compensate: () => {} })
    .step('check', () => 2, { goto: { targets: ['reserve'], decide: () => null, maxVisits: 3 } })
    .waitFor('approval', { event: 'approved', timeoutMs: 1000 })
    .sleep('pause', 10)
    .step('ship', () => 3, { compensate: () => {} })
    .step('last', () => 4)
    .build(),
};

describe('path coverage', () => {
  // The reference sagas of machines/ (the examples' sagas), and small ones that stress one shape each.
  const all: Record<string, SagaDefinition<any, any>> = { ...Object.fromEntries(referenceSagas.map((d) => [`machines/${d.name}`, d])), ...reference };
  for (const [name, definition] of Object.entries(all)) {
    it(`every path of "${name}" in which a step fails for good ends compensated, undoing exactly the completed steps in reverse order`, () => {
      const paths = failurePaths(definition);
      expect(paths.length).toBeGreaterThan(3);
      for (const path of paths) checkPath(path);
    });
  }

  it('sees the failures it is meant to see (a failure after two compensable steps undoes both)', () => {
    const paths = failurePaths(reference.sequence);
    const failedAtNotify = paths.filter((p) => (p.state as unknown as Snap).context.failure?.step === 'notify');
    expect(failedAtNotify.length).toBeGreaterThan(0);
    for (const p of failedAtNotify) expect((p.state as unknown as Snap).context.compensated).toEqual(['charge#1', 'file#1']);
  });
});
