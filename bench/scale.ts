// Per-shard throughput and the cost of sharding, from S3 (s3rver behind a proxy adding latency):
// one chain validated in one run, then planned into shards and each shard run, counting the
// requests each way. Feeds the cost model in the README.
//   npm run build && npx tsx bench/scale.ts [--logs 2880] [--log-kb 32] [--hours 48] [--shard-hours 12] [--latency 20]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PublicKeySet, Tally, verifyTrail } from '../dist/index.js';
import { planShards, runShard } from '../dist/scale.js';
import { S3Storage } from '../dist/aws.js';
import { loopbackEnv, startAwsApi, startS3, uploadDir } from '../test/helpers/aws.js';
import { startProxy } from '../test/helpers/proxy.js';
import { BUCKET, ROOT, START, TRAIL, corpus } from './corpus.js';

const { values } = parseArgs({
  options: {
    logs: { type: 'string', default: '2880' },
    'log-kb': { type: 'string', default: '32' },
    hours: { type: 'string', default: '48' },
    'shard-hours': { type: 'string', default: '12' },
    latency: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '32' },
  },
});
const HOURS = Number(values.hours);
const SHARD_HOURS = Number(values['shard-hours']);
const CONCURRENCY = Number(values.concurrency);
const c = await corpus('scale', Number(values.logs), Number(values['log-kb']) * 1024, HOURS);
const keys = PublicKeySet.fromListPublicKeys(readFileSync(c.keys, 'utf8'));
const start = new Date(START);
const end = new Date(START + HOURS * 3_600_000);

const server = await startS3([BUCKET]);
const api = await startAwsApi({ keys: JSON.parse(readFileSync(c.keys, 'utf8')) });
Object.assign(process.env, loopbackEnv(api.url), { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
await uploadDir(server, BUCKET, c.dir);
const proxy = await startProxy(server.url, Number(values.latency));
const source = new S3Storage({ endpoint: proxy.url, region: 'us-east-1' });
const count = (what: string): number => proxy.seen.filter((s) => s.startsWith(what)).length;

async function measure(run: () => Promise<number>): Promise<{ ms: number; objects: number; gets: number; lists: number }> {
  proxy.seen.length = 0;
  const t0 = performance.now();
  const objects = await run();
  const ms = performance.now() - t0;
  // A listing is a GET on the bucket itself; a GET of an object names its key.
  const lists = proxy.seen.filter((s) => s === `GET /${BUCKET}` || s === `GET /${BUCKET}/`).length;
  return { ms, objects, gets: count('GET') - lists, lists };
}

try {
  // Warm up (the SDK loads once per process, as in a worker).
  for await (const _ of verifyTrail({ source, bucket: BUCKET, trail: TRAIL, keys, start, end: new Date(START + 3_600_000) }));
  const single = await measure(async () => {
    const tally = new Tally(start, end);
    for await (const f of verifyTrail({ source, bucket: BUCKET, trail: TRAIL, keys, start, end, concurrency: CONCURRENCY })) tally.add(f);
    const s = tally.summary();
    if (!s.ok) throw new Error('the corpus does not validate');
    return s.digests.valid + s.logs.valid;
  });
  const items = planShards([{ bucket: BUCKET, trail: { ...TRAIL, homeRegion: TRAIL.region } }], start, end, { shardHours: SHARD_HOURS });
  const shards: Array<Awaited<ReturnType<typeof measure>>> = [];
  for (const item of items) {
    shards.push(
      await measure(async () => {
        const r = await runShard({ item, source, keys, concurrency: CONCURRENCY });
        return r.summary.digests.valid + r.summary.logs.valid;
      }),
    );
  }
  const sum = (k: 'ms' | 'objects' | 'gets' | 'lists'): number => shards.reduce((n, s) => n + s[k], 0);
  const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const row = (name: string, r: { ms: number; objects: number; gets: number; lists: number }): string =>
    `| ${name} | ${fmt(r.objects)} | ${fmt(r.gets)} | ${fmt(r.lists)} | ${fmt(r.ms)} | ${fmt(r.objects / (r.ms / 1000))} |`;
  const text = `# Sharding: per-shard throughput and overhead

Made by \`bench/scale.ts\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Node.js ${process.version}.
One chain of ${HOURS} hourly digests and ${c.logs.length} logs of about ${values['log-kb']} KB
(${fmt(c.uncompressedBytes / 1e6)} MB inflated), on s3rver behind a proxy adding ${values.latency} ms to every
request; concurrency ${CONCURRENCY}; in one process (no process start counted). "Objects" are the
digest and log files validated; GET and LIST are the requests the proxy saw.

| run | objects | GET | LIST | ms | objects/s |
| --- | ---: | ---: | ---: | ---: | ---: |
${row('one run over the chain', single)}
${shards.map((s, i) => row(`shard ${i + 1} of ${shards.length} (${SHARD_HOURS} h)`, s)).join('\n')}
${row(`all ${shards.length} shards`, { ms: sum('ms'), objects: sum('objects'), gets: sum('gets'), lists: sum('lists') })}

Sharding overhead: ${fmt((sum('gets') / single.gets - 1) * 100, 1)} % more GET, ${fmt(sum('lists') - single.lists)} more LIST
(${fmt((sum('lists') - single.lists) / shards.length, 1)} a shard), ${fmt((sum('ms') / single.ms - 1) * 100, 1)} % more time in sequence.

Reproduce: \`npm run build && npx tsx bench/scale.ts --logs ${values.logs} --log-kb ${values['log-kb']} --hours ${HOURS} --shard-hours ${SHARD_HOURS} --latency ${values.latency}\`
`;
  writeFileSync(join(ROOT, 'bench', 'SCALE.md'), text);
  process.stdout.write(text);
} finally {
  await proxy.close();
  await api.close();
  await server.close();
}
