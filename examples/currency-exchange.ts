/**
 * ORSA's currency exchange, on orsa: fetch the rates (3 retries), convert to
 * the base currency, then to the target.
 *
 * Run:  npm run example [-- AMOUNT FROM TO] [-- --live]
 *   e.g. npm run example -- 100 EUR USD
 * Offline by default: a local server stands in for the NBRB API and fails its
 * first 2 requests (to show the retries). `--live` calls the real API.
 */
import { SagaFailedError } from '../src/index.js';
import { currencyExchange, NBRB_RATES_URL } from '../machines/currency-exchange.saga.js';
import { printObservations } from './print-observations.js';
import { startRatesServer } from './rates-server.js';

const args = process.argv.slice(2);
const live = args.includes('--live');
const [amount = '45.12', from = 'USD', to = 'CNY'] = args.filter((a) => !a.startsWith('--'));

if (!(Number(amount) > 0) || !/^[a-z]{3}$/i.test(from) || !/^[a-z]{3}$/i.test(to)) {
  console.error('usage: npm run example -- [AMOUNT FROM TO] [--live]   e.g. npm run example -- 100 EUR USD');
  process.exit(2);
}

const server = live ? null : await startRatesServer({ failures: 2 });
const ratesUrl = server?.url ?? NBRB_RATES_URL;
console.log(`exchange ${amount} ${from} → ${to}, rates from ${ratesUrl}${live ? '' : ' (local stand-in; --live for the real API)'}`);

try {
  const results = await currencyExchange.run(
    { amount: Number(amount), from: from.toUpperCase(), to: to.toUpperCase(), ratesUrl },
    { observer: printObservations() },
  );
  // `results` is typed from the step declarations: no casts.
  const base = results.convertToBaseCurrency;
  const target = results.convertToDstCurrency;
  console.log(`\n${amount} ${from} = ${base.toFixed(3)} BYN = ${target.toFixed(3)} ${to}`);
  console.log(`(${Object.keys(results.getExchangeRates).length} rates, ${server ? `${server.requests()} requests to the rates server` : 'live'})`);
} catch (error) {
  if (!(error instanceof SagaFailedError)) throw error;
  const cause = error.error?.cause ? ` (${error.error.cause.message})` : '';
  console.error(`\nthe exchange failed at step ${error.step}: ${error.error?.message}${cause}`);
  process.exitCode = 1;
} finally {
  await server?.close();
}
