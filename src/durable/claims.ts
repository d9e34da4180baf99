import { OrsaError } from '../errors.js';
import type { SagaDefinition } from '../interpretation/definition.js';
import { SAGA_STATUSES, type ClaimRequest, type SagaRecord, type SagaStatus, type SagaStore } from '../stores/types.js';
import { CorruptRecordError } from './records.js';
import { Backoff, isTransientError, StoreUnavailableError } from './transient.js';
import { validateSnapshot } from './validate-snapshot.js';
import { notStarted } from './queued.js';

/** Most records of one unknown status reported at a time (they are listed to be named). */
const UNKNOWN_STATUS_SCAN = 1_000;

/**
 * What a worker takes and what it sets aside. A record is judged inside the
 * claim (see `ClaimRequest.accept`), so one the worker cannot read is never
 * written, not even its lease: it is reported once, kept out of this
 * worker's claims, and left byte for byte for an operator. Store faults that
 * pass are told apart from bad records: they are retried with backoff and
 * set nothing aside.
 *
 * @example
 * ```ts
 * const gate = new RecordGate((r) => registry.get(r.version), onError);
 * const claimed = await store.claim({ ...request, accept: gate.accept, excludeIds: [...gate.quarantined] });
 * gate.flush();
 * ```
 */
export class RecordGate {
  /** Ids this worker found unreadable: never claimed again by it. */
  readonly quarantined = new Set<string>();
  private readonly reported = new Set<string>();
  private readonly pending: OrsaError[] = [];
  private readonly backoff: Backoff;

  constructor(
    private readonly definitionOf: (record: SagaRecord) => SagaDefinition<any, any> | undefined,
    private readonly report: (error: unknown) => void,
    retry: { firstMs: number; maxMs: number } = { firstMs: 50, maxMs: 1_000 },
  ) {
    this.backoff = new Backoff(retry.firstMs, Math.max(retry.firstMs, retry.maxMs));
  }

  /**
   * The claim's judge: true when the record's definition is registered and its
   * snapshot valid. Runs inside the store's transaction, so it only notes
   * what it refuses; {@link flush} reports it afterwards.
   */
  readonly accept = (record: SagaRecord): boolean => {
    try {
      const definition = this.definitionOf(record);
      if (!definition) return false; // the claim's version filter keeps these out; a stray one is simply not taken
      // A saga promoted from its queue whose worker died before its first write holds only its input.
      if (notStarted(record) === undefined) validateSnapshot(definition, record);
      return true;
    } catch (error) {
      this.setAside(record.id, error instanceof OrsaError ? error : new CorruptRecordError(record.id, 'unreadable', { cause: error }), false);
      return false;
    }
  };

  /**
   * Claims with this gate as judge, never the ids in `running` nor the ones
   * set aside, then reports what it refused.
   */
  async claim(store: SagaStore, running: readonly string[], request: Omit<ClaimRequest, 'accept' | 'excludeIds'>): Promise<SagaRecord[]> {
    const claimed = await store.claim({ ...request, excludeIds: [...running, ...this.quarantined], accept: this.accept });
    this.flush();
    return claimed;
  }

  /** Reports what the last claim refused (once per record). */
  flush(): void {
    for (const error of this.pending.splice(0)) this.report(error);
  }

  /** Keeps a record out of this worker's claims and reports why, once. */
  setAside(id: string, error: OrsaError, now = true): void {
    this.quarantined.add(id);
    if (this.reported.has(id)) return;
    this.reported.add(id);
    this.pending.push(error);
    if (now) this.flush();
  }

  /**
   * What to do after a store call failed while `doing` something: a transient
   * fault is reported once per run of failures and gives the delay before a
   * retry; anything else gives null (the caller reports or sets aside).
   */
  transient(error: unknown, doing: string): number | null {
    if (!isTransientError(error)) return null;
    const first = !this.backoff.failing;
    const delayMs = this.backoff.next();
    if (first) this.report(new StoreUnavailableError(doing, delayMs, { cause: error }));
    return delayMs;
  }

  /** A store call went through: the next fault starts a new run (and a new report). */
  recovered(): void {
    this.backoff.reset();
  }

  /**
   * Counts by status with only the statuses orsa writes; records with any
   * other status value (written by hand, or by a newer orsa) are reported
   * once each, for the saga names this worker runs.
   */
  async knownCounts(store: SagaStore, names: ReadonlySet<string>, sagaName?: string): Promise<Record<SagaStatus, number>> {
    const raw = await store.countByStatus(sagaName);
    const counts = Object.fromEntries(SAGA_STATUSES.map((s) => [s, 0])) as Record<SagaStatus, number>;
    const unknown: string[] = [];
    for (const [status, n] of Object.entries(raw)) {
      if ((SAGA_STATUSES as readonly string[]).includes(status)) counts[status as SagaStatus] = n ?? 0;
      else unknown.push(status);
    }
    for (const status of unknown) {
      const records = await store.list({ status: status as SagaStatus, limit: UNKNOWN_STATUS_SCAN });
      for (const record of records) {
        if (!names.has(record.sagaName)) continue;
        const shown = JSON.stringify(String(record.status).slice(0, 40));
        this.setAside(record.id, new CorruptRecordError(record.id, `its status ${shown} is not one orsa writes (${SAGA_STATUSES.join(', ')})`));
      }
    }
    return counts;
  }

  /**
   * Sorts out an error of resuming a claimed record: for a transient fault,
   * the delay before a retry (the record stays claimable); otherwise null,
   * and the record is set aside and reported once.
   */
  resumeFailed(record: SagaRecord, error: unknown): number | null {
    const delayMs = this.transient(error, `resuming saga ${record.id}`);
    if (delayMs !== null) return delayMs;
    this.setAside(record.id, error instanceof OrsaError ? error : new CorruptRecordError(record.id, String(error).slice(0, 200), { cause: error }));
    return null;
  }

  /**
   * Runs a store task; a transient fault is reported (once per run of
   * failures) and `retry` is asked to run it again after a backoff delay.
   * Any other error is thrown to the caller.
   */
  async retrying(task: () => Promise<void>, doing: string, retry: (delayMs: number) => void): Promise<void> {
    try {
      await task();
      this.recovered();
    } catch (error) {
      const delayMs = this.transient(error, doing);
      if (delayMs === null) throw error;
      retry(delayMs);
    }
  }

  /**
   * An execution ended on an error that is not the saga's outcome: a transient
   * write fault calls `retry` (the stored saga is intact); an orsa error is
   * reported; anything else (the statechart threw on this saga) sets the saga
   * aside, reported once, instead of failing again at every claim.
   */
  executionFailed(id: string, error: unknown, retry: () => void): void {
    if (this.transient(error, `writing saga ${id}`) !== null) return retry();
    if (error instanceof OrsaError) return this.report(error);
    this.setAside(id, new CorruptRecordError(id, `the statechart failed on it (${String(error).slice(0, 100)})`, { cause: error }));
  }
}
