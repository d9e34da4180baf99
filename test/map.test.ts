import { describe, expect, it } from 'vitest';
import { createTestClock, NonRetryableError, saga, SagaDefinitionError, toMermaid } from '../src/index.js';
import { failure } from './helpers.js';

/** A promise and its resolve, for steps the test finishes by hand. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('map (fan-out over a list)', () => {
  it('returns one element per item, in item order, whatever order the items complete in', async () => {
    const gates = Array.from({ length: 6 }, () => deferred());
    const order = saga('order')
      .input<{ words: string[] }>()
      .step('prefix', () => '#')
      .map('tag', ({ input }) => input.words, (b) => b
        .step('upper', async ({ item, index }) => (await gates[index]!.promise, item.toUpperCase()))
        .step('label', ({ results, index }) => `${results.prefix}${index}:${results.upper}`), { concurrency: 6 })
      .step('count', ({ results }) => results.tag.length)
      .build();
    const run = order.run({ words: ['a', 'b', 'c', 'd', 'e', 'f'] });
    for (const i of [5, 2, 0, 4, 1, 3]) {
      gates[i]!.resolve();
      await new Promise((r) => setTimeout(r, 0));
    }
    const results = await run;
    expect(results.tag).toEqual(['A', 'B', 'C', 'D', 'E', 'F'].map((w, i) => ({ upper: w, label: `#${i}:${w}` })));
    expect(results.count).toBe(6);
  });

  it('runs no more than `concurrency` items at once; an item that fails for good aborts the running ones, awaits them, then undoes every completed item step newest first, once', async () => {
    const events: string[] = [];
    let running = 0;
    let most = 0;
    const undone = new Map<string, number>();
    const fanout = saga('fanout')
      .step('open', () => 'batch-1', { compensate: () => void events.push('undo open') })
      .map('work', () => [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], (b) => b
        .step('do', async ({ item, signal }) => {
          running++;
          most = Math.max(most, running);
          events.push(`start ${item}`);
          try {
            if (item < 4) return item * 10;
            if (item === 5) {
              await Promise.resolve();
              throw new NonRetryableError('item 5 is broken');
            }
            // Items 4 and 6 are under way when 5 fails: 4 honours the abort, 6 completes anyway.
            await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
            events.push(`aborted ${item}`);
            if (item === 4) throw signal.reason;
            return item * 10;
          } finally {
            running--;
          }
        }, {
          compensate: ({ result, index, idempotencyKey }) => {
            undone.set(idempotencyKey, (undone.get(idempotencyKey) ?? 0) + 1);
            events.push(`undo ${index}=${String(result)}`);
          },
        }), { concurrency: 3 })
      .build();
    const handle = await fanout.start(undefined);
    const error = await failure(handle.result);
    expect(most).toBe(3);
    expect(error.step).toBe('work');
    expect(error.error).toMatchObject({ code: 'MAP_ITEM_FAILED' });
    expect(error.error?.cause?.message).toBe('item 5 is broken');
    // Items 7, 8, 9 never started; 4 and 6 were aborted and awaited before any compensation ran.
    expect(events.filter((e) => e.startsWith('start'))).toEqual(['start 0', 'start 1', 'start 2', 'start 3', 'start 4', 'start 5', 'start 6']);
    const firstUndo = events.findIndex((e) => e.startsWith('undo'));
    expect(events.indexOf('aborted 4')).toBeLessThan(firstUndo);
    expect(events.indexOf('aborted 6')).toBeLessThan(firstUndo);
    // Newest completion first: 6 completed last (during the rollback), then 3, 2, 1, 0; the saga's own step after them.
    expect(events.slice(firstUndo)).toEqual(['undo 6=60', 'undo 3=30', 'undo 2=20', 'undo 1=10', 'undo 0=0', 'undo open']);
    expect([...undone.keys()]).toEqual([6, 3, 2, 1, 0].map((i) => `${handle.sagaId}:work[${i}]:do#1:compensate`));
    expect([...undone.values()].every((n) => n === 1)).toBe(true);
    expect(error.report.compensated).toEqual([...[6, 3, 2, 1, 0].map((i) => `work[${i}]:do#1`), 'open#1']);
  });

  it('retries an item step on its own (the other items go on), with an idempotency key naming the item', async () => {
    const clock = createTestClock();
    const keys: string[] = [];
    let failures = 0;
    const flaky = saga('flaky')
      .map('send', () => ['x', 'y', 'z'], (b) => b
        .step('post', ({ item, idempotencyKey, attempt }) => {
          keys.push(`${idempotencyKey}@${attempt}`);
          if (item === 'y' && attempt < 3) {
            failures++;
            throw new Error('503');
          }
          return `${item}!`;
        }, { retry: { maxAttempts: 3, delayMs: 1_000, backoff: 1 } }), { concurrency: 2 })
      .build();
    const handle = await flaky.start(undefined, { clock, sagaId: 's1' });
    await clock.advance(0);
    expect(keys).toEqual(['s1:send[0]:post#1@1', 's1:send[1]:post#1@1', 's1:send[2]:post#1@1']);
    await clock.advance(1_000);
    await clock.advance(1_000);
    await expect(handle.result).resolves.toEqual({ send: [{ post: 'x!' }, { post: 'y!' }, { post: 'z!' }] });
    expect(failures).toBe(2);
    expect(keys.filter((k) => k.startsWith('s1:send[1]'))).toEqual(['s1:send[1]:post#1@1', 's1:send[1]:post#1@2', 's1:send[1]:post#1@3']);
  });

  it('takes 10,000 items in one map, as one state of the chart', async () => {
    const big = saga('big')
      .input<{ n: number }>()
      .map('square', ({ input }) => Array.from({ length: input.n }, (_, i) => i), (b) => b.step('sq', ({ item }) => item * item), { concurrency: 50 })
      .step('sum', ({ results }) => results.square.reduce((sum, e) => sum + e.sq, 0))
      .build();
    const results = await big.run({ n: 10_000 });
    expect(results.square).toHaveLength(10_000);
    expect(results.square[9_999]).toEqual({ sq: 9_999 * 9_999 });
    expect(results.sum).toBe(Array.from({ length: 10_000 }, (_, i) => i * i).reduce((a, b) => a + b, 0));
    // One state for the map whatever the number of items: items, running.
    expect(Object.keys((big.config.states as Record<string, { states?: object }>).square!.states!)).toEqual(['items', 'running']);
  });

  it('rolls back a 10,000-item map: every completed item undone once, newest first', async () => {
    const undone: number[] = [];
    const big = saga('big-rollback')
      .map('m', () => Array.from({ length: 10_000 }, (_, i) => i), (b) => b.step('x', ({ item }) => {
        if (item === 9_990) throw new NonRetryableError('item 9990 refused');
        return item;
      }, { compensate: ({ index }) => void undone.push(index) }), { concurrency: 50 })
      .build();
    const error = await failure(big.run(undefined));
    expect(error.status).toBe('compensated');
    expect(new Set(undone).size).toBe(undone.length);
    expect(undone).toHaveLength(error.report.compensated.length);
    expect(undone.length).toBeGreaterThanOrEqual(9_990);
    expect(error.report.undone).toEqual([]);
  });

  it('completes an empty map at once with an empty list', async () => {
    const empty = saga('empty').map('none', () => [] as number[], (b) => b.step('x', ({ item }) => item)).step('after', ({ results }) => results.none.length).build();
    await expect(empty.run(undefined)).resolves.toEqual({ none: [], after: 0 });
  });

  it('rolls back when the items function throws or returns what JSON cannot carry', async () => {
    const bad = (items: () => unknown) =>
      saga('bad-items').step('a', () => 1, { compensate: () => {} }).map('m', items as () => number[], (b) => b.step('x', ({ item }) => item)).build();
    const thrown = await failure(bad(() => { throw new Error('no list'); }).run(undefined));
    expect(thrown).toMatchObject({ status: 'compensated', step: 'm' });
    expect(thrown.report.compensated).toEqual(['a#1']);
    const notArray = await failure(bad(() => ({ length: 3 })).run(undefined));
    expect(String(notArray.error?.message)).toMatch(/items function of map "m" is wrong: .*not an array/);
    const dates = await failure(bad(() => [new Date(0)]).run(undefined));
    expect(String(dates.error?.message)).toMatch(/\$\[0\] is a Date/);
  });

  it('undoes the items of each visit of a map with that visit\'s item and results (a goto back over it)', async () => {
    const undone: string[] = [];
    let round = 0;
    const twice = saga('twice')
      .step('pick', () => ++round)
      .map('m', ({ results }) => (results.pick === 1 ? ['a1', 'b1'] : ['a2']), (b) => b
        .step('first', ({ item }) => `${item}-first`)
        .step('second', ({ item, results }) => `${item}:${results.first}`, { compensate: ({ item, result, results }) => void undone.push(`${String(item)} ${result} ${results.first}`) }))
      .step('check', ({ results }) => {
        if (results.m.length === 1) throw new NonRetryableError('second round fails');
        return results.m.length;
      }, { goto: { targets: ['pick'], decide: () => 'pick' } })
      .build();
    const error = await failure(twice.run(undefined));
    expect(error.step).toBe('check');
    // Newest first: the second visit's item, then the first visit's, each with its own item and results.
    expect(undone).toEqual(['a2 a2:a2-first a2-first', 'b1 b1:b1-first b1-first', 'a1 a1:a1-first a1-first']);
  });

  it('is cancelled like any step: running items are aborted, completed ones undone', async () => {
    const undone: number[] = [];
    const started = deferred();
    const slow = saga('slow')
      .map('m', () => [0, 1, 2], (b) => b.step('s', async ({ item, signal }) => {
        if (item === 0) return 0;
        started.resolve();
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      }, { compensate: ({ index }) => void undone.push(index) }), { concurrency: 2 })
      .build();
    const handle = await slow.start(undefined);
    await started.promise;
    handle.cancel();
    const error = await failure(handle.result);
    expect(error.status).toBe('cancelled');
    expect(undone).toEqual([0]);
  });

  describe('declaration', () => {
    const refused = (declare: () => unknown, message: RegExp) => {
      expect(declare).toThrow(SagaDefinitionError);
      expect(declare).toThrow(message);
    };

    it('refuses every kind but plain steps in a branch, and goto, pivot, compensateOnFailure on its steps', () => {
      refused(() => saga('s').map('m', () => [1], (b) => (b as any).waitFor('w', { event: 'e' })).build(), /\.waitFor\(\) is not allowed in a map branch/);
      refused(() => saga('s').map('m', () => [1], (b) => (b as any).sleep('z', 10)).build(), /\.sleep\(\) is not allowed in a map branch/);
      refused(() => saga('s').map('m', () => [1], (b) => (b as any).map('n', () => [], (c: any) => c)).build(), /\.map\(\) is not allowed in a map branch/);
      refused(() => saga('s').map('m', () => [1], (b) => (b as any).parallel('p', {})).build(), /\.parallel\(\) is not allowed/);
      refused(() => saga('s').map('m', () => [1], (b) => b.step('x', () => 1, { goto: { targets: ['x'], decide: () => null } } as any)).build(), /goto is not allowed in a map branch/);
      refused(() => saga('s').map('m', () => [1], (b) => b.step('x', () => 1, { pivot: true } as any)).build(), /pivot is not allowed in a map branch/);
      refused(() => saga('s').map('m', () => [1], (b) => b.step('x', () => 1, { compensateOnFailure: true, compensate: () => {} } as any)).build(), /compensateOnFailure is not allowed/);
      refused(() => saga('s').map('m', () => [1], (b) => b).build(), /the branch of map "m" is empty/);
    });

    it('refuses a bad concurrency, a map inside a parallel group or after the pivot, and a reused name', () => {
      refused(() => saga('s').map('m', () => [1], (b) => b.step('x', () => 1), { concurrency: 0 }).build(), /concurrency must be a whole number >= 1 \(got 0\)/);
      refused(() => saga('s').map('m', () => [1], (b) => b.step('x', () => 1), { concurrency: 2.5 }).build(), /concurrency must be a whole number/);
      refused(() => saga('s').parallel('p', { a: (b) => (b as any).map('m', () => [1], (c: any) => c.step('x', () => 1)) }).build(), /inside a parallel group/);
      refused(() => saga('s').step('go', () => 1, { pivot: true }).map('m', () => [1], (b) => b.step('x', () => 1, { retry: 'forever' })).build(), /after the pivot "go"/);
      refused(() => saga('s').step('x', () => 1).map('m', () => [1], (b) => b.step('x' as never, () => 1)).build(), /"x" is used twice/);
    });
  });

  it('shows the map in the Mermaid diagram, with its concurrency and branch', () => {
    const def = saga('diagram')
      .step('load', () => 1)
      .map('ship', () => [1], (b) => b.step('label', () => 1).step('send', () => 1, { compensate: () => {} }), { concurrency: 20 })
      .build();
    const overview = toMermaid(def);
    expect(overview).toMatch(/ship : for each item, 20 at a time. label → send · undone on rollback/);
    expect(overview).toMatch(/undo ship/);
    const full = toMermaid(def, { detail: 'full' });
    expect(full).toMatch(/state ship \{/);
    expect(full).toMatch(/ship_items --> ship_running : orsa\.items\.ship/);
    expect(full).toMatch(/ship_running --> completed : \[mapDone\(map=ship\)\]/);
  });
});
