// A checkpoint speaks for every chain it pins, and only for those (issue 24, items 1-3): the
// built command on a two-region trail (the sample's us-east-1, and eu-west-1 written here with
// the test key), each attacker move against a pinned chain, and the checkpoint the next run gets.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSigner, generateDigests, logKey, noteVerifierKeyFromPem, openCheckpoint, sha256, toHex, type CheckpointChain, type DeliveredLog, type GeneratedDigest } from './helpers/lib.js';
import { VALIDATE, node, type Run } from './helpers/cli.js';
import { ROOT, applyActions, copySample, putObject, setDeliveryTimes, tampering, type Action } from './helpers/tamper.js';

const t = tampering.trail;
const H = 3_600_000;
const t0 = Date.UTC(2025, 0, 8);
const ROOT_DIGESTS = 'AWSLogs/111122223333/CloudTrail-Digest';
const usDigest = (hour: number): string => `${ROOT_DIGESTS}/us-east-1/2025/01/08/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T0${hour}0000Z.json.gz`;
const EU = { accountId: '111122223333', region: 'eu-west-1', homeRegion: 'us-east-1', trailName: 'sample-trail' };
const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));

let work: string;
const cleanups: Array<() => void> = [];
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'vl-checkpoint-scope-'));
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(work, 'log.pem')]);
  execFileSync('openssl', ['pkey', '-in', join(work, 'log.pem'), '-pubout', '-out', join(work, 'log.pub.pem')]);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A log of eu-west-1 delivered at 20 past `hour`. */
function euLog(dir: string, hour: number, text: string): DeliveredLog {
  const at = new Date(t0 + hour * H + 20 * 60_000);
  const key = logKey(EU, at, `EUW1LOG${String(hour).padStart(9, '0')}`);
  putObject(dir, key, gzipSync(text));
  return { key, deliveredAt: at, sha256: toHex(sha256(new TextEncoder().encode(text))) };
}

/** Write eu-west-1's digests over [from, until), linked to `previous` when given. */
async function euChain(dir: string, logs: DeliveredLog[], from: number, until: number, previous?: GeneratedDigest): Promise<GeneratedDigest[]> {
  const out: GeneratedDigest[] = [];
  const head = previous && { bucket: t.bucket, key: previous.key, sha256: previous.sha256, signature: previous.signature, endTime: new Date(previous.record.digestEndTime) };
  for await (const d of generateDigests({ trail: EU, bucket: t.bucket, logs, from: new Date(from), until: new Date(until), signer, ...(head && { previous: head }) })) out.push(d);
  for (const d of out) putObject(dir, d.key, d.gzipped, d.metadata);
  setDeliveryTimes(dir);
  return out;
}

/** The sample bucket plus eu-west-1: one log an hour from 00:20 to 05:20, digests ending 01:00 to 06:00. */
async function twoRegions(): Promise<{ dir: string; logs: DeliveredLog[]; digests: GeneratedDigest[] }> {
  const c = copySample();
  cleanups.push(c.cleanup);
  setDeliveryTimes(c.dir);
  const logs = Array.from({ length: 6 }, (_, h) => euLog(c.dir, h, `{"Records":[{"eventTime":"2025-01-08T0${h}:10:00Z","n":${h}}]}`));
  return { dir: c.dir, logs, digests: await euChain(c.dir, logs, t0, t0 + 6 * H) };
}

const base = (dir: string, ...extra: string[]): string[] => ['--trail-arn', t.trailArn, '--local-dir', dir, '--s3-bucket', t.bucket, '--public-keys', join(ROOT, t.publicKeys), ...extra];
const signing = (out: string): string[] => ['--checkpoint-out', out, '--checkpoint-key', join(work, 'log.pem'), '--checkpoint-name', 'example.com/log'];
const trusting = (file: string): string[] => ['--checkpoint', file, '--checkpoint-public-key', `example.com/log=${join(work, 'log.pub.pem')}`];
const newFile = (): string => join(work, `cp-${Math.random().toString(36).slice(2)}.note`);

interface Report {
  ok: boolean;
  findings: Array<{ code: string; key: string; region: string; severity: string; message: string }>;
  regions: Array<{ region: string; ok: boolean }>;
}
const report = (r: Run): Report => JSON.parse(r.stdout) as Report;
/** The invalid findings of a JSON run, as "region code". */
const invalid = (r: Run): string[] => report(r).findings.filter((f) => f.severity === 'invalid').map((f) => `${f.region} ${f.code}`);

/** What a checkpoint file pins, as "region endTime", after verifying its signature. */
async function pins(file: string): Promise<string[]> {
  const key = noteVerifierKeyFromPem(readFileSync(join(work, 'log.pub.pem'), 'utf8'), 'example.com/log');
  const { checkpoint } = await openCheckpoint(readFileSync(file), [key]);
  return checkpoint.chains.map((c: CheckpointChain) => `${c.region} ${c.endTime}`);
}

/** Run 1: both regions validated up to 02:00, each pinned at its 03:00 digest. */
async function pinBoth(dir: string): Promise<string> {
  const cp = newFile();
  const r = await node(VALIDATE, base(dir, '--regions', 'all', '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(cp)));
  expect(r.status, r.stderr).toBe(0);
  expect(await pins(cp)).toEqual(['eu-west-1 2025-01-08T03:00:00Z', 'us-east-1 2025-01-08T03:00:00Z']);
  return cp;
}

describe('a pinned chain that is gone is CHECKPOINT_ROLLBACK', () => {
  // With only the digests deleted, the logs they listed from the pin on are no digest's.
  it.each([
    ['its region folders deleted (digests and logs)', ['CloudTrail-Digest/eu-west-1', 'CloudTrail/eu-west-1'], []],
    ['only its digest folder deleted', ['CloudTrail-Digest/eu-west-1'], Array<string>(3).fill('eu-west-1 LOG_UNREFERENCED')],
  ])('--regions all, %s: the region is validated all the same, exit 1', async (_, folders, unlisted) => {
    const { dir } = await twoRegions();
    const cp = await pinBoth(dir);
    for (const f of folders) rmSync(join(dir, 'AWSLogs/111122223333', f), { recursive: true });
    const r = await node(VALIDATE, base(dir, '--regions', 'all', ...trusting(cp), '--output', 'json', '--end-time', t.end));
    expect(r.status, r.stderr).toBe(1);
    expect(invalid(r)).toEqual(['eu-west-1 CHECKPOINT_ROLLBACK', ...unlisted]);
    expect(report(r).regions.map((x) => [x.region, x.ok])).toEqual([
      ['eu-west-1', false],
      ['us-east-1', true],
    ]);
    // Named, the same: a rollback (exit 1), not "no digest files here" (exit 2).
    const named = await node(VALIDATE, base(dir, '--region', 'eu-west-1', ...trusting(cp), '--output', 'json', '--end-time', t.end));
    expect(named.status, named.stderr).toBe(1);
    expect(invalid(named)).toEqual(['eu-west-1 CHECKPOINT_ROLLBACK', ...unlisted]);
  });

  it('--regions all, every digest in range deleted (older ones and the folder left): exit 1', async () => {
    const { dir, digests } = await twoRegions();
    const cp = await pinBoth(dir);
    for (const d of digests.slice(2)) unlinkSync(join(dir, d.key)); // 03:00 to 06:00: the range from the pin on
    const r = await node(VALIDATE, base(dir, '--regions', 'all', ...trusting(cp), '--output', 'json', '--end-time', t.end));
    expect(r.status, r.stderr).toBe(1);
    expect(invalid(r)).toContain('eu-west-1 CHECKPOINT_ROLLBACK');
    expect(invalid(r).filter((x) => x.startsWith('us-east-1'))).toEqual([]);
  });

  it('a local copy without --s3-bucket: the bucket is the one the checkpoint pins, not guessed from what is left', async () => {
    const { dir } = await twoRegions();
    const cp = await pinBoth(dir);
    for (const h of [3, 4, 5, 6]) unlinkSync(join(dir, usDigest(h)));
    const args = base(dir, '--region', 'us-east-1', ...trusting(cp), '--end-time', t.end, '--output', 'json').filter((a, i, all) => a !== '--s3-bucket' && all[i - 1] !== '--s3-bucket');
    const r = await node(VALIDATE, args);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(`--s3-bucket not given: validating as bucket "${t.bucket}", the bucket ${cp} pins`);
    expect(invalid(r)).toContain('us-east-1 CHECKPOINT_ROLLBACK');
  });

  it('a gone chain keeps its pin in --checkpoint-out: the next run finds the rollback again', async () => {
    const { dir } = await twoRegions();
    const cp = await pinBoth(dir);
    for (const f of ['CloudTrail-Digest', 'CloudTrail']) rmSync(join(dir, 'AWSLogs/111122223333', f, 'eu-west-1'), { recursive: true });
    const r = await node(VALIDATE, base(dir, '--regions', 'all', ...trusting(cp), '--end-time', t.end, ...signing(cp)));
    expect(r.status).toBe(1);
    expect(await pins(cp)).toEqual(['eu-west-1 2025-01-08T03:00:00Z', 'us-east-1 2025-01-08T06:00:00Z']);
    expect(r.stderr).toContain('kept at the digest');
    const again = await node(VALIDATE, base(dir, '--regions', 'all', ...trusting(cp), '--end-time', t.end, '--output', 'json'));
    expect(again.status).toBe(1);
    expect(invalid(again)).toEqual(['eu-west-1 CHECKPOINT_ROLLBACK']);
  });
});

describe('pins outside the run are carried forward; a chain that is not clean keeps its pin', () => {
  it('--region us-east-1 advances its chain and carries eu-west-1: a later rewrite of eu-west-1 is caught', async () => {
    const { dir, logs, digests } = await twoRegions();
    const cp = await pinBoth(dir);
    const one = await node(VALIDATE, base(dir, '--region', 'us-east-1', ...trusting(cp), '--end-time', t.end, ...signing(cp)));
    expect(one.status, one.stderr).toBe(0);
    expect(one.stderr).toContain(`carried forward from ${cp} (not validated by this run): eu-west-1 of ${t.trailArn} at 2025-01-08T03:00:00Z`);
    expect(await pins(cp)).toEqual(['eu-west-1 2025-01-08T03:00:00Z', 'us-east-1 2025-01-08T06:00:00Z']);
    // The key holder edits eu-west-1's log of 01:20 and writes every digest from 02:00 on again,
    // correctly hashed, signed and linked: without a pin it validates.
    const edited = [...logs];
    edited[1] = euLog(dir, 1, '{"Records":[{"eventTime":"2025-01-08T01:10:00Z","n":"rewritten"}]}');
    await euChain(dir, edited.slice(1), t0 + H, t0 + 6 * H, digests[0]);
    const unpinned = await node(VALIDATE, base(dir, '--region', 'eu-west-1', '--start-time', t.start, '--end-time', t.end));
    expect(unpinned.status, unpinned.stderr).toBe(0);
    const r = await node(VALIDATE, base(dir, '--regions', 'all', ...trusting(cp), '--output', 'json', '--end-time', t.end));
    expect(r.status).toBe(1);
    expect(invalid(r)).toEqual(['eu-west-1 CHECKPOINT_MISMATCH']);
  });

  it('an INVALID region keeps its old pin: the modified log is found again by the next run', async () => {
    const { dir } = await twoRegions();
    const cp = await pinBoth(dir);
    const folder = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08';
    const log = `${folder}/111122223333_CloudTrail_us-east-1_20250108T0430Z_B5GsKzdAk2jmFCXv.json.gz`;
    applyActions(dir, [edit(log)]);
    const bad = await node(VALIDATE, base(dir, '--regions', 'all', ...trusting(cp), '--end-time', t.end, ...signing(cp)));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`checkpoint written to ${cp}: eu-west-1 up to 2025-01-08T06:00:00Z`);
    expect(bad.stderr).toContain('us-east-1 at 2025-01-08T03:00:00Z');
    expect(await pins(cp)).toEqual(['eu-west-1 2025-01-08T06:00:00Z', 'us-east-1 2025-01-08T03:00:00Z']);
    // Run after run, from the checkpoint it writes: never clean, never advanced.
    for (let i = 0; i < 2; i++) {
      const again = await node(VALIDATE, base(dir, '--regions', 'all', ...trusting(cp), '--output', 'json', '--end-time', t.end, ...signing(cp)));
      expect(again.status).toBe(1);
      expect(report(again).findings.filter((f) => f.severity === 'invalid').map((f) => [f.region, f.key])).toEqual([['us-east-1', log]]);
      expect(await pins(cp)).toEqual(['eu-west-1 2025-01-08T06:00:00Z', 'us-east-1 2025-01-08T03:00:00Z']);
    }
  });

  it('without --checkpoint, a chain that is not clean gets no line, and stderr names it', async () => {
    const { dir } = await twoRegions();
    applyActions(dir, [{ op: 'flip-signature', key: usDigest(5) }]);
    const cp = newFile();
    const r = await node(VALIDATE, base(dir, '--regions', 'all', '--start-time', t.start, '--end-time', t.end, ...signing(cp)));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('left out of the checkpoint (not valid up to the newest digest, and no earlier pin to keep): us-east-1');
    expect(await pins(cp)).toEqual(['eu-west-1 2025-01-08T06:00:00Z']);
  });
});

describe('a checkpoint for another chain is refused (exit 2, naming what it pins)', () => {
  const pinned = `us-east-1 of ${t.trailArn} at s3://${t.bucket}/${usDigest(3)}`;
  async function usOnly(): Promise<{ dir: string; cp: string }> {
    const { dir } = await twoRegions();
    const cp = newFile();
    const r = await node(VALIDATE, base(dir, '--region', 'us-east-1', '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(cp)));
    expect(r.status, r.stderr).toBe(0);
    return { dir, cp };
  }

  it.each([
    ['another region (--region)', ['--region', 'eu-west-1'], /pins no chain this run validates \(eu-west-1 of arn:aws:cloudtrail:us-east-1:111122223333:trail\/sample-trail\): it pins /],
    ['another region (--regions LIST)', ['--regions', 'eu-west-1,eu-west-2'], /pins no chain this run validates \(eu-west-1, eu-west-2 of .*\): it pins /],
    ['another trail', ['--trail-arn', 'arn:aws:cloudtrail:us-east-1:111122223333:trail/other-trail'], /pins no chain this run validates \(us-east-1 of arn:aws:cloudtrail:us-east-1:111122223333:trail\/other-trail\): it pins /],
    ['another bucket', ['--s3-bucket', 'other-bucket'], /pins the us-east-1 chain at s3:\/\/sample-bucket\/AWSLogs\/111122223333\/.*, not a digest of the chain validated \(s3:\/\/other-bucket\/AWSLogs\/111122223333\/CloudTrail-Digest\/us-east-1\/\)/],
    ['another account', ['--account-id', '444455556666'], /pins the us-east-1 chain at s3:\/\/sample-bucket\/AWSLogs\/111122223333\/.*, not a digest of the chain validated \(s3:\/\/sample-bucket\/AWSLogs\/444455556666\/CloudTrail-Digest\/us-east-1\/\)/],
    ['another prefix', ['--s3-prefix', 'elsewhere'], /not a digest of the chain validated \(s3:\/\/sample-bucket\/elsewhere\/AWSLogs\//],
  ])('%s', async (_, flags, message) => {
    const { dir, cp } = await usOnly();
    // Later flags win: the run's scope is changed and nothing else.
    const r = await node(VALIDATE, [...base(dir, ...trusting(cp), '--end-time', t.end, '--output', 'json'), ...flags]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    if (String(message).includes('it pins')) expect(r.stderr).toContain(pinned);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('no false rollback: a range that does not hold the pinned digest', () => {
  /** The sample alone, pinned at 03:00 (validated up to 02:00) or at 06:00 (the whole day). */
  async function pinned(end: string): Promise<{ dir: string; cp: string }> {
    const c = copySample();
    cleanups.push(c.cleanup);
    const cp = newFile();
    const r = await node(VALIDATE, base(c.dir, '--start-time', t.start, '--end-time', end, ...signing(cp)));
    expect(r.status, r.stderr).toBe(0);
    return { dir: c.dir, cp };
  }
  const json = (dir: string, cp: string, start: string, end: string): Promise<Run> => node(VALIDATE, base(dir, ...trusting(cp), '--start-time', start, '--end-time', end, '--output', 'json'));

  it('--start-time after the pin on an untouched bucket: exit 0, no checkpoint finding; the checkpoint advances', async () => {
    const { dir, cp } = await pinned('2025-01-08T02:00:00Z');
    const r = await json(dir, cp, '2025-01-08T04:30:00Z', t.end);
    expect(r.status, r.stdout).toBe(0);
    expect(report(r).findings.filter((f) => f.code.startsWith('CHECKPOINT'))).toEqual([]);
    const out = await node(VALIDATE, base(dir, ...trusting(cp), '--start-time', '2025-01-08T04:30:00Z', '--end-time', t.end, ...signing(cp)));
    expect(out.status).toBe(0);
    expect(await pins(cp)).toEqual(['us-east-1 2025-01-08T06:00:00Z']);
  });

  it.each<[string, string, (dir: string) => Action[]]>([
    ['the pinned digest rewritten (a log it lists edited, signed again)', 'CHECKPOINT_MISMATCH', (dir) => [edit(sampleLog(dir, '0215')), { op: 'resign-digest', key: usDigest(3) }]],
    ['the pinned digest deleted', 'CHECKPOINT_MISMATCH', () => [{ op: 'delete', key: usDigest(3) }]],
    ['a digest between the pin and the range deleted', 'CHECKPOINT_MISMATCH', () => [{ op: 'delete', key: usDigest(4) }]],
  ])('--start-time after the pin, %s: %s, exit 1', async (_, code, actions) => {
    const { dir, cp } = await pinned('2025-01-08T02:00:00Z');
    applyActions(dir, actions(dir));
    const r = await json(dir, cp, '2025-01-08T04:30:00Z', t.end);
    expect(r.status, r.stdout).toBe(1);
    expect(invalid(r)).toEqual([`us-east-1 ${code}`]);
  });

  it('--start-time after the pin, logs after the pin are not read (only digests, back to the pin)', async () => {
    const { dir, cp } = await pinned('2025-01-08T02:00:00Z');
    // A log of 04:10 (listed by the 05:00 digest, outside the range) edited: not this run's business.
    applyActions(dir, [edit(sampleLog(dir, '0410'))]);
    const r = await json(dir, cp, '2025-01-08T05:30:00Z', t.end);
    expect(r.status, r.stdout).toBe(0);
  });

  it('--end-time before the pin on an untouched bucket: exit 0, no rollback; the checkpoint is not moved back', async () => {
    const { dir, cp } = await pinned(t.end);
    const r = await json(dir, cp, t.start, '2025-01-08T02:00:00Z');
    expect(r.status, r.stdout).toBe(0);
    expect(report(r).findings.filter((f) => f.code.startsWith('CHECKPOINT'))).toEqual([]);
    const out = await node(VALIDATE, base(dir, ...trusting(cp), '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(cp)));
    expect(out.status).toBe(0);
    expect(await pins(cp)).toEqual(['us-east-1 2025-01-08T06:00:00Z']);
  });

  it.each<[string, string, string[], (dir: string) => Action[]]>([
    ['the pinned digest rewritten', 'CHECKPOINT_MISMATCH', [], (dir) => [edit(sampleLog(dir, '0545')), { op: 'resign-digest', key: usDigest(6) }]],
    ['the pinned digest deleted', 'CHECKPOINT_ROLLBACK', [], () => [{ op: 'delete', key: usDigest(6) }]],
    // Their logs remain, hours after the newest digest: the deleted tail is seen by the logs too.
    // Each of those logs, due and listed by no digest, is its own finding beside the deleted tail.
    ['the newest digests deleted', 'CHECKPOINT_ROLLBACK', ['us-east-1 CHAIN_TAIL_MISSING', 'us-east-1 LOG_UNREFERENCED', 'us-east-1 LOG_UNREFERENCED'], () => [4, 5, 6].map((h) => ({ op: 'delete', key: usDigest(h) }))],
    ['a digest between the range and the pin deleted', 'CHECKPOINT_MISMATCH', [], () => [{ op: 'delete', key: usDigest(4) }]],
  ])('--end-time before the pin, %s: %s, exit 1', async (_, code, tail, actions) => {
    const { dir, cp } = await pinned(t.end);
    applyActions(dir, actions(dir));
    const r = await json(dir, cp, t.start, '2025-01-08T02:00:00Z');
    expect(r.status, r.stdout).toBe(1);
    expect(invalid(r)).toEqual([`us-east-1 ${code}`, ...tail]);
  });
});

/** An edit of a log's bytes (its digest then lists another hash). */
const edit = (key: string): Action => ({ op: 'edit-log', key, from: 'eventTime', to: 'eventTimE' });

/** The key of the sample's log delivered at HHMM. */
function sampleLog(dir: string, hhmm: string): string {
  const folder = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08';
  const name = execFileSync('ls', [join(dir, folder)]).toString().split('\n').find((n) => n.includes(`_20250108T${hhmm}Z_`))!;
  return `${folder}/${name}`;
}
