import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../src/cli/dashboard/server.js';
import { createRuntime, createTestClock, NonRetryableError, saga, type Runtime } from '../src/index.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

// Screenshots go to test-results/ (ignored by git); ORSA_UPDATE_SCREENSHOTS=1 refreshes the ones README.md shows, in docs/.
const screenshotPath = (name: string): string => `${process.env.ORSA_UPDATE_SCREENSHOTS ? 'docs' : 'test-results'}/${name}`;

/**
 * The dashboard end to end: a real runtime writes sagas in every status to a
 * SQLite file; the dashboard (its own connection to that file, as `orsa
 * dashboard` opens it) serves them; headless Chromium reads the pages and
 * clicks. Cancelling goes through the inbox; the runtime, on the simulated
 * clock, picks it up when the test advances time.
 */
const HOSTILE_ID = `<img src=x onerror="window.__pwned=1">"'&amp;`;

const order = saga('order')
  .input<{ amount: number }>()
  .step('reserve', () => ({ reservation: 'r-1' }), { compensate: () => {} })
  .step(
    'charge',
    ({ input, attempt }) => {
      if (input.amount > 1000) throw new NonRetryableError(`amount ${input.amount} is above the 1000 limit`);
      if (attempt < 2) throw new Error('gateway timeout');
      return { charge: 'c-1', amount: input.amount };
    },
    { retry: { maxAttempts: 3, delayMs: 10 } },
  )
  .waitFor('confirmation', { event: 'confirmed' })
  .sleep('coolDown', 50)
  .step('ship', () => 'shipped')
  .build();
const stuck = saga('stuck-refund')
  .step('reserve', () => 'r', { compensate: () => { throw new NonRetryableError('warehouse offline'); } })
  .step('charge', () => { throw new NonRetryableError('card declined'); })
  .build();

// Debian's chromium (installed by .ci/run); elsewhere point ORSA_CHROMIUM at a Chromium binary. In CI it must run.
const chromiumPath = process.env.ORSA_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium && !process.env.CI) console.warn(`dashboard browser specs skipped: no Chromium at ${chromiumPath} (set ORSA_CHROMIUM, or apt-get install chromium)`);

const launchArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe.skipIf(!hasChromium && !process.env.CI)('orsa dashboard in Chromium', { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'orsa-dashboard-'));
  const db = join(dir, 'sagas.db');
  const clock = createTestClock();
  let runtimeStore: SqliteStore;
  let runtime: Runtime;
  let dashboardStore: SqliteStore;
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    runtimeStore = new SqliteStore({ path: db });
    runtime = createRuntime({ sagas: [order, stuck], store: runtimeStore, clock, workerId: 'worker-a' });
    await runtime.startSaga(order, { amount: 20 }, { id: 'order-done' });
    await runtime.startSaga(order, { amount: 5000 }, { id: 'order-refused' });
    await runtime.startSaga(order, { amount: 30 }, { id: 'order-waiting' });
    await runtime.startSaga(order, { amount: 40 }, { id: 'order-cancelled' });
    await runtime.startSaga(order, { amount: 50 }, { id: HOSTILE_ID });
    await runtime.startSaga(stuck, undefined, { id: 'refund-stuck' });
    await clock.advance(100);
    await runtime.send('order-done', 'confirmed', { by: 'ops' });
    await runtime.cancel('order-cancelled');
    await clock.advance(100);
    await expect(runtime.result('order-done')).resolves.toMatchObject({ ship: 'shipped' });

    dashboardStore = new SqliteStore({ path: db });
    await dashboardStore.init();
    dashboard = await startDashboard({ store: dashboardStore, sagas: [order, stuck], port: 0, refreshMs: 100 });
    browser = await chromium.launch({ executablePath: chromiumPath, args: launchArgs });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await runtime?.stop();
    await runtimeStore?.close();
    await dashboardStore?.close();
  });

  const row = (id: string) => page.locator('tr[data-id]').filter({ has: page.getByRole('link', { name: id, exact: true }) });

  it('lists every saga with its status, counts per status, a status filter and search by id', async () => {
    await page.goto(dashboard.url);
    await row('order-waiting').waitFor();
    expect(await row('order-done').locator('[data-status]').textContent()).toBe('completed');
    expect(await row('order-refused').locator('[data-status]').textContent()).toBe('compensated');
    expect(await row('order-waiting').locator('[data-status]').textContent()).toBe('waiting');
    expect(await row('order-cancelled').locator('[data-status]').textContent()).toBe('cancelled');
    expect(await row('refund-stuck').locator('[data-status]').textContent()).toBe('failed');
    const count = async (status: string) => page.locator(`[data-count="${status}"]`).textContent();
    expect([await count('completed'), await count('compensated'), await count('failed'), await count('cancelled'), await count('waiting')]).toEqual(['1', '1', '1', '1', '2']);
    await page.screenshot({ path: screenshotPath('dashboard.png'), fullPage: true });

    await page.locator('[data-filter="failed"]').click();
    await expect.poll(() => page.locator('tr[data-id]').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.locator('tr[data-id]').getAttribute('data-id')).toBe('refund-stuck');
    await page.locator('[data-filter="failed"]').click();
    await page.getByLabel('search by id').fill('cancel');
    // The rows shown until the search's answer arrives (the one failed saga) must not pass for it.
    const shown = () => page.locator('tr[data-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    await expect.poll(shown, { timeout: 20_000 }).toEqual(['order-cancelled']);
  });

  it('shows a hostile id as text: nothing from the store runs as markup', async () => {
    await page.goto(dashboard.url);
    await row(HOSTILE_ID).waitFor();
    expect(await row(HOSTILE_ID).locator('a').textContent()).toBe(HOSTILE_ID);
    await row(HOSTILE_ID).locator('a').click();
    await page.locator('h1[data-region="title"]').waitFor();
    expect(await page.locator('h1[data-region="title"]').textContent()).toBe(HOSTILE_ID);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  it('shows the list for an address whose saga id is not valid percent-encoding', async () => {
    await page.goto(`${dashboard.url}#/saga/%E0%A4%A`);
    await row('order-waiting').waitFor({ timeout: 20_000 });
    expect(await page.locator('h1').first().textContent()).toBe('Sagas');
  });

  it("shows a saga's chart with its current state, visit and failure counts, timeline, input and results", async () => {
    await page.goto(`${dashboard.url}#/saga/order-waiting`);
    const current = page.locator('.node.current');
    await current.waitFor();
    expect(await current.getAttribute('data-step')).toBe('confirmation');
    expect(await page.locator('[data-step="coolDown"] .kind').textContent()).toBe('sleeps 50 ms');
    expect(await page.locator('[data-visits="charge"]').textContent()).toBe('visits 1');
    expect(await page.locator('[data-failures="charge"]').textContent()).toBe('failures 1');
    expect(await page.locator('[data-step="reserve"] .comp').textContent()).toContain('has compensation');
    const timeline = page.locator('[data-region="timeline"]');
    expect(await timeline.locator('tbody tr').first().textContent()).toMatch(/^\+0saga\.started/);
    expect(await timeline.textContent()).toContain('error: gateway timeout');
    expect(JSON.parse((await page.locator('[data-region="input"]').textContent())!)).toEqual({ amount: 30 });
    expect(JSON.parse((await page.locator('[data-region="results"]').textContent())!)).toMatchObject({ charge: { charge: 'c-1', amount: 30 } });

    await page.goto(`${dashboard.url}#/saga/refund-stuck`);
    await page.locator('[data-region="errors"]').waitFor();
    expect(await page.locator('[data-region="errors"]').textContent()).toMatch(/Failed step charge: card declined.*Compensation error: warehouse offline/);
    expect(await page.locator('[data-final="failed"]').getAttribute('class')).toContain('current');
    expect(await page.locator('[data-action="retry"]').isDisabled()).toBe(false);
    expect(await page.locator('[data-action="cancel"]').isDisabled()).toBe(true);

    await page.goto(`${dashboard.url}#/saga/order-done`);
    await page.locator('[data-final="completed"].current').waitFor();
    expect(await page.locator('[data-region="timeline"]').textContent()).toContain('sleep.started');
  });

  it('cancels a waiting saga after a confirmation, through the inbox, and shows it end cancelled without a reload', async () => {
    await page.goto(`${dashboard.url}#/saga/order-waiting`);
    await page.locator('.node.current').waitFor();
    await page.screenshot({ path: screenshotPath('dashboard-saga.png'), fullPage: true });
    await page.locator('[data-action="cancel"]').click();
    const dialog = page.getByRole('dialog', { name: 'confirm' });
    expect(await dialog.textContent()).toContain('Cancel saga "order-waiting"?');
    expect(await dashboardStore.inbox('order-waiting')).toEqual([]); // nothing is sent before the confirmation
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toMatch(/stored: cancel for saga order-waiting .*will act on it when it runs/);
    await page.locator('[data-region="pending"]').getByText('cancel').waitFor();
    expect((await dashboardStore.inbox('order-waiting')).map((e) => [e.kind, e.name])).toEqual([['command', 'cancel']]);

    await clock.advance(1_000); // the runtime polls, claims the saga, compensates and cancels it
    await page.locator('h1 + p [data-status="cancelled"]').waitFor();
    expect(await page.locator('[data-final="cancelled"]').getAttribute('class')).toContain('current');
    expect(await page.locator('[data-region="timeline"]').textContent()).toContain('compensation.completed');
    expect(await page.locator('[data-region="pending"]').count()).toBe(0);
  });

  it('sends an event with a JSON payload after a confirmation, and the saga goes on to complete', async () => {
    await page.goto(`${dashboard.url}#/saga/${encodeURIComponent(HOSTILE_ID)}`);
    await page.locator('.node.current[data-step="confirmation"]').waitFor();
    await page.getByLabel('event name').fill('confirmed');
    await page.getByLabel('event payload').fill('{"by": "night shift"}');
    await page.locator('[data-action="event"]').click();
    const dialog = page.getByRole('dialog', { name: 'confirm' });
    expect(await dialog.textContent()).toContain(`Send the event "confirmed" to saga "${HOSTILE_ID}"?`);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('[data-region="pending"]').getByText('{"by":"night shift"}').waitFor();
    await clock.advance(1_000); // the runtime takes the event, sleeps 50 ms, ships
    await clock.advance(1_000);
    await page.locator('h1 + p [data-status="completed"]').waitFor();
    expect(JSON.parse((await page.locator('[data-region="results"]').textContent())!)).toMatchObject({ ship: 'shipped' });
    expect(await page.locator('[data-region="timeline"]').textContent()).toContain('event confirmed');
  });

  it('retries the compensation of a failed saga after a confirmation; the worker runs it again', async () => {
    await page.goto(`${dashboard.url}#/saga/refund-stuck`);
    await page.locator('[data-final="failed"].current').waitFor();
    const failedBefore = (await dashboardStore.history('refund-stuck')).filter((e) => e.type === 'compensation.failed').length;
    await page.locator('[data-action="retry"]').click();
    const dialog = page.getByRole('dialog', { name: 'confirm' });
    expect(await dialog.textContent()).toContain('Retry the compensation of saga "refund-stuck"?');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    expect(await page.getByRole('status').textContent()).toMatch(/stored: retry for saga refund-stuck .*when it runs/);
    await clock.advance(1_000); // the compensation runs again, and fails again: the warehouse is still offline
    await expect.poll(async () => (await dashboardStore.history('refund-stuck')).filter((e) => e.type === 'compensation.failed').length, { timeout: 20_000 }).toBe(failedBefore + 1);
    await expect.poll(() => page.locator('[data-region="timeline"] tr', { hasText: 'compensation.failed' }).count(), { timeout: 20_000 }).toBe(failedBefore + 1);
    expect(await page.locator('[data-final="failed"]').getAttribute('class')).toContain('current');
  });
});
