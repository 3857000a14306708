// The auditor's page on a large folder, in headless Chromium: throughput of a whole run (pick to
// verdict) and how long key presses wait while it runs, against the command on the same corpus,
// alternating. Part of npm run bench; alone:
//
//   npx tsx bench/web.ts [--mb 1024] [--files 256] [--hours H] [--workers N] [--rounds 3] [--against DIR]
//   (N hashing Workers, 0: none; H defaults to 24 for 256 files, in proportion otherwise; DIR: another
//   build of the page, dist/web copied before a change, measured alternating with this one)
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { serveStatic } from '../scripts/serve-web.mjs';
import { browserMissing, buildPage, launch, median, pageState, pickFolder, pressTimed, readResult, responsiveness, watchResponsiveness, WEB_DIR } from '../test/helpers/page.ts';
import { ARN, BUCKET, corpus, ROOT, type Corpus } from './corpus.ts';
import { FLOOR_WAY, floorChecks, openFloor, type FloorRun } from './web-floor.ts';

/** Clock ticks a second in /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS = 100;

/** The CPU time (user + system, seconds) of each live process descending from this one (the browser's), by process id. */
export function descendantsCpuByPid(): Map<number, number> {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The fields after the command's name (which may hold spaces): state, ppid, ..., utime (14), stime (15).
      const f = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ').pop()!.split(' ');
      parent.set(Number(name), Number(f[1]));
      cpu.set(Number(name), (Number(f[11]) + Number(f[12])) / TICKS);
    } catch {
      // gone meanwhile
    }
  }
  const mine = new Map<number, number>();
  for (const [pid, seconds] of cpu) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        mine.set(pid, seconds);
        break;
      }
    }
  }
  return mine;
}

/**
 * The CPU time (seconds) the browser's processes have spent since `before` (a
 * {@link descendantsCpuByPid}): each live process's growth, a new one's whole; a process that
 * ended meanwhile (a closed page's renderer) takes nothing off.
 */
export function descendantsCpuSince(before: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of descendantsCpuByPid()) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/** One run of the command over the corpus (bench/measure.mjs, a fresh process): its own time, and the CPU time of its process. */
export function cliRun(c: Corpus): Promise<{ ms: number; cpuS: number }> {
  const args = ['validate-logs', '--trail-arn', ARN, '--start-time', c.start, '--end-time', c.end, '--local-dir', c.dir, '--public-keys', c.keys, '--s3-bucket', BUCKET];
  // The shell reports its waited-for child's CPU time (cutime, cstime of its /proc/self/stat).
  const script = `"$0" "$@" && cat /proc/$$/stat`;
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NODE_OPTIONS: undefined };
    execFile('sh', ['-c', script, process.execPath, join(ROOT, 'bench', 'measure.mjs'), ...args], { env, maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error) return reject(error);
      const lines = stdout.trim().split('\n');
      const r = JSON.parse(lines[lines.length - 2]!) as { runMs: number; status: number; errors: string };
      if (r.status !== 0) return reject(new Error(`validate-logs failed: ${r.errors}`));
      const f = lines[lines.length - 1]!.split(') ').pop()!.split(' ');
      resolve({ ms: r.runMs, cpuS: (Number(f[13]) + Number(f[14])) / TICKS });
    });
  });
}

/** What a run of the page measured, or why it could not run. */
export type WebResult =
  | {
      ok: true;
      /** Rounds, the page and the command alternating. */
      rounds: number;
      /** Click to verdict, the median over the rounds, and the fastest and slowest. */
      ms: number;
      range: [number, number];
      /** CPU time of the browser's processes over a run (median, seconds). */
      cpuS: number;
      /** The command on the same corpus, each in a fresh process (median, ms; range; CPU seconds). */
      cliMs: number;
      cliRange: [number, number];
      cliCpuS: number;
      uncompressedMBps: number;
      storedMBps: number;
      cliMBps: number;
      keyPresses: number;
      handled: number;
      medianPressMs: number;
      maxPressMs: number;
      medianLateMs: number;
      maxLateMs: number;
      status: string;
      /** The browser's floor (bench/web-floor.ts) in the same rounds: click-equivalent to the last hash (median, range, CPU seconds), its way and Workers. */
      floor: { ms: number; range: [number, number]; cpuS: number; way: string; workers: number };
      /** With `against`: that build of the page, click to verdict (median, range, CPU seconds). */
      against?: { ms: number; range: [number, number]; cpuS: number; maxLateMs: number; maxPressMs: number };
    }
  | { ok: false; reason: string };

/** One page run: the folder picked, Validate clicked, until the verdict, a key pressed every 100 ms. */
type PageRun = { ok: true; ms: number; cpuS: number; trips: number[]; handled: number; lateMs: number[]; status: string } | { ok: false; reason: string };

async function pageRun(browser: Browser, url: string, c: Corpus): Promise<PageRun> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  try {
    await page.goto(url);
    await pickFolder(page, dirname(c.dir));
    await watchResponsiveness(page, 'bucket');
    const cpu0 = descendantsCpuByPid();
    const t0 = Date.now();
    await page.locator('#run').click();
    await page.locator('#bucket').focus();
    const trips: number[] = [];
    while ((await pageState(page)) === 'running') {
      trips.push(await pressTimed(page, 'x'));
      await page.waitForTimeout(100);
    }
    const ms = Date.now() - t0;
    const cpuS = descendantsCpuSince(cpu0);
    const seen = await responsiveness(page);
    const error = page.locator('#error');
    if (await error.isVisible()) return { ok: false, reason: `the page says: ${await error.textContent()}` };
    const shown = await readResult(page);
    if (!shown.ok || shown.summary.logs.valid !== c.logs.length) return { ok: false, reason: `unexpected result: ${shown.verdict}` };
    // (The last press may land as the run ends and the verdict takes the focus: not counted there.)
    if (seen.handled < trips.length - 1) return { ok: false, reason: `${trips.length} key presses, only ${seen.handled} handled` };
    return { ok: true, ms, cpuS, trips, handled: seen.handled, lateMs: seen.lateMs, status: (await page.locator('#status').textContent()) ?? '' };
  } finally {
    await page.close();
  }
}

/**
 * Validate a corpus folder (its bucket copy and public-keys.json) in the page, pressing a key
 * every 100 ms while it runs, and with the command over the same corpus, alternating, `rounds`
 * times each (default 3); with `workers`, the page's `?workers=N` (hashing Workers), else one
 * per processor.
 */
export async function benchWeb(c: Corpus, options: { workers?: number; rounds?: number; against?: string } = {}): Promise<WebResult> {
  const missing = browserMissing();
  if (missing) return { ok: false, reason: missing };
  const failed = await buildPage();
  if (failed) return { ok: false, reason: `the page does not build: ${failed.split('\n').find((l) => /ERROR|error/.test(l))?.trim() ?? failed.split('\n')[0]}` };
  const server = await serveStatic(WEB_DIR);
  const other = options.against === undefined ? undefined : await serveStatic(options.against);
  const browser = await launch();
  try {
    const query = options.workers === undefined ? '' : `?workers=${options.workers}`;
    const rounds = Math.max(1, options.rounds ?? 3);
    const pages: Array<Extract<PageRun, { ok: true }>> = [];
    const before: Array<Extract<PageRun, { ok: true }>> = [];
    const cli: Array<{ ms: number; cpuS: number }> = [];
    const floors: FloorRun[] = [];
    const floor = await openFloor(browser, c);
    const checked = floorChecks(c, await floor.run(FLOOR_WAY)); // its Workers' code compiled, as the page's is by its first files
    if (checked) return { ok: false, reason: checked };
    for (let i = 0; i < rounds; i++) {
      if (other) {
        const b = await pageRun(browser, other.url + query, c);
        if (!b.ok) return b;
        before.push(b);
      }
      const r = await pageRun(browser, server.url + query, c);
      if (!r.ok) return r;
      pages.push(r);
      floors.push(await floor.run(FLOOR_WAY));
      cli.push(await cliRun(c));
    }
    await floor.close();
    const ms = median(pages.map((p) => p.ms));
    const cliMs = median(cli.map((p) => p.ms));
    const trips = pages.flatMap((p) => p.trips);
    const lateMs = pages.flatMap((p) => p.lateMs);
    return {
      ok: true,
      rounds,
      ms,
      range: [Math.min(...pages.map((p) => p.ms)), Math.max(...pages.map((p) => p.ms))],
      cpuS: median(pages.map((p) => p.cpuS)),
      cliMs,
      cliRange: [Math.min(...cli.map((p) => p.ms)), Math.max(...cli.map((p) => p.ms))],
      cliCpuS: median(cli.map((p) => p.cpuS)),
      uncompressedMBps: c.uncompressedBytes / 1e6 / (ms / 1000),
      storedMBps: c.compressedBytes / 1e6 / (ms / 1000),
      cliMBps: c.uncompressedBytes / 1e6 / (cliMs / 1000),
      keyPresses: trips.length,
      handled: pages.reduce((n, p) => n + p.handled, 0),
      medianPressMs: median(trips),
      maxPressMs: Math.max(0, ...trips),
      medianLateMs: median(lateMs),
      maxLateMs: Math.max(0, ...lateMs),
      status: pages[pages.length - 1]!.status,
      floor: { ms: median(floors.map((f) => f.ms)), range: [Math.min(...floors.map((f) => f.ms)), Math.max(...floors.map((f) => f.ms))], cpuS: median(floors.map((f) => f.cpuS)), way: FLOOR_WAY, workers: floor.workers },
      ...(other && {
        against: { ms: median(before.map((p) => p.ms)), range: [Math.min(...before.map((p) => p.ms)), Math.max(...before.map((p) => p.ms))] as [number, number], cpuS: median(before.map((p) => p.cpuS)), maxLateMs: Math.max(0, ...before.flatMap((p) => p.lateMs)), maxPressMs: Math.max(0, ...before.flatMap((p) => p.trips)) },
      }),
    };
  } finally {
    await browser.close();
    await server.close();
    await other?.close();
  }
}

/** A floor way (bench/web-floor.ts) in words. */
function floorWayWords(way: string): string {
  const [read, inflate, hash] = way.split('+');
  const words: Record<string, string> = {
    ab: '`Blob.arrayBuffer()`',
    frs: '`FileReaderSync`',
    byob: "the file's byte stream read into a kept buffer",
    wasm: 'zlib in WebAssembly into its kept memory',
    ds: '`DecompressionStream`',
    subtle: "WebCrypto's SHA-256",
    noble: "`@noble/hashes`' SHA-256",
    hw: "`hash-wasm`'s SHA-256 over kept memory",
  };
  return [read!, inflate!, hash!].map((p) => words[p] ?? p).join(', ');
}

/** The results section of bench/RESULTS.md. */
export function webSection(c: Corpus, r: WebResult): string {
  const head = `## The auditor's page

\`npm run web\`'s page in headless Chromium (\`bench/web.ts\`): the ${c.logs.length}-log corpus of ${(c.uncompressedBytes / 1e6).toFixed(0)} MB
(${(c.compressedBytes / 1e6).toFixed(0)} MB stored) picked through the file input, validated by the page's Workers (the run's,
and the hashing Workers it starts, one per processor), from the click on Validate to the verdict; against the
\`validate-logs\` command on the same corpus (\`bench/measure.mjs\`, a fresh process, its default threads), the two
alternating${r.ok ? `, ${r.rounds} rounds, medians (fastest–slowest in brackets)` : ''}. CPU time: the browser's processes over the run, the
command's process. Ratio = the command's time / the page's (target ≥ 0.5). Meanwhile a key is pressed every 100 ms (its round trip: until the
page's thread has handled it) and a 50 ms timer on the page's thread notes how late it fires.
The browser's floor (\`bench/web-floor.ts\`), in the same Chromium and rounds, on the same files picked through a file
input: as many dedicated Workers as the browser reports processors, each doing only the browser's primitives per log
(read the \`File\`, inflate, SHA-256), nothing of validation (no listing, digests, checks or report), the cheapest way
found on this machine${r.ok ? ` (\`${r.floor.way}\`: ${floorWayWords(r.floor.way)})` : ''}; timed from the files handed to the Workers (started
before) to the last hash. Floor to command = the command's time / the floor's: where it is under 0.5, the target is out of
the browser's reach on this machine; page to floor = the floor's time / the page's: what the page itself could still gain.
`;
  if (!r.ok) return `${head}\nNot measured: ${r.reason}.\n`;
  const s = (ms: number): string => (ms / 1000).toFixed(2);
  const f = r.floor;
  const mb = c.uncompressedBytes / 1e6;
  return `${head}
| page, click to verdict | page MB/s of logs | page CPU s | the browser's floor | floor MB/s | floor CPU s | command | command MB/s | command CPU s | ratio, page to command | floor to command | page to floor |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| ${s(r.ms)} s (${s(r.range[0])}–${s(r.range[1])}) | ${r.uncompressedMBps.toFixed(0)} | ${r.cpuS.toFixed(2)} | ${s(f.ms)} s (${s(f.range[0])}–${s(f.range[1])}) | ${(mb / (f.ms / 1000)).toFixed(0)} | ${f.cpuS.toFixed(2)} | ${s(r.cliMs)} s (${s(r.cliRange[0])}–${s(r.cliRange[1])}) | ${r.cliMBps.toFixed(0)} | ${r.cliCpuS.toFixed(2)} | **${(r.cliMs / r.ms).toFixed(2)}** | **${(r.cliMs / f.ms).toFixed(2)}** | ${(f.ms / r.ms).toFixed(2)} |

${r.cliMs / f.ms < 0.5 ? `The floor is ${(r.cliMs / f.ms).toFixed(2)} of the command: on this machine the browser's own reading, inflating and hashing cannot reach 0.5, whatever the page does.` : `The floor is ${(r.cliMs / f.ms).toFixed(2)} of the command: the browser could reach 0.5 here; what the page lacks is its own.`}

| MB/s stored, page | key presses (handled) | key round trip, median / longest | timer lateness, median / longest |
| ---: | ---: | ---: | ---: |
| ${r.storedMBps.toFixed(1)} | ${r.keyPresses} (${r.handled}) | ${r.medianPressMs.toFixed(0)} / ${r.maxPressMs.toFixed(0)} ms | ${r.medianLateMs.toFixed(0)} / ${r.maxLateMs.toFixed(0)} ms |

The page said: ${r.status}
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const { values } = parseArgs({
    options: { mb: { type: 'string', default: '1024' }, files: { type: 'string', default: '256' }, hours: { type: 'string' }, workers: { type: 'string' }, rounds: { type: 'string', default: '3' }, against: { type: 'string' } },
  });
  const files = Number(values.files);
  // The bench's trail corpora: 24 hours for 256 files, 12 for 128, 6 for 64.
  const hours = values.hours === undefined ? Math.max(1, Math.round((files * 24) / 256)) : Number(values.hours);
  const c = await corpus('trail', files, Math.round((Number(values.mb) * 2 ** 20) / files), hours);
  const r = await benchWeb(c, { rounds: Number(values.rounds), ...(values.workers !== undefined && { workers: Number(values.workers) }), ...(values.against !== undefined && { against: values.against }) });
  process.stdout.write(webSection(c, r));
  if (r.ok && r.against) {
    const a = r.against;
    process.stdout.write(`\nThe page built in ${values.against}, alternating with the others: ${(a.ms / 1000).toFixed(2)} s (${(a.range[0] / 1000).toFixed(2)}–${(a.range[1] / 1000).toFixed(2)}), ${a.cpuS.toFixed(2)} CPU s; this build / that one: ${(r.ms / a.ms).toFixed(2)} in time, ${(r.cpuS / a.cpuS).toFixed(2)} in CPU; that one's longest key round trip ${a.maxPressMs.toFixed(0)} ms, timer lateness ${a.maxLateMs.toFixed(0)} ms.\n`);
  }
  if (!r.ok) process.exitCode = 1;
}
