import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Runs where XState runs: the core and the in-memory runtime bundled for a browser (no Node
// polyfills) and run in headless Chromium.
const outdir = mkdtempSync(join(tmpdir(), 'orsa-browser-'));
// https: crypto.randomUUID (saga ids) exists only in a secure context. Requests never leave the page: page.route serves them.
const origin = 'https://orsa.test';
let browser: Browser;

beforeAll(async () => {
  await build({
    entryPoints: [join(import.meta.dirname, 'fixtures', 'browser', 'app.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    // The default SQLite store is imported only when a runtime gets no store: its chunk (the one
    // that names node:*) is split off and never loaded by a page that passes a store.
    splitting: true,
    external: ['node:*'],
    outdir,
    logLevel: 'warning',
  });
  browser = await chromium.launch({
    executablePath: process.env.ORSA_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  rmSync(outdir, { recursive: true, force: true });
});

describe('in a browser', () => {
  it('loads no Node module from the entry chunk', () => {
    const entry = readFileSync(join(outdir, 'app.js'), 'utf8');
    expect(entry).not.toMatch(/from\s*["']node:/);
    expect(readdirSync(outdir).some((f) => f !== 'app.js')).toBe(true); // the split-off default-store chunk
  });

  it('runs a saga that fails and undoes its completed steps in reverse order, with run() and with a MemoryStore runtime', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.route(`${origin}/**`, (route) => {
      const path = new URL(route.request().url()).pathname.slice(1) || 'index.html';
      if (path === 'index.html') return route.fulfill({ contentType: 'text/html', body: '<!doctype html><script type="module" src="/app.js"></script>' });
      if (extname(path) !== '.js') return route.fulfill({ status: 404, body: '' });
      return route.fulfill({ contentType: 'text/javascript', body: readFileSync(join(outdir, path), 'utf8') });
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (globalThis as { orsaResult?: unknown }).orsaResult !== undefined, undefined, { timeout: 60_000 });
    const result = await page.evaluate(() => (globalThis as { orsaResult?: unknown }).orsaResult);
    await page.close();
    expect(errors).toEqual([]);
    expect(result).toEqual({
      viaRun: { undone: ['hotel 12', 'flight LH-123'], failed: { status: 'compensated', step: 'car' } },
      viaRuntime: { undone: ['hotel 12', 'flight LH-123'], status: 'compensated', history: expect.arrayContaining(['saga.started']) },
      mermaid: true,
      hasProcess: false,
    });
  }, 120_000);
});
