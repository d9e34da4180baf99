import type { StateConfig } from '../compilation/compile.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import { overview } from './diagram-overview.js';
import { asArray, KEYWORD, sanitize, statesOf, text } from './mermaid-syntax.js';

/**
 * Renders a compiled saga as a Mermaid `stateDiagram-v2`. It reads only the
 * plain-JSON config, so the same chart that the inspector shows and that
 * `machines/` stores is what the diagram draws.
 *
 * Mermaid constraints shape the output (its state grammar, v11):
 * - state ids may not hold `-`, `:`, spaces or `{`, and a state mentioned in a
 *   transition inside a `state x { … }` block is moved into that block; so
 *   every state is declared in its block first, under a sanitised unique id,
 *   and every transition is written at the top level, where it moves nothing;
 * - transition labels end at `:` or `;`, so those characters are replaced.
 */

interface Transition {
  target?: string | string[];
  guard?: unknown;
}

interface StateNode {
  key: string;
  path: string[];
  config: StateConfig;
  parent: StateNode | null;
  children: StateNode[];
  /** Mermaid id: letters, digits and `_` only, unique in the diagram. */
  id: string;
}

interface Edge {
  from: StateNode;
  to: StateNode[];
  label: string;
}

/** Options of {@link toMermaid}. */
export interface DiagramOptions {
  /**
   * `'overview'` (default): what a person reads at a glance — the steps by
   * name on the main path, retries, waits and gotos in words, the rollback
   * with one `undo <step>` state per compensation, and the outcomes.
   * `'full'`: every state and transition of the statechart, labelled with
   * orsa's internal events and guards (`orsa.done.X [isCurrent]`).
   */
  detail?: 'overview' | 'full';
}

/**
 * Renders a saga as a Mermaid `stateDiagram-v2`. By default an overview for
 * people (see {@link DiagramOptions}); with `{ detail: 'full' }` the whole
 * compiled statechart:
 * steps as states, parallel groups as concurrent composite states (one region
 * per branch, separated by `--`), steps with retries as composite states
 * (`running` ⇄ `retrying`), the rollback region, and the final states
 * (`completed`, `compensated`, `cancelled`) leading to `[*]`. Transitions are
 * labelled `event [guard(params)]`; parameters that only repeat the step's own
 * name are left out. Transitions the root handles in every state (cancel,
 * incoming events) are listed in a note on the initial state.
 *
 * The output is a pure function of `definition.config`: the same config always
 * gives the same text, so it can be checked into `machines/` and diffed.
 *
 * @example
 * ```ts
 * import { saga, toMermaid } from 'orsa';
 *
 * const exchange = saga('exchange')
 *   .step('rates', fetchRates, { retry: 3 })
 *   .step('convert', ({ results }) => convert(results.rates))
 *   .build();
 * console.log(toMermaid(exchange));                     // steps, rollback, outcomes
 * console.log(toMermaid(exchange, { detail: 'full' })); // every state and guard
 * ```
 */
export function toMermaid(definition: Pick<SagaDefinition<any, any>, 'config'>, options: DiagramOptions = {}): string {
  if ((options.detail ?? 'overview') === 'overview') return overview(definition.config);
  const config = definition.config;
  const root = indexStates(config);
  const out: string[] = ['---', `title: ${text(String(config.id ?? 'saga'))}`, '---', 'stateDiagram-v2'];

  const initial = root.children.find((c) => c.key === config.initial);
  if (initial) out.push(`  [*] --> ${initial.id}`);
  for (const child of root.children) declare(child, out, '  ');

  const edges: Edge[] = [];
  const rootOnly: string[] = [];
  for (const [event, transitions] of transitionsOf(config)) {
    for (const t of transitions) {
      const targets = targetsOf(root, root, t);
      rootOnly.push(`${labelOf(event, t.guard, [])}${targets.length ? ` → ${targets.map(pathName).join(', ')}` : ' (stays in its state)'}`);
    }
  }
  walk(root, (node) => {
    if (node === root) return;
    for (const [event, transitions] of transitionsOf(node.config)) {
      for (const t of transitions) {
        const targets = targetsOf(root, node, t);
        // A transition without a target runs its actions and stays: drawn as a self-loop.
        edges.push({ from: node, to: targets.length ? targets : [node], label: labelOf(event, t.guard, node.path) });
      }
    }
  });
  for (const edge of edges) {
    for (const to of edge.to) out.push(`  ${edge.from.id} --> ${to.id}${edge.label ? ` : ${edge.label}` : ''}`);
  }
  if (initial && rootOnly.length > 0) {
    out.push(`  note right of ${initial.id}`, '    In every state:', ...rootOnly.map((line) => `    ${line}`), '  end note');
  }
  // The pivot (the point of no return) is marked, so a reader sees where rollback stops being possible.
  const pivots = root.children.filter((c) => (c.config.meta as { pivot?: boolean } | undefined)?.pivot === true);
  if (pivots.length > 0) {
    out.push('  classDef pivot stroke-width:3px,font-weight:bold', `  class ${pivots.map((p) => p.id).join(',')} pivot`);
    for (const p of pivots) out.push(`  note left of ${p.id} : pivot, the point of no return (only forward from here)`);
  }
  // A child step runs a saga of its own: the note names it.
  for (const c of root.children) {
    const child = (c.config.meta as { child?: unknown } | undefined)?.child;
    if (typeof child === 'string') out.push(`  note right of ${c.id} : child saga ${child.replace(/[:;]/g, ' ')}`);
  }

  return `${out.join('\n')}\n`;
}

/** Builds the state tree and gives every state a Mermaid id. */
function indexStates(config: StateConfig): StateNode {
  const root: StateNode = { key: '', path: [], config, parent: null, children: [], id: '' };
  const build = (node: StateNode) => {
    for (const [key, child] of Object.entries(statesOf(node.config))) {
      const created: StateNode = { key, path: [...node.path, key], config: child, parent: node, children: [], id: '' };
      node.children.push(created);
      build(created);
    }
  };
  build(root);

  // A state with an id of its own (steps, rollback, …) and a unique key keeps its key; the
  // others (a step's `running`, a branch, a branch's `done`) are named after their parent.
  const counts = new Map<string, number>();
  walk(root, (n) => n !== root && counts.set(n.key, (counts.get(n.key) ?? 0) + 1));
  const used = new Set<string>();
  walk(root, (node) => {
    if (node === root) return;
    const local = sanitize(node.key);
    const own = node.parent === root || (typeof node.config.id === 'string' && counts.get(node.key) === 1);
    let id = own ? local : `${node.parent!.id}_${local}`;
    if (KEYWORD.test(id)) id = `_${id}`;
    let unique = id;
    for (let n = 2; used.has(unique); n++) unique = `${id}_${n}`;
    used.add(unique);
    node.id = unique;
  });
  return root;
}

/** Declares a state (and its children) in the block where it lives, with its entry parameters and its final marker. */
function declare(node: StateNode, out: string[], indent: string): void {
  const label = node.id === node.key ? null : `${indent}state "${node.key.replace(/"/g, "'")}" as ${node.id}`;
  if (node.children.length === 0) {
    const entry = entrySummary(node);
    // With a description Mermaid draws the name only when it is declared as a label first.
    out.push(label ?? (entry ? `${indent}state "${node.key}" as ${node.id}` : `${indent}${node.id}`));
    if (entry) out.push(`${indent}${node.id} : ${entry}`);
  } else {
    if (label) out.push(label);
    out.push(`${indent}state ${node.id} {`);
    const inner = `${indent}  `;
    if (node.config.type === 'parallel') {
      // One concurrent region per branch.
      node.children.forEach((child, i) => {
        if (i > 0) out.push(`${inner}--`);
        declare(child, out, inner);
      });
    } else {
      const initial = node.children.find((c) => c.key === node.config.initial);
      if (initial) out.push(`${inner}[*] --> ${initial.id}`);
      for (const child of node.children) declare(child, out, inner);
    }
    out.push(`${indent}}`);
  }
  if (node.config.type === 'final') out.push(`${indent}${node.id} --> [*]`);
}

/** Entry actions worth showing: those with parameters beyond the state's own name (a sleep's `ms`, a wait's `timeoutMs`). */
function entrySummary(node: StateNode): string | null {
  const shown = asArray(node.config.entry)
    .map((action) => (typeof action === 'object' && action !== null ? callOf(action as Named, node.path) : null))
    .filter((s): s is string => s !== null && s.includes('('));
  return shown.length > 0 ? `entry / ${shown.join(', ')}` : null;
}

type Named = { type?: unknown; params?: unknown };

/** Every transition a state declares, as [event label, transitions], in config order. */
function transitionsOf(config: StateConfig): [string, Transition[]][] {
  const out: [string, Transition[]][] = [];
  const on = (config.on ?? {}) as Record<string, unknown>;
  for (const [event, value] of Object.entries(on)) out.push([event, normalize(value)]);
  if (config.always !== undefined) out.push(['', normalize(config.always)]);
  if (config.onDone !== undefined) out.push(['onDone', normalize(config.onDone)]);
  const after = (config.after ?? {}) as Record<string, unknown>;
  for (const [delay, value] of Object.entries(after)) out.push([`after ${delay} ms`, normalize(value)]);
  return out;
}

function normalize(value: unknown): Transition[] {
  return asArray(value).map((t) => (typeof t === 'string' ? { target: t } : (t as Transition)));
}

/** Resolves a transition's targets: `#id` (optionally `#id.child`), a sibling key, or `.child` of the source. */
function targetsOf(root: StateNode, source: StateNode, t: Transition): StateNode[] {
  return asArray(t.target).map((target) => {
    const found = resolve(root, source, String(target));
    if (!found) throw new Error(`toMermaid: target "${String(target)}" of state "${source.path.join('.') || '(root)'}" names no state of the chart`);
    return found;
  });
}

function resolve(root: StateNode, source: StateNode, target: string): StateNode | undefined {
  const descend = (from: StateNode | undefined, rest: string) =>
    rest === '' ? from : rest.split('.').reduce<StateNode | undefined>((n, key) => n?.children.find((c) => c.key === key), from);
  if (target.startsWith('#')) {
    // Ids may hold dots, so take the longest id the target starts with.
    let best: StateNode | undefined;
    let bestId = '';
    walk(root, (node) => {
      const id = node.config.id;
      if (typeof id !== 'string' || id.length <= bestId.length) return;
      if (target === `#${id}` || target.startsWith(`#${id}.`)) {
        best = node;
        bestId = id;
      }
    });
    return best && descend(best, target.slice(bestId.length + 2));
  }
  if (target.startsWith('.')) return descend(source, target.slice(1));
  return descend(source.parent ?? root, target);
}

/** `event [guard(params)]`; params equal to the name of a state on the source's path (they only repeat the step) and null ones are left out. */
function labelOf(event: string, guard: unknown, path: string[]): string {
  const parts: string[] = [];
  if (event) parts.push(text(event));
  if (guard !== undefined) {
    const call = typeof guard === 'string' ? guard : typeof guard === 'object' && guard !== null ? callOf(guard as Named, path) : null;
    if (call) parts.push(`[${call}]`);
  }
  return parts.join(' ');
}

/** `name(a=1, b=x)`, or `name` when nothing is left to show. */
function callOf(named: Named, path: string[]): string | null {
  if (typeof named.type !== 'string') return null;
  const params = typeof named.params === 'object' && named.params !== null ? Object.entries(named.params as Record<string, unknown>) : [];
  const shown = params.filter(
    ([key, value]) => value !== null && !((key === 'step' || key === 'timer') && typeof value === 'string' && path.includes(value)),
  );
  if (shown.length === 0) return text(named.type);
  return text(`${named.type}(${shown.map(([key, value]) => `${key}=${short(value)}`).join(', ')})`);
}

function short(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(short).join(',')}]`;
  if (typeof value === 'object' && value !== null) return `{${Object.keys(value).join(',')}}`;
  return String(value);
}

function pathName(node: StateNode): string {
  return node.path.join('.');
}

function walk(node: StateNode, visit: (node: StateNode) => void): void {
  visit(node);
  for (const child of node.children) walk(child, visit);
}
