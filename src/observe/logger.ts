import type { ErrorRecord } from '../errors.js';
import type { SagaInterceptor, SagaRun, SagaRunEvent } from './interceptors.js';

/**
 * A structured logger, pino-style: `logger.info({ sagaId }, 'saga started')`.
 * pino, bunyan-compatible loggers and a thin wrapper over `console` fit.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * createRuntime({ sagas: [order], logger: pino() });
 * ```
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  /** pino's: when present, debug lines are built only if `isLevelEnabled('debug')`. */
  isLevelEnabled?(level: string): boolean;
}

/**
 * Logs what a saga does, with structured fields (`sagaId`, `sagaName`,
 * `version`, `step`, `attempt`, `workerId`, `code`): start, resume and end at
 * `info` (an ended saga that rolled back at `warn`, one whose compensation
 * could not finish at `error`), step and compensation retries at `warn`,
 * failures for good at `error`, lease losses at `warn`, steps starting and
 * completing at `debug`. `createRuntime({ logger })` adds it by itself.
 *
 * @example
 * ```ts
 * await order.run(input, { interceptors: [loggingInterceptor(pino())] });
 * ```
 */
export function loggingInterceptor(logger: Logger, options: { workerId?: string } = {}): SagaInterceptor {
  const worker = options.workerId === undefined ? {} : { workerId: options.workerId };
  const base = (run: SagaRun) => ({ sagaId: run.sagaId, sagaName: run.sagaName, version: run.version, ...worker });
  return {
    async run(input, next) {
      // A resumed saga's first line says so; a resumed saga's "started" was logged by the run that started it.
      safely(() => logger.info(base(input), input.resumed ? 'saga resumed' : 'saga started'));
      const end = await next(input);
      const fields = { ...base(input), status: end.status, ...codeOf(end.failure) };
      if (end.interrupted !== undefined) {
        const interrupted = { ...base(input), status: end.status, ...codeOf(end.interrupted), reason: messageOf(end.interrupted) };
        const code = (end.interrupted as { code?: unknown } | null)?.code;
        if (code === 'EXECUTION_STOPPED') safely(() => logger.info(interrupted, 'saga run stopped; it resumes from its stored state'));
        else if (code === 'STALE_RECORD') safely(() => logger.warn(interrupted, 'lease lost: another worker runs this saga now; this worker stopped running it'));
        else safely(() => logger.error(interrupted, 'saga run stopped by an error; it resumes from its stored state when a worker picks it up'));
      } else if (end.status === 'completed') safely(() => logger.info(fields, 'saga completed'));
      else if (end.status === 'waiting') safely(() => logger.debug(fields, 'saga waiting'));
      else if (end.status === 'failed') safely(() => logger.error({ ...fields, reason: end.failure?.message }, 'saga failed: its compensation could not finish; retry it with orsa retry'));
      else if (end.status === 'compensated' || end.status === 'cancelled') safely(() => logger.warn({ ...fields, reason: end.failure?.message }, `saga ${end.status}`));
      return end;
    },
    event(run, event) {
      if (isDebug(event.type) && !(event.type === 'event.received' && event.dropped) && logger.isLevelEnabled && !logger.isLevelEnabled('debug')) return;
      log(logger, base(run), event);
    },
  };
}

function log(logger: Logger, base: Record<string, unknown>, event: SagaRunEvent): void {
  switch (event.type) {
    case 'step.started':
    case 'step.completed':
    case 'compensation.started':
      return logger.debug({ ...base, step: event.step, ...('attempt' in event ? { attempt: event.attempt } : {}) }, event.type.replace('.', ' '));
    case 'compensation.completed':
      return logger.debug({ ...base, step: event.step }, 'compensation completed');
    case 'step.retrying':
    case 'compensation.retrying':
      return logger.warn(
        { ...base, step: event.step, attempt: event.attempt, delayMs: event.dueAt - event.at, ...codeOf(event.error), reason: event.error.message },
        `${event.type === 'step.retrying' ? 'step' : 'compensation'} failed; retrying`,
      );
    case 'step.failed':
    case 'compensation.failed':
      return logger.error(
        { ...base, step: event.step, attempt: event.attempt, ...codeOf(event.error), reason: event.error.message },
        `${event.type === 'step.failed' ? 'step' : 'compensation'} failed for good`,
      );
    case 'saga.not-ready':
      return logger.warn({ ...base, ...codeOf(event.error), reason: event.error.message }, 'saga not ready; no step was run');
    case 'catch.failed':
      return logger.error({ ...base, ...codeOf(event.error), reason: event.error.message }, 'the saga catch handler threw');
    case 'saga.cancelling':
      return logger.info(base, 'saga cancelling');
    case 'event.received':
      if (event.dropped) {
        const { code, limit, payload } = event.dropped;
        return logger.warn({ ...base, event: event.name, code, limit, payload }, `event dropped: the saga already held ${limit} unconsumed events of that name; send it again once they are consumed`);
      }
      return logger.debug({ ...base, event: event.name }, 'event received');
    default:
      return;
  }
}

const DEBUG_EVENTS = new Set(['step.started', 'step.completed', 'compensation.started', 'compensation.completed', 'event.received']);
const isDebug = (type: string) => DEBUG_EVENTS.has(type);

function codeOf(error: ErrorRecord | unknown): { code?: string } {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? { code } : {};
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A logger that throws must not change the saga's course. */
function safely(write: () => void): void {
  try {
    write();
  } catch {
    // ignored on purpose
  }
}
