import type { CompensationReport, ErrorRecord } from '../errors.js';
import { TAGS } from '../compilation/compile.js';
import { MAX_QUEUED_PER_EVENT, type SagaContext, type SagaEvent } from '../compilation/machine.js';

/** Where a saga stands, derived from its statechart. */
export type ExecutionStatus = 'running' | 'waiting' | 'compensating' | 'completed' | 'compensated' | 'failed' | 'cancelled';

/**
 * What happened in a saga, one entry per fact. Observers receive these; the
 * durable runtime stores them as the saga's history.
 */
export type SagaObservation = { sagaId: string; at: number } & (
  | { type: 'step.started'; step: string; exec: string; attempt: number }
  | { type: 'step.completed'; step: string; exec: string; attempt: number }
  | { type: 'step.retrying'; step: string; exec: string; attempt: number; error: ErrorRecord; dueAt: number }
  | { type: 'step.failed'; step: string; exec: string; attempt: number; error: ErrorRecord }
  /**
   * `dropped`: the saga already held MAX_QUEUED_PER_EVENT events of that name, so it could not keep this one
   * (the ways in refuse such an event; only one stored past them, by a raw store user or two processes sending at once, gets here).
   * The payload is kept here, so nothing is lost without a trace: send it again once the backlog is consumed.
   */
  | { type: 'event.received'; name: string; dropped?: { code: 'EVENT_BACKLOG_FULL'; limit: number; payload: unknown } }
  | { type: 'compensation.started'; step: string; exec: string; attempt: number }
  | { type: 'compensation.completed'; step: string; exec: string }
  | { type: 'compensation.retrying'; step: string; exec: string; attempt: number; error: ErrorRecord; dueAt: number }
  | { type: 'compensation.failed'; step: string; exec: string; attempt: number; error: ErrorRecord }
  | { type: 'saga.not-ready'; error: ErrorRecord }
  /** The `.catch()` handler threw; the saga ends all the same. */
  | { type: 'catch.failed'; error: ErrorRecord }
  | { type: 'saga.cancelling' }
  | { type: 'saga.completed' }
  | { type: 'saga.compensated' | 'saga.failed' | 'saga.cancelled'; step: string | null; error: ErrorRecord | undefined; report: CompensationReport }
);

/** Status of a snapshot, from its tags (the runtime never parses state names). */
export function statusOf(snapshot: { hasTag(tag: string): boolean; context: SagaContext }): ExecutionStatus {
  if (snapshot.hasTag(TAGS.completed)) return 'completed';
  if (snapshot.hasTag(TAGS.compensated)) return 'compensated';
  if (snapshot.hasTag(TAGS.cancelled)) return 'cancelled';
  if (snapshot.hasTag(TAGS.failed)) return 'failed';
  if (snapshot.context.rollingBack) return 'compensating';
  // Waiting when nothing runs here: a child step whose child saga was started runs elsewhere (`awaiting`).
  if ((snapshot.hasTag(TAGS.waiting) || snapshot.hasTag(TAGS.event)) && allAwaiting(snapshot.context.active)) return 'waiting';
  return 'running';
}

function allAwaiting(active: SagaContext['active']): boolean {
  for (const step in active) if (active[step]!.awaiting !== true) return false;
  return true;
}

/** Earliest due timer, or null. */
export function dueAtOf(context: SagaContext): number | null {
  let due: number | null = null;
  for (const key in context.timers) {
    const at = context.timers[key]!;
    if (due === null || at < due) due = at;
  }
  return due;
}

/** The compensation report of a context: what was undone, and what is still not. */
export function reportOf(context: SagaContext): CompensationReport {
  const undone: string[] = [];
  const compensated = new Set(context.compensated);
  for (let i = context.log.length - 1; i >= 0; i--) {
    const exec = context.log[i]!.exec;
    if (!compensated.has(exec)) undone.push(exec);
  }
  const report: CompensationReport = { compensated: [...context.compensated], undone };
  if (context.compError) report.error = context.compError;
  return report;
}

const stepOfExec = (context: SagaContext, exec: string) => context.log.find((e) => e.exec === exec)?.step ?? exec.slice(0, exec.lastIndexOf('#'));

/** The facts a transition produced, from the event and the contexts before and after it. */
export function observe(sagaId: string, event: SagaEvent, before: SagaContext | null, after: SagaContext, status: ExecutionStatus, previous: ExecutionStatus | null): SagaObservation[] {
  const at = event.now;
  const out: SagaObservation[] = [];
  const type = event.type;
  if (before) {
    if (type.startsWith('orsa.done.')) {
      const step = type.slice(10);
      const was = before.active[step];
      if (was && was.exec === event.exec && after.active[step]?.exec !== was.exec) {
        out.push({ sagaId, at, type: 'step.completed', step, exec: was.exec, attempt: was.attempt });
      }
    } else if (type.startsWith('orsa.fail.')) {
      const step = type.slice(10);
      const was = before.active[step];
      if (was && was.exec === event.exec) {
        const dueAt = after.timers[step];
        if (dueAt !== undefined && status !== 'compensating') {
          out.push({ sagaId, at, type: 'step.retrying', step, exec: was.exec, attempt: was.attempt, error: event.error, dueAt });
        } else out.push({ sagaId, at, type: 'step.failed', step, exec: was.exec, attempt: was.attempt, error: event.error });
      }
    } else if (type === 'orsa.event') {
      let held = 0;
      for (const e of before.inbox) if (e.name === event.name) held++;
      // The chart's enqueueEvent keeps nothing past the limit.
      const dropped = held >= MAX_QUEUED_PER_EVENT ? { dropped: { code: 'EVENT_BACKLOG_FULL' as const, limit: MAX_QUEUED_PER_EVENT, payload: event.payload ?? null } } : {};
      out.push({ sagaId, at, type: 'event.received', name: event.name, ...dropped });
    } else if (type === 'orsa.compensated' && before.comp && before.comp.exec === event.exec) {
      out.push({ sagaId, at, type: 'compensation.completed', step: stepOfExec(before, event.exec), exec: event.exec });
    } else if (type === 'orsa.compensationFailed' && before.comp && before.comp.exec === event.exec) {
      const dueAt = after.timers.$compensation;
      const base = { sagaId, at, step: stepOfExec(before, event.exec), exec: event.exec, attempt: before.comp.attempt, error: event.error };
      out.push(dueAt !== undefined ? { ...base, type: 'compensation.retrying', dueAt } : { ...base, type: 'compensation.failed' });
    } else if (type === 'orsa.notReady') {
      out.push({ sagaId, at, type: 'saga.not-ready', error: event.error });
    } else if (type === 'orsa.cancel' && after.cancelled && !before.cancelled) {
      out.push({ sagaId, at, type: 'saga.cancelling' });
    } else if (type === 'orsa.caught' && event.error) {
      out.push({ sagaId, at, type: 'catch.failed', error: event.error });
    }
  }
  for (const step in after.active) {
    const now = after.active[step]!;
    const was = before?.active[step];
    if (!was || was.exec !== now.exec || was.attempt !== now.attempt) {
      out.push({ sagaId, at, type: 'step.started', step, exec: now.exec, attempt: now.attempt });
    }
  }
  // A failed saga keeps the compensation that failed in context: only a running one is news.
  if (after.comp && status === 'compensating' && (!before?.comp || before.comp.exec !== after.comp.exec || before.comp.attempt !== after.comp.attempt)) {
    out.push({ sagaId, at, type: 'compensation.started', step: stepOfExec(after, after.comp.exec), exec: after.comp.exec, attempt: after.comp.attempt });
  }
  if (status !== previous) {
    if (status === 'completed') out.push({ sagaId, at, type: 'saga.completed' });
    else if (status === 'compensated' || status === 'failed' || status === 'cancelled') {
      out.push({ sagaId, at, type: `saga.${status}`, step: after.failure?.step ?? null, error: after.failure?.error, report: reportOf(after) });
    }
  }
  return out;
}
