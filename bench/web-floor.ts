// The browser's floor: what the auditor's page could at best do on this machine. In the same
// headless Chromium, the corpus's log files picked through a file input and handed to as many
// dedicated Workers as the browser reports processors, each doing ONLY the browser's primitives
// per log (read the File, inflate it, SHA-256 its content), nothing of validation (no listing,
// digests, checks or report); timed from the files handed to the Workers (started and ready
// before) to the last hash, with the CPU time of the browser's processes. Part of npm run bench
// (bench/web.ts runs the best way beside the page and the command); alone, the ways alternating
// with each other and with the command over the same files:
//
//   npx tsx bench/web-floor.ts [--files 64] [--mb 256] [--rounds 3] [--ways read+inflate+hash,...]
//
// A way is three parts joined by "+":
//   read:    ab (Blob.arrayBuffer), frs (FileReaderSync.readAsArrayBuffer), byob (the File's byte
//            stream read by a BYOB reader into a buffer kept from log to log), ds (no read of its
//            own: the File's stream piped through the browser's DecompressionStream; inflate must be ds)
//   inflate: wasm (zlib in WebAssembly, src/platform/zlib-wasm.ts, into its kept memory), ds (the
//            browser's DecompressionStream, its pieces gathered into a kept buffer)
//   hash:    subtle (WebCrypto's crypto.subtle.digest over the content where it lies), noble
//            (@noble/hashes' sha256 over the same memory), hw (hash-wasm's SHA-256 in WebAssembly,
//            over the same memory, one hasher kept)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { browserMissing, launch, median } from '../test/helpers/page.ts';
import { corpus, ROOT, type Corpus } from './corpus.ts';
import { cliRun, descendantsCpuByPid, descendantsCpuSince } from './web.ts';

/** The way the bench's page section measures the floor with: the cheapest in CPU on this machine (see docs/performance.md). */
export const FLOOR_WAY = 'byob+wasm+hw';

/** The Worker: a group of Files in, their SHA-256s out, in the way named. */
const WORKER = `
import { wasmGunzip } from './src/platform/zlib-wasm.ts';
import { sha256 as noble } from '@noble/hashes/sha2.js';
import { createSHA256 } from 'hash-wasm';
let zlib, hw;
let kept = new ArrayBuffer(0);
let gathered = new Uint8Array(0);
const stated = (b) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(b.byteLength - 4, true);
const gather = async (stream) => {
  const reader = stream.getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (gathered.byteLength < at + value.byteLength) { const g = new Uint8Array(Math.max(2 * gathered.byteLength, at + value.byteLength)); g.set(gathered.subarray(0, at)); gathered = g; }
    gathered.set(value, at);
    at += value.byteLength;
  }
  return gathered.subarray(0, at);
};
const reads = {
  ab: async (f) => new Uint8Array(await f.arrayBuffer()),
  frs: async (f) => new Uint8Array(new FileReaderSync().readAsArrayBuffer(f)),
  byob: async (f) => {
    if (kept.byteLength < f.size) kept = new ArrayBuffer(f.size);
    const reader = f.stream().getReader({ mode: 'byob' });
    let at = 0;
    for (;;) {
      if (at === kept.byteLength) { const k = new ArrayBuffer(2 * kept.byteLength); new Uint8Array(k).set(new Uint8Array(kept)); kept = k; }
      const { done, value } = await reader.read(new Uint8Array(kept, at, kept.byteLength - at));
      if (done) { if (value) kept = value.buffer; break; }
      kept = value.buffer;
      at += value.byteLength;
    }
    return new Uint8Array(kept, 0, at);
  },
  ds: async (f) => f,
};
const inflates = {
  wasm: (input) => { zlib.input(input.byteLength).set(input); const c = zlib.gunzip(stated(input)); if (!c) throw new Error('not one gzip member'); return c; },
  ds: (input) => gather((input instanceof Blob ? input : new Blob([input])).stream().pipeThrough(new DecompressionStream('gzip'))),
};
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
const hashes = {
  subtle: async (c) => hex(await crypto.subtle.digest('SHA-256', c)),
  noble: async (c) => hex(noble(c)),
  hw: async (c) => { hw.init(); hw.update(c); return hex(hw.digest('binary')); },
};
let chain = Promise.resolve();
onmessage = ({ data }) => {
  chain = chain.then(async () => {
    if (data.ready) { zlib = await wasmGunzip(); hw = await createSHA256(); postMessage({ ready: true }); return; }
    const [r, i, h] = data.way.split('+');
    const read = reads[r], inflate = inflates[i], hash = hashes[h];
    const out = [];
    let bytes = 0;
    for (const f of data.files) {
      const content = await inflate(await read(f));
      bytes += content.byteLength;
      out.push(await hash(content));
    }
    postMessage({ id: data.id, sha256: out, bytes });
  }).catch((e) => postMessage({ error: String(e && e.stack || e) }));
};
`;

/** The page: a folder input, a Worker per processor started and ready, and the timed pass over the picked logs. */
const PAGE_SCRIPT = `
const workers = [];
globalThis.ready = async () => {
  for (let i = 0; i < navigator.hardwareConcurrency; i++) {
    const w = new Worker('/floor.js', { type: 'module' });
    w.onerror = (e) => console.log('worker error', e.message);
    await new Promise((resolve) => { w.onmessage = resolve; w.postMessage({ ready: true }); });
    workers.push(w);
  }
  return workers.length;
};
// The logs, largest first, handed out in groups of 8, two groups in flight for each Worker (the
// least busy first), from the first hand-out to the last hash.
globalThis.floor = (way) => new Promise((resolve, reject) => {
  const files = [...document.querySelector('#folder').files].filter((f) => /\\/CloudTrail\\//.test(f.webkitRelativePath)).sort((a, b) => b.size - a.size);
  const t0 = performance.now();
  const busy = workers.map(() => 0);
  const pending = new Map();
  const sums = {};
  let next = 0, left = files.length, bytes = 0, id = 0;
  const feed = () => {
    for (;;) {
      let w = 0;
      for (let i = 1; i < workers.length; i++) if (busy[i] < busy[w]) w = i;
      if (next >= files.length || busy[w] >= 2) return;
      const group = files.slice(next, next + 8);
      next += group.length;
      busy[w]++;
      pending.set(id, { w, names: group.map((f) => f.webkitRelativePath) });
      workers[w].postMessage({ id: id++, way, files: group });
    }
  };
  const answer = ({ data }) => {
    if (data.error) return reject(new Error(data.error));
    const p = pending.get(data.id);
    pending.delete(data.id);
    busy[p.w]--;
    p.names.forEach((name, j) => { sums[name] = data.sha256[j]; });
    bytes += data.bytes;
    left -= p.names.length;
    if (left === 0) resolve({ ms: performance.now() - t0, files: files.length, bytes, sums });
    else feed();
  };
  for (const w of workers) w.onmessage = answer;
  feed();
});
`;

/** One pass of the floor: click-equivalent to last hash, and the browser's CPU time. */
export interface FloorRun {
  /** From the first files handed to the Workers to the last hash, by the page's clock. */
  ms: number;
  /** The browser's processes' CPU time meanwhile (seconds). */
  cpuS: number;
  /** Logs hashed. */
  files: number;
  /** Their content's bytes, inflated. */
  bytes: number;
  /** Content SHA-256 by the file's path in the picked folder (checked against the corpus's). */
  sums: Record<string, string>;
}

/** A Chromium page set up for the floor: the corpus folder picked, the Workers started and ready. */
export interface FloorPage {
  /** One pass over every picked log, in the way named (see the top of this file). */
  run(way: string): Promise<FloorRun>;
  /** How many Workers: the browser's `navigator.hardwareConcurrency`. */
  workers: number;
  /** Close the page and its server. */
  close(): Promise<void>;
}

/** Open the floor's page in `browser` over the corpus `c` (its bucket folder picked through a file input). */
export async function openFloor(browser: Browser, c: Corpus): Promise<FloorPage> {
  const code = (await build({ stdin: { contents: WORKER, resolveDir: ROOT, loader: 'js' }, bundle: true, platform: 'browser', format: 'esm', conditions: ['validate-logs-source'], write: false, logLevel: 'silent' })).outputFiles[0]!.text;
  const html = `<!doctype html><meta charset="utf-8"><title>floor</title><input id="folder" type="file" webkitdirectory><script type="module" src="/page.js"></script>`;
  const server = createServer((req, res) => {
    const csp = { 'content-security-policy': "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'" };
    if (req.url === '/floor.js') res.writeHead(200, { 'content-type': 'text/javascript', ...csp }).end(code);
    else if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript', ...csp }).end(PAGE_SCRIPT);
    else res.writeHead(200, { 'content-type': 'text/html', ...csp }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let page: Page | undefined;
  try {
    page = await browser.newPage();
    page.on('console', (m) => process.stderr.write(`floor page: ${m.text()}\n`));
    page.on('pageerror', (e) => process.stderr.write(`floor page error: ${e.message}\n`));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => typeof (globalThis as { ready?: unknown }).ready === 'function');
    await page.locator('#folder').setInputFiles(c.dir);
    const workers = (await page.evaluate('ready()')) as number;
    const p = page;
    return {
      workers,
      async run(way) {
        const cpu0 = descendantsCpuByPid();
        const r = (await p.evaluate(`floor(${JSON.stringify(way)})`)) as Omit<FloorRun, 'cpuS'>;
        return { ...r, cpuS: descendantsCpuSince(cpu0) };
      },
      async close() {
        await p.close();
        server.close();
      },
    };
  } catch (e) {
    await page?.close();
    server.close();
    throw e;
  }
}

/** Why a floor run is wrong (not every log of the corpus hashed, or a SHA-256 not Node's), or undefined. */
export function floorChecks(c: Corpus, r: FloorRun): string | undefined {
  if (r.files !== c.logs.length) return `the floor hashed ${r.files} files, the corpus has ${c.logs.length} logs`;
  if (r.bytes !== c.uncompressedBytes) return `the floor inflated ${r.bytes} bytes, the corpus's logs hold ${c.uncompressedBytes}`;
  // A few logs' SHA-256s against Node's.
  for (const key of c.logs.filter((_, i) => i % Math.ceil(c.logs.length / 4) === 0)) {
    const want = createHash('sha256').update(gunzipSync(readFileSync(join(c.dir, key)))).digest('hex');
    const got = r.sums[`${basename(c.dir)}/${key}`];
    if (got !== want) return `the floor's SHA-256 of ${key} is ${got}, Node's ${want}`;
  }
  return undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const { values } = parseArgs({ options: { files: { type: 'string', default: '64' }, mb: { type: 'string', default: '256' }, rounds: { type: 'string', default: '3' }, ways: { type: 'string', default: FLOOR_WAY }, 'no-cli': { type: 'boolean', default: false } } });
  const missing = browserMissing();
  if (missing) throw new Error(missing);
  const files = Number(values.files);
  const c = await corpus('trail', files, Math.round((Number(values.mb) * 2 ** 20) / files), Math.max(1, Math.round((files * 24) / 256)));
  const ways = values.ways.split(',');
  const browser = await launch();
  try {
    const floor = await openFloor(browser, c);
    const got = new Map<string, FloorRun[]>(ways.map((w) => [w, []]));
    const cli: Array<{ ms: number; cpuS: number }> = [];
    for (const way of ways) {
      const r = await floor.run(way); // warm-up, and the check
      const wrong = floorChecks(c, r);
      if (wrong) throw new Error(`${way}: ${wrong}`);
      const sums = new Set(Object.values(r.sums));
      if (sums.size !== c.logs.length) throw new Error(`${way}: ${sums.size} distinct SHA-256s for ${c.logs.length} logs`);
    }
    for (let i = 0; i < Number(values.rounds); i++) {
      for (const way of ways) got.get(way)!.push(await floor.run(way));
      if (!values['no-cli']) cli.push(await cliRun(c));
    }
    await floor.close();
    const mb = c.uncompressedBytes / 1e6;
    const range = (xs: number[], f = (x: number) => x.toFixed(0)): string => `${f(median(xs))} (${f(Math.min(...xs))}-${f(Math.max(...xs))})`;
    process.stdout.write(`${c.logs.length} logs, ${mb.toFixed(0)} MB of content (${(c.compressedBytes / 1e6).toFixed(0)} MB stored), ${floor.workers} Workers, ${values.rounds} rounds alternating, medians (fastest-slowest):\n`);
    process.stdout.write('| way | ms | MB/s | browser CPU s | CPU ms a log |\n| --- | ---: | ---: | ---: | ---: |\n');
    for (const [way, xs] of got) {
      const ms = median(xs.map((x) => x.ms));
      const cpu = median(xs.map((x) => x.cpuS));
      process.stdout.write(`| ${way} | ${range(xs.map((x) => x.ms))} | ${(mb / (ms / 1000)).toFixed(0)} | ${range(xs.map((x) => x.cpuS), (x) => x.toFixed(2))} | ${((cpu * 1000) / c.logs.length).toFixed(1)} |\n`);
    }
    if (cli.length > 0) {
      const ms = median(cli.map((x) => x.ms));
      process.stdout.write(`| the command | ${range(cli.map((x) => x.ms))} | ${(mb / (ms / 1000)).toFixed(0)} | ${range(cli.map((x) => x.cpuS), (x) => x.toFixed(2))} | ${((median(cli.map((x) => x.cpuS)) * 1000) / c.logs.length).toFixed(1)} |\n`);
      for (const [way, xs] of got) process.stdout.write(`${way} / the command: ${(ms / median(xs.map((x) => x.ms))).toFixed(2)} in time\n`);
    }
  } finally {
    await browser.close();
  }
}
