import { ResultNotSerializableError } from '../errors.js';

/** Default upper bound of one step result, as JSON text. */
export const DEFAULT_MAX_RESULT_BYTES = 1024 * 1024;

/**
 * Checks that a step result survives a JSON round trip unchanged, before it
 * enters the snapshot. JSON.stringify alone is not enough: it silently drops
 * functions and undefined members and turns Maps into `{}`.
 */
export function assertSerializable(step: string, value: unknown, maxBytes = DEFAULT_MAX_RESULT_BYTES): void {
  if (value === undefined || value === null || typeof value === 'string' || typeof value === 'boolean') {
    if (typeof value === 'string' && value.length * 3 > maxBytes && utf8Bytes(value) > maxBytes) tooBig(step, maxBytes);
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ResultNotSerializableError(step, `the number ${value} becomes null in JSON`);
    return;
  }
  walk(step, value, '$', new Set());
  if (maxBytes !== Infinity) {
    const json = JSON.stringify(value);
    // UTF-8 takes at most 3 bytes per UTF-16 unit: only count bytes when it could matter.
    if (json.length * 3 > maxBytes && utf8Bytes(json) > maxBytes) tooBig(step, maxBytes);
  }
}

function tooBig(step: string, maxBytes: number): never {
  throw new ResultNotSerializableError(step, `it is larger than ${maxBytes} bytes as JSON; store large data elsewhere and return a reference, or raise maxResultBytes`);
}

function walk(step: string, value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new ResultNotSerializableError(step, `${path} is ${value}, which becomes null in JSON`);
      return;
    case 'undefined':
      return;
    case 'bigint':
      throw new ResultNotSerializableError(step, `${path} is a BigInt; return it as a string`);
    case 'function':
      throw new ResultNotSerializableError(step, `${path} is a function`);
    case 'symbol':
      throw new ResultNotSerializableError(step, `${path} is a symbol`);
  }
  if (value === null) return;
  const object = value as object;
  if (seen.has(object)) throw new ResultNotSerializableError(step, `${path} refers back to itself (a cycle)`);
  if (Array.isArray(object)) {
    seen.add(object);
    object.forEach((item, i) => walk(step, item, `${path}[${i}]`, seen));
    seen.delete(object);
    return;
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const kind = object.constructor?.name ?? 'object';
    const hint = object instanceof Date ? '; return date.toISOString()' : object instanceof Map ? '; return Object.fromEntries(map)' : '';
    throw new ResultNotSerializableError(step, `${path} is a ${kind}, which JSON does not carry${hint}`);
  }
  seen.add(object);
  for (const key of Object.keys(object)) walk(step, (object as Record<string, unknown>)[key], `${path}.${key}`, seen);
  seen.delete(object);
}

/** UTF-8 size of a string: Buffer in Node, TextEncoder where there is no Buffer (a browser). */
function utf8Bytes(text: string): number {
  return globalThis.Buffer ? Buffer.byteLength(text) : new TextEncoder().encode(text).length;
}
