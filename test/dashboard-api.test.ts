import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { chartFromConfig } from '../src/cli/dashboard/chart.js';
import { loadSagaModule } from '../src/cli/saga-module.js';
import { clean, cleanJson } from '../src/cli/terminal.js';
import { createRuntime, createTestClock, saga } from '../src/index.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = Number(process.env.ORSA_FUZZ_SEED ?? 20261126);
const ALPHABET = ['a', 'Z', '0', '-', '/', '%', '?', '#', '"', "'", '<', '>', '&', '\\', ' ', '\n', '\x1b', '\x00', '\x7f', '\u009b', '\u202e', 'é', '😀', '{', '}', '[', ']', ':', ','];
const randomText = (rand: () => number, max: number) => Array.from({ length: Math.floor(rand() * max) }, () => ALPHABET[Math.floor(rand() * ALPHABET.length)]).join('');

const db = join(mkdtempSync(join(tmpdir(), 'orsa-dashboard-api-')), 'sagas.db');
const waiting = saga('waiting').waitFor('go', { event: 'go' }).step('after', () => 'done').build();
let url: string;
let controller: AbortController;
let served: Promise<number>;
const printed: string[] = [];

function call(method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}) {
  const target = new URL(url);
  return new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, method, path, headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
const COMMAND_HEADERS = { 'content-type': 'application/json', 'x-orsa-dashboard': '1' };

beforeAll(async () => {
  const store = new SqliteStore({ path: db });
  const runtime = createRuntime({ sagas: [waiting], store, clock: createTestClock() });
  await runtime.startSaga(waiting, undefined, { id: 'w-1' });
  await runtime.stop();
  await store.close();
  controller = new AbortController();
  let listening!: (u: string) => void;
  const ready = new Promise<string>((resolve) => (listening = resolve));
  served = main(['dashboard', '--db', db, '--port', '0'], { log: (s) => printed.push(s), error: (s) => printed.push(s) }, { signal: controller.signal, onListening: listening });
  url = await ready;
});

afterAll(async () => {
  controller.abort();
  await served;
});

describe('orsa dashboard: the server', () => {
  it('listens on 127.0.0.1 and prints its URL', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(printed[0]).toContain(`orsa dashboard: ${url}`);
  });

  it('says what to do when its port is taken', async () => {
    const errors: string[] = [];
    const port = new URL(url).port;
    expect(await main(['dashboard', '--db', db, '--port', port], { log: () => {}, error: (s) => errors.push(s) })).toBe(1);
    expect(errors.join('\n')).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\); pass another --port \\(0 picks a free one\\)`));
  });

  it('serves its page, script and style itself, under a policy that runs nothing else', async () => {
    const page = await call('GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="/app.js"></script>');
    expect(page.body).not.toMatch(/https?:\/\//);
    expect((await call('GET', '/app.js')).type).toMatch(/^text\/javascript/);
    expect((await call('GET', '/app.css')).type).toMatch(/^text\/css/);
  });

  it('refuses commands not sent by its page, and requests for another host name (DNS rebinding)', async () => {
    const forged = await call('POST', '/api/sagas/w-1/commands', { body: '{"command":"cancel"}', headers: { 'content-type': 'application/json' } });
    expect(forged.status).toBe(403);
    const rebound = await call('GET', '/api/sagas', { headers: { host: 'attacker.example:80' } });
    expect(rebound.status).toBe(421);
    const store = new SqliteStore({ path: db });
    await store.init();
    expect(await store.inbox('w-1')).toEqual([]);
    await store.close();
  });

  it('answers any path, id and command body with JSON and a code, never a crash (seeded fuzzing)', async () => {
    const rand = prng(SEED);
    for (let i = 0; i < 150; i++) {
      const id = encodeURIComponent(randomText(rand, 12));
      const kind = Math.floor(rand() * 4);
      const body = kind === 0 ? randomText(rand, 40) : JSON.stringify({ command: ['cancel', 'retry', 'resume', 'event', randomText(rand, 6)][Math.floor(rand() * 5)], name: randomText(rand, 8), payload: randomText(rand, 20) });
      const res =
        kind === 3
          ? await call('GET', `/api/sagas/${id}?${encodeURIComponent(randomText(rand, 10))}`)
          : await call('POST', `/api/sagas/${rand() < 0.3 ? 'w-1' : id}/commands`, { body, headers: COMMAND_HEADERS });
      expect(res.status, `seed ${SEED}, case ${i}`).toBeLessThan(500);
      const parsed = JSON.parse(res.body);
      if (res.status >= 400) expect(typeof parsed.code, `seed ${SEED}, case ${i}: ${res.body}`).toBe('string');
    }
    expect(await call('GET', '/api/sagas/%E0%A4%A')).toMatchObject({ status: 400, body: expect.stringContaining('BAD_ID') });
    // The saga is still readable and its events, whatever their names, are stored as sent.
    const detail = JSON.parse((await call('GET', '/api/sagas/w-1')).body);
    expect(detail.record.id).toBe('w-1');
  });

  it('shows a saga whose stored snapshot holds odd values instead of failing with 500, and so does orsa show', async () => {
    const odd: Record<string, unknown>[] = [{ visits: null }, { results: [1, 2], timers: 'soon' }, { active: { go: null, other: 3 } }, { failure: 'text', compError: 7 }];
    const store = new SqliteStore({ path: db });
    const runtime = createRuntime({ sagas: [waiting], store, clock: createTestClock() });
    for (let i = 0; i < odd.length; i++) await runtime.startSaga(waiting, undefined, { id: `odd-${i}` });
    await runtime.stop();
    await store.close();
    const raw = new Database(db);
    for (let i = 0; i < odd.length; i++) {
      const { snapshot } = raw.prepare('SELECT snapshot FROM orsa_sagas WHERE id = ?').get(`odd-${i}`) as { snapshot: string };
      const parsed = JSON.parse(snapshot);
      raw.prepare('UPDATE orsa_sagas SET snapshot = ? WHERE id = ?').run(JSON.stringify({ ...parsed, context: { ...parsed.context, ...odd[i] } }), `odd-${i}`);
    }
    raw.close();
    for (let i = 0; i < odd.length; i++) {
      const res = await call('GET', `/api/sagas/odd-${i}`);
      expect(res.status, `${JSON.stringify(odd[i])}: ${res.body}`).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ record: { id: `odd-${i}` }, state: 'go' });
      const out: string[] = [];
      expect(await main(['show', `odd-${i}`, '--db', db], { log: (s) => out.push(s), error: (s) => out.push(s) }), out.join('\n')).toBe(0);
      expect(out.join('\n')).toContain(`saga      odd-${i}`);
    }
    expect((await call('GET', '/api/sagas?q=odd-')).status).toBe(200);
  });

  it('finds a saga by its exact id even when ten thousand newer sagas were updated after it', async () => {
    const raw = new Database(db);
    const columns = (raw.prepare('PRAGMA table_info(orsa_sagas)').all() as { name: string }[]).map((c) => c.name);
    const picked = columns.map((c) => (c === 'id' ? '@id' : c === 'updated_at' ? 'updated_at + @bump' : c)).join(', ');
    const copy = raw.prepare(`INSERT INTO orsa_sagas (${columns.join(', ')}) SELECT ${picked} FROM orsa_sagas WHERE id = 'w-1'`);
    raw.transaction(() => {
      for (let i = 1; i <= 10_001; i++) copy.run({ id: `newer-${i}`, bump: i });
    })();
    raw.close();
    const found = JSON.parse((await call('GET', '/api/sagas?q=w-1')).body);
    expect(found.sagas.map((s: { id: string }) => s.id)).toEqual(['w-1']);
    const filtered = JSON.parse((await call('GET', '/api/sagas?q=w-1&status=completed')).body);
    expect(filtered.sagas).toEqual([]);
  });
});

const pgUrl = process.env.ORSA_TEST_PG_URL;
if (!pgUrl) console.warn('orsa dashboard PostgreSQL spec skipped: set ORSA_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run it');
describe.skipIf(!pgUrl)('orsa dashboard on PostgreSQL', () => {
  it('serves the sagas of an existing schema, and refuses a schema without orsa tables', async () => {
    const schema = `dash_${randomBytes(6).toString('hex')}`;
    const store = new PostgresStore({ connectionString: pgUrl!, schema });
    const runtime = createRuntime({ sagas: [waiting], store, clock: createTestClock() });
    const stop = new AbortController();
    try {
      await runtime.startSaga(waiting, undefined, { id: 'pg-w-1' });
      let listening!: (u: string) => void;
      const ready = new Promise<string>((resolve) => (listening = resolve));
      const serving = main(['dashboard', '--pg', pgUrl!, '--schema', schema, '--port', '0'], { log: () => {}, error: () => {} }, { signal: stop.signal, onListening: listening });
      const base = await ready;
      const list = (await (await fetch(`${base}api/sagas`)).json()) as { sagas: { id: string; status: string }[] };
      expect(list.sagas.map((s) => [s.id, s.status])).toEqual([['pg-w-1', 'waiting']]);
      stop.abort();
      expect(await serving).toBe(0);
      const missing: string[] = [];
      expect(await main(['dashboard', '--pg', pgUrl!, '--schema', `${schema}_nope`, '--port', '0'], { log: (s) => missing.push(s), error: (s) => missing.push(s) })).toBe(1);
      expect(missing.join('\n')).toMatch(/holds no orsa tables \(nothing was created\)/);
    } finally {
      stop.abort();
      await runtime.stop();
      await store.close();
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`DROP SCHEMA "${schema}" CASCADE`);
      await client.end();
    }
  });
});

describe('charts from a --sagas module', () => {
  it('loads the definitions a module exports and draws every kind of step in order', async () => {
    const [order] = await loadSagaModule('machines/order.saga.ts');
    expect(order!.name).toBe('order');
    const nodes = chartFromConfig(order!.config).nodes;
    expect(nodes.map((n) => `${n.kind}:${n.name}`)).toEqual([
      'readiness:readiness',
      'step:reserveStock',
      'parallel:fulfil',
      'step:checkFraud',
      'step:assertNotFraud',
      'wait:confirmation',
      'sleep:pickupWindow',
      'step:notifyCustomer',
    ]);
    expect(nodes[1]).toMatchObject({ compensable: true });
    expect(nodes[2]!.branches!.map((b) => [b.name, b.nodes.map((n) => n.name)])).toEqual([
      ['payment', ['chargePayment']],
      ['shipping', ['bookShipping', 'printLabel']],
    ]);
    expect(nodes[2]!.branches![0]!.nodes[0]).toMatchObject({ compensable: true, maxAttempts: 3 });
    expect(nodes[3]).toMatchObject({ gotos: ['checkFraud'] });
    expect(nodes[5]).toMatchObject({ event: 'order.confirmed' });
    expect(nodes[6]).toMatchObject({ ms: 100 });
  });

  it('says what to pass when the module is missing or exports no saga', async () => {
    await expect(loadSagaModule('no/such/module.js')).rejects.toMatchObject({ code: 'SAGA_MODULE', message: expect.stringMatching(/cannot load the saga module no\/such\/module\.js/) });
    await expect(loadSagaModule('src/cli/terminal.ts')).rejects.toMatchObject({ code: 'SAGA_MODULE', message: expect.stringMatching(/exports no saga definitions/) });
  });
});

describe('terminal escaping (seeded fuzzing)', () => {
  it('leaves no control character in what it prints, and keeps JSON parseable to the same value', () => {
    const rand = prng(SEED);
    for (let i = 0; i < 2_000; i++) {
      const text = randomText(rand, 30);
      expect(clean(text)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      const json = cleanJson({ text });
      expect(json).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      expect(JSON.parse(json)).toEqual({ text });
    }
  });
});
