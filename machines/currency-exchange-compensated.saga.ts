/**
 * ORSA's compensated example, ported: the exchange, then a transaction file
 * written (and deleted on rollback), then a limit check that fails for
 * amounts above 1000, which rolls the file back.
 */
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NonRetryableError, saga, type CatchHandler } from '../src/index.js';
import { exchangeSteps, type ExchangeInput } from './currency-exchange.saga.js';

/** Amounts above this fail the last step. */
export const AMOUNT_LIMIT = 1000;

export interface CompensatedExchangeInput extends ExchangeInput {
  /** Folder of the transaction file. Default: the OS temporary folder. */
  dir?: string;
}

/** What the transaction file holds. */
export interface TransactionRecord {
  sagaId: string;
  amount: number;
  from: string;
  to: string;
  converted: number;
}

/** Where the transaction file of a saga instance goes. */
export function transactionPath(dir: string, sagaId: string): string {
  return join(dir, `orsa-transaction-${sagaId}.json`);
}

/**
 * Declares the saga; `onCatch` is its catch handler (ORSA's `@saga.catch`),
 * called after a rollback with the failed step, the error and the report.
 *
 * @example
 * ```ts
 * const exchange = createCompensatedExchange({ onCatch: ({ step, report }) => console.log(step, report) });
 * await exchange.run({ amount: 45.12, from: 'USD', to: 'CNY' });
 * ```
 */
export function createCompensatedExchange(options: { onCatch?: CatchHandler<CompensatedExchangeInput> } = {}) {
  return exchangeSteps(saga('currency-exchange-compensated').input<CompensatedExchangeInput>())
    .step('writeTransaction', async ({ input, results, sagaId }) => {
      const path = transactionPath(input.dir ?? tmpdir(), sagaId);
      const record: TransactionRecord = { sagaId, amount: input.amount, from: input.from, to: input.to, converted: results.convertToDstCurrency };
      await writeFile(path, `${JSON.stringify(record, null, 2)}\n`);
      return { path };
    })
    // force: a retried compensation must not fail because the file is already gone.
    .compensate(({ result }) => rm(result.path, { force: true }))
    .step('checkAmountLimit', ({ input }) => {
      if (input.amount > AMOUNT_LIMIT) {
        throw new NonRetryableError(`amount ${input.amount} ${input.from} exceeds the limit of ${AMOUNT_LIMIT}`);
      }
      return { approved: true };
    })
    .catch((failure) => options.onCatch?.(failure))
    .build();
}

/** The saga with no catch output, as `machines/` records it. */
export const currencyExchangeCompensated = createCompensatedExchange();
