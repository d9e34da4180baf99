// The DBOS Transact side of bench/dbos.ts, run in a child process of its own (DBOS is a
// process-wide singleton): the 3-step workflow of bench:durable's 3-step saga (each step
// returns about 100 bytes of JSON and reads the previous result), `sagas` workflows with
// `concurrency` in flight. Prints one JSON line: { stepsPerSec }.
// Usage: node bench/dbos/run.mjs <systemDatabaseUrl> <sagas> <concurrency> <poolSize>
import { randomBytes } from 'node:crypto';
import { DBOS } from '@dbos-inc/dbos-sdk';

const [url, sagasArg, concurrencyArg, poolArg] = process.argv.slice(2);
const sagas = Number(sagasArg);
const concurrency = Number(concurrencyArg);
const STEPS = 3;
const pad = 'x'.repeat(80); // as bench:durable at resultBytes 100

const step = async (previous) => ({ n: previous.n + 1, pad });
const threeSteps = DBOS.registerWorkflow(
  async (input) => {
    let result = { n: input.n };
    for (let i = 0; i < STEPS; i++) result = await DBOS.runStep(() => step(result), { name: `s${i}` });
    return result;
  },
  { name: 'threeSteps' },
);

DBOS.setConfig({ name: 'orsa-bench', systemDatabaseUrl: url, systemDatabasePoolSize: Number(poolArg), logLevel: 'error', applicationVersion: '0.1.0' });
await DBOS.launch();

async function run(count, lanes) {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const n = next++;
      await DBOS.withNextWorkflowID(`d-${randomBytes(6).toString('hex')}-${n}`, () => threeSteps({ n }));
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: lanes }, lane));
  return (count * STEPS) / (Number(process.hrtime.bigint() - start) / 1e9);
}

await run(Math.min(sagas, 20), Math.min(concurrency, 20)); // warm-up: this process is fresh each round
const stepsPerSec = await run(sagas, concurrency);
await DBOS.shutdown();
console.log(JSON.stringify({ stepsPerSec }));
