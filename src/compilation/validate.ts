import { SagaDefinitionError } from '../errors.js';
import { NO_RETRY } from './retry.js';
import type { CompiledStep } from './chart.js';
import type { Declaration, Dependency, Node } from '../declaration/types.js';
import type { KindNode, KindRegistry, ValidateContext } from '../kinds/kind.js';

/**
 * The first half of the compiler: checks a declaration and gathers the facts
 * the emitter and the runtime need. What is common to every node (names,
 * uniqueness, reserved words, events consumed by one wait) is checked here;
 * the rest is asked of each node's kind. Pure: no I/O, no user code.
 */

/** What validation learned, for the emitter. */
export interface Validated {
  /** Every named execution point, in declaration order. */
  steps: Record<string, CompiledStep>;
  /** Event names that waits consume, in declaration order. */
  events: string[];
  /** Dependencies discovered from the steps, by name. */
  dependencies: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,99}$/;
// State keys of the chart's own states (steps sit beside them at the top level).
const RESERVED = new Set(['readiness', 'done', 'rollback', 'settle', 'outcome', 'completed', 'compensated', 'failed', 'cancelled']);

/** Validates a declaration. Throws {@link SagaDefinitionError} with every mistake found. */
export function validateSaga(decl: Declaration, kinds: KindRegistry): Validated {
  const errors = [...decl.errors];
  const fail = (message: string) => errors.push(message);
  if (!NAME.test(decl.name)) {
    fail(`saga name "${decl.name}" must start with a letter or _ and hold only letters, digits, _ and - (at most 100)`);
  }
  if (decl.nodes.length === 0) fail(`saga "${decl.name}" has no steps; declare at least one with .step(name, fn)`);

  const steps: Record<string, CompiledStep> = {};
  const events = new Set<string>();
  const dependencies = new Map<string, unknown>();
  // Scope of each name: goto may only jump within the sequence it is declared in.
  const scopeOf = new Map<string, Node[]>();
  const orderIn = new Map<string, number>();
  const deferred: (() => void)[] = [];
  const where = (node: KindNode) => `saga "${decl.name}": ${node.position}`;

  const cx = (nested: boolean): ValidateContext => ({
    saga: decl.name,
    nested,
    fail,
    where,
    facts: (node) => ({ kind: node.kind, retry: NO_RETRY, compensateRetry: null, timeoutMs: null, gotoTargets: [] }),
    sequence: (nodes, at) => collect(nodes, at, true),
    later: (check) => deferred.push(check),
    scopeOf: (name) => scopeOf.get(name),
    indexOf: (name) => orderIn.get(name),
    use: (node, dep: Dependency) => {
      if (!dep || typeof dep.name !== 'string' || typeof dep.check !== 'function') {
        fail(`${where(node)}: uses takes dependencies made with dependency(name, check)`);
      } else if (dependencies.has(dep.name) && dependencies.get(dep.name) !== dep.check) {
        fail(`saga "${decl.name}": two different dependencies are named "${dep.name}"; give them distinct names`);
      } else dependencies.set(dep.name, dep.check);
    },
    compiled: (name) => steps[name],
  });

  const collect = (nodes: Node[], at: string, nested: boolean): void => {
    if (nodes.length === 0) fail(`saga "${decl.name}": ${at} is empty; give it at least one step`);
    const context = cx(nested);
    nodes.forEach((node, index) => {
      if (!NAME.test(node.name)) {
        fail(`${where(node)}: names must start with a letter or _ and hold only letters, digits, _ and -`);
      }
      if (RESERVED.has(node.name)) {
        fail(`${where(node)}: "${node.name}" is reserved by the statechart; pick another name`);
      }
      if (steps[node.name] || scopeOf.has(node.name)) {
        fail(`saga "${decl.name}": the name "${node.name}" is used twice (${node.position}); step names must be unique in a saga`);
      }
      scopeOf.set(node.name, nodes);
      orderIn.set(node.name, index);
      let kind;
      try {
        kind = kinds.of(node);
      } catch (error) {
        return fail(error instanceof Error ? error.message : String(error));
      }
      let facts: CompiledStep | null;
      try {
        facts = kind.validate(node as never, context);
      } catch (error) {
        // A check that throws (a retry policy that makes no sense) is one mistake among the others.
        fail(error instanceof Error ? error.message : String(error));
        facts = context.facts(node);
      }
      if (facts) steps[node.name] = facts;
      const consumed = kind.consumes?.(node as never);
      if (consumed) events.add(consumed.event);
    });
  };
  collect(decl.nodes, 'the saga', false);
  for (const check of deferred) check();
  checkConcurrentWaits(decl, kinds, fail);
  for (const rule of kinds.rules) rule(decl, fail, kinds);
  if (errors.length > 0) {
    throw new SagaDefinitionError(errors.length === 1 ? errors[0]! : `${errors.length} mistakes:\n- ${errors.join('\n- ')}`);
  }
  return { steps, events: [...events], dependencies: [...dependencies.keys()] };
}

/**
 * An event is consumed by one wait: two branches of one group waiting for the
 * same event name would both take it in the same step, so that is refused.
 */
function checkConcurrentWaits(decl: Declaration, kinds: KindRegistry, fail: (message: string) => void): void {
  const eventsIn = (nodes: Node[]): string[] =>
    nodes.flatMap((n) => {
      const consumed = kinds.of(n).consumes?.(n as never);
      return [...(consumed ? [consumed.event] : []), ...kinds.nested(n).flatMap((b) => eventsIn(b.nodes))];
    });
  const walk = (nodes: Node[]) => {
    for (const node of nodes) {
      const branches = kinds.nested(node);
      const seen = new Map<string, string>();
      for (const branch of branches) {
        for (const event of new Set(eventsIn(branch.nodes))) {
          const other = seen.get(event);
          if (other !== undefined) {
            fail(
              `saga "${decl.name}": branches "${other}" and "${branch.name}" of ${node.position} both wait for the event "${event}"; an event is consumed by one wait, so give them distinct event names`,
            );
          } else seen.set(event, branch.name);
        }
        walk(branch.nodes);
      }
    }
  };
  walk(decl.nodes);
}
