import { defineConfig } from 'vitest/config';

// Tests run the TypeScript sources: the `validate-logs-source` condition of the package's
// `#platform` import points at `src/platform/*.ts` rather than at the build.
const conditions = ['validate-logs-source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
