/**
 * Fan-out: a batch of parcels, each labelled and handed to a carrier, 20 at a
 * time. The map is one state of its own kind in the chart (`items` while the
 * list is computed, `running` while the items run); a parcel the carrier
 * refuses for good recalls every parcel handed over, newest first, voids the
 * labels and closes the batch. `npm run example:fanout` runs the same shape.
 */
import { NonRetryableError, saga } from '../src/index.js';

export interface Parcel {
  parcel: string;
  grams: number;
}

/** Parcels above this weight are refused by the carrier. */
export const MAX_GRAMS = 30_000;

export const shipBatch = saga('ship-batch')
  .input<{ batch: string; parcels: Parcel[] }>()
  .step('openBatch', ({ input }) => ({ batch: input.batch }), { compensate: () => {} })
  .map(
    'parcels',
    ({ input }) => input.parcels,
    (b) =>
      b
        .step('label', ({ item }) => `L-${item.parcel}`)
        .compensate(() => {})
        .step(
          'handOver',
          ({ item, results }) => {
            if (item.grams > MAX_GRAMS) throw new NonRetryableError(`carrier refused ${item.parcel} (${item.grams} g)`);
            return { tracking: `T-${results.label}` };
          },
          { retry: 2, timeoutMs: 5_000, compensate: () => {} },
        ),
    { concurrency: 20 },
  )
  .step('closeBatch', ({ results }) => `${results.parcels.length} parcels shipped`)
  .build();
