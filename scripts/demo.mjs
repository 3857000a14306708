// npm run demo: validate the built-in sample trail, then a tampered copy of it, with the
// validate-logs command exactly as a user runs it. No AWS account needed.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, gunzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'validate-logs.js');
const digestDir = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08';
const logDir = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08';
const digest = (hh) => `${digestDir}/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T${hh}0000Z.json.gz`;

function validate(dir, title) {
  const args = [
    '--trail-arn', 'arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail',
    '--start-time', '2025-01-08T00:00:00Z', '--end-time', '2025-01-08T06:00:00Z',
    '--local-dir', dir, '--s3-bucket', 'sample-bucket',
    '--public-keys', join(root, 'sample', 'public-keys.json'),
  ];
  console.log(`\n=== ${title}\n$ validate-logs ${args.map((a) => (a.startsWith(root) ? a.slice(root.length + 1) : a)).join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  console.log(`(exit status ${r.status})`);
  return r.status;
}

const first = validate(join(root, 'sample', 'bucket'), 'The sample trail as generated: every digest and log file is valid');

const work = mkdtempSync(join(tmpdir(), 'validate-logs-demo-'));
try {
  const copy = join(work, 'bucket');
  cpSync(join(root, 'sample', 'bucket'), copy, { recursive: true });
  // 1. Someone edits an event in a log file and re-compresses it.
  const edited = join(copy, logDir, '111122223333_CloudTrail_us-east-1_20250108T0130Z_LVhxLoPv4QHfRokC.json.gz');
  writeFileSync(edited, gzipSync(gunzipSync(readFileSync(edited)).toString().replace('198.51.100', '203.0.113')));
  // 2. Someone deletes a log file.
  unlinkSync(join(copy, logDir, '111122223333_CloudTrail_us-east-1_20250108T0430Z_B5GsKzdAk2jmFCXv.json.gz'));
  // 3. Someone deletes the digest of 02:00-03:00 to hide what it listed.
  unlinkSync(join(copy, digest('03')));
  unlinkSync(join(copy, digest('03') + '.metadata.json'));
  console.log('\nTampered copy: edited one event in the 01:30 log, deleted the 04:30 log, deleted the 03:00 digest.');
  const second = validate(copy, 'The tampered copy: each change is found and named');
  process.exitCode = first === 0 && second === 1 ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
