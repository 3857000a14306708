// What the package's entries cost before any work: the time a fresh node process takes to import
// one, against `node -e 0` in the same run (alternating), and the size of its browser bundle
// (esbuild, minified; gzipped). Part of npm run bench; alone (after npm run build):
//
//   npx tsx bench/entries.ts [--rounds 20] [--dist dist]
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The entries measured: the root, then the ones an embedder adds for checkpoints and shards. */
export const ENTRIES = ['index', 'checkpoint', 'scale'] as const;

/** One entry's costs. */
export interface EntryCost {
  /** Its name as a user imports it. */
  name: string;
  /** Median wall time of `node` importing it, in ms (process start to exit). */
  importMs: number;
  /** Minified browser bundle, bytes. */
  bundleBytes: number;
  /** The same, gzipped (level 9), bytes. */
  gzipBytes: number;
}

/** What the entries measured, with the baseline. */
export interface EntriesResult {
  /** Median wall time of `node -e 0`, in ms. */
  baselineMs: number;
  rounds: number;
  entries: EntryCost[];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Wall time of one node process, in ms. */
function timeNode(args: string[]): number {
  const t0 = performance.now();
  // Without NODE_OPTIONS: tsx passes its loader on through it.
  execFileSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } });
  return performance.now() - t0;
}

/** The minified browser bundle of one built module: bytes, and gzipped bytes. */
async function bundleSize(file: string): Promise<{ bytes: number; gzip: number }> {
  const r = await build({ entryPoints: [file], bundle: true, platform: 'browser', format: 'esm', minify: true, write: false, logLevel: 'silent' });
  const code = r.outputFiles[0]!.contents;
  return { bytes: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

/**
 * Measure each entry of a built tree that exists there (`dist` holds `index.js` and the others),
 * the contenders alternating with the baseline `rounds` times after one warm-up round.
 */
export async function benchEntries(dist = join(ROOT, 'dist'), rounds = 20): Promise<EntriesResult> {
  const present = ENTRIES.filter((e) => {
    try {
      realpathSync(join(dist, `${e}.js`));
      return true;
    } catch {
      return false;
    }
  });
  const importArgs = (e: string): string[] => ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(join(dist, `${e}.js`)).href)})`];
  const base: number[] = [];
  const times = new Map<string, number[]>(present.map((e) => [e, []]));
  for (let i = -1; i < rounds; i++) {
    const b = timeNode(['-e', '0']);
    if (i >= 0) base.push(b);
    for (const e of present) {
      const t = timeNode(importArgs(e));
      if (i >= 0) times.get(e)!.push(t);
    }
  }
  const entries: EntryCost[] = [];
  for (const e of present) {
    const size = await bundleSize(join(dist, `${e}.js`));
    entries.push({ name: e === 'index' ? 'validate-logs' : `validate-logs/${e}`, importMs: median(times.get(e)!), bundleBytes: size.bytes, gzipBytes: size.gzip });
  }
  return { baselineMs: median(base), rounds, entries };
}

/** The results section of bench/RESULTS.md. */
export function entriesSection(r: EntriesResult): string {
  const kb = (n: number): string => (n / 1024).toFixed(1);
  return `## Importing the entries

A fresh \`node\` process importing one entry (\`node --input-type=module -e "await import(…)"\`,
process start to exit) against \`node -e 0\`, alternating, ${r.rounds} rounds, medians; "import" is the
difference, "ratio" the entry's time over the baseline's. Bundle: the entry bundled for browsers by
esbuild (\`--bundle --minify --platform=browser --format=esm\`), and that gzipped (level 9). The root
loads no pkijs or asn1js; the checkpoint entry does, for its time stamps (\`bench/entries.ts\`).

| entry | process ms (\`node -e 0\`: ${r.baselineMs.toFixed(0)}) | import ms | ratio | bundle KiB | gzipped KiB |
| --- | ---: | ---: | ---: | ---: | ---: |
${r.entries.map((e) => `| \`${e.name}\` | ${e.importMs.toFixed(0)} | ${(e.importMs - r.baselineMs).toFixed(0)} | ${(e.importMs / r.baselineMs).toFixed(2)} | ${kb(e.bundleBytes)} | ${kb(e.gzipBytes)} |`).join('\n')}
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, dist: { type: 'string', default: join(ROOT, 'dist') } } });
  process.stdout.write(entriesSection(await benchEntries(resolve(values.dist), Number(values.rounds))));
}
