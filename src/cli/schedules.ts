import { parseCron, tickAfter } from '../durable/schedule-plan.js';
import type { ScheduleRecord } from '../stores/schedules.js';
import type { SagaStore } from '../stores/types.js';
import { table, type CommandValues } from './commands.js';
import { clean, cleanJson, preview } from './terminal.js';
import { iso } from './timeline.js';

/** Longest input shown per schedule without `--full`, in characters. */
const INPUT_PREVIEW_CHARS = 60;

/**
 * `orsa schedules` (list) and `orsa schedules remove <name>`: the text (or
 * JSON) to print and the exit code. Removing a schedule stops its ticks for
 * every worker; sagas it started run on.
 *
 * @example
 * ```ts
 * const { code, text } = await schedulesText(store, ['remove', 'nightly'], {});
 * ```
 */
export async function schedulesText(store: SagaStore, args: readonly (string | undefined)[], values: CommandValues): Promise<{ code: number; text: string }> {
  const [action, name, ...extra] = args;
  if (action === undefined || action === 'list') {
    if (name !== undefined) return { code: 2, text: 'orsa: schedules lists every schedule; it takes no name (orsa schedules remove <name> removes one)' };
    return listSchedules(store, values);
  }
  if (action !== 'remove') return { code: 2, text: `orsa: unknown schedules action "${clean(action)}"; use orsa schedules (list) or orsa schedules remove <name>` };
  if (name === undefined || extra.length > 0) return { code: 2, text: 'orsa: schedules remove needs one schedule name: orsa schedules remove <name>' };
  if (!(await store.schedules!.remove(name))) return { code: 1, text: `orsa: no schedule named "${clean(name)}"; orsa schedules lists them` };
  return { code: 0, text: values.json ? cleanJson({ removed: name }) : `removed schedule "${clean(name)}"; sagas it started run on` };
}

async function listSchedules(store: SagaStore, values: CommandValues): Promise<{ code: number; text: string }> {
  const rows = (await store.schedules!.list()).map((s) => ({ ...s, ...nextTick(s) }));
  if (values.json) return { code: 0, text: cleanJson(rows.map((s) => ({ ...s, input: parsed(s.input) }))) };
  if (rows.length === 0) return { code: 0, text: 'no schedules' };
  const lines = [['NAME', 'SAGA', 'CRON', 'TIMEZONE', 'MISSED', 'LAST TICK', 'NEXT TICK', 'INPUT']];
  for (const s of rows) {
    lines.push([s.name, s.sagaName, s.cron, s.timezone, s.missed, iso(s.lastTickAt), s.problem ? `(${s.problem})` : iso(s.nextTickAt), preview(parsed(s.input), INPUT_PREVIEW_CHARS, values.full)]);
  }
  return { code: 0, text: table(lines) };
}

/** The tick after the last one, or why there is none: a stored cron or zone this orsa cannot read is shown, not thrown. */
function nextTick(s: ScheduleRecord): { nextTickAt: number | null; problem?: string } {
  try {
    return { nextTickAt: tickAfter(parseCron(s.name, s.cron, s.timezone), s.lastTickAt) };
  } catch (error) {
    return { nextTickAt: null, problem: (error as Error).message };
  }
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
