// npm run bench: how fast validate-logs and write-digests are, measured as ratios against a
// baseline in the same run, alternating the contenders. Writes bench/RESULTS.md.
//
//   npm run bench -- [--trail-mb 1024] [--trail-files 256] [--big-mb 1024] [--many 100000]
//                    [--s3-logs 200] [--rounds 3] [--quick]
//
// Corpora are made with the project's own generator and kept in .bench/ (reused when present).
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ARN, BUCKET, ROOT, TRAIL, corpus, type Corpus } from './corpus.ts';
import { awsCliUnusable, awsValidateLogs, loopbackEnv, startAwsApi, startS3, uploadDir } from '../test/helpers/aws.ts';
import { startProxy } from '../test/helpers/proxy.ts';
import { run } from '../test/helpers/cli.ts';
import { median, timed, type Timing } from './timed.ts';
import { chromiumPresent, openBrowserPage } from '../test/helpers/browser.ts';
import { throughput } from '../test/browser/conformance.ts';
import * as lib from '../dist/index.js';
import { nodePlatform } from '../dist/node.js';
import { benchWeb, webSection } from './web.ts';
import { benchWebFolder, webFolderSection } from './web-folder.ts';
import { benchEntries, entriesSection } from './entries.ts';
import { benchStartup, startupSection } from './startup.ts';
import { memoryLine, peakMemory } from './memory.ts';

const { values: flags } = parseArgs({
  options: {
    'trail-mb': { type: 'string', default: '1024' },
    'trail-files': { type: 'string', default: '256' },
    'big-mb': { type: 'string', default: '1024' },
    many: { type: 'string', default: '100000' },
    's3-logs': { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
  },
});
const q = flags.quick ? 8 : 1;
const TRAIL_MB = Number(flags['trail-mb']) / q;
const TRAIL_FILES = Math.max(4, Math.round(Number(flags['trail-files']) / q));
const BIG_MB = Number(flags['big-mb']) / q;
const MANY = Math.round(Number(flags.many) / q);
const S3_LOGS = Math.round(Number(flags['s3-logs']) / (flags.quick ? 8 : 1));
const ROUNDS = Number(flags.rounds);
const CONCURRENCY = 4;
/** The machine's cores: the native baseline's processes, and our default pool. */
const CORES = availableParallelism();

const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

function validateArgs(c: Corpus, extra: string[] = []): string[] {
  return ['validate-logs', '--trail-arn', ARN, '--start-time', c.start, '--end-time', c.end, '--local-dir', c.dir, '--public-keys', c.keys, '--s3-bucket', BUCKET, '--concurrency', String(CONCURRENCY), ...extra];
}

interface LocalResult {
  corpus: Corpus;
  nativeMs: number;
  /** The C baseline (Python's zlib and hashlib, one process per core) over the same files. */
  cMs: number;
  oursMs: number;
  /** Ours with a pool of one thread. */
  oneThreadMs: number;
  oursRssMB: number;
  nativeRssMB: number;
  cRssMB: number;
  /** The package's pool alone, hashing the same files with nothing of validation around it. */
  poolMs: number;
  /** Ours with `--output json` (the report of every finding, written and discarded), when measured. */
  jsonMs?: number;
  /**
   * CPU time (user + system, ms; medians) of the C baseline's processes, ours, and ours with
   * `--output json`, and of our main thread alone (`main`, `jsonMain`).
   */
  cpu: { c: number; ours: number; main: number; json?: number; jsonMain?: number };
}

/** The list of a corpus's log files, for the native baseline. */
function fileList(c: Corpus): string {
  const list = join(dirname(c.dir), 'files.txt');
  writeFileSync(list, c.logs.map((k) => join(c.dir, k)).join('\n') + '\n');
  return list;
}

const native = (list: string): Promise<Timing> => timed('node', [join(ROOT, 'bench', 'native.mjs'), String(CORES), `@${list}`]);
/** The same work as `native`, in C: zlib and OpenSSL's SHA-256 through Python's standard library. */
const nativeC = (list: string): Promise<Timing> => timed('python3', [join(ROOT, 'bench', 'native-c.py'), String(CORES), `@${list}`]);
const poolAlone = (list: string): Promise<Timing> => timed('node', [join(ROOT, 'bench', 'pool-only.mjs'), String(CORES), `@${list}`]);

/**
 * Ours (every core, then one thread; with `json`, also with `--output json`) against the
 * baselines on one corpus, alternating, `ROUNDS` times each.
 */
async function local(c: Corpus, json = false): Promise<LocalResult> {
  const list = fileList(c);
  await native(list); // warm the page cache
  const base: Timing[] = [];
  const inC: Timing[] = [];
  const ours: Timing[] = [];
  const one: Timing[] = [];
  const pool: Timing[] = [];
  const asJson: Timing[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    base.push(await native(list));
    inC.push(await nativeC(list));
    pool.push(await poolAlone(list));
    const runs: Array<[string[], Timing[]]> = [[['--threads', String(CORES)], ours], [['--threads', '1'], one]];
    if (json) runs.push([['--threads', String(CORES), '--output', 'json'], asJson]);
    for (const [extra, into] of runs) {
      const o = await timed('node', [join(ROOT, 'bench', 'measure.mjs'), ...validateArgs(c, extra)]);
      if (o.status !== 0) throw new Error(`validate-logs failed on ${c.name}: ${o.errors}`);
      into.push(o);
    }
  }
  const cpuMs = (ts: Timing[]): number => median(ts.map((t) => t.cpuMs ?? Number.NaN));
  const mainMs = (ts: Timing[]): number => median(ts.map((t) => t.mainCpuMs ?? Number.NaN));
  return {
    corpus: c,
    nativeMs: median(base.map((t) => t.ms)),
    cMs: median(inC.map((t) => t.ms)),
    oursMs: median(ours.map((t) => t.ms)),
    oneThreadMs: median(one.map((t) => t.ms)),
    oursRssMB: Math.max(...ours.map((t) => t.maxRssKB)) / 1024,
    nativeRssMB: Math.max(...base.map((t) => t.maxRssKB)) / 1024,
    cRssMB: Math.max(...inC.map((t) => t.maxRssKB)) / 1024,
    poolMs: median(pool.map((t) => t.ms)),
    ...(json && { jsonMs: median(asJson.map((t) => t.ms)) }),
    cpu: { c: cpuMs(inC), ours: cpuMs(ours), main: mainMs(ours), ...(json && { json: cpuMs(asJson), jsonMain: mainMs(asJson) }) },
  };
}

/** write-digests over a corpus (its digests removed first: they come back identical) against the native baseline, alternating. */
async function generator(c: Corpus): Promise<{ corpus: Corpus; nativeMs: number; oursMs: number }> {
  const list = fileList(c);
  const base: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    base.push((await native(list)).ms);
    rmSync(join(c.dir, 'AWSLogs', TRAIL.accountId, 'CloudTrail-Digest'), { recursive: true, force: true });
    const o = await timed('node', [
      join(ROOT, 'bench', 'measure.mjs'), 'write-digests', '--local-dir', c.dir, '--s3-bucket', BUCKET, '--account-id', TRAIL.accountId,
      '--region', TRAIL.region, '--trail-name', TRAIL.trailName, '--private-key', join(ROOT, 'vectors', 'test-key.pem'), '--until', c.end,
    ]);
    if (o.status !== 0) throw new Error(`write-digests failed on ${c.name}: ${o.errors}`);
    ours.push(o.ms);
  }
  return { corpus: c, nativeMs: median(base), oursMs: median(ours) };
}

/** The hashing core against node:crypto over the same bytes in memory (no I/O, no gzip). */
async function hashingCore(): Promise<{ native: number; ours: number; noble: number }> {
  const script = `
    import { createHash } from 'node:crypto';
    import { hashStream, webPlatform } from '${join(ROOT, 'dist', 'index.js')}';
    const data = new Uint8Array(256 << 20).fill(7);
    const chunks = []; for (let i = 0; i < data.length; i += 1 << 20) chunks.push(data.subarray(i, i + (1 << 20)));
    const t = async (f) => { const s = performance.now(); await f(); return performance.now() - s; };
    const out = { native: [], ours: [], noble: [] };
    for (let r = 0; r < ${ROUNDS}; r++) {
      out.native.push(await t(() => { const h = createHash('sha256'); for (const c of chunks) h.update(c); h.digest(); }));
      out.ours.push(await t(() => hashStream(chunks)));
    }
    out.noble.push(await t(() => hashStream(chunks.slice(0, 64), { platform: webPlatform })) * 4);
    console.log(JSON.stringify(out));`;
  const r = await run('node', ['--input-type=module', '-e', script], { NODE_OPTIONS: undefined });
  const out = JSON.parse(r.stdout) as { native: number[]; ours: number[]; noble: number[] };
  const bytes = 256 * 2 ** 20;
  return { native: mbps(bytes, median(out.native)), ours: mbps(bytes, median(out.ours)), noble: mbps(bytes, median(out.noble)) };
}

/** Compressed bytes of logs the platforms hash and inflate in memory: small enough to cross into a page quickly. */
const PLATFORM_MB = 32 / q;

/**
 * Both platforms on the same logs held in memory (`hashStream` with gunzip, one object at a
 * time): the Node platform and the Web platform in this process, and the Web platform in
 * headless Chromium on the browser bundle, when Chromium is installed.
 */
async function platforms(c: Corpus): Promise<{ files: number; mb: number; node: number; webInNode: number; chromium?: number; browser?: string }> {
  const objects: string[] = [];
  let compressed = 0;
  for (const key of c.logs) {
    if (compressed >= PLATFORM_MB * 2 ** 20) break;
    const b = readFileSync(join(c.dir, key));
    compressed += b.length;
    objects.push(b.toString('base64'));
  }
  const l = lib as never;
  const node = await throughput(l, objects, ROUNDS, nodePlatform);
  const webInNode = await throughput(l, objects, ROUNDS, lib.webPlatform);
  const base = { files: objects.length, mb: node.bytes / ROUNDS / 1e6, node: node.mbps, webInNode: webInNode.mbps };
  if (!chromiumPresent()) return base;
  const page = await openBrowserPage();
  try {
    const inPage = await page.run(
      async (pl, conf, a: { objects: string[]; rounds: number }) => (conf as { throughput: typeof throughput }).throughput(pl as never, a.objects, a.rounds),
      { objects, rounds: ROUNDS },
    );
    if (inPage.sha256.join() !== node.sha256.join()) throw new Error('Chromium hashed the corpus differently from Node');
    return { ...base, chromium: inPage.mbps, browser: page.version };
  } finally {
    await page.close();
  }
}

/** From S3 (s3rver on loopback, behind a proxy adding latency): ours against the AWS CLI. */
async function s3(c: Corpus, latencyMs: number, aws: boolean): Promise<{ latencyMs: number; oursMs: number; awsMs?: number; requests: number }> {
  const server = await startS3([BUCKET]);
  const api = await startAwsApi({ keys: JSON.parse(readFileSync(c.keys, 'utf8')) });
  try {
    await uploadDir(server, BUCKET, c.dir);
    const proxy = await startProxy(server.url, latencyMs);
    try {
      const env = loopbackEnv(api.url);
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const o = await timed('node', [join(ROOT, 'bench', 'measure.mjs'), 'validate-logs', '--trail-arn', ARN, '--start-time', c.start, '--end-time', c.end, '--s3-bucket', BUCKET, '--endpoint-url', proxy.url], env);
        if (o.status !== 0) throw new Error(`validate-logs from S3 failed: ${o.errors}`);
        ours.push(o.ms);
        if (aws) {
          const t0 = performance.now();
          const r = await awsValidateLogs(['--trail-arn', ARN, '--start-time', c.start, '--end-time', c.end, '--s3-bucket', BUCKET], proxy.url, api.url, 'us-east-1');
          if (r.status !== 0) throw new Error(`aws cloudtrail validate-logs failed: ${r.stderr.slice(0, 400)}`);
          theirs.push(performance.now() - t0);
        }
      }
      return { latencyMs, oursMs: median(ours), ...(aws && { awsMs: median(theirs) }), requests: proxy.seen.length };
    } finally {
      await proxy.close();
    }
  } finally {
    await api.close();
    await server.close();
  }
}

/**
 * Incremental runs: a checkpoint written by a run up to hour 40 of a 48-hour chain (it pins the
 * newest digest that run validated), then the next run from it (reading only the pinned digest
 * and what came after it) against a full run over the 48 hours, alternating.
 */
async function incremental(c: Corpus): Promise<{ corpus: Corpus; fullMs: number; incrementalMs: number; hours: number; pinnedEnd: string; logsAfter: number }> {
  const dir = dirname(c.dir);
  const key = join(dir, 'checkpoint.pem');
  const pub = join(dir, 'checkpoint.pub.pem');
  if (!existsSync(key)) {
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
    execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-out', pub]);
  }
  const hour40 = new Date(Date.parse(c.start) + 40 * 3_600_000).toISOString().replace('.000', '');
  const note = join(dir, 'hour-40.note');
  const pinned = await timed('node', [join(ROOT, 'bench', 'measure.mjs'), ...validateArgs(c).map((a, i, all) => (all[i - 1] === '--end-time' ? hour40 : a)), '--checkpoint-out', note, '--checkpoint-key', key, '--checkpoint-name', 'bench/log']);
  if (pinned.status !== 0) throw new Error(`the checkpoint run failed: ${pinned.errors}`);
  // The pinned digest's end, from the note's chain line; the logs delivered after it are what the incremental run reads.
  const pinnedEnd = / (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z) [0-9a-f]{64}\n/.exec(readFileSync(note, 'utf8'))![1]!;
  const logTime = (key: string): string => /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_/.exec(key)!.slice(1).join('');
  const logsAfter = c.logs.filter((k) => logTime(k) >= pinnedEnd.replace(/\D/g, '').slice(0, 12)).length;
  const fromCheckpoint = ['validate-logs', '--trail-arn', ARN, '--end-time', c.end, '--local-dir', c.dir, '--public-keys', c.keys, '--s3-bucket', BUCKET, '--concurrency', String(CONCURRENCY), '--checkpoint', note, '--checkpoint-public-key', `bench/log=${pub}`];
  const full: Timing[] = [];
  const inc: Timing[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    full.push(await timed('node', [join(ROOT, 'bench', 'measure.mjs'), ...validateArgs(c)]));
    const t = await timed('node', [join(ROOT, 'bench', 'measure.mjs'), ...fromCheckpoint]);
    if (t.status !== 0) throw new Error(`the incremental run failed: ${t.errors}`);
    inc.push(t);
  }
  return { corpus: c, fullMs: median(full.map((t) => t.ms)), incrementalMs: median(inc.map((t) => t.ms)), hours: 48, pinnedEnd, logsAfter };
}

function machine(): string {
  const cpu = cpus();
  const sha = readFileSync('/proc/cpuinfo', 'utf8').includes(' sha_ni') ? ', SHA extensions' : '';
  const aws = (() => {
    try {
      return execFileSync('aws', ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      return 'not installed';
    }
  })();
  return `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}${sha}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node.js ${process.version}, AWS CLI: ${aws}`;
}

const log = (s: string): void => void process.stderr.write(s + '\n');

log(`making corpora (kept in .bench/)...`);
const fileBytes = Math.round((TRAIL_MB * 2 ** 20) / TRAIL_FILES);
const trail = await corpus('trail', TRAIL_FILES, fileBytes, 24);
const trailHalf = await corpus('trail', Math.round(TRAIL_FILES / 2), fileBytes, 12);
const trailQuarter = await corpus('trail', Math.round(TRAIL_FILES / 4), fileBytes, 6);
const big = await corpus('big', 1, Math.round(BIG_MB * 2 ** 20), 2);
const many = await corpus('many', MANY, 1500, Math.max(1, Math.round(MANY / 1000)));
const manyHalf = await corpus('many', Math.round(MANY / 2), 1500, Math.max(1, Math.round(MANY / 2000)));
const manyQuarter = await corpus('many', Math.round(MANY / 4), 1500, Math.max(1, Math.round(MANY / 4000)));
// Memory only: twice the many small logs (200,000 by default; made once, about 900 MB, kept like the others).
const manyDouble = await corpus('many', MANY * 2, 1500, Math.max(1, Math.round(MANY / 500)));
const small = await corpus('s3', S3_LOGS, 64 * 1024, 6);
// A trail as busy as CloudTrail's usual delivery, a log about every 5 minutes: 12 logs an hour over
// 48 hours, of 512 KB (quick) or 1 MB uncompressed each.
const hours48 = await corpus('hours48', 12 * 48, Math.round(fileBytes / (flags.quick ? 8 : 4)), 48);

log(`local validation against the machine's limit (${CORES} processes)...`);
const results: LocalResult[] = [];
for (const c of [trailQuarter, trailHalf, trail, big, manyQuarter, manyHalf, many]) {
  log(`  ${c.name}: ${c.logs.length} logs, ${(c.uncompressedBytes / 1e6).toFixed(0)} MB`);
  results.push(await local(c, c === many));
}
log('memory against the number of logs...');
const [memory] = await peakMemory([manyQuarter, manyHalf, many, manyDouble]);
log('generator against the same baseline...');
const generated = [];
for (const c of [trail, big, many]) generated.push(await generator(c));
log('hashing core against node:crypto...');
const core = await hashingCore();
log(`the platforms on the same logs in memory${chromiumPresent() ? ', Chromium included' : ' (no Chromium at /usr/bin/chromium)'}...`);
const web = await platforms(trail);
const unusable = awsCliUnusable();
log(`from S3 through a latency proxy${unusable ? ` (AWS CLI skipped: ${unusable})` : ', against the AWS CLI'}...`);
const s3Runs = [await s3(small, 20, !unusable), await s3(small, 0, !unusable)];
log('incremental runs from a checkpoint...');
const inc = await incremental(hours48);
log('importing the entries...');
const imports = await benchEntries(join(ROOT, 'dist'), Math.max(10, ROUNDS * 5));
log('start-up: --version and a run over the sample against node -e 0...');
const startup = benchStartup(Math.max(10, ROUNDS * 5));
log('the auditor\'s page in Chromium...');
const page = await benchWeb(trail, { rounds: ROUNDS });
log('the auditor\'s page on a folder of 10,000 small logs: long tasks...');
const pageFolder = await corpus('pagefolder', Math.round(10_000 / q), 1500, 10);
const folderRuns = await benchWebFolder(pageFolder, ROUNDS);
log('the watcher: steady-state passes over 17 regions, arrival to alert...');
// Its own process (bench/watch.ts): its CPU figure is the process's, which nothing else here shares.
const watchSection = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'watch.ts'), '--passes', String(Math.max(5, ROUNDS * 2))], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });

const fmt = (n: number, d = 0): string => n.toFixed(d);
const row = (r: LocalResult): string => {
  const c = r.corpus;
  return `| ${c.name} | ${c.logs.length} | ${fmt(c.uncompressedBytes / 1e6)} | ${fmt(mbps(c.uncompressedBytes, r.cMs))} | ${fmt(mbps(c.uncompressedBytes, r.nativeMs))} | ${fmt(mbps(c.uncompressedBytes, r.oursMs))} | ${fmt(c.logs.length / (r.oursMs / 1000))} | **${fmt(r.cMs / r.oursMs, 2)}** | ${fmt(r.nativeMs / r.oursMs, 2)} | ${fmt(r.oneThreadMs / r.oursMs, 2)}× | ${fmt(r.cRssMB)} | ${fmt(r.nativeRssMB)} | ${fmt(r.oursRssMB)} | ${fmt(r.nativeMs / r.poolMs, 2)} |`;
};
const jsonRow = (r: LocalResult): string =>
  `| ${r.corpus.name} | ${r.corpus.logs.length} | ${fmt(r.cMs)} | ${fmt(r.oursMs)} | **${fmt(r.cMs / r.oursMs, 2)}** | ${fmt(r.jsonMs!)} | **${fmt(r.cMs / r.jsonMs!, 2)}** | ${fmt(r.cpu.c)} | ${fmt(r.cpu.ours)} (${fmt(r.cpu.main)}) | ${fmt(r.cpu.json!)} (${fmt(r.cpu.jsonMain!)}) |`;
const byName = (c: Corpus): LocalResult => results.find((r) => r.corpus === c)!;
const gen = (r: { corpus: Corpus; nativeMs: number; oursMs: number }): string =>
  `| ${r.corpus.name} | ${r.corpus.logs.length} | ${fmt(mbps(r.corpus.uncompressedBytes, r.nativeMs))} | ${fmt(mbps(r.corpus.uncompressedBytes, r.oursMs))} | **${fmt(r.nativeMs / r.oursMs, 2)}** |`;
const now = new Date().toISOString().slice(0, 16).replace('T', ' ');
const report = `# Benchmark results

Made by \`npm run bench\` (\`bench/run.ts\`) on ${now} UTC.
Machine: ${machine()}.
Settings: ${ROUNDS} rounds, medians, the contenders alternating; ours with the default pool (one
thread per core, ${CORES} here) and \`--concurrency ${CONCURRENCY}\` for local runs, the default (32) from S3.
Corpora are made by the project's generator (\`bench/corpus.ts\`): CloudTrail-shaped records, gzip
level 6, digests by \`writeDigests\`.

## Local validation against the machine's limit

The baselines are the machine's limit for the same work's core: one process per core (${CORES}), each
gunzipping and hashing its share of the log files (largest first, to the least loaded), a small file
read and inflated in one call, a large one streamed, doing nothing else, timed from the first process
starting its work to the last one ending it (process start-up not counted). "C" runs zlib and
OpenSSL's SHA-256 through Python's standard library (\`bench/native-c.py\`: \`zlib\`, \`hashlib\`);
"Node" runs the platform's native zlib and SHA-256 (\`node:zlib\`, \`node:crypto\`) in the tightest
loop Node allows (\`bench/native.mjs\`). The issue's targets are ratios to C. "Ours" is the
\`validate-logs\` command (\`bench/measure.mjs\` runs it in a fresh process, output discarded, with the
heap growing factor the program sets for itself), timed as the whole process from its start (Node.js's start-up
and the program's loading included): listing,
every digest, every log, the inventory of unreferenced logs, the report. Throughput is MB/s of
uncompressed log content. Ratio = baseline time / our time (targets, to C: ≥ 0.9 on the 1 GB corpus of
256 logs, ≥ 0.7 on 100,000 small logs). Speed-up = our time with \`--threads 1\` / our time with
every core. Peak RSS: ours is the one process, its threads included; a baseline's is the sum
over its processes. "Pool alone" = Node baseline time / the time of the package's own hashing pool
(${CORES} threads) reading, gunzipping and hashing the same files with nothing of validation around
it (\`bench/pool-only.mjs\`: no listing, digests, checks or report; its threads' start counted):
what is left between it and "ratio" is the validation's own work, on the same cores.

| corpus | logs | MB | C MB/s | Node baseline MB/s | ours MB/s | ours logs/s | ratio to C | ratio to Node | speed-up, 1 thread → ${CORES} | C peak RSS MB | Node baseline peak RSS MB | our peak RSS MB | pool alone |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${results.map(row).join('\n')}

Cost against size (linear in bytes): ${[trailQuarter, trailHalf, trail].map((c) => `${fmt(c.uncompressedBytes / 1e6)} MB in ${fmt(byName(c).oursMs)} ms`).join(', ')}.
The many small logs with the report of every finding (\`--output json\`, written and discarded), and
CPU time (user + system, every thread's or process's; medians) beside the C baseline's, with our main
thread's share (what the walk, the listing and the report cost; the rest is the pool's threads and
V8's own):

| corpus | logs | C ms | ours ms | ratio to C | ours with \`--output json\` ms | ratio to C | C CPU ms | our CPU ms (main thread) | with \`--output json\` CPU ms (main thread) |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${results.filter((r) => r.jsonMs !== undefined).map(jsonRow).join('\n')}

${memoryLine(memory!)}

## Generator

The \`write-digests\` command over each corpus (list, gunzip and hash every log, scan its event
times, write and sign the digests; the corpus's digests are removed before each round and come back
byte-identical), against the same per-core baseline over the same files, alternating (target ≥ 0.8):

| corpus | logs | baseline MB/s | write-digests MB/s | ratio |
| --- | ---: | ---: | ---: | ---: |
${generated.map(gen).join('\n')}

The hashing core on its own, over 256 MiB in memory: node:crypto ${fmt(core.native)} MB/s, \`hashStream\`
(Node platform) ${fmt(core.ours)} MB/s (ratio **${fmt(core.ours / core.native, 2)}**), \`hashStream\` with the portable
\`webPlatform\` (\`@noble/hashes\`) ${fmt(core.noble)} MB/s.

## Platforms

\`hashStream\` with gunzip over ${web.files} logs of the trail corpus held in memory (${fmt(web.mb)} MB of
content, ${ROUNDS} passes, one object at a time): the Node platform (\`node:zlib\`, \`node:crypto\`),
the Web platform (\`DecompressionStream\`, \`@noble/hashes\`, a table CRC-32) in Node, and the Web
platform in headless Chromium${web.browser ? ` ${web.browser}` : ''} on the browser bundle of the main entry (\`test/helpers/browser.ts\`).

| platform | MB/s |
| --- | ---: |
| Node | ${fmt(web.node)} |
| Web, in Node | ${fmt(web.webInNode)} |
| Web, in Chromium | ${web.chromium === undefined ? 'n/a (no Chromium)' : fmt(web.chromium)} |

## From S3

s3rver on loopback (its own process) behind \`test/helpers/proxy.ts\`, which adds the latency before
each response; ${small.logs.length} logs of about 64 KB and their digests; ListPublicKeys answered on
loopback. Ratio = AWS CLI time / our time (target ≥ 10 at 20 ms).

| latency per request | requests (ours + theirs) | ours ms | AWS CLI ms | ratio |
| --- | ---: | ---: | ---: | ---: |
${s3Runs.map((r) => `| ${r.latencyMs} ms | ${r.requests} | ${fmt(r.oursMs)} | ${r.awsMs === undefined ? 'n/a' : fmt(r.awsMs)} | ${r.awsMs === undefined ? 'n/a' : `**${fmt(r.awsMs / r.oursMs, 1)}**`} |`).join('\n')}

${entriesSection(imports)}
${startupSection(startup)}
${webSection(trail, page)}
${webFolderSection(pageFolder, folderRuns)}
${watchSection}
## Incremental runs from a checkpoint

A ${inc.hours}-hour chain of ${inc.corpus.logs.length} logs, ${fmt(inc.corpus.logs.length / inc.hours)} an hour (CloudTrail delivers about every 5 minutes), of
${fmt(inc.corpus.uncompressedBytes / inc.corpus.logs.length / 1024)} KB each (${fmt(inc.corpus.uncompressedBytes / 1e6)} MB in all). A run up to hour 40 writes a checkpoint (\`--checkpoint-out\`); it pins
the newest digest that run validated, which ends at ${inc.pinnedEnd}. The next run starts from it (\`--checkpoint\` with
its \`--checkpoint-public-key\`, no \`--start-time\`): it verifies the note's Ed25519 signature, reads the pinned
digest (to compare its bytes, not its logs) and the digests and ${inc.logsAfter} logs delivered after it, up to the
end of the chain. It is timed against a full run over the ${inc.hours} hours (${inc.corpus.logs.length} logs), alternating, each
in a fresh process (\`bench/measure.mjs\`: the whole process, start-up included).

| full run ms | from the checkpoint ms | speed-up |
| ---: | ---: | ---: |
| ${fmt(inc.fullMs)} | ${fmt(inc.incrementalMs)} | **${fmt(inc.fullMs / inc.incrementalMs, 1)}** |

## Reproduce

    npm ci && npm run bench                 # full size: about 1 GB, one 1 GB log, 100,000 logs (200,000 for memory)
    npm run bench -- --quick                # an eighth of the sizes
    npm run bench -- --trail-mb 2048 --rounds 5
    npm run build && npx tsx bench/entries.ts   # only the entries' import time and bundle size
    npm run build && npx tsx bench/watch.ts     # only the watcher's passes and alert latency
    npm run build && npx tsx bench/many.ts      # only the many small logs against C, alternating (--against DIR: another build)
    npx tsx bench/web.ts                        # only the page, the browser's floor and the command on 1 GB, alternating
    npx tsx bench/web-floor.ts --ways byob+wasm+hw,ab+wasm+subtle   # only the browser's floor, its ways against each other and the command
`;
writeFileSync(join(ROOT, 'bench', 'RESULTS.md'), report);
process.stdout.write(report);
