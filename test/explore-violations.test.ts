import { describe, expect, it } from 'vitest';
import { saga } from '../src/index.js';
import { SagaDefinition } from '../src/interpretation/definition.js';
import { explore, formatReport, orsaMatchers } from '../src/testing.js';

expect.extend(orsaMatchers);

/** a (compensable) → b (compensable) → c: a failure of c must undo b, then a. */
const abc = () =>
  saga('abc')
    .step('a', () => 'a', { compensate: () => {} })
    .step('b', () => 'b', { compensate: () => {} })
    .step('c', () => 'c')
    .build();

describe('explore catches broken sagas, with the path that shows it', () => {
  it('a step that changes the world but has no compensation', async () => {
    const s = saga('missing')
      .step('reserve', () => 'r', { compensate: () => {} })
      .step('ship', () => 's') // ships a parcel, and nothing undoes it
      .step('invoice', () => 'i')
      .build();
    const report = await explore(s, { steps: { ship: { run: ({ record }) => (record.effect(), 'parcel') } } });
    const v = report.violations.find((x) => x.rule === 'NOT_UNDONE');
    expect(v?.message).toMatch(/ship#1 took effect and was never undone/);
    expect(v?.path).toEqual(['reserve#1 completes', 'ship#1 completes', 'invoice#1 fails for good', 'compensation of reserve#1 completes']);
    expect(report.violations.map((x) => x.rule)).not.toContain('WRONG_UNDO_ORDER');
  });

  it('compensations that run in the wrong order (one compensation cleans up for two steps, oldest first)', async () => {
    const report = await explore(abc(), {
      steps: {
        b: { compensate: () => {} }, // leaves its undo to a's compensation
        a: { compensate: ({ record }) => (record.undo('a#1'), record.undo('b#1')) },
      },
    });
    const v = report.violations.find((x) => x.rule === 'WRONG_UNDO_ORDER');
    expect(v?.message).toBe('a#1 was undone before b#1, which completed after it; compensations must run newest first');
    expect(v?.path.slice(-3)).toEqual(['c#1 fails for good', 'compensation of b#1 completes', 'compensation of a#1 completes']);
  });

  it('a compensation that undoes twice', async () => {
    const report = await explore(abc(), { steps: { b: { compensate: ({ record }) => (record.undo(), record.undo()) } } });
    expect(report.violations.map((x) => x.rule)).toContain('UNDONE_TWICE');
    expect(report.violations.find((x) => x.rule === 'UNDONE_TWICE')!.message).toMatch(/b#1 was undone 2 times/);
  });

  it('a compensation of a failed execution that undoes without asking whether the effect happened', async () => {
    const s = saga('blind')
      .step('charge', () => 'c', { compensateOnFailure: true, compensate: () => {} })
      .step('ship', () => 's')
      .build();
    const report = await explore(s, { steps: { charge: { compensate: ({ record }) => record.undo() } } });
    const v = report.violations.find((x) => x.rule === 'UNDONE_WITHOUT_EFFECT');
    expect(v?.path).toEqual(['charge#1 fails for good before its effect', 'compensation of charge#1 completes']);
  });

  it('a re-run after a crash is deduplicated by its idempotency key, not counted as a second undo', async () => {
    const report = await explore(abc(), { maxCrashes: 2 });
    expect(report).toHaveNoViolations();
  });

  it('the matcher fails with the formatted report, numbered path included', async () => {
    const report = await explore(abc(), { steps: { b: { compensate: ({ record }) => (record.undo(), record.undo()) } } });
    expect(() => expect(report).toHaveNoViolations()).toThrow(/\[UNDONE_TWICE\] b#1 was undone 2 times[\s\S]*path:\n\s+1\. a#1 completes/);
    expect(formatReport(report)).toMatch(/^saga "abc" .*\n\d+ violations?:/);
  });
});

describe('explore catches a runtime that breaks the contract', () => {
  it('a chart that lets a cancel roll back past the pivot', async () => {
    const s = saga('pivoted')
      .step('reserve', () => 'r', { compensate: () => {} })
      .step('ship', () => 's', { pivot: true })
      .step('notify', () => 'n', { retry: 'forever' })
      .build();
    expect(await explore(s)).toHaveNoViolations();
    // The same saga with the pivot guard of the cancel dropped from its chart.
    const config = structuredClone(s.compiled.config) as { on: Record<string, { guard: unknown }> };
    config.on['orsa.cancel']!.guard = 'isForward';
    const broken = new SagaDefinition(s.declaration, { ...s.compiled, config: config as never });
    const v = (await explore(broken)).violations.find((x) => x.rule === 'ROLLED_BACK_PAST_PIVOT');
    expect(v?.message).toMatch(/the pivot "ship" completed, yet the saga ended cancelled/);
    expect(v?.path).toContain('cancel');
  });
});

describe('explore catches a chart that runs a compensation again after it completed', () => {
  it('reports UNDONE_TWICE, where a re-run after a crash is deduplicated', async () => {
    const s = abc();
    const config = structuredClone(s.compiled.config) as { states: Record<string, any> };
    const rollback = Object.values(config.states).find((st) => st.states?.compensating)!;
    rollback.states.compensating.on['orsa.compensated'] = { guard: 'isCurrentCompensation', target: 'next' }; // forgets markCompensated
    const report = await explore(new SagaDefinition(s.declaration, { ...s.compiled, config: config as never }), { maxStates: 300 }); // the attempt count of the rerun grows: bounded
    const v = report.violations.find((x) => x.rule === 'UNDONE_TWICE');
    expect(v?.message).toMatch(/^a#1 was undone 2 times/);
    expect(v?.path).toEqual(['a#1 completes', 'b#1 fails for good', 'compensation of a#1 completes', 'compensation of a#1 completes']);
  });
});
