// The auditor's page on a folder of many small files, in headless Chromium: the longest task on
// the page's thread (the Long Tasks API, observed from before the pick) while the folder is picked
// and while it is validated, the folder dropped on the page and picked through the file input,
// alternating. Part of npm run bench; alone:
//
//   npx tsx bench/web-folder.ts [--files 10000] [--rounds 3] [--way drop|input|both] [--against OTHER/dist/web]
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { serveStatic } from '../scripts/serve-web.mjs';
import { browserMissing, buildPage, dropFolder, launch, longTasks, pickFolder, runToEnd, watchLongTasks, WEB_DIR, type LongTasks } from '../test/helpers/page.ts';
import { corpus, type Corpus } from './corpus.ts';

/** How the folder reaches the page: dropped on it (its entries) or picked through the file input. */
export type FolderWay = 'drop' | 'input';

/** The long tasks of one pick and run. */
export interface FolderRound {
  /** How the folder was given. */
  way: FolderWay;
  /** While the folder was picked: from dropping it or setting the file input's files to the page offering what it found. */
  pick: LongTasks;
  /** While it was validated: from the click on Validate to the verdict drawn. */
  validate: LongTasks;
  /** Pick to offer, ms. */
  pickMs: number;
  /** Click to verdict, ms. */
  runMs: number;
}

/** What the rounds measured, or why they could not run. */
export type WebFolderResult = { ok: true; files: number; rounds: FolderRound[] } | { ok: false; reason: string };

/** The page's thread between two moments: the long tasks that began in it. */
async function oneRound(browser: Browser, url: string, c: Corpus, way: FolderWay): Promise<FolderRound> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  try {
    await watchLongTasks(page);
    await page.goto(url);
    // Playwright's own script is loaded into the page at its first wait on it (a task of about
    // 100 ms under load, on the page's thread but not the page's): before the windows measured.
    await page.waitForFunction(() => true);
    await page.locator('#run').count();
    const t0 = await page.evaluate(() => performance.now());
    const w0 = Date.now();
    await (way === 'drop' ? dropFolder(page, dirname(c.dir)) : pickFolder(page, dirname(c.dir)));
    const pickMs = Date.now() - w0;
    const t1 = await page.evaluate(() => performance.now());
    const runMs = await runToEnd(page, 600_000);
    // What follows the verdict (the result drawn) belongs to the run.
    await page.waitForTimeout(300);
    const t2 = await page.evaluate(() => performance.now());
    // (Read from the summary: an older build of the page, measured against, draws its rows otherwise.)
    const ok = (await page.locator('#verdict').getAttribute('data-ok')) === 'true';
    const summary = JSON.parse((await page.locator('#summary').getAttribute('data-summary')) ?? '{}') as { logs?: { valid: number } };
    if (!ok || summary.logs?.valid !== c.logs.length) throw new Error(`unexpected result: ${await page.locator('#verdict').textContent()}`);
    return { way, pick: await longTasks(page, t0, t1), validate: await longTasks(page, t1, t2), pickMs, runMs };
  } finally {
    await page.close();
  }
}

/**
 * Pick and validate a corpus folder `rounds` times each way, each in a fresh page, the ways
 * alternating; with `against`, the built page in that folder too (another version of it), the
 * two alternating, its rounds in `base`.
 */
export async function benchWebFolder(c: Corpus, rounds: number, against?: string, ways: readonly FolderWay[] = ['drop', 'input']): Promise<WebFolderResult & { base?: FolderRound[] }> {
  const missing = browserMissing();
  if (missing) return { ok: false, reason: missing };
  const failed = await buildPage();
  if (failed) return { ok: false, reason: `the page does not build: ${failed.split('\n')[0]}` };
  const server = await serveStatic(WEB_DIR);
  const other = against === undefined ? undefined : await serveStatic(against);
  const browser = await launch();
  try {
    const out: FolderRound[] = [];
    const base: FolderRound[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const way of ways) {
        if (other) base.push(await oneRound(browser, other.url, c, way));
        out.push(await oneRound(browser, server.url, c, way));
      }
    }
    return { ok: true, files: c.logs.length, rounds: out, ...(other && { base }) };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  } finally {
    await browser.close();
    await server.close();
    await other?.close();
  }
}

const ms = (n: number): string => `${n.toFixed(0)} ms`;
const sec = (n: number): string => `${(n / 1000).toFixed(1)} s`;
/** The ways the rounds measured, in the order they ran. */
const ways = (rounds: readonly FolderRound[]): FolderWay[] => [...new Set(rounds.map((x) => x.way))];

/** One way's medians, with the lowest and highest. */
function summaryLine(way: FolderWay, xs: readonly FolderRound[]): string {
  const range = (f: (x: FolderRound) => number, unit: (n: number) => string): string => `${unit(median(xs.map(f)))} (${unit(Math.min(...xs.map(f)))}–${unit(Math.max(...xs.map(f)))})`;
  return (
    `${way === 'drop' ? 'Dropped' : 'File input'}, medians (lowest–highest): picking ${range((x) => x.pickMs, sec)}, longest task ${range((x) => x.pick.longestMs, ms)}, ` +
    `longest script ${range((x) => x.pick.longestScript?.ms ?? 0, ms)}; validating ${range((x) => x.runMs, sec)}, long tasks ${range((x) => x.validate.count, String)}, ` +
    `longest task ${range((x) => x.validate.longestMs, ms)}, longest script ${range((x) => x.validate.longestScript?.ms ?? 0, ms)}.`
  );
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** The results section of bench/RESULTS.md. */
export function webFolderSection(c: Corpus, r: WebFolderResult): string {
  const head = `## The auditor's page on many small files

\`npm run web\`'s page in headless Chromium (\`bench/web-folder.ts\`): a folder of ${c.logs.length} logs of about 1.5 KB,
their digests and sidecars, dropped on the page (the DevTools protocol's drag events with the
folder's path: the page gets its directory entry) or picked through the file input, the two
alternating, and validated, each round in a fresh page.
Long tasks (the Long Tasks API, observed from before the pick) while picking (from the drop, or from
setting the input's files, to the page offering the trail: for the input, Chromium builds its file
list first, in one task of its own) and while validating (from the click on Validate to 300 ms
after the verdict); "longest script" is the longest run of the page's own code within a long
animation frame (the Long Animation Frames API).
`;
  if (!r.ok) return `${head}\nNot measured: ${r.reason}.\n`;
  const row = (x: FolderRound, i: number): string =>
    `| ${Math.floor(i / ways(r.rounds).length) + 1} | ${x.way === 'drop' ? 'dropped' : 'file input'} | ${(x.pickMs / 1000).toFixed(1)} s | ${x.pick.count} | ${ms(x.pick.longestMs)} | ${ms(x.pick.longestScript?.ms ?? 0)} | ${(x.runMs / 1000).toFixed(1)} s | ${x.validate.count} | ${ms(x.validate.longestMs)} | ${ms(x.validate.longestScript?.ms ?? 0)} |`;
  return `${head}
| round | folder | pick | long tasks | longest | longest script | click to verdict | long tasks | longest | longest script |
| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${r.rounds.map(row).join('\n')}

${ways(r.rounds).map((way) => summaryLine(way, r.rounds.filter((x) => x.way === way))).join('\n')}
(Target: no task over 50 ms.)
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  // --against DIR: another build of the page (its dist/web), alternating with this one.
  const { values } = parseArgs({ options: { files: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '3' }, way: { type: 'string', default: 'both' }, against: { type: 'string' } } });
  const c = await corpus('pagefolder', Number(values.files), 1500, 10);
  const chosen: FolderWay[] = values.way === 'both' ? ['drop', 'input'] : [values.way as FolderWay];
  const r = await benchWebFolder(c, Number(values.rounds), values.against, chosen);
  process.stdout.write(webFolderSection(c, r));
  if (r.ok && r.base) process.stdout.write(`\nAgainst ${values.against}:\n\n${webFolderSection(c, { ok: true, files: r.files, rounds: r.base })}`);
  if (!r.ok) process.exitCode = 1;
}
