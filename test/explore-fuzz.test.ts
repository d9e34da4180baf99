import { describe, expect, it } from 'vitest';
import { saga, SagaDefinitionError, type SagaDefinition } from '../src/index.js';
import { explore, formatReport } from '../src/testing.js';

/** A small seeded PRNG (mulberry32): the same seed always gives the same sagas. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { chance: (p: number) => next() < p, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}

/**
 * Declares a random saga: steps (some compensable, retried, looping back, with
 * effects on failure), a parallel group, waits, sleeps, and sometimes a pivot
 * followed by retriable steps. With `mistake`, one step after the pivot breaks
 * the rules. Returns the builder and the step that was made wrong, if any.
 */
function randomSaga(seed: number, mistake: boolean) {
  const r = prng(seed);
  // Names are made at run time, so the builder is untyped here (the type tests cover the typed builder).
  let b: any = saga(`fuzz-${seed}`);
  const count = r.int(3, 6);
  const pivotAt = r.chance(0.4) ? r.int(1, count - 1) : -1;
  const top: string[] = [];
  let wrong: string | null = null;
  for (let i = 0; i < count; i++) {
    const name = `n${i}`;
    const after = pivotAt >= 0 && i > pivotAt;
    if (after) {
      if (mistake && wrong === null) {
        wrong = name;
        b = r.chance(0.5) ? b.step(name, () => i, { retry: r.int(0, 2) }) : b.waitFor(name, { event: `e${i}`, timeoutMs: 100 });
      } else b = r.chance(0.8) ? b.step(name, () => i, { retry: 'forever' }) : b.sleep(name, 10);
    } else if (i === pivotAt) b = b.step(name, () => i, { pivot: true });
    else {
      const kind = r.int(0, 9);
      if (kind === 0 && i > 0) {
        b = b.parallel(name, {
          x: (x: any) => x.step(`${name}x`, () => 'x', { compensate: () => {} }),
          y: (y: any) => (r.chance(0.5) ? y.step(`${name}y`, () => 'y', { compensate: () => {} }).step(`${name}z`, () => 'z') : y.step(`${name}y`, () => 'y', { retry: 1 })),
        });
      } else if (kind === 1) b = b.waitFor(name, { event: `e${i}`, ...(r.chance(0.5) ? { timeoutMs: 1_000 } : {}) });
      else if (kind === 2) b = b.sleep(name, 50);
      else {
        const loop = top.length > 0 && r.chance(0.2) ? { goto: { targets: [top[r.int(0, top.length - 1)]!], decide: () => null, maxVisits: r.int(2, 3) } } : {};
        const compensated = r.chance(0.6);
        const onFailure = compensated && r.chance(0.2);
        b = b.step(name, () => i, {
          ...(r.chance(0.25) ? { retry: r.int(1, 2) } : {}),
          ...loop,
          ...(onFailure ? { compensateOnFailure: true as const, compensate: () => {} } : compensated ? { compensate: () => {} } : {}),
        } as never);
        top.push(name);
      }
    }
  }
  if (pivotAt >= 0 && mistake && wrong === null) return null; // the pivot came last: nothing after it to get wrong
  return { builder: b as { build(): SagaDefinition<unknown, any> }, wrong };
}

describe('explore on random sagas (seeded)', () => {
  for (let seed = 1; seed <= 14; seed++) {
    it(`seed ${seed}: a saga that builds has no violation on any path`, async () => {
      const made = randomSaga(seed, false)!;
      const report = await explore(made.builder.build(), { maxStates: 50_000 });
      expect(report.truncated).toBe(false);
      expect(report.violations, formatReport(report)).toEqual([]);
      expect(report.endings.completed).toBeGreaterThan(0);
    });
  }

  it('a random step after the pivot that can fail for good is refused at build time, naming it', () => {
    let refused = 0;
    for (let seed = 100; seed < 160; seed++) {
      const made = randomSaga(seed, true);
      if (!made || made.wrong === null) continue;
      expect(() => made.builder.build()).toThrow(SagaDefinitionError);
      expect(() => made.builder.build()).toThrow(new RegExp(`"${made.wrong}" comes after the pivot`));
      refused++;
    }
    expect(refused).toBeGreaterThan(5);
  });
});
