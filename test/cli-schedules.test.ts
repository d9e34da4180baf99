import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { createRuntime, createTestClock, saga } from '../src/index.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

const dir = mkdtempSync(join(tmpdir(), 'orsa-cli-schedules-'));
const db = join(dir, 'sagas.db');

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const report = saga('report')
  .input<{ format: string }>()
  .step('render', ({ input }) => input.format)
  .build();

beforeAll(async () => {
  const clock = createTestClock(Date.parse('2026-03-28T12:00:00Z'));
  const store = new SqliteStore({ path: db });
  const runtime = createRuntime({ sagas: [report], store, clock });
  await runtime.schedule('nightly', report, { cron: '30 2 * * *', timezone: 'Europe/Berlin', input: { format: 'pdf' } });
  await runtime.schedule('hourly', report, { cron: '0 * * * *', input: { format: 'csv' }, missed: 'latest' });
  await runtime.stop();
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('orsa schedules', () => {
  it('lists the stored schedules with their last and next tick', async () => {
    const { code, out } = await cli('schedules', '--db', db);
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+SAGA\s+CRON\s+TIMEZONE\s+MISSED\s+LAST TICK\s+NEXT TICK\s+INPUT$/);
    expect(lines[1]).toMatch(/^hourly\s+report\s+0 \* \* \* \*\s+UTC\s+latest\s+2026-03-28 12:00:00Z\s+2026-03-28 13:00:00Z\s+\{"format":"csv"\}$/);
    // 02:30 in Berlin on 29 March does not exist: the next tick is 03:00 CEST, 01:00Z.
    expect(lines[2]).toMatch(/^nightly\s+report\s+30 2 \* \* \*\s+Europe\/Berlin\s+skip\s+2026-03-28 12:00:00Z\s+2026-03-29 01:00:00Z\s+\{"format":"pdf"\}$/);
  });

  it('prints them as JSON with --json', async () => {
    const { code, out } = await cli('schedules', '--db', db, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual([
      expect.objectContaining({ name: 'hourly', input: { format: 'csv' }, missed: 'latest', nextTickAt: Date.parse('2026-03-28T13:00:00Z') }),
      expect.objectContaining({ name: 'nightly', timezone: 'Europe/Berlin', nextTickAt: Date.parse('2026-03-29T01:00:00Z') }),
    ]);
  });

  it('removes one by name, and says when there is none of that name', async () => {
    expect(await cli('schedules', 'remove', 'hourly', '--db', db)).toMatchObject({ code: 0, out: 'removed schedule "hourly"; sagas it started run on' });
    expect((await cli('schedules', '--db', db)).out).not.toContain('hourly');
    expect(await cli('schedules', 'remove', 'hourly', '--db', db)).toMatchObject({ code: 1, err: 'orsa: no schedule named "hourly"; orsa schedules lists them' });
    const store = new SqliteStore({ path: db });
    await store.init();
    expect((await store.schedules.list()).map((s) => s.name)).toEqual(['nightly']);
    await store.close();
  });

  it('explains a wrong use', async () => {
    expect(await cli('schedules', 'remove', '--db', db)).toMatchObject({ code: 2, err: expect.stringContaining('orsa schedules remove <name>') });
    expect(await cli('schedules', 'drop', 'x', '--db', db)).toMatchObject({ code: 2, err: expect.stringContaining('unknown schedules action "drop"') });
    expect(await cli('schedules', '--db', join(dir, 'missing.db'))).toMatchObject({ code: 1, err: expect.stringContaining('no SQLite file') });
  });
});
