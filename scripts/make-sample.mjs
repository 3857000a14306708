// Regenerates the built-in sample trail in sample/ from the fixed test key and a fixed seed,
// with the project's own write-digests command. Run: npm run build && node scripts/make-sample.mjs
// The output is deterministic: running it again must leave git status clean.
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { logKey } from '../dist/index.js';
import { writeDigestsCommand } from '../dist/cli/write-digests.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'sample');
const bucketDir = join(out, 'bucket');
const trail = { accountId: '111122223333', region: 'us-east-1', trailName: 'sample-trail' };

// mulberry32: a tiny seeded PRNG, so the sample is the same on every machine.
let seed = 20250108;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const unique = () => Array.from({ length: 16 }, () => pick(alnum)).join('');
const iso = (ms) => new Date(ms).toISOString().slice(0, 19) + 'Z';

await rm(out, { recursive: true, force: true });
const day = Date.UTC(2025, 0, 8);
const hour = 3_600_000;
// Hour 3 gets no log file: its digest is an "empty" digest.
const perHour = [2, 1, 2, 0, 3, 2];
for (let h = 0; h < perHour.length; h++) {
  for (let n = 0; n < perHour[h]; n++) {
    const delivered = day + h * hour + Math.floor(((n + 0.5) / perHour[h]) * hour);
    const records = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => {
      const t = delivered - Math.floor(rand() * 10 * 60_000) - 60_000;
      return {
        eventVersion: '1.09',
        eventTime: iso(t),
        eventSource: pick(['s3.amazonaws.com', 'iam.amazonaws.com', 'ec2.amazonaws.com', 'sts.amazonaws.com']),
        eventName: pick(['GetObject', 'ListUsers', 'DescribeInstances', 'AssumeRole', 'PutObject']),
        awsRegion: trail.region,
        sourceIPAddress: `198.51.100.${Math.floor(rand() * 250)}`,
        userAgent: 'sample-agent/1.0',
        recipientAccountId: trail.accountId,
      };
    });
    const key = logKey(trail, new Date(delivered), unique());
    const path = join(bucketDir, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, gzipSync(JSON.stringify({ Records: records })));
    await utimes(path, new Date(delivered), new Date(delivered));
  }
}
const code = await writeDigestsCommand(
  [
    '--local-dir', bucketDir,
    '--s3-bucket', 'sample-bucket',
    '--account-id', trail.accountId,
    '--region', trail.region,
    '--trail-name', trail.trailName,
    '--private-key', join(root, 'vectors', 'test-key.pem'),
    '--public-keys-out', join(out, 'public-keys.json'),
    '--until', iso(day + perHour.length * hour),
  ],
  { stdout: process.stdout, stderr: process.stderr, env: process.env, now: () => new Date(day + 7 * hour) },
);
process.exitCode = code;
