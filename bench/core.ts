/**
 * In-memory overhead of a 10-step and a 1,000-step saga, in µs per step, beside two baselines
 * measured in the same run: a plain async loop and a naive XState machine
 * that invokes one fromPromise actor per state.
 * Run: npm run bench:core. One JSON line per saga length (steps: 10, 1000; BENCH_STEPS=10,100 to choose).
 * The per-step cost should not grow with the length: the step's context update is O(1).
 */
import { createActor, fromPromise, setup, toPromise } from 'xstate';
import { saga } from '../src/index.js';

const LENGTHS = (process.env.BENCH_STEPS ?? '10,1000').split(',').map(Number);
let STEPS = 10;
// The same number of steps per round at every length: 50,000 by default.
const stepsPerRound = Number(process.env.BENCH_SAGAS ?? 5000) * 10;
let SAGAS = stepsPerRound / STEPS;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const work = async (n: number) => n + 1;

function buildOrsa() {
  let b: any = saga('bench').input<number>();
  for (let i = 0; i < STEPS; i++) b = b.step(`s${i}`, ({ input, results }: any) => work(i === 0 ? input : results[`s${i - 1}`]));
  return b.build();
}

function buildNaive() {
  const states: Record<string, unknown> = {};
  for (let i = 0; i < STEPS; i++) {
    states[`s${i}`] = {
      invoke: { src: 'work', input: ({ context }: any) => context.value, onDone: { target: i === STEPS - 1 ? 'done' : `s${i + 1}`, actions: 'store' } },
    };
  }
  states.done = { type: 'final' };
  return setup({
    actors: { work: fromPromise(async ({ input }: { input: number }) => work(input)) },
    actions: { store: ({ context, event }: any) => void (context.value = event.output) },
  }).createMachine({ id: 'naive', initial: 's0', context: { value: 0 }, states, output: ({ context }: any) => context.value } as any);
}

async function plain(): Promise<void> {
  for (let s = 0; s < SAGAS; s++) {
    let v = s;
    for (let i = 0; i < STEPS; i++) v = await work(v);
  }
}

async function time(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1000 / (SAGAS * STEPS);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const contenders: Record<string, () => () => Promise<void>> = {
  plain: () => plain,
  naive: () => {
    const naive = buildNaive();
    return async () => {
      for (let s = 0; s < SAGAS; s++) await toPromise(createActor(naive).start());
    };
  },
  orsa: () => {
    const orsa = buildOrsa();
    return async () => {
      for (let s = 0; s < SAGAS; s++) await orsa.run(s);
    };
  },
};

/** Child mode: measure one contender, print its µs/step. */
async function measureOne(name: string, steps: number): Promise<void> {
  STEPS = steps;
  SAGAS = Math.max(1, Math.round(stepsPerRound / steps));
  const run = contenders[name]!();
  await run(); // warm up
  console.log(JSON.stringify({ usPerStep: await time(run) }));
}

/**
 * Each contender runs in a fresh process per round (alternating), so none
 * inherits another's JIT state (XState's internals would turn megamorphic).
 */
async function main() {
  const { execFileSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const self = fileURLToPath(import.meta.url);
  for (const steps of LENGTHS) await measureLength(steps, (name) => execFileSync(process.execPath, [...process.execArgv, self, name, String(steps)], { encoding: 'utf8' }));
}

async function measureLength(steps: number, runChild: (name: string) => string): Promise<void> {
  const figures = { orsa: [] as number[], naive: [] as number[], plain: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of ['plain', 'naive', 'orsa'] as const) {
      figures[name].push(JSON.parse(runChild(name).trim().split('\n').pop()!).usPerStep);
    }
  }
  const usPerStep = median(figures.orsa);
  const naiveXstateUsPerStep = median(figures.naive);
  const plainUsPerStep = median(figures.plain);
  console.log(`${steps} steps:`);
  console.log(`orsa        ${usPerStep.toFixed(2)} µs/step`);
  console.log(`naive XState ${naiveXstateUsPerStep.toFixed(2)} µs/step`);
  console.log(`plain loop  ${plainUsPerStep.toFixed(3)} µs/step`);
  console.log(
    JSON.stringify({
      steps,
      sagas: Math.max(1, Math.round(stepsPerRound / steps)),
      rounds: ROUNDS,
      usPerStep: +usPerStep.toFixed(2),
      plainUsPerStep: +plainUsPerStep.toFixed(3),
      naiveXstateUsPerStep: +naiveXstateUsPerStep.toFixed(2),
      ratioVsNaive: +(usPerStep / naiveXstateUsPerStep).toFixed(3),
    }),
  );
}

const child = process.argv[2];
void (child ? measureOne(child, Number(process.argv[3] ?? 10)) : main());
