import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run the TypeScript sources: the package's `#platform` and `#parallel` imports (the
    // Node platform and its pool under Node) resolve to their sources rather than to the build.
    alias: {
      '#platform': fileURLToPath(new URL('./src/platform/node.ts', import.meta.url)),
      '#parallel': fileURLToPath(new URL('./src/parallel/node.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
