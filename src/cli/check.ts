/**
 * `orsa check <module> [export]`: loads a compiled module, explores every
 * saga it exports (or the one named) and prints what `explore` found. Exit
 * code 0 when no violation, 1 when some (or when `maxStates` cut the search
 * short: not every path was checked), 2 when the module gives no saga.
 */
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SagaDefinition } from '../interpretation/definition.js';
import { explore, type ExploreOptions } from '../testing/explore.js';
import { formatReport } from '../testing/explore-report.js';
import type { Output } from './commands.js';

/** What a module may export for `orsa check`: a built saga, or a saga with the options to explore it with. */
type Checkable = SagaDefinition<any, any> | { saga: SagaDefinition<any, any>; options?: ExploreOptions<any> };

// Duck-typed: the module may load its own copy of orsa (ESM beside CJS), where instanceof fails.
const isSaga = (value: unknown): value is SagaDefinition<any, any> =>
  !!value && typeof value === 'object' && 'compiled' in value && 'declaration' in value && 'machine' in value;

function asCheckable(value: unknown): { saga: SagaDefinition<any, any>; options: ExploreOptions<any> } | null {
  if (isSaga(value)) return { saga: value, options: {} };
  const pair = value as Exclude<Checkable, SagaDefinition<any, any>> | null;
  if (pair && typeof pair === 'object' && isSaga(pair.saga)) return { saga: pair.saga, options: pair.options ?? {} };
  return null;
}

/**
 * Runs `orsa check`.
 *
 * @example
 * ```ts
 * const code = await runCheck(['dist/sagas.js', 'order'], { log: console.log, error: console.error });
 * ```
 */
export async function runCheck(args: string[], out: Output): Promise<number> {
  const [file, name] = args;
  if (!file) {
    out.error('orsa check: name the module to check: orsa check <module.js> [export]');
    return 2;
  }
  const path = resolve(file);
  if (!existsSync(path)) {
    out.error(`orsa check: no file at ${path}; pass the path of a module that exports your sagas`);
    return 2;
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    const ts = ['.ts', '.mts', '.cts', '.tsx'].includes(extname(path));
    out.error(
      ts
        ? `orsa check: cannot load ${file} (${(error as Error).message}); Node does not run TypeScript by itself: compile it (tsc, esbuild) and check the .js, or run the CLI through tsx: npx tsx node_modules/orsa/dist/cli.js check ${file}`
        : `orsa check: cannot load ${file}: ${(error as Error).message}`,
    );
    return 2;
  }
  const entries = name === undefined ? Object.entries(module) : [[name, module[name]] as const];
  const checks = entries.flatMap(([key, value]) => {
    const c = asCheckable(value);
    return c ? [{ key, ...c }] : [];
  });
  if (checks.length === 0) {
    out.error(
      name === undefined
        ? `orsa check: ${file} exports no saga; export a built saga (saga(...).build()) or { saga, options }`
        : `orsa check: ${file} has no saga exported as "${name}" (exports: ${Object.keys(module).join(', ') || 'none'}); name one of them`,
    );
    return 2;
  }
  let violations = 0;
  let truncated = false;
  for (const check of checks) {
    try {
      const report = await explore(check.saga, check.options);
      violations += report.violations.length;
      truncated ||= report.truncated;
      out.log(`${check.key}: ${formatReport(report)}`);
    } catch (error) {
      out.error(`orsa check: ${check.key}: ${(error as Error).message}`);
      return 2;
    }
  }
  // A search cut short verified nothing about the states it left: fail, as the matcher does.
  return violations > 0 || truncated ? 1 : 0;
}
