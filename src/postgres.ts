/**
 * `orsa/postgres`: the PostgreSQL store (needs pg).
 *
 * @example
 * ```ts
 * import { PostgresStore } from 'orsa/postgres';
 * const store = new PostgresStore({ connectionString: process.env.DATABASE_URL });
 * await store.init();
 * ```
 */
export { PostgresStore, type PostgresStoreOptions } from './stores/postgres/store.js';
