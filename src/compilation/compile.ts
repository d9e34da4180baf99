import { IDS, TAGS, COMPENSATION_TIMER, enterActions, ref, targetOf, withActions, withEntry, type CompiledSaga, type CompiledStep, type StateConfig } from './chart.js';
import type { CompiledRetry } from './retry.js';
import { validateSaga } from './validate.js';
import type { Declaration, Node } from '../declaration/types.js';
import type { EmitContext, KindRegistry } from '../kinds/kind.js';

// The chart's vocabulary moved to chart.ts; re-exported for existing imports.
export { IDS, TAGS, COMPENSATION_TIMER, type CompiledSaga, type CompiledStep, type StateConfig } from './chart.js';

/**
 * The compiler: declaration in, statechart config out. Pure: no I/O, no clock,
 * no randomness, no user code. Validation (validate.ts) comes first; then this
 * module emits the chart: the saga's own states (readiness, rollback,
 * compensation, outcome) here, each node's states by its kind. The config is
 * plain JSON; every guard and action is referenced by name (with JSON params)
 * and implemented by the machine (machine.ts) and the kinds.
 */

/**
 * Validates a declaration and compiles it with the given step kinds
 * (`kinds` from src/kinds/registry.ts). Throws `SagaDefinitionError` with
 * every mistake found.
 *
 * @example
 * ```ts
 * const { config, steps } = compileSaga(declaration, kinds);
 * ```
 */
export function compileSaga(decl: Declaration, kinds: KindRegistry): CompiledSaga {
  const { steps, events, dependencies } = validateSaga(decl, kinds);
  const hasReadiness = decl.readiness.length > 0 || dependencies.length > 0;
  const pivot = kinds.pivotOf(decl);
  // Steps whose failed executions are logged for compensation (their effect may have happened).
  const onFailure = Object.keys(steps).filter((name) => steps[name]!.compensateOnFailure);
  const compensationPolicies: Record<string, CompiledRetry> = {};
  for (const [name, step] of Object.entries(steps)) if (step.compensateRetry) compensationPolicies[name] = step.compensateRetry;

  const first = decl.nodes[0]!.name;
  const firstTarget = targetOf(first, steps);
  // Readiness first, so that the chart (and every diagram of it) reads in the order things happen.
  const runStates: Record<string, StateConfig> = hasReadiness
    ? {
        readiness: {
          tags: [TAGS.readiness],
          on: {
            'orsa.ready': withActions({ target: firstTarget.ref }, enterActions(firstTarget)),
            'orsa.notReady': { target: ref(IDS.rollback), actions: 'notReady' },
          },
        },
      }
    : {};
  Object.assign(runStates, emitter(steps, kinds).sequence(decl.nodes, ref(IDS.completed)));

  const config: StateConfig = {
    id: decl.name,
    initial: hasReadiness ? 'readiness' : first,
    ...(hasReadiness ? {} : withEntry(enterActions(firstTarget))),
    on: {
      'orsa.event': { actions: 'enqueueEvent' },
      // Steps sit at the top level (one level less for every transition); cancel applies until rollback starts
      // (and, with a pivot, until the pivot completed: after it the saga only goes forward).
      'orsa.cancel': { guard: pivot === undefined ? 'isForward' : { type: 'beforePivot', params: { pivot } }, target: ref(IDS.rollback), actions: 'markCancelled' },
    },
    states: {
      ...runStates,
      rollback: {
        id: IDS.rollback,
        initial: 'draining',
        entry: 'enterRollback',
        states: {
          draining: {
            tags: [TAGS.draining],
            always: { guard: 'nothingActive', target: 'next' },
            on: {
              'orsa.done.*': { actions: { type: 'completeLate', params: { compensable: Object.keys(compensationPolicies) } } },
              'orsa.fail.*': { actions: onFailure.length === 0 ? 'dropActive' : { type: 'dropActive', params: { compensable: onFailure } } },
            },
          },
          next: {
            always: [{ guard: 'hasPendingCompensation', target: 'compensating' }, { target: ref(IDS.settle) }],
          },
          compensating: {
            tags: [TAGS.compensating],
            entry: 'startCompensation',
            on: {
              'orsa.compensated': { guard: 'isCurrentCompensation', target: 'next', actions: 'markCompensated' },
              'orsa.compensationFailed': [
                {
                  guard: { type: 'shouldRetryCompensation', params: { policies: compensationPolicies } },
                  target: 'waiting',
                  actions: { type: 'scheduleCompensationRetry', params: { policies: compensationPolicies } },
                },
                { guard: 'isCurrentCompensation', target: ref(IDS.settle), actions: 'compensationFailed' },
              ],
            },
          },
          waiting: {
            tags: [TAGS.waiting],
            on: { 'orsa.wake': { guard: { type: 'isDue', params: { timer: COMPENSATION_TIMER } }, target: 'compensating' } },
          },
        },
      },
      settle: decl.catch
        ? { id: IDS.settle, tags: [TAGS.catch], on: { 'orsa.caught': { target: ref(IDS.outcome) } } }
        : { id: IDS.settle, always: { target: ref(IDS.outcome) } },
      outcome: {
        id: IDS.outcome,
        always: [
          { guard: 'compensationDidFail', target: ref(IDS.failed) },
          { guard: 'wasCancelled', target: ref(IDS.cancelled) },
          { target: ref(IDS.compensated) },
        ],
      },
      completed: { id: IDS.completed, type: 'final', tags: [TAGS.completed] },
      compensated: { id: IDS.compensated, type: 'final', tags: [TAGS.compensated] },
      // Not final: an operator can retry the compensation once its cause is fixed.
      failed: {
        id: IDS.failed,
        tags: [TAGS.failed],
        on: { 'orsa.retryCompensation': { target: `${ref(IDS.rollback)}.next`, actions: 'resetCompensationError' } },
      },
      cancelled: { id: IDS.cancelled, type: 'final', tags: [TAGS.cancelled] },
    },
  };

  return { config, steps, events, dependencies, hasReadiness };
}

/** The emit context of the kinds: targets and nested sequences, chained in order. */
function emitter(steps: Record<string, CompiledStep>, kinds: KindRegistry): EmitContext {
  const cx: EmitContext = {
    steps,
    target: (name) => targetOf(name, steps),
    sequence(nodes: Node[], exit: string) {
      const states: Record<string, StateConfig> = {};
      nodes.forEach((node, index) => {
        const nextNode = nodes[index + 1];
        const next = nextNode ? targetOf(nextNode.name, steps) : { ref: exit, enter: null };
        states[node.name] = kinds.of(node).emit(node as never, next, cx);
      });
      return states;
    },
  };
  return cx;
}
