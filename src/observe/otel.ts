import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { ErrorRecord } from '../errors.js';
import type { SagaInterceptor, SagaRun, SagaRunEnd, SagaRunEvent, StepCall } from './interceptors.js';
import { formatTraceparent, parseTraceparent } from './traceparent.js';

/** Span attribute keys orsa sets, namespaced under `orsa.`. */
export const ORSA_ATTRIBUTES = {
  sagaName: 'orsa.saga.name',
  sagaId: 'orsa.saga.id',
  sagaVersion: 'orsa.saga.version',
  resumed: 'orsa.saga.resumed',
  status: 'orsa.saga.status',
  step: 'orsa.step.name',
  exec: 'orsa.step.execution',
  attempt: 'orsa.step.attempt',
  idempotencyKey: 'orsa.idempotency_key',
  errorCode: 'orsa.error.code',
} as const;

/** Options of {@link otelInterceptor}. */
export interface OtelInterceptorOptions {
  /**
   * The tracer spans are made with. Default: `trace.getTracer('orsa')` from the
   * registered provider; while no SDK is registered, each saga run is left
   * unwrapped (it costs nothing).
   */
  tracer?: Tracer;
}

/**
 * OpenTelemetry tracing as an interceptor: a span per saga run (`saga <name>`),
 * per step attempt (`step <name>`) and per compensation attempt
 * (`compensate <step>`), with the saga's name, id, version, the step, attempt
 * and idempotency key as `orsa.*` attributes. Errors are recorded on the span
 * (`recordException`, status ERROR, `orsa.error.code`); retries, waits and
 * received events are span events. A step function runs inside its span's context, so
 * the calls it makes are children of its span. The first run's `traceparent`
 * is stored with the saga: a run that resumes it, in any process, is its child.
 *
 * `createRuntime` adds it by itself when `@opentelemetry/api` is installed
 * (`tracing: false` turns that off); use it directly for in-memory runs.
 *
 * @example
 * ```ts
 * import { otelInterceptor } from 'orsa/otel';
 *
 * await order.run(input, { interceptors: [otelInterceptor()] });
 * ```
 */
export function otelInterceptor(options: OtelInterceptorOptions = {}): SagaInterceptor {
  const tracer = () => options.tracer ?? trace.getTracer('orsa');
  // The span of each run under way, by saga id: run events are recorded on it.
  const runs = new Map<string, Span>();
  return {
    enabled: () => options.tracer !== undefined || sdkRegistered(),
    async run(input, next) {
      const stored = input.resumed ? parseTraceparent(input.headers.traceparent) : undefined;
      const parent = stored ? trace.setSpanContext(ROOT_CONTEXT, stored) : context.active();
      const span = tracer().startSpan(
        `saga ${input.sagaName}`,
        { kind: SpanKind.INTERNAL, attributes: { ...runAttributes(input), [ORSA_ATTRIBUTES.resumed]: input.resumed } },
        parent,
      );
      runs.set(input.sagaId, span);
      // This run's steps are children of this run's span; only a fresh run's headers are stored.
      const own = formatTraceparent(span.spanContext());
      const headers = own ? { ...input.headers, traceparent: own } : input.headers;
      try {
        const end = await context.with(trace.setSpan(parent, span), () => next({ ...input, headers }));
        endRun(span, end);
        return end;
      } catch (error) {
        fail(span, error);
        span.end();
        throw error;
      } finally {
        if (runs.get(input.sagaId) === span) runs.delete(input.sagaId);
      }
    },
    step(input, next) {
      return around(tracer(), `step ${input.step}`, input, next);
    },
    compensation(input, next) {
      return around(tracer(), `compensate ${input.step}`, input, next);
    },
    event(run, event) {
      const span = runs.get(run.sagaId);
      if (span) record(span, event);
    },
  };
}

/**
 * Whether a tracer provider is registered. The API's global provider is a
 * ProxyTracerProvider whose delegate stays unset until an SDK registers one;
 * any other global provider counts as registered.
 */
function sdkRegistered(): boolean {
  const provider = trace.getTracerProvider() as { getDelegateTracer?: (name: string) => Tracer | undefined };
  return typeof provider.getDelegateTracer !== 'function' || provider.getDelegateTracer('orsa') !== undefined;
}

function runAttributes(run: SagaRun): Attributes {
  return { [ORSA_ATTRIBUTES.sagaName]: run.sagaName, [ORSA_ATTRIBUTES.sagaId]: run.sagaId, [ORSA_ATTRIBUTES.sagaVersion]: run.version };
}

/** A span around one attempt; the function runs inside its context. */
function around(tracer: Tracer, name: string, call: StepCall, next: (call: StepCall) => unknown): unknown {
  const parentSpan = parseTraceparent(call.run.headers.traceparent);
  const parent: Context = parentSpan ? trace.setSpanContext(context.active(), parentSpan) : context.active();
  const span = tracer.startSpan(
    name,
    {
      kind: SpanKind.INTERNAL,
      attributes: {
        ...runAttributes(call.run),
        [ORSA_ATTRIBUTES.step]: call.step,
        [ORSA_ATTRIBUTES.exec]: call.exec,
        [ORSA_ATTRIBUTES.attempt]: call.attempt,
        [ORSA_ATTRIBUTES.idempotencyKey]: call.idempotencyKey,
      },
    },
    parent,
  );
  // An aborted attempt (timeout, rollback, stop) ends with the abort's reason, even when the step never settles.
  const signal = call.signal;
  let ended = false;
  const settle = (error: unknown, failed: boolean) => {
    if (ended) return;
    ended = true;
    signal.removeEventListener('abort', onAbort);
    if (failed) fail(span, error);
    else span.setStatus({ code: SpanStatusCode.OK });
    span.end();
  };
  const onAbort = () => settle(signal.reason, true);
  signal.addEventListener('abort', onAbort);
  let pending: unknown;
  try {
    pending = context.with(trace.setSpan(parent, span), () => next(call));
  } catch (error) {
    settle(error, true);
    throw error;
  }
  return Promise.resolve(pending).then(
    (value) => {
      settle(undefined, false);
      return value;
    },
    (error: unknown) => {
      settle(error, true);
      throw error;
    },
  );
}

function endRun(span: Span, end: SagaRunEnd): void {
  span.setAttribute(ORSA_ATTRIBUTES.status, end.status);
  if (end.interrupted !== undefined) {
    const code = codeOf(end.interrupted);
    // The runtime stopping is an orderly hand-over, not an error: another run resumes the saga.
    if (code === 'EXECUTION_STOPPED') span.addEvent('orsa.saga.stopped', reasonAttributes(end.interrupted));
    else fail(span, end.interrupted);
  } else if (end.status === 'completed' || end.status === 'waiting' || end.status === 'running') {
    span.setStatus({ code: SpanStatusCode.OK });
  } else {
    if (end.failure) span.recordException(exceptionOf(end.failure));
    span.setStatus({ code: SpanStatusCode.ERROR, message: `saga ${end.status}${end.failure ? `: ${end.failure.message}` : ''}` });
  }
  span.end();
}

function record(span: Span, event: SagaRunEvent): void {
  switch (event.type) {
    case 'step.retrying':
    case 'compensation.retrying':
      span.addEvent(
        `orsa.${event.type}`,
        { [ORSA_ATTRIBUTES.step]: event.step, [ORSA_ATTRIBUTES.attempt]: event.attempt, 'orsa.retry.delay_ms': event.dueAt - event.at, ...errorAttributes(event.error) },
        event.at,
      );
      return;
    case 'step.failed':
    case 'compensation.failed':
      span.addEvent(`orsa.${event.type}`, { [ORSA_ATTRIBUTES.step]: event.step, [ORSA_ATTRIBUTES.attempt]: event.attempt, ...errorAttributes(event.error) }, event.at);
      return;
    case 'saga.waiting':
      span.addEvent('orsa.saga.waiting', event.dueAt === null ? {} : { 'orsa.wait.due_at': new Date(event.dueAt).toISOString(), 'orsa.wait.delay_ms': event.dueAt - event.at }, event.at);
      return;
    case 'event.received':
      span.addEvent('orsa.event.received', { 'orsa.event.name': event.name }, event.at);
      return;
    case 'saga.cancelling':
      span.addEvent('orsa.saga.cancelling', {}, event.at);
      return;
    default:
      return;
  }
}

function fail(span: Span, error: unknown): void {
  const e = error instanceof Error ? error : exceptionOf({ name: 'Error', message: String(error) });
  span.recordException(e);
  const code = codeOf(error);
  if (code) span.setAttribute(ORSA_ATTRIBUTES.errorCode, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errorAttributes(error: ErrorRecord): Attributes {
  return { 'exception.type': error.name, 'exception.message': error.message, ...(error.code ? { [ORSA_ATTRIBUTES.errorCode]: error.code } : {}) };
}

function reasonAttributes(reason: unknown): Attributes {
  const code = codeOf(reason);
  return { 'orsa.reason': reason instanceof Error ? reason.message : String(reason), ...(code ? { [ORSA_ATTRIBUTES.errorCode]: code } : {}) };
}

function exceptionOf(record: ErrorRecord): { name: string; message: string; code?: string; stack?: string } {
  return { name: record.name, message: record.message, ...(record.code ? { code: record.code } : {}), ...(record.stack ? { stack: record.stack } : {}) };
}
