import { InvalidInboxKindError, InvalidSagaIdError } from '../errors.js';
import type { InboxKind } from './types.js';

/*
 * What every store checks of its callers before it writes, identically, so
 * that a raw store user gets the same errors as the runtime.
 */

/** Longest saga id accepted, in UTF-16 code units (what `string.length` counts). */
export const MAX_SAGA_ID_LENGTH = 255;

// C0, DEL and C1 controls: they corrupt terminals and logs, and PostgreSQL refuses NUL outright.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks a saga id the same way for every store: 1 to 255 characters of
 * well-formed Unicode (a lone surrogate reads back as U+FFFD from SQLite and
 * collides with other ids in PostgreSQL) without control characters. Called
 * by the runtime and by each store's `insert` and `sendEvent`, so a raw store
 * user gets the same error.
 *
 * @throws {InvalidSagaIdError} naming what is wrong.
 *
 * @example
 * ```ts
 * assertSagaId('order-42');  // ok
 * assertSagaId('a\uD800');   // throws INVALID_SAGA_ID: lone surrogate
 * ```
 */
export function assertSagaId(id: unknown): asserts id is string {
  if (typeof id !== 'string') throw new InvalidSagaIdError(`it is a ${id === null ? 'null' : typeof id}, not a string`);
  if (id.length === 0) throw new InvalidSagaIdError('it is empty');
  if (id.length > MAX_SAGA_ID_LENGTH) throw new InvalidSagaIdError(`it is ${id.length} characters long, more than ${MAX_SAGA_ID_LENGTH}`);
  if (!isWellFormed(id)) throw new InvalidSagaIdError('it contains a lone UTF-16 surrogate (not valid Unicode)');
  const control = CONTROL.exec(id);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new InvalidSagaIdError(`it contains the control character U+${code} at position ${control.index}`);
  }
}

/** `String.prototype.isWellFormed` (Node 20+), with a fallback for older engines. */
function isWellFormed(text: string): boolean {
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  if (typeof native === 'function') return native.call(text);
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/**
 * Checks the channel of an inbox row.
 *
 * @example
 * ```ts
 * assertInboxKind('command'); // ok
 * ```
 */
export function assertInboxKind(kind: unknown): asserts kind is InboxKind {
  if (kind !== 'event' && kind !== 'command') {
    throw new InvalidInboxKindError(kind);
  }
}
