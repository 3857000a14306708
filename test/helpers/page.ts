// Driving the auditor's page in a real headless Chromium, as an auditor uses it: build the
// static files, serve them on loopback, pick a folder through the file input, run, read back.
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from './browser.js';
import type { Counts } from '../../web/src/protocol.js';
import { node, run, VALIDATE, type Run } from './cli.js';
import { applyActions, copySample, ROOT, tampering, type Action } from './tamper.js';
import { openssl } from './tools.js';

/** The little of the DOM that the functions evaluated in the page use (they run there, not here). */
interface PageElement {
  id: string;
  tagName: string;
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  value: string;
  cells: ArrayLike<PageElement>;
  labels?: ArrayLike<PageElement> | null;
  getAttribute(name: string): string | null;
  addEventListener(type: 'keydown', listener: (e: { timeStamp: number }) => void): void;
}
declare const document: {
  body: PageElement;
  activeElement: PageElement | null;
  getElementById(id: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
};
/** The Performance Observer as the page has it (this file is typed for Node). */
interface PageObserver {
  new (callback: (list: { getEntries(): unknown[] }) => void): { observe(options: { type: string; buffered: boolean }): void };
  supportedEntryTypes: readonly string[];
}
declare const globalThis: {
  responsiveness?: Responsiveness;
  longTasks?: Array<{ start: number; ms: number }>;
  longScripts?: LongScript[];
  PerformanceObserver: PageObserver;
};
declare function setInterval(fn: () => void, ms: number): unknown;
declare function setTimeout(fn: (v?: unknown) => void, ms: number): unknown;

export const WEB_DIR = join(ROOT, 'dist', 'web');

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`;
}

/** Build the page (npm run build:web); the build's error when it fails. */
export async function buildPage(): Promise<string | undefined> {
  const r = await node(join(ROOT, 'scripts', 'build-web.mjs'), []);
  return r.status === 0 ? undefined : `${r.stderr}${r.stdout}`.trim();
}

/** Headless Chromium (the one launch of every browser test). */
export const launch = (): Promise<Browser> => launchChromium();

/** Pick a folder (and separate key lists) on the page; resolves when the page has offered what it found. */
export async function pickFolder(page: Page, dir: string, keyFiles: string[] = []): Promise<void> {
  if (keyFiles.length > 0) await page.locator('#keys').setInputFiles(keyFiles);
  await page.locator('#folder').setInputFiles(dir);
  await page.locator('#setup').waitFor({ state: 'visible' });
}

/**
 * Drop a folder on the page's drop zone, as a file manager does (the DevTools protocol's drag
 * events with the folder's path: the page gets a directory entry, as from a real drop); resolves
 * when the page has offered what it found.
 */
export async function dropFolder(page: Page, dir: string): Promise<void> {
  const box = await page.locator('#drop').boundingBox();
  if (!box) throw new Error('the page shows no drop zone');
  const cdp = await page.context().newCDPSession(page);
  try {
    const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    const data = { items: [], files: [dir], dragOperationsMask: 1 };
    for (const type of ['dragEnter', 'dragOver', 'drop'] as const) await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
  } finally {
    await cdp.detach();
  }
  await page.locator('#setup').waitFor({ state: 'visible', timeout: 600_000 });
}

/** Start the run and wait until it has stopped (ended, failed, or refused to start). */
export async function runStopped(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.locator('#run').click();
  await page.waitForFunction(() => document.body.dataset.state !== 'running', undefined, { timeout: timeoutMs, polling: 50 });
}

/** Start the run and wait for its end; the time it took. */
export async function runToEnd(page: Page, timeoutMs = 60_000): Promise<number> {
  const t0 = Date.now();
  await runStopped(page, timeoutMs);
  const error = page.locator('#error');
  if (await error.isVisible()) throw new Error(`the page says: ${await error.textContent()}`);
  return Date.now() - t0;
}

/** What the page shows after a run. */
export interface PageResult {
  ok: boolean;
  verdict: string;
  summary: Counts;
  hours: Array<{ hour: string; state: string }>;
  rows: Array<{ code: string; severity: string; object: string; expected: string; actual: string }>;
  command: string;
}

/** Read the result: verdict, summary, timeline, and every finding row (all severities). */
export async function readResult(page: Page): Promise<PageResult> {
  // The result is drawn over a few frames: the filters are set, then the rows drawn.
  await page.locator('#findings[data-drawn=true]').waitFor({ state: 'attached' });
  await page.locator('#f-severity').selectOption('');
  await page.locator('#f-code').selectOption('');
  await page.locator('#f-object').fill('');
  await page.locator('#findings[data-drawn=true]').waitFor({ state: 'attached' });
  return page.evaluate(() => {
    const verdict = document.getElementById('verdict')!;
    return {
      ok: verdict.dataset.ok === 'true',
      verdict: verdict.textContent ?? '',
      summary: JSON.parse(document.getElementById('summary')!.dataset.summary!) as Counts,
      hours: Array.from(document.querySelectorAll('#timeline li'), (li) => ({ hour: li.dataset.hour!, state: li.dataset.state! })),
      rows: Array.from(document.querySelectorAll('#findings tbody tr'), (tr) => {
        const td = Array.from(tr.cells, (c) => c.textContent ?? '');
        return { severity: td[0]!, code: td[1]!, object: td[2]!, expected: td[3]!, actual: td[4]! };
      }),
      command: document.getElementById('command')!.value,
    };
  });
}

/**
 * A tampered copy of the sample laid out as the sample is: `<folder>/bucket` and
 * `<folder>/public-keys.json`. `folder` is what an auditor picks; `parent` holds it.
 */
export function sampleFolder(actions: Action[] = []): { folder: string; parent: string; cleanup: () => void } {
  const { dir, cleanup } = copySample();
  applyActions(dir, actions);
  copyFileSync(join(ROOT, 'sample', 'public-keys.json'), join(dirname(dir), 'public-keys.json'));
  return { folder: dirname(dir), parent: dirname(dirname(dir)), cleanup };
}

/**
 * Run the command the page offers to copy, as a user pastes it into a shell in `cwd`
 * (`validate-logs` being the built command).
 */
export function runCopiedCommand(command: string, cwd: string): Promise<Run> {
  if (!command.startsWith('validate-logs ')) throw new Error(`not a validate-logs command: ${command}`);
  const shellWord = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
  return run('sh', ['-c', `${shellWord(process.execPath)} ${shellWord(VALIDATE)} ${command.slice('validate-logs '.length)}`], {}, cwd);
}

/** The id of the focused element. */
export const activeId = (page: Page): Promise<string | undefined> => page.evaluate(() => document.activeElement?.id);

/** The page's state: idle, running or done. */
export const pageState = (page: Page): Promise<string | undefined> => page.evaluate(() => document.body.dataset.state);

/** Form controls with no label (no <label>, no aria-label, a button without text). */
export const unlabelledControls = (page: Page): Promise<string[]> =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll('input, select, textarea, button'))
      .filter((e) => !e.labels?.length && !e.getAttribute('aria-label') && !(e.tagName === 'BUTTON' && e.textContent?.trim()))
      .map((e) => e.id),
  );

/** An attribute of every element matching a selector. */
export const attributes = (page: Page, selector: string, name: string): Promise<Array<string | null>> =>
  page.locator(selector).evaluateAll((els, n) => els.map((e) => e.getAttribute(n)), name);

/**
 * Start watching the page's thread: count the key presses an element handles, and record by how
 * much a 50 ms timer fires late (a busy page thread delays it; a Worker's work does not).
 */
export const watchResponsiveness = (page: Page, id: string): Promise<void> =>
  page.evaluate((target) => {
    const w: Responsiveness = (globalThis.responsiveness = { handled: 0, lateMs: [] });
    document.getElementById(target)!.addEventListener('keydown', () => void w.handled++);
    let last = performance.now();
    setInterval(() => {
      const now = performance.now();
      w.lateMs.push(Math.max(0, now - last - 50));
      last = now;
    }, 50);
  }, id);

/** What {@link watchResponsiveness} saw: key presses handled, timer lateness (ms). */
export interface Responsiveness {
  handled: number;
  lateMs: number[];
}

/** What {@link watchResponsiveness} has seen so far. */
export const responsiveness = (page: Page): Promise<Responsiveness> => page.evaluate(() => globalThis.responsiveness ?? { handled: 0, lateMs: [] });

/**
 * Press a key and wait until the page has handled it.
 * @returns the round trip, ms (the input is acknowledged once the page's thread has processed it)
 */
export async function pressTimed(page: Page, key: string): Promise<number> {
  const t0 = performance.now();
  await page.keyboard.press(key);
  return performance.now() - t0;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** A script that ran within a long animation frame (the Long Animation Frames API): where and how long. */
export interface LongScript {
  /** When it began (the page's `performance.now()`). */
  start: number;
  /** How long it ran, ms. */
  ms: number;
  /** What called it (`Worker.onmessage`, `HTMLInputElement.onchange`, a resolved promise...). */
  invoker: string;
  /** Its source file. */
  source: string;
}

/** The long tasks (over 50 ms) of the page's thread, and the longest of the page's own scripts, between two moments. */
export interface LongTasks {
  /** How many long tasks. */
  count: number;
  /** The longest, ms (0 when none). */
  longestMs: number;
  /** Their durations, ms, in the order they began. */
  durations: number[];
  /** The longest run of the page's own scripts (its files, not the test's) within a long animation frame, if any. */
  longestScript?: LongScript;
}

/**
 * Record the page's long tasks (the Long Tasks API, buffered) and the scripts of its long
 * animation frames, from before its first script runs: call before `page.goto`. A long task may
 * be the browser's own (building a picked folder's file list, drawing, collecting garbage on a
 * loaded machine); the scripts say how long the page's own code held the thread.
 */
export const watchLongTasks = (page: Page): Promise<void> =>
  page.addInitScript(() => {
    const seen: Array<{ start: number; ms: number }> = (globalThis.longTasks = []);
    const scripts: LongScript[] = (globalThis.longScripts = []);
    const Observer = globalThis.PerformanceObserver;
    new Observer((list) => {
      for (const e of list.getEntries() as Array<{ startTime: number; duration: number }>) seen.push({ start: e.startTime, ms: e.duration });
    }).observe({ type: 'longtask', buffered: true });
    if (!Observer.supportedEntryTypes.includes('long-animation-frame')) return;
    new Observer((list) => {
      for (const frame of list.getEntries() as unknown as Array<{ scripts: Array<{ startTime: number; duration: number; invoker: string; sourceURL: string }> }>) {
        for (const s of frame.scripts) scripts.push({ start: s.startTime, ms: s.duration, invoker: s.invoker, source: s.sourceURL });
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  }).then(() => undefined);

/**
 * The long tasks {@link watchLongTasks} has seen that began from `from` to `to` (the page's
 * `performance.now()`), and the longest script of the page's own files among them.
 */
export async function longTasks(page: Page, from: number, to: number): Promise<LongTasks> {
  // The observers are told at the end of a frame: give them one.
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
  const { tasks, scripts } = await page.evaluate(() => ({ tasks: globalThis.longTasks ?? [], scripts: globalThis.longScripts ?? [] }));
  const durations = tasks.filter((t) => t.start >= from && t.start < to).map((t) => t.ms);
  const own = scripts.filter((s) => s.start >= from && s.start < to && new URL(s.source || 'about:blank').pathname.endsWith('.js') && s.source.startsWith(page.url().split('?')[0]!.replace(/[^/]*$/, '')));
  const longestScript = own.reduce<LongScript | undefined>((a, s) => (a && a.ms >= s.ms ? a : s), undefined);
  return { count: durations.length, longestMs: Math.max(0, ...durations), durations, ...(longestScript && { longestScript }) };
}

/** Ed25519 key pairs as openssl makes them: `<dir>/<name>.pem` and `<dir>/<name>.pub.pem`. */
export function checkpointKeyPairs(dir: string, names: string[]): void {
  for (const name of names) {
    openssl(['genpkey', '-algorithm', 'ed25519', '-out', join(dir, `${name}.pem`)]);
    openssl(['pkey', '-in', join(dir, `${name}.pem`), '-pubout', '-out', join(dir, `${name}.pub.pem`)]);
  }
}

const DIGESTS = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08';
/** The sample's digest ending at `hour`:00 on 2025-01-08. */
export const sampleDigest = (hour: number): string => `${DIGESTS}/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T0${hour}0000Z.json.gz`;

/**
 * A checkpoint as the command writes it, in `<parent>/cp.note`: the sample folder's bucket
 * validated up to 02:00, pinning its newest digest (03:00), signed by `<keyDir>/log.pem` as
 * `example.com/log`.
 */
export async function sampleCheckpoint(folder: string, keyDir: string): Promise<string> {
  const t = tampering.trail;
  const cp = join(dirname(folder), 'cp.note');
  const r = await node(VALIDATE, [
    '--trail-arn', t.trailArn, '--local-dir', join(folder, 'bucket'), '--s3-bucket', t.bucket, '--public-keys', join(folder, 'public-keys.json'),
    '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z',
    '--checkpoint-out', cp, '--checkpoint-key', join(keyDir, 'log.pem'), '--checkpoint-name', 'example.com/log',
  ]);
  if (r.status !== 0 || !r.stderr.includes('up to 2025-01-08T03:00:00Z')) throw new Error(`no checkpoint: ${r.stderr}`);
  return cp;
}

/** History rewritten after the checkpoint: a log the pinned digest (03:00) lists edited, that digest signed again. */
export function rewritePinnedDigest(bucket: string): void {
  const folder = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08';
  const log = readdirSync(join(bucket, folder)).find((n) => n.includes('_20250108T02') && n.endsWith('.json.gz'))!;
  applyActions(bucket, [
    { op: 'edit-log', key: `${folder}/${log}`, from: 'eventTime', to: 'eventTimE' },
    { op: 'resign-digest', key: sampleDigest(3) },
  ]);
}
