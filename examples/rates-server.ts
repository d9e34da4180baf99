/**
 * A local stand-in for the NBRB rates API, so the currency examples run
 * offline: it answers the first `failures` requests with 503 (to show the
 * retries), then serves rates in the NBRB shape. The rates are made up.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NbrbRate } from '../machines/currency-exchange.saga.js';

const RATES: (NbrbRate & { Cur_ID: number; Cur_Name: string })[] = [
  { Cur_ID: 431, Cur_Abbreviation: 'USD', Cur_Scale: 1, Cur_Name: 'Доллар США', Cur_OfficialRate: 2.9876 },
  { Cur_ID: 451, Cur_Abbreviation: 'EUR', Cur_Scale: 1, Cur_Name: 'Евро', Cur_OfficialRate: 3.4712 },
  { Cur_ID: 462, Cur_Abbreviation: 'CNY', Cur_Scale: 10, Cur_Name: 'Китайских юаней', Cur_OfficialRate: 4.1684 },
  { Cur_ID: 456, Cur_Abbreviation: 'RUB', Cur_Scale: 100, Cur_Name: 'Российских рублей', Cur_OfficialRate: 3.7215 },
];

export interface RatesServer {
  /** The rates URL, on 127.0.0.1 and an ephemeral port. */
  url: string;
  /** Requests served so far. */
  requests(): number;
  close(): Promise<void>;
}

/**
 * Starts the server.
 *
 * @example
 * ```ts
 * const server = await startRatesServer({ failures: 2 });
 * await currencyExchange.run({ amount: 45.12, from: 'USD', to: 'CNY', ratesUrl: server.url });
 * await server.close();
 * ```
 */
export async function startRatesServer(options: { failures?: number } = {}): Promise<RatesServer> {
  let count = 0;
  const server = createServer((request, response) => {
    count++;
    if (count <= (options.failures ?? 2)) {
      response.writeHead(503, { 'content-type': 'text/plain', connection: 'close' }).end('busy, try again');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    response.end(JSON.stringify(RATES.map((rate) => ({ ...rate, Date: new Date().toISOString().slice(0, 10) + 'T00:00:00' }))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/exrates/rates?periodicity=0`,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
