import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SagaStore } from '../stores/types.js';
import { insertRecord, type StoreRef } from './conformance/fixtures.js';
import { describeBatch } from './conformance/batch.js';
import { describeIds } from './conformance/ids.js';
import { describeInbox } from './conformance/inbox.js';
import { describeJournal } from './conformance/journal.js';
import { describeChildren } from './conformance/children.js';
import { describeLeases } from './conformance/leases.js';
import { describeListing } from './conformance/listing.js';
import { describeRecords } from './conformance/records.js';
import { describeQueues } from './conformance/queues.js';
import { describeWakes } from './conformance/wakes.js';
import { describeSchedules } from './conformance/schedules.js';

/** What {@link runStoreConformance} needs: a store, not yet initialized, and how to clean up after it. */
export interface StoreUnderTest {
  store: SagaStore;
  /** Called once after the suite, after `store.close()`: drop the database, delete the file. */
  cleanup?: () => Promise<void>;
}

/**
 * Runs the storage contract's specification against a store: every store
 * orsa ships passes it, and so must one you write. It is a vitest suite: call
 * it at the top level of a test file.
 *
 * `makeStore` is called once; the suite calls `init()`, runs every spec on
 * that one store, then `close()` and `cleanup`. Specs make their own ids and
 * saga names, so the store may be shared (one database for several runs).
 *
 * @example
 * ```ts
 * // test/my-store.test.ts
 * import { runStoreConformance } from 'orsa/testing';
 * import { MyStore } from '../src/my-store.js';
 *
 * runStoreConformance('MyStore', async () => {
 *   const store = new MyStore({ url: process.env.MY_DB_URL });
 *   return { store, cleanup: () => dropTestDatabase() };
 * });
 * ```
 */
export function runStoreConformance(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(name, () => {
    let made: StoreUnderTest | undefined;
    const store: StoreRef = () => {
      if (!made) throw new Error(`${name}: makeStore() did not produce a store (see the failure of beforeAll)`);
      return made.store;
    };

    beforeAll(async () => {
      made = await makeStore();
      await made.store.init();
    });

    afterAll(async () => {
      if (!made) return;
      try {
        await made.store.close();
      } finally {
        await made.cleanup?.();
      }
    });

    describe('init', () => {
      it('can be called again, even concurrently, keeping what is stored', async () => {
        const record = await insertRecord(store());
        await store().init();
        await Promise.all([store().init(), store().init(), store().init()]);
        expect(await store().get(record.id)).toEqual(record);
      });
    });

    describeRecords(store);
    describeListing(store);
    describeLeases(store);
    describeInbox(store);
    describeIds(store);
    describeJournal(store);
    describeQueues(store);
    describeBatch(store);
    describeWakes(store);
    describeSchedules(store);
    describeChildren(store);
  });
}
