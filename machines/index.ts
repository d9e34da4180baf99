/**
 * The reference sagas. Each one's compiled statechart is kept beside it as
 * `<name>.json` and `<name>.mmd`, written by `npm run machines` and checked
 * fresh by `test/machines.test.ts`.
 */
import type { SagaDefinition } from '../src/index.js';
import { currencyExchangeCompensated } from './currency-exchange-compensated.saga.js';
import { currencyExchange } from './currency-exchange.saga.js';
import { fulfilOrder, orderPayment } from './fulfil-order.saga.js';
import { order } from './order.saga.js';
import { shipBatch } from './ship-batch.saga.js';

/** Every reference saga, in the order their files are written. */
export const referenceSagas: readonly SagaDefinition<any, any>[] = [
  currencyExchange,
  currencyExchangeCompensated,
  order,
  shipBatch,
  orderPayment,
  fulfilOrder,
];
