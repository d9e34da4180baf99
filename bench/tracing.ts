/**
 * What tracing and logging cost an in-memory 10-step saga, in µs per step,
 * beside the same saga without interceptors, measured in the same run:
 * - none: no interceptors (the baseline);
 * - otel-noop: the OpenTelemetry interceptor with no SDK registered (what
 *   `createRuntime` runs when `@opentelemetry/api` is installed but unused);
 * - otel-sdk: with the SDK recording every span (BasicTracerProvider, a
 *   processor that drops finished spans: export cost is the exporter's);
 * - logger: the logging interceptor with a logger that discards lines.
 * Run: npm run bench:tracing. One JSON line per configuration.
 */
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { loggingInterceptor, saga, type SagaInterceptor } from '../src/index.js';
import { otelInterceptor } from '../src/otel.js';

const STEPS = 10;
const SAGAS = Number(process.env.BENCH_SAGAS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONFIGS = ['none', 'otel-noop', 'otel-sdk', 'logger'] as const;
type Config = (typeof CONFIGS)[number];

function build() {
  let b: any = saga('bench').input<number>();
  for (let i = 0; i < STEPS; i++) b = b.step(`s${i}`, ({ input, results }: any) => (i === 0 ? input : results[`s${i - 1}`]) + 1);
  return b.build();
}

function interceptorsOf(config: Config): SagaInterceptor[] {
  const drop = () => {};
  if (config === 'otel-sdk') trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new NoopSpanProcessor()] }));
  if (config === 'otel-noop' || config === 'otel-sdk') return [otelInterceptor()];
  if (config === 'logger') return [loggingInterceptor({ debug: drop, info: drop, warn: drop, error: drop })];
  return [];
}

/** Child mode: one configuration in a fresh process, prints its µs/step. */
async function measureOne(config: Config): Promise<void> {
  const definition = build();
  const interceptors = interceptorsOf(config);
  const run = async () => {
    for (let s = 0; s < SAGAS; s++) await definition.run(s, { interceptors });
  };
  await run(); // warm up
  const start = process.hrtime.bigint();
  await run();
  console.log(JSON.stringify({ usPerStep: Number(process.hrtime.bigint() - start) / 1000 / (SAGAS * STEPS) }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const self = fileURLToPath(import.meta.url);
  const figures = Object.fromEntries(CONFIGS.map((c) => [c, [] as number[]])) as Record<Config, number[]>;
  // Alternating configurations round by round, each in a fresh process: none inherits another's JIT state.
  for (let r = 0; r < ROUNDS; r++) {
    for (const config of CONFIGS) {
      const out = execFileSync(process.execPath, [self, config], { encoding: 'utf8' });
      figures[config].push(JSON.parse(out.trim().split('\n').pop()!).usPerStep);
    }
  }
  const baseline = median(figures.none);
  for (const config of CONFIGS) {
    const usPerStep = median(figures[config]);
    console.log(JSON.stringify({ config, steps: STEPS, sagas: SAGAS, rounds: ROUNDS, usPerStep: +usPerStep.toFixed(2), baselineUsPerStep: +baseline.toFixed(2), ratio: +(usPerStep / baseline).toFixed(2) }));
  }
}

const child = process.argv[2] as Config | undefined;
void (child ? measureOne(child) : main());
