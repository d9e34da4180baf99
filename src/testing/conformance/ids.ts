import { describe, expect, it } from 'vitest';
import { newRecord, T0, type StoreRef } from './fixtures.js';

/** Ids no store may accept, with why (every store refuses them with the same error, before any query). */
export const INVALID_SAGA_IDS: readonly [string, string][] = [
  ['empty', ''],
  ['256 characters', 'x'.repeat(256)],
  ['a lone high surrogate', 'a\uD800'],
  ['a lone low surrogate', 'a\uDC00'],
  ['swapped surrogates', '\uDE00\uD83D'],
  ['NUL', 'a\u0000b'],
  ['a newline', 'a\nb'],
  ['an escape sequence', '\u001b[31mred'],
  ['DEL', 'a\u007f'],
  ['a C1 control', 'a\u009b'],
];

/** Specs of the saga-id check every store shares. */
export function describeIds(store: StoreRef): void {
  describe('saga ids', () => {
    it.each(INVALID_SAGA_IDS)('refuses an id with %s in insert and sendEvent with INVALID_SAGA_ID, storing nothing', async (_, id) => {
      await expect(store().insert(newRecord({ id }), [])).rejects.toMatchObject({ code: 'INVALID_SAGA_ID', name: 'InvalidSagaIdError' });
      await expect(store().sendEvent(id, 'e', 'null', T0)).rejects.toMatchObject({ code: 'INVALID_SAGA_ID' });
    });

    it('keeps apart ids that differ only in characters outside the BMP, and takes 255 characters', async () => {
      const suffix = newRecord().id.slice(-12);
      const ids = [`😀-${suffix}`, `😁-${suffix}`, `${'é'.repeat(255 - suffix.length - 1)}-${suffix}`];
      for (const id of ids) expect((await store().insert(newRecord({ id }), [])).inserted).toBe(true);
      for (const id of ids) expect((await store().get(id))?.id).toBe(id);
    });
  });
}
