// Never fooled: every object in range is accounted for, and no planted file can hide anything.
// Each class below was a way to make the verifier say "all valid" over tampered data; each test
// builds a trail with the project's generator, tampers with it as an attacker would, and checks
// that the run fails with a finding naming the object. SECURITY.md lists them with their codes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LocalDirectory,
  PublicKeySet,
  createSigner,
  digestKey,
  generateDigests,
  logKey,
  parsePublicKey,
  serializeDigest,
  sha256,
  signString,
  stringToSign,
  toHex,
  verifyTrail,
  type DeliveredLog,
  type DigestRecord,
  type Finding,
  type GeneratedDigest,
  type TrailRef,
} from './helpers/lib.js';
import { createLimiter } from '../src/chain/limit.js';
import { ROOT, putObject } from './helpers/tamper.js';

const H = 3_600_000;
const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
const retired = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key-2.pem'), 'utf8'));
const trail: TrailRef = { accountId: '123456789012', region: 'eu-west-1', trailName: 'main' };
/** 20:00 on a day: chains of a few hours cross midnight, into a second date folder. */
const t0 = Date.UTC(2025, 5, 1, 20);

interface Trail {
  dir: string;
  logs: DeliveredLog[];
  digests: GeneratedDigest[];
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});


function logAt(dir: string, at: number, unique: string, t = trail): DeliveredLog {
  const key = logKey(t, new Date(at), unique);
  const text = JSON.stringify({ Records: [{ eventTime: new Date(at - 60_000).toISOString().replace('.000', '') }] });
  putObject(dir, key, gzipSync(text));
  return { key, deliveredAt: new Date(at), sha256: toHex(sha256(new TextEncoder().encode(text))) };
}

/** A trail of `hours` hourly digests from t0, with two logs delivered in each hour. */
async function makeTrail(hours: number): Promise<Trail> {
  const dir = mkdtempSync(join(tmpdir(), 'vl-fooled-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const logs: DeliveredLog[] = [];
  for (let h = 0; h < hours; h++) {
    logs.push(logAt(dir, t0 + h * H + 10 * 60_000, `LOGa${String(h).padStart(12, '0')}`));
    logs.push(logAt(dir, t0 + h * H + 40 * 60_000, `LOGb${String(h).padStart(12, '0')}`));
  }
  const digests: GeneratedDigest[] = [];
  for await (const d of generateDigests({ trail, bucket: 'b', logs, from: new Date(t0), until: new Date(t0 + hours * H), signer })) digests.push(d);
  for (const d of digests) putObject(dir, d.key, d.gzipped, d.metadata);
  return { dir, logs, digests };
}

/** What an insider holding a signing key does: rewrite a digest's content and sign it again. */
async function resign(dir: string, d: GeneratedDigest, edit: (r: DigestRecord) => void, by = signer): Promise<{ key: string; sha256: string; signature: string }> {
  const record = structuredClone(d.record);
  edit(record);
  const bytes = serializeDigest(record);
  const hash = toHex(sha256(bytes));
  const signature = await signString(by, stringToSign(record, hash));
  putObject(dir, d.key, gzipSync(bytes), { signature, 'signature-algorithm': 'SHA256withRSA' });
  return { key: d.key, sha256: hash, signature };
}

async function verify(dir: string, start: number, end: number, keys = new PublicKeySet([signer.publicKey]), extra: Record<string, unknown> = {}): Promise<Finding[]> {
  const out: Finding[] = [];
  for await (const f of verifyTrail({ source: new LocalDirectory(dir, { bucket: 'b' }), bucket: 'b', trail, keys, start: new Date(start), end: new Date(end), ...extra })) out.push(f);
  return out;
}

const invalid = (fs: Finding[]): Array<[string, string]> => fs.filter((f) => f.severity === 'invalid').map((f) => [f.code, f.key]);

describe('a name is not evidence', () => {
  it('a junk object named like a later digest does not hide a deleted tail, and is itself reported', async () => {
    const { dir, digests, logs } = await makeTrail(6);
    // Delete the newest two digests (their logs stay), plant a year-2099 "digest" of the trail.
    for (const d of digests.slice(-2)) unlinkSync(join(dir, d.key));
    const junk = digestKey(trail, new Date(Date.UTC(2099, 0, 1)));
    putObject(dir, junk, new Uint8Array([1, 2, 3, 4]));
    const found = await verify(dir, t0, t0 + 6 * H + 3 * H);
    const bad = invalid(found);
    expect(bad).toContainEqual(['DIGEST_INVALID_FORMAT', junk]);
    expect(bad.map(([c]) => c)).toContain('CHAIN_TAIL_MISSING');
    // The logs of the deleted hours are each reported: their digests were due.
    for (const l of logs.slice(-4)) expect(bad).toContainEqual(['LOG_UNREFERENCED', l.key]);
  });

  it('a real later digest still ends the question (no false deleted tail)', async () => {
    const { dir } = await makeTrail(6);
    const found = await verify(dir, t0, t0 + 3 * H);
    expect(invalid(found)).toEqual([]);
  });
});

describe('one odd name must not end a listing', () => {
  it('a log named far in the future does not hide a log injected in a later date folder', async () => {
    const { dir } = await makeTrail(8); // 20:00 to 04:00: two date folders
    // A log-shaped name with a 2099 time in the first day's folder (it sorts last in that folder) ...
    const future = logKey(trail, new Date(Date.UTC(2099, 0, 1)), 'FUTUREfuture0001').replace('2099/01/01', '2025/06/01');
    putObject(dir, future, gzipSync('{}'));
    // ... and an injected log in the second day's folder, inside an hour a digest covers.
    const injected = logAt(dir, t0 + 5 * H + 20 * 60_000, 'INJECTEDinjected');
    const bad = invalid(await verify(dir, t0, t0 + 8 * H));
    expect(bad).toContainEqual(['OBJECT_UNEXPECTED', future]);
    expect(bad).toContainEqual(['LOG_UNREFERENCED', injected.key]);
  });
});

describe('every object under the trail folders in range is accounted for', () => {
  it('reports every object whose name is not a CloudTrail log name of the trail', async () => {
    const { dir } = await makeTrail(3);
    const base = logKey(trail, new Date(t0 + H + 15 * 60_000), 'ABCDEFGHabcdefgh');
    const folder = dirname(base);
    const odd = [
      base.replace('ABCDEFGHabcdefgh', 'ABCDEFGHabcdefg'), // 15-character unique part
      base.replace('ABCDEFGHabcdefgh', 'ABCDEFGHabcdefghi'), // 17 characters
      base.replace('.json.gz', '.json'),
      base.replace('.json.gz', '.JSON.GZ'),
      base.replace('_CloudTrail_eu-west-1_', '_CloudTrail_us-east-1_'), // another region in the name
      base.replace('123456789012_CloudTrail', '999999999999_CloudTrail'), // another account
      `${folder}/sub/${base.split('/').at(-1)}`, // a subfolder
      `${folder}/notes.txt`,
      base.replace('20250601T2115Z', '20250602T2115Z'), // a time that is not its folder's date
    ];
    for (const k of odd) putObject(dir, k, gzipSync('{"Records":[]}'));
    const digestOdd = digestKey(trail, new Date(t0 + 2 * H)).replace('.json.gz', '.txt');
    putObject(dir, digestOdd, new Uint8Array([0]));
    const bad = invalid(await verify(dir, t0, t0 + 3 * H));
    for (const k of [...odd, digestOdd]) expect(bad).toContainEqual(['OBJECT_UNEXPECTED', k]);
  });

  it('reports a listed digest that a re-signed link skips, and the logs only it listed', async () => {
    const { dir, digests, logs } = await makeTrail(6);
    const [d4, , d6] = digests.slice(3);
    // An insider relinks the newest digest past its predecessor.
    await resign(dir, d6!, (r) => {
      r.previousDigestS3Object = d4!.key;
      r.previousDigestHashValue = d4!.sha256;
      r.previousDigestSignature = d4!.signature;
    });
    const bad = invalid(await verify(dir, t0, t0 + 6 * H));
    expect(bad).toContainEqual(['DIGEST_UNREACHED', digests[4]!.key]);
    expect(bad).toContainEqual(['DIGEST_TIME_INVALID', d6!.key]); // its start does not follow d4's end
    for (const l of logs.slice(8, 10)) expect(bad).toContainEqual(['LOG_UNREFERENCED', l.key]);
  });

  it('reports a loop of links, and still walks every digest', async () => {
    const { dir, digests } = await makeTrail(4);
    const newest = digests.at(-1)!;
    await resign(dir, newest, (r) => {
      r.previousDigestS3Object = newest.key;
    });
    const found = await verify(dir, t0, t0 + 4 * H);
    expect(invalid(found)).toContainEqual(['CHAIN_LOOP', newest.key]);
    expect(found.filter((f) => f.code === 'DIGEST_VALID').map((f) => f.key)).toEqual(digests.slice(0, 3).map((d) => d.key).reverse());
    expect(found.map((f) => f.code)).not.toContain('DIGEST_UNREACHED');
  });
});

describe('logs no digest vouches for', () => {
  it('a log delivered inside a chain gap is INVALID, and the gap counts it', async () => {
    const { dir, digests } = await makeTrail(2);
    // Logging "stops" at t0 + 2h and restarts at t0 + 5h with a starting digest.
    const inGap = logAt(dir, t0 + 3 * H + 5 * 60_000, 'GAPgapGAPgapGAP1');
    const restart = logAt(dir, t0 + 5 * H + 30 * 60_000, 'RESTARTrestart01');
    for await (const d of generateDigests({ trail, bucket: 'b', logs: [restart], from: new Date(t0 + 5 * H), until: new Date(t0 + 6 * H), signer })) putObject(dir, d.key, d.gzipped, d.metadata);
    const found = await verify(dir, t0, t0 + 6 * H);
    expect(invalid(found)).toEqual([['LOG_UNREFERENCED', inGap.key]]);
    const gap = found.find((f) => f.code === 'CHAIN_GAP')!;
    expect(gap.logs).toBe(1);
    expect(gap.message).not.toMatch(/No log files were delivered/);
    expect(digests).toHaveLength(2);
  });

  it('logs after the newest digest are reported once their digest was due, even within the tail grace', async () => {
    const { dir, digests, logs } = await makeTrail(6);
    unlinkSync(join(dir, digests.at(-1)!.key)); // the newest digest is deleted; its two logs stay
    // The range ends 2 h after the deleted digest was due: its logs are reported, though fewer
    // than --tail-grace hours of logs follow the newest digest.
    const bad = invalid(await verify(dir, t0, t0 + 8 * H));
    for (const l of logs.slice(-2)) expect(bad).toContainEqual(['LOG_UNREFERENCED', l.key]);
    expect(bad.map(([c]) => c)).toContain('CHAIN_TAIL_MISSING');
    // Before that, they are not due yet: nothing is reported.
    expect(invalid(await verify(dir, t0, t0 + 6 * H))).toEqual([]);
  });
});

describe('what an insider re-signing leaves behind', () => {
  it('a start after the end, an end that is not the name time, a window reaching back hours', async () => {
    const edits: Array<[string, (r: DigestRecord, older: GeneratedDigest[]) => void]> = [
      ['start after end', (r) => (r.digestStartTime = '2025-06-02T03:00:00Z')],
      ['end is not its name', (r) => (r.digestEndTime = '2025-06-02T00:30:00Z')],
      [
        'window reaching back to sweep in older logs',
        (r, older) => {
          r.digestStartTime = '2025-06-01T20:00:00Z';
          r.logFiles = [...r.logFiles, ...older[1]!.record.logFiles];
        },
      ],
    ];
    for (const [, edit] of edits) {
      const { dir, digests } = await makeTrail(4);
      const newest = digests.at(-1)!;
      await resign(dir, newest, (r) => edit(r, digests));
      const bad = invalid(await verify(dir, t0, t0 + 4 * H));
      expect(bad[0]).toEqual(['DIGEST_TIME_INVALID', newest.key]);
    }
  });

  it('key validity is judged from where the digest lies, not from its back-dated fields', async () => {
    const { dir, digests } = await makeTrail(4);
    const newest = digests.at(-1)!;
    // The retired key was valid until t0 + 2h; the newest digest (t0 + 4h) is re-signed with it,
    // its times back-dated into the key's window.
    await resign(
      dir,
      newest,
      (r) => {
        r.digestStartTime = '2025-06-01T20:30:00Z';
        r.digestEndTime = '2025-06-01T21:30:00Z';
        r.digestPublicKeyFingerprint = retired.publicKey.fingerprint;
      },
      retired,
    );
    const keys = new PublicKeySet([signer.publicKey, parsePublicKey(retired.publicKey.der, { validFrom: new Date(t0 - 30 * 24 * H), validTo: new Date(t0 + 2 * H) })]);
    expect(invalid(await verify(dir, t0, t0 + 4 * H, keys))[0]).toEqual(['DIGEST_KEY_NOT_VALID', newest.key]);
  });

  it('a log listed twice in one digest, or by two digests', async () => {
    const { dir, digests } = await makeTrail(4);
    const [, d2, d3, d4] = digests;
    const once = d2!.record.logFiles[0]!;
    // d4 lists one of its own logs twice, and one of d2's; re-signed, and relinked from nothing (newest).
    const twice = d4!.record.logFiles[0]!;
    const moved = { ...once };
    await resign(dir, d4!, (r) => (r.logFiles = [...r.logFiles, twice, moved]));
    const bad = invalid(await verify(dir, t0, t0 + 4 * H));
    expect(bad).toContainEqual(['LOG_DUPLICATE', twice.s3Object]);
    // d2's log listed by d4 too: outside d4's window, so misplaced; or listed again.
    expect(bad.some(([c, k]) => k === once.s3Object && (c === 'LOG_MISPLACED' || c === 'LOG_DUPLICATE'))).toBe(true);
    expect(d3).toBeDefined();
  });

  it('a log listed twice in one digest, there or not, is told apart from one listed by another digest', async () => {
    const { dir, digests } = await makeTrail(4);
    const [, d2, , d4] = digests;
    const once = d2!.record.logFiles[0]!;
    const own = d4!.record.logFiles[1]!;
    // A log of d4's hour that is not in storage, listed first and again at the end; one of d4's
    // own listed again after the others; and one of d2's, which d2 then lists too.
    const gone = { ...own, s3Object: logKey(trail, new Date(t0 + 3 * H + 20 * 60_000), 'GONE000000000000') };
    await resign(dir, d4!, (r) => (r.logFiles = [gone, ...r.logFiles, own, gone, { ...once }]));
    const again = (await verify(dir, t0, t0 + 4 * H)).filter((f) => f.code === 'LOG_DUPLICATE');
    const said = (key: string): string[] => again.filter((f) => f.key === key).map((f) => f.message);
    expect(said(gone.s3Object)).toEqual([expect.stringContaining('twice in this digest')]);
    expect(said(own.s3Object)).toEqual([expect.stringContaining('twice in this digest')]);
    expect(said(once.s3Object)).toEqual([expect.stringContaining('another digest of this chain lists it too')]);
    expect(again).toHaveLength(3);
  });

  it('a log of another account, region or folder, or delivered outside the digest window', async () => {
    const { dir, digests } = await makeTrail(3);
    const newest = digests.at(-1)!;
    const otherRegion = logAt(dir, t0 + 2 * H + 20 * 60_000, 'OTHERregionOTHER', { ...trail, region: 'us-east-1' });
    const otherAccount = logAt(dir, t0 + 2 * H + 20 * 60_000, 'OTHERaccountOTHR', { ...trail, accountId: '999999999999' });
    const early = logAt(dir, t0 + 20 * 60_000, 'EARLYearlyEARLY1');
    const entry = (l: DeliveredLog) => ({ s3Bucket: 'b', s3Object: l.key, hashValue: l.sha256, hashAlgorithm: 'SHA-256', newestEventTime: null, oldestEventTime: null });
    await resign(dir, newest, (r) => (r.logFiles = [...r.logFiles, entry(otherRegion), entry(otherAccount), entry(early)]));
    const bad = invalid(await verify(dir, t0, t0 + 3 * H));
    for (const l of [otherRegion, otherAccount, early]) expect(bad).toContainEqual(['LOG_MISPLACED', l.key]);
  });
});

describe('special files and links: each a finding, never a hang, never hiding anything', () => {
  it('a symbolically linked date folder is listed as it is read: a log injected in it is reported', async () => {
    const { dir } = await makeTrail(8); // two date folders
    const { renameSync, symlinkSync } = await import('node:fs');
    const day2 = join(dir, dirname(logKey(trail, new Date(t0 + 5 * H), 'x'.repeat(16))));
    const injected = logAt(dir, t0 + 5 * H + 25 * 60_000, 'INJECTEDviaLINK1');
    // The date folder really lives elsewhere in the copy (outside the trail's folders).
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    renameSync(day2, join(elsewhere, 'day2'));
    symlinkSync(join(elsewhere, 'day2'), day2);
    const bad = invalid(await verify(dir, t0, t0 + 8 * H));
    expect(bad).toEqual([['LOG_UNREFERENCED', injected.key]]);
  });

  it('a FIFO in place of a listed log, and a link loop in a date folder: findings, and the run ends', async () => {
    const { dir, logs } = await makeTrail(3);
    const { execFileSync } = await import('node:child_process');
    const { symlinkSync } = await import('node:fs');
    unlinkSync(join(dir, logs[2]!.key));
    execFileSync('mkfifo', [join(dir, logs[2]!.key)]);
    const loop = `${dirname(logs[3]!.key)}/loop`;
    symlinkSync('.', join(dir, loop));
    const bad = invalid(await verify(dir, t0, t0 + 3 * H));
    expect(bad).toContainEqual(['LOG_UNREADABLE', logs[2]!.key]);
    expect(bad.some(([c, k]) => c === 'OBJECT_UNREADABLE' && k.startsWith(loop))).toBe(true);
  }, 20_000);
});

describe('smaller defects', () => {
  it('createLimiter gives back the slot of a task that throws synchronously', { timeout: 2000 }, async () => {
    const limit = createLimiter(1);
    await expect(
      limit(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(limit(async () => 'next')).resolves.toBe('next');
  });
});
