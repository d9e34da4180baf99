import { sameSchedule, type ScheduleDefinition, type ScheduleRecord, type ScheduleStore } from '../schedules.js';

/**
 * `MemoryStore.schedules`: the schedules held in a map, copied on the way in
 * and out like the store's records.
 *
 * @internal
 * @example
 * ```ts
 * const schedules = new MemorySchedules(() => {});
 * await schedules.put({ name: 'nightly', sagaName: 'report', cron: '0 2 * * *', timezone: 'UTC', input: '{}', missed: 'skip' }, 0);
 * ```
 */
export class MemorySchedules implements ScheduleStore {
  readonly #rows = new Map<string, ScheduleRecord>();

  /** @param ready throws when the store is not open. */
  constructor(private readonly ready: () => void) {}

  async put(definition: ScheduleDefinition, now: number): Promise<{ change: 'created' | 'updated' | 'unchanged'; schedule: ScheduleRecord }> {
    this.ready();
    const existing = this.#rows.get(definition.name);
    if (existing && sameSchedule(existing, definition)) return { change: 'unchanged', schedule: { ...existing } };
    const schedule: ScheduleRecord = existing
      ? { ...existing, ...pick(definition), lastTickAt: Math.max(existing.lastTickAt, now), updatedAt: now }
      : { ...pick(definition), lastTickAt: now, createdAt: now, updatedAt: now };
    this.#rows.set(definition.name, schedule);
    return { change: existing ? 'updated' : 'created', schedule: { ...schedule } };
  }

  async get(name: string): Promise<ScheduleRecord | undefined> {
    this.ready();
    const row = this.#rows.get(name);
    return row && { ...row };
  }

  async list(): Promise<ScheduleRecord[]> {
    this.ready();
    return [...this.#rows.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((row) => ({ ...row }));
  }

  async remove(name: string): Promise<boolean> {
    this.ready();
    return this.#rows.delete(name);
  }

  async advance(name: string, tickAt: number): Promise<boolean> {
    this.ready();
    const row = this.#rows.get(name);
    if (!row || row.lastTickAt >= tickAt) return false;
    row.lastTickAt = tickAt;
    return true;
  }
}

/** Only the definition's own fields (a caller's object may carry more). */
function pick(d: ScheduleDefinition): ScheduleDefinition {
  return { name: d.name, sagaName: d.sagaName, cron: d.cron, timezone: d.timezone, input: d.input, missed: d.missed };
}
