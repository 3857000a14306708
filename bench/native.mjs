// The native baseline: the platform's own gunzip and SHA-256 in a tight loop over the same
// files with the same parallelism, doing nothing else. Prints one JSON line.
// Usage: node bench/native.mjs CONCURRENCY @LISTFILE   (one file path a line)
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { createGunzip } from 'node:zlib';

const [concurrencyText, list] = process.argv.slice(2);
const files = readFileSync(list.slice(1), 'utf8').split('\n').filter(Boolean);
const concurrency = Number(concurrencyText);
let bytes = 0;

function one(file) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const gunzip = createGunzip();
    gunzip.on('data', (c) => {
      bytes += c.length;
      hash.update(c);
    });
    gunzip.on('end', () => {
      hash.digest('hex');
      resolve();
    });
    gunzip.on('error', reject);
    createReadStream(file, { highWaterMark: 1 << 20 }).on('error', reject).pipe(gunzip);
  });
}

const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < files.length) await one(files[next++]);
  }),
);
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ms, bytes, files: files.length, maxRssKB: peakRssKB() }) + '\n');

/**
 * Peak resident memory of this program (VmHWM): unlike getrusage's maxRSS, it does not count the
 * memory of the process this one was forked from before it started.
 */
function peakRssKB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
}
