import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isTransientError } from '../src/durable/transient.js';
import { CorruptRecordError } from '../src/index.js';
import { seededRandom } from './fixtures/snapshot-mutations.js';

describe('isTransientError', () => {
  it('takes connection loss, admin shutdown, busy and locked databases and timeouts for transient, through causes', () => {
    const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    for (const code of ['57P01', '57P02', '57P03', '08006', '08003', '40001', '40P01', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED']) {
      expect(isTransientError(coded(code)), code).toBe(true);
    }
    expect(isTransientError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientError(new Error('wrapped', { cause: coded('57P01') }))).toBe(true);
    expect(isTransientError(new AggregateError([coded('ECONNREFUSED')], 'connect failed'))).toBe(true);
  });

  it('takes a real SQLITE_BUSY from a second connection for transient', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orsa-busy-'));
    const holder = new Database(join(dir, 'busy.db'));
    const other = new Database(join(dir, 'busy.db'), { timeout: 0 });
    try {
      holder.exec('CREATE TABLE t (x)');
      holder.exec('BEGIN IMMEDIATE');
      let error: unknown;
      try {
        other.exec('INSERT INTO t VALUES (1)');
      } catch (e) {
        error = e;
      }
      expect((error as { code?: string }).code).toBe('SQLITE_BUSY');
      expect(isTransientError(error)).toBe(true);
    } finally {
      holder.close();
      other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never takes corruption, constraint violations or programming errors for transient', () => {
    const coded = (code: string) => Object.assign(new Error('x'), { code });
    for (const error of [new CorruptRecordError('s', 'bad'), coded('23505'), coded('22003'), coded('SQLITE_CORRUPT'), new TypeError('x is undefined'), null, undefined, 42, 'ECONNRESET']) {
      expect(isTransientError(error), String(error)).toBe(false);
    }
  });

  it('answers for any value without throwing, cyclic causes included (seeded)', () => {
    const seed = Number(process.env.ORSA_FUZZ_SEED ?? 20261126);
    const random = seededRandom(seed);
    const atoms: unknown[] = [null, undefined, 0, '', '08', '57P01', 'SQLITE_BUSY', Symbol('s'), () => {}, [], {}, new Error('e')];
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.4) return atoms[Math.floor(random() * atoms.length)];
      const o: Record<string, unknown> = {};
      for (const key of ['code', 'message', 'cause', 'errors']) if (random() < 0.5) o[key] = key === 'errors' ? [value(depth + 1)] : value(depth + 1);
      if (random() < 0.1) o.cause = o; // a cycle
      return o;
    };
    for (let i = 0; i < 2_000; i++) expect(typeof isTransientError(value(0)), `seed ${seed}, case ${i}`).toBe('boolean');
  });
});
