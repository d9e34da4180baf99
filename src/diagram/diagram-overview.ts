import type { StateConfig } from '../compilation/chart.js';
import type { KindDrawing } from '../kinds/kind.js';
import { kinds } from '../kinds/registry.js';
import { asArray, idAllocator, quoted, statesOf, text } from './mermaid-syntax.js';

/**
 * The overview diagram: what a person reads at a glance. It is drawn from the
 * compiled config alone (plain JSON); each step kind recognises and describes
 * its own states (`drawing` in src/kinds):
 * - the forward states sit in one "steps" box, each step labelled by its name,
 *   with what it does besides running in a second line (retries, waits, sleeps,
 *   "undone on rollback"); gotos are arrows labelled with their visit limit;
 * - every way out of the box to the rollback (a step that fails for good, a
 *   wait that times out, the readiness probe failing, a cancel) is one arrow;
 * - the rollback box holds one `undo <step>` state per compensation, newest
 *   first (the runtime undoes completed steps in reverse order of completion);
 * - the outcomes: completed, compensated, cancelled, failed (and its retry).
 */

type Transition = { target?: unknown; guard?: unknown; actions?: unknown };
type Named = { type?: unknown; params?: Record<string, unknown> };

interface Forward {
  key: string;
  id: string;
  /** 'readiness', 'parallel' (a box of branches), or a state of a step kind (`drawing` set) or of none. */
  kind: 'readiness' | 'parallel' | 'kind';
  /** How its kind draws it, if a kind owns it. */
  drawing: KindDrawing | undefined;
  config: StateConfig;
  /** The state holding its transitions: a compound state's initial child (a step's `running`), else the state itself. */
  body: StateConfig;
  /** Branches of a parallel group: each a list of states, in declaration order. */
  branches: { key: string; id: string; states: Forward[]; doneId: string | null }[];
}

interface Edge {
  from: string;
  to: string;
  label: string;
}

const INTERNAL = /^orsa:/;

export function overview(config: StateConfig): string {
  const allocate = idAllocator();
  const steps = allocate('steps');
  const rollback = allocate('rollback');
  const outcome = { completed: allocate('completed'), compensated: allocate('compensated'), cancelled: allocate('cancelled'), failed: allocate('failed') };
  const states = statesOf(config);
  const top = Object.entries(states)
    .filter(([, c]) => typeof c.id !== 'string' || !INTERNAL.test(c.id))
    .map(([key, c]) => forward(key, c, allocate));

  // Config ids → Mermaid ids: where an arrow that names `#s:X` or `#orsa:completed` lands.
  const byConfigId = new Map<string, string>([['orsa:completed', outcome.completed]]);
  const branchEnds = new Map<string, string>();
  const index = (list: Forward[]) => {
    for (const f of list) {
      if (typeof f.config.id === 'string') byConfigId.set(f.config.id, f.id);
      for (const b of f.branches) {
        index(b.states);
        if (b.doneId) branchEnds.set(b.doneId, b.id);
      }
    }
  };
  index(top);

  const out = ['---', `title: ${text(String(config.id ?? 'saga'))}`, '---', 'stateDiagram-v2'];
  const edges: Edge[] = [];
  out.push(`  [*] --> ${steps}`, `  state ${quoted('steps')} as ${steps}`, `  state ${steps} {`);
  const first = top.find((f) => f.key === config.initial);
  if (first) out.push(`    [*] --> ${first.id}`);
  for (const f of top) declare(f, out, '    ', edges, byConfigId, branchEnds);
  out.push('  }');

  const compensable = top.flatMap(compensableSteps);
  const hasCatch = Object.keys((states.settle?.on ?? {}) as object).includes('orsa.caught');
  out.push(`  state ${quoted('rollback — undo completed steps, newest first')} as ${rollback}`, `  state ${rollback} {`);
  if (compensable.length === 0) {
    const none = allocate('nothing to undo');
    out.push(`    state ${quoted('nothing to undo')} as ${none}`, `    [*] --> ${none}`, `    ${none} --> [*]`);
  } else {
    const undo = [...compensable].reverse().map((step) => ({ step, id: allocate(`undo ${step}`) }));
    for (const u of undo) out.push(`    state ${quoted(`undo ${u.step}`)} as ${u.id}`);
    out.push(`    [*] --> ${undo[0]!.id}`);
    for (let i = 1; i < undo.length; i++) out.push(`    ${undo[i - 1]!.id} --> ${undo[i]!.id}`);
    out.push(`    ${undo[undo.length - 1]!.id} --> [*]`);
  }
  out.push('  }');

  out.push(`  state ${quoted('failed — needs an operator')} as ${outcome.failed}`);
  for (const edge of edges) out.push(`  ${edge.from} --> ${edge.to}${edge.label ? ` : ${text(edge.label)}` : ''}`);
  out.push(`  ${steps} --> ${rollback} : a step fails for good, or cancel`);
  let after = rollback;
  if (hasCatch) {
    after = allocate('catch handler');
    out.push(`  state ${quoted('catch handler')} as ${after}`, `  ${rollback} --> ${after}`);
  }
  // The pivot (the point of no return) stands out, so a reader sees where rollback stops being possible.
  const pivots = top.filter(isPivot);
  if (pivots.length > 0) out.push('  classDef pivot stroke-width:3px,font-weight:bold', `  class ${pivots.map((p) => p.id).join(',')} pivot`);
  out.push(
    `  ${after} --> ${outcome.compensated} : all undone`,
    `  ${after} --> ${outcome.cancelled} : all undone after a cancel`,
    `  ${after} --> ${outcome.failed} : an undo fails for good`,
    `  ${outcome.failed} --> ${rollback} : retry compensation`,
    `  ${outcome.completed} --> [*]`,
    `  ${outcome.compensated} --> [*]`,
    `  ${outcome.cancelled} --> [*]`,
  );
  return `${out.join('\n')}\n`;
}

function forward(key: string, config: StateConfig, allocate: (wanted: string) => string): Forward {
  const kind = config.type === 'parallel' ? 'parallel' : asArray(config.tags).includes('orsa.readiness') ? 'readiness' : 'kind';
  const drawing = kind === 'kind' ? kinds.kinds.find((k) => k.drawing?.owns(config))?.drawing : undefined;
  const body = kind === 'kind' && typeof config.initial === 'string' ? (statesOf(config)[config.initial] ?? config) : config;
  const node: Forward = { key, id: allocate(key), kind, drawing, config, body, branches: [] };
  if (kind === 'parallel') {
    for (const [branchKey, branch] of Object.entries(statesOf(config))) {
      const inner = Object.entries(statesOf(branch));
      const done = inner.find(([, c]) => c.type === 'final');
      node.branches.push({
        key: branchKey,
        id: allocate(`${key} ${branchKey}`),
        states: inner.filter(([, c]) => c.type !== 'final').map(([k, c]) => forward(k, c, allocate)),
        doneId: done && typeof done[1].id === 'string' ? done[1].id : null,
      });
    }
  }
  return node;
}

/** Declares a forward state in its block, and collects its arrows (those to a branch's end are written in the branch). */
function declare(f: Forward, out: string[], indent: string, edges: Edge[], byConfigId: Map<string, string>, branchEnds: Map<string, string>): void {
  if (f.kind === 'parallel') {
    out.push(`${indent}state ${quoted(f.key)} as ${f.id}`, `${indent}state ${f.id} {`);
    f.branches.forEach((branch, i) => {
      if (i > 0) out.push(`${indent}  --`);
      out.push(`${indent}  state ${quoted(branch.key)} as ${branch.id}`, `${indent}  state ${branch.id} {`);
      const inner = `${indent}    `;
      if (branch.states[0]) out.push(`${inner}[*] --> ${branch.states[0].id}`);
      const local: Edge[] = [];
      for (const s of branch.states) declare(s, out, inner, local, byConfigId, branchEnds);
      for (const e of local) {
        // The branch's end is its own [*]: that arrow must be written inside the branch.
        if (e.to === `[*]${branch.id}`) out.push(`${inner}${e.from} --> [*]${e.label ? ` : ${text(e.label)}` : ''}`);
        else edges.push(e);
      }
      out.push(`${indent}  }`);
    });
    out.push(`${indent}}`);
  } else {
    out.push(`${indent}state ${quoted(f.kind === 'readiness' ? 'readiness check' : f.key)} as ${f.id}`);
    const about = describe(f);
    if (about) out.push(`${indent}${f.id} : ${text(about)}`);
  }
  for (const { target, label } of exits(f)) {
    if (target.startsWith('#orsa:rollback')) continue; // drawn once, from the steps box
    const configId = target.slice(1);
    const branch = branchEnds.get(configId);
    const to = branch ? `[*]${branch}` : byConfigId.get(configId);
    if (to) edges.push({ from: f.id, to, label });
  }
}

/** Where a forward state goes when it does not fail, and what the arrow says. */
function exits(f: Forward): { target: string; label: string }[] {
  // Every child of a kind's compound state: the way on may leave from a child other than the first (a map's `running`).
  const bodies = f.kind === 'kind' && f.config.states ? [f.body, ...Object.values(statesOf(f.config)).filter((c) => c !== f.body)] : [f.body];
  const out: { target: string; label: string }[] = [];
  const transitions: Transition[] = [
    ...bodies.flatMap((config) => [
      ...Object.values((config.on ?? {}) as Record<string, unknown>).flatMap((v) => asArray(v) as Transition[]),
      ...(asArray(config.always) as Transition[]),
    ]),
    ...(asArray(f.config.onDone) as Transition[]),
  ];
  for (const t of transitions) {
    for (const target of asArray(t.target)) {
      if (typeof target !== 'string' || !target.startsWith('#')) continue; // a retry's own running ⇄ retrying
      const guard = (typeof t.guard === 'object' && t.guard !== null ? t.guard : {}) as Named;
      const label = f.drawing?.label?.(guard, f.key) ?? '';
      if (!out.some((o) => o.target === target && o.label === label)) out.push({ target, label });
    }
  }
  return out;
}

/** The second line of a state: what it does besides running its function. */
function describe(f: Forward): string {
  const parts: string[] = [];
  const own = f.drawing?.describe?.(f.config);
  if (own) parts.push(own);
  if (compensableSteps(f).includes(f.key)) parts.push('undone on rollback');
  if (isPivot(f)) parts.push('pivot — no rollback after it');
  return parts.join(' · ');
}

/** Steps whose completion is logged for compensation, in declaration order. */
function compensableSteps(f: Forward): string[] {
  if (f.kind === 'parallel') return f.branches.flatMap((b) => b.states.flatMap(compensableSteps));
  // A state that says so itself (a map, whose items' executions are logged, not its own).
  if ((f.config.meta as { compensable?: unknown } | undefined)?.compensable === true) return [f.key];
  const config = f.body;
  const done = asArray(((config.on ?? {}) as Record<string, unknown>)[`orsa.done.${f.key}`]) as Transition[];
  const compensable = done.some((t) => asArray(t.actions).some((a) => (a as Named)?.type === 'complete' && (a as Named).params?.compensable === true));
  return compensable ? [f.key] : [];
}

function isPivot(f: Forward): boolean {
  return (f.config.meta as { pivot?: boolean } | undefined)?.pivot === true;
}
