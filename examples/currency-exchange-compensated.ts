/**
 * ORSA's compensated exchange, on orsa: the exchange, then a transaction file
 * written (its compensation deletes it), then a limit check that fails above
 * 1000. Runs twice: 45.12 completes and keeps the file; 5000 rolls back and
 * the file is gone.
 *
 * Run:  npm run example:compensated [-- DIR]   (DIR: where the file goes; default the OS temp folder)
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { SagaFailedError, type SagaObservation } from '../src/index.js';
import { createCompensatedExchange, transactionPath } from '../machines/currency-exchange-compensated.saga.js';
import { printObservations } from './print-observations.js';
import { startRatesServer } from './rates-server.js';

const dir = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? tmpdir();
const server = await startRatesServer({ failures: 2 });

const exchange = createCompensatedExchange({
  // ORSA's @saga.catch: called after the rollback, with what was undone.
  onCatch: ({ step, error, status, report }) => {
    console.log(`  catch: step ${step} failed (${error?.message}); status ${status}`);
    console.log(`  catch: compensated [${report.compensated.join(', ')}], still undone [${report.undone.join(', ')}]`);
  },
});

async function exchangeOnce(amount: number): Promise<void> {
  const sagaId = `exchange-${amount}`;
  const file = transactionPath(dir, sagaId);
  console.log(`\n=== exchange ${amount} USD → CNY (sagaId ${sagaId})`);
  const print = printObservations('  ');
  const observer = (o: SagaObservation) => {
    print(o);
    if (o.type === 'compensation.started' && o.step === 'writeTransaction') console.log(`  (before its compensation, ${file} exists: ${existsSync(file)})`);
  };
  try {
    const results = await exchange.run({ amount, from: 'USD', to: 'CNY', ratesUrl: server.url, dir }, { observer, sagaId });
    console.log(`completed: ${amount} USD = ${results.convertToDstCurrency.toFixed(3)} CNY`);
    console.log(`transaction file kept: ${results.writeTransaction.path}`);
    console.log((await readFile(results.writeTransaction.path, 'utf8')).trim());
  } catch (error) {
    if (!(error instanceof SagaFailedError)) throw error;
    console.log(`rolled back: SagaFailedError step=${error.step} status=${error.status} code=${error.code}`);
    console.log(`  error: ${error.error?.message}`);
    console.log(`  report: ${JSON.stringify(error.report)}`);
    console.log(`after the rollback, ${file} exists: ${existsSync(file)}`);
  }
}

try {
  await exchangeOnce(45.12);
  await exchangeOnce(5000);
} finally {
  await server.close();
}
