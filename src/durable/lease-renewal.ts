import { StaleRecordError } from '../errors.js';
import type { SagaStore } from '../stores/types.js';
import type { Clock } from '../interpretation/clock.js';
import type { Live } from './live.js';

/** What lease renewal needs of its runtime. */
export interface LeaseRenewalDeps {
  store: SagaStore;
  clock: Clock;
  workerId: string;
  leaseMs: number;
  /** The sagas this worker runs, by id: one whose lease is lost leaves it. */
  live: Map<string, Live>;
  /** Reports the steps that ran while the lease was lost (a `leaseLost` command). */
  leaseLost: (live: Live) => void;
}

/**
 * Renews the leases of the sagas this worker runs; stops the ones another
 * worker took over (or that were released) meanwhile.
 *
 * @internal
 * @example
 * ```ts
 * await renewLeases({ store, clock, workerId, leaseMs: 30_000, live, leaseLost });
 * ```
 */
export async function renewLeases(deps: LeaseRenewalDeps): Promise<void> {
  const { store, clock, workerId, leaseMs, live: running } = deps;
  // Only committed records: a start whose insert has not committed has no row to renew yet (PostgreSQL's
  // renew would not see it), and its insert sets the lease anyway.
  const renewing = [...running.entries()].filter(([, live]) => live.committed);
  if (renewing.length === 0) return;
  const now = clock.now();
  const held = new Set(await store.renew(workerId, renewing.map(([id]) => id), now + leaseMs, now));
  const refused = renewing.filter(([id]) => !held.has(id));
  // A lease that only lapsed (this worker was too busy to renew it in time) while no other worker took the
  // saga is not lost: the record still names this worker and the fence of its writes holds, so it goes on
  // here and its next write renews the lease. Lost means taken over or released, as a refused write means.
  const owners = await Promise.all(refused.map(([id]) => store.get(id).then((r) => r?.owner, () => workerId)));
  for (const [i, [id, live]] of refused.entries()) {
    if (owners[i] === workerId || running.get(id) !== live) continue;
    running.delete(id);
    deps.leaseLost(live);
    live.execution.stop(new StaleRecordError(id, `saga ${id}: this worker lost its lease (it was not renewed in time); it stopped running it here`));
  }
}
