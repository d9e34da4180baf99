import type pg from 'pg';
import { pendingMigrations } from '../migrations.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';

/** Creates or migrates the schema, in one transaction that concurrent inits (of every process) wait for. */
export async function initSchema(pool: pg.Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    // Serializes concurrent inits (of every process) on this schema; released at commit.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`orsa.migrations:${schema}`]);
    await migrate(client, schema);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Creates what is missing and applies pending migrations. Existence is
 * checked before each CREATE because CREATE … IF NOT EXISTS still demands
 * the CREATE privilege: a role with plain read/write rights can then init
 * a schema that an administrator migrated.
 */
async function migrate(client: pg.PoolClient, schema: string): Promise<void> {
  const q = `"${schema}"`;
  const found = await client.query<{ hasSchema: boolean; hasTable: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS "hasSchema", to_regclass($2) IS NOT NULL AS "hasTable"`,
    [schema, `${q}.orsa_migrations`],
  );
  const { hasSchema, hasTable } = found.rows[0]!;
  if (!hasSchema) await client.query(`CREATE SCHEMA ${q}`);
  if (!hasTable) {
    await client.query(`CREATE TABLE ${q}.orsa_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
  }
  const applied = await client.query<{ version: number }>(`SELECT version FROM ${q}.orsa_migrations`);
  const versions = applied.rows.map((row) => row.version);
  for (const migration of pendingMigrations(POSTGRES_MIGRATIONS, versions, `PostgreSQL schema ${q}`)) {
    for (const statement of migration.up) await client.query(statement.replaceAll('{schema}', q));
    await client.query(`INSERT INTO ${q}.orsa_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
  }
}
