import { defineConfig } from 'tsup';

// Declarations are not made here but by scripts/build.mjs (one set for both formats; tsup's would be two).
const shared = { sourcemap: true, target: 'node20', platform: 'node', splitting: true, dts: false, clean: false } as const;

export default defineConfig([
  {
    ...shared,
    // Shared chunks: one copy of each class across entries, so instanceof holds between orsa and orsa/postgres.
    entry: {
      index: 'src/index.ts',
      sqlite: 'src/sqlite.ts',
      postgres: 'src/postgres.ts',
      store: 'src/store.ts',
      testing: 'src/testing.ts',
      otel: 'src/otel.ts',
      cli: 'src/cli/main.ts',
    },
    format: ['esm'],
  },
  {
    ...shared,
    // No testing entry: vitest is ESM-only, so require('orsa/testing') could never work.
    entry: { index: 'src/index.ts', sqlite: 'src/sqlite.ts', postgres: 'src/postgres.ts', store: 'src/store.ts', otel: 'src/otel.ts' },
    format: ['cjs'],
    // import.meta.url, which the driver loader's createRequire needs, as the CJS build's __filename.
    shims: true,
  },
]);
