// A walk from a digest pinned by a checkpoint: it reads only what came after it, and an insider
// who rewrites history consistently (re-signing and relinking every later digest), or deletes the
// newest digests, is caught.
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LocalDirectory,
  PublicKeySet,
  createSigner,
  generateDigests,
  logKey,
  sha256,
  toHex,
  verifyTrail,
  type ChainEnds,
  type DeliveredLog,
  type Finding,
  type GeneratedDigest,
  type ObjectSource,
  type PinnedHead,
  type TrailRef,
} from './helpers/lib.js';
import { ROOT, putObject } from './helpers/tamper.js';

const H = 3_600_000;
const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
const keys = new PublicKeySet([signer.publicKey]);
const trail: TrailRef = { accountId: '123456789012', region: 'eu-west-1', trailName: 'main' };
const t0 = Date.UTC(2025, 5, 1);

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});


function writeLog(dir: string, h: number, text: string): DeliveredLog {
  const at = t0 + h * H + 20 * 60_000;
  const key = logKey(trail, new Date(at), `LOG${String(h).padStart(13, '0')}`);
  putObject(dir, key, gzipSync(text));
  return { key, deliveredAt: new Date(at), sha256: toHex(sha256(new TextEncoder().encode(text))) };
}

async function chain(dir: string, logs: DeliveredLog[], from: number, until: number, previous?: GeneratedDigest): Promise<GeneratedDigest[]> {
  const out: GeneratedDigest[] = [];
  const head = previous && { bucket: 'b', key: previous.key, sha256: previous.sha256, signature: previous.signature, endTime: new Date(previous.record.digestEndTime) };
  for await (const d of generateDigests({ trail, bucket: 'b', logs, from: new Date(from), until: new Date(until), signer, ...(head && { previous: head }) })) out.push(d);
  for (const d of out) putObject(dir, d.key, d.gzipped, d.metadata);
  return out;
}

/**
 * What a key holder can do: edit the log of `hour` and write every digest from that hour up to
 * `until` again, correctly hashed, signed and linked to the digest before.
 */
async function rewrite(dir: string, logs: DeliveredLog[], digests: GeneratedDigest[], hour: number, until: number): Promise<void> {
  const edited = [...logs];
  edited[hour] = writeLog(dir, hour, '{"Records":[{"n":"rewritten"}]}');
  await chain(dir, edited.slice(hour), t0 + hour * H, t0 + until * H, digests[hour - 1]);
}

async function makeTrail(hours: number): Promise<{ dir: string; logs: DeliveredLog[]; digests: GeneratedDigest[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'vl-pinned-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const logs = Array.from({ length: hours }, (_, h) => writeLog(dir, h, `{"Records":[{"n":${h}}]}`));
  return { dir, logs, digests: await chain(dir, logs, t0, t0 + hours * H) };
}

async function run(dir: string, start: number, end: number, pinned?: PinnedHead): Promise<{ findings: Finding[]; reads: string[]; ends: ChainEnds }> {
  const local = new LocalDirectory(dir, { bucket: 'b' });
  const reads: string[] = [];
  const source: ObjectSource = { list: (...a) => local.list(...a), get: (b, k, o) => (reads.push(k), local.get(b, k, o)) };
  const findings: Finding[] = [];
  let ends: ChainEnds = {};
  for await (const f of verifyTrail({ source, bucket: 'b', trail, keys, start: new Date(start), end: new Date(end), ...(pinned && { pinned }), onChain: (e) => (ends = e) })) findings.push(f);
  return { findings, reads, ends };
}

const pin = (d: GeneratedDigest): PinnedHead => ({ key: d.key, sha256: d.sha256 });
const bad = (fs: Finding[]): string[] => fs.filter((f) => f.severity === 'invalid').map((f) => f.code);

describe('a walk from a pinned digest', () => {
  it('reads only what came after it, and reports the chain ends', async () => {
    const { dir, logs, digests } = await makeTrail(8);
    const pinned = digests[4]!; // ends at hour 5
    const { findings, reads, ends } = await run(dir, t0 + 5 * H, t0 + 8 * H, pin(pinned));
    expect(bad(findings)).toEqual([]);
    // The pinned digest is read (its bytes are compared), its log is not; the three newer hours' are:
    // each object once (reading ahead never fetches again a digest the walk reached by a link), nothing older.
    expect(reads.filter((k) => k.includes('/CloudTrail/'))).toEqual(expect.arrayContaining(logs.slice(5).map((l) => l.key)));
    expect(reads).not.toContain(logs[4]!.key);
    expect(reads.filter((k) => k.includes('CloudTrail-Digest'))).toEqual(expect.arrayContaining([pinned.key]));
    expect([...reads].sort()).toEqual([...digests.slice(4).map((d) => d.key), ...logs.slice(5).map((l) => l.key)].sort());
    expect(ends.newest).toMatchObject({ key: digests[7]!.key, sha256: digests[7]!.sha256, signature: digests[7]!.signature });
    expect(ends.oldest).toMatchObject({ key: pinned.key, previous: { key: digests[3]!.key, sha256: digests[3]!.sha256 } });
  });

  it('a consistent insider rewrite from an early digest to the head passes without a checkpoint, not with one', async () => {
    const { dir, logs, digests } = await makeTrail(8);
    const pinned = digests[4]!;
    // The key holder edits the log of hour 2 and writes every digest from hour 2 on again.
    await rewrite(dir, logs, digests, 2, 8);
    const without = await run(dir, t0, t0 + 8 * H);
    expect(bad(without.findings)).toEqual([]);
    const withPin = await run(dir, t0 + 5 * H, t0 + 8 * H, pin(pinned));
    expect(bad(withPin.findings)).toEqual(['CHECKPOINT_MISMATCH']);
    const f = withPin.findings.find((x) => x.code === 'CHECKPOINT_MISMATCH')!;
    expect([f.key, f.expected]).toEqual([pinned.key, pinned.sha256]);
    expect(f.actual).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the newest digests deleted with their logs, the pinned one included, is a rollback', async () => {
    const { dir, logs, digests } = await makeTrail(8);
    const pinned = digests[6]!;
    for (const d of digests.slice(5)) unlinkSync(join(dir, d.key));
    for (const l of logs.slice(5)) unlinkSync(join(dir, l.key));
    expect(bad((await run(dir, t0, t0 + 5 * H)).findings)).toEqual([]); // what remains validates
    expect(bad((await run(dir, t0 + 7 * H, t0 + 8 * H, pin(pinned))).findings)).toEqual(['CHECKPOINT_ROLLBACK']);
  });

  it('the pinned digest deleted while newer ones remain is a mismatch', async () => {
    const { dir, digests } = await makeTrail(8);
    const pinned = digests[4]!;
    unlinkSync(join(dir, pinned.key));
    const codes = bad((await run(dir, t0 + 5 * H, t0 + 8 * H, pin(pinned))).findings);
    expect(codes).toContain('CHECKPOINT_MISMATCH');
    expect(codes).toContain('DIGEST_NOT_FOUND');
  });
});

describe('a range that does not hold the pinned digest (no false rollback)', () => {
  const digestReads = (reads: string[]): string[] => reads.filter((k) => k.includes('CloudTrail-Digest'));
  const logReads = (reads: string[]): string[] => reads.filter((k) => k.includes('/CloudTrail/'));

  it('after the pin, untouched: nothing to say; the digests back to the pin are read, not their logs', async () => {
    const { dir, logs, digests } = await makeTrail(10);
    const pinned = digests[2]!; // ends at hour 3
    const { findings, reads } = await run(dir, t0 + 7 * H, t0 + 10 * H, pin(pinned));
    expect(bad(findings)).toEqual([]);
    expect(findings.filter((f) => f.code.startsWith('CHECKPOINT'))).toEqual([]);
    // Every digest from the range back to the pin, the pin included; only the logs the range's
    // digests list (from the digest ending at 07:00, which lists those of 06:xx).
    expect(digestReads(reads)).toEqual(expect.arrayContaining(digests.slice(2).map((d) => d.key)));
    expect(digestReads(reads)).not.toContain(digests[1]!.key);
    expect(logReads(reads).sort()).toEqual(logs.slice(6).map((l) => l.key).sort());
  });

  it('after the pin, a consistent insider rewrite from before the pin to the head: CHECKPOINT_MISMATCH', async () => {
    const { dir, logs, digests } = await makeTrail(10);
    const pinned = digests[4]!;
    await rewrite(dir, logs, digests, 2, 10);
    expect(bad((await run(dir, t0 + 7 * H, t0 + 10 * H)).findings)).toEqual([]); // without a pin it passes
    const { findings } = await run(dir, t0 + 7 * H, t0 + 10 * H, pin(pinned));
    expect(bad(findings)).toEqual(['CHECKPOINT_MISMATCH']);
    expect(findings.find((f) => f.code === 'CHECKPOINT_MISMATCH')!.key).toBe(pinned.key);
  });

  it('after the pin, a restart between the pin and the range (a gap) no longer links to it: CHECKPOINT_MISMATCH, as cosign', async () => {
    const { dir, digests } = await makeTrail(6);
    await chain(dir, [], t0 + 7 * H, t0 + 10 * H); // a new chain from hour 7, no link to hour 6
    const { findings } = await run(dir, t0 + 9 * H, t0 + 10 * H, pin(digests[2]!));
    expect(bad(findings)).toEqual(['CHECKPOINT_MISMATCH']);
    expect(findings.find((f) => f.code === 'CHECKPOINT_MISMATCH')!.message).toMatch(/the chain starts at .*after the pinned digest/);
    // A range that holds the pin walks the gap (a notice) and meets the pin.
    const whole = await run(dir, t0 + 3 * H, t0 + 10 * H, pin(digests[2]!));
    expect(bad(whole.findings)).toEqual([]);
    expect(whole.findings.map((f) => f.code)).toContain('CHAIN_GAP');
  });

  it('after the pin, no digest in range: the pinned digest still there is nothing to say, gone is a rollback', async () => {
    const { dir, digests } = await makeTrail(4);
    expect(bad((await run(dir, t0 + 6 * H, t0 + 8 * H, pin(digests[3]!))).findings)).toEqual([]);
    unlinkSync(join(dir, digests[3]!.key));
    expect(bad((await run(dir, t0 + 6 * H, t0 + 8 * H, pin(digests[3]!))).findings)).toEqual(['CHECKPOINT_ROLLBACK']);
  });

  it('before the pin, untouched: nothing to say; a relinked rewrite of the range is a mismatch', async () => {
    const { dir, logs, digests } = await makeTrail(10);
    const pinned = digests[8]!;
    expect(bad((await run(dir, t0, t0 + 3 * H, pin(pinned))).findings)).toEqual([]);
    // The pinned digest and everything after it rewritten and relinked from hour 1: the range
    // itself (hours 0 to 3, rewritten too) validates, the pin does not lead back to it.
    await rewrite(dir, logs, digests, 1, 10);
    const { findings } = await run(dir, t0, t0 + 3 * H, pin(pinned));
    expect(bad(findings)).toEqual(['CHECKPOINT_MISMATCH']);
    expect(findings.find((f) => f.code === 'CHECKPOINT_MISMATCH')!.message).toMatch(/has changed/);
  });
});
