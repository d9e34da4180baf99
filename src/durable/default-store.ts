import { StoreNotReadyError } from '../errors.js';
import type { SagaStore } from '../stores/types.js';

/**
 * The store `createRuntime` uses when given none: SQLite at `.orsa/orsa.db`.
 * The SQLite module (and so better-sqlite3, a native module) is imported only
 * when `init()` runs, so `import 'orsa'` loads no native code and the core
 * bundles for a browser; without better-sqlite3, `init()` rejects with a
 * `DriverMissingError` that says what to install.
 */
export class DefaultStore implements SagaStore {
  #inner: SagaStore | undefined;
  #opening: Promise<SagaStore> | undefined;
  #closed = false;

  async init(): Promise<void> {
    if (this.#closed) throw new StoreNotReadyError('the default SQLite store', 'closed');
    this.#opening ??= import('../stores/sqlite/store.js').then(async ({ SqliteStore }) => {
      const store = new SqliteStore({ path: '.orsa/orsa.db' });
      await store.init();
      return store;
    });
    // A failed open (a missing driver) may be retried after it was installed.
    this.#inner = await this.#opening.catch((error: unknown) => {
      this.#opening = undefined;
      throw error;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#inner?.close();
  }

  #store(): SagaStore {
    if (!this.#inner) throw new StoreNotReadyError('the default SQLite store', this.#closed ? 'closed' : 'uninitialized');
    return this.#inner;
  }

  insert: SagaStore['insert'] = (...args) => this.#call((s) => s.insert(...args));
  update: SagaStore['update'] = (...args) => this.#call((s) => s.update(...args));
  get: SagaStore['get'] = (...args) => this.#call((s) => s.get(...args));
  list: SagaStore['list'] = (...args) => this.#call((s) => s.list(...args));
  history: SagaStore['history'] = (...args) => this.#call((s) => s.history(...args));
  claim: SagaStore['claim'] = (...args) => this.#call((s) => s.claim(...args));
  renew: SagaStore['renew'] = (...args) => this.#call((s) => s.renew(...args));
  release: SagaStore['release'] = (...args) => this.#call((s) => s.release(...args));
  sendEvent: SagaStore['sendEvent'] = (...args) => this.#call((s) => s.sendEvent(...args));
  inbox: SagaStore['inbox'] = (...args) => this.#call((s) => s.inbox(...args));
  pendingEvents: SagaStore['pendingEvents'] = (...args) => this.#call((s) => s.pendingEvents(...args));
  countByStatus: SagaStore['countByStatus'] = (...args) => this.#call((s) => s.countByStatus(...args));
  nextDueAt: SagaStore['nextDueAt'] = (...args) => this.#call((s) => s.nextDueAt(...args));
  promote: SagaStore['promote'] = (...args) => this.#call((s) => s.promote(...args));
  cancelQueued: SagaStore['cancelQueued'] = (...args) => this.#call((s) => s.cancelQueued(...args));
  readonly schedules: SagaStore['schedules'] = {
    put: (...args) => this.#call((s) => s.schedules!.put(...args)),
    get: (...args) => this.#call((s) => s.schedules!.get(...args)),
    list: () => this.#call((s) => s.schedules!.list()),
    remove: (...args) => this.#call((s) => s.schedules!.remove(...args)),
    advance: (...args) => this.#call((s) => s.schedules!.advance(...args)),
  };

  async #call<T>(use: (store: SagaStore) => Promise<T>): Promise<T> {
    return use(this.#store());
  }
}
