// The watcher's costs: CPU and requests per steady-state pass (a trail of 17 regions in S3, on
// loopback, with nothing new since the last pass), and the time from a digest's arrival to its
// alert at a webhook. Prints a Markdown section on stdout.
//
//   npm run build && npx tsx bench/watch.ts [--regions 17] [--hours 24] [--passes 10] [--arrivals 5]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { putObject, startS3, uploadDir } from '../test/helpers/aws.ts';
import { writeHourlyChain } from '../test/helpers/chains.ts';
import { VALIDATE } from '../test/helpers/cli.ts';
import { startProxy } from '../test/helpers/proxy.ts';
import { ROOT } from '../test/helpers/tamper.ts';
import { startWebhookReceiver } from '../test/helpers/webhook-receiver.ts';
import { PublicKeySet, createSigner, digestKey, logKey } from '../dist/index.js';
import { watchCommand } from '../dist/cli/watch.js';

const { values: flags } = parseArgs({
  options: {
    regions: { type: 'string', default: '17' },
    hours: { type: 'string', default: '24' },
    passes: { type: 'string', default: '10' },
    arrivals: { type: 'string', default: '5' },
  },
});
const REGIONS = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-north-1', 'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'sa-east-1'].slice(0, Number(flags.regions));
const HOURS = Number(flags.hours);
const PASSES = Number(flags.passes);
const ARRIVALS = Number(flags.arrivals);
const BUCKET = 'bench-watch';
const ACCOUNT = '111122223333';
const ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/bench`;
const HOUR = 3_600_000;
const T0 = Math.floor(Date.now() / HOUR) * HOUR - (HOURS + ARRIVALS) * HOUR;
const hour = (h: number): Date => new Date(T0 + h * HOUR);
const trailOf = (region: string) => ({ accountId: ACCOUNT, region, homeRegion: 'us-east-1', trailName: 'bench' });
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' });

const work = mkdtempSync(join(tmpdir(), 'bench-watch-'));
const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
const keys = join(work, 'keys.json');
writeFileSync(keys, JSON.stringify(new PublicKeySet([signer.publicKey]).toListPublicKeys()));
const full = join(work, 'full');
for (const region of REGIONS) await writeHourlyChain(full, { bucket: BUCKET, trail: trailOf(region), t0: T0, hours: HOURS + ARRIVALS, signer });
const staged = join(work, 'staged');
for (const region of REGIONS) await writeHourlyChain(staged, { bucket: BUCKET, trail: trailOf(region), t0: T0, hours: HOURS, signer });
const s3 = await startS3([BUCKET]);
const proxy = await startProxy(s3.url);
const hook = await startWebhookReceiver();
try {
  await uploadDir(s3, BUCKET, staged);
  const state = join(work, 'state');
  const args = ['--trail-arn', ARN, '--s3-bucket', BUCKET, '--endpoint-url', proxy.url, '--public-keys', keys, '--regions', REGIONS.join(','), '--start-time', hour(0).toISOString(), '--state', state, '--overdue', `${HOURS + ARRIVALS + 2}h`, '--once'];
  const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });
  const io = { stdout: sink(), stderr: sink(), env: process.env, now: () => new Date() };
  const first = await watchCommand(args, io);
  if (first !== 0) throw new Error(`the first pass exited ${first}`);
  const cpu: number[] = [];
  const wall: number[] = [];
  const lists: number[] = [];
  const gets: number[] = [];
  for (let i = 0; i < PASSES; i++) {
    const seen = proxy.seen.length;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const status = await watchCommand(args, io);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    if (status !== 0) throw new Error(`pass ${i + 2} exited ${status}`);
    const requests = proxy.seen.slice(seen);
    // The proxy sees paths without their query: a listing is a GET of the bucket itself.
    lists.push(requests.filter((r) => r === `GET /${BUCKET}` || r === `GET /${BUCKET}/`).length);
    gets.push(requests.filter((r) => r.startsWith(`GET /${BUCKET}/`) && r !== `GET /${BUCKET}/`).length);
    if (process.env.BENCH_WATCH_DEBUG && i === 0) process.stderr.write(`${requests.join('\n')}\n`);
  }

  // Arrival to alert: a watcher every second; each new hour's log tampered, its digest delivered last.
  const child = spawn(process.execPath, [VALIDATE, 'watch', ...args.filter((a) => a !== '--once'), '--interval', '1s', '--alert-webhook', hook.url], { stdio: ['ignore', 'ignore', 'pipe'], env: process.env });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const latency: number[] = [];
  try {
    while (!/pass \d+:/.test(err)) await new Promise((r) => setTimeout(r, 50));
    for (let a = 0; a < ARRIVALS; a++) {
      const h = HOURS + a;
      const trail = trailOf(REGIONS[0]!);
      const log = logKey(trail, hour(h + 0.5), `L${String(h).padStart(15, '0')}`);
      const digest = digestKey(trail, hour(h + 1));
      const before = hook.received.length;
      await putObject(s3.url, BUCKET, log, gzipSync(`{"Records":[{"tampered":${a}}]}`), {});
      const meta = JSON.parse(readFileSync(join(full, `${digest}.metadata.json`), 'utf8')) as Record<string, string>;
      const t = performance.now();
      await putObject(s3.url, BUCKET, digest, readFileSync(join(full, digest)), meta);
      while (hook.received.length === before) await new Promise((r) => setTimeout(r, 5));
      latency.push(performance.now() - t);
    }
  } finally {
    child.kill('SIGTERM');
  }
  process.stdout.write(
    [
      '## The watcher',
      '',
      `A trail of ${REGIONS.length} regions with ${HOURS} hours each, in s3rver on loopback; \`validate-logs watch --once\` run in-process ${PASSES} times after a first pass, nothing new delivered in between (median of the passes; the requests counted at a proxy in front of s3rver).`,
      '',
      '| per steady-state pass | median | min | max |',
      '| --- | --- | --- | --- |',
      `| CPU (user + system), ms | ${median(cpu).toFixed(0)} | ${Math.min(...cpu).toFixed(0)} | ${Math.max(...cpu).toFixed(0)} |`,
      `| wall time, ms | ${median(wall).toFixed(0)} | ${Math.min(...wall).toFixed(0)} | ${Math.max(...wall).toFixed(0)} |`,
      `| ListObjectsV2 requests | ${median(lists)} | ${Math.min(...lists)} | ${Math.max(...lists)} |`,
      `| GetObject requests | ${median(gets)} | ${Math.min(...gets)} | ${Math.max(...gets)} |`,
      '',
      `Arrival to alert, \`--interval 1s\`, a tampered hour delivered (its digest last) ${ARRIVALS} times: median ${median(latency).toFixed(0)} ms, max ${Math.max(...latency).toFixed(0)} ms (from the digest's PUT to the webhook's receipt).`,
      '',
    ].join('\n'),
  );
} finally {
  await hook.close();
  await proxy.close();
  await s3.close();
  rmSync(work, { recursive: true, force: true });
}
