import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A real worker process given poison: records no chart can resume, a status
 * value orsa does not write, and stored events that name prototype members or
 * carry a payload that is not JSON. It must keep running, finish every healthy
 * saga, report each poison record once and leave it byte for byte.
 */

let dir: string;
let worker: string;

beforeAll(async () => {
  // Bundled and run with plain node, as the crash tests do; under node_modules so native imports resolve.
  dir = mkdtempSync(join(import.meta.dirname, '../node_modules/.orsa-poison-'));
  worker = join(dir, 'poison-worker.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, 'fixtures/poison-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: worker,
    external: ['better-sqlite3', 'pg', 'xstate'],
    logLevel: 'silent',
  });
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runWorker(env: Record<string, string>): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, output }));
  });
}

const POISON_SNAPSHOTS: Record<string, (s: Record<string, any>) => string> = {
  'poison-state': (s) => JSON.stringify({ ...s, value: 'nowhere' }),
  'poison-xstate-error': (s) => JSON.stringify({ ...s, status: 'error' }),
  'poison-ghost-step': (s) => JSON.stringify({ ...s, context: { ...s.context, active: { ghost: { exec: 'ghost#1', attempt: 1 } } } }),
  'poison-value-42': (s) => JSON.stringify({ ...s, value: 42 }),
  'poison-truncated': (s) => JSON.stringify(s).slice(0, 50),
};

describe('a worker given poison records and poison events', () => {
  it('keeps running, finishes every healthy saga, and reports each poison record once, leaving it byte for byte', async () => {
    const path = join(dir, 'poison.db');
    const seeded = await runWorker({ ORSA_POISON_MODE: 'seed', ORSA_POISON_DB: path });
    expect(seeded.code, seeded.output).toBe(0);

    const db = new Database(path);
    const template = db.prepare('SELECT * FROM orsa_sagas WHERE id = ?').get('healthy-0') as Record<string, unknown>;
    const snapshot = JSON.parse(template.snapshot as string);
    const insert = db.prepare(
      `INSERT INTO orsa_sagas (id, saga_name, version, status, snapshot, due_at, owner, lease_until, row_version, history_seq, created_at, updated_at)
       VALUES (@id, @saga_name, @version, @status, @snapshot, 0, NULL, NULL, 1, 0, 0, 0)`,
    );
    const copy = (id: string) => ({ ...snapshot, context: { ...snapshot.context, sagaId: id } });
    for (const [id, poison] of Object.entries(POISON_SNAPSHOTS)) insert.run({ ...template, id, status: 'waiting', snapshot: poison(copy(id)) });
    insert.run({ ...template, id: 'poison-status', status: 'paused', snapshot: JSON.stringify(copy('poison-status')) });
    // Poison events, stored as a sender on another (older or buggy) process could have stored them.
    for (const id of ['poison-event-proto', 'poison-event-json']) insert.run({ ...template, id, status: 'waiting', snapshot: JSON.stringify(copy(id)) });
    const event = db.prepare(`INSERT INTO orsa_inbox (saga_id, name, payload, at) VALUES (?, ?, ?, 0)`);
    for (const name of ['constructor', 'toString', '__proto__']) event.run('poison-event-proto', name, 'null');
    event.run('poison-event-json', 'order.confirmed', '{"confirmedBy": ');
    const poisonIds = [...Object.keys(POISON_SNAPSHOTS), 'poison-status'];
    const read = () => new Map(poisonIds.map((id) => [id, db.prepare('SELECT * FROM orsa_sagas WHERE id = ?').get(id)]));
    const before = read();

    for (let start = 0; start < 2; start++) {
      const run = await runWorker({ ORSA_POISON_MODE: 'run', ORSA_POISON_DB: path });
      expect(run.code, run.output).toBe(0);
      const summary = JSON.parse(run.output.trim().split('\n').at(-1)!) as { corrupt: string[]; other: string[] };
      const reported = summary.corrupt.filter((id) => !id.startsWith('poison-event'));
      expect(reported.sort(), run.output).toEqual([...poisonIds].sort());
      expect(summary.corrupt.filter((id) => id === 'poison-event-json').length).toBeLessThanOrEqual(1);
    }
    const statuses = db.prepare(`SELECT status, count(*) AS n FROM orsa_sagas WHERE id LIKE 'healthy-%' GROUP BY status`).all();
    expect(statuses).toEqual([{ status: 'completed', n: 20 }]);
    expect(read()).toEqual(before);
    db.close();
  }, 120_000);
});
