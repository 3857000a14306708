// The portable core in a real browser: the main entry bundled for browsers loads in headless
// Chromium, and the Web platform there gives the findings the Node CLI gives, on the sample
// trail, on every tampering case, and on the real AWS digest and keys.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as lib from './helpers/lib.js';
import { awsVectors, type AwsSeen, type Records, type Seen, type TrailRequest } from './browser/conformance.js';
import { browserBundle, openBrowserPage, type BrowserPage } from './helpers/browser.js';
import { VALIDATE, node, sampleArgs } from './helpers/cli.js';
import { MemoryBucket } from './helpers/memory.js';
import { ROOT, applyActions, copySample, tampering } from './helpers/tamper.js';
import { chromiumRequirement } from './helpers/tools.js';

type Conformance = typeof import('./browser/conformance.js');

const browserTool = chromiumRequirement();

const t = tampering.trail;
const request: TrailRequest = { trailArn: t.trailArn, start: t.start, end: t.end, keysJson: readFileSync(join(ROOT, t.publicKeys), 'utf8') };

function records(dir: string): Records {
  const m = MemoryBucket.fromDir(dir);
  return { bucket: t.bucket, objects: m.records().map((r) => ({ key: r.key, base64: Buffer.from(r.bytes).toString('base64'), ...(r.metadata && { metadata: r.metadata }) })) };
}

/** The Node CLI's findings (`--output json`) on a local copy. */
async function cliFindings(dir: string): Promise<Seen[]> {
  const r = await node(VALIDATE, sampleArgs(dir, ['--output', 'json']));
  expect(r.status, r.stderr).not.toBe(2);
  const report = JSON.parse(r.stdout) as { findings: Array<Seen & Record<string, unknown>> };
  return report.findings.map((f) => ({
    code: f.code,
    object: f.object,
    severity: f.severity,
    ...(f.expected !== undefined && { expected: f.expected }),
    ...(f.actual !== undefined && { actual: f.actual }),
  }));
}

describe('browser bundle', () => {
  it('bundles the main entry for browsers, with the Web platform and no node: module', async () => {
    const { code, metafile } = await browserBundle();
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.some((i) => i.endsWith('dist/platform/web.js'))).toBe(true);
    // The parallel layer resolves to its Web side (no pool): nothing of the Node pool comes along.
    expect(inputs.some((i) => i.endsWith('dist/parallel/web.js'))).toBe(true);
    expect(inputs.filter((i) => i.includes('platform/node') || i.includes('platform/threads') || i.includes('parallel/node') || i.includes('parallel/pool') || i.startsWith('node:'))).toEqual([]);
    for (const out of Object.values(metafile.outputs)) expect(out.imports.filter((i) => i.external)).toEqual([]);
    expect(code).not.toMatch(/["']node:[a-z_/]+["']/);
  });
});

describe.skipIf(browserTool.skip)('conformance in Chromium', () => {
  let page: BrowserPage;
  const inPage = (r: Records): Promise<Seen[]> =>
    page.run(async (l, c, a: { request: TrailRequest; records: Records }) => (c as Conformance).findings(l as typeof lib, a.request, a.records), { request, records: r });

  // Under CI without Chromium, every test fails naming it (a failing beforeAll would only skip them).
  beforeEach(() => browserTool.check());
  beforeAll(async () => {
    if (!browserTool.missing) page = await openBrowserPage();
  });
  afterAll(async () => {
    await page?.close();
  });

  it('the page runs the bundle on the Web platform', async () => {
    const name = await page.run(async (l) => (l as typeof lib).webPlatform.name, null);
    expect(name).toBe('web');
  });

  it('the built-in sample: the same findings as the CLI', async () => {
    const want = await cliFindings(join(ROOT, t.localDir));
    expect(want.filter((f) => f.code === 'DIGEST_VALID').length).toBeGreaterThan(0);
    expect(await inPage(records(join(ROOT, t.localDir)))).toEqual(want);
  });

  it.each(tampering.cases)('$name: the same findings as the CLI', async (c) => {
    const { dir, cleanup } = copySample();
    try {
      applyActions(dir, c.actions);
      const want = await cliFindings(dir);
      expect(want.filter((f) => f.severity === 'invalid').map((f) => f.object)).toEqual(c.findings.map((f) => `s3://${t.bucket}/${f.key}`));
      expect(await inPage(records(dir))).toEqual(want);
    } finally {
      cleanup();
    }
  });

  it('data after a gzip stream that repeats its trailer is refused (DecompressionStream refuses junk)', async () => {
    const { gzipSync } = await import('node:zlib');
    const gz = gzipSync('{"Records":[]}');
    const crafted = Buffer.concat([gz, Buffer.from('hidden'), gz.subarray(gz.length - 8)]);
    const code = await page.run(async (l, _c, b64: string) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      try {
        await (l as typeof lib).hashStream([bytes], { gzip: true });
        return 'accepted';
      } catch (e) {
        return (e as { code?: string }).code ?? String(e);
      }
    }, crafted.toString('base64'));
    expect(code).toBe('GZIP_INVALID');
  });

  it('the real AWS digest and keys: the same as on Node', async () => {
    const digestText = (JSON.parse(readFileSync(join(ROOT, 'vectors', 'aws-digest.json'), 'utf8')) as { text: string; sha256: string }).text;
    const keyDoc = JSON.parse(readFileSync(join(ROOT, 'vectors', 'aws-public-keys.json'), 'utf8')) as { keys: Array<Record<string, unknown>> };
    const keysJson = JSON.stringify({ PublicKeyList: keyDoc.keys.map(({ format: _f, modulusBits: _m, ...k }) => k) });
    const onNode: AwsSeen = await awsVectors(lib, digestText, keysJson, lib.nodePlatform);
    expect(onNode.sha256).toBe((JSON.parse(readFileSync(join(ROOT, 'vectors', 'aws-digest.json'), 'utf8')) as { sha256: string }).sha256);
    expect(onNode.fields).toMatchObject({ fingerprint: 'be2f0b997552f44942837300ba1aba9d', end: '2023-10-15T23:04:04.000Z', logFiles: 5 });
    expect(onNode.keys.map((k) => k.format)).toEqual(['pkcs1', 'pkcs1', 'spki', 'pkcs1']);
    expect(onNode.wrongSignature).toEqual([false, false, false, false]);
    const inBrowser = await page.run(async (l, c, a: { digestText: string; keysJson: string }) => (c as Conformance).awsVectors(l as typeof lib, a.digestText, a.keysJson), { digestText, keysJson });
    expect(inBrowser).toEqual(onNode);
  });
});
