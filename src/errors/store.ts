/** Errors of the stores: the base class a store author throws from, and one class per way a store fails. */
import { brand, OrsaError } from './base.js';

/** Base class for store failures (imported by runtime code; no driver dependency).
 *
 * @example
 * ```ts
 * try { await store.init(); } catch (e) { if (e instanceof StoreError) console.error(e.code, e.message); }
 * ```
 */
export class StoreError extends OrsaError {
  declare readonly code: 'STALE_RECORD' | 'UNKNOWN_SAGA' | 'STORE_NOT_READY' | 'STORE_SCHEMA' | 'STORE_CONFIG' | 'DRIVER_MISSING' | 'STORE_UNAVAILABLE' | 'STORE_NOT_FOUND';
}
brand(StoreError, 'StoreError');

/** A write lost the race: another writer changed the record, or the lease moved to another owner.
 *
 * @example
 * ```ts
 * try { await store.update(id, fence, patch, [], { now }); } catch (e) { if (e instanceof StaleRecordError) reload(id); }
 * ```
 */
export class StaleRecordError extends StoreError {
  constructor(
    readonly sagaId: string,
    message = `saga ${sagaId} was changed by another writer (row version or lease owner moved); reload it before writing`,
  ) {
    super('STALE_RECORD', message);
  }
}
brand(StaleRecordError, 'StaleRecordError');

/** No saga with this id exists in the store.
 *
 * @example
 * ```ts
 * await store.sendEvent('nope', 'x', 'null', Date.now()); // rejects with UnknownSagaError
 * ```
 */
export class UnknownSagaError extends StoreError {
  constructor(readonly sagaId: string) {
    super('UNKNOWN_SAGA', `no saga with id "${sagaId}" in this store; check the id (orsa list shows them)`);
  }
}
brand(UnknownSagaError, 'UnknownSagaError');

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
brand(StoreNotReadyError, 'StoreNotReadyError');

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
brand(StoreSchemaError, 'StoreSchemaError');

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
brand(StoreConfigError, 'StoreConfigError');

/** A store's database driver (an optional peer dependency) is not installed.
 *
 * @example
 * ```ts
 * await createRuntime({ sagas }).start(); // rejects without better-sqlite3: run `npm install better-sqlite3`, or pass a store
 * ```
 */
export class DriverMissingError extends StoreError {
  constructor(
    readonly driver: string,
    usedBy: string,
    options?: { cause?: unknown },
  ) {
    super('DRIVER_MISSING', `${usedBy} needs the "${driver}" package, which is not installed; run \`npm install ${driver}\``, options);
  }
}
brand(DriverMissingError, 'DriverMissingError');

/**
 * The store failed with a transient fault (connection lost, database busy, a
 * timeout). Nothing was lost and no saga was set aside: the worker retries
 * with backoff, and a saga whose write failed is taken up again when its lease
 * expires. Reported once per run of failures, through `onError`.
 *
 * @example
 * ```ts
 * createRuntime({ sagas, onError: (e) => { if (e instanceof StoreUnavailableError) metrics.increment('orsa.store.unavailable'); } });
 * ```
 */
export class StoreUnavailableError extends StoreError {
  constructor(doing: string, retryInMs: number, options: { cause: unknown }) {
    super(
      'STORE_UNAVAILABLE',
      `the store failed transiently while ${doing} (${describeCause(options.cause)}); the worker retries in ${retryInMs} ms and keeps every saga: check the database's health if this goes on`,
      options,
    );
  }
}
brand(StoreUnavailableError, 'StoreUnavailableError');

function describeCause(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message.slice(0, 200) : String(error).slice(0, 200);
  return typeof code === 'string' ? `${code}: ${text}` : text;
}

/**
 * An inbox row was written or read with a channel other than `'event'` (a
 * user event) or `'command'` (a runtime command): a bug in the store or in
 * its caller, refused before it could act as the wrong kind.
 *
 * @example
 * ```ts
 * await store.sendEvent(id, 'cancel', 'null', now, 'admin' as 'command'); // rejects: INVALID_INBOX_KIND
 * ```
 */
export class InvalidInboxKindError extends OrsaError {
  constructor(readonly kind: unknown) {
    super('INVALID_INBOX_KIND', `inbox kind must be 'event' or 'command', not ${String(JSON.stringify(kind))}; pass 'event' for a user event, 'command' for a runtime command`);
  }
}
brand(InvalidInboxKindError, 'InvalidInboxKindError');
