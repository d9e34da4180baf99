import type { SpanContext } from '@opentelemetry/api';

/**
 * W3C Trace Context `traceparent` (version 00), written and read here rather
 * than through the global propagator: a stored saga must resume its trace even
 * when the application registered no propagator (the SDK's default is none).
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * `00-<trace id>-<span id>-<flags>`, or undefined for an invalid (no-op) span context.
 *
 * @example
 * ```ts
 * formatTraceparent(trace.getActiveSpan()!.spanContext()); // '00-4bf9…-00f0…-01'
 * ```
 */
export function formatTraceparent(span: SpanContext): string | undefined {
  if (!/^[0-9a-f]{32}$/.test(span.traceId) || span.traceId === ZERO_TRACE) return undefined;
  if (!/^[0-9a-f]{16}$/.test(span.spanId) || span.spanId === ZERO_SPAN) return undefined;
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The remote span context a stored `traceparent` names; undefined when it is absent or malformed (a trace is never worth failing a saga).
 *
 * @example
 * ```ts
 * const stored = JSON.parse(record.snapshot).context.headers?.traceparent;
 * const parent = parseTraceparent(stored); // link your own spans to the saga's trace
 * ```
 */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!match || match[1] === ZERO_TRACE || match[2] === ZERO_SPAN) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16), isRemote: true };
}
