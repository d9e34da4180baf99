import { FINAL_STATUSES, type SagaStatus, type SagaStore } from '../stores/types.js';
import { listText, showText, type CommandValues, type Output } from './commands.js';

/** Clears the screen and moves the cursor home, so each refresh replaces the last. */
const CLEAR = '\x1b[2J\x1b[H';

/**
 * `--watch`: prints `list` or `show` again every `intervalMs` until `signal`
 * aborts (Ctrl-C); `show` also stops once the saga has ended for good.
 * Output only changes on screen when the text changed.
 *
 * @example
 * ```ts
 * await watch(store, 'show', 'order-1', {}, { intervalMs: 1000, signal, out });
 * ```
 */
export async function watch(
  store: SagaStore,
  command: 'list' | 'show',
  id: string | undefined,
  values: CommandValues,
  options: { intervalMs: number; signal: AbortSignal; out: Output; clear?: boolean },
): Promise<number> {
  if (command === 'show' && !id) {
    options.out.error('orsa: show needs a saga id: orsa show <id> --watch');
    return 2;
  }
  let last = '';
  while (!options.signal.aborted) {
    const result = command === 'list' ? await listText(store, values) : await showText(store, id!, values);
    if (result.code !== 0) {
      options.out.error(result.text);
      return result.code;
    }
    if (result.text !== last) {
      options.out.log(`${options.clear === false || values.json ? '' : CLEAR}${result.text}`);
      last = result.text;
    }
    const status = (result as { status?: SagaStatus }).status;
    if (status && FINAL_STATUSES.includes(status)) return 0;
    await sleep(options.intervalMs, options.signal);
  }
  return 0;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
