import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, saga, type Runtime } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { MemoryStore } from '../src/stores/memory/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { INVALID_SAGA_IDS } from '../src/testing/conformance/ids.js';

/*
 * Input and ids are checked like results: what JSON cannot carry unchanged is
 * refused at start, naming the path, before anything is stored; ids are
 * checked identically by the runtime and by every store.
 */

const dir = mkdtempSync(join(tmpdir(), 'orsa-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runtimes: Runtime[] = [];
const track = (runtime: Runtime) => (runtimes.push(runtime), runtime);
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

const echo = saga('echo')
  .input<unknown>()
  .step('copy', ({ input }) => input)
  .build();

class Money {
  constructor(readonly cents: number) {}
}

/** A small seeded PRNG (mulberry32): every run of a seed makes the same cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BAD: [string, () => unknown][] = [
  ['a function', () => () => 1],
  ['a Date', () => new Date(0)],
  ['NaN', () => NaN],
  ['Infinity', () => -Infinity],
  ['a BigInt', () => 10n],
  ['a Map', () => new Map([[1, 2]])],
  ['a Set', () => new Set([1])],
  ['a class instance', () => new Money(5)],
  ['a symbol', () => Symbol('s')],
];

const memberPath = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

/** A random JSON value, with (when `poison`) exactly one bad value somewhere; returns it and the bad value's path. */
function generate(random: () => number, poison: boolean): { value: unknown; badPath: string | null } {
  let badPath: string | null = null;
  const keys = ['a', 'b_2', 'we ird', '__proto__x', 'constructor', '😀', ''];
  const build = (path: string, depth: number, inArray: boolean, mustHoldBad: boolean): unknown => {
    const here = mustHoldBad && (depth >= 3 || random() < 0.3);
    if (here) {
      const options = inArray ? [...BAD, ['undefined in an array', () => undefined] as [string, () => unknown]] : BAD;
      badPath = path;
      return options[Math.floor(random() * options.length)]![1]();
    }
    const kind = mustHoldBad ? (random() < 0.5 ? 'array' : 'object') : ['string', 'number', 'bool', 'null', 'array', 'object'][Math.floor(random() * (depth > 2 ? 4 : 6))];
    switch (kind) {
      case 'string':
        return String.fromCodePoint(...Array.from({ length: Math.floor(random() * 6) }, () => 32 + Math.floor(random() * 0x2000)));
      case 'number':
        return random() < 0.5 ? Math.floor(random() * 1e6) - 5e5 : random() * 1e9;
      case 'bool':
        return random() < 0.5;
      case 'null':
        return null;
      case 'array': {
        const length = 1 + Math.floor(random() * 3);
        const holder = mustHoldBad ? Math.floor(random() * length) : -1;
        return Array.from({ length }, (_, i) => build(`${path}[${i}]`, depth + 1, true, i === holder));
      }
      default: {
        const object: Record<string, unknown> = {};
        const chosen = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => keys[Math.floor(random() * keys.length)]!))];
        const holder = mustHoldBad ? Math.floor(random() * chosen.length) : -1;
        chosen.forEach((key, i) => (object[key] = build(`${path}${memberPath(key)}`, depth + 1, false, i === holder)));
        return object;
      }
    }
  };
  const value = build('$', 0, false, poison);
  return { value, badPath };
}

describe('input', () => {
  it.each([...BAD, ['a cycle', () => { const a: Record<string, unknown> = {}; a.self = a; return a; }] as [string, () => unknown]])(
    'refuses input holding %s at start, naming its path, and stores nothing',
    async (_, make) => {
      const store = new MemoryStore();
      const runtime = track(createRuntime({ sagas: [echo], store, clock: createTestClock() }));
      const input = { order: { lines: [1, { price: make() }] } };
      const error = await runtime.startSaga(echo, input).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INPUT_NOT_SERIALIZABLE', name: 'InputNotSerializableError' });
      const path = (error as { path: string }).path;
      expect(path).toMatch(/^\$\.order\.lines\[1\]\.price/);
      expect((error as Error).message).toContain(path);
      expect(await store.list()).toEqual([]);
    },
  );

  it('refuses input larger than maxInputBytes, saying which option to raise', async () => {
    const store = new MemoryStore();
    const runtime = track(createRuntime({ sagas: [echo], store, clock: createTestClock(), maxInputBytes: 2_000 }));
    await expect(runtime.startSaga(echo, { blob: 'é'.repeat(1_500) })).rejects.toMatchObject({
      code: 'INPUT_NOT_SERIALIZABLE',
      message: expect.stringMatching(/larger than 2000 bytes as JSON.*raise maxInputBytes/),
    });
    await expect(runtime.startSaga(echo, { blob: 'e'.repeat(1_500) })).resolves.toMatchObject({ created: true });
  });

  it('fuzz (seeded): refuses exactly the inputs JSON would change, at the right path; stores the others unchanged', async () => {
    const seed = Number(process.env.ORSA_FUZZ_SEED ?? 20261126);
    const random = prng(seed);
    const clock = createTestClock();
    const store = new MemoryStore();
    const runtime = track(createRuntime({ sagas: [echo], store, clock }));
    for (let i = 0; i < 400; i++) {
      const poison = random() < 0.5;
      const { value, badPath } = generate(random, poison);
      const started = await runtime.startSaga(echo, value, { id: `fuzz-${i}` }).then(
        () => null,
        (e: unknown) => e as { code: string; path: string },
      );
      if (poison) {
        expect(started, `seed ${seed} case ${i}`).toMatchObject({ code: 'INPUT_NOT_SERIALIZABLE', path: badPath });
        expect(await store.get(`fuzz-${i}`)).toBeUndefined();
      } else {
        expect(started, `seed ${seed} case ${i}`).toBeNull();
        await clock.advance(1);
        await expect(runtime.result(`fuzz-${i}`)).resolves.toEqual({ copy: JSON.parse(JSON.stringify(value)) });
        expect(JSON.parse(JSON.stringify(value))).toEqual(value);
      }
    }
  });
});

describe('ids', () => {
  it.each(INVALID_SAGA_IDS)('refuses an id with %s in startSaga, send, cancel and result, storing nothing', async (_, id) => {
    const store = new MemoryStore();
    const runtime = track(createRuntime({ sagas: [echo], store, clock: createTestClock() }));
    await expect(runtime.startSaga(echo, 1, { id })).rejects.toMatchObject({ code: 'INVALID_SAGA_ID', message: expect.stringMatching(/use 1 to 255 printable/) });
    await expect(runtime.send(id, 'x')).rejects.toMatchObject({ code: 'INVALID_SAGA_ID' });
    await expect(runtime.cancel(id)).rejects.toMatchObject({ code: 'INVALID_SAGA_ID' });
    await expect(runtime.result(id)).rejects.toMatchObject({ code: 'INVALID_SAGA_ID' });
    expect(await store.list()).toEqual([]);
  });

  it('fuzz (seeded): the runtime and every store give the same verdict on random ids, and keep valid ones apart', async () => {
    const seed = Number(process.env.ORSA_FUZZ_SEED ?? 4242);
    const random = prng(seed);
    const stores: SagaStore[] = [new MemoryStore(), new SqliteStore({ path: join(dir, 'ids.db') })];
    for (const store of stores) await store.init();
    const runtime = track(createRuntime({ sagas: [echo], store: stores[1]!, clock: createTestClock() }));
    const pool = ['a', 'Z', '-', ' ', 'é', '😀', '\uD800', '\uDC00', '\u0000', '\n', '\u001b', '\u007f', '\u009f', '\u00a0', '\uFFFD', '\u2028'];
    // An independent oracle: encodeURIComponent throws on lone surrogates; controls are C0, DEL and C1.
    const valid = (id: string) => {
      try {
        encodeURIComponent(id);
      } catch {
        return false;
      }
      return id.length >= 1 && id.length <= 255 && ![...id].some((c) => c.codePointAt(0)! < 0x20 || (c.codePointAt(0)! >= 0x7f && c.codePointAt(0)! <= 0x9f));
    };
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const length = random() < 0.05 ? 250 + Math.floor(random() * 10) : Math.floor(random() * 8);
      let id = Array.from({ length }, () => pool[Math.floor(random() * (random() < 0.8 ? 6 : pool.length))]!).join('');
      if (seen.has(id)) continue;
      seen.add(id);
      const expected = valid(id);
      const verdicts = await Promise.all([
        ...stores.map((store) =>
          store.insert({ id, sagaName: 'x', version: 'v', status: 'running', snapshot: '{}', dueAt: null, owner: null, leaseUntil: null, now: 0 }, []).then(
            (r) => r.inserted,
            (e: { code?: string }) => e.code,
          ),
        ),
        // A saga of a name this runtime does not run: the event is stored for the worker that does.
        runtime.send(id, 'x').then(
          () => 'sent',
          (e: { code?: string }) => e.code,
        ),
      ]);
      const context = `seed ${seed} id ${JSON.stringify(id)}`;
      if (expected) expect(verdicts, context).toEqual([true, true, 'sent']);
      else expect(verdicts, context).toEqual(['INVALID_SAGA_ID', 'INVALID_SAGA_ID', 'INVALID_SAGA_ID']);
      id = '';
    }
    for (const store of stores) expect((await store.list({ limit: 1_000 })).map((r) => r.id).sort(), `seed ${seed}`).toEqual([...seen].filter(valid).sort());
    for (const store of stores) await store.close();
  });
});

describe('createRuntime options', () => {
  it.each([
    ['leaseMs', NaN],
    ['leaseMs', 0],
    ['leaseMs', -5],
    ['leaseMs', 1.5],
    ['pollIntervalMs', Infinity],
    ['claimBatch', '100'],
    ['maxResultBytes', 0],
    ['maxInputBytes', -1],
    ['maxLeaseLosses', 0.5],
  ])('refuses %s: %s, naming the option and what it allows', (option, value) => {
    expect(() => createRuntime({ sagas: [echo], store: new MemoryStore(), [option]: value })).toThrow(
      expect.objectContaining({ code: 'RUNTIME_CONFIG', message: expect.stringMatching(new RegExp(`${option} must be a positive integer`)) }),
    );
  });

  it('refuses a runtime without sagas', () => {
    expect(() => createRuntime({ sagas: [] })).toThrow(expect.objectContaining({ code: 'RUNTIME_CONFIG', message: expect.stringMatching(/at least one saga/) }));
  });
});
