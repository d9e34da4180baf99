import { existsSync } from 'node:fs';
import { StoreNotFoundError } from '../errors.js';
import type { SagaStore } from '../stores/types.js';

/** Where the CLI and the dashboard read sagas from. */
export interface StoreLocation {
  /** SQLite file. Default `.orsa/orsa.db`, or `$ORSA_DB`. */
  db?: string | undefined;
  /** PostgreSQL URL (or `$ORSA_PG_URL`); wins over `db`. */
  pg?: string | undefined;
  /** PostgreSQL schema. Default `orsa`. */
  schema?: string | undefined;
}

/**
 * Opens an existing orsa store for operators: it never creates a database,
 * a schema or tables (a mistyped `--schema` must not leave an empty one
 * behind); a missing one is an error that says what to pass.
 *
 * @example
 * ```ts
 * const store = await openExistingStore({ pg: 'postgresql://localhost/app', schema: 'orsa' });
 * ```
 */
export async function openExistingStore(where: StoreLocation): Promise<SagaStore> {
  const pg = where.pg ?? process.env.ORSA_PG_URL;
  if (pg) {
    const schema = where.schema ?? 'orsa';
    await assertPostgresSchema(pg, schema);
    const { PostgresStore } = await import('../stores/postgres/store.js');
    const store = new PostgresStore({ connectionString: pg, schema });
    await store.init(); // the tables exist: this only checks their version
    return store;
  }
  const path = where.db ?? process.env.ORSA_DB ?? '.orsa/orsa.db';
  if (path !== ':memory:' && !existsSync(path)) {
    throw new StoreNotFoundError(`no SQLite file at ${path}; pass --db PATH (or --pg URL for PostgreSQL)`);
  }
  if (path !== ':memory:') await assertSqliteTables(path);
  const { SqliteStore } = await import('../stores/sqlite/store.js');
  const store = new SqliteStore({ path });
  await store.init();
  return store;
}

/** Looks for orsa's tables without writing: init() on a file without them would add them to someone else's database. */
async function assertSqliteTables(path: string): Promise<void> {
  const { default: Database } = await import('better-sqlite3');
  let found: unknown;
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      found = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'orsa_sagas'").get();
    } finally {
      db.close();
    }
  } catch (error) {
    throw new StoreNotFoundError(`cannot read ${path} as a SQLite database (${(error as Error).message}); pass the file your workers use with --db PATH`, { cause: error });
  }
  if (!found) {
    throw new StoreNotFoundError(`the SQLite file ${path} holds no orsa tables (nothing was created); pass the file your workers use with --db PATH, or start a runtime with a SqliteStore on it once to create them`,
    );
  }
}

async function assertPostgresSchema(url: string, schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ sagas: string | null }>('SELECT to_regclass($1) AS sagas', [`"${schema.replaceAll('"', '""')}".sagas`]);
    if (!rows[0]?.sagas) {
      throw new StoreNotFoundError(`PostgreSQL schema "${schema}" holds no orsa tables (nothing was created); pass the schema your workers use with --schema NAME (default orsa), ` +
          'or start a runtime with a PostgresStore once to create them',
      );
    }
  } finally {
    await client.end();
  }
}
