import type { StateConfig } from '../compilation/chart.js';

/** Small readers of a compiled state's JSON, for the kinds' `drawing` hooks. */

export const list = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The state's tags. */
export const tagsOf = (state: StateConfig | undefined): unknown[] => list(state?.tags);

/** The state's child states (none for an atomic state). */
export const childrenOf = (state: StateConfig): Record<string, StateConfig> => (state.states ?? {}) as Record<string, StateConfig>;

/** A param of the state's first entry action of `type`. */
export function entryParam(state: StateConfig, type: string, key: string): unknown {
  const entries = list(state.entry) as { type?: unknown; params?: Record<string, unknown> }[];
  return entries.find((e) => e?.type === type)?.params?.[key];
}

/** A duration as a person reads it (`1 h`, `90 s`). */
export function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1_000 === 0) return `${ms / 1_000} s`;
  return `${ms} ms`;
}
