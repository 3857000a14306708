// What a run of the validate-logs command costs before and around its work: `validate-logs
// --version`, and a run over the sample (a 6-hour trail of 12 small logs, text output), each a
// fresh node process as a user starts it, against `node -e 0` in the same run, alternating.
// Wall time from spawn to exit, and the process's CPU time (user + system, all its threads,
// from its own getrusage at exit; the same one-line probe is loaded into every contender). Where
// AWS_CA_BUNDLE is set (a run over a local copy only reads it; one that may go online parses
// every certificate in it first), the sample run is timed without it as well.
// Part of npm run bench; alone (after npm run build):
//
//   npx tsx bench/startup.ts [--rounds 20]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VALIDATE = join(ROOT, 'dist', 'cli', 'validate-logs.js');
const SAMPLE = [
  '--trail-arn', 'arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail', '--start-time', '2025-01-08T00:00:00Z', '--end-time', '2025-01-08T06:00:00Z',
  '--local-dir', join(ROOT, 'sample', 'bucket'), '--public-keys', join(ROOT, 'sample', 'public-keys.json'), '--s3-bucket', 'sample-bucket',
];
/** Writes the process's CPU time (µs, user and system) to the file VL_CPU names as it exits. */
const PROBE = `data:text/javascript,${encodeURIComponent("import { writeFileSync } from 'node:fs'; process.on('exit', () => { const u = process.cpuUsage(); writeFileSync(process.env.VL_CPU, String(u.user + u.system)); });")}`;

/** One contender's medians. */
export interface StartupCost {
  /** What was run. */
  name: string;
  /** Median wall time, ms. */
  wallMs: number;
  /** Median CPU time (user + system), ms. */
  cpuMs: number;
  /** Wall time's lowest and highest, ms. */
  wallRange: [number, number];
}

/** The three contenders' medians. */
export interface StartupResult {
  rounds: number;
  baseline: StartupCost;
  version: StartupCost;
  sample: StartupCost;
  /** The run over the sample with AWS_CA_BUNDLE unset, when the environment sets it. */
  sampleWithoutCaBundle?: StartupCost;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Measure `node -e 0`, `validate-logs --version` and a run over the sample, alternating,
 * `rounds` times each after one warm-up round.
 */
export function benchStartup(rounds = 20): StartupResult {
  const dir = mkdtempSync(join(tmpdir(), 'vl-startup-bench-'));
  const cpuFile = join(dir, 'cpu');
  const caBundle = process.env.AWS_CA_BUNDLE ? { AWS_CA_BUNDLE: undefined } : undefined;
  const contenders: Array<[string, string[], NodeJS.ProcessEnv?]> = [
    ['`node -e 0`', ['-e', '0']],
    ['`validate-logs --version`', [VALIDATE, '--version']],
    ['a run over the sample (12 logs, 6 hours)', [VALIDATE, ...SAMPLE]],
    ...(caBundle ? [['the same, AWS_CA_BUNDLE unset', [VALIDATE, ...SAMPLE], caBundle] as [string, string[], NodeJS.ProcessEnv]] : []),
  ];
  const wall = contenders.map((): number[] => []);
  const cpu = contenders.map((): number[] => []);
  try {
    for (let r = -1; r < rounds; r++) {
      contenders.forEach(([, args, env], i) => {
        const t0 = performance.now();
        // Without NODE_OPTIONS: tsx passes its loader on through it.
        const p = spawnSync(process.execPath, ['--import', PROBE, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', VL_CPU: cpuFile, ...env } });
        const ms = performance.now() - t0;
        if (p.status !== 0) throw new Error(`${args.join(' ')} failed: ${p.stderr.toString().slice(0, 400)}`);
        if (r < 0) return;
        wall[i]!.push(ms);
        cpu[i]!.push(Number(readFileSync(cpuFile, 'utf8')) / 1000);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const cost = (i: number): StartupCost => ({ name: contenders[i]![0], wallMs: median(wall[i]!), cpuMs: median(cpu[i]!), wallRange: [Math.min(...wall[i]!), Math.max(...wall[i]!)] });
  return { rounds, baseline: cost(0), version: cost(1), sample: cost(2), ...(caBundle && { sampleWithoutCaBundle: cost(3) }) };
}

/** The results section of bench/RESULTS.md. */
export function startupSection(r: StartupResult): string {
  const row = (c: StartupCost): string =>
    `| ${c.name} | ${c.wallMs.toFixed(0)} (${c.wallRange[0].toFixed(0)}–${c.wallRange[1].toFixed(0)}) | **${(c.wallMs / r.baseline.wallMs).toFixed(2)}** | ${c.cpuMs.toFixed(0)} | ${(c.cpuMs / r.baseline.cpuMs).toFixed(2)} |`;
  return `## Start-up

What every run pays, every shard, Lambda invocation and \`watch --once\` pass: a fresh \`node\`
process running the built command as a user starts it (\`node dist/cli/validate-logs.js ...\`,
spawn to exit, output discarded), against \`node -e 0\`, alternating, ${r.rounds} rounds, medians
(lowest–highest). CPU: the process's user + system time, all its threads, from its own
\`getrusage\` at exit. Ratio = its time over \`node -e 0\`'s (target: the sample run ≤ 2;
\`bench/startup.ts\`).${r.sampleWithoutCaBundle ? ' This environment sets `AWS_CA_BUNDLE` (which a run over a local copy only reads; one that may go online parses each of its certificates first): the last row is the sample run without it.' : ''}

| run | wall ms | ratio | CPU ms | CPU ratio |
| --- | ---: | ---: | ---: | ---: |
${[r.baseline, r.version, r.sample, ...(r.sampleWithoutCaBundle ? [r.sampleWithoutCaBundle] : [])].map(row).join('\n')}
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' } } });
  process.stdout.write(startupSection(benchStartup(Number(values.rounds))));
}
