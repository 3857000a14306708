// The auditor's page end to end in a real headless Chromium: the built static files served on
// loopback, a folder picked through the file input, the run in the page's Worker, and what the
// page then shows (summary, timeline, findings, the downloaded JSON, the copied command) equal
// to what the CLI reports on the same folder. Also: cancelling, no request beyond the page's
// own files, and input events handled while a larger folder validates.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { corpus } from '../bench/corpus.js';
import { serveStatic } from '../scripts/serve-web.mjs';
import { formatNoteVerifierKey, noteVerifierKeyFromPem } from '../src/checkpoint.js';
import { timeline } from '../web/src/timeline.js';
import type { Report } from '../web/src/protocol.js';
import {
  activeId,
  attributes,
  buildPage,
  checkpointKeyPairs,
  rewritePinnedDigest,
  sampleCheckpoint,
  sampleDigest,
  launch,
  median,
  pageState,
  pressTimed,
  responsiveness,
  pickFolder,
  readResult,
  runCopiedCommand,
  runStopped,
  runToEnd,
  sampleFolder,
  unlabelledControls,
  watchResponsiveness,
  WEB_DIR,
} from './helpers/page.js';
import { ROOT, tampering } from './helpers/tamper.js';
import { chromiumRequirement, underCi } from './helpers/tools.js';

/** Screenshots of results, kept as test artefacts (git-ignored). */
const ARTEFACTS = join(ROOT, 'test-artifacts');
const browserTool = chromiumRequirement();

/**
 * Why the page cannot be built for these tests: a core that still imports Node's modules (the
 * page's Worker bundles the library for the browser). Under CI=true they must run.
 */
async function cannotBundle(): Promise<string | undefined> {
  const failed = await buildPage();
  if (failed === undefined) return undefined;
  const nodeOnly = /Could not resolve "(node:[^"]+)"[^]*?\n\s*(src\/[^:]+)/.exec(failed);
  if (nodeOnly) return `the library does not bundle for the browser yet: ${nodeOnly[2]} imports ${nodeOnly[1]}`;
  throw new Error(`npm run build:web failed:\n${failed}`);
}
const unbundled = browserTool.missing === undefined ? await cannotBundle() : undefined;
if (unbundled && underCi) throw new Error(`the browser tests must run under CI=true: ${unbundled}`);
if (unbundled) console.warn(`web-browser.test.ts: skipped: ${unbundled}`);

/**
 * The sample's chain written again with digests ending `minutes` past each hour, as CloudTrail's
 * do (a trail starts its chain when it starts logging): the logs before its first digest are removed.
 */
async function offsetChain(bucket: string, minutes: number): Promise<void> {
  const { createSigner, generateDigests, LocalDirectory, logKeyParts, sha256, toHex } = await import('./helpers/lib.js');
  rmSync(join(bucket, 'AWSLogs/111122223333/CloudTrail-Digest'), { recursive: true });
  const folder = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08';
  const from = Date.parse(tampering.trail.start) + minutes * 60_000;
  const logs: Array<{ key: string; deliveredAt: Date; sha256: string }> = [];
  for (const name of readdirSync(join(bucket, folder)).sort()) {
    const key = `${folder}/${name}`;
    const deliveredAt = logKeyParts(key)!.deliveryTime;
    if (deliveredAt.getTime() < from) rmSync(join(bucket, key));
    else logs.push({ key, deliveredAt, sha256: toHex(sha256(new Uint8Array(gunzipSync(readFileSync(join(bucket, key)))))) });
  }
  const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
  const store = new LocalDirectory(bucket, { bucket: tampering.trail.bucket });
  const trail = { accountId: '111122223333', region: 'us-east-1', trailName: 'sample-trail' };
  for await (const d of generateDigests({ trail, bucket: tampering.trail.bucket, logs, from: new Date(from), until: new Date(from + 6 * 3_600_000), signer })) {
    await store.putIfAbsent(tampering.trail.bucket, d.key, d.gzipped, d.metadata);
  }
}

const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as object;
const validateSchema = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

describe.skipIf(browserTool.skip || unbundled !== undefined)('the page in Chromium', () => {
  let browser: Browser;
  let server: { url: string; close: () => Promise<void> };

  // Under CI without Chromium, every test fails naming it (a failing beforeAll would only skip them).
  beforeEach(() => browserTool.check());
  beforeAll(async () => {
    if (browserTool.missing) return;
    server = await serveStatic(WEB_DIR);
    browser = await launch();
    mkdirSync(ARTEFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A fresh page that records every request it makes. */
  async function open(query = ''): Promise<{ page: Page; requests: string[]; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(server.url + query);
    return { page, requests, errors };
  }

  const cases = ['untouched', 'log modified', 'digest deleted', 'a log injected into an hour that has a digest'];
  it.each(cases)('%s: the page reports what the CLI reports', async (name) => {
    const c = tampering.cases.find((x) => x.name === name)!;
    const { folder, parent, cleanup } = sampleFolder(c.actions);
    const { page, requests, errors } = await open();
    try {
      await pickFolder(page, folder);
      // The folder's trail and its whole range are offered.
      expect(await page.locator('#trail option').count()).toBe(1);
      expect(await page.locator('#trail option').first().textContent()).toContain('sample-trail');
      expect(await page.locator('#start').inputValue()).toBe(tampering.trail.start);
      expect(await page.locator('#end').inputValue()).toBe(tampering.trail.end);
      await runToEnd(page);
      if (name === 'log modified' && process.env.UPDATE_README_SCREENSHOT === '1') {
        await page.locator('#result').screenshot({ path: join(ROOT, 'web', 'screenshot.png') });
      }
      const shown = await readResult(page);

      // The CLI, with the command the page offers to copy, run where the picked folder lies.
      const cli = await runCopiedCommand(shown.command, parent);
      expect(cli.stderr).toBe('');
      expect(cli.status).toBe(c.exit);
      const expected = JSON.parse(cli.stdout) as Report;

      expect(shown.ok).toBe(expected.ok);
      expect(shown.verdict).toMatch(expected.ok ? /^Valid/ : /^INVALID/);
      expect(shown.summary).toEqual(expected.summary);
      const hours = timeline(expected.findings, new Date(expected.request.startTime), new Date(expected.request.endTime));
      expect(shown.hours).toEqual(hours.map((h) => ({ hour: h.start, state: h.state })));
      expect(shown.rows).toEqual(
        expected.findings.map((f) => ({ severity: f.severity, code: f.code, object: f.object, expected: f.expected ?? '', actual: f.actual ?? '' })),
      );
      if (name !== 'untouched') expect(shown.hours.some((h) => h.state !== 'valid')).toBe(true);

      // The downloaded report: valid against the schema, the CLI's findings and counts.
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
      const report = JSON.parse(readFileSync((await download.path())!, 'utf8')) as Report;
      expect(validateSchema(report), JSON.stringify(validateSchema.errors)).toBe(true);
      expect(report.findings).toEqual(expected.findings);
      const { findings: _a, request: r1, ...tail1 } = report;
      const { findings: _b, request: r2, ...tail2 } = expected;
      expect(tail1).toEqual(tail2);
      expect({ ...r1, source: undefined }).toEqual({ ...r2, source: undefined });

      // The filters narrow the table.
      if (!expected.ok) {
        const code = expected.findings.find((f) => f.severity === 'invalid')!.code;
        await page.locator('#f-code').selectOption(code);
        const codes = await attributes(page, '#findings tbody tr', 'data-code');
        expect(codes).toEqual(expected.findings.filter((f) => f.code === code).map((f) => f.code));
        await page.locator('#f-code').selectOption('');
        await page.locator('#f-severity').selectOption('valid');
        await page.locator('#f-object').fill('CloudTrail-Digest');
        const objects = await attributes(page, '#findings tbody tr', 'data-object');
        expect(objects).toEqual(expected.findings.filter((f) => f.severity === 'valid' && f.object.includes('CloudTrail-Digest')).map((f) => f.object));
        await page.locator('#f-object').fill('');
        await page.locator('#f-severity').selectOption('');
      }

      await page.screenshot({ path: join(ARTEFACTS, `web-${name.replace(/\W+/g, '-')}.png`), fullPage: true });
      // Nothing but the page's own files was requested.
      expect(requests.length).toBeGreaterThan(0);
      expect(requests.filter((u) => !u.startsWith(server.url) && !u.startsWith('blob:'))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      cleanup();
    }
  });

  describe('a checkpoint and its public keys', () => {
    let keyDir: string;
    beforeAll(() => {
      keyDir = mkdtempSync(join(tmpdir(), 'vl-web-cp-'));
      checkpointKeyPairs(keyDir, ['log', 'witness']);
    });
    afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

    /** The sample and a checkpoint of it up to 02:00 (in the folder that holds it), picked on the page with the log's PEM key. */
    async function pickWithCheckpoint(page: Page, rewrite: boolean, rollback = false): Promise<{ parent: string; cleanup: () => void }> {
      const { folder, parent, cleanup } = sampleFolder();
      const cp = await sampleCheckpoint(folder, keyDir);
      if (rewrite) rewritePinnedDigest(join(folder, 'bucket'));
      // The newest digests deleted, the pinned one included.
      if (rollback) for (const h of [3, 4, 5, 6]) for (const f of [sampleDigest(h), `${sampleDigest(h)}.metadata.json`]) rmSync(join(folder, 'bucket', f));
      copyFileSync(join(keyDir, 'log.pub.pem'), join(parent, 'log.pub.pem'));
      await pickFolder(page, folder);
      await page.locator('#checkpoint').setInputFiles(cp);
      await page.locator('#checkpoint-keys').setInputFiles(join(parent, 'log.pub.pem'));
      await page.getByLabel('Name that log.pub.pem signs as').fill('example.com/log');
      return { parent, cleanup };
    }

    it.each([
      ['as the command writes it', false],
      ['with the pinned digest rewritten', true],
    ] as const)('%s: the page reports what validate-logs --checkpoint reports', async (_name, rewrite) => {
      const { page, errors } = await open();
      const { parent, cleanup } = await pickWithCheckpoint(page, rewrite);
      try {
        // The run starts at the pinned digest unless a start is given.
        expect(await page.locator('#start').inputValue()).toBe('');
        expect(await page.locator('#start-hint').isVisible()).toBe(true);
        expect(await unlabelledControls(page)).toEqual([]);
        await runToEnd(page);
        const shown = await readResult(page);
        expect(shown.command).toContain('--checkpoint cp.note --checkpoint-public-key example.com/log=log.pub.pem');
        expect(shown.command).not.toContain('--start-time');
        const cli = await runCopiedCommand(shown.command, parent);
        expect(cli.stderr).toBe('');
        expect(cli.status).toBe(rewrite ? 1 : 0);
        const expected = JSON.parse(cli.stdout) as Report;
        expect(expected.request.startTime).toBe('2025-01-08T03:00:00Z');
        expect(shown.ok).toBe(!rewrite);
        expect(shown.summary).toEqual(expected.summary);
        expect(shown.rows).toEqual(
          expected.findings.map((f) => ({ severity: f.severity, code: f.code, object: f.object, expected: f.expected ?? '', actual: f.actual ?? '' })),
        );
        const mismatches = shown.rows.filter((r) => r.code === 'CHECKPOINT_MISMATCH').map((r) => r.object);
        expect(mismatches).toEqual(rewrite ? [`s3://${tampering.trail.bucket}/${sampleDigest(3)}`] : []);
        const hours = timeline(expected.findings, new Date(expected.request.startTime), new Date(expected.request.endTime));
        expect(shown.hours).toEqual(hours.map((h) => ({ hour: h.start, state: h.state })));
        if (rewrite) {
          // Every digest after the pin is signed and linked, but none extends what was checked:
          // no hour is green, the legend says why, and the summary names the finding beside the counts.
          expect(shown.hours.length).toBe(3);
          expect(shown.hours.every((h) => h.state === 'rewritten' || h.state === 'invalid')).toBe(true);
          expect(shown.hours.some((h) => h.state === 'rewritten')).toBe(true);
          expect(await page.locator('#legend li').allTextContents()).toContainEqual(expect.stringMatching(/ rewritten: the chain does not lead back to the digest a checkpoint pins/));
          expect(await page.locator('#summary [data-chain=CHECKPOINT_MISMATCH]').textContent()).toMatch(/^1 CHECKPOINT_MISMATCH INVALID: /);
        } else {
          expect(shown.hours.map((h) => h.state)).toEqual(['valid', 'valid', 'valid']);
          expect(await page.locator('#summary [data-chain]').count()).toBe(0);
        }
        const info = await page.locator('#checkpoint-info').textContent();
        expect(info).toContain(`From checkpoint cp.note, signed by example.com/log+`);
        expect(info).toContain(sampleDigest(3));
        expect(info).toMatch(rewrite ? /does NOT lead back/ : /leads back to it/);
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
        const report = JSON.parse(readFileSync((await download.path())!, 'utf8')) as Report;
        expect(validateSchema(report), JSON.stringify(validateSchema.errors)).toBe(true);
        expect(report.findings).toEqual(expected.findings);
        expect({ ...report.request, source: undefined }).toEqual({ ...expected.request, source: undefined });
        if (rewrite) await page.screenshot({ path: join(ARTEFACTS, 'web-checkpoint-mismatch.png'), fullPage: true });
        expect(errors).toEqual([]);
      } finally {
        await page.close();
        cleanup();
      }
    });

    it('the newest digests deleted after the checkpoint: INVALID (not "nothing to validate"), a deleted tail on every hour, the rollback named', async () => {
      const { page, errors } = await open();
      const { parent, cleanup } = await pickWithCheckpoint(page, false, true);
      try {
        await runToEnd(page);
        const shown = await readResult(page);
        const cli = await runCopiedCommand(shown.command, parent);
        expect(cli.status).toBe(1);
        const expected = JSON.parse(cli.stdout) as Report;
        expect(expected.findings.map((f) => f.code)).toContain('CHECKPOINT_ROLLBACK');
        expect(shown.ok).toBe(false);
        expect(shown.verdict).toMatch(/^INVALID: /);
        // The run asks whether the chain reaches the pinned digest (03:00): its hour is a deleted tail.
        expect(shown.hours).toEqual([{ hour: '2025-01-08T03:00:00Z', state: 'tail' }]);
        expect(shown.hours).toEqual(timeline(expected.findings, new Date(expected.request.startTime), new Date(expected.request.endTime)).map((h) => ({ hour: h.start, state: h.state })));
        expect(await page.locator('#legend li').allTextContents()).toContainEqual(expect.stringMatching(/ deleted tail: /));
        expect(await page.locator('#summary [data-chain=CHECKPOINT_ROLLBACK]').textContent()).toMatch(/^1 CHECKPOINT_ROLLBACK INVALID: /);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
        cleanup();
      }
    });

    it('refuses a checkpoint a required key did not sign, naming the key, and runs nothing', async () => {
      const { page, errors } = await open();
      const { cleanup } = await pickWithCheckpoint(page, false);
      try {
        // The witness's key, typed as note key text: it did not sign the checkpoint.
        const witness = formatNoteVerifierKey(noteVerifierKeyFromPem(readFileSync(join(keyDir, 'witness.pub.pem'), 'utf8'), 'example.com/witness'));
        await page.locator('#checkpoint-key-text').fill(witness);
        await runStopped(page);
        const error = page.locator('#error');
        expect(await error.isVisible()).toBe(true);
        expect(await error.textContent()).toMatch(/the checkpoint is refused: cp\.note is not signed by key example\.com\/witness\+[0-9a-f]{8}/);
        expect(await page.locator('#result').isHidden()).toBe(true);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
        cleanup();
      }
    });
  });

  // Every tampered copy, its logs hashed on 3 Workers the run starts (or on none): the report
  // the page offers is the CLI's, finding for finding.
  it.each([0, 3])('with %i hashing Workers: the report of every tampered copy is the CLI\'s', async (workers) => {
    for (const c of tampering.cases) {
      const { folder, parent, cleanup } = sampleFolder(c.actions);
      const { page, errors } = await open(`?workers=${workers}`);
      try {
        await pickFolder(page, folder);
        await runToEnd(page);
        const shown = await readResult(page);
        const cli = await runCopiedCommand(shown.command, parent);
        expect(cli.status, c.name).toBe(c.exit);
        const expected = JSON.parse(cli.stdout) as Report;
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
        const report = JSON.parse(readFileSync((await download.path())!, 'utf8')) as Report;
        // The one platform difference: why a gzip stream is corrupt is said in DecompressionStream's words, not zlib's.
        const gzipWords = (f: Report['findings'][number]): Report['findings'][number] => ({ ...f, message: f.message.replace(/invalid gzip: .*/, 'invalid gzip: …') });
        expect(report.findings.map(gzipWords), c.name).toEqual(expected.findings.map(gzipWords));
        expect(report.summary, c.name).toEqual(expected.summary);
        expect(errors, c.name).toEqual([]);
      } finally {
        await page.close();
        cleanup();
      }
    }
  }, 300_000);

  it('asks for as many hashing Workers as navigator.hardwareConcurrency says', async () => {
    for (const cores of [1, 3, 6]) {
      const context = await browser.newContext();
      // The run's request, as the page posts it to its Worker.
      await context.addInitScript(`(() => {
        Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => ${cores} });
        const post = Worker.prototype.postMessage;
        Worker.prototype.postMessage = function (m, ...rest) { if (m && m.type === 'run') globalThis.askedWorkers = m.workers; return post.call(this, m, ...rest); };
      })()`);
      const page = await context.newPage();
      const { folder, cleanup } = sampleFolder([]);
      try {
        await page.goto(server.url);
        await pickFolder(page, folder);
        await runToEnd(page);
        expect(await page.evaluate('globalThis.askedWorkers')).toBe(cores);
        expect((await readResult(page)).ok).toBe(true);
      } finally {
        await context.close();
        cleanup();
      }
    }
  }, 120_000);

  it('a trail whose digests end at :17 past the hour: no grey first hour, every hour valid', async () => {
    const { folder, parent, cleanup } = sampleFolder();
    const bucket = join(folder, 'bucket');
    try {
      await offsetChain(bucket, 17);
      const { page, errors } = await open();
      try {
        await pickFolder(page, folder);
        expect(await page.locator('#start').inputValue()).toBe('2025-01-08T00:00:00Z');
        await runToEnd(page);
        const shown = await readResult(page);
        const cli = await runCopiedCommand(shown.command, parent);
        expect([cli.status, cli.stderr]).toEqual([0, '']);
        expect(shown.ok).toBe(true);
        expect(shown.hours.map((h) => h.state)).toEqual(Array(7).fill('valid'));
        expect(shown.hours[0]!.hour).toBe('2025-01-08T00:00:00Z');
        expect(await page.locator('#legend li').allTextContents()).toEqual([expect.stringMatching(/^ 7 valid: /)]);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    } finally {
      cleanup();
    }
  });

  it('is used with the keyboard alone, and every control has a label', async () => {
    const { folder, cleanup } = sampleFolder();
    const { page, errors } = await open();
    try {
      await pickFolder(page, folder);
      expect(await unlabelledControls(page)).toEqual([]);
      // Tab to the Validate button and press Enter: the run starts and ends.
      await page.locator('#bucket').focus();
      await page.keyboard.press('Tab');
      expect(await activeId(page)).toBe('run');
      await page.keyboard.press('Enter');
      await page.locator('body[data-state=done]').waitFor({ timeout: 60_000 });
      // The verdict gets the focus, so a screen reader reads it first.
      expect(await activeId(page)).toBe('verdict');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      cleanup();
    }
  });

  describe('a larger folder', () => {
    let big: Awaited<ReturnType<typeof corpus>>;
    beforeAll(async () => {
      big = await corpus('web', 256, 1 << 20, 16); // 256 MiB of logs over 16 hours: a run of several seconds on its Workers
    }, 300_000);

    it('stays responsive: input events are handled while it validates, and the run can be cancelled', async () => {
      const { page, errors } = await open();
      try {
        // The corpus folder: the bucket copy and its public-keys.json beside it.
        await pickFolder(page, join(big.dir, '..'));
        await watchResponsiveness(page, 'bucket');
        await page.locator('#run').click();
        await page.locator('#status', { hasText: 'MB read' }).waitFor({ timeout: 30_000 });
        await page.locator('#bucket').focus();
        const trips: number[] = [];
        // Up to 20 presses, each while the run is still under way (its Workers may end it sooner).
        for (let i = 0; i < 20 && (await pageState(page)) === 'running'; i++) {
          trips.push(await pressTimed(page, 'x'));
          await page.waitForTimeout(50);
        }
        expect(trips.length).toBeGreaterThanOrEqual(5);
        const seen = await responsiveness(page);
        // Every key press was handled during the run, promptly: the page's thread is not the one
        // hashing (bounds generous for a loaded machine; bench/web.ts reports the numbers).
        expect(seen.handled).toBeGreaterThanOrEqual(trips.length - 1);
        expect(await page.locator('#bucket').inputValue()).toBe('x'.repeat(trips.length));
        expect(median(trips)).toBeLessThan(100);
        expect(median(seen.lateMs)).toBeLessThan(50);
        expect(Number(await page.locator('#bar').getAttribute('value'))).toBeGreaterThan(0);

        // Cancel a run while it hashes. The run above may end between a look at its state and the
        // click (the whole folder takes under 2 s on a quiet machine), so a run that ended first is
        // started again, up to 5 times: one of them must be cancelled.
        let status: string | null = null;
        for (let tries = 0; tries < 5 && !/Cancelled/.test(status ?? ''); tries++) {
          if ((await pageState(page)) !== 'running') {
            await page.locator('#bucket').fill('');
            await page.locator('#run').click();
            await page.locator('#status', { hasText: 'MB read' }).waitFor({ timeout: 30_000 });
          }
          await page.locator('#cancel').click({ timeout: 5_000 }).catch(() => undefined);
          status = await page.locator('#status').textContent();
        }
        expect(status).toMatch(/Cancelled/);
        expect(await page.locator('#run').isEnabled()).toBe(true);
        expect(await page.locator('#result').isHidden()).toBe(true);

        // Run again, to the end: the whole folder is valid.
        await page.locator('#bucket').fill('');
        await runToEnd(page, 240_000);
        const shown = await readResult(page);
        expect(shown.ok, `${shown.verdict}\n${JSON.stringify(shown.rows.filter((r) => r.severity !== 'valid').slice(0, 5))}`).toBe(true);
        expect(shown.summary.logs).toEqual({ valid: big.logs.length, invalid: 0 });
        writeFileSync(join(ARTEFACTS, 'web-larger-folder.txt'), `${await page.locator('#status').textContent()}\n`);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    }, 300_000);
  });
});
