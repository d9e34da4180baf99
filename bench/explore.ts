/**
 * How long `explore` takes to check a 20-step saga (a parallel group, a goto
 * loop and a wait among its steps) under every fault, beside a baseline
 * measured in the same run: one plain in-memory run of the same saga.
 * Run: npm run bench:explore. Prints one JSON line: steps, paths, states,
 * faults, ms (wall, median of BENCH_ROUNDS), cpu_ms (CPU time of the process).
 */
import { saga } from '../src/index.js';
import { explore, formatReport } from '../src/testing.js';

/** 20 steps: 14 sequential compensable steps, a group of 2 branches (3 steps), a goto loop, a wait and a retriable tail. */
function buildTwentyStepSaga() {
  let b: any = saga('twenty').input<{ id: string }>();
  for (let i = 1; i <= 7; i++) b = b.step(`s${i}`, () => i, { compensate: () => {} });
  b = b.parallel('group', {
    left: (x: any) => x.step('p1', () => 'p1', { compensate: () => {} }),
    right: (x: any) => x.step('p2', () => 'p2', { compensate: () => {} }).step('p3', () => 'p3'),
  });
  b = b.step('poll', () => 'ok', { goto: { targets: ['poll'], decide: () => null, maxVisits: 3 } });
  b = b.waitFor('approval', { event: 'approved', timeoutMs: 60_000 });
  for (let i = 8; i <= 14; i++) b = b.step(`s${i}`, () => i, { compensate: () => {} });
  b = b.step('ship', () => 'shipped', { pivot: true });
  b = b.step('notify', () => 'sent', { retry: 'forever' });
  return b.build();
}

async function main() {
  const twenty = buildTwentyStepSaga();
  const steps = Object.keys(twenty.compiled.steps).length;
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const runs: number[] = [];
  const baselines: number[] = [];
  // CPU time beside wall time: on a machine shared with other work, wall time mostly measures the others.
  const cpus: number[] = [];
  let report: Awaited<ReturnType<typeof explore>> | undefined;
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    const handle = await twenty.start({ id: 'x' });
    await handle.send('approved', {});
    await handle.result;
    baselines.push(performance.now() - t);
    t = performance.now();
    const cpu = process.cpuUsage();
    report = await explore(twenty, { input: { id: 'x' } });
    runs.push(performance.now() - t);
    const used = process.cpuUsage(cpu);
    cpus.push((used.user + used.system) / 1000);
    if (report.violations.length > 0) throw new Error(`the bench saga has violations:\n${formatReport(report)}`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    JSON.stringify({
      saga: 'twenty',
      steps,
      paths: report!.paths,
      states: report!.states,
      faults: report!.faults,
      ms: Math.round(median(runs)),
      cpu_ms: Math.round(median(cpus)),
      baseline_one_run_ms: Number(median(baselines).toFixed(3)),
      rounds,
    }),
  );
}

await main();
