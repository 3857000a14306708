// The auditor's page on a large folder, in headless Chromium: throughput of a whole run (pick to
// verdict) and how long key presses wait while it runs. Part of npm run bench; alone:
//
//   npx tsx bench/web.ts [--mb 1024] [--files 256] [--workers N]   (N hashing Workers; 0: none)
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { serveStatic } from '../scripts/serve-web.mjs';
import { browserMissing, buildPage, launch, median, pageState, pickFolder, pressTimed, readResult, responsiveness, watchResponsiveness, WEB_DIR } from '../test/helpers/page.ts';
import { corpus, type Corpus } from './corpus.ts';

/** What a run of the page measured, or why it could not run. */
export type WebResult =
  | {
      ok: true;
      ms: number;
      uncompressedMBps: number;
      storedMBps: number;
      keyPresses: number;
      handled: number;
      medianPressMs: number;
      maxPressMs: number;
      medianLateMs: number;
      maxLateMs: number;
      status: string;
    }
  | { ok: false; reason: string };

/**
 * Validate a corpus folder (its bucket copy and public-keys.json) in the page, pressing a key
 * every 100 ms while it runs; with `workers`, the page's `?workers=N` (hashing Workers), else
 * one per processor.
 */
export async function benchWeb(c: Corpus, options: { workers?: number } = {}): Promise<WebResult> {
  const missing = browserMissing();
  if (missing) return { ok: false, reason: missing };
  const failed = await buildPage();
  if (failed) return { ok: false, reason: `the page does not build: ${failed.split('\n').find((l) => /ERROR|error/.test(l))?.trim() ?? failed.split('\n')[0]}` };
  const server = await serveStatic(WEB_DIR);
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await page.goto(options.workers === undefined ? server.url : `${server.url}?workers=${options.workers}`);
    await pickFolder(page, dirname(c.dir));
    await watchResponsiveness(page, 'bucket');
    const t0 = Date.now();
    await page.locator('#run').click();
    await page.locator('#bucket').focus();
    const trips: number[] = [];
    while ((await pageState(page)) === 'running') {
      trips.push(await pressTimed(page, 'x'));
      await page.waitForTimeout(100);
    }
    const ms = Date.now() - t0;
    const seen = await responsiveness(page);
    const error = page.locator('#error');
    if (await error.isVisible()) return { ok: false, reason: `the page says: ${await error.textContent()}` };
    const shown = await readResult(page);
    if (!shown.ok || shown.summary.logs.valid !== c.logs.length) return { ok: false, reason: `unexpected result: ${shown.verdict}` };
    // (The last press may land as the run ends and the verdict takes the focus: not counted there.)
    if (seen.handled < trips.length - 1) return { ok: false, reason: `${trips.length} key presses, only ${seen.handled} handled` };
    return {
      ok: true,
      ms,
      uncompressedMBps: c.uncompressedBytes / 1e6 / (ms / 1000),
      storedMBps: c.compressedBytes / 1e6 / (ms / 1000),
      keyPresses: trips.length,
      handled: seen.handled,
      medianPressMs: median(trips),
      maxPressMs: Math.max(0, ...trips),
      medianLateMs: median(seen.lateMs),
      maxLateMs: Math.max(0, ...seen.lateMs),
      status: (await page.locator('#status').textContent()) ?? '',
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

/** The results section of bench/RESULTS.md. */
export function webSection(c: Corpus, r: WebResult): string {
  const head = `## The auditor's page

\`npm run web\`'s page in headless Chromium (\`bench/web.ts\`): the ${c.logs.length}-log corpus of ${(c.uncompressedBytes / 1e6).toFixed(0)} MB
(${(c.compressedBytes / 1e6).toFixed(0)} MB stored) picked through the file input, validated by the page's Workers (the run's,
and the hashing Workers it starts, one per processor), from the click on Validate to the verdict. Meanwhile a key is pressed every 100 ms (its round trip: until the
page's thread has handled it) and a 50 ms timer on the page's thread notes how late it fires.
`;
  if (!r.ok) return `${head}\nNot measured: ${r.reason}.\n`;
  return `${head}
| run | MB/s of logs | MB/s stored | key presses (handled) | key round trip, median / longest | timer lateness, median / longest |
| ---: | ---: | ---: | ---: | ---: | ---: |
| ${(r.ms / 1000).toFixed(1)} s | ${r.uncompressedMBps.toFixed(1)} | ${r.storedMBps.toFixed(1)} | ${r.keyPresses} (${r.handled}) | ${r.medianPressMs.toFixed(0)} / ${r.maxPressMs.toFixed(0)} ms | ${r.medianLateMs.toFixed(0)} / ${r.maxLateMs.toFixed(0)} ms |

The page said: ${r.status}
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const { values } = parseArgs({ options: { mb: { type: 'string', default: '1024' }, files: { type: 'string', default: '256' }, workers: { type: 'string' } } });
  const files = Number(values.files);
  const c = await corpus('trail', files, Math.round((Number(values.mb) * 2 ** 20) / files), 24);
  const r = await benchWeb(c, values.workers === undefined ? {} : { workers: Number(values.workers) });
  process.stdout.write(webSection(c, r));
  if (!r.ok) process.exitCode = 1;
}
