import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock } from '../src/index.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { scheduledReport } from './fixtures/schedule-saga.js';

/*
 * A worker killed with SIGKILL after starting a tick's saga and before
 * advancing its schedule: the next worker fires the tick again, which starts
 * nothing new, and the tick's one saga finishes.
 */

let worker: string;
let bundleDir: string | undefined;
const dir = mkdtempSync(join(tmpdir(), 'orsa-schedule-crash-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

beforeAll(async () => {
  // Under node_modules, so that the bundle's imports of better-sqlite3 and xstate resolve.
  bundleDir = mkdtempSync(join(import.meta.dirname, '../node_modules/.orsa-schedule-crash-'));
  worker = join(bundleDir, 'schedule-worker.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, 'fixtures/schedule-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: worker,
    external: ['better-sqlite3', 'pg', 'xstate', 'croner'],
    logLevel: 'silent',
  });
}, 60_000);

/** Runs the worker and kills it with SIGKILL once it prints `advancing`. */
function killWhileAdvancing(db: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker], { env: { ...process.env, ORSA_DB: db }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      if (output.includes('advancing')) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(output) : reject(new Error(`worker exited with ${code ?? signal}:\n${output}`))));
  });
}

describe('a schedule across a SIGKILL', () => {
  it('neither loses nor doubles a tick whose worker was killed between starting its saga and advancing the schedule', async () => {
    const db = join(dir, 'orsa.db');
    const output = await killWhileAdvancing(db);
    expect(output).toContain('declared');
    const store = new SqliteStore({ path: db });
    await store.init();
    const tick = 'hourly@2026-01-01T01:00:00.000Z';
    // Killed after the start committed and before the advance: the saga exists, the schedule still waits for the tick.
    expect((await store.list({ sagaName: scheduledReport.name })).map((r) => r.id)).toEqual([tick]);
    expect((await store.schedules.get('hourly'))?.lastTickAt).toBe(Date.parse('2026-01-01T00:59:00Z'));

    const clock = createTestClock(Date.parse('2026-01-01T01:00:20Z')); // a restart 20 s later: within scheduleGraceMs
    const runtime = createRuntime({ sagas: [scheduledReport], store, clock, workerId: 'next', pollIntervalMs: 3_600_000, leaseMs: 30_000 });
    try {
      await runtime.start(); // fires the tick again: the start is a no-op, the schedule advances
      expect((await store.schedules.get('hourly'))?.lastTickAt).toBe(Date.parse('2026-01-01T01:00:00Z'));
      await clock.advance(30_000); // the killed worker's lease on the saga runs out
      for (let i = 0; i < 2_000 && (await store.get(tick))?.status !== 'completed'; i++) {
        await clock.advance(1_000);
        await sleep(5);
      }
      const records = await store.list({ sagaName: scheduledReport.name });
      expect(records.map((r) => [r.id, r.status])).toEqual([[tick, 'completed']]);
    } finally {
      await runtime.stop();
      await store.close();
    }
  });
});
