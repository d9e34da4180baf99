import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, NonRetryableError, saga, type Runtime } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { MAX_QUEUED_PER_EVENT } from '../src/compilation/machine.js';
import { MemoryStore } from '../src/stores/memory/store.js';
import { SQLITE_MIGRATIONS } from '../src/stores/sqlite/migrations.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

/*
 * Events and commands travel in separate channels: a user event can never
 * be taken for a command, whatever its name, and no lookup keyed by a user
 * string reads Object.prototype.
 */

const dir = mkdtempSync(join(tmpdir(), 'orsa-channels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const runtimes: Runtime[] = [];
const track = (runtime: Runtime) => (runtimes.push(runtime), runtime);
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

const approval = saga('approval')
  .step('reserve', () => 'r-1', { compensate: () => {} })
  .waitFor('approved', { event: 'order.approved' })
  .step('ship', () => 's-1')
  .build();

const POISON_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', '$cancel', '$retryCompensation', '$resume', 'cancel', 'leaseLost'];

const stores: [string, () => SagaStore][] = [
  ['memory', () => new MemoryStore()],
  ['SQLite', () => new SqliteStore({ path: join(dir, `channels-${++files}.db`) })],
];

describe.each(stores)('events and commands on %s', (_, makeStore) => {
  it('refuses an event name no wait declares, listing the ones it waits for, and stores nothing', async () => {
    const clock = createTestClock();
    const store = makeStore();
    const errors: unknown[] = [];
    const runtime = track(createRuntime({ sagas: [approval], store, clock, onError: (e) => errors.push(e) }));
    const { id } = await runtime.startSaga(approval, undefined);
    await clock.advance(10);
    for (const name of POISON_NAMES) {
      const sent = runtime.send(id, name, { x: 1 });
      await expect(sent).rejects.toMatchObject({ code: 'UNKNOWN_EVENT', name: 'UnknownEventError' });
      await expect(sent).rejects.toThrow(/It waits for: "order\.approved"/);
    }
    expect(await store.inbox(id)).toEqual([]);
    expect((await store.get(id))?.status).toBe('waiting');
    await runtime.send(id, 'order.approved', { by: 'ana' });
    await expect(runtime.result(id)).resolves.toEqual({ reserve: 'r-1', approved: { by: 'ana' }, ship: 's-1' });
    expect(errors).toEqual([]);
  });

  it('neither crashes nor cancels on poison event names stored by a raw store user, and consumes them', async () => {
    const clock = createTestClock();
    const store = makeStore();
    const errors: unknown[] = [];
    const runtime = track(createRuntime({ sagas: [approval], store, clock, onError: (e) => errors.push(e) }));
    const { id } = await runtime.startSaga(approval, undefined);
    await clock.advance(10);
    for (const name of POISON_NAMES) await store.sendEvent(id, name, '{"x":1}', clock.now());
    await store.sendEvent(id, 'order.approved', 'not json', clock.now()); // an unreadable payload: consumed without effect
    await store.sendEvent(id, 'toString', 'null', clock.now(), 'command'); // an unknown command: likewise
    await clock.advance(2_000);
    expect((await store.get(id))?.status).toBe('waiting');
    expect(await store.inbox(id)).toEqual([]);
    const { context } = JSON.parse((await store.get(id))!.snapshot);
    expect(context.inbox).toEqual([]);
    await runtime.send(id, 'order.approved', 'ok');
    await expect(runtime.result(id)).resolves.toMatchObject({ approved: 'ok' });
    expect(errors).toEqual([]);
  });

  it('refuses an event payload JSON would change, naming the path, and stores nothing', async () => {
    const clock = createTestClock();
    const store = makeStore();
    const runtime = track(createRuntime({ sagas: [approval], store, clock, onError: () => {} }));
    const { id } = await runtime.startSaga(approval, undefined);
    await clock.advance(10);
    await expect(runtime.send(id, 'order.approved', { at: new Date(0) })).rejects.toMatchObject({
      code: 'INVALID_EVENT',
      message: expect.stringMatching(/\$\.at is a Date.*it was not delivered/),
    });
    expect(await store.inbox(id)).toEqual([]);
  });

  it('takes commands only from the command channel', async () => {
    const clock = createTestClock();
    const store = makeStore();
    const runtime = track(createRuntime({ sagas: [approval], store, clock, onError: () => {} }));
    const { id } = await runtime.startSaga(approval, undefined);
    await clock.advance(10);
    await store.sendEvent(id, 'cancel', 'null', clock.now(), 'event');
    await clock.advance(2_000);
    expect((await store.get(id))?.status).toBe('waiting');
    await store.sendEvent(id, 'cancel', 'null', clock.now(), 'command');
    await clock.advance(2_000);
    expect((await store.get(id))?.status).toBe('cancelled');
  });

  it('refuses commands and events for a saga that has ended, storing nothing', async () => {
    const clock = createTestClock();
    const store = makeStore();
    const runtime = track(createRuntime({ sagas: [approval], store, clock, onError: () => {} }));
    const { id } = await runtime.startSaga(approval, undefined);
    await clock.advance(10);
    await expect(runtime.retryCompensation(id)).rejects.toMatchObject({ code: 'NOT_FAILED', message: expect.stringMatching(/is waiting, not failed/) });
    await runtime.send(id, 'order.approved', 1);
    await runtime.result(id);
    await expect(runtime.cancel(id)).rejects.toMatchObject({ code: 'SAGA_ENDED', message: expect.stringMatching(/already ended completed; there is nothing to cancel/) });
    await expect(runtime.send(id, 'order.approved', 2)).rejects.toMatchObject({ code: 'SAGA_ENDED' });
    await expect(runtime.retryCompensation(id)).rejects.toMatchObject({ code: 'NOT_FAILED' });
    await expect(runtime.cancel('nope')).rejects.toMatchObject({ code: 'UNKNOWN_SAGA' });
    expect(await store.inbox(id)).toEqual([]);

    const failing = saga('fails-for-good')
      .step('charge', () => 1, { compensate: () => Promise.reject(new Error('refund API down')), compensateRetry: 0 })
      .step('ship', () => Promise.reject(new NonRetryableError('no stock')))
      .build();
    const other = track(createRuntime({ sagas: [failing], store, clock, onError: () => {} }));
    const started = await other.startSaga(failing, undefined);
    await clock.advance(10);
    expect((await store.get(started.id))?.status).toBe('failed');
    await expect(other.cancel(started.id)).rejects.toMatchObject({ code: 'SAGA_ENDED', message: expect.stringMatching(/retryCompensation/) });
  });

  it('keeps at most MAX_QUEUED_PER_EVENT events of one name in the snapshot before a wait takes them', async () => {
    const clock = createTestClock();
    const store = makeStore();
    let release!: () => void;
    const slow = saga('slow-then-wait')
      .step('slow', () => new Promise<number>((r) => (release = () => r(1))))
      .waitFor('approved', { event: 'go' })
      .build();
    const runtime = track(createRuntime({ sagas: [slow], store, clock, onError: () => {} }));
    const { id } = await runtime.startSaga(slow, undefined);
    await clock.advance(10);
    for (let i = 0; i < MAX_QUEUED_PER_EVENT; i++) await runtime.send(id, 'go', i);
    // Past the limit an event is refused, not stored and then dropped (test/event-backlog.test.ts).
    await expect(runtime.send(id, 'go', 'late')).rejects.toMatchObject({ code: 'EVENT_BACKLOG_FULL' });
    await clock.advance(10);
    const { context } = JSON.parse((await store.get(id))!.snapshot);
    expect(context.inbox).toHaveLength(MAX_QUEUED_PER_EVENT);
    release();
    // The first that arrived is the one the wait takes.
    await expect(runtime.result(id)).resolves.toEqual({ slow: 1, approved: 0 });
  });
});

describe('the in-memory handle', () => {
  it('refuses an event name no wait declares, listing the ones it waits for', async () => {
    const handle = await approval.start(undefined);
    for (const name of POISON_NAMES) {
      await expect(handle.send(name)).rejects.toMatchObject({ code: 'UNKNOWN_EVENT', message: expect.stringMatching(/"order\.approved"/) });
    }
    await handle.send('order.approved', 'yes');
    await expect(handle.result).resolves.toMatchObject({ approved: 'yes' });
  });
});

describe('the inbox migration', () => {
  it('turns commands stored as "$name" events before the upgrade into commands, and keeps user events as events', async () => {
    const path = join(dir, 'old.db');
    const db = new Database(path);
    db.exec('CREATE TABLE orsa_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)');
    for (const statement of SQLITE_MIGRATIONS[0]!.up) db.exec(statement);
    db.prepare('INSERT INTO orsa_migrations (version, name) VALUES (1, ?)').run(SQLITE_MIGRATIONS[0]!.name);
    db.prepare(`INSERT INTO orsa_sagas (id, saga_name, version, status, snapshot, row_version, created_at, updated_at) VALUES ('old-1', 'x', 'v', 'running', '{}', 1, 0, 0)`).run();
    const insert = db.prepare(`INSERT INTO orsa_inbox (saga_id, name, payload, at) VALUES ('old-1', ?, 'null', 0)`);
    for (const name of ['$cancel', 'order.approved', '$resume']) insert.run(name);
    db.close();
    const store = new SqliteStore({ path });
    await store.init();
    expect((await store.inbox('old-1')).map((e) => [e.kind, e.name])).toEqual([
      ['command', 'cancel'],
      ['event', 'order.approved'],
      ['command', 'resume'],
    ]);
    await store.close();
  });
});
