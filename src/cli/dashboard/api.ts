import type { SagaDefinition } from '../../interpretation/definition.js';
import { SAGA_STATUSES, type SagaStatus, type SagaStore } from '../../stores/types.js';
import { failuresByStep, pendingOf, snapshotOf, stateText, timelineOf } from '../timeline.js';
import { chartFromConfig, chartFromHistory } from './chart.js';

/** Definitions the dashboard draws charts from, by `name@version` and by name (the latest). */
export type DefinitionIndex = Map<string, SagaDefinition<any, any>>;

/**
 * Indexes saga definitions for the dashboard.
 *
 * @example
 * ```ts
 * const index = indexDefinitions([order, exchange]);
 * ```
 */
export function indexDefinitions(definitions: readonly SagaDefinition<any, any>[]): DefinitionIndex {
  const index: DefinitionIndex = new Map();
  for (const d of definitions) {
    index.set(`${d.name}@${d.version}`, d);
    index.set(d.name, d);
  }
  return index;
}

/** Most sagas a list answer holds. */
const LIST_LIMIT = 500;
/** Most sagas a search by part of an id looks through (the most recently updated). */
const SEARCH_SCAN_LIMIT = 10_000;

/**
 * The list page's data: counts per status and the sagas that match the filters (`status=a,b`, `q=` part of an id).
 *
 * @example
 * ```ts
 * await listSagas(store, new URLSearchParams('status=failed&q=order'));
 * ```
 */
export async function listSagas(store: SagaStore, query: URLSearchParams) {
  const statuses = (query.get('status') ?? '').split(',').filter((s): s is SagaStatus => (SAGA_STATUSES as readonly string[]).includes(s));
  const search = query.get('q')?.trim() ?? '';
  const [counts, records] = await Promise.all([
    store.countByStatus(),
    store.list({ ...(statuses.length ? { status: statuses } : {}), limit: search ? SEARCH_SCAN_LIMIT : LIST_LIMIT }),
  ]);
  const matching = search ? records.filter((r) => r.id.includes(search)) : records;
  // The scan above sees the most recently updated sagas only: an exact id is found however old it is.
  if (search && !matching.some((r) => r.id === search)) {
    const exact = await store.get(search);
    if (exact && (!statuses.length || statuses.includes(exact.status))) matching.unshift(exact);
  }
  return {
    counts: Object.fromEntries(SAGA_STATUSES.map((s) => [s, counts[s] ?? 0])),
    total: matching.length,
    sagas: matching.slice(0, LIST_LIMIT).map((r) => {
      const snapshot = snapshotOf(r);
      return {
        id: r.id,
        sagaName: r.sagaName,
        version: r.version,
        status: r.status,
        state: snapshot ? stateText(snapshot.value) : null,
        dueAt: r.dueAt,
        owner: r.owner,
        updatedAt: r.updatedAt,
      };
    }),
  };
}

/**
 * One saga's page: record, state, input, results, errors, chart with counters, timeline, pending events.
 *
 * @example
 * ```ts
 * const detail = await sagaDetail(store, 'order-1', indexDefinitions([order]));
 * ```
 */
export async function sagaDetail(store: SagaStore, id: string, definitions: DefinitionIndex) {
  const record = await store.get(id);
  if (!record) return undefined;
  const [history, inbox] = await Promise.all([store.history(id), store.inbox(id)]);
  const snapshot = snapshotOf(record);
  const context = snapshot?.context ?? {};
  const definition = definitions.get(`${record.sagaName}@${record.version}`) ?? definitions.get(record.sagaName);
  const { snapshot: _raw, ...fields } = record;
  return {
    record: fields,
    readable: snapshot !== null,
    state: snapshot ? stateText(snapshot.value) : null,
    value: snapshot?.value ?? null,
    input: context.input ?? null,
    results: context.results ?? {},
    active: context.active ?? {},
    visits: context.visits ?? {},
    timers: context.timers ?? {},
    failure: context.failure ?? null,
    compError: context.compError ?? null,
    compensated: context.compensated ?? [],
    failures: failuresByStep(history),
    chart: definition ? chartFromConfig(definition.config) : chartFromHistory(history, context.visits),
    // The chart may come from a newer version than the one this saga runs: say so.
    chartVersion: definition ? definition.version : null,
    timeline: timelineOf(record, history),
    pending: pendingOf(inbox),
  };
}
