/**
 * Text from the store (ids, error messages, payloads) is written by whoever
 * can start a saga or send it an event: printed raw, a control sequence in it
 * could rewrite the operator's terminal. Everything the CLI prints from the
 * store goes through {@link clean}; JSON output through {@link cleanJson}.
 */

// C0 and C1 controls, DEL, and the bidirectional overrides that reorder what is shown.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escape = (ch: string): string => {
  const code = ch.charCodeAt(0);
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/**
 * A string made safe to print: control characters shown as escapes (`\x1b`, `\n`).
 *
 * @example
 * ```ts
 * clean('id\x1b[2J'); // 'id\\x1b[2J'
 * ```
 */
export function clean(text: unknown): string {
  return String(text).replace(UNSAFE, escape);
}

/**
 * JSON text safe to print: JSON.stringify escapes C0 controls but not DEL,
 * C1 controls or bidi overrides; those become `\uXXXX` (still valid JSON).
 *
 * @example
 * ```ts
 * cleanJson({ id: 'a\u009b' }); // '{"id":"a\\u009b"}'
 * ```
 */
export function cleanJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `value` as one line of JSON, cut to `maxChars` with an ellipsis unless `full`, and made safe to print.
 *
 * @example
 * ```ts
 * preview({ box: 'x'.repeat(500) }, 120); // '{"box":"xxx…'
 * ```
 */
export function preview(value: unknown, maxChars: number, full = false): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return clean(full || text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`);
}
