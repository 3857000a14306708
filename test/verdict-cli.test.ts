// The verdict never hides, as a user runs the command: an end in the future is the present
// moment (validate-logs, plan, a shard's manifest), the text summary names every chain-level
// finding (a checkpoint rewritten or rolled back), and the hints send the user the right way
// (a mistyped trail name, a rollback, --allow-empty given, a digest without its signature).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VALIDATE, WRITE, node, sampleArgs } from './helpers/cli.js';
import { sampleCopies } from './helpers/sample-copies.js';
import { ROOT, applyActions, setDeliveryTimes, tampering } from './helpers/tamper.js';

const t = tampering.trail;
const FOLDER = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08';
const digest = (hour: number): string => `${FOLDER}/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T0${hour}0000Z.json.gz`;
const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/;
const sampleCopy = sampleCopies();
/** The sample's arguments without --end-time (and with another trail ARN, when given). */
function argsWithout(dir: string, end: string[], arn = t.trailArn): string[] {
  const args = sampleArgs(dir);
  args.splice(args.indexOf('--end-time'), 2, ...end);
  args[args.indexOf('--trail-arn') + 1] = arn;
  return args;
}
/** The time a note says the run was moved to, checked to lie within the run. */
function movedTo(stderr: string, given: string, doing: string, before: number, after: number): string {
  const notes = stderr.split('\n').filter((l) => l.includes(`--end-time ${given} is in the future`));
  expect(notes, stderr).toHaveLength(1);
  const now = new RegExp(`: ${doing} up to now, (${ISO.source})`).exec(notes[0]!)?.[1];
  expect(now, notes[0]).toBeDefined();
  expect(Date.parse(now!)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  expect(Date.parse(now!)).toBeLessThanOrEqual(after);
  return now!;
}

describe('an --end-time in the future is the present moment', () => {
  const tomorrow = new Date(Date.now() + 24 * 3_600_000).toISOString().slice(0, 19) + 'Z';
  it.each(['9999-12-31T23:59:59Z', '9999-12-31', tomorrow])('validate-logs --end-time %s: the sample is valid, and stderr says so once', async (end) => {
    const before = Date.now();
    const r = await node(VALIDATE, argsWithout(join(ROOT, t.localDir), ['--end-time', end]));
    const now = movedTo(r.stderr, end, 'validating', before, Date.now());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`between ${t.start} and ${now}\n`);
    expect(r.stdout).toContain(`Results requested for ${t.start} to ${now}\nResults found for ${t.start} to ${t.end}:\n\n6/6 digest files valid\n10/10 log files valid\n`);
    expect(r.stderr.replace(/^validate-logs: note: --end-time .*\n/m, '')).toBe('');
  });

  it('the JSON report names the present moment as its end, and finds nothing injected', async () => {
    const before = Date.now();
    const r = await node(VALIDATE, argsWithout(join(ROOT, t.localDir), ['--end-time', '9999-12-31T23:59:59Z', '--output', 'json']));
    const now = movedTo(r.stderr, '9999-12-31T23:59:59Z', 'validating', before, Date.now());
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; request: { endTime: string }; findings: Array<{ severity: string }> };
    expect(report.request.endTime).toBe(now);
    expect(report.ok).toBe(true);
    expect(report.findings.filter((f) => f.severity !== 'valid')).toEqual([]);
  });

  it('a start in the future is a usage error naming it', async () => {
    for (const end of [[], ['--end-time', '9999-12-31']]) {
      const args = argsWithout(join(ROOT, t.localDir), end);
      args[args.indexOf('--start-time') + 1] = '9999-01-01';
      const r = await node(VALIDATE, args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--start-time 9999-01-01T00:00:00Z is in the future/);
    }
  });

  describe('plan and a shard', () => {
    let work: string;
    beforeAll(() => void (work = mkdtempSync(join(tmpdir(), 'vl-verdict-plan-'))));
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('plan ends the manifest at the present moment; a shard refuses a manifest that ends in the future', async () => {
      const manifest = join(work, 'manifest.jsonl');
      const before = Date.now();
      const plan = await node(VALIDATE, ['plan', '--s3-bucket', t.bucket, '--local-dir', join(ROOT, t.localDir), '--start-time', t.start, '--end-time', '9999-12-31T23:59:59Z', '--manifest', manifest]);
      const now = movedTo(plan.stderr, '9999-12-31T23:59:59Z', 'planning', before, Date.now());
      expect(plan.status, plan.stderr).toBe(0);
      const items = readFileSync(manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { end: string; chainEnd: string });
      expect(items.map((i) => [i.end, i.chainEnd])).toEqual([[now, now]]);
      // The shard of that manifest runs; the same line ending in the future (written by hand) is refused.
      const ok = await node(VALIDATE, ['--manifest', manifest, '--shard-index', '0', '--local-dir', join(ROOT, t.localDir), '--public-keys', join(ROOT, t.publicKeys)]);
      expect(ok.status, ok.stderr).toBe(0);
      for (const future of ['9999-12-31T00:00:00Z', new Date(Date.now() + 3_600_000).toISOString().slice(0, 19) + 'Z']) {
        const edited = join(work, 'future.jsonl');
        writeFileSync(edited, readFileSync(manifest, 'utf8').replaceAll(`"${now}"`, `"${future}"`));
        const r = await node(VALIDATE, ['--manifest', edited, '--shard-index', '0', '--local-dir', join(ROOT, t.localDir), '--public-keys', join(ROOT, t.publicKeys)]);
        expect(r.status).toBe(2);
        expect(r.stderr).toBe(`validate-logs: error: ${edited} line 1: the chain's window ends at ${future}, in the future: make the manifest again with "validate-logs plan", which ends it at the present moment\n`);
      }
    });
  });
});

describe('hints that send the user the right way', () => {
  const wrong = t.trailArn.replace('sample-trail', 'sample-trial');
  it('a mistyped trail name: names the trails that have digests there, not --allow-empty', async () => {
    const dir = sampleCopy();
    const r = await node(VALIDATE, argsWithout(dir, ['--end-time', t.end], wrong));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`validate-logs: no digest file of trail "sample-trial" was found from ${t.start} on, but its digest folder holds digests of other trails: "sample-trail"; check the trail name in --trail-arn\n`);
    expect(r.stderr).not.toContain('--allow-empty');
    // Accepted as empty, the run passes, and still says so (as a note).
    const allowed = await node(VALIDATE, argsWithout(dir, ['--end-time', t.end, '--allow-empty'], wrong));
    expect(allowed.status).toBe(0);
    expect(allowed.stderr).toContain('validate-logs: note: no digest file of trail "sample-trial" was found');
    expect(allowed.stderr).toContain('"sample-trail"');
    expect(allowed.stderr).not.toContain('--allow-empty');
  });

  it('the right trail name, a range before its digests: --allow-empty to accept; given, no hint at all', async () => {
    const dir = sampleCopy();
    const early = argsWithout(dir, ['--end-time', '2024-06-02T00:00:00Z']);
    early[early.indexOf('--start-time') + 1] = '2024-06-01T00:00:00Z';
    const r = await node(VALIDATE, early);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('nothing was validated (--allow-empty to accept)\n');
    expect(r.stderr).not.toContain('other trails');
    const allowed = await node(VALIDATE, [...early, '--allow-empty']);
    expect(allowed.status).toBe(0);
    expect(allowed.stderr).not.toContain('--allow-empty');
  });

  it('a digest without its signature says DIGEST_SIGNATURE_MISSING in words, not "signature verification failed"', async () => {
    const dir = sampleCopy();
    applyActions(dir, tampering.cases.find((c) => c.name.startsWith('no signature metadata'))!.actions);
    const r = await node(VALIDATE, sampleArgs(dir));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`Digest file\ts3://${t.bucket}/${digest(6)}\tINVALID: signature not found: no signature metadata`);
    expect(r.stderr).not.toContain('signature verification failed');
    // A signature that is there and wrong still has the AWS CLI's words.
    const flipped = sampleCopy();
    applyActions(flipped, [{ op: 'flip-signature', key: digest(6) }]);
    expect((await node(VALIDATE, sampleArgs(flipped))).stderr).toContain(`${digest(6)}\tINVALID: signature verification failed\n`);
  });
});

describe('the summary names every chain-level finding (checkpoints)', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'vl-verdict-cp-'));
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(work, 'log.pem')]);
    execFileSync('openssl', ['pkey', '-in', join(work, 'log.pem'), '-pubout', '-out', join(work, 'log.pub.pem')]);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const base = (dir: string): string[] => ['--trail-arn', t.trailArn, '--local-dir', dir, '--s3-bucket', t.bucket, '--public-keys', join(ROOT, t.publicKeys)];
  /** Validate up to 02:00 and pin the newest digest (03:00); then the same chain from that checkpoint on, up to 06:00. */
  async function pinned(dir: string): Promise<string[]> {
    const cp = join(work, `cp-${Math.random().toString(36).slice(2)}.note`);
    const first = await node(VALIDATE, [...base(dir), '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', '--checkpoint-out', cp, '--checkpoint-key', join(work, 'log.pem'), '--checkpoint-name', 'example.com/log']);
    expect(first.status, first.stderr).toBe(0);
    return [...base(dir), '--checkpoint', cp, '--checkpoint-public-key', `example.com/log=${join(work, 'log.pub.pem')}`, '--end-time', t.end];
  }

  it('history rewritten after the checkpoint: the counts are all valid, and the summary says CHECKPOINT_MISMATCH', async () => {
    const dir = sampleCopy();
    const args = await pinned(dir);
    // The key holder edits a log the pinned digest lists and writes the whole chain again: every
    // digest is correctly signed and linked, every log matches; only the checkpoint tells.
    const folder = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08';
    const log = execFileSync('ls', [join(dir, folder)]).toString().split('\n').find((n) => n.includes('_20250108T02'))!;
    applyActions(dir, [{ op: 'edit-log', key: `${folder}/${log}`, from: 'eventTime', to: 'eventTimE' }]);
    setDeliveryTimes(dir);
    for (const h of [1, 2, 3, 4, 5, 6]) for (const f of [digest(h), `${digest(h)}.metadata.json`]) unlinkSync(join(dir, f));
    const written = await node(WRITE, [
      '--local-dir', dir, '--s3-bucket', t.bucket, '--account-id', '111122223333', '--region', 'us-east-1', '--trail-name', 'sample-trail',
      '--private-key', join(ROOT, 'vectors', 'test-key.pem'), '--until', t.end,
    ]);
    expect(written.status, written.stderr).toBe(0);
    const r = await node(VALIDATE, args);
    expect(r.status).toBe(1);
    const summary = r.stdout.slice(r.stdout.indexOf('Results requested'));
    expect(summary).toMatch(/\n(\d+)\/\1 digest files valid\n(\d+)\/\2 log files valid\n1 CHECKPOINT_MISMATCH INVALID \(the chain does not lead back to the digest a checkpoint pins: history rewritten after the checkpoint was taken\)\n$/);
    expect(r.stderr).toContain(`Digest chain\ts3://${t.bucket}/${digest(3)}\tINVALID: `);
  });

  it('the newest digests deleted after the checkpoint: "No digests found" and CHECKPOINT_ROLLBACK, never --allow-empty', async () => {
    const dir = sampleCopy();
    const args = await pinned(dir);
    for (const h of [3, 4, 5, 6]) for (const f of [digest(h), `${digest(h)}.metadata.json`]) unlinkSync(join(dir, f));
    // With --allow-empty, and with an end before the pinned digest (the newest left ends at 02:00).
    for (const extra of [[], ['--allow-empty'], ['--end-time', '2025-01-08T02:00:00Z']]) {
      const r = await node(VALIDATE, [...args, ...extra]);
      expect(r.status, r.stderr).toBe(1);
      const summary = r.stdout.slice(r.stdout.indexOf('Results requested'));
      expect(summary).toMatch(/^Results requested for .*\nNo digests found\n(.*\n)*1 CHECKPOINT_ROLLBACK INVALID \(the newest digests, the one a checkpoint pins included, were deleted after the checkpoint was taken\)\n$/);
      expect(r.stderr).not.toContain('--allow-empty');
    }
  });
});
