// validate-logs cosign end to end: the built command, real files, real exit codes.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  formatNoteSignerKey,
  formatNoteVerifierKey,
  generateNoteSignerKey,
  noteSignerKeyFromPem,
  parseCheckpoint,
  signCheckpoint,
  verifyNote,
  type CheckpointChain,
  type NoteSignerKey,
} from '../src/checkpoint.js';
import { parseDigest } from '../src/index.js';
import { loopbackEnv, startS3, uploadDir } from './helpers/aws.js';
import { VALIDATE, node } from './helpers/cli.js';
import { applyActions, copySample, tampering } from './helpers/tamper.js';
import { openssl } from './helpers/tools.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const ARN = tampering.trail.trailArn;
const FOLDER = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08';
let work: string;
let logKey: NoteSignerKey;
let logPub: string;
let witnessFile: string;
let witness: NoteSignerKey;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vl-cosign-'));
  const pem = join(work, 'log.pem');
  logPub = join(work, 'log.pub.pem');
  openssl(['genpkey', '-algorithm', 'ed25519', '-out', pem]);
  openssl(['pkey', '-in', pem, '-pubout', '-out', logPub]);
  logKey = await noteSignerKeyFromPem(readFileSync(pem, 'utf8'), 'example.com/log', pem);
  witness = await generateNoteSignerKey('example.com/witness');
  witnessFile = join(work, 'witness.key');
  writeFileSync(witnessFile, formatNoteSignerKey(witness) + '\n');
  return () => rmSync(work, { recursive: true, force: true });
});

function bucketCopy(): string {
  const c = copySample();
  cleanups.push(c.cleanup);
  return c.dir;
}
function digestKey(hour: number): string {
  return `${FOLDER}/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T0${hour}0000Z.json.gz`;
}
function pin(dir: string, hour: number): CheckpointChain {
  const d = parseDigest(new Uint8Array(gunzipSync(readFileSync(join(dir, digestKey(hour))))));
  return { trailArn: ARN, region: 'us-east-1', bucket: tampering.trail.bucket, key: digestKey(hour), endTime: d.record.digestEndTime, sha256: d.sha256 };
}
/** Write a checkpoint note signed by the given keys; returns its path. */
async function checkpoint(name: string, chains: CheckpointChain[], signers: NoteSignerKey[] = [logKey]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'vl-cp-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, await signCheckpoint({ chains, reportSha256: 'c'.repeat(64) }, signers));
  return path;
}
async function parseCheckpointNote(path: string): Promise<ReturnType<typeof parseCheckpoint>> {
  return parseCheckpoint((await verifyNote(readFileSync(path), [logKey])).text);
}
function cosign(newFile: string, extra: string[]): ReturnType<typeof node> {
  return node(VALIDATE, ['cosign', '--checkpoint', newFile, '--checkpoint-public-key', `example.com/log=${logPub}`, '--key', witnessFile, ...extra]);
}

describe('validate-logs cosign', () => {
  it('cosigns a checkpoint that extends the previous one, appending its line atomically', async () => {
    const dir = bucketCopy();
    const old = await checkpoint('old.note', [pin(dir, 3)]);
    const now = await checkpoint('new.note', [pin(dir, 6)]);
    const before = readFileSync(now, 'utf8');
    const r = await cosign(now, ['--previous', old, '--local-dir', dir]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^cosigned .*new\.note as example\.com\/witness\+[0-9a-f]{8}: every chain pinned by .*old\.note is extended \(1 chain, 3 links followed\)\n$/);
    const after = readFileSync(now, 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(after.split('\n').filter((l) => l.startsWith('\u2014 '))).toHaveLength(2);
    expect((await verifyNote(after, [logKey, witness])).verified).toHaveLength(2);
    expect(readdirSync(join(now, '..'))).toEqual(['new.note']);
    // Again: the same line replaces itself (Ed25519 is deterministic), nothing else changes.
    expect((await cosign(now, ['--previous', old, '--local-dir', dir])).status).toBe(0);
    expect(readFileSync(now, 'utf8')).toBe(after);
  });

  it('takes the log key as Go key text too, and writes to --out', async () => {
    const dir = bucketCopy();
    const old = await checkpoint('old.note', [pin(dir, 2)]);
    const now = await checkpoint('new.note', [pin(dir, 2)]);
    const out = join(work, 'out.note');
    const r = await node(VALIDATE, ['cosign', '--checkpoint', now, '--previous', old, '--checkpoint-public-key', formatNoteVerifierKey(logKey), '--key', witnessFile, '--name', 'example.com/witness', '--local-dir', dir, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/is extended \(1 chain, 0 links followed\)/);
    expect((await verifyNote(readFileSync(out, 'utf8'), [logKey, witness])).text).toBe((await verifyNote(readFileSync(now), [logKey])).text);
  });

  const refusals: Array<{ name: string; setup: (dir: string) => Promise<{ old: string; now: string; extra?: string[] }>; why: RegExp }> = [
    {
      name: 'history rewritten and re-signed by the key holder at the pinned digest',
      setup: async (dir) => {
        const r = { old: await checkpoint('old.note', [pin(dir, 3)]), now: '' };
        // A log of hour 3 changed, its digest re-signed with the real key.
        const log = readdirSync(join(dir, 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08')).find((n) => n.includes('T0215Z'))!;
        writeFileSync(join(dir, 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08', log), gzipSync('{"Records":[]}'));
        applyActions(dir, [{ op: 'resign-digest', key: digestKey(3) }]);
        expect(pin(dir, 3).sha256).not.toBe((await parseCheckpointNote(r.old)).chains[0]!.sha256);
        return { ...r, now: await checkpoint('new.note', [pin(dir, 6)]) };
      },
      why: /does not extend .* for the chain arn:aws:cloudtrail:us-east-1:111122223333:trail\/sample-trail us-east-1: mismatch: .*20250108T030000Z/,
    },
    {
      name: 'the newest digests deleted (a rollback)',
      setup: async (dir) => ({ old: await checkpoint('old.note', [pin(dir, 5)]), now: await checkpoint('new.note', [pin(dir, 3)]) }),
      why: /rollback: the newest digest .*20250108T030000Z.* ends at 2025-01-08T03:00:00Z, before the pinned digest/,
    },
    {
      name: 'a link broken on the way',
      setup: async (dir) => {
        const r = { old: await checkpoint('old.note', [pin(dir, 2)]), now: await checkpoint('new.note', [pin(dir, 6)]) };
        applyActions(dir, [{ op: 'delete', key: digestKey(4) }]);
        return r;
      },
      why: /broken: .*20250108T040000Z\.json\.gz, linked from .*20250108T050000Z\.json\.gz, is not found/,
    },
    {
      name: 'a chain dropped',
      setup: async (dir) => ({
        old: await checkpoint('old.note', [pin(dir, 2), { ...pin(dir, 2), region: 'eu-west-1', key: pin(dir, 2).key.replaceAll('us-east-1_sample', 'eu-west-1_sample').replace('/us-east-1/', '/eu-west-1/') }]),
        now: await checkpoint('new.note', [pin(dir, 6)]),
      }),
      why: /drops the chain .* eu-west-1/,
    },
    {
      name: 'the new checkpoint not signed by the log key',
      setup: async (dir) => ({ old: await checkpoint('old.note', [pin(dir, 2)]), now: await checkpoint('new.note', [pin(dir, 6)], [await generateNoteSignerKey('example.com/log')]) }),
      why: /new\.note is not signed by key example\.com\/log\+[0-9a-f]{8}/,
    },
    {
      name: 'the new checkpoint changed after it was signed',
      setup: async (dir) => {
        const now = await checkpoint('new.note', [pin(dir, 6)]);
        writeFileSync(now, readFileSync(now, 'utf8').replace(`report ${'c'.repeat(64)}`, `report ${'d'.repeat(64)}`));
        return { old: await checkpoint('old.note', [pin(dir, 2)]), now };
      },
      why: /new\.note: the signature of key example\.com\/log\+[0-9a-f]{8} does not verify/,
    },
    {
      name: 'a PEM witness key without --name',
      setup: async (dir) => ({ old: await checkpoint('old.note', [pin(dir, 2)]), now: await checkpoint('new.note', [pin(dir, 6)]), extra: ['--key', join(work, 'log.pem')] }),
      why: /--name is required with a PEM key/,
    },
  ];

  it.each(refusals)('refuses, exit 2, changing nothing: $name', async ({ setup, why }) => {
    const dir = bucketCopy();
    const { old, now, extra = [] } = await setup(dir);
    const before = readFileSync(now, 'utf8');
    const r = await cosign(now, ['--previous', old, '--local-dir', dir, ...extra]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^validate-logs cosign: error: /);
    expect(r.stderr).toMatch(why);
    expect(readFileSync(now, 'utf8')).toBe(before);
    expect(readdirSync(join(now, '..'))).toEqual(['new.note']);
  });

  it('cosigns a first checkpoint with no --previous (signatures only), and says so', async () => {
    const dir = bucketCopy();
    const now = await checkpoint('new.note', [pin(dir, 6)]);
    const r = await cosign(now, []);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no --previous, so no chain was checked/);
    expect((await verifyNote(readFileSync(now), [logKey, witness])).verified).toHaveLength(2);
  });

  it('still runs validate-logs itself, and prints its own help', async () => {
    const help = await node(VALIDATE, ['cosign', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: validate-logs cosign/);
    const usage = await node(VALIDATE, ['cosign', '--checkpoint', 'x']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--checkpoint-public-key is required/);
    const main = await node(VALIDATE, ['--help']);
    expect(main.stdout).toMatch(/^Usage: validate-logs --trail-arn/);
  });

  it('reads the digests from S3 (an S3-compatible endpoint) as validate-logs does', async () => {
    const dir = bucketCopy();
    const s3 = await startS3([tampering.trail.bucket]);
    cleanups.push(() => void s3.close());
    await uploadDir(s3, tampering.trail.bucket, dir);
    const old = await checkpoint('old.note', [pin(dir, 2)]);
    const now = await checkpoint('new.note', [pin(dir, 6)]);
    const env = loopbackEnv('http://127.0.0.1:9'); // no CloudTrail call is made
    const args = ['cosign', '--checkpoint', now, '--previous', old, '--checkpoint-public-key', `example.com/log=${logPub}`, '--key', witnessFile, '--endpoint-url', s3.url];
    const before = readFileSync(now, 'utf8');
    // A digest on the way deleted from the bucket: refused, naming it.
    const gone = await fetch(`${s3.url}/${tampering.trail.bucket}/${digestKey(4)}`, { method: 'DELETE' });
    expect(gone.ok).toBe(true);
    const refused = await node(VALIDATE, args, env);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/broken: s3:\/\/sample-bucket\/.*20250108T040000Z\.json\.gz, linked from .* is not found/);
    expect(readFileSync(now, 'utf8')).toBe(before);
    // Put back, it cosigns.
    await uploadDir(s3, tampering.trail.bucket, dir);
    const r = await node(VALIDATE, args, env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/is extended \(1 chain, 4 links followed\)/);
    expect((await verifyNote(readFileSync(now), [logKey, witness])).verified).toHaveLength(2);
  });
});
