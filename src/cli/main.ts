#!/usr/bin/env node
/**
 * `orsa`: look at and steer stored sagas, in a SQLite file or a PostgreSQL
 * database. It never runs step code: resume, cancel and retry are stored as
 * events that the workers running those sagas pick up.
 */
import { parseArgs } from 'node:util';
import type { SagaStore } from '../store/types.js';
import { runCommand, type Output } from './commands.js';

const USAGE = `usage: orsa <command> [options]

commands:
  list                 sagas, most recently updated first   [--status S[,S]] [--saga NAME] [--limit N]
  show <id>            one saga: its state and its steps as a timeline
  resume <id>          ask the workers to pick the saga up now (e.g. after fixing its cause)
  cancel <id>          cancel: abort the running step, compensate what completed
  retry <id>           retry the compensation of a saga that ended failed
  check <module> [export]  explore every failure path of the sagas a .js module exports; exit 1 on violations or a truncated search

options:
  --db PATH            SQLite file (default .orsa/orsa.db, or $ORSA_DB)
  --pg URL             PostgreSQL URL instead (or $ORSA_PG_URL)   [--schema NAME, default orsa]
  --json               machine-readable output
  -h, --help           this text`;

async function openStore(values: { db?: string; pg?: string; schema?: string }): Promise<SagaStore> {
  const pg = values.pg ?? process.env.ORSA_PG_URL;
  if (pg) {
    const { PostgresStore } = await import('../store/postgres.js');
    return new PostgresStore({ connectionString: pg, ...(values.schema ? { schema: values.schema } : {}) });
  }
  const { SqliteStore } = await import('../store/sqlite.js');
  const path = values.db ?? process.env.ORSA_DB ?? '.orsa/orsa.db';
  const { existsSync } = await import('node:fs');
  if (path !== ':memory:' && !existsSync(path)) {
    throw new Error(`no SQLite file at ${path}; pass --db PATH (or --pg URL for PostgreSQL)`);
  }
  return new SqliteStore({ path });
}

export async function main(argv: string[], out: Output = { log: (s) => console.log(s), error: (s) => console.error(s) }): Promise<number> {
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
        limit: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    out.error(`orsa: ${(error as Error).message}\n\n${USAGE}`);
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
  let store: SagaStore | undefined;
  try {
    store = await openStore(values);
    await store.init();
    return await runCommand(store, command, id, values, out);
  } catch (error) {
    out.error(`orsa: ${(error as Error).message}`);
    return 1;
  } finally {
    await store?.close().catch(() => {});
  }
}

const invokedDirectly = process.argv[1] && /(?:^|[\\/])(?:orsa|cli(?:\.c?js)?|main\.ts)$/.test(process.argv[1]);
if (invokedDirectly) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
