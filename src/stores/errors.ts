// The store's error classes live in ../errors.ts with every other orsa error; re-exported here for existing imports.
export { StoreNotReadyError, StoreSchemaError, StoreConfigError, DriverMissingError } from '../errors.js';
