import { SAGA_STATUSES as STATUSES, type SagaStatus, type SagaStore } from '../stores/types.js';
import { NOT_STARTED_PREFIX } from '../durable/records.js';
import { isControlRefusal, queuedCancelledMessage, sendCommand, storedMessage } from './control.js';
import { clean, cleanJson, preview } from './terminal.js';
import { iso, snapshotOf, stateText, timelineOf } from './timeline.js';

/** Where the CLI writes. */
export interface Output {
  log: (text: string) => void;
  error: (text: string) => void;
}

/** The options the read and control commands take. */
export interface CommandValues {
  status?: string | undefined;
  saga?: string | undefined;
  /** `orsa list --parent ID`: only the child sagas of that saga. */
  parent?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
  full?: boolean | undefined;
}

/** Longest result shown per step without `--full`, in characters. */
const RESULT_PREVIEW_CHARS = 120;

/** Rows as aligned columns, each cell cleaned of control characters. */
export function table(rows: string[][]): string {
  const cells = rows.map((r) => r.map(clean));
  const widths = cells[0]!.map((_, i) => cells.reduce((max, r) => Math.max(max, r[i]!.length), 0));
  return cells.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/**
 * `orsa list`: the text (or JSON) it prints, or an error text and exit code.
 *
 * @example
 * ```ts
 * const { code, text } = await listText(store, { status: 'failed' });
 * ```
 */
export async function listText(store: SagaStore, values: CommandValues): Promise<{ code: number; text: string }> {
  const statuses = values.status?.split(',').map((s) => s.trim()) as SagaStatus[] | undefined;
  const unknown = statuses?.filter((s) => !STATUSES.includes(s));
  if (unknown?.length) return { code: 2, text: `orsa: unknown status ${clean(unknown.join(', '))}; use one of ${STATUSES.join(', ')}` };
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) return { code: 2, text: 'orsa: --limit takes a whole number >= 1' };
  const records = await store.list({
    ...(statuses ? { status: statuses } : {}),
    ...(values.saga ? { sagaName: values.saga } : {}),
    ...(values.parent ? { parentId: values.parent } : {}),
    limit,
  });
  if (values.json) {
    return { code: 0, text: cleanJson(records.map(({ snapshot, ...r }) => ({ ...r, state: snapshotOf({ snapshot })?.value ?? null }))) };
  }
  if (records.length === 0) return { code: 0, text: 'no sagas' };
  // A PARENT column only when a child saga is listed: the table of sagas without children stays as it was.
  const parents = records.some((r) => r.parentId !== undefined);
  const rows = [['ID', 'SAGA', 'VERSION', 'STATUS', 'STATE', 'DUE', 'UPDATED', ...(parents ? ['PARENT'] : [])]];
  for (const r of records) {
    const snapshot = snapshotOf(r);
    const row = [r.id, r.sagaName, r.version, r.status, snapshot ? stateText(snapshot.value) : r.snapshot.startsWith(NOT_STARTED_PREFIX) ? '(not started)' : '(unreadable snapshot)', iso(r.dueAt), iso(r.updatedAt)];
    rows.push(parents ? [...row, r.parentId ?? '-'] : row);
  }
  return { code: 0, text: table(rows) };
}

/**
 * `orsa show <id>`: the record, its state, input and results, and its timeline.
 *
 * @example
 * ```ts
 * console.log((await showText(store, 'order-1', { full: true })).text);
 * ```
 */
export async function showText(store: SagaStore, id: string, values: CommandValues): Promise<{ code: number; text: string; status?: SagaStatus }> {
  const record = await store.get(id);
  if (!record) return { code: 1, text: unknownId(id) };
  const [history, inbox, children] = await Promise.all([store.history(id), store.inbox(id), store.list({ parentId: id, limit: 1_000 })]);
  const snapshot = snapshotOf(record);
  if (values.json) {
    const { snapshot: raw, ...rest } = record;
    const linked = children.map((c) => ({ id: c.id, sagaName: c.sagaName, status: c.status }));
    return { code: 0, status: record.status, text: cleanJson({ ...rest, snapshot: snapshot ?? raw, history, inbox, children: linked }) };
  }
  const context = snapshot?.context;
  const lines = [
    `saga      ${clean(record.id)}`,
    `name      ${clean(record.sagaName)} (version ${clean(record.version)})`,
    `status    ${record.status}`,
    `state     ${snapshot ? clean(stateText(snapshot.value)) : '(the stored snapshot cannot be read)'}`,
    `created   ${iso(record.createdAt)}   updated ${iso(record.updatedAt)}`,
    `due       ${iso(record.dueAt)}   owner ${clean(record.owner ?? '-')}${record.leaseUntil ? ` until ${iso(record.leaseUntil)}` : ''}`,
    ...(record.parentId !== undefined ? [`parent    ${clean(record.parentId)}   (orsa show ${clean(record.parentId)})`] : []),
  ];
  if (context) {
    lines.push(`input     ${preview(context.input, RESULT_PREVIEW_CHARS, values.full)}`);
    const active = Object.entries(context.active ?? {}).map(([step, a]) => `${step} (attempt ${a.attempt})`);
    if (active.length) lines.push(`running   ${clean(active.join(', '))}`);
    if (context.failure) lines.push(`failure   ${clean(context.failure.step ?? '(saga)')}: ${clean(context.failure.error?.message)}`);
    if (context.compError) lines.push(`undo err  ${clean(context.compError.message)}`);
    const results = Object.entries(context.results ?? {});
    if (results.length) {
      lines.push('', `results${values.full ? '' : ` (cut to ${RESULT_PREVIEW_CHARS} characters; --full for all)`}`);
      for (const [step, value] of results) lines.push(`  ${clean(step)}  ${preview(value, RESULT_PREVIEW_CHARS, values.full)}`);
    }
  }
  if (children.length) {
    lines.push('', 'children');
    // Oldest first: the order the parent started them.
    for (const c of [...children].sort((x, y) => x.createdAt - y.createdAt)) lines.push(`  ${clean(c.id)}  ${clean(c.sagaName)}  ${c.status}`);
  }
  if (inbox.length) {
    lines.push('', 'pending events');
    for (const e of inbox) lines.push(`  #${e.seq} ${clean(e.name)} ${preview(safeParse(e.payload), RESULT_PREVIEW_CHARS, values.full)}  (sent ${iso(e.at)})`);
  }
  lines.push('', 'timeline');
  const rows = [['  +MS', 'EVENT', 'STEP', 'ATTEMPT', 'DETAIL']];
  for (const e of timelineOf(record, history)) {
    rows.push([`  +${e.offsetMs}`, e.takeover ? 'takeover' : e.type, e.step ?? '', e.attempt ? String(e.attempt) : '', e.detail]);
  }
  return { code: 0, status: record.status, text: [...lines, table(rows)].join('\n') };
}

const safeParse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/**
 * `orsa resume|cancel|retry <id>`: stores the command for the workers.
 *
 * @example
 * ```ts
 * await controlText(store, 'cancel', 'order-1', {});
 * ```
 */
export async function controlText(store: SagaStore, command: 'resume' | 'cancel' | 'retry', id: string, values: CommandValues): Promise<{ code: number; text: string }> {
  try {
    const { seq, sagaName, version, cancelledQueued } = await sendCommand(store, id, { command }, Date.now());
    if (cancelledQueued) return { code: 0, text: values.json ? cleanJson({ id, command, status: 'cancelled' }) : clean(queuedCancelledMessage(id)) };
    return { code: 0, text: values.json ? cleanJson({ id, command, seq }) : clean(storedMessage(command, id, seq, sagaName, version)) };
  } catch (error) {
    if (isControlRefusal(error)) return { code: 1, text: `orsa: ${clean(error.message)}` };
    throw error;
  }
}

/**
 * Runs one command against an initialised store; returns the exit code.
 *
 * @example
 * ```ts
 * await runCommand(store, 'show', 'order-1', {}, { log: console.log, error: console.error });
 * ```
 */
export async function runCommand(store: SagaStore, command: string, id: string | undefined, values: CommandValues, out: Output): Promise<number> {
  const print = ({ code, text }: { code: number; text: string }) => {
    (code === 0 ? out.log : out.error)(text);
    return code;
  };
  switch (command) {
    case 'list':
      return print(await listText(store, values));
    case 'show':
      if (!id) return missingId(out, command);
      return print(await showText(store, id, values));
    case 'resume':
    case 'cancel':
    case 'retry':
      if (!id) return missingId(out, command);
      return print(await controlText(store, command, id, values));
    default:
      out.error(`orsa: unknown command "${clean(command)}"; run orsa --help`);
      return 2;
  }
}

function missingId(out: Output, command: string): number {
  out.error(`orsa: ${command} needs a saga id: orsa ${command} <id>`);
  return 2;
}

const unknownId = (id: string): string => `orsa: no saga with id "${clean(id)}"; orsa list shows them`;
