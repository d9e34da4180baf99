/**
 * The database drivers are optional peer dependencies: a store loads its
 * driver when it is constructed or opened, not when `orsa` is imported, and
 * says what to install when it is missing. The public options are typed with
 * the minimal shapes below, so orsa's declarations need neither
 * `@types/better-sqlite3` nor `@types/pg`.
 */
import { createRequire } from 'node:module';
import { DriverMissingError } from '../errors.js';

/** A better-sqlite3 `Database` (`new Database(path)`), as much of it as orsa's options need to name. */
export interface SqliteDatabase {
  readonly name: string;
  readonly open: boolean;
  prepare(source: string): unknown;
  exec(source: string): unknown;
  close(): unknown;
}

/** A pg `Pool` (`new pg.Pool(config)`), as much of it as orsa's options need to name. */
export interface PostgresPool {
  connect(): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

const load = createRequire(import.meta.url);

/** @internal Loads a driver package with `require` (both are CommonJS); a missing one fails with {@link DriverMissingError}. */
export function requireDriver<T>(name: 'better-sqlite3' | 'pg', usedBy: string): T {
  try {
    return load(name) as T;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${name}'`)) {
      throw new DriverMissingError(name, usedBy, { cause: error });
    }
    throw error;
  }
}
