// The native baseline: the machine's limit for gunzip + SHA-256 over a set of files. One
// process per core, each taking its share of the files (largest first, to the least loaded),
// each running the platform's native zlib and SHA-256 (node:zlib, node:crypto: C code) in the
// tightest loop Node allows: a small file read and inflated in one call each, a large one
// streamed. Nothing else: no listing, no digests, no checks. The time is from the first process
// starting its work to the last one ending it (process start-up is not counted). Prints one JSON
// line; peak RSS is the sum over the processes.
// Usage: node bench/native.mjs PROCESSES @LISTFILE   (one file path a line)
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { gunzipSync, createGunzip } from 'node:zlib';

const SMALL = 1 << 20;

if (process.argv[2] === '--child') {
  process.once('message', async (files) => {
    const start = performance.timeOrigin + performance.now();
    let bytes = 0;
    for (const [file, size] of files) bytes += size < SMALL ? small(file) : await large(file);
    const end = performance.timeOrigin + performance.now();
    process.send({ start, end, bytes, rssKB: peakRssKB() }, () => process.exit(0));
  });
} else {
  const [processesText, list] = process.argv.slice(2);
  const processes = Number(processesText);
  const files = readFileSync(list.slice(1), 'utf8').split('\n').filter(Boolean);
  const shares = Array.from({ length: processes }, () => ({ files: [], bytes: 0 }));
  for (const [file, size] of files.map((f) => [f, statSync(f).size]).sort((a, b) => b[1] - a[1])) {
    const share = shares.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    share.files.push([file, size]);
    share.bytes += size;
  }
  const results = await Promise.all(
    shares.map(
      (share) =>
        new Promise((resolve, reject) => {
          const child = fork(new URL(import.meta.url).pathname, ['--child'], { execArgv: [] });
          child.once('message', resolve);
          child.once('error', reject);
          child.once('exit', (code) => code !== 0 && reject(new Error(`a baseline process exited with ${code}`)));
          child.send(share.files);
        }),
    ),
  );
  const ms = Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start));
  const bytes = results.reduce((a, r) => a + r.bytes, 0);
  const maxRssKB = results.reduce((a, r) => a + r.rssKB, 0);
  process.stdout.write(JSON.stringify({ ms, bytes, files: files.length, processes, maxRssKB }) + '\n');
}

function small(file) {
  const out = gunzipSync(readFileSync(file));
  createHash('sha256').update(out).digest('hex');
  return out.length;
}

function large(file) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    let bytes = 0;
    gunzip.on('data', (c) => {
      bytes += c.length;
      hash.update(c);
    });
    gunzip.on('end', () => {
      hash.digest('hex');
      resolve(bytes);
    });
    gunzip.on('error', reject);
    createReadStream(file, { highWaterMark: 1 << 20 }).on('error', reject).pipe(gunzip);
  });
}

/**
 * Peak resident memory of this program (VmHWM): unlike getrusage's maxRSS, it does not count the
 * memory of the process this one was forked from before it started.
 */
function peakRssKB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
}
