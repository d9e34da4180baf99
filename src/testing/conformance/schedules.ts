import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ScheduleDefinition } from '../../stores/schedules.js';
import { T0, type StoreRef } from './fixtures.js';

/** A fresh schedule definition with a unique name, with overrides. */
function definition(overrides: Partial<ScheduleDefinition> = {}): ScheduleDefinition {
  return { name: `schedule-${randomUUID()}`, sagaName: 'conformance', cron: '0 * * * *', timezone: 'UTC', input: '{"n":1}', missed: 'skip', ...overrides };
}

/** Specs of `store.schedules`: declaration, the atomic tick claim, removal. */
export function describeSchedules(store: StoreRef): void {
  describe('schedules', () => {
    it('creates a schedule whose last tick is its creation time, and reads it back', async () => {
      const d = definition({ missed: 'latest', timezone: 'Europe/Berlin' });
      const { change, schedule } = await store().schedules!.put(d, T0);
      expect(change).toBe('created');
      expect(schedule).toEqual({ ...d, lastTickAt: T0, createdAt: T0, updatedAt: T0 });
      expect(await store().schedules!.get(d.name)).toEqual(schedule);
      expect((await store().schedules!.list()).find((s) => s.name === d.name)).toEqual(schedule);
    });

    it('leaves an identical re-declaration untouched, and updates a changed one from its time on', async () => {
      const d = definition();
      await store().schedules!.put(d, T0);
      await store().schedules!.advance(d.name, T0 + 3_600_000);
      const same = await store().schedules!.put({ ...d }, T0 + 5_000_000);
      expect(same).toEqual({ change: 'unchanged', schedule: { ...d, lastTickAt: T0 + 3_600_000, createdAt: T0, updatedAt: T0 } });
      const changed = await store().schedules!.put({ ...d, cron: '*/5 * * * *' }, T0 + 5_000_000);
      expect(changed).toEqual({ change: 'updated', schedule: { ...d, cron: '*/5 * * * *', lastTickAt: T0 + 5_000_000, createdAt: T0, updatedAt: T0 + 5_000_000 } });
      // A change never moves the last tick back (ticks already fired stay fired).
      await store().schedules!.advance(d.name, T0 + 9_000_000);
      const again = await store().schedules!.put({ ...d, input: '{"n":2}' }, T0 + 6_000_000);
      expect(again.schedule.lastTickAt).toBe(T0 + 9_000_000);
    });

    it('advances the last tick for exactly one of concurrent callers, and never backwards', async () => {
      const d = definition();
      await store().schedules!.put(d, T0);
      const tick = T0 + 3_600_000;
      const moved = await Promise.all([1, 2, 3, 4].map(() => store().schedules!.advance(d.name, tick)));
      expect(moved.filter(Boolean)).toHaveLength(1);
      expect(await store().schedules!.advance(d.name, tick - 1)).toBe(false);
      expect((await store().schedules!.get(d.name))?.lastTickAt).toBe(tick);
      expect(await store().schedules!.advance(`missing-${randomUUID()}`, tick)).toBe(false);
    });

    it('creates a schedule once when it is declared concurrently', async () => {
      const d = definition();
      const results = await Promise.all([1, 2, 3].map(() => store().schedules!.put(d, T0)));
      expect(results.map((r) => r.change).sort()).toEqual(['created', 'unchanged', 'unchanged']);
    });

    it('removes a schedule, and says when there was none', async () => {
      const d = definition();
      await store().schedules!.put(d, T0);
      expect(await store().schedules!.remove(d.name)).toBe(true);
      expect(await store().schedules!.remove(d.name)).toBe(false);
      expect(await store().schedules!.get(d.name)).toBeUndefined();
      expect((await store().schedules!.list()).some((s) => s.name === d.name)).toBe(false);
    });

    it('keeps input text byte for byte and lists schedules by name', async () => {
      const prefix = `schedule-${randomUUID()}`;
      const input = '{"b":1,"a":"é😀","nested":{"z":[1,2]}}';
      for (const suffix of ['c', 'a', 'b']) await store().schedules!.put(definition({ name: `${prefix}-${suffix}`, input }), T0);
      const mine = (await store().schedules!.list()).filter((s) => s.name.startsWith(prefix));
      expect(mine.map((s) => s.name)).toEqual([`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]);
      expect(mine.every((s) => s.input === input)).toBe(true);
    });
  });
}
