import { InputNotSerializableError, ResultNotSerializableError } from '../errors.js';

/** Default upper bound of one step result, as JSON text. */
export const DEFAULT_MAX_RESULT_BYTES = 1024 * 1024;
/** Default upper bound of a saga's input, as JSON text. */
export const DEFAULT_MAX_INPUT_BYTES = 1024 * 1024;

/** Why a value does not survive a JSON round trip unchanged, and where. */
export interface Unserializable {
  /** Where the offending value is, from the root `$`: `$.items[2].at`. */
  path: string;
  /** What it is and what to do instead. */
  reason: string;
}

/**
 * Finds the first value that JSON cannot carry unchanged, or a size above
 * `maxBytes`: the one checker behind step results and saga input.
 * JSON.stringify alone is not enough: it silently drops functions, turns
 * Maps into `{}`, Dates into strings, NaN and `undefined` array items into null.
 *
 * @example
 * ```ts
 * findUnserializable({ at: new Date() }); // { path: '$.at', reason: 'a Date, which JSON does not carry; use date.toISOString()' }
 * ```
 */
export function findUnserializable(value: unknown, maxBytes = Infinity): Unserializable | null {
  const walked = walk(value, new Set(), false);
  if (typeof walked !== 'number') return { path: `$${walked.path}`, reason: walked.reason };
  // The walk bounds the size from above: a value under the limit by that bound is not stringified here
  // (its journal entry is, once): a step result was stringified twice.
  if (walked <= maxBytes || value === undefined) return null;
  const json = JSON.stringify(value) as string | undefined;
  // A toJSON() that gives undefined (or a function): JSON would store nothing at all.
  if (json === undefined) return { path: '$', reason: 'a value whose toJSON() gives nothing JSON can store' };
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only count bytes when it could matter.
  if (json.length * 3 > maxBytes && utf8Bytes(json) > maxBytes) {
    return { path: '$', reason: `it is larger than ${maxBytes} bytes as JSON` };
  }
  return null;
}

/**
 * Checks that a step result survives a JSON round trip unchanged, before it
 * enters the snapshot.
 *
 * @throws {ResultNotSerializableError} naming the path of the offending value.
 * @example
 * ```ts
 * assertSerializable('load', { at: new Date() }); // throws RESULT_NOT_SERIALIZABLE ($.at is a Date …)
 * ```
 */
export function assertSerializable(step: string, value: unknown, maxBytes = DEFAULT_MAX_RESULT_BYTES): void {
  const found = findUnserializable(value, maxBytes);
  if (!found) return;
  const tooBig = found.reason.startsWith('it is larger');
  throw new ResultNotSerializableError(
    step,
    tooBig ? `${found.reason}; store large data elsewhere and return a reference, or raise maxResultBytes` : `${found.path} is ${found.reason}`,
  );
}

/**
 * Checks a saga's input the way results are checked, before anything is stored.
 *
 * @throws {InputNotSerializableError} with the path of the offending value.
 * @example
 * ```ts
 * assertInputSerializable('order', { total: NaN }); // throws INPUT_NOT_SERIALIZABLE ($.total is NaN …)
 * ```
 */
export function assertInputSerializable(saga: string, value: unknown, maxBytes = DEFAULT_MAX_INPUT_BYTES): void {
  const found = findUnserializable(value, maxBytes);
  if (!found) return;
  const tooBig = found.reason.startsWith('it is larger');
  throw new InputNotSerializableError(
    saga,
    found.path,
    tooBig ? `${found.reason}; store large data elsewhere and pass a reference, or raise maxInputBytes` : `${found.path} is ${found.reason}`,
  );
}

/** Most bytes a number takes in JSON (`-0.0000012345678901234567`: 25; `-1.7976931348623157e+308` is 24). */
const NUMBER_BYTES = 25;

/**
 * JSON.stringify writes what a `toJSON` method returns, which the walk does
 * not see (an array's own, an Array subclass's, a non-enumerable one): no bound
 * then, so the size is measured on the JSON itself.
 */
function boundOf(object: object, bytes: number): number {
  return typeof (object as { toJSON?: unknown }).toJSON === 'function' ? Infinity : bytes;
}

/**
 * An upper bound of the value's size in bytes of UTF-8 JSON, or the first
 * value JSON cannot carry unchanged, with its path below `value` (built only
 * on the way back from a problem: a clean value builds no path strings).
 * A string unit takes at most 6 bytes (`\u001f`; a character 3, a pair 4).
 */
function walk(value: unknown, seen: Set<object>, inArray: boolean): number | Unserializable {
  switch (typeof value) {
    case 'string':
      return value.length * 6 + 2;
    case 'boolean':
      return 5;
    case 'number':
      return Number.isFinite(value) ? NUMBER_BYTES : { path: '', reason: `${value}, which becomes null in JSON; use a finite number or null` };
    case 'undefined':
      // An undefined member disappears and reads back as undefined: unchanged. In an array it becomes null.
      return inArray ? { path: '', reason: 'undefined in an array, which becomes null in JSON; use null' } : 4;
    case 'bigint':
      return { path: '', reason: 'a BigInt, which JSON does not carry; use its string (value.toString())' };
    case 'function':
      return { path: '', reason: 'a function' };
    case 'symbol':
      return { path: '', reason: 'a symbol' };
  }
  if (value === null) return 4;
  const object = value as object;
  if (seen.has(object)) return { path: '', reason: 'a reference back to an enclosing value (a cycle)' };
  let bytes = 2;
  if (Array.isArray(object)) {
    seen.add(object);
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) return { path: `[${i}]`, reason: 'a hole in a sparse array, which becomes null in JSON; fill it' };
      const item = walk(object[i], seen, true);
      if (typeof item !== 'number') return { path: `[${i}]${item.path}`, reason: item.reason };
      bytes += item + 1;
    }
    seen.delete(object);
    return boundOf(object, bytes);
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const kind = (typeof object.constructor === 'function' && object.constructor.name) || 'object with a custom prototype';
    const hint =
      object instanceof Date ? '; use date.toISOString()' : object instanceof Map ? '; use Object.fromEntries(map)' : object instanceof Set ? '; use [...set]' : '; use a plain object';
    return { path: '', reason: `a ${kind}, which JSON does not carry${hint}` };
  }
  seen.add(object);
  for (const key of Object.keys(object)) {
    const member = walk((object as Record<string, unknown>)[key], seen, false);
    if (typeof member !== 'number') return { path: `${memberPath(key)}${member.path}`, reason: member.reason };
    bytes += key.length * 6 + 4 + member;
  }
  seen.delete(object);
  return boundOf(object, bytes);
}

/** `.name` for plain keys, `["we ird"]` for others, so a path can be read back unambiguously. */
function memberPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** UTF-8 size of a string: Buffer in Node, TextEncoder where there is no Buffer (a browser). */
function utf8Bytes(text: string): number {
  return globalThis.Buffer ? Buffer.byteLength(text) : new TextEncoder().encode(text).length;
}
