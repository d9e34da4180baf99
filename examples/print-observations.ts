/** Prints a saga's observations as they happen, one line each, for the examples. */
import type { SagaObservation } from '../src/index.js';

/**
 * Returns an observer that prints each observation with the ms since it was made.
 *
 * @example
 * ```ts
 * await exchange.run(input, { observer: printObservations() });
 * ```
 */
export function printObservations(prefix = ''): (observation: SagaObservation) => void {
  const started = Date.now();
  return (o) => {
    const line = describe(o);
    if (line) console.log(`${prefix}${String(Date.now() - started).padStart(5)} ms  ${line}`);
  };
}

function describe(o: SagaObservation): string | null {
  switch (o.type) {
    case 'step.started':
      return `▶ ${o.step} started (${visit(o.exec)}attempt ${o.attempt})`;
    case 'step.retrying':
      return `↻ ${o.step} attempt ${o.attempt} failed: ${o.error.message}; retrying in ${o.dueAt - o.at} ms`;
    case 'step.completed':
      return `✔ ${o.step} completed (attempt ${o.attempt})`;
    case 'step.failed':
      return `✘ ${o.step} failed for good (attempt ${o.attempt}): ${o.error.message}`;
    case 'event.received':
      return `✉ event ${o.name} received`;
    case 'compensation.started':
      return `⤺ compensating ${o.exec} (attempt ${o.attempt})`;
    case 'compensation.completed':
      return `⤺ ${o.exec} compensated`;
    case 'compensation.retrying':
      return `⤺ compensation of ${o.exec} failed: ${o.error.message}; retrying`;
    case 'compensation.failed':
      return `⤺ compensation of ${o.exec} failed for good: ${o.error.message}`;
    case 'saga.not-ready':
      return `saga not ready: ${o.error.message}`;
    case 'saga.cancelling':
      return 'saga cancelling';
    case 'catch.failed':
      return `catch handler threw: ${o.error.message}`;
    case 'saga.completed':
      return '■ saga completed';
    case 'saga.compensated':
    case 'saga.failed':
    case 'saga.cancelled':
      return `■ saga ${o.type.slice(5)} (failed step: ${o.step ?? 'none'}; compensated: ${o.report.compensated.join(', ') || 'nothing'})`;
  }
}

/** Goto revisits run a step again as a new execution (`step#2`, …): worth showing. */
function visit(exec: string): string {
  const n = Number(exec.slice(exec.lastIndexOf('#') + 1));
  return n > 1 ? `visit ${n}, ` : '';
}
