import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SagaDefinition } from '../../interpretation/definition.js';
import type { SagaStore } from '../../stores/types.js';
import { isControlRefusal, queuedCancelledMessage, sendCommand, storedMessage, type ControlCommand } from '../control.js';
import { indexDefinitions, listSagas, sagaDetail } from './api.js';
import { PAGE_HTML, PAGE_SCRIPT, PAGE_STYLE } from './page.js';

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  store: SagaStore;
  /** Definitions to draw charts from. Default none: charts are drawn from the stored history. */
  sagas?: readonly SagaDefinition<any, any>[];
  /** Interface to listen on. Default `127.0.0.1` (this machine only). */
  host?: string;
  /** TCP port; 0 picks a free one. Default 7070. */
  port?: number;
  /** How often the page asks for fresh data, in ms. Default 1000. */
  refreshMs?: number;
  /** Time source for the commands it stores. Default `Date.now`. */
  now?: () => number;
}

/** A running dashboard. */
export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** An HTTP answer other than 200, with the dashboard API's own error code (not an orsa error: nothing outside this server sees it). */
class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * Serves the dashboard: one page (HTML, script and style from this package;
 * nothing from the internet) and a small JSON API it polls. Commands are
 * stored in the saga's inbox with {@link sendCommand}, like the CLI's.
 *
 * @example
 * ```ts
 * const dashboard = await startDashboard({ store, sagas: [order], port: 0 });
 * console.log(dashboard.url); // http://127.0.0.1:38211/
 * await dashboard.close();
 * ```
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const definitions = indexDefinitions(options.sagas ?? []);
  const now = options.now ?? Date.now;
  const refreshMs = options.refreshMs ?? 1000;
  let allowedHosts: Set<string> | null = null;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // A page on another site must not reach a loopback dashboard through DNS rebinding.
    if (allowedHosts && !allowedHosts.has(req.headers.host ?? '')) throw new HttpError(421, 'WRONG_HOST', 'open the dashboard by the address it printed');
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/') return send(res, 200, 'text/html; charset=utf-8', PAGE_HTML.replace('__REFRESH_MS__', String(refreshMs)));
    if (req.method === 'GET' && path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', PAGE_SCRIPT);
    if (req.method === 'GET' && path === '/app.css') return send(res, 200, 'text/css; charset=utf-8', PAGE_STYLE);
    if (req.method === 'GET' && path === '/api/sagas') return json(res, 200, await listSagas(options.store, url.searchParams));
    const match = /^\/api\/sagas\/([^/]+)(\/commands)?$/.exec(path);
    if (match) {
      const id = decodeId(match[1]!);
      if (req.method === 'GET' && !match[2]) {
        const detail = await sagaDetail(options.store, id, definitions);
        if (!detail) throw new HttpError(404, 'UNKNOWN_SAGA', `no saga with id "${id}"`);
        return json(res, 200, detail);
      }
      if (req.method === 'POST' && match[2]) {
        // A custom header cannot be sent cross-site without a CORS preflight, which this server never grants.
        if (req.headers['x-orsa-dashboard'] !== '1') throw new HttpError(403, 'NOT_FROM_DASHBOARD', 'commands are accepted from the dashboard page only');
        const body = (await readJson(req)) as { command?: unknown; name?: unknown; payload?: unknown };
        const command = body.command as ControlCommand;
        if (!['cancel', 'retry', 'resume', 'event'].includes(command)) {
          throw new HttpError(400, 'BAD_COMMAND', 'command must be one of cancel, retry, resume, event');
        }
        try {
          const stored = await sendCommand(options.store, id, { command, ...(typeof body.name === 'string' ? { name: body.name } : {}), payload: body.payload }, now());
          if (stored.cancelledQueued) return json(res, 200, { seq: null, message: queuedCancelledMessage(id) });
          return json(res, 200, { seq: stored.seq, message: storedMessage(command, id, stored.seq, stored.sagaName, stored.version) });
        } catch (error) {
          if (isControlRefusal(error)) throw new HttpError(error.code === 'UNKNOWN_SAGA' ? 404 : 409, error.code, error.message);
          throw error;
        }
      }
    }
    throw new HttpError(404, 'NOT_FOUND', `nothing at ${req.method} ${path}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) return json(res, error.status, { code: error.code, error: error.message });
      json(res, 500, { code: 'INTERNAL', error: `the dashboard could not read the store: ${(error as Error)?.message ?? String(error)}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 7070, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  if (LOOPBACK.has(host)) allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'BAD_ID', 'the saga id in the address is not valid percent-encoding; encode it with encodeURIComponent');
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // Only this server's own script and style run: even a value that escaped escaping could not execute.
    'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'BODY_TOO_LARGE', `a command body holds at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (!value || typeof value !== 'object') throw new Error('not an object');
    return value;
  } catch {
    throw new HttpError(400, 'BAD_JSON', 'send a JSON object such as {"command":"cancel"}');
  }
}
