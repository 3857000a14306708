import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LocalDirectory,
  PublicKeySet,
  Tally,
  createSigner,
  generateDigests,
  parseDigest,
  parseTrailArn,
  sha256,
  toHex,
  verifyTrail,
  writeDigests,
  type DeliveredLog,
  type Finding,
  type TrailRef,
} from '../src/index.js';
import { ROOT, applyActions, copySample, loadJson, setDeliveryTimes, tampering } from './helpers/tamper.js';

const testPem = readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8');
const otherPem = readFileSync(join(ROOT, 'vectors', 'test-key-2.pem'), 'utf8');
const signer = createSigner(testPem);
const other = createSigner(otherPem);
const sampleKeys = PublicKeySet.fromListPublicKeys(readFileSync(join(ROOT, tampering.trail.publicKeys), 'utf8'));
const arn = parseTrailArn(tampering.trail.trailArn);
const sampleTrail: TrailRef = { accountId: arn.accountId, region: arn.region, trailName: arn.trailName };

async function collect(dir: string, keys = sampleKeys, trail = sampleTrail, range = tampering.trail): Promise<Finding[]> {
  const out: Finding[] = [];
  for await (const f of verifyTrail({
    source: new LocalDirectory(dir, { bucket: tampering.trail.bucket }),
    bucket: tampering.trail.bucket,
    trail,
    keys,
    start: new Date(range.start),
    end: new Date(range.end),
  })) {
    out.push(f);
  }
  return out;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
function sampleCopy(): string {
  const { dir, cleanup } = copySample();
  cleanups.push(cleanup);
  return dir;
}

describe('the sample trail and its tamperings (vectors/tampering.json)', () => {
  it.each(tampering.cases)('$name', async (c) => {
    const dir = sampleCopy();
    applyActions(dir, c.actions);
    const findings = await collect(dir);
    const bad = findings.filter((f) => f.severity !== 'valid').map((f) => ({ code: f.code, key: f.key }));
    expect(bad).toEqual(c.findings);
    const tally = new Tally(new Date(tampering.trail.start), new Date(tampering.trail.end));
    findings.forEach((f) => tally.add(f));
    const s = tally.summary();
    expect([s.digests.valid, s.digests.invalid]).toEqual(c.summary.digests);
    expect([s.logs.valid, s.logs.invalid]).toEqual(c.summary.logs);
    expect(s.ok).toBe(c.exit === 0);
    for (const f of findings) {
      expect(f.object).toBe(`s3://${f.bucket}/${f.key}`);
      expect(f.message.length).toBeGreaterThan(0);
    }
    const mismatch = findings.find((f) => f.code === 'LOG_HASH_MISMATCH');
    if (mismatch) {
      expect(mismatch.expected).toMatch(/^[0-9a-f]{64}$/);
      expect(mismatch.actual).toMatch(/^[0-9a-f]{64}$/);
      expect(mismatch.actual).not.toBe(mismatch.expected);
      expect(mismatch.digest).toMatch(/^s3:\/\/sample-bucket\/.*CloudTrail-Digest/);
    }
  });

  it('reports findings newest digest first, each digest followed by its logs', async () => {
    const findings = await collect(join(ROOT, tampering.trail.localDir));
    const digests = findings.filter((f) => f.kind === 'digest').map((f) => f.endTime);
    expect(digests).toEqual([...digests].sort().reverse());
    let current: string | undefined;
    for (const f of findings) {
      if (f.kind === 'digest') current = f.object;
      else expect(f.digest).toBe(current);
    }
  });

  it('gives the same findings whatever the concurrency', async () => {
    const dir = sampleCopy();
    applyActions(dir, tampering.cases.find((c) => c.name === 'log deleted')!.actions);
    const strip = (fs: Finding[]): string[] => fs.map((f) => `${f.code} ${f.key}`);
    const base = strip(await collect(dir));
    for (const concurrency of [1, 2, 16]) {
      const out: Finding[] = [];
      for await (const f of verifyTrail({ source: new LocalDirectory(dir), bucket: 'sample-bucket', trail: sampleTrail, keys: sampleKeys, start: new Date(tampering.trail.start), end: new Date(tampering.trail.end), concurrency })) out.push(f);
      expect(strip(out)).toEqual(base);
    }
  });

  it('finds a key missing from the key set', async () => {
    const findings = await collect(join(ROOT, tampering.trail.localDir), new PublicKeySet([other.publicKey]));
    expect(findings.every((f) => f.code === 'DIGEST_KEY_NOT_FOUND')).toBe(true);
    expect(findings[0]!.expected).toBe(signer.publicKey.fingerprint);
    expect(findings[0]!.message).toBe(`public key not found in region us-east-1 for fingerprint ${signer.publicKey.fingerprint}`);
  });
});

describe('the pinned sample digests (vectors/sample-digests.json)', () => {
  interface Pinned { digests: Array<{ key: string; sha256: string; signature: string }> }
  it('are what the generator writes today', () => {
    const pinned = loadJson<Pinned>('sample-digests.json');
    for (const p of pinned.digests) {
      const raw = gunzipSync(readFileSync(join(ROOT, 'sample', 'bucket', p.key)));
      expect(toHex(sha256(raw))).toBe(p.sha256);
      const meta = JSON.parse(readFileSync(join(ROOT, 'sample', 'bucket', p.key + '.metadata.json'), 'utf8')) as { signature: string };
      expect(meta.signature).toBe(p.signature);
    }
  });
});

const trail: TrailRef = { accountId: '123456789012', region: 'eu-west-1', homeRegion: 'us-east-1', trailName: 'gen_trail', prefix: 'audit' };
const H = 3_600_000;
const t0 = Date.UTC(2025, 5, 1);
const log = (minute: number, n: number): DeliveredLog => ({
  key: `audit/AWSLogs/123456789012/CloudTrail/eu-west-1/2025/06/01/log-${n}.json.gz`,
  deliveredAt: new Date(t0 + minute * 60_000),
  sha256: toHex(sha256(new TextEncoder().encode(`log ${n}`))),
  newestEventTime: new Date(t0 + minute * 60_000 - 1000).toISOString().slice(0, 19) + 'Z',
  oldestEventTime: new Date(t0 + minute * 60_000 - 120_000).toISOString().slice(0, 19) + 'Z',
});

describe('generator', () => {
  const logs = [log(5, 1), log(50, 2), log(61, 3), log(200, 4)];

  it('writes one digest per hour, empty hours included, chained by key, hash and signature', () => {
    const ds = [...generateDigests({ trail, bucket: 'b', logs, until: new Date(t0 + 4 * H), signer })];
    expect(ds.map((d) => d.record.logFiles.length)).toEqual([2, 1, 0, 1]);
    expect(ds[0]!.record.previousDigestSignature).toBeNull();
    expect(ds[2]!.record.newestEventTime).toBeNull();
    expect(ds[0]!.record.oldestEventTime).toBe('2025-06-01T00:03:00Z');
    for (let i = 1; i < ds.length; i++) {
      const r = ds[i]!.record;
      expect(r.previousDigestS3Object).toBe(ds[i - 1]!.key);
      expect(r.previousDigestHashValue).toBe(toHex(sha256(ds[i - 1]!.bytes)));
      expect(r.previousDigestSignature).toBe(ds[i - 1]!.signature);
      expect(r.digestStartTime).toBe(ds[i - 1]!.record.digestEndTime);
    }
    for (const d of ds) {
      expect(parseDigest(d.bytes).sha256).toBe(d.sha256);
      expect(gunzipSync(d.gzipped).equals(Buffer.from(d.bytes))).toBe(true);
      expect(d.metadata).toEqual({ signature: d.signature, 'signature-algorithm': 'SHA256withRSA' });
      expect(d.key).toMatch(/^audit\/AWSLogs\/123456789012\/CloudTrail-Digest\/eu-west-1\/2025\/06\/01\/123456789012_CloudTrail-Digest_eu-west-1_gen_trail_us-east-1_2025060\dT0\d0000Z\.json\.gz$/);
    }
  });

  it('is deterministic and does not depend on the order of the logs', () => {
    const a = [...generateDigests({ trail, bucket: 'b', logs, until: new Date(t0 + 4 * H), signer })];
    const b = [...generateDigests({ trail, bucket: 'b', logs: [...logs].reverse(), until: new Date(t0 + 4 * H), signer })];
    expect(b.map((d) => [d.sha256, d.signature, Buffer.from(d.gzipped).toString('hex')])).toEqual(
      a.map((d) => [d.sha256, d.signature, Buffer.from(d.gzipped).toString('hex')]),
    );
  });

  it('resumes a chain from its head exactly as one run would have written it', () => {
    const whole = [...generateDigests({ trail, bucket: 'b', logs, until: new Date(t0 + 4 * H), signer })];
    const first = [...generateDigests({ trail, bucket: 'b', logs, until: new Date(t0 + 2 * H), signer })];
    const h = first.at(-1)!;
    const rest = [
      ...generateDigests({
        trail,
        bucket: 'b',
        logs,
        until: new Date(t0 + 4 * H),
        signer,
        previous: { bucket: 'b', key: h.key, sha256: h.sha256, signature: h.signature, endTime: h.endTime },
      }),
    ];
    expect([...first, ...rest].map((d) => d.sha256)).toEqual(whole.map((d) => d.sha256));
  });

  it('rotates keys: the fingerprint changes from the first digest signed by the new key', () => {
    const ds = [...generateDigests({ trail, bucket: 'b', logs, until: new Date(t0 + 4 * H), signer: (end) => (end.getTime() <= t0 + 2 * H ? signer : other) })];
    expect(ds.map((d) => d.record.digestPublicKeyFingerprint)).toEqual([
      signer.publicKey.fingerprint,
      signer.publicKey.fingerprint,
      other.publicKey.fingerprint,
      other.publicKey.fingerprint,
    ]);
  });
});

describe('generate then verify', () => {
  async function storeAndVerify(digests: ReturnType<typeof generateDigests>, keys: PublicKeySet, start: number, end: number): Promise<Finding[]> {
    const dir = sampleCopy();
    const store = new LocalDirectory(dir, { bucket: 'b' });
    for (const d of digests) expect(await store.putIfAbsent('b', d.key, d.gzipped, d.metadata)).toBe(true);
    const out: Finding[] = [];
    for await (const f of verifyTrail({ source: store, bucket: 'b', trail, keys, start: new Date(start), end: new Date(end) })) out.push(f);
    return out;
  }

  it('a rotated chain validates with both keys, and fails without the new one', async () => {
    const gen = (): ReturnType<typeof generateDigests> =>
      generateDigests({ trail, bucket: 'b', logs: [], from: new Date(t0), until: new Date(t0 + 4 * H), signer: (end) => (end.getTime() <= t0 + 2 * H ? signer : other) });
    const both = await storeAndVerify(gen(), new PublicKeySet([signer.publicKey, other.publicKey]), t0, t0 + 4 * H);
    expect(both.map((f) => f.code)).toEqual(['DIGEST_VALID', 'DIGEST_VALID', 'DIGEST_VALID', 'DIGEST_VALID']);
    const one = await storeAndVerify(gen(), new PublicKeySet([signer.publicKey]), t0, t0 + 4 * H);
    expect(one.map((f) => f.code)).toEqual(['DIGEST_KEY_NOT_FOUND', 'DIGEST_KEY_NOT_FOUND', 'DIGEST_VALID', 'DIGEST_VALID']);
  });

  it('a chain that stops and restarts shows the gap as a notice, with its hours', async () => {
    const before = [...generateDigests({ trail, bucket: 'b', logs: [], from: new Date(t0), until: new Date(t0 + 2 * H), signer })];
    const after = [...generateDigests({ trail, bucket: 'b', logs: [], from: new Date(t0 + 5 * H), until: new Date(t0 + 7 * H), signer })];
    const findings = await storeAndVerify([...before, ...after][Symbol.iterator]() as ReturnType<typeof generateDigests>, new PublicKeySet([signer.publicKey]), t0, t0 + 7 * H);
    expect(findings.map((f) => f.code)).toEqual(['DIGEST_VALID', 'DIGEST_VALID', 'CHAIN_GAP', 'DIGEST_VALID', 'DIGEST_VALID']);
    const gap = findings[2]!;
    expect(gap.severity).toBe('notice');
    expect([gap.startTime, gap.endTime]).toEqual(['2025-06-01T02:00:00Z', '2025-06-01T05:00:00Z']);
  });
});

describe('writeDigests on a directory', () => {
  it('starts a chain, then continues it, and a second run writes nothing', async () => {
    const dir = sampleCopy();
    setDeliveryTimes(dir);
    const store = new LocalDirectory(dir, { bucket: 'sample-bucket' });
    const sample = { accountId: '111122223333', region: 'us-east-1', trailName: 'second-trail' };
    const first = await writeDigests({ storage: store, bucket: 'sample-bucket', trail: sample, signer, until: new Date('2025-01-08T03:00:00Z') });
    expect(first.continued).toBeUndefined();
    expect(first.written.map((d) => d.record.digestEndTime)).toEqual(['2025-01-08T01:00:00Z', '2025-01-08T02:00:00Z', '2025-01-08T03:00:00Z']);
    expect(first.written.map((d) => d.record.logFiles.length)).toEqual([2, 1, 2]);
    expect(first.written[0]!.record.oldestEventTime).toMatch(/^2025-01-0[78]T/);
    const second = await writeDigests({ storage: store, bucket: 'sample-bucket', trail: sample, signer, until: new Date('2025-01-08T06:30:00Z') });
    expect(second.continued?.key).toBe(first.written[2]!.key);
    expect(second.written).toHaveLength(3);
    const third = await writeDigests({ storage: store, bucket: 'sample-bucket', trail: sample, signer, until: new Date('2025-01-08T06:30:00Z') });
    expect(third.written).toHaveLength(0);
    const findings: Finding[] = [];
    for await (const f of verifyTrail({ source: store, bucket: 'sample-bucket', trail: sample, keys: new PublicKeySet([signer.publicKey]), start: new Date('2025-01-08T00:00:00Z'), end: new Date('2025-01-08T06:00:00Z') })) findings.push(f);
    expect(findings.filter((f) => f.severity !== 'valid')).toEqual([]);
    expect(findings.filter((f) => f.kind === 'log')).toHaveLength(10);
  });
});
