// Part of `npm run build`, after tsc: the two programs (dist/cli/validate-logs.js and
// dist/cli/write-digests.js, the package's bin) rebuilt from the sources as bundles. A run then
// loads a few files instead of about sixty modules, each resolved, read and compiled on its own.
// What a run asks for only sometimes (the subcommands, the organization-scale commands, S3 and
// CloudTrail, checkpoints, the HTML report) stays in files of its own, loaded when asked for:
// the code is split where the sources import lazily. validate-logs's bin is its launcher
// (src/cli/validate-logs-bin.ts), which answers --version and --help alone and loads the
// command (src/cli/validate-logs.ts, as dist/cli/validate-logs-command.js) for anything else.
// The library's modules (dist/*.js) are tsc's, unchanged. Written aside, then moved over tsc's
// files, so that a failed build never leaves half a program.
import { build } from 'esbuild';
import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'cli');
const tmpDir = join(root, 'dist', `.bundle-cli-${process.pid}`);

/**
 * The pool's thread module is found next to the parallel layer's module (`./thread.js`); from
 * a bundle in dist/cli it is in dist/parallel. Any other use of the module's own URL resolves
 * from dist/cli as from the module's own folder: every folder under src/ is one level deep.
 */
const threadModule = {
  name: 'thread-module',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]parallel[\\/]node\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const from = "'./thread.js'";
      if (text.split(from).length !== 2) throw new Error(`${args.path}: expected one ${from} to point at dist/parallel`);
      return { contents: text.replace(from, "'../parallel/thread.js'"), loader: 'ts' };
    });
  },
};

try {
  await build({
    absWorkingDir: root,
    entryPoints: [
      { in: 'src/cli/validate-logs-bin.ts', out: 'validate-logs' },
      { in: 'src/cli/validate-logs.ts', out: 'validate-logs-command' },
      { in: 'src/cli/write-digests.ts', out: 'write-digests' },
    ],
    outdir: tmpDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The package's own `#platform` and `#parallel` imports, from the sources.
    conditions: ['validate-logs-source'],
    plugins: [threadModule],
    // Only the package's own code is bundled: dependencies and Node's modules stay imports.
    packages: 'external',
    // Files loaded when asked for: named after their module, shared code "chunk-".
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  // The bundles' other files first, then the two programs over tsc's.
  const files = readdirSync(tmpDir);
  const programs = new Set(['validate-logs.js', 'validate-logs.js.map', 'write-digests.js', 'write-digests.js.map']);
  for (const f of files) if (!programs.has(f)) renameSync(join(tmpDir, f), join(outDir, f));
  for (const f of files) if (programs.has(f) && f.endsWith('.map')) renameSync(join(tmpDir, f), join(outDir, f));
  for (const f of files) if (programs.has(f) && f.endsWith('.js')) renameSync(join(tmpDir, f), join(outDir, f));
  rmSync(tmpDir, { recursive: true, force: true });
  // tsc's module of the launcher is the bundle now (dist/cli/validate-logs.js); the command's
  // declarations go with its bundle.
  for (const f of ['validate-logs-bin.js', 'validate-logs-bin.js.map', 'validate-logs-bin.d.ts', 'validate-logs-bin.d.ts.map']) rmSync(join(outDir, f), { force: true });
  for (const f of ['validate-logs.d.ts', 'validate-logs.d.ts.map']) renameSync(join(outDir, f), join(outDir, f.replace('validate-logs', 'validate-logs-command')));
} catch (e) {
  rmSync(tmpDir, { recursive: true, force: true });
  console.error(`build: the programs could not be bundled: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  process.exit(1);
}
