// validate-logs --checkpoint-out and --checkpoint end to end: the built command, real files, real
// exit codes, Ed25519 keys as openssl makes them, and an RFC 3161 authority on loopback.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { noteVerifierKeyFromPem, openCheckpoint } from './helpers/lib.js';
import { VALIDATE, node } from './helpers/cli.js';
import { ROOT, applyActions, copySample, tampering } from './helpers/tamper.js';
import { startTsa, type Tsa } from './helpers/tsa.js';

const t = tampering.trail;
const FOLDER = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08';
const digest = (hour: number): string => `${FOLDER}/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T0${hour}0000Z.json.gz`;
let work: string;
let tsa: Tsa;
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vl-checkpoint-cli-'));
  for (const name of ['log', 'witness']) {
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(work, `${name}.pem`)]);
    execFileSync('openssl', ['pkey', '-in', join(work, `${name}.pem`), '-pubout', '-out', join(work, `${name}.pub.pem`)]);
  }
  tsa = await startTsa();
});
afterAll(async () => {
  await tsa.close();
  rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function bucket(): string {
  const c = copySample();
  cleanups.push(c.cleanup);
  return c.dir;
}
const base = (dir: string): string[] => ['--trail-arn', t.trailArn, '--local-dir', dir, '--s3-bucket', t.bucket, '--public-keys', join(ROOT, t.publicKeys)];
const signing = (out: string): string[] => ['--checkpoint-out', out, '--checkpoint-key', join(work, 'log.pem'), '--checkpoint-name', 'example.com/log'];
const trusting = (file: string, ...names: string[]): string[] => ['--checkpoint', file, ...names.flatMap((n) => ['--checkpoint-public-key', `example.com/${n}=${join(work, `${n}.pub.pem`)}`])];
const logTime = (key: string): string => /_(\d{8}T\d{4})Z_/.exec(key)![1]!;

/** Run 1 of every test: validate up to 02:00 and pin the newest digest (03:00, listing the logs of 02:xx). */
async function firstCheckpoint(dir: string, extra: string[] = []): Promise<string> {
  const cp = join(dir, '..', `cp-${Math.random().toString(36).slice(2)}.note`);
  const r = await node(VALIDATE, [...base(dir), '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(cp), ...extra]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toContain(`checkpoint written to ${cp}: us-east-1 up to 2025-01-08T03:00:00Z`);
  return cp;
}

describe('validate-logs --checkpoint-out', () => {
  it('writes a signed note pinning the newest digest, and its RFC 3161 time stamp', async () => {
    const dir = bucket();
    const cp = await firstCheckpoint(dir, ['--timestamp-url', tsa.url, '--tsa-cert', join(tsa.dir, 'ca.pem')]);
    const key = noteVerifierKeyFromPem(readFileSync(join(work, 'log.pub.pem'), 'utf8'), 'example.com/log');
    const { checkpoint } = await openCheckpoint(readFileSync(cp), [key]);
    expect(checkpoint.chains).toEqual([
      {
        trailArn: t.trailArn,
        region: 'us-east-1',
        bucket: t.bucket,
        key: digest(3),
        endTime: '2025-01-08T03:00:00Z',
        sha256: execFileSync('sh', ['-c', `gunzip -c '${join(dir, digest(3))}' | sha256sum`]).toString().slice(0, 64),
      },
    ]);
    expect(checkpoint.reportSha256).toMatch(/^[0-9a-f]{64}$/);
    // openssl agrees that the token stamps the note's text (the file up to its blank line), as the README checks it.
    expect(existsSync(`${cp}.tsr`)).toBe(true);
    const check = `sed '/^$/,$d' "$1" > "$1.text" && openssl ts -verify -data "$1.text" -in "$1.tsr" -CAfile "$2"`;
    expect(execFileSync('sh', ['-c', check, 'sh', cp, join(tsa.dir, 'ca.pem')]).toString()).toMatch(/Verification: OK/);
  });

  it('writes nothing when no chain is valid up to its newest digest', async () => {
    const dir = bucket();
    applyActions(dir, [{ op: 'flip-signature', key: digest(3) }]);
    const cp = join(dir, '..', 'none.note');
    const r = await node(VALIDATE, [...base(dir), '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(cp)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`no checkpoint written to ${cp}`);
    expect(existsSync(cp)).toBe(false);
  });

  it('refuses --tsa-cert with no time stamp to verify (neither --checkpoint nor --timestamp-url), before the run', async () => {
    const dir = bucket();
    const cp = join(dir, '..', 'unstamped.note');
    const r = await node(VALIDATE, [...base(dir), '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(cp), '--tsa-cert', join(work, 'log.pub.pem')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--tsa-cert verifies the time stamp of --checkpoint .* or the one --timestamp-url gets/);
    expect(r.stdout).toBe('');
    expect(existsSync(cp)).toBe(false);
  });
});

describe('validate-logs --checkpoint', () => {
  it('starts at the pinned digest, reads only what came after it, and advances the checkpoint', async () => {
    const dir = bucket();
    const cp = await firstCheckpoint(dir, ['--timestamp-url', tsa.url]);
    const r = await node(VALIDATE, [...base(dir), ...trusting(cp, 'log'), '--tsa-cert', join(tsa.dir, 'ca.pem'), '--end-time', t.end, '--output', 'json', ...signing(cp)]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/was time-stamped at 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ by /);
    const report = JSON.parse(r.stdout) as { request: { startTime: string }; findings: Array<{ code: string; key: string }> };
    expect(report.request.startTime).toBe('2025-01-08T03:00:00Z');
    const logs = report.findings.filter((f) => f.code === 'LOG_VALID').map((f) => logTime(f.key));
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.every((time) => time >= '20250108T0300')).toBe(true); // none the pinned digest lists (02:xx) or older
    expect(report.findings.filter((f) => f.code === 'DIGEST_VALID').map((f) => f.key)).toEqual([digest(6), digest(5), digest(4), digest(3)]);
    // The same file now pins the newest digest.
    const key = noteVerifierKeyFromPem(readFileSync(join(work, 'log.pub.pem'), 'utf8'), 'example.com/log');
    expect((await openCheckpoint(readFileSync(cp), [key])).checkpoint.chains[0]!.key).toBe(digest(6));
  });

  it('history rewritten after the checkpoint was taken: CHECKPOINT_MISMATCH, exit 1', async () => {
    const dir = bucket();
    const cp = await firstCheckpoint(dir);
    // The key holder edits a log the pinned digest lists and signs that digest again: its bytes change.
    applyActions(dir, [
      { op: 'edit-log', key: logOfHour(dir, 2), from: 'eventTime', to: 'eventTimE' },
      { op: 'resign-digest', key: digest(3) },
    ]);
    const r = await node(VALIDATE, [...base(dir), ...trusting(cp, 'log'), '--end-time', t.end, '--output', 'json']);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { findings: Array<{ code: string; key: string; expected?: string }> };
    expect(report.findings.filter((f) => f.code === 'CHECKPOINT_MISMATCH').map((f) => f.key)).toEqual([digest(3)]);
  });

  it('refuses a checkpoint a required witness did not sign, naming the key (exit 2)', async () => {
    const dir = bucket();
    const cp = await firstCheckpoint(dir);
    const r = await node(VALIDATE, [...base(dir), ...trusting(cp, 'log', 'witness'), '--end-time', t.end]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/example\.com\/witness/);
    const none = await node(VALIDATE, [...base(dir), '--checkpoint', cp, '--end-time', t.end]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--checkpoint-public-key/);
  });
});

/** A log of the sample delivered in the hour before `hour` (the pinned digest lists it). */
function logOfHour(dir: string, hour: number): string {
  const folder = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08';
  const name = execFileSync('ls', [join(dir, folder)]).toString().split('\n').find((n) => n.includes(`_20250108T0${hour}`))!;
  return `${folder}/${name}`;
}
