import { StoreError } from './types.js';

/**
 * A store was used before `init()` resolved, or after `close()`.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * await store.get('a'); // rejects with StoreNotReadyError: call `await store.init()` first
 * ```
 */
export class StoreNotReadyError extends StoreError {
  constructor(store: string, state: 'uninitialized' | 'closed') {
    super(
      'STORE_NOT_READY',
      state === 'closed'
        ? `${store} was closed; create a new store (and call \`await store.init()\`) to use it again`
        : `${store} is not initialized; call \`await store.init()\` once before using it`,
    );
  }
}

/**
 * The database was migrated by a newer orsa than this one: running on would
 * misread its rows.
 *
 * @example
 * ```ts
 * await store.init(); // rejects with StoreSchemaError: … has schema version 3, newer than this orsa knows (2) …
 * ```
 */
export class StoreSchemaError extends StoreError {
  constructor(message: string) {
    super('STORE_SCHEMA', message);
  }
}

/**
 * A store was given an option it cannot use.
 *
 * @example
 * ```ts
 * new SqliteStore({ synchronous: 'OFF' as 'FULL' }); // throws StoreConfigError
 * ```
 */
export class StoreConfigError extends StoreError {
  constructor(message: string) {
    super('STORE_CONFIG', message);
  }
}
