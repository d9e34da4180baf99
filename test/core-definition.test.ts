import { describe, expect, it } from 'vitest';
import { saga, SagaDefinitionError } from '../src/index.js';

const buildError = (build: () => unknown): SagaDefinitionError => {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(SagaDefinitionError);
    expect((error as SagaDefinitionError).code).toBe('SAGA_DEFINITION');
    return error as SagaDefinitionError;
  }
  throw new Error('build() did not throw');
};

// Casts stand for JavaScript callers or widened types: the type checker stops these in TypeScript.
const loose = (name: string) => saga(name) as any;

describe('definition mistakes fail at build time', () => {
  it('refuses an empty saga', () => {
    expect(buildError(() => saga('empty').build()).message).toMatch(/saga "empty" has no steps; declare at least one/);
  });

  it('refuses duplicate step names, even across parallel branches', () => {
    const error = buildError(() =>
      loose('dup')
        .step('a', () => 1)
        .parallel('g', { x: (b: any) => b.step('a', () => 2), y: (b: any) => b.step('y', () => 3) })
        .build(),
    );
    expect(error.message).toMatch(/the name "a" is used twice/);
  });

  it('refuses a goto target that is not a step', () => {
    const error = buildError(() => loose('goto').step('a', () => 1, { goto: { targets: ['nope'], decide: () => null } }).build());
    expect(error.message).toMatch(/goto target "nope" is not a step of this saga/);
  });

  it('refuses a goto forward or out of its sequence', () => {
    expect(
      buildError(() =>
        loose('fwd')
          .step('a', () => 1, { goto: { targets: ['b'], decide: () => null } })
          .step('b', () => 2)
          .build(),
      ).message,
    ).toMatch(/must be this step or an earlier step of the same sequence/);
    expect(
      buildError(() =>
        loose('out')
          .step('a', () => 1)
          .parallel('g', { x: (b: any) => b.step('x', () => 1, { goto: { targets: ['a'], decide: () => null } }), y: (b: any) => b.step('y', () => 2) })
          .build(),
      ).message,
    ).toMatch(/same sequence/);
  });

  it('refuses a compensation before any step', () => {
    expect(buildError(() => loose('comp').compensate(() => {}).step('a', () => 1).build()).message).toMatch(
      /\.compensate\(\) must follow a \.step\(\)/,
    );
  });

  it.each([
    [{ maxAttempts: 0 }, /maxAttempts must be a whole number >= 1/],
    [{ maxAttempts: 2.5 }, /maxAttempts must be a whole number >= 1/],
    [{ delayMs: -1 }, /delayMs must be a number of ms >= 0/],
    [{ backoff: 0.5 }, /backoff must be a factor >= 1/],
    [{ delayMs: 500, maxDelayMs: 100 }, /maxDelayMs must be >= delayMs/],
    [{ jitter: 2 }, /jitter must be a fraction between 0 and 1/],
    [-1, /retry must be a whole number of retries >= 0/],
  ])('refuses the nonsense retry policy %j', (retry, message) => {
    expect(buildError(() => loose('retry').step('a', () => 1, { retry }).build()).message).toMatch(message);
  });

  it('refuses a non-positive timeout, an empty branch and a reserved name', () => {
    expect(buildError(() => loose('t').step('a', () => 1, { timeoutMs: 0 }).build()).message).toMatch(/timeoutMs must be a number of ms > 0/);
    expect(buildError(() => loose('b').parallel('g', { x: (b: any) => b }).build()).message).toMatch(/is empty/);
    expect(buildError(() => loose('r').step('done', () => 1).build()).message).toMatch(/reserved/);
    expect(buildError(() => loose('r').sleep('settle', 10).build()).message).toMatch(/"settle" is reserved by the statechart; pick another name/);
  });

  it('refuses names that would break the statechart', () => {
    expect(buildError(() => loose('s').step('a.b', () => 1).build()).message).toMatch(/letters, digits/);
    expect(buildError(() => saga('bad name').step('a', () => 1).build()).message).toMatch(/saga name "bad name"/);
  });

  it('lists every mistake at once', () => {
    const error = buildError(() => loose('many').step('a', () => 1, { retry: -1 }).step('a', () => 2).build());
    expect(error.message).toMatch(/^2 mistakes:/);
  });
});

describe('compiled statechart', () => {
  it('is plain JSON: every guard and action is referenced by name', () => {
    const s = saga('json')
      .step('a', () => 1, { retry: 2, compensate: () => {} })
      .parallel('g', { x: (b) => b.step('x', () => 1), y: (b) => b.step('y', () => 2) })
      .waitFor('w', { event: 'go', timeoutMs: 1000 })
      .sleep('z', 10)
      .catch(() => {})
      .build();
    expect(JSON.parse(JSON.stringify(s.config))).toEqual(s.config);
  });

  it('has a version that changes when the declaration changes and not otherwise', () => {
    const v1 = saga('v').step('a', () => 1).build().version;
    const v1again = saga('v').step('a', () => 'other function, same shape').build().version;
    const v2 = saga('v').step('a', () => 1, { retry: 1 }).build().version;
    expect(v1).toBe(v1again);
    expect(v2).not.toBe(v1);
    expect(saga('v').step('a', () => 1).version('2024-06').build().version).toBe('2024-06');
  });
});
