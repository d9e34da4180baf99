/** Errors of the `orsa` command line and its dashboard: what an operator asked for that cannot be done. Not exported by `orsa`. */
import { brand, OrsaError } from './base.js';
import { StoreError } from './store.js';

/**
 * The CLI found no orsa store where it was pointed (no file, not SQLite, no
 * orsa tables in it or in the PostgreSQL schema). It never creates one: the
 * message says which `--db`, `--pg` or `--schema` to pass.
 *
 * @example
 * ```ts
 * await openExistingStore({ db: 'typo.db' }); // rejects: STORE_NOT_FOUND, no SQLite file at typo.db; pass --db PATH
 * ```
 */
export class StoreNotFoundError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_NOT_FOUND', message, options);
  }
}
brand(StoreNotFoundError, 'StoreNotFoundError');

/**
 * An operator's event cannot be sent: it has no name, or its payload is not
 * JSON. Nothing was stored.
 *
 * @example
 * ```ts
 * await sendCommand(store, id, { command: 'event', name: '' }, Date.now()); // rejects: BAD_EVENT
 * ```
 */
export class BadEventError extends OrsaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_EVENT', message, options);
  }
}
brand(BadEventError, 'BadEventError');

/**
 * The module given with `--sagas` cannot be loaded, or exports no saga
 * definitions.
 *
 * @example
 * ```ts
 * await loadSagaModule('src/sagas.ts'); // rejects: SAGA_MODULE, pass a built .js or .mjs module
 * ```
 */
export class SagaModuleError extends OrsaError {
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('SAGA_MODULE', message, options);
  }
}
brand(SagaModuleError, 'SagaModuleError');

/**
 * `orsa inspect` needs the optional packages `@statelyai/inspect` and `ws`,
 * which are not installed.
 *
 * @example
 * ```ts
 * // orsa inspect order-1 → orsa: orsa inspect needs the packages @statelyai/inspect and ws: npm install --save-dev @statelyai/inspect ws
 * ```
 */
export class InspectorMissingError extends OrsaError {
  constructor(options?: { cause?: unknown }) {
    super('INSPECTOR_MISSING', 'orsa inspect needs the packages @statelyai/inspect and ws: npm install --save-dev @statelyai/inspect ws', options);
  }
}
brand(InspectorMissingError, 'InspectorMissingError');

/**
 * Nothing answers at the inspector address `orsa inspect` was given.
 *
 * @example
 * ```ts
 * // orsa inspect order-1 --url ws://localhost:9 → INSPECTOR_UNREACHABLE: start the inspector's WebSocket server first
 * ```
 */
export class InspectorUnreachableError extends OrsaError {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super('INSPECTOR_UNREACHABLE', `no inspector answers at ${url} (${reason}); start the inspector's WebSocket server first, or pass its address with --url ws://HOST:PORT`);
  }
}
brand(InspectorUnreachableError, 'InspectorUnreachableError');
