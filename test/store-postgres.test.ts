import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { StoreConfigError } from '../src/stores/errors.js';
import { POSTGRES_MIGRATIONS } from '../src/stores/postgres/migrations.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { runStoreConformance } from '../src/testing/store-conformance.js';

// On a machine without PostgreSQL these specs skip, saying so; in CI (env CI set) they must run,
// so a missing URL or an unreachable server fails them instead.
const url = process.env.ORSA_TEST_PG_URL;
const ci = Boolean(process.env.CI);
if (!url && !ci) {
  console.warn('PostgresStore specs skipped: set ORSA_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run them');
}

/** The server URL; in CI without one, the specs fail here. */
function requireUrl(): string {
  if (!url) throw new Error('ORSA_TEST_PG_URL is not set, and CI is: PostgreSQL specs must run in CI; set it to the test server URL');
  return url;
}

describe.skipIf(!url && !ci)('PostgreSQL', () => {
  runStoreConformance('PostgresStore', async () => {
    const url = requireUrl();
    const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 5_000 });
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      await pool.end();
      const where = new URL(url);
      where.password = where.password && '***';
      throw new Error(`cannot reach PostgreSQL at ${where.href} (ORSA_TEST_PG_URL): start the server or fix the URL`, { cause: error });
    }
    // A schema of its own per run, so that runs sharing the database never meet.
    const schema = `orsa_test_${randomBytes(6).toString('hex')}`;
    return {
      store: new PostgresStore({ pool, schema }),
      cleanup: async () => {
        try {
          await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await pool.end();
        }
      },
    };
  });
});

describe.skipIf(!url && !ci)('PostgresStore options', () => {
  const freshSchema = () => `orsa_test_${randomBytes(6).toString('hex')}`;
  beforeAll(requireUrl);

  it('creates one schema when several processes init it at once', async () => {
    const schema = freshSchema();
    const stores = Array.from({ length: 6 }, () => new PostgresStore({ connectionString: url, schema }));
    const admin = new pg.Pool({ connectionString: url, max: 1 });
    try {
      await Promise.all(stores.map((store) => store.init()));
      const { rows } = await admin.query(`SELECT version FROM "${schema}".orsa_migrations ORDER BY version`);
      // Each migration applied exactly once, however many processes raced.
      expect(rows).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version })));
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  });

  it('leaves a pool it was given open after close()', async () => {
    const schema = freshSchema();
    const pool = new pg.Pool({ connectionString: url });
    try {
      const store = new PostgresStore({ pool, schema });
      await store.init();
      await store.close();
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  });

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => new PostgresStore({ connectionString: url, schema: 'orsa"; DROP TABLE x; --' })).toThrow(StoreConfigError);
  });
});
