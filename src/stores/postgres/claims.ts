import type pg from 'pg';
import { claimOrder, nonNegativeInteger } from '../encoding.js';
import type { ClaimRequest, SagaRecord } from '../types.js';
import { toRecord, type RecordRow } from './rows.js';
import type { PostgresStatements } from './statements.js';

/**
 * Claims without a judge: one statement picks, leases and returns the records
 * (`FOR UPDATE SKIP LOCKED`), journals included, in one round trip.
 */
export async function claimAll(pool: pg.Pool, sql: PostgresStatements, request: ClaimRequest): Promise<SagaRecord[]> {
  const { id } = request;
  const values: unknown[] = [
    request.owner,
    request.now,
    request.leaseUntil,
    nonNegativeInteger(request.limit),
    request.sagaNames ?? null,
    request.versions ?? null,
    request.excludeIds ?? [],
  ];
  if (id !== undefined) values.push(id);
  const statement = sql.claim(request.dueOnly === true, id !== undefined);
  const { rows } = await pool.query<RecordRow>({ ...statement, values });
  // RETURNING follows no order; give back what was claimed in the order it was picked.
  return rows.map((row) => toRecord(row)).sort(claimOrder);
}

/**
 * Claim with a look first: candidates are locked and read (journals
 * included), judged, and only the accepted ones leased, in one transaction.
 * The lease write returns only what it changed: the records were read
 * already, and reading their journals twice doubled a claim's cost.
 */
export async function claimJudged(pool: pg.Pool, sql: PostgresStatements, request: ClaimRequest, accept: (record: SagaRecord) => boolean): Promise<SagaRecord[]> {
  const { id } = request;
  const values: unknown[] = [
    request.owner,
    request.now,
    nonNegativeInteger(request.limit),
    request.sagaNames ?? null,
    request.versions ?? null,
    request.excludeIds ?? [],
  ];
  if (id !== undefined) values.push(id);
  const client = await pool.connect();
  let broken = false;
  // A checked-out client whose connection drops between queries emits 'error'; unheard, that crashes the process.
  const onError = () => (broken = true);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const candidates = await client.query<RecordRow>({ ...sql.claimCandidates(request.dueOnly === true, id !== undefined), values });
    const accepted = candidates.rows.map((row) => toRecord(row)).filter((record) => accept(record));
    let claimed: SagaRecord[] = [];
    if (accepted.length > 0) {
      const leased = await client.query<{ id: string; rowVersion: string }>({ ...sql.claimAccepted, values: [request.owner, request.leaseUntil, accepted.map((r) => r.id)] });
      const rowVersions = new Map(leased.rows.map((row) => [row.id, Number(row.rowVersion)]));
      claimed = accepted
        .filter((record) => rowVersions.has(record.id))
        .map((record) => ({ ...record, owner: request.owner, leaseUntil: request.leaseUntil, rowVersion: rowVersions.get(record.id)! }))
        .sort(claimOrder);
    }
    await client.query('COMMIT');
    return claimed;
  } catch (error) {
    // A connection that cannot even roll back is dropped from the pool rather than reused.
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
