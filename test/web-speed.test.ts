// The page's hashing Workers take a fast path for a whole gzip log: the header checked by the
// package's strict parser, the rest inflated and checked by zlib in WebAssembly into room for
// exactly the length the trailer states (or, where WebAssembly may not run, by the browser's own
// gzip reader, DecompressionStream('gzip')), the content hashed by WebCrypto in one call; on any
// failure the strict path reads the same bytes again. These tests hold it to the strict path's verdicts and
// messages, byte for byte, on hostile gzips in Chromium, and check that it is off where the
// runtime's gzip reader is not strict (Node 20's lets bytes after the member through).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as lib from './helpers/lib.js';
import { launchChromium } from './helpers/browser.js';
import { ROOT } from './helpers/tamper.js';
import { chromiumRequirement } from './helpers/tools.js';
import { runWebHashJob, type WebHashAnswer } from '../src/parallel/web.js';
import { inflateGzipNative } from '../src/platform/web.js';

const browserTool = chromiumRequirement();

/** Log-like content: JSON records, `n` of them (about 330 bytes each). */
function content(n: number): Buffer {
  const records = Array.from({ length: n }, (_, i) => `{"eventVersion":"1.08","eventTime":"2025-01-08T00:${String(i % 60).padStart(2, '0')}:00Z","eventName":"GetObject","requestID":"${(i * 2654435761) % 2 ** 32}","sourceIPAddress":"203.0.113.${i % 256}","userAgent":"aws-sdk-java/2.20.${i % 100} Linux/5.10"}`);
  return Buffer.from(`{"Records":[${records.join(',')}]}`);
}

const crc32 = (b: Uint8Array): number => lib.webPlatform.crc32(b);

/** A gzip member with the given header flags' fields, around the deflate data and trailer of `gz`. */
function withHeader(gz: Buffer, flags: number, fields: Buffer, headerCrc?: number): Buffer {
  const fixed = Buffer.from([0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3]);
  let header = Buffer.concat([fixed, fields]);
  if (flags & 0x02) {
    const c = headerCrc ?? crc32(header) & 0xffff;
    header = Buffer.concat([header, Buffer.from([c & 0xff, c >>> 8])]);
  }
  return Buffer.concat([header, gz.subarray(10)]);
}

/** `gz` with the length its trailer states moved by `d` (its CRC-32 still right). */
const statedLength = (b: Buffer, d: number): Buffer => {
  const c = Buffer.from(b);
  c.writeUInt32LE((c.readUInt32LE(c.length - 4) + d) >>> 0, c.length - 4);
  return c;
};

const flip = (b: Buffer, at: number): Buffer => {
  const c = Buffer.from(b);
  c[at]! ^= 0x5a;
  return c;
};

const small = content(40); // one output chunk
const large = content(1500); // about 500 KB: many output chunks
const gzSmall = gzipSync(small);
const gz = gzipSync(large);
const n = gz.length;

/** Each case: its bytes, the limit on the content (maxBytes), and the bound of the one-call hash. */
const cases: Array<{ name: string; bytes: Buffer; maxBytes?: number; bound?: number }> = [
  { name: 'a valid log', bytes: gz },
  { name: 'a valid small log', bytes: gzSmall },
  { name: 'empty content', bytes: gzipSync(Buffer.alloc(0)) },
  { name: 'FHCRC, FEXTRA, FNAME and FCOMMENT, all valid', bytes: withHeader(gz, 0x02 | 0x04 | 0x08 | 0x10, Buffer.concat([Buffer.from([3, 0, 1, 2, 3]), Buffer.from('name\0comment\0')])) },
  { name: 'a wrong header CRC', bytes: withHeader(gz, 0x02, Buffer.alloc(0), 0x1234) },
  { name: 'reserved header flags', bytes: withHeader(gz, 0x20, Buffer.alloc(0)) },
  { name: 'another compression method', bytes: Buffer.concat([Buffer.from([0x1f, 0x8b, 7]), gz.subarray(3)]) },
  { name: 'bad magic bytes', bytes: flip(gz, 1) },
  { name: 'a second member', bytes: Buffer.concat([gz, gzSmall]) },
  { name: 'a zero byte after the member', bytes: Buffer.concat([gz, Buffer.from([0])]) },
  { name: 'junk after the member', bytes: Buffer.concat([gz, Buffer.from('hidden')]) },
  { name: 'a wrong CRC-32', bytes: flip(gz, n - 8) },
  { name: 'a wrong length (low byte)', bytes: flip(gz, n - 4) },
  { name: 'a wrong length (high byte)', bytes: flip(gz, n - 1) },
  { name: 'truncated in the trailer', bytes: gz.subarray(0, n - 3) },
  { name: 'truncated in the deflate data', bytes: gz.subarray(0, n >> 1) },
  { name: 'truncated in the header', bytes: gz.subarray(0, 6) },
  { name: 'an empty object', bytes: Buffer.alloc(0) },
  { name: 'corrupt deflate data', bytes: flip(gz, n >> 1) },
  { name: 'content exactly at the size limit', bytes: gz, maxBytes: large.length },
  { name: 'content one byte past the size limit', bytes: gz, maxBytes: large.length - 1 },
  { name: 'a bomb far past the size limit', bytes: gzipSync(Buffer.alloc(48 << 20)), maxBytes: 1 << 20 },
  { name: 'a bomb whose stated length lies', bytes: Buffer.concat([gzipSync(Buffer.alloc(48 << 20)).subarray(0, -4), Buffer.from([0x10, 0, 0, 0])]), maxBytes: 1 << 20 },
  { name: 'content past the one-call bound (hashed by the streaming hash)', bytes: gz, bound: 64 * 1024 },
  // The WebAssembly reader's room is exactly the stated length: a valid log fills it exactly.
  { name: 'a stated length one byte short (the room one byte too small)', bytes: statedLength(gz, -1) },
  { name: 'a stated length one byte long', bytes: statedLength(gz, 1) },
  { name: 'a stated length of zero for content', bytes: statedLength(gz, -large.length) },
  { name: 'a stated length past the size limit for content under it', bytes: statedLength(gz, 1 << 20), maxBytes: large.length + 1000 },
];

/** What an answer says, comparable across runtimes. */
type Said = { sha256: string; size: number; storedSize: number } | { code: string; message: string } | null;
const said = (a: WebHashAnswer): Said => (a === null ? null : 'code' in a ? { code: a.code, message: a.message } : { sha256: a.sha256, size: a.size, storedSize: a.storedSize });

/** The command's verdict on these bytes: the strict gunzip on the Node platform. */
async function onNode(bytes: Buffer, what: string, maxBytes?: number): Promise<Said> {
  try {
    const r = await lib.hashStream([new Uint8Array(bytes)], { gzip: true, what, platform: lib.nodePlatform, ...(maxBytes !== undefined && { maxBytes }) });
    return { sha256: r.sha256, size: r.size, storedSize: bytes.length };
  } catch (e) {
    return { code: (e as lib.ValidateLogsError).code, message: (e as Error).message };
  }
}

describe('the fast path where the gzip reader is not strict', () => {
  it.each([
    ['a zero byte after the member', Buffer.concat([gz, Buffer.from([0])])],
    ['a second member', Buffer.concat([gz, gzSmall])],
  ])('%s: refused, as the strict path on this runtime refuses it, whatever its DecompressionStream does', async (_name, bytes) => {
    const [answer] = await runWebHashJob({ id: 0, files: [{ file: new Blob([bytes]), what: 's3://b/k' }], request: { gzip: true }, bound: 32 << 20 }, lib.webPlatform);
    const strict = await lib.hashStream([new Uint8Array(bytes)], { gzip: true, what: 's3://b/k', platform: lib.webPlatform }).then(
      () => 'accepted',
      (e: Error) => e.message,
    );
    expect(said(answer!)).toEqual({ code: 'GZIP_INVALID', message: strict });
  });

  it('the runtime\'s reader is used only when it refuses bytes after the member and a second member', async () => {
    const lax = await new Blob([Buffer.concat([gzSmall, Buffer.from([0])])])
      .stream()
      .pipeThrough(new DecompressionStream('gzip'))
      .pipeTo(new WritableStream())
      .then(() => true, () => false);
    const parts = await inflateGzipNative(new Uint8Array(gzSmall), 1 << 20);
    if (lax) expect(parts).toBeUndefined();
    else expect(Buffer.concat(parts!)).toEqual(small);
  });
});

describe.skipIf(browserTool.skip)('the fast path in Chromium', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;

  beforeEach(() => browserTool.check());
  beforeAll(async () => {
    if (browserTool.missing) return;
    // The built modules, as the page's hashing Worker bundles them (the browser's side of #platform).
    const bundle = await build({
      stdin: {
        contents: `export { runWebHashJob } from './dist/parallel/web.js'; export { inflateGzipNative, webPlatform } from './dist/platform/web.js'; export { wasmGunzip } from './dist/platform/zlib-wasm.js'; export { hashStream } from './dist/index.js';`,
        resolveDir: ROOT,
        loader: 'js',
      },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const code = bundle.outputFiles[0]!.text;
    server = createServer((req, res) => {
      if (req.url === '/m.js' || req.url?.startsWith('/m.js?')) res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><meta charset="utf-8"><title>fast path</title>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.evaluate("(async () => { globalThis.m = await import('/m.js'); })()");
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  /** In the page: the hashing Worker's answer (fast path first) and the strict path's (hashStream on the Web platform). */
  const inPage = (bytes: Buffer, what: string, maxBytes?: number, bound = 32 << 20): Promise<{ worker: Said; strict: Said }> =>
    page.evaluate(
      `(async ({ b64, what, maxBytes, bound }) => {
        const m = globalThis.m;
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const request = { gzip: true, ...(maxBytes === null ? {} : { maxBytes }) };
        const [a] = await m.runWebHashJob({ id: 0, files: [{ file: new Blob([bytes]), what }], request, bound });
        const worker = a === null ? null : 'code' in a ? { code: a.code, message: a.message } : { sha256: a.sha256, size: a.size, storedSize: a.storedSize };
        let strict;
        try {
          const r = await m.hashStream([bytes], { ...request, what, platform: m.webPlatform });
          strict = { sha256: r.sha256, size: r.size, storedSize: bytes.length };
        } catch (e) {
          strict = { code: e.code, message: e.message };
        }
        return { worker, strict };
      })(${JSON.stringify({ b64: bytes.toString('base64'), what, maxBytes: maxBytes ?? null, bound })})`,
    ) as Promise<{ worker: Said; strict: Said }>;

  it('Chromium\'s gzip reader is strict: the fast path is on, and refuses a zero byte after the member and a second member', async () => {
    const r = (await page.evaluate(
      `(async (b64) => {
        const gz = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const size = (p) => (p === undefined ? null : p.reduce((s, x) => s + x.byteLength, 0));
        const withZero = new Uint8Array(gz.length + 1); withZero.set(gz);
        const twice = new Uint8Array(gz.length * 2); twice.set(gz); twice.set(gz, gz.length);
        return [size(await globalThis.m.inflateGzipNative(gz, 1 << 30)), size(await globalThis.m.inflateGzipNative(withZero, 1 << 30)), size(await globalThis.m.inflateGzipNative(twice, 1 << 30)), size(await globalThis.m.inflateGzipNative(gz, 1000))];
      })(${JSON.stringify(gz.toString('base64'))})`,
    )) as Array<number | null>;
    expect(r).toEqual([large.length, null, null, null]);
  });

  it('a group of logs of many sizes (the WebAssembly memory grown, then reused): each answer the strict path\'s', async () => {
    const logs = [gzSmall, gz, gzipSync(content(12_000)), statedLength(gzSmall, -1), gzSmall, gzipSync(Buffer.alloc(0)), gz];
    const r = (await page.evaluate(
      `(async (list) => {
        const m = globalThis.m;
        const all = list.map((b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
        const answers = await m.runWebHashJob({ id: 0, files: all.map((b, i) => ({ file: new Blob([b]), what: 'log' + i })), request: { gzip: true }, bound: 32 << 20 });
        const strict = [];
        for (const [i, b] of all.entries()) {
          try {
            const r = await m.hashStream([b], { gzip: true, what: 'log' + i, platform: m.webPlatform });
            strict.push({ sha256: r.sha256, size: r.size, storedSize: b.length });
          } catch (e) {
            strict.push({ code: e.code, message: e.message });
          }
        }
        return { answers: answers.map((a) => (a === null ? null : 'code' in a ? { code: a.code, message: a.message } : { sha256: a.sha256, size: a.size, storedSize: a.storedSize })), strict, wasm: (await m.wasmGunzip()) !== undefined };
      })(${JSON.stringify(logs.map((b) => b.toString('base64')))})`,
    )) as { answers: Said[]; strict: Said[]; wasm: boolean };
    expect(r.wasm).toBe(true); // the page's Workers have WebAssembly
    expect(r.answers).toEqual(r.strict);
    expect(r.answers.filter((a) => a && 'sha256' in a)).toHaveLength(6);
  });

  /**
   * The page's hashing job over `logs`, counting WebCrypto's digest calls, and the strict path's
   * answer for each. The modules are loaded afresh (another URL), so the thread's SHA-256 choice
   * starts with no trial: the other tests' large logs have begun trials in the shared one.
   */
  const hashCountingWebCrypto = async (logs: Buffer[]): Promise<{ answers: Said[]; strict: Said[]; calls: number }> =>
    (await page.evaluate(
      `(async (list) => {
        const m = await import('/m.js?' + crypto.randomUUID());
        const all = list.map((b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
        const subtle = crypto.subtle;
        const digest = subtle.digest;
        let calls = 0;
        subtle.digest = function (...args) { calls++; return digest.apply(subtle, args); };
        let answers;
        try {
          answers = await m.runWebHashJob({ id: 0, files: all.map((b, i) => ({ file: new Blob([b]), what: 'log' + i })), request: { gzip: true }, bound: 32 << 20 });
        } finally {
          subtle.digest = digest;
        }
        const strict = [];
        for (const [i, b] of all.entries()) {
          const r = await m.hashStream([b], { gzip: true, what: 'log' + i, platform: m.webPlatform });
          strict.push({ sha256: r.sha256, size: r.size, storedSize: b.length });
        }
        return { answers: answers.map((a) => ({ sha256: a.sha256, size: a.size, storedSize: a.storedSize })), strict, calls };
      })(${JSON.stringify(logs.map((b) => b.toString('base64')))})`,
    )) as { answers: Said[]; strict: Said[]; calls: number };

  it('a log\'s content under 1 MiB is hashed in WebAssembly where it lies, not by WebCrypto (no copy, no hop to its thread): the strict path\'s SHA-256', async () => {
    const r = await hashCountingWebCrypto([gz, gzSmall, gzipSync(Buffer.alloc(0)), gz]);
    expect(r.calls).toBe(0);
    expect(r.answers).toEqual(r.strict);
  });

  it('content of 1 MiB and more: both SHA-256s timed, alternately, then the cheaper kept, each giving the strict path\'s hash', async () => {
    // 8 logs of about 1.3 MB: SHA_TRIALS (3) of each way timed, then 2 by the one kept, or in
    // WebAssembly while a trial is still awaited (the job hashes several logs at once).
    const logs = Array.from({ length: 8 }, (_, i) => gzipSync(Buffer.concat([content(7000), Buffer.from(String(i))])));
    expect(gunzipSync(logs[0]!).length).toBeGreaterThanOrEqual(1 << 20);
    const r = await hashCountingWebCrypto(logs);
    expect(r.answers).toEqual(r.strict);
    expect([3, 4, 5]).toContain(r.calls);
  });

  it.each(cases)('$name: the strict path\'s verdict and message, and the command\'s', async ({ bytes, maxBytes, bound }) => {
    const what = 's3://bucket/AWSLogs/log.json.gz';
    const { worker, strict } = await inPage(bytes, what, maxBytes, bound);
    expect(worker).toEqual(strict);
    const cli = await onNode(bytes, what, maxBytes);
    // The command's verdict; its words too, except where the page's strict path has always
    // passed on the browser's inflater's own (bytes after the member, a truncated trailer, corrupt deflate data).
    if (cli && 'code' in cli) expect(worker).toMatchObject({ code: cli.code });
    else expect(worker).toEqual(cli);
  });
});
