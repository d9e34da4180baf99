import { FINAL_STATUSES, SAGA_STATUSES as STATUSES, type HistoryEvent, type SagaRecord, type SagaStatus, type SagaStore } from '../store/types.js';

/** Where the CLI writes. */
export interface Output {
  log: (text: string) => void;
  error: (text: string) => void;
}


/** Events the CLI stores for the workers (see Runtime's control events). */
// Runtime commands travel in the inbox's command channel, apart from user events (see Runtime's COMMANDS).
const CONTROL = { resume: 'resume', cancel: 'cancel', retry: 'retryCompensation' } as const;

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'));

function snapshotOf(record: SagaRecord): { value: unknown; context: Record<string, any> } | null {
  try {
    const parsed = JSON.parse(record.snapshot);
    return parsed && typeof parsed === 'object' && parsed.context ? parsed : null;
  } catch {
    return null;
  }
}

function stateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => (v && typeof v === 'object' ? `${k}.{${stateText(v)}}` : `${k}.${String(v)}`))
      .join(', ');
  }
  return String(value);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function describeEvent(event: HistoryEvent): string {
  const data = (event.data ?? {}) as Record<string, any>;
  const parts: string[] = [];
  if (data.error?.message) parts.push(`error: ${data.error.message}`);
  if (typeof data.dueAt === 'number') parts.push(`retry at ${iso(data.dueAt)}`);
  if (data.report) parts.push(`compensated [${data.report.compensated.join(', ')}]${data.report.undone.length ? `, still undone [${data.report.undone.join(', ')}]` : ''}`);
  if (data.name) parts.push(`event ${data.name}`);
  return parts.join('; ');
}

/** Runs one command against an initialised store; returns the exit code. */
export async function runCommand(
  store: SagaStore,
  command: string,
  id: string | undefined,
  values: { status?: string; saga?: string; limit?: string; json?: boolean },
  out: Output,
): Promise<number> {
  switch (command) {
    case 'list': {
      const statuses = values.status?.split(',').map((s) => s.trim()) as SagaStatus[] | undefined;
      const unknown = statuses?.filter((s) => !STATUSES.includes(s));
      if (unknown?.length) {
        out.error(`orsa: unknown status ${unknown.join(', ')}; use one of ${STATUSES.join(', ')}`);
        return 2;
      }
      const limit = values.limit === undefined ? 100 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1) {
        out.error('orsa: --limit takes a whole number >= 1');
        return 2;
      }
      const records = await store.list({ ...(statuses ? { status: statuses } : {}), ...(values.saga ? { sagaName: values.saga } : {}), limit });
      if (values.json) {
        out.log(JSON.stringify(records.map(({ snapshot: _s, ...r }) => ({ ...r, state: snapshotOf({ snapshot: _s } as SagaRecord)?.value ?? null }))));
        return 0;
      }
      if (records.length === 0) {
        out.log('no sagas');
        return 0;
      }
      const rows = [['ID', 'SAGA', 'VERSION', 'STATUS', 'STATE', 'DUE', 'UPDATED']];
      for (const r of records) {
        const snapshot = snapshotOf(r);
        rows.push([r.id, r.sagaName, r.version, r.status, snapshot ? stateText(snapshot.value) : '(unreadable snapshot)', iso(r.dueAt), iso(r.updatedAt)]);
      }
      out.log(table(rows));
      return 0;
    }
    case 'show': {
      if (!id) return missingId(out, command);
      const record = await store.get(id);
      if (!record) return unknownId(out, id);
      const history = await store.history(id);
      const snapshot = snapshotOf(record);
      if (values.json) {
        const { snapshot: raw, ...rest } = record;
        out.log(JSON.stringify({ ...rest, snapshot: snapshot ?? raw, history }));
        return 0;
      }
      const context = snapshot?.context;
      const lines = [
        `saga      ${record.id}`,
        `name      ${record.sagaName} (version ${record.version})`,
        `status    ${record.status}`,
        `state     ${snapshot ? stateText(snapshot.value) : '(the stored snapshot cannot be read)'}`,
        `created   ${iso(record.createdAt)}   updated ${iso(record.updatedAt)}`,
        `due       ${iso(record.dueAt)}   owner ${record.owner ?? '-'}${record.leaseUntil ? ` until ${iso(record.leaseUntil)}` : ''}`,
      ];
      if (context) {
        const active = Object.entries(context.active ?? {}).map(([step, a]: [string, any]) => `${step} (attempt ${a.attempt})`);
        if (active.length) lines.push(`running   ${active.join(', ')}`);
        if (context.failure) lines.push(`failure   ${context.failure.step ?? '(saga)'}: ${context.failure.error?.message}`);
        if (context.compError) lines.push(`undo err  ${context.compError.message}`);
      }
      lines.push('', 'timeline');
      const start = history[0]?.at ?? record.createdAt;
      const rows = [['  +MS', 'EVENT', 'STEP', 'ATTEMPT', 'DETAIL']];
      for (const event of history) {
        rows.push([`  +${event.at - start}`, event.type, event.step ?? '', event.attempt ? String(event.attempt) : '', describeEvent(event)]);
      }
      out.log([...lines, table(rows)].join('\n'));
      return 0;
    }
    case 'resume':
    case 'cancel':
    case 'retry': {
      if (!id) return missingId(out, command);
      const record = await store.get(id);
      if (!record) return unknownId(out, id);
      if (FINAL_STATUSES.includes(record.status)) {
        out.error(`orsa: saga ${id} already ended ${record.status}; there is nothing to ${command}`);
        return 1;
      }
      if (command === 'retry' && record.status !== 'failed') {
        out.error(`orsa: saga ${id} is ${record.status}, not failed; retry applies to a saga whose compensation could not finish`);
        return 1;
      }
      const event = await store.sendEvent(id, CONTROL[command], 'null', Date.now(), 'command');
      if (values.json) out.log(JSON.stringify({ id, command, seq: event.seq }));
      else out.log(`stored: ${command} for saga ${id} (event #${event.seq}); a worker running "${record.sagaName}" version ${record.version} will act on it`);
      return 0;
    }
    default:
      out.error(`orsa: unknown command "${command}"; run orsa --help`);
      return 2;
  }
}

function missingId(out: Output, command: string): number {
  out.error(`orsa: ${command} needs a saga id: orsa ${command} <id>`);
  return 2;
}

function unknownId(out: Output, id: string): number {
  out.error(`orsa: no saga with id "${id}"; orsa list shows them`);
  return 1;
}
