import type { StateConfig } from '../compilation/compile.js';

/**
 * What Mermaid's `stateDiagram-v2` grammar (v11) accepts, shared by the
 * overview and the full chart: state ids hold letters, digits and `_` only,
 * some ids are keywords, and a label ends at `:` or `;`.
 */

/** Ids that Mermaid's lexer reads as keywords (`default…` is taken as a keyword even as a prefix). */
export const KEYWORD = /^(default|(state|note|class|classdef|scale|style|click|hide|end|direction|statediagram|acctitle|accdescr)$)/i;

/** Mermaid ends a label at `:` or `;` and a line at a newline. */
export function text(s: string): string {
  return s.replace(/:/g, '∶').replace(/;/g, ',').replace(/[\r\n]+/g, ' ');
}

/** A quoted state name: Mermaid has no escape for `"`. */
export function quoted(s: string): string {
  return `"${text(s).replace(/"/g, "'")}"`;
}

export function sanitize(key: string): string {
  const id = key.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(id) ? `_${id}` : id || '_';
}

/** Hands out Mermaid ids, unique in one diagram, that are never keywords. */
export function idAllocator(): (wanted: string) => string {
  const used = new Set<string>();
  return (wanted) => {
    let id = sanitize(wanted);
    if (KEYWORD.test(id)) id = `_${id}`;
    let unique = id;
    for (let n = 2; used.has(unique); n++) unique = `${id}_${n}`;
    used.add(unique);
    return unique;
  };
}

export function statesOf(config: StateConfig): Record<string, StateConfig> {
  return (config.states ?? {}) as Record<string, StateConfig>;
}

export function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
