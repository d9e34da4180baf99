import { TracingUnavailableError } from '../errors.js';
import type { SagaInterceptor } from './interceptors.js';
import { loggingInterceptor, type Logger } from './logger.js';

/** The observability options a runtime takes (see RuntimeOptions). */
export interface ObserveOptions {
  tracing?: boolean;
  logger?: Logger;
  interceptors?: readonly SagaInterceptor[];
}

/**
 * The interceptors a runtime wraps every saga with, outermost first: tracing
 * (so logs carry the span), logging, then the user's. `@opentelemetry/api` is
 * imported here, once, only if installed: `import 'orsa'` never needs it.
 */
export async function runtimeInterceptors(options: ObserveOptions, workerId: string): Promise<SagaInterceptor[]> {
  const out: SagaInterceptor[] = [];
  if (options.tracing !== false) {
    const otel = await import('./otel.js').catch((error: unknown) => {
      if (options.tracing === true) {
        throw new TracingUnavailableError({ cause: error });
      }
      return null;
    });
    if (otel) out.push(otel.otelInterceptor());
  }
  if (options.logger) out.push(loggingInterceptor(options.logger, { workerId }));
  if (options.interceptors) out.push(...options.interceptors);
  return out;
}

/** Logs a problem the runtime reports (a corrupt record, an unregistered version, a hook that threw), when a logger is given. */
export function logProblem(logger: Logger | undefined, error: unknown, workerId: string): void {
  if (!logger) return;
  const e = error as { code?: unknown; sagaId?: unknown; message?: unknown } | null;
  const fields = {
    workerId,
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(typeof e?.sagaId === 'string' ? { sagaId: e.sagaId } : {}),
    reason: typeof e?.message === 'string' ? e.message : String(error),
  };
  try {
    logger.error(fields, e?.code === 'CORRUPT_RECORD' ? 'corrupt saga record left untouched' : 'runtime problem');
  } catch {
    // a logger that throws changes nothing
  }
}

/** Logs that this worker took a saga over (it resumes a stored one: a crashed or stopped worker's, or one due to wake). */
export function logTakeover(logger: Logger | undefined, record: { id: string; sagaName: string; version: string; status: string }, workerId: string): void {
  if (!logger) return;
  const waking = record.status === 'waiting' || record.status === 'failed';
  try {
    logger.info(
      { sagaId: record.id, sagaName: record.sagaName, version: record.version, status: record.status, workerId },
      waking ? 'saga picked up to wake' : 'saga taken over (its lease expired or was released)',
    );
  } catch {
    // a logger that throws changes nothing
  }
}
