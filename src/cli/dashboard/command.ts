import type { SagaStore } from '../../stores/types.js';
import type { Output } from '../commands.js';
import { loadSagaModule } from '../saga-module.js';
import { clean } from '../terminal.js';
import { startDashboard } from './server.js';

/**
 * `orsa dashboard`: serves the dashboard until `signal` aborts (Ctrl-C) and
 * prints its URL. Binds 127.0.0.1 unless `--host` says otherwise.
 *
 * @example
 * ```ts
 * await runDashboard(store, { port: '0', signal, out: { log: console.log, error: console.error } });
 * ```
 */
export async function runDashboard(
  store: SagaStore,
  options: { host?: string | undefined; port?: string | undefined; sagas?: string | undefined; 'interval-ms'?: string | undefined; signal: AbortSignal; out: Output; onListening?: (url: string) => void },
): Promise<number> {
  const port = options.port === undefined ? 7070 : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    options.out.error('orsa: --port takes a TCP port number (0 picks a free one)');
    return 2;
  }
  const sagas = options.sagas ? await loadSagaModule(options.sagas) : [];
  let dashboard;
  try {
    dashboard = await startDashboard({
      store,
      sagas,
      port,
      ...(options.host ? { host: options.host } : {}),
      ...(options['interval-ms'] ? { refreshMs: Number(options['interval-ms']) } : {}),
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL' && code !== 'EACCES') throw error;
    options.out.error(`orsa: cannot listen on ${clean(options.host ?? '127.0.0.1')}:${port} (${code}); pass another --port (0 picks a free one) or --host`);
    return 1;
  }
  options.out.log(`orsa dashboard: ${dashboard.url}  (${sagas.length ? `charts of ${sagas.length} definition(s)` : 'charts drawn from stored history; --sagas MODULE draws full charts'}; Ctrl-C stops it)`);
  if (options.host && !['127.0.0.1', 'localhost', '::1'].includes(options.host)) {
    options.out.error(`orsa: warning: the dashboard listens on ${clean(options.host)}: anyone who reaches it can cancel sagas; it has no login`);
  }
  options.onListening?.(dashboard.url);
  await new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve();
    else options.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await dashboard.close();
  return 0;
}
