// The command on many small logs against the C baseline, alternating in one loop, with the
// report as text (the default) and as JSON; optionally against another build of the package
// (a folder holding its dist/ and bench/measure.mjs, copied before a change), in the same loop.
// Prints each round and the medians (fastest–slowest), wall and CPU time, the main thread's CPU.
//
//   npx tsx bench/many.ts [--many 100000] [--rounds 5] [--against DIR] [--no-json] [--no-text]
//
// The corpus is the bench's (`bench/corpus.ts`: many-N x 1500 bytes, N/1000 hours), made if absent.
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ARN, BUCKET, ROOT, corpus } from './corpus.ts';
import { median, timed, type Timing } from './timed.ts';

const { values: flags } = parseArgs({
  options: {
    many: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '5' },
    against: { type: 'string' },
    'no-json': { type: 'boolean', default: false },
    'no-text': { type: 'boolean', default: false },
  },
});
const MANY = Number(flags.many);
const ROUNDS = Number(flags.rounds);
const CORES = availableParallelism();

const c = await corpus('many', MANY, 1500, Math.max(1, Math.round(MANY / 1000)));
const list = join(dirname(c.dir), 'files.txt');
writeFileSync(list, c.logs.map((k) => join(c.dir, k)).join('\n') + '\n');
const args = ['validate-logs', '--trail-arn', ARN, '--start-time', c.start, '--end-time', c.end, '--local-dir', c.dir, '--public-keys', c.keys, '--s3-bucket', BUCKET, '--concurrency', '4', '--threads', String(CORES)];

const builds: Array<[string, string]> = [['ours', ROOT]];
if (flags.against) builds.push(['other', flags.against]);
const contenders: Array<[string, () => Promise<Timing>]> = [['C', () => timed('python3', [join(ROOT, 'bench', 'native-c.py'), String(CORES), `@${list}`])]];
for (const [name, root] of builds) {
  const measure = (extra: string[]) => async (): Promise<Timing> => {
    const t = await timed('node', [join(root, 'bench', 'measure.mjs'), ...args, ...extra]);
    if (t.status !== 0 && t.status !== undefined) throw new Error(`${name} failed: ${t.errors}`);
    return t;
  };
  if (!flags['no-text']) contenders.push([`${name}`, measure([])]);
  if (!flags['no-json']) contenders.push([`${name} json`, measure(['--output', 'json'])]);
}

await timed('python3', [join(ROOT, 'bench', 'native-c.py'), String(CORES), `@${list}`]); // the page cache warm
const seen = contenders.map((): Timing[] => []);
for (let r = 0; r < ROUNDS; r++) {
  // Alternating, and the order turned each round so that no contender always follows another.
  const order = contenders.map((_, i) => i);
  if (r % 2 === 1) order.reverse();
  for (const i of order) seen[i]!.push(await contenders[i]![1]());
  process.stderr.write(`round ${r + 1}: ${contenders.map(([name], i) => `${name} ${seen[i]![r]!.ms.toFixed(0)} ms`).join(', ')}\n`);
}

const spread = (xs: number[]): string => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
const cMs = seen[0]!.map((t) => t.ms);
process.stdout.write(`${c.logs.length} logs, ${ROUNDS} rounds, medians (fastest–slowest); ratio = C / ours, per round, then its median\n`);
process.stdout.write('| contender | wall ms | ratio to C | CPU ms | main thread CPU ms | peak RSS MB |\n| --- | ---: | ---: | ---: | ---: | ---: |\n');
contenders.forEach(([name], i) => {
  const ts = seen[i]!;
  const ratios = ts.map((t, r) => cMs[r]! / t.ms);
  const main = ts.map((t) => t.mainCpuMs ?? Number.NaN);
  process.stdout.write(
    `| ${name} | ${spread(ts.map((t) => t.ms))} | ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) | ${spread(ts.map((t) => t.cpuMs ?? Number.NaN))} | ${i === 0 ? '' : spread(main)} | ${(Math.max(...ts.map((t) => t.maxRssKB)) / 1024).toFixed(0)} |\n`,
  );
});
