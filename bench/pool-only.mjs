// The hashing machinery alone: the package's own pool (dist/node.js, of THREADS threads; the
// bench gives one per core) reading, gunzipping and hashing a list of files, with nothing of validation around it
// (no listing, no digests, no checks, no report). Groups of files go to the pool as validation
// sends them, as many at once as the pool takes. The time runs from the pool's creation (its
// threads' start included) to the last answer. Prints one JSON line, as bench/native.mjs does.
// Usage: node bench/pool-only.mjs THREADS @LISTFILE   (one file path a line)
import { readFileSync } from 'node:fs';

const [threadsText, list] = process.argv.slice(2);
const files = readFileSync(list.slice(1), 'utf8').split('\n').filter(Boolean);
const { createNodePlatform } = await import('../dist/node.js');
const { OBJECT_GROUP } = await import('../dist/hash/hash-object.js');
const start = performance.now();
const pool = createNodePlatform({ threads: Number(threadsText) }).offload;
pool.warm();
const groups = Math.max(1, Math.ceil(pool.capacity / OBJECT_GROUP));
let bytes = 0;
let next = 0;
async function worker() {
  while (next < files.length) {
    const group = files.slice(next, (next += OBJECT_GROUP)).map((path) => ({ path, what: path }));
    for (const r of await pool.hashFiles(group, { gzip: true })) {
      if (!r || r instanceof Error) throw new Error(`not hashed: ${r?.message ?? 'handed back'}`);
      bytes += r.size;
    }
  }
}
await Promise.all(Array.from({ length: groups }, worker));
const ms = performance.now() - start;
const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
process.stdout.write(JSON.stringify({ ms, bytes, files: files.length, maxRssKB: m ? Number(m[1]) : 0 }) + '\n');
