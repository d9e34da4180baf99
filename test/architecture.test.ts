import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The shape of src/, read from the source with the TypeScript parser: which
 * folder imports which (values only: `import type` is erased), how long each
 * module is, and what the pure folders import. Each rule is a function of the
 * parsed modules, so the last test can show each one failing on a made-up
 * module graph.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/**
 * The folders in the order values may be imported: a folder imports values
 * only from the folders before it. Root modules are entry points (`index.ts`,
 * `sqlite.ts`, `saga.ts`…) and may import anything; `errors.ts` belongs to
 * `errors`.
 */
export const LAYERS = ['errors', 'compilation', 'kinds', 'declaration', 'diagram', 'observe', 'interpretation', 'stores', 'durable', 'testing', 'cli', '(entry)'] as const;

/** Folders that must run anywhere XState runs: no `node:*`, no store, no database driver, not even through what they import. */
const PURE = ['declaration', 'compilation', 'kinds', 'diagram'];
const MAX_LINES = 300;
/**
 * Modules over the limit whose split is under way on another branch (the lead merges it):
 * the test fails once one is short enough, so the entry is removed then.
 */
const SPLIT_UNDER_WAY = new Map<string, string>([]);

interface Import {
  /** The module imported: a path relative to src/ (`kinds/step.ts`) or a package (`node:fs`, `pg`). */
  target: string;
  /** False for `import type` / `export type` (erased from the JavaScript). */
  value: boolean;
  line: number;
}

interface Module {
  path: string;
  lines: number;
  imports: Import[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Whether a module specifier's import keeps a runtime import (`verbatimModuleSyntax`: `import { type A }` keeps `import {} from`). */
function isValueImport(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isImportDeclaration(node)) return !node.importClause?.isTypeOnly;
  return !node.isTypeOnly;
}

function parse(file: string): Module {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const path = relative(SRC, file).split(sep).join('/');
  const imports: Import[] = [];
  const add = (specifier: string, value: boolean, node: ts.Node) => {
    const target = specifier.startsWith('.') ? relative(SRC, resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))).split(sep).join('/') : specifier;
    imports.push({ target, value, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, isValueImport(node), node);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      add(node.arguments[0].text, true, node); // a dynamic import() loads the module too, later
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, false, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { path, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0), imports };
}

/** The folder (layer) of a module path relative to src/. */
export function layerOf(path: string): string {
  const parts = path.split('/');
  if (parts.length > 1) return parts[0]!;
  return path === 'errors.ts' ? 'errors' : '(entry)';
}

/** Value imports from one folder into another that the layer order forbids. */
export function layerViolations(modules: Module[]): string[] {
  const out: string[] = [];
  for (const m of modules) {
    const from = LAYERS.indexOf(layerOf(m.path) as never);
    for (const i of m.imports) {
      if (!i.value || !modules.some((o) => o.path === i.target)) continue;
      const to = LAYERS.indexOf(layerOf(i.target) as never);
      if (from === -1 || to === -1) out.push(`src/${m.path}:${i.line} imports src/${i.target}: add its folder to LAYERS`);
      else if (to > from) out.push(`src/${m.path}:${i.line} imports src/${i.target}, but ${layerOf(m.path)} comes before ${layerOf(i.target)} (${LAYERS.join(' → ')})`);
    }
  }
  return out;
}

/** The cycles of value imports between folders, each as `a → b → a` with one import per arrow. */
export function folderCycles(modules: Module[]): string[] {
  const edges = new Map<string, Map<string, string>>();
  for (const m of modules) {
    for (const i of m.imports) {
      const [a, b] = [layerOf(m.path), layerOf(i.target)];
      if (!i.value || a === b || !modules.some((o) => o.path === i.target)) continue;
      if (!edges.has(a)) edges.set(a, new Map());
      if (!edges.get(a)!.has(b)) edges.get(a)!.set(b, `src/${m.path}:${i.line}`);
    }
  }
  const cycles = new Set<string>();
  const walk = (at: string, path: string[]) => {
    for (const [next, where] of edges.get(at) ?? []) {
      const seen = path.indexOf(next);
      if (seen !== -1) {
        const loop = [...path.slice(seen), next];
        const key = [...loop.slice(0, -1)].sort().join(',');
        if (![...cycles].some((c) => c.startsWith(`${key}|`))) cycles.add(`${key}|${loop.join(' → ')} (last arrow: ${where})`);
      } else walk(next, [...path, next]);
    }
  };
  for (const start of edges.keys()) walk(start, [start]);
  return [...cycles].map((c) => c.slice(c.indexOf('|') + 1));
}

/** Modules over {@link MAX_LINES} lines (and allowances that are no longer needed). */
export function longModules(modules: Module[], allowed: ReadonlyMap<string, string> = SPLIT_UNDER_WAY): string[] {
  const out: string[] = [];
  for (const m of modules) {
    if (m.lines > MAX_LINES && !allowed.has(m.path)) out.push(`src/${m.path} has ${m.lines} lines (at most ${MAX_LINES}): split it by job`);
    if (m.lines <= MAX_LINES && allowed.has(m.path)) out.push(`src/${m.path} has ${m.lines} lines now: remove it from SPLIT_UNDER_WAY`);
  }
  return out;
}

/** What a pure folder reaches, through value imports, that does not run in a browser: `node:*`, a store, a driver. */
export function impurities(modules: Module[]): string[] {
  const byPath = new Map(modules.map((m) => [m.path, m]));
  const out: string[] = [];
  for (const m of modules.filter((m) => PURE.includes(layerOf(m.path)))) {
    // Direct imports, type imports included: a type from node:* or a store has no business in a pure folder either.
    for (const i of m.imports) {
      if (i.target.startsWith('node:') || layerOf(i.target) === 'stores' || ['pg', 'better-sqlite3'].includes(i.target)) {
        out.push(`src/${m.path}:${i.line} imports ${i.target}; ${layerOf(m.path)} must run anywhere XState runs`);
      }
    }
    // And what it loads through other modules.
    const seen = new Set<string>([m.path]);
    const queue: { path: string; via: string[] }[] = [{ path: m.path, via: [] }];
    while (queue.length > 0) {
      const { path, via } = queue.shift()!;
      for (const i of byPath.get(path)?.imports ?? []) {
        if (!i.value) continue;
        const chain = [...via, `src/${path}`];
        if (via.length > 0 && (i.target.startsWith('node:') || layerOf(i.target) === 'stores' || ['pg', 'better-sqlite3'].includes(i.target))) {
          out.push(`src/${m.path} loads ${i.target} through ${chain.join(' → ')}`);
        }
        if (byPath.has(i.target) && !seen.has(i.target)) {
          seen.add(i.target);
          queue.push({ path: i.target, via: chain });
        }
      }
    }
  }
  return out;
}

const modules = sourceFiles(SRC).map(parse);

describe('architecture of src/', () => {
  it('reads every module and its imports (the rules below have something to check)', () => {
    expect(modules.length).toBeGreaterThan(100);
    const registry = modules.find((m) => m.path === 'kinds/registry.ts')!;
    expect(registry.imports.filter((i) => i.value).map((i) => i.target)).toEqual(
      expect.arrayContaining(['kinds/step.ts', 'kinds/parallel.ts', 'kinds/wait.ts', 'kinds/sleep.ts']),
    );
    expect(modules.find((m) => m.path === 'interpretation/step-runner.ts')!.imports).toContainEqual(expect.objectContaining({ target: 'interpretation/definition.ts', value: false }));
  });

  it('has no cycle of value imports between folders', () => {
    expect(folderCycles(modules)).toEqual([]);
  });

  it(`imports values only along the layers: ${LAYERS.join(' → ')}`, () => {
    expect(layerViolations(modules)).toEqual([]);
  });

  it(`has no module over ${MAX_LINES} lines`, () => {
    expect(longModules(modules)).toEqual([]);
  });

  it(`keeps ${PURE.join(', ')} free of node:*, stores and drivers, directly or through what they import`, () => {
    expect(impurities(modules)).toEqual([]);
  });

  it('each rule fails on a module graph that breaks it', () => {
    const m = (path: string, lines: number, ...imports: [string, boolean][]): Module => ({ path, lines, imports: imports.map(([target, value]) => ({ target, value, line: 1 })) });
    const graph = [
      m('declaration/definition.ts', 10, ['interpretation/execution.ts', true]),
      m('interpretation/execution.ts', 10, ['declaration/definition.ts', true]),
      m('interpretation/effects.ts', 10, ['declaration/definition.ts', false]),
      m('compilation/compile.ts', 301, ['node:crypto', false], ['kinds/step.ts', true]),
      m('kinds/step.ts', 20, ['stores/sqlite/store.ts', true]),
      m('stores/sqlite/store.ts', 20, ['better-sqlite3', true]),
    ];
    expect(folderCycles(graph)).toEqual([expect.stringMatching(/^(declaration → interpretation → declaration|interpretation → declaration → interpretation) \(last arrow: src\//)]);
    expect(layerViolations(graph)).toEqual([
      expect.stringContaining('src/declaration/definition.ts:1 imports src/interpretation/execution.ts, but declaration comes before interpretation'),
      expect.stringContaining('src/compilation/compile.ts:1 imports src/kinds/step.ts, but compilation comes before kinds'),
      expect.stringContaining('src/kinds/step.ts:1 imports src/stores/sqlite/store.ts, but kinds comes before stores'),
    ]);
    expect(longModules(graph, new Map([['kinds/step.ts', 'a split under way']]))).toEqual([
      'src/compilation/compile.ts has 301 lines (at most 300): split it by job',
      'src/kinds/step.ts has 20 lines now: remove it from SPLIT_UNDER_WAY',
    ]);
    expect(impurities(graph)).toEqual([
      expect.stringContaining('src/compilation/compile.ts:1 imports node:crypto'),
      'src/compilation/compile.ts loads stores/sqlite/store.ts through src/compilation/compile.ts → src/kinds/step.ts',
      'src/compilation/compile.ts loads better-sqlite3 through src/compilation/compile.ts → src/kinds/step.ts → src/stores/sqlite/store.ts',
      expect.stringContaining('src/kinds/step.ts:1 imports stores/sqlite/store.ts'),
      'src/kinds/step.ts loads better-sqlite3 through src/kinds/step.ts → src/stores/sqlite/store.ts',
    ]);
  });
});
