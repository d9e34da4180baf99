import type { HistoryEvent } from '../../stores/types.js';

/**
 * The saga's chart as the dashboard draws it: its steps in order (parallel
 * groups as side-by-side branches), each with what a person needs to read at
 * a glance. Built from the compiled statechart config when the definition is
 * known (`--sagas`), else from what the store holds (the steps the history
 * and the snapshot name, in the order they first appeared).
 */
export interface ChartNode {
  kind: 'readiness' | 'step' | 'wait' | 'sleep' | 'parallel';
  name: string;
  /** The step has a compensation. */
  compensable?: boolean;
  /** Attempts its retry policy allows (steps with retries). */
  maxAttempts?: number;
  /** Steps it may jump back or forward to. */
  gotos?: string[];
  /** The event a wait consumes. */
  event?: string;
  /** A sleep's duration. */
  ms?: number;
  branches?: { name: string; nodes: ChartNode[] }[];
}

/** The chart and where it came from. */
export interface Chart {
  source: 'definition' | 'history';
  nodes: ChartNode[];
}

const SYSTEM_STATES = new Set(['rollback', 'settle', 'outcome', 'completed', 'compensated', 'failed', 'cancelled', 'done']);

type Config = { [key: string]: unknown };

/** Every object below `value` (the transitions, guards and actions of a state). */
function* walk(value: unknown): Generator<Config> {
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) for (const item of value) yield* walk(item);
  else {
    yield value as Config;
    for (const [key, child] of Object.entries(value)) if (key !== 'states') yield* walk(child);
  }
}

const params = (o: Config) => (o.params && typeof o.params === 'object' ? (o.params as Config) : {});

function nodeOf(name: string, state: Config): ChartNode {
  if (name === 'readiness') return { kind: 'readiness', name };
  if (state.type === 'parallel') {
    const branches = Object.entries((state.states ?? {}) as Record<string, Config>).map(([branch, config]) => ({ name: branch, nodes: nodesOf(config) }));
    return { kind: 'parallel', name, branches };
  }
  const objects = [...walk(state.entry), ...walk(state.on), ...walk(state.always), ...walk(state.tags)];
  const inner = Object.values((state.states ?? {}) as Record<string, Config>).flatMap((s) => [...walk(s.entry), ...walk(s.on)]);
  const all = [...objects, ...inner];
  const timer = all.find((o) => o.type === 'startTimer');
  if (timer) return { kind: 'sleep', name, ms: Number(params(timer).ms) };
  const wait = all.find((o) => o.type === 'startWait');
  if (wait) {
    const take = all.find((o) => o.type === 'takeEvent');
    return { kind: 'wait', name, ...(take ? { event: String(params(take).event) } : {}) };
  }
  const node: ChartNode = { kind: 'step', name };
  if (all.some((o) => o.type === 'complete' && params(o).compensable === true)) node.compensable = true;
  const retry = all.find((o) => o.type === 'shouldRetry');
  if (retry) node.maxAttempts = Number(params(retry).maxAttempts);
  const gotos = [...new Set(all.filter((o) => o.type === 'gotoAllowed').map((o) => String(params(o).target)))];
  if (gotos.length) node.gotos = gotos;
  return node;
}

function nodesOf(config: Config): ChartNode[] {
  return Object.entries((config.states ?? {}) as Record<string, Config>)
    .filter(([name]) => !SYSTEM_STATES.has(name))
    .map(([name, state]) => nodeOf(name, state));
}

/**
 * The chart of a compiled saga config (`definition.config`).
 *
 * @example
 * ```ts
 * chartFromConfig(order.config).nodes.map((n) => n.name); // ['reserve', 'charge', 'confirmation']
 * ```
 */
export function chartFromConfig(config: Config): Chart {
  return { source: 'definition', nodes: nodesOf(config) };
}

/**
 * A chart from what the store holds, when the definition is not at hand:
 * a sequence of the steps named in the history and the snapshot's visits,
 * in order of first appearance (parallel branches show one after another).
 *
 * @example
 * ```ts
 * chartFromHistory(await store.history(id), snapshot.context.visits);
 * ```
 */
export function chartFromHistory(history: readonly HistoryEvent[], visits: Record<string, number> = {}): Chart {
  const nodes = new Map<string, ChartNode>();
  for (const event of history) {
    if (!event.step) continue;
    const node = nodes.get(event.step) ?? { kind: 'step', name: event.step };
    if (event.type === 'sleep.started') node.kind = 'sleep';
    if (event.type.startsWith('compensation.')) node.compensable = true;
    nodes.set(event.step, node);
  }
  for (const name of Object.keys(visits)) if (!nodes.has(name)) nodes.set(name, { kind: 'step', name });
  return { source: 'history', nodes: [...nodes.values()] };
}
