#!/usr/bin/env node
/**
 * `orsa`: look at and steer stored sagas, in a SQLite file or a PostgreSQL
 * database. It never runs step code: resume, cancel and retry are stored as
 * events that the workers running those sagas pick up.
 */
import { parseArgs } from 'node:util';
import type { SagaStore } from '../stores/types.js';
import { runCommand, type Output } from './commands.js';
import { openExistingStore } from './open-store.js';
import { clean } from './terminal.js';
import { watch } from './watch.js';

const USAGE = `usage: orsa <command> [options]

commands:
  list                 sagas, most recently updated first   [--status S[,S]] [--saga NAME] [--parent ID] [--limit N] [--watch]
  show <id>            one saga: state, input, results, parent and children, pending events, timeline   [--full] [--watch]
  resume <id>          ask the workers to pick the saga up now (e.g. after fixing its cause)
  cancel <id>          cancel: abort the running step, compensate what completed
  retry <id>           retry the compensation of a saga that ended failed
  schedules            the stored schedules: cron, time zone, last and next tick   [--json] [--full]
  schedules remove <name>  remove a schedule: no worker fires it again (sagas it started run on)
  dashboard            serve a web page to watch and steer sagas   [--host 127.0.0.1] [--port 7070] [--sagas MODULE]
  inspect <id>         replay a saga into the Stately inspector and follow it   --url ws://HOST:PORT [--sagas MODULE]
  check <module> [export]  explore every failure path of the sagas a .js module exports; exit 1 on violations or a truncated search

options:
  --db PATH            SQLite file (default .orsa/orsa.db, or $ORSA_DB)
  --pg URL             PostgreSQL URL instead (or $ORSA_PG_URL)   [--schema NAME, default orsa]
  --json               machine-readable output
  --full               show results and payloads whole (default: cut to 120 characters)
  --watch              print again every --interval-ms (default 1000) until Ctrl-C (show: until the saga ends)
  --sagas MODULE       a JS module exporting saga definitions: the dashboard and inspector draw their charts
  -h, --help           this text`;

/** Options of {@link main} beyond its arguments. */
export interface MainOptions {
  /** Ends `--watch`, `dashboard` and `inspect`. Default: Ctrl-C (SIGINT) or SIGTERM. */
  signal?: AbortSignal;
  /** Called with the dashboard's URL once it listens (tests read it). */
  onListening?: (url: string) => void;
}

/**
 * Runs the `orsa` CLI with these arguments and returns its exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['show', 'order-1', '--db', 'sagas.db']);
 * ```
 */
export async function main(argv: string[], out: Output = { log: (s) => console.log(s), error: (s) => console.error(s) }, options: MainOptions = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        db: { type: 'string' },
        pg: { type: 'string' },
        schema: { type: 'string' },
        status: { type: 'string' },
        saga: { type: 'string' },
        parent: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean', default: false },
        full: { type: 'boolean', default: false },
        watch: { type: 'boolean', default: false },
        'interval-ms': { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        sagas: { type: 'string' },
        url: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    out.error(`orsa: ${clean((error as Error).message)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, id] = positionals;
  if (values.help || !command) {
    (values.help ? out.log : out.error)(USAGE);
    return values.help ? 0 : 2;
  }
  if (command === 'check') {
    const { runCheck } = await import('./check.js');
    return runCheck(positionals.slice(1), out);
  }
  const intervalMs = values['interval-ms'] === undefined ? 1000 : Number(values['interval-ms']);
  if (!Number.isInteger(intervalMs) || intervalMs < 50) {
    out.error('orsa: --interval-ms takes a whole number of milliseconds >= 50');
    return 2;
  }
  const longRunning = command === 'dashboard' || command === 'inspect' || values.watch;
  const signal = options.signal ?? (longRunning ? untilInterrupted() : new AbortController().signal);
  let store: SagaStore | undefined;
  try {
    store = await openExistingStore(values);
    if (command === 'dashboard') {
      const { runDashboard } = await import('./dashboard/command.js');
      return await runDashboard(store, { ...values, signal, out, ...(options.onListening ? { onListening: options.onListening } : {}) });
    }
    if (command === 'inspect') {
      const { runInspect } = await import('./inspect.js');
      return await runInspect(store, id, { ...values, intervalMs, signal, out });
    }
    if (command === 'schedules') {
      const { schedulesText } = await import('./schedules.js');
      const { code, text } = await schedulesText(store, positionals.slice(1), values);
      (code === 0 ? out.log : out.error)(text);
      return code;
    }
    if (values.watch && (command === 'list' || command === 'show')) return await watch(store, command, id, values, { intervalMs, signal, out });
    return await runCommand(store, command, id, values, out);
  } catch (error) {
    out.error(`orsa: ${clean((error as Error).message)}`);
    return 1;
  } finally {
    await store?.close().catch(() => {});
  }
}

function untilInterrupted(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

const invokedDirectly = process.argv[1] && /(?:^|[\\/])(?:orsa|cli(?:\.c?js)?|main\.ts)$/.test(process.argv[1]);
if (invokedDirectly) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
