/**
 * ORSA's first example, ported: exchange an amount from one currency to
 * another through the base currency (BYN), with rates from the National Bank
 * of the Republic of Belarus. The rates URL travels in the input so the same
 * declaration runs against the public API or a local stand-in.
 */
import { NonRetryableError, saga, type SagaBuilder } from '../src/index.js';

/** The public NBRB endpoint ORSA's example calls. */
export const NBRB_RATES_URL = 'https://api.nbrb.by/exrates/rates?periodicity=0';

export interface ExchangeInput {
  amount: number;
  /** ISO code, e.g. `USD`. */
  from: string;
  /** ISO code, e.g. `CNY`. */
  to: string;
  /** Where the rates come from. Default: {@link NBRB_RATES_URL}. */
  ratesUrl?: string;
}

/** Official rate and scale per currency code, as ORSA keeps them: `rate` BYN buy `scale` units. */
export type Rates = Record<string, [rate: number, scale: number]>;

/** One row of the NBRB API's answer (the fields this saga reads). */
export interface NbrbRate {
  Cur_Abbreviation: string;
  Cur_OfficialRate: number;
  Cur_Scale: number;
}

/** Fetches the rates; a 5xx answer is retried, anything else is not. */
export async function fetchRates(url: string, signal: AbortSignal): Promise<Rates> {
  const response = await fetch(url, { signal });
  if (!response.ok) {
    const message = `rates service answered ${response.status} ${response.statusText}`;
    // A 4xx will not change on retry: fail at once and roll back.
    throw response.status >= 500 ? new Error(message) : new NonRetryableError(message);
  }
  const rows = (await response.json()) as NbrbRate[];
  const rates: Rates = { BYN: [1, 1] };
  for (const row of rows) rates[row.Cur_Abbreviation] = [row.Cur_OfficialRate, row.Cur_Scale];
  return rates;
}

/** BYN per one unit of `currency`. */
export function rateOf(rates: Rates, currency: string): number {
  const entry = rates[currency];
  if (!entry) throw new NonRetryableError(`no exchange rate for "${currency}"; use one of ${Object.keys(rates).sort().join(', ')}`);
  return entry[0] / entry[1];
}

/**
 * The three exchange steps, shared by this saga and the compensated one:
 * `getExchangeRates` (3 retries, ORSA's `retry=3`), `convertToBaseCurrency`,
 * `convertToDstCurrency`. Later steps read earlier results, typed.
 *
 * @example
 * ```ts
 * const exchange = exchangeSteps(saga('exchange').input<ExchangeInput>()).build();
 * ```
 */
export function exchangeSteps<I extends ExchangeInput>(builder: SagaBuilder<I, {}, never, {}>) {
  return builder
    .step('getExchangeRates', ({ input, signal }) => fetchRates(input.ratesUrl ?? NBRB_RATES_URL, signal), { retry: 3, timeoutMs: 10_000 })
    .step('convertToBaseCurrency', ({ input, results }) => input.amount * rateOf(results.getExchangeRates, input.from))
    .step('convertToDstCurrency', ({ input, results }) => results.convertToBaseCurrency / rateOf(results.getExchangeRates, input.to));
}

/**
 * The currency exchange saga.
 *
 * @example
 * ```ts
 * const { convertToDstCurrency } = await currencyExchange.run({ amount: 45.12, from: 'USD', to: 'CNY' });
 * ```
 */
export const currencyExchange = exchangeSteps(saga('currency-exchange').input<ExchangeInput>()).build();
