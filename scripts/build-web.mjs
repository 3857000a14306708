// npm run build:web: the auditor's page (web/) as static files in dist/web: index.html, style.css,
// main.js (the page), worker.js (the validation, off the page's thread) and hash-worker.js (the
// Workers the validation hashes the picked files on, one per processor). Built aside and
// moved into place, so a failed build leaves the previous page whole.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
const tmp = `${out}.tmp-${process.pid}`;
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;

rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
try {
  await build({
    absWorkingDir: root,
    entryPoints: { main: 'web/src/main.ts', worker: 'web/src/worker.ts', 'hash-worker': 'web/src/hash-worker.ts' },
    outdir: tmp,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // The package's own sources, with its platform seam resolved to the Web implementation.
    conditions: ['validate-logs-source'],
    target: ['chrome111', 'firefox113', 'safari16.4'],
    define: { __VERSION__: JSON.stringify(version) },
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'web', f), join(tmp, f));
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
} catch (e) {
  rmSync(tmp, { recursive: true, force: true });
  console.error(`build:web: the page could not be built: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  process.exit(1);
}
console.log(`build:web: ${out.slice(root.length + 1)}/ (index.html, style.css, main.js, worker.js, hash-worker.js)`);
