/**
 * How a write finds what a transition changed, at 10 and 1,000 earlier
 * results: the hand-written delta orsa uses (an AppendMap view's writes since
 * the last written size, plus a context copy with the journaled fields
 * emptied) against immer's produceWithPatches on a plain context, measured in
 * the same run. One JSON line per saga length:
 *   { steps, handWrittenUsPerStep, immerUsPerStep, ratio }
 * Run: node scripts/run-bench.mjs bench/delta.ts
 */
import { enablePatches, produceWithPatches, setAutoFreeze } from 'immer';
import { AppendMap } from '../src/compilation/append-map.js';

enablePatches();
setAutoFreeze(false); // freezing would add a deep walk per step that orsa does not need
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const result = (i: number) => ({ n: i, pad: 'x'.repeat(80) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Steps `steps` times; each step adds one result and one visit, then computes the delta to write. */
function handWritten(steps: number): number {
  let context = { sagaId: 'x', results: AppendMap.empty<unknown>(), visits: AppendMap.empty<number>(), log: [] as unknown[], active: {} as Record<string, unknown> };
  let written = { results: 0, visits: 0 };
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) {
    context = { ...context, results: context.results.set(`s${i}`, result(i)), visits: context.visits.set(`s${i + 1}`, 1), active: { [`s${i + 1}`]: { exec: `s${i + 1}#1` } } };
    const entries: string[] = [];
    for (const [key, value] of context.results.writesSince(written.results)) entries.push(key, JSON.stringify(value));
    for (const [key, value] of context.visits.writesSince(written.visits)) entries.push(key, String(value));
    const control = JSON.stringify({ ...context, results: {}, visits: {}, log: [] });
    written = { results: context.results.size, visits: context.visits.size };
    sink += control.length + entries.length;
  }
  if (sink < 0) console.log(sink);
  return Number(process.hrtime.bigint() - start) / 1000 / steps;
}

function immer(steps: number): number {
  let context = { sagaId: 'x', results: {} as Record<string, unknown>, visits: {} as Record<string, number>, log: [] as unknown[], active: {} as Record<string, unknown> };
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) {
    const [next, patches] = produceWithPatches(context, (draft) => {
      draft.results[`s${i}`] = result(i);
      draft.visits[`s${i + 1}`] = 1;
      draft.active = { [`s${i + 1}`]: { exec: `s${i + 1}#1` } };
    });
    context = next;
    // The patches are the delta; the control state still has to be written without the journaled fields.
    const entries = patches.filter((p) => p.path[0] === 'results' || p.path[0] === 'visits').map((p) => JSON.stringify(p.value));
    const control = JSON.stringify({ ...context, results: {}, visits: {}, log: [] });
    sink += control.length + entries.length;
  }
  if (sink < 0) console.log(sink);
  return Number(process.hrtime.bigint() - start) / 1000 / steps;
}

for (const steps of [10, 1000]) {
  const repeat = Math.max(1, Math.round(20_000 / steps));
  const measure = (f: (n: number) => number) => {
    f(steps); // warm up
    return median(Array.from({ length: ROUNDS }, () => median(Array.from({ length: repeat }, () => f(steps)))));
  };
  const hand = measure(handWritten);
  const im = measure(immer);
  console.log(JSON.stringify({ steps, handWrittenUsPerStep: +hand.toFixed(3), immerUsPerStep: +im.toFixed(3), ratio: +(im / hand).toFixed(2) }));
}
