// How a page's hashing Worker inflates and hashes a gzip log, measured in headless Chromium: the
// ways the page has taken or could take, over the same logs held as Blobs in one dedicated
// Worker, the ways alternating, each round every log once; the Worker's own clock and the CPU
// time of the browser's processes. Alone:
//
//   npx tsx bench/web-inflate.ts [--files 64] [--mb 256] [--rounds 5] [--ways a,b,...]
//
// (the bench's trail corpus of that size; ways: read, read-stream, stream, wasm, wasm-stream, wasm-inflate,
//   wasm-copy, wasm-noble)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { launch, median } from '../test/helpers/page.ts';
import { corpus, ROOT } from './corpus.ts';
import { descendantsCpuByPid, descendantsCpuSince } from './web.ts';

/** The Worker: each way as a function of a Blob, and a loop timing one way over every log. */
const WORKER = `
import { wasmGunzip } from './src/platform/zlib-wasm.ts';
import { inflateGzipNative } from './src/platform/web.ts';
import { sha256 as noble } from '@noble/hashes/sha2.js';
let blobs = [];
let kept = new Uint8Array(0);
const digest = (b) => crypto.subtle.digest('SHA-256', b);
let zlib;
const stated = (b) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(b.byteLength - 4, true);
const inflate = (input) => { zlib.input(input.byteLength).set(input); return zlib.gunzip(stated(input)); };
const readInto = async (blob) => {
  let room = zlib.input(blob.size);
  const reader = blob.stream().getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    room = zlib.input(blob.size);
    room.set(value, at);
    at += value.byteLength;
  }
  return room;
};
const ways = {
  // Reading the file alone.
  read: async (blob) => new Uint8Array(await blob.arrayBuffer()),
  // Reading the file's stream, its pieces copied into the module's kept memory.
  'read-stream': async (blob) => readInto(blob),
  // ... then inflated there, WebCrypto.
  'wasm-stream': async (blob) => digest(zlib.gunzip(stated(await readInto(blob)))),
  // As the page did before: the browser's gzip reader, its pieces gathered into a kept buffer, WebCrypto.
  stream: async (blob) => {
    const parts = await inflateGzipNative(new Uint8Array(await blob.arrayBuffer()), 1 << 30);
    let size = 0; for (const p of parts) size += p.byteLength;
    if (kept.byteLength < size) kept = new Uint8Array(size);
    let at = 0; for (const p of parts) { kept.set(p, at); at += p.byteLength; }
    return digest(kept.subarray(0, size));
  },
  // zlib in WebAssembly into its kept memory, WebCrypto over that memory.
  wasm: async (blob) => digest(inflate(new Uint8Array(await blob.arrayBuffer()))),
  // ... inflating only.
  'wasm-inflate': async (blob) => inflate(new Uint8Array(await blob.arrayBuffer())),
  // ... WebCrypto over a fresh copy of the content.
  'wasm-copy': async (blob) => digest(inflate(new Uint8Array(await blob.arrayBuffer())).slice()),
  // ... @noble/hashes over the kept memory.
  'wasm-noble': async (blob) => noble(inflate(new Uint8Array(await blob.arrayBuffer()))),
};
onmessage = async ({ data }) => {
  if (data.blobs) { blobs = data.blobs; zlib = await wasmGunzip(); postMessage('ok'); return; }
  const way = ways[data.way];
  const t = performance.now();
  for (const b of blobs) await way(b);
  postMessage(performance.now() - t);
};
`;

const { values } = parseArgs({ options: { files: { type: 'string', default: '64' }, mb: { type: 'string', default: '256' }, rounds: { type: 'string', default: '5' }, ways: { type: 'string', default: 'read,stream,wasm,wasm-inflate,wasm-copy,wasm-noble' } } });
const files = Number(values.files);
const c = await corpus('trail', files, Math.round((Number(values.mb) * 2 ** 20) / files), Math.max(1, Math.round((files * 24) / 256)));
const logs = c.logs.map((key) => readFileSync(join(c.dir, key)));
const code = (await build({ stdin: { contents: WORKER, resolveDir: ROOT, loader: 'js' }, bundle: true, platform: 'browser', format: 'esm', conditions: ['validate-logs-source'], write: false, logLevel: 'silent' })).outputFiles[0]!.text;
const server = createServer((req, res) => {
  const m = /^\/log\/(\d+)$/.exec(req.url ?? '');
  if (m) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(logs[Number(m[1])]);
  else if (req.url === '/w.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
  else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><meta charset="utf-8"><title>inflate</title>');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await launch();
try {
  const page = await browser.newPage();
  page.on('console', (m) => process.stderr.write(`page: ${m.text()}\n`));
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.evaluate(`(async (n) => {
    const blobs = await Promise.all(Array.from({ length: n }, (_, i) => fetch('/log/' + i).then((r) => r.blob())));
    globalThis.w = new Worker('/w.js', { type: 'module' });
    w.onerror = (e) => console.log('worker error', e.message);
    await new Promise((resolve) => { w.onmessage = resolve; w.postMessage({ blobs }); });
    globalThis.run = (way) => new Promise((resolve) => { w.onmessage = (e) => resolve(e.data); w.postMessage({ way }); });
  })(${logs.length})`);
  const ways = values.ways.split(',');
  const got = new Map<string, Array<{ ms: number; cpu: number }>>(ways.map((w) => [w, []]));
  await page.evaluate(`Promise.all([${ways.map((w) => JSON.stringify(w)).join(',')}].map(() => 0)).then(async () => { for (const w of ${JSON.stringify(ways)}) await run(w); })`); // warm-up
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const way of ways) {
      const cpu0 = descendantsCpuByPid();
      const ms = (await page.evaluate(`run(${JSON.stringify(way)})`)) as number;
      got.get(way)!.push({ ms, cpu: descendantsCpuSince(cpu0) });
    }
  }
  const mb = c.uncompressedBytes / 1e6;
  process.stdout.write(`${logs.length} logs, ${mb.toFixed(0)} MB of content (${(c.compressedBytes / 1e6).toFixed(0)} MB stored), ${values.rounds} rounds alternating, medians (fastest-slowest):\n`);
  process.stdout.write('| way | Worker ms | ms a log | MB/s | browser CPU s |\n| --- | ---: | ---: | ---: | ---: |\n');
  for (const [way, xs] of got) {
    const ms = median(xs.map((x) => x.ms));
    process.stdout.write(`| ${way} | ${ms.toFixed(0)} (${Math.min(...xs.map((x) => x.ms)).toFixed(0)}-${Math.max(...xs.map((x) => x.ms)).toFixed(0)}) | ${(ms / logs.length).toFixed(1)} | ${(mb / (ms / 1000)).toFixed(0)} | ${median(xs.map((x) => x.cpu)).toFixed(2)} |\n`);
  }
} finally {
  await browser.close();
  server.close();
}
