/**
 * `orsa/sqlite`: the SQLite store (needs better-sqlite3).
 *
 * @example
 * ```ts
 * import { SqliteStore } from 'orsa/sqlite';
 * const store = new SqliteStore({ path: '.orsa/orsa.db' });
 * await store.init();
 * ```
 */
export { SqliteStore, type SqliteStoreOptions } from './stores/sqlite/store.js';
