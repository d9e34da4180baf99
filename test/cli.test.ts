import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { createRuntime, createTestClock, NonRetryableError, saga } from '../src/index.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

const dir = mkdtempSync(join(tmpdir(), 'orsa-cli-'));
const db = join(dir, 'sagas.db');

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const order = saga('order')
  .step('reserve', () => 'r-1', { compensate: () => {} })
  .step('charge', ({ attempt }) => {
    if (attempt < 2) throw new Error('gateway timeout');
    return 'c-1';
  }, { retry: { maxAttempts: 2, delayMs: 10 } })
  .waitFor('confirmation', { event: 'confirmed' })
  .build();
const refused = saga('refused')
  .step('reserve', () => 'r', { compensate: () => { throw new NonRetryableError('warehouse offline'); } })
  .step('charge', () => { throw new NonRetryableError('card declined'); })
  .build();

beforeAll(async () => {
  const clock = createTestClock();
  const store = new SqliteStore({ path: db });
  const runtime = createRuntime({ sagas: [order, refused], store, clock });
  await runtime.startSaga(order, undefined, { id: 'order-1' });
  await runtime.startSaga(refused, undefined, { id: 'refused-1' });
  await clock.advance(100);
  await runtime.stop();
  await store.close();
});

describe('orsa CLI', () => {
  it('lists sagas with their status and state', async () => {
    const { code, out } = await cli('list', '--db', db);
    expect(code).toBe(0);
    expect(out).toMatch(/^ID\s+SAGA\s+VERSION\s+STATUS\s+STATE/);
    expect(out).toMatch(/order-1\s+order\s+\w+\s+waiting\s+confirmation/);
    expect(out).toMatch(/refused-1\s+refused\s+\w+\s+failed\s+failed/);
  });

  it('filters by status and prints JSON for scripts', async () => {
    const { out } = await cli('list', '--db', db, '--status', 'failed', '--json');
    const rows = JSON.parse(out);
    expect(rows.map((r: { id: string }) => r.id)).toEqual(['refused-1']);
    expect(rows[0]).toMatchObject({ sagaName: 'refused', status: 'failed', state: 'failed' });
  });

  it('shows one saga with its steps as a timeline', async () => {
    const { code, out } = await cli('show', 'order-1', '--db', db);
    expect(code).toBe(0);
    expect(out).toMatch(/status\s+waiting/);
    const timeline = out.slice(out.indexOf('timeline'));
    expect(timeline).toMatch(/step\.started\s+reserve\s+1/);
    expect(timeline).toMatch(/step\.retrying\s+charge\s+1\s+error: gateway timeout; retry at/);
    expect(timeline).toMatch(/step\.completed\s+charge\s+2/);
    const failed = await cli('show', 'refused-1', '--db', db);
    expect(failed.out).toMatch(/failure\s+charge: card declined/);
    expect(failed.out).toMatch(/still undone \[reserve#1\]/);
  });

  it('stores cancel, resume and retry for the workers, and refuses what makes no sense', async () => {
    expect((await cli('retry', 'order-1', '--db', db)).err).toMatch(/is waiting, not failed/);
    const retry = await cli('retry', 'refused-1', '--db', db);
    expect(retry.code).toBe(0);
    expect(retry.out).toMatch(/stored: retry for saga refused-1/);
    expect((await cli('cancel', 'order-1', '--db', db, '--json')).out).toMatch(/"command":"cancel"/);
    const store = new SqliteStore({ path: db });
    await store.init();
    // The command channel: a user event named "cancel" could never be mistaken for it.
    expect((await store.inbox('order-1')).map((e) => [e.kind, e.name])).toEqual([['command', 'cancel']]);
    expect((await store.inbox('refused-1')).map((e) => [e.kind, e.name])).toEqual([['command', 'retryCompensation']]);
    await store.close();
  });

  it('says what to do on a wrong command, id or database', async () => {
    expect(await cli('show', 'nope', '--db', db)).toMatchObject({ code: 1, err: expect.stringMatching(/no saga with id "nope"; orsa list shows them/) });
    expect(await cli('frobnicate', '--db', db)).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command/) });
    expect(await cli('list', '--db', join(dir, 'missing.db'))).toMatchObject({ code: 1, err: expect.stringMatching(/no SQLite file at/) });
    expect(await cli('list', '--db', db, '--status', 'weird')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown status weird/) });
  });
});
