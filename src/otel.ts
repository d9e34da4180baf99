/**
 * `orsa/otel`: OpenTelemetry tracing for sagas. Needs `@opentelemetry/api`
 * (an optional peer dependency); without a registered SDK its spans are no-ops.
 */
export { otelInterceptor, ORSA_ATTRIBUTES, type OtelInterceptorOptions } from './observe/otel.js';
export { formatTraceparent, parseTraceparent } from './observe/traceparent.js';
