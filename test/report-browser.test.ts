// The auditor's HTML report as a reader gets it: written by the built command (`--report`, as a
// user runs it), opened in headless Chromium from a file:// URL, printed to PDF (A4 and Letter)
// and read back with pdftotext (Debian's poppler-utils). Four states: valid (with a signed,
// time-stamped checkpoint), a modified log, a deleted tail, a history rewritten after a
// checkpoint; and a period report from a watcher's history. For each: no request leaves the file, no console or page error, a screenshot kept
// in test-artifacts/report/ (git-ignored), the PDF's text holds the verdict, the trail and every
// control; headings never skip a level, the figure has a text equivalent, and every status
// colour as rendered has a contrast of at least 4.5:1. And the page's "Download report (HTML)"
// gives the same document as `validate-logs report --from` its JSON report.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serveStatic } from '../scripts/serve-web.mjs';
import { EN } from '../src/report/strings.js';
import { VALIDATE, node, sampleArgs } from './helpers/cli.js';
import { WEB_DIR, buildPage, launch, pickFolder, runToEnd, sampleFolder } from './helpers/page.js';
import { writeHistory } from './helpers/period.js';
import { ROOT, applyActions, copySample, tampering } from './helpers/tamper.js';
import { chromiumRequirement, requireTool } from './helpers/tools.js';
import { startTsa, type Tsa } from './helpers/tsa.js';

/** What the functions run in the page use of the DOM (this file is type-checked without the DOM library). */
interface DomElement {
  tagName: string;
  className: string;
  textContent: string | null;
  parentElement: DomElement | null;
  nextElementSibling: DomElement | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
}
declare const document: { querySelectorAll(selector: string): Iterable<DomElement>; getElementById(id: string): DomElement | null };
declare function getComputedStyle(e: DomElement): { color: string; backgroundColor: string };

/** Screenshots and PDFs of each state (git-ignored). */
const ARTEFACTS = join(ROOT, 'test-artifacts', 'report');
const browserTool = chromiumRequirement();
const pdfTool = requireTool('pdftotext', spawnSync('pdftotext', ['-v']).error ? 'no pdftotext on PATH' : undefined, 'apt-get install poppler-utils (Debian)');

const t = tampering.trail;
const FOLDER = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08';
const digest = (hour: number): string => `${FOLDER}/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T0${hour}0000Z.json.gz`;
const LOGS = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08';
const CONTROLS = ['PCI DSS 4.0.1 10.3.4', 'PCI DSS 4.0.1 10.5.1', 'NIST SP 800-53 AU-9(3)', 'NIST SP 800-53 AU-10', 'SOC 2 CC7.2', 'ISO/IEC 27001:2022 A.8.15'];

/** WCAG 2 contrast ratio of two `rgb(r, g, b)` colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string): number => {
    const [r, g, bl] = (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((x) => {
      const v = Number(x) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

describe.skipIf(browserTool.skip || pdfTool.skip)('the HTML report in Chromium', () => {
  let browser: Browser;
  let work: string;
  let tsa: Tsa;
  const cleanups: Array<() => void> = [];

  beforeEach(() => {
    browserTool.check();
    pdfTool.check();
  });
  beforeAll(async () => {
    if (browserTool.missing || pdfTool.missing) return;
    browser = await launch();
    work = mkdtempSync(join(tmpdir(), 'vl-report-browser-'));
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(work, 'log.pem')]);
    execFileSync('openssl', ['pkey', '-in', join(work, 'log.pem'), '-pubout', '-out', join(work, 'log.pub.pem')]);
    tsa = await startTsa();
    mkdirSync(ARTEFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await tsa?.close();
    while (cleanups.length) cleanups.pop()!();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function bucket(): string {
    const c = copySample();
    cleanups.push(c.cleanup);
    return c.dir;
  }
  /** A state made by one of the tampering vectors' cases: an INVALID run. */
  function tampered(name: string, vector: string): { name: string; verdict: string; make: (html: string) => Promise<void> } {
    return {
      name,
      verdict: 'INVALID',
      make: async (html) => {
        const dir = bucket();
        applyActions(dir, tampering.cases.find((c) => c.name === vector)!.actions);
        expect((await node(VALIDATE, sampleArgs(dir, ['--report', html]))).status).toBe(1);
      },
    };
  }
  const signing = (out: string): string[] => ['--checkpoint-out', out, '--checkpoint-key', join(work, 'log.pem'), '--checkpoint-name', 'example.com/log'];

  /** Each state: how to make its report (the built command, as a user runs it), what its verdict says, whether it names the trail (a history without a state beside it does not). */
  const STATES: Array<{ name: string; verdict: string; trail?: false; make: (html: string) => Promise<void> }> = [
    {
      name: 'valid',
      verdict: 'VALID',
      make: async (html) => {
        const dir = bucket();
        const r = await node(VALIDATE, sampleArgs(dir, ['--report', html, ...signing(join(work, 'valid.note')), '--timestamp-url', tsa.url, '--tsa-cert', join(tsa.dir, 'ca.pem')]));
        expect(r.status, r.stderr).toBe(0);
      },
    },
    tampered('modified-log', 'log modified'),
    tampered('deleted-tail', 'the newest three digests deleted while their logs remain'),
    {
      name: 'checkpoint-mismatch',
      verdict: 'INVALID',
      make: async (html) => {
        const dir = bucket();
        const cp = join(work, 'mismatch.note');
        const first = await node(VALIDATE, sampleArgs(dir, ['--end-time', '2025-01-08T02:00:00Z', ...signing(cp)]));
        expect(first.status, first.stderr).toBe(0);
        const log = execFileSync('ls', [join(dir, LOGS)], { encoding: 'utf8' }).split('\n').find((n) => n.includes('20250108T02'))!;
        applyActions(dir, [
          { op: 'edit-log', key: `${LOGS}/${log}`, from: 'eventTime', to: 'eventTimE' },
          { op: 'resign-digest', key: digest(3) },
        ]);
        const args = ['--trail-arn', t.trailArn, '--local-dir', dir, '--s3-bucket', t.bucket, '--public-keys', join(ROOT, t.publicKeys), '--end-time', t.end];
        const r = await node(VALIDATE, [...args, '--checkpoint', cp, '--checkpoint-public-key', `example.com/log=${join(work, 'log.pub.pem')}`, '--report', html]);
        expect(r.status, r.stderr).toBe(1);
      },
    },
  ];

  STATES.push({
    name: 'period',
    verdict: 'INVALID',
    trail: false,
    make: async (html) => {
      const state = join(work, 'watch-state');
      await writeHistory(state);
      const r = await node(VALIDATE, ['report', '--history', state, '--from', '2026-12-01T00:00:00Z', '--to', '2026-12-01T09:00:00Z', '--out', html]);
      expect(r.status, r.stderr).toBe(0);
    },
  });

  for (const state of STATES) {
    it(`${state.name}: self-contained, no error, screenshot, A4 and Letter PDFs with the verdict, the trail and every control; accessible basics`, async () => {
      const html = join(work, `${state.name}.html`);
      await state.make(html);
      const context = await browser.newContext({ viewport: { width: 1000, height: 1400 } });
      const page = await context.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(e.message));
      const url = pathToFileURL(html).href;
      await page.goto(url, { waitUntil: 'load' });
      await page.screenshot({ path: join(ARTEFACTS, `${state.name}.png`), fullPage: true });

      // Headings in order: h1 first, never a level skipped.
      const levels = await page.evaluate(() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => Number(h.tagName[1])));
      expect(levels[0]).toBe(1);
      for (let i = 1; i < levels.length; i++) expect(levels[i]! - levels[i - 1]!, `heading ${i}`).toBeLessThanOrEqual(1);
      // The figure: an image with a caption, and a table with the same hours as text.
      const figures = await page.evaluate(() =>
        [...document.querySelectorAll('figure')].map((f) => {
          const svg = f.querySelector('svg');
          const label = svg?.getAttribute('aria-labelledby');
          const next = f.nextElementSibling;
          return { role: svg?.getAttribute('role'), caption: label ? (document.getElementById(label)?.textContent ?? '') : '', tables: [next, next?.nextElementSibling].filter((x) => x?.tagName === 'TABLE').length };
        }),
      );
      expect(figures.length).toBe(state.name === 'period' ? 2 : 1);
      for (const f of figures) {
        expect(f.role).toBe('img');
        expect(f.caption).toMatch(/one cell per hour/);
        expect(f.tables).toBe(2); // the legend with counts, and the hours as text
      }
      // Every status colour as rendered: text on its background at least 4.5:1.
      const colours = await page.evaluate(() =>
        [...document.querySelectorAll('.badge, .verdict, .sev-invalid, .sev-notice')].map((el) => {
          const s = getComputedStyle(el);
          let bg = s.backgroundColor;
          for (let p = el.parentElement; bg === 'rgba(0, 0, 0, 0)' && p; p = p.parentElement) bg = getComputedStyle(p).backgroundColor;
          return { cls: el.className, fg: s.color, bg: bg === 'rgba(0, 0, 0, 0)' ? 'rgb(255, 255, 255)' : bg };
        }),
      );
      expect(colours.length).toBeGreaterThan(3);
      for (const c of colours) expect(contrast(c.fg, c.bg), `${c.cls}: ${c.fg} on ${c.bg}`).toBeGreaterThanOrEqual(4.5);

      // Print: A4 and Letter, the verdict and the scope on page one.
      for (const format of ['A4', 'Letter'] as const) {
        await page.emulateMedia({ media: 'print' });
        const pdf = join(ARTEFACTS, `${state.name}-${format}.pdf`);
        writeFileSync(pdf, await page.pdf({ format, printBackground: true }));
        const text = execFileSync('pdftotext', [pdf, '-'], { encoding: 'utf8' });
        const flat = text.replace(/\s+/g, ' ');
        const first = execFileSync('pdftotext', ['-f', '1', '-l', '1', pdf, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
        expect(first).toContain(state.verdict);
        expect(first).toContain(EN.headings.scope);
        if (state.trail !== false) expect(first).toContain(t.trailArn);
        for (const id of CONTROLS) expect(flat, `${format}: ${id}`).toContain(id);
        expect(flat).toContain(EN.headings.integrity);
      }
      expect(requests).toEqual([url]);
      expect(errors).toEqual([]);
      await context.close();
    });
  }

  it('the page\'s "Download report (HTML)" is the document validate-logs report --from makes of its JSON report', async () => {
    const built = await buildPage();
    expect(built).toBeUndefined();
    const server = await serveStatic(WEB_DIR);
    const sample = sampleFolder(tampering.cases.find((c) => c.name === 'log modified')!.actions);
    cleanups.push(sample.cleanup);
    const context = await browser.newContext({ acceptDownloads: true });
    try {
      const page = await context.newPage();
      await page.goto(server.url);
      await pickFolder(page, sample.folder);
      await runToEnd(page);
      const [json] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
      const [html] = await Promise.all([page.waitForEvent('download'), page.locator('#download-html').click()]);
      expect(html.suggestedFilename()).toMatch(/\.html$/);
      const saved = join(work, 'page.json');
      writeFileSync(saved, readFileSync((await json.path())!));
      const out = join(work, 'page-cli.html');
      const r = await node(VALIDATE, ['report', '--from', saved, '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      const fromPage = readFileSync((await html.path())!, 'utf8');
      expect(fromPage).toBe(readFileSync(out, 'utf8'));
      expect(fromPage).toContain('<strong class="word">INVALID</strong>');
    } finally {
      await context.close();
      await server.close();
    }
  });
});
