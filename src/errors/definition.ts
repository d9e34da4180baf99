/** Errors about what a saga is given: its declaration, its input, its events and its ids. */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { brand, OrsaError } from './base.js';

/**
 * A mistake in a saga declaration, thrown by `.build()` (never at run time).
 *
 * @example
 * ```ts
 * saga('x').build(); // throws SagaDefinitionError: saga "x" has no steps …
 * ```
 */
export class SagaDefinitionError extends OrsaError {
  constructor(message: string) {
    super('SAGA_DEFINITION', message);
  }
}
brand(SagaDefinitionError, 'SagaDefinitionError');

/** The input did not pass the saga's schema; nothing ran and nothing was stored.
 *
 * @example
 * ```ts
 * await exchange.run({ amount: -1 }).catch((e) => e instanceof InvalidInputError && console.log(e.issues));
 * ```
 */
export class InvalidInputError extends OrsaError {
  constructor(
    readonly saga: string,
    readonly issues: readonly StandardSchemaV1.Issue[],
  ) {
    super('INVALID_INPUT', `input of saga "${saga}" is invalid: ${formatIssues(issues)}; fix the input (nothing was run)`);
  }
}
brand(InvalidInputError, 'InvalidInputError');

/** An event payload did not pass the schema of the `waitFor` steps that consume it; it was not delivered.
 *
 * @example
 * ```ts
 * await handle.send('payment.confirmed', { ref: 42 }); // rejects: ref must be a string; nothing delivered
 * ```
 */
export class InvalidEventError extends OrsaError {
  constructor(
    readonly saga: string,
    readonly event: string,
    readonly issues: readonly StandardSchemaV1.Issue[],
  ) {
    super('INVALID_EVENT', `event "${event}" for saga "${saga}" is invalid: ${formatIssues(issues)}; it was not delivered`);
  }
}
brand(InvalidEventError, 'InvalidEventError');

function formatIssues(issues: readonly StandardSchemaV1.Issue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path?.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** Readiness failed: a probe or a dependency check threw.
 *
 * @example
 * ```ts
 * saga('x').readiness(async () => { if (!(await db.ping())) throw new Error('database down'); })
 * ```
 */
export class NotReadyError extends OrsaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SAGA_NOT_READY', message, options);
  }
}
brand(NotReadyError, 'NotReadyError');

/** A snapshot names a step its definition does not have: it was stored by another definition.
 *
 * @example
 * ```ts
 * createRuntime({ sagas: [orderV1, orderV2] }); // pin versions with .version() so each snapshot meets its own steps
 * ```
 */
export class UnknownStepError extends OrsaError {
  constructor(
    readonly saga: string,
    readonly step: string,
  ) {
    super('UNKNOWN_STEP', `saga "${saga}" has no step "${step}" (the snapshot belongs to another definition)`);
  }
}
brand(UnknownStepError, 'UnknownStepError');

/**
 * An event was sent that no wait of the saga declares: it could never be
 * consumed, so it is refused (nothing stored). The message lists the events
 * the saga does wait for.
 *
 * @example
 * ```ts
 * await runtime.send(id, 'order.confirmd'); // rejects: UNKNOWN_EVENT, saga "order" waits for: order.confirmed
 * ```
 */
export class UnknownEventError extends OrsaError {
  constructor(
    readonly saga: string,
    readonly event: string,
    readonly waitedFor: readonly string[],
  ) {
    super(
      'UNKNOWN_EVENT',
      `saga "${saga}" has no wait for the event ${JSON.stringify(event)}, so it could never consume it; it was not stored. ` +
        (waitedFor.length
          ? `It waits for: ${waitedFor.map((e) => JSON.stringify(e)).join(', ')}; check the spelling`
          : 'It waits for no event at all; send it to a saga that declares a waitFor step'),
    );
  }
}
brand(UnknownEventError, 'UnknownEventError');

/**
 * An event was sent to a saga that already holds `limit` events of that name
 * it has not consumed yet (its waits take them one at a time, oldest first).
 * A saga keeps at most that many of one name, so the event is refused rather
 * than kept and then dropped: nothing was stored, and the events queued
 * before it are untouched.
 *
 * @example
 * ```ts
 * await runtime.send(id, 'item.added', item); // rejects: EVENT_BACKLOG_FULL when 100 item.added wait unconsumed
 * ```
 */
export class EventBacklogFullError extends OrsaError {
  constructor(
    readonly sagaId: string,
    readonly saga: string,
    readonly event: string,
    readonly limit: number,
  ) {
    super(
      'EVENT_BACKLOG_FULL',
      `saga ${sagaId} ("${saga}") already holds ${limit} unconsumed ${JSON.stringify(event)} events, the most it keeps of one name; ` +
        `this one was not stored. Send it again once the saga's waits have consumed the events queued before it`,
    );
  }
}
brand(EventBacklogFullError, 'EventBacklogFullError');

/**
 * A saga's input cannot be carried by JSON unchanged (a function, a Date,
 * NaN, a BigInt, a cycle, a Map, …) or is larger than `maxInputBytes`.
 * Nothing was stored or run. `path` names the offending value (`$.a[2].b`).
 *
 * @example
 * ```ts
 * await runtime.startSaga(order, { at: new Date() }); // rejects: INPUT_NOT_SERIALIZABLE at $.at; pass date.toISOString()
 * ```
 */
export class InputNotSerializableError extends OrsaError {
  constructor(
    readonly saga: string,
    readonly path: string,
    reason: string,
  ) {
    super(
      'INPUT_NOT_SERIALIZABLE',
      `input of saga "${saga}" cannot be stored as JSON unchanged (${reason}); pass plain data (objects, arrays, strings, finite numbers, booleans, null). Nothing was stored`,
    );
  }
}
brand(InputNotSerializableError, 'InputNotSerializableError');

/**
 * A saga id that no store accepts: ids are 1 to 255 characters of valid
 * Unicode (no lone surrogate) without control characters, so that every
 * store keeps them apart and the CLI can print them.
 *
 * @example
 * ```ts
 * await runtime.startSaga(order, input, { id: '' }); // rejects: INVALID_SAGA_ID
 * ```
 */
export class InvalidSagaIdError extends OrsaError {
  constructor(reason: string) {
    super('INVALID_SAGA_ID', `invalid saga id: ${reason}; use 1 to 255 printable Unicode characters (a UUID, or an order number such as "order-42")`);
  }
}
brand(InvalidSagaIdError, 'InvalidSagaIdError');
