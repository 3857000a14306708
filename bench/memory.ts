// Memory against the number of logs: peak RSS (the whole process, its threads included) of the
// validate-logs command over the many small logs at 25,000, 50,000, 100,000 and 200,000 logs
// (a quarter, half, once and twice `--many`), the sizes alternating, each a fresh process
// (`bench/measure.mjs`, as the program sets its heaps). Part of npm run bench; alone (after npm
// run build), with `--against DIR` adding another build of the package (a folder holding its
// dist/ and bench/measure.mjs, copied before a change) to the same loop:
//
//   npx tsx bench/memory.ts [--many 100000] [--rounds 2] [--against DIR]
//
// The corpora are the bench's (`bench/corpus.ts`), made if absent (the largest, about 900 MB,
// takes minutes).
import { availableParallelism } from 'node:os';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ARN, BUCKET, ROOT, corpus, type Corpus } from './corpus.ts';
import { median, timed } from './timed.ts';

/**
 * Runs of each corpus. One run's peak RSS can lie up to about 5 % above the others of its size
 * (measured: up to 7 MB, most runs peaking while the day folders are listed), about as much as a
 * doubling's growth: the growth is judged on each size's median peak, like every other figure of
 * the bench, over as many rounds, and the highest peak is given beside it.
 */
export const MEMORY_ROUNDS = 3;

/** One build's peak over one corpus. */
export interface PeakMemory {
  corpus: Corpus;
  /** The median peak RSS of its runs, MB. */
  rssMB: number;
  /** The highest peak RSS of its runs, MB. */
  maxMB: number;
  /** Every run's peak RSS, MB, in the order run. */
  runsMB: number[];
  /** Median time of its runs, from the process's start, ms, and CPU time (user + system, every thread), ms. */
  ms: number;
  cpuMs: number;
}

/** The command's arguments over one corpus (every core: the default pool). */
function validateArgs(c: Corpus): string[] {
  return ['validate-logs', '--trail-arn', ARN, '--start-time', c.start, '--end-time', c.end, '--local-dir', c.dir, '--public-keys', c.keys, '--s3-bucket', BUCKET, '--concurrency', '4', '--threads', String(availableParallelism())];
}

/**
 * Peak RSS of the command over each corpus, the corpora (and the builds, each a folder with its
 * `dist/` and `bench/measure.mjs`) alternating, `rounds` times each.
 * @returns for each build, each corpus's peak
 */
export async function peakMemory(corpora: Corpus[], rounds = MEMORY_ROUNDS, builds: string[] = [ROOT]): Promise<PeakMemory[][]> {
  const seen = builds.map(() => corpora.map(() => ({ rss: [] as number[], ms: [] as number[], cpu: [] as number[] })));
  for (let i = 0; i < rounds; i++) {
    for (const [j, c] of corpora.entries()) {
      const order = builds.map((_, b) => b);
      if (i % 2 === 1) order.reverse();
      for (const b of order) {
        const o = await timed('node', [join(builds[b]!, 'bench', 'measure.mjs'), ...validateArgs(c)]);
        if (o.status !== 0) throw new Error(`validate-logs failed on ${c.name}: ${o.errors}`);
        const s = seen[b]![j]!;
        s.rss.push(o.maxRssKB / 1024);
        s.ms.push(o.ms);
        s.cpu.push(o.cpuMs ?? Number.NaN);
      }
    }
  }
  return seen.map((byCorpus) => byCorpus.map((s, j) => ({ corpus: corpora[j]!, rssMB: median(s.rss), maxMB: Math.max(...s.rss), runsMB: s.rss, ms: median(s.ms), cpuMs: median(s.cpu) })));
}

/** The memory section's line: each median peak (and the highest), the largest against the one of a quarter of its logs, and the largest growth per doubling, in medians and in the highest peaks. */
export function memoryLine(m: PeakMemory[], rounds = MEMORY_ROUNDS): string {
  const n = (c: Corpus): string => c.logs.length.toLocaleString('en-US');
  const last = m[m.length - 1]!;
  const quarter = m[m.length - 3]!;
  const steps = m.slice(1).map((x, i) => ({ from: m[i]!, to: x, growth: x.rssMB / m[i]!.rssMB - 1 }));
  const worst = steps.reduce((a, b) => (b.growth > a.growth ? b : a));
  const highSteps = m.slice(1).map((x, i) => `${((x.maxMB / m[i]!.maxMB - 1) * 100).toFixed(0)} %`);
  return (
    `Memory against the number of logs (flat), peak RSS of ${rounds} runs each (median; the highest run in brackets), the sizes alternating: ${m.map((x) => `${n(x.corpus)} logs: ${x.rssMB.toFixed(0)} MB (${x.maxMB.toFixed(0)})`).join(', ')}. ` +
    `The peak at ${n(last.corpus)} logs is **${(last.rssMB / quarter.rssMB).toFixed(2)}×** the peak at ${n(quarter.corpus)} (target ≤ 1.2×); ` +
    `the largest growth per doubling is **${(worst.growth * 100).toFixed(0)} %**, ${n(worst.from.corpus)} → ${n(worst.to.corpus)} logs (target ≤ 10 %; ${steps.map((x) => `${(x.growth * 100).toFixed(0)} %`).join(', ')}; between the highest runs ${highSteps.join(', ')}, ${(last.maxMB / quarter.maxMB).toFixed(2)}×).`
  );
}

/** The four corpora of the memory section for `many` logs: a quarter, half, once and twice as many. */
async function memoryCorpora(many: number): Promise<Corpus[]> {
  const sized = (logs: number, hours: number): Promise<Corpus> => corpus('many', logs, 1500, Math.max(1, hours));
  return [
    await sized(Math.round(many / 4), Math.round(many / 4000)),
    await sized(Math.round(many / 2), Math.round(many / 2000)),
    await sized(many, Math.round(many / 1000)),
    await sized(many * 2, Math.round(many / 500)),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const { values } = parseArgs({ options: { many: { type: 'string', default: '100000' }, rounds: { type: 'string', default: String(MEMORY_ROUNDS) }, against: { type: 'string' } } });
  const rounds = Number(values.rounds);
  const builds: Array<[string, string]> = [['this build', ROOT], ...(values.against ? [['other', values.against] as [string, string]] : [])];
  const results = await peakMemory(await memoryCorpora(Number(values.many)), rounds, builds.map(([, dir]) => dir));
  for (const [b, [name]] of builds.entries()) {
    const m = results[b]!;
    process.stdout.write(`${name}: ${memoryLine(m, rounds)}\n`);
    for (const x of m) process.stdout.write(`  ${x.corpus.logs.length} logs: runs ${x.runsMB.map((r) => r.toFixed(1)).join(', ')} MB; median ${x.ms.toFixed(0)} ms, ${x.cpuMs.toFixed(0)} CPU-ms\n`);
  }
}
