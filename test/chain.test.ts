import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LocalDirectory,
  PublicKeySet,
  Tally,
  createSigner,
  finding,
  generateDigests,
  logKey,
  parseDigest,
  parseTrailArn,
  sha256,
  toHex,
  verifyTrail,
  verifyTrailPages,
  writeDigests,
  collect as all,
  type GeneratedDigest,
  type DeliveredLog,
  type DigestLogFile,
  type ObjectSource,
  type Finding,
  type Signer,
  type TrailRef,
} from './helpers/lib.js';
import { ROOT, applyActions, copySample, loadJson, setDeliveryTimes, tampering } from './helpers/tamper.js';

const testPem = readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8');
const otherPem = readFileSync(join(ROOT, 'vectors', 'test-key-2.pem'), 'utf8');
const signer = await createSigner(testPem);
const other = await createSigner(otherPem);
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

  it('gives every log finding its fields in one order (the JSON report keeps it)', async () => {
    const findings = await collect(join(ROOT, tampering.trail.localDir));
    const valid = findings.filter((f) => f.code === 'LOG_VALID');
    expect(valid.length).toBeGreaterThan(0);
    for (const f of valid) {
      const { code, severity, region, ...rest } = f;
      void severity;
      const made = finding(code, { kind: rest.kind, object: rest.object, bucket: rest.bucket, key: rest.key, backfill: rest.backfill, digest: rest.digest!, message: rest.message, size: rest.size! });
      made.region = region!;
      expect(JSON.stringify(f)).toBe(JSON.stringify(made));
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

  it('gives the same findings in pages, none empty, for every tampering case', async () => {
    for (const c of tampering.cases) {
      const dir = sampleCopy();
      applyActions(dir, c.actions);
      const options = { source: new LocalDirectory(dir), bucket: 'sample-bucket', trail: sampleTrail, keys: sampleKeys, start: new Date(tampering.trail.start), end: new Date(tampering.trail.end), concurrency: 2 };
      const paged: Finding[] = [];
      for await (const page of verifyTrailPages(options)) {
        expect(page.length, c.name).toBeGreaterThan(0);
        paged.push(...page);
      }
      const single: Finding[] = [];
      for await (const f of verifyTrail(options)) single.push(f);
      expect(paged, c.name).toEqual(single);
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
  key: logKey(trail, new Date(t0 + minute * 60_000), `LOGFILE${String(n).padStart(9, '0')}`),
  deliveredAt: new Date(t0 + minute * 60_000),
  sha256: toHex(sha256(new TextEncoder().encode(`log ${n}`))),
  newestEventTime: new Date(t0 + minute * 60_000 - 1000).toISOString().slice(0, 19) + 'Z',
  oldestEventTime: new Date(t0 + minute * 60_000 - 120_000).toISOString().slice(0, 19) + 'Z',
});

describe('generator', () => {
  const logs = [log(5, 1), log(50, 2), log(61, 3), log(200, 4)];

  it('writes one digest per hour, empty hours included, chained by key, hash and signature', async () => {
    const ds = await all(generateDigests({ trail, bucket: 'b', logs, until: new Date(t0 + 4 * H), signer }));
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

  it('is deterministic and does not depend on the order of the logs', async () => {
    const a = await all(generateDigests({ trail, bucket: 'b', logs, until: new Date(t0 + 4 * H), signer }));
    const b = await all(generateDigests({ trail, bucket: 'b', logs: [...logs].reverse(), until: new Date(t0 + 4 * H), signer }));
    expect(b.map((d) => [d.sha256, d.signature, Buffer.from(d.gzipped).toString('hex')])).toEqual(
      a.map((d) => [d.sha256, d.signature, Buffer.from(d.gzipped).toString('hex')]),
    );
  });

  it('takes logs as they come (an async iterable in delivery order): the same bytes, each digest as soon as its hour is complete', async () => {
    const a = await all(generateDigests({ trail, bucket: 'b', logs, until: new Date(t0 + 4 * H), signer }));
    const given: string[] = [];
    async function* arriving(): AsyncGenerator<DeliveredLog> {
      for (const l of logs) {
        given.push(l.key);
        yield l;
      }
    }
    const seen: number[] = [];
    const b: GeneratedDigest[] = [];
    for await (const d of generateDigests({ trail, bucket: 'b', logs: arriving(), until: new Date(t0 + 4 * H), signer })) {
      seen.push(given.length);
      b.push(d);
    }
    expect(b.map((d) => [d.sha256, d.signature, Buffer.from(d.gzipped).toString('hex')])).toEqual(a.map((d) => [d.sha256, d.signature, Buffer.from(d.gzipped).toString('hex')]));
    // The first hour's digest came once the first log of the next hour had arrived, not after all of them.
    expect(seen).toEqual([3, 4, 4, 4]);
    async function* backwards(): AsyncGenerator<DeliveredLog> {
      yield* [...logs].reverse();
    }
    await expect(all(generateDigests({ trail, bucket: 'b', logs: backwards(), until: new Date(t0 + 4 * H), signer }))).rejects.toThrow(/delivery order/);
  });

  it('lets an async source go when its consumer stops early (the source\'s finally runs)', async () => {
    let released = false;
    async function* source(): AsyncGenerator<DeliveredLog> {
      try {
        yield* logs;
      } finally {
        released = true;
      }
    }
    for await (const d of generateDigests({ trail, bucket: 'b', logs: source(), until: new Date(t0 + 4 * H), signer })) {
      expect(d.record.digestEndTime).toBeDefined();
      break;
    }
    expect(released).toBe(true);
  });

  it('resumes a chain from its head exactly as one run would have written it', async () => {
    const whole = await all(generateDigests({ trail, bucket: 'b', logs, until: new Date(t0 + 4 * H), signer }));
    const first = await all(generateDigests({ trail, bucket: 'b', logs, until: new Date(t0 + 2 * H), signer }));
    const h = first.at(-1)!;
    const rest = await all(
      generateDigests({
        trail,
        bucket: 'b',
        logs,
        until: new Date(t0 + 4 * H),
        signer,
        previous: { bucket: 'b', key: h.key, sha256: h.sha256, signature: h.signature, endTime: h.endTime },
      }),
    );
    expect([...first, ...rest].map((d) => d.sha256)).toEqual(whole.map((d) => d.sha256));
  });

  it('rotates keys: the fingerprint changes from the first digest signed by the new key', async () => {
    const ds = await all(generateDigests({ trail, bucket: 'b', logs, until: new Date(t0 + 4 * H), signer: (end) => (end.getTime() <= t0 + 2 * H ? signer : other) }));
    expect(ds.map((d) => d.record.digestPublicKeyFingerprint)).toEqual([
      signer.publicKey.fingerprint,
      signer.publicKey.fingerprint,
      other.publicKey.fingerprint,
      other.publicKey.fingerprint,
    ]);
  });
});

describe('generate then verify', () => {
  async function storeAndVerify(digests: AsyncIterable<GeneratedDigest> | Iterable<GeneratedDigest>, keys: PublicKeySet, start: number, end: number): Promise<Finding[]> {
    const dir = sampleCopy();
    const store = new LocalDirectory(dir, { bucket: 'b' });
    for await (const d of digests) expect(await store.putIfAbsent('b', d.key, d.gzipped, d.metadata)).toBe(true);
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

  it('one key listed twice with different windows: the window covering each digest decides', async () => {
    const { parsePublicKey } = await import('./helpers/lib.js');
    const D = 24 * H;
    const expired = parsePublicKey(signer.publicKey.der, { validFrom: new Date(t0 - 60 * D), validTo: new Date(t0 - 30 * D) });
    const current = parsePublicKey(signer.publicKey.der, { validFrom: new Date(t0 - D), validTo: new Date(t0 + 30 * D) });
    const gen = (): AsyncGenerator<GeneratedDigest> => generateDigests({ trail, bucket: 'b', logs: [], from: new Date(t0), until: new Date(t0 + 2 * H), signer });
    for (const keys of [new PublicKeySet([current, expired]), new PublicKeySet([expired, current])]) {
      expect(keys.size).toBe(2);
      expect(keys.find(signer.publicKey.fingerprint, new Date(t0 + H))).toBe(current);
      expect(keys.find(signer.publicKey.fingerprint, new Date(t0 - 40 * D))).toBe(expired);
      expect(keys.findValidAt(signer.publicKey.fingerprint, new Date(t0 - 10 * D))).toBeUndefined();
      const findings = await storeAndVerify(gen(), keys, t0, t0 + 2 * H);
      expect(findings.map((f) => f.code)).toEqual(['DIGEST_VALID', 'DIGEST_VALID']);
    }
    const onlyExpired = await storeAndVerify(gen(), new PublicKeySet([expired]), t0, t0 + 2 * H);
    expect(onlyExpired.map((f) => f.code)).toEqual(['DIGEST_KEY_NOT_VALID', 'DIGEST_KEY_NOT_VALID']);
  });

  it('a chain that stops and restarts shows the gap as a notice, with its hours', async () => {
    const before = await all(generateDigests({ trail, bucket: 'b', logs: [], from: new Date(t0), until: new Date(t0 + 2 * H), signer }));
    const after = await all(generateDigests({ trail, bucket: 'b', logs: [], from: new Date(t0 + 5 * H), until: new Date(t0 + 7 * H), signer }));
    const findings = await storeAndVerify([...before, ...after], new PublicKeySet([signer.publicKey]), t0, t0 + 7 * H);
    expect(findings.map((f) => f.code)).toEqual(['DIGEST_VALID', 'DIGEST_VALID', 'CHAIN_GAP', 'DIGEST_VALID', 'DIGEST_VALID']);
    const gap = findings[2]!;
    expect(gap.severity).toBe('notice');
    expect([gap.startTime, gap.endTime]).toEqual(['2025-06-01T02:00:00Z', '2025-06-01T05:00:00Z']);
  });
});

/** A copy of the sample bucket, logs delivered at their names' times, as a store, and a trail with no digests in it. */
function sampleStore(): { dir: string; store: LocalDirectory; sample: TrailRef } {
  const dir = sampleCopy();
  setDeliveryTimes(dir);
  return { dir, store: new LocalDirectory(dir, { bucket: 'sample-bucket' }), sample: { accountId: '111122223333', region: 'us-east-1', trailName: 'second-trail' } };
}

describe('writeDigests on a directory', () => {
  it('starts a chain, then continues it, and a second run writes nothing', async () => {
    const { store, sample } = sampleStore();
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

describe('writeDigests lists what validation calls a log', () => {
  it('puts no other object of the log folders in a digest: another account or region in the name, a name in another date folder, a nested key', async () => {
    const { dir, store, sample } = sampleStore();
    const folder = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08/';
    const planted = [
      `${folder}999999999999_CloudTrail_us-east-1_20250108T0105Z_PLANTEDaccount01.json.gz`,
      `${folder}111122223333_CloudTrail_eu-west-1_20250108T0105Z_PLANTEDregion001.json.gz`,
      `${folder}111122223333_CloudTrail_us-east-1_20250109T0105Z_PLANTEDotherday1.json.gz`,
      `${folder}x/AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08/111122223333_CloudTrail_us-east-1_20250108T0105Z_PLANTEDnested001.json.gz`,
    ];
    const when = new Date('2025-01-08T01:10:00Z');
    for (const key of planted) {
      mkdirSync(dirname(join(dir, key)), { recursive: true });
      writeFileSync(join(dir, key), gzipSync('{"Records":[]}'));
      utimesSync(join(dir, key), when, when);
    }
    const result = await writeDigests({ storage: store, bucket: 'sample-bucket', trail: sample, signer, until: new Date('2025-01-08T06:30:00Z') });
    const listed = result.written.flatMap((d) => d.record.logFiles.map((l) => l.s3Object));
    expect(listed.filter((k) => k.includes('PLANTED'))).toEqual([]);
    expect(listed).toHaveLength(10);
    const findings: Finding[] = [];
    for await (const f of verifyTrail({ source: store, bucket: 'sample-bucket', trail: sample, keys: new PublicKeySet([signer.publicKey]), start: new Date('2025-01-08T00:00:00Z'), end: new Date('2025-01-08T06:00:00Z') })) findings.push(f);
    expect(findings.filter((f) => f.code === 'LOG_MISPLACED')).toEqual([]);
    expect(findings.filter((f) => f.severity === 'invalid').map((f) => f.key).sort()).toEqual([...planted].sort());
  });
});

describe('writeDigests: all or nothing', () => {
  it('writes no digest when a log of a later hour cannot be hashed, though earlier hours were ready', async () => {
    const { dir, store, sample } = sampleStore();
    const keys: Array<{ key: string; lastModified?: Date }> = [];
    for await (const o of store.list('sample-bucket', 'AWSLogs/111122223333/CloudTrail/us-east-1/', undefined, { details: true })) keys.push(o);
    const newest = keys.filter((k) => k.key.endsWith('.json.gz')).sort((x, y) => x.lastModified!.getTime() - y.lastModified!.getTime()).at(-1)!;
    const path = join(dir, newest.key);
    const bytes = readFileSync(path);
    bytes[bytes.length - 5]! ^= 0xff; // the gzip trailer's size: the log is corrupt
    writeFileSync(path, bytes);
    utimesSync(path, newest.lastModified!, newest.lastModified!);
    await expect(writeDigests({ storage: store, bucket: 'sample-bucket', trail: sample, signer, until: new Date('2025-01-08T06:30:00Z') })).rejects.toMatchObject({ code: 'GZIP_INVALID' });
    const digests: string[] = [];
    for await (const o of store.list('sample-bucket', 'AWSLogs/111122223333/CloudTrail-Digest/')) digests.push(o.key);
    expect(digests.filter((k) => k.includes('second-trail'))).toEqual([]);
  });

  it('a signer that fails mid-chain leaves the start of the chain, never a hole, and the next run completes it as one run would have', async () => {
    const until = new Date('2025-01-08T06:30:00Z');
    const whole = sampleStore();
    const once = await writeDigests({ storage: whole.store, bucket: 'sample-bucket', trail: whole.sample, signer, until });
    expect(once.written).toHaveLength(6);
    const { store, sample } = sampleStore();
    let signed = 0;
    const failing: Signer = {
      publicKey: signer.publicKey,
      sign: (m) => (++signed === 4 ? Promise.reject(new Error('the signing service is down')) : signer.sign(m)),
    };
    await expect(writeDigests({ storage: store, bucket: 'sample-bucket', trail: sample, signer: failing, until })).rejects.toThrow('the signing service is down');
    const stored = async (): Promise<string[]> => {
      const out: string[] = [];
      for await (const o of store.list('sample-bucket', 'AWSLogs/111122223333/CloudTrail-Digest/')) if (o.key.includes('second-trail')) out.push(o.key);
      return out.sort();
    };
    const left = await stored();
    expect(left.length).toBeLessThan(4);
    expect(left).toEqual(once.written.map((d) => d.key).slice(0, left.length));
    const rest = await writeDigests({ storage: store, bucket: 'sample-bucket', trail: sample, signer, until });
    expect(rest.written).toHaveLength(6 - left.length);
    expect(await stored()).toEqual(once.written.map((d) => d.key));
    for (const d of once.written) {
      const obj = await store.get('sample-bucket', d.key, { metadata: true });
      const chunks: Uint8Array[] = [];
      for await (const c of obj!.body) chunks.push(c);
      expect(Buffer.concat(chunks).equals(Buffer.from(d.gzipped))).toBe(true);
      expect(obj!.metadata).toEqual(d.metadata);
    }
  });
});

describe('beyond the AWS CLI', () => {
  const three = (from: number, until: number, logs: DeliveredLog[] = []): ReturnType<typeof generateDigests> =>
    generateDigests({ trail, bucket: 'b', logs, from: new Date(from), until: new Date(until), signer });

  async function verifyDir(dir: string, start: number, end: number, extra: Partial<Parameters<typeof verifyTrail>[0]> = {}): Promise<Finding[]> {
    const out: Finding[] = [];
    for await (const f of verifyTrail({ source: new LocalDirectory(dir), bucket: 'b', trail, keys: new PublicKeySet([signer.publicKey]), start: new Date(start), end: new Date(end), ...extra })) out.push(f);
    return out;
  }

  async function store(dir: string, ...runs: Array<AsyncIterable<GeneratedDigest> | Iterable<GeneratedDigest>>): Promise<void> {
    const s = new LocalDirectory(dir, { bucket: 'b' });
    for (const run of runs) for await (const d of run) await s.putIfAbsent('b', d.key, d.gzipped, d.metadata);
  }

  it('counts the logs delivered in a gap, and in each hour of a hole', async () => {
    const dir = sampleCopy();
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { gzipSync } = await import('node:zlib');
    const { logKey } = await import('./helpers/lib.js');
    // Two log files delivered while the chain was stopped (03:xx).
    for (const u of ['AAAAAAAAAAAAAAA1', 'AAAAAAAAAAAAAAA2']) {
      const key = logKey(trail, new Date(t0 + 3 * H + 600_000), u);
      mkdirSync(join(dir, key, '..'), { recursive: true });
      writeFileSync(join(dir, key), gzipSync('{}'));
    }
    await store(dir, three(t0, t0 + 2 * H), three(t0 + 5 * H, t0 + 8 * H));
    const findings = await verifyDir(dir, t0, t0 + 8 * H);
    const gap = findings.find((f) => f.code === 'CHAIN_GAP')!;
    expect([gap.startTime, gap.endTime, gap.logs]).toEqual(['2025-06-01T02:00:00Z', '2025-06-01T05:00:00Z', 2]);
    // The gap's message never says that no log was delivered while it counts some ...
    expect(gap.message).toMatch(/2 log files were delivered/);
    expect(gap.message).not.toMatch(/No log files/);
    // ... and each log delivered in it is unverified: nothing vouches for it.
    const unverified = findings.filter((f) => f.severity === 'invalid');
    expect(unverified.map((f) => f.code)).toEqual(['LOG_UNREFERENCED', 'LOG_UNREFERENCED']);
    expect(unverified[0]!.message).toMatch(/inside a gap of the chain/);
  });

  it('reports every digest of a hole of three, from the hourly cadence', async () => {
    const dir = sampleCopy();
    const ds = await all(three(t0, t0 + 8 * H));
    await store(dir, ds.filter((_, i) => i < 2 || i > 4));
    const findings = await verifyDir(dir, t0, t0 + 8 * H);
    expect(findings.filter((f) => f.code === 'DIGEST_NOT_FOUND').map((f) => f.endTime)).toEqual([
      '2025-06-01T05:00:00Z',
      '2025-06-01T04:00:00Z',
      '2025-06-01T03:00:00Z',
    ]);
  });

  it('a log that only another trail in the same prefix lists is not unreferenced', async () => {
    const dir = sampleCopy();
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { gzipSync } = await import('node:zlib');
    const { logKey } = await import('./helpers/lib.js');
    const key = logKey(trail, new Date(t0 + H + 1_200_000), 'OTHERTRAILonly01');
    mkdirSync(join(dir, key, '..'), { recursive: true });
    writeFileSync(join(dir, key), gzipSync('{"Records":[]}'));
    const otherTrail = { ...trail, trailName: 'other_trail' };
    const mine = three(t0, t0 + 3 * H);
    await store(dir, mine);
    const lone = await verifyDir(dir, t0, t0 + 3 * H);
    expect(lone.filter((f) => f.code === 'LOG_UNREFERENCED').map((f) => f.key)).toEqual([key]);
    const entry: DeliveredLog = { key, deliveredAt: new Date(t0 + H + 1_200_000), sha256: toHex(sha256(new TextEncoder().encode('{"Records":[]}'))) };
    await store(dir, generateDigests({ trail: otherTrail, bucket: 'b', logs: [entry], from: new Date(t0), until: new Date(t0 + 3 * H), signer }));
    const shared = await verifyDir(dir, t0, t0 + 3 * H);
    expect(shared.filter((f) => f.severity !== 'valid')).toEqual([]);
  });

  it('a deleted tail is seen only past the grace, and not when later digests exist', async () => {
    const dir = sampleCopy();
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { gzipSync } = await import('node:zlib');
    const { logKey } = await import('./helpers/lib.js');
    const key = logKey(trail, new Date(t0 + 5 * H), 'LATElateLATElate');
    mkdirSync(join(dir, key, '..'), { recursive: true });
    writeFileSync(join(dir, key), gzipSync('{}'));
    const ds = await all(three(t0, t0 + 6 * H));
    await store(dir, ds.slice(0, 2)); // digests up to 02:00; the 05:00 log is 3 h later
    expect((await verifyDir(dir, t0, t0 + 2 * H)).map((f) => f.code)).toContain('CHAIN_TAIL_MISSING');
    expect((await verifyDir(dir, t0, t0 + 2 * H, { tailGraceMs: 4 * H })).map((f) => f.code)).not.toContain('CHAIN_TAIL_MISSING');
    await store(dir, ds.slice(2));
    const whole = await verifyDir(dir, t0, t0 + 2 * H);
    expect(whole.map((f) => f.code)).not.toContain('CHAIN_TAIL_MISSING');
  });

  it('after a deleted tail, each log whose digest was due, or delivered past the grace, is its own LOG_UNREFERENCED', async () => {
    const dir = sampleCopy();
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { gzipSync } = await import('node:zlib');
    const { logKey } = await import('./helpers/lib.js');
    const M = 60_000;
    // Digests up to 02:00; logs after it at 02:30 (within the grace), and at 04:10 to 05:50 (past it).
    const late = [150, 250, 280, 320, 350].map((m, i) => logKey(trail, new Date(t0 + m * M), `LATE${String(i).padStart(12, '0')}`));
    for (const key of late) {
      mkdirSync(join(dir, key, '..'), { recursive: true });
      writeFileSync(join(dir, key), gzipSync('{}'));
    }
    await store(dir, three(t0, t0 + 2 * H));
    const judged = async (end: number, tailGraceMs?: number): Promise<{ tail: Finding | undefined; logs: string[] }> => {
      const found = await verifyDir(dir, t0, end, tailGraceMs === undefined ? {} : { tailGraceMs });
      return { tail: found.find((f) => f.code === 'CHAIN_TAIL_MISSING'), logs: found.filter((f) => f.code === 'LOG_UNREFERENCED').map((f) => f.key) };
    };
    // To 06:00: the 02:30 log's digest was due by 03:00 + 2 h; the others came more than 2 h after the newest digest.
    const whole = await judged(t0 + 6 * H);
    expect(whole.tail?.logs).toBe(5);
    expect(whole.logs).toEqual(late);
    // To 04:30: the 02:30 log's digest is not due yet; the 04:10 log is past the grace; so are
    // the later ones, after the range: what shows the tail deleted, each reported too.
    const early = await judged(t0 + 4 * H + 30 * M);
    expect(early.tail?.logs).toBe(5);
    expect(early.logs).toEqual(late.slice(1));
    // To 02:00, the newest digest's end (where the page's range ends by default): the four past the grace.
    expect((await judged(t0 + 2 * H)).logs).toEqual(late.slice(1));
    // With a grace of 4 h nothing is due by 06:00 and nothing is past the grace: no tail, no log reported.
    expect(await judged(t0 + 6 * H, 4 * H)).toEqual({ tail: undefined, logs: [] });
    const messages = (await verifyDir(dir, t0, t0 + 6 * H)).filter((f) => f.code === 'LOG_UNREFERENCED').map((f) => f.message);
    expect(messages[0]).toMatch(/due by 2025-06-01T03:00:00Z/);
    expect(messages.slice(1).every((m) => /after a deleted tail of the chain/.test(m))).toBe(true);
    const after = (await verifyDir(dir, t0, t0 + 2 * H)).filter((f) => f.code === 'LOG_UNREFERENCED').map((f) => f.message);
    expect(after.every((m) => /^delivered at .*, after the range but more than the tail grace after the newest digest/.test(m))).toBe(true);
  });

  it('flags a digest with another account, another algorithm, or signed outside its key window', async () => {
    const { parsePublicKey } = await import('./helpers/lib.js');
    const { gzipSync } = await import('node:zlib');
    const { serializeDigest, stringToSign, signString } = await import('./helpers/lib.js');
    const cases: Array<[string, (r: import('../src/index.js').DigestRecord) => void, string]> = [
      ['account', (r) => (r.awsAccountId = '999999999999'), 'DIGEST_ACCOUNT_MISMATCH'],
      ['algorithm', (r) => (r.digestSignatureAlgorithm = 'SHA1withRSA'), 'DIGEST_ALGORITHM_UNSUPPORTED'],
    ];
    for (const [, edit, code] of cases) {
      const dir = sampleCopy();
      const [d] = await all(three(t0, t0 + H));
      const record = structuredClone(d!.record);
      edit(record);
      const bytes = serializeDigest(record);
      const signature = await signString(signer, stringToSign(record, toHex(sha256(bytes))));
      await new LocalDirectory(dir, { bucket: 'b' }).putIfAbsent('b', d!.key, new Uint8Array(gzipSync(bytes)), { signature, 'signature-algorithm': 'SHA256withRSA' });
      expect((await verifyDir(dir, t0, t0 + H)).map((f) => f.code)).toEqual([code]);
    }
    const dir = sampleCopy();
    await store(dir, three(t0, t0 + H));
    const expired = new PublicKeySet([parsePublicKey(signer.publicKey.der, { validFrom: new Date(t0 - 30 * 24 * H), validTo: new Date(t0 - H) })]);
    const out: Finding[] = [];
    for await (const f of verifyTrail({ source: new LocalDirectory(dir), bucket: 'b', trail, keys: expired, start: new Date(t0), end: new Date(t0 + H) })) out.push(f);
    expect(out.map((f) => f.code)).toEqual(['DIGEST_KEY_NOT_VALID']);
  });

  it('flags a link to a digest that is not older', async () => {
    const { gzipSync } = await import('node:zlib');
    const { serializeDigest, stringToSign, signString } = await import('./helpers/lib.js');
    const dir = sampleCopy();
    const [a, b, c] = await all(three(t0, t0 + 3 * H));
    await store(dir, [a!, c!]);
    // An insider rewrites B to link forward to C, and signs it.
    const record = { ...b!.record, previousDigestS3Object: c!.key, previousDigestHashValue: c!.sha256, previousDigestSignature: c!.signature };
    const bytes = serializeDigest(record);
    const signature = await signString(signer, stringToSign(record, toHex(sha256(bytes))));
    await new LocalDirectory(dir, { bucket: 'b' }).putIfAbsent('b', b!.key, new Uint8Array(gzipSync(bytes)), { signature });
    const findings = await verifyDir(dir, t0, t0 + H + H / 2);
    // B is signed, but its start does not follow the end of the digest it links to.
    expect(findings.map((f) => [f.code, f.key])).toEqual([
      ['DIGEST_TIME_INVALID', b!.key],
      ['DIGEST_OUT_OF_ORDER', c!.key],
      ['DIGEST_VALID', a!.key],
    ]);
  });
});

describe('backfill digests', () => {
  it('are walked as a second chain, and their keys fetched around their generation time', async () => {
    const dir = sampleCopy();
    const store = new LocalDirectory(dir, { bucket: 'b' });
    const generatedAt = new Date(t0 + 30 * 24 * H);
    for await (const d of generateDigests({ trail, bucket: 'b', logs: [], from: new Date(t0), until: new Date(t0 + 2 * H), signer })) await store.putIfAbsent('b', d.key, d.gzipped, d.metadata);
    for await (const d of generateDigests({ trail, bucket: 'b', logs: [log(5, 1)], from: new Date(t0), until: new Date(t0 + 2 * H), signer: other, backfill: { generatedAt } })) {
      expect(d.key).toMatch(/_backfill\.json\.gz$/);
      expect(d.metadata['backfill-generation-timestamp']).toBe('2025-07-01T00:00:00Z');
      await store.putIfAbsent('b', d.key, d.gzipped, d.metadata);
    }
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { gzipSync } = await import('node:zlib');
    mkdirSync(join(dir, log(5, 1).key, '..'), { recursive: true });
    writeFileSync(join(dir, log(5, 1).key), gzipSync('log 1'));
    const windows: string[] = [];
    const out: Finding[] = [];
    for await (const f of verifyTrail({
      source: store,
      bucket: 'b',
      trail,
      keys: new PublicKeySet([signer.publicKey]),
      start: new Date(t0),
      end: new Date(t0 + 2 * H),
      fetchKeys: async (from, to) => {
        windows.push(`${from.toISOString()} ${to.toISOString()}`);
        return [other.publicKey];
      },
    })) out.push(f);
    expect(out.map((f) => [f.code, f.backfill])).toEqual([
      ['DIGEST_VALID', false],
      ['DIGEST_VALID', false],
      ['DIGEST_VALID', true],
      ['DIGEST_VALID', true],
      ['LOG_VALID', true],
    ]);
    expect(windows).toEqual(['2025-06-30T23:00:00.000Z 2025-07-01T01:00:00.000Z']);
    const tally = new Tally(new Date(t0), new Date(t0 + 2 * H));
    out.forEach((f) => tally.add(f));
    expect(tally.summary().backfillDigests).toEqual({ valid: 2, invalid: 0 });
    const { TextWriter } = await import('../src/cli/text.js');
    let stdout = '';
    const text = new TextWriter((s) => (stdout += s), () => undefined, true);
    out.forEach((f) => text.finding(f));
    text.summary(tally.summary(), '2025-06-01T00:00:00Z', '2025-06-01T02:00:00Z');
    expect(stdout).toMatch(/^\(backfill\) Digest file\ts3:\/\/b\/.*_backfill\.json\.gz\tvalid$/m);
    expect(stdout).toContain('\n2/2 digest files valid\n2/2 backfill digest files valid\n1/1 log files valid\n');
  });

  it('a backfill digest without its generation timestamp metadata is invalid', async () => {
    const dir = sampleCopy();
    const store = new LocalDirectory(dir, { bucket: 'b' });
    for await (const d of generateDigests({ trail, bucket: 'b', logs: [], from: new Date(t0), until: new Date(t0 + H), signer, backfill: { generatedAt: new Date(t0 + 5 * H) } })) {
      const { 'backfill-generation-timestamp': _, ...meta } = d.metadata;
      await store.putIfAbsent('b', d.key, d.gzipped, meta);
    }
    const out: Finding[] = [];
    for await (const f of verifyTrail({ source: store, bucket: 'b', trail, keys: new PublicKeySet([signer.publicKey]), start: new Date(t0), end: new Date(t0 + H) })) out.push(f);
    expect(out.map((f) => f.code)).toEqual(['DIGEST_INVALID_FORMAT']);
  });
});

describe('AWS errors a user can act on', () => {
  it('names the call, the object and the missing permission', async () => {
    const { awsError } = await import('./helpers/lib.js');
    const denied = { name: 'AccessDenied', message: 'Access Denied', $metadata: { httpStatusCode: 403 } };
    expect(awsError(denied, 'GetObject', 's3://b/k').message).toBe(
      'AccessDenied: GetObject on s3://b/k was refused; the caller needs s3:GetObject (and kms:Decrypt on the bucket key for SSE-KMS buckets)',
    );
    expect(awsError(denied, 'ListObjectsV2', 's3://b/p/').message).toMatch(/needs s3:ListBucket$/);
    expect(awsError({ name: 'CredentialsProviderError', message: 'x' }, 'HeadBucket', 's3://b').message).toMatch(/no AWS credentials were found/);
    expect(awsError({ name: 'SlowDown', message: 'Please reduce your request rate', $metadata: { httpStatusCode: 503 } }, 'GetObject', 's3://b/k').message).toBe(
      'GetObject on s3://b/k failed: SlowDown: Please reduce your request rate',
    );
  });
});

describe('hostile keys in a correctly signed digest', () => {
  it('never read outside the copy, never another bucket, never valid', async () => {
    const { mkdirSync, writeFileSync, symlinkSync, mkdtempSync } = await import('node:fs');
    const { gzipSync } = await import('node:zlib');
    const { tmpdir } = await import('node:os');
    const { serializeDigest, stringToSign, signString } = await import('./helpers/lib.js');
    const dir = sampleCopy();
    const outside = mkdtempSync(join(tmpdir(), 'vl-outside-'));
    cleanups.push(() => void import('node:fs').then((fs) => fs.rmSync(outside, { recursive: true, force: true })));
    const body = gzipSync('{"Records":[]}');
    const hash = toHex(sha256(new TextEncoder().encode('{"Records":[]}')));
    // A file outside the copy that a climbing key would reach, with the hash the digest lists.
    writeFileSync(join(outside, 'secret.json.gz'), body);
    writeFileSync(join(dir, '..', 'escape.json.gz'), body);
    mkdirSync(join(dir, 'audit'), { recursive: true });
    symlinkSync(join(outside, 'secret.json.gz'), join(dir, 'audit', 'link.json.gz'));
    writeFileSync(join(dir, 'audit', 'ok.json.gz'), body);
    const hostile = [
      '../escape.json.gz',
      'audit/../../escape.json.gz',
      `/${outside.slice(1)}/secret.json.gz`,
      'audit\\..\\..\\escape.json.gz',
      'audit/ok.json.gz\0.txt',
      'audit/%2e%2e/%2e%2e/escape.json.gz',
      'audit//ok.json.gz',
      'audit/./ok.json.gz',
      `audit/${'x'.repeat(2000)}.json.gz`,
      'audit/link.json.gz',
    ];
    // A CloudTrail log name that is a link out of the copy: its name passes, its read must not.
    const linked = logKey(trail, new Date(t0 + 600_000), 'LINKtoOUTSIDE001');
    mkdirSync(join(dir, linked, '..'), { recursive: true });
    symlinkSync(join(outside, 'secret.json.gz'), join(dir, linked));
    const [d] = await all(generateDigests({ trail, bucket: 'b', logs: [], from: new Date(t0), until: new Date(t0 + H), signer }));
    const entry = (s3Bucket: string, s3Object: string): DigestLogFile => ({ s3Bucket, s3Object, hashValue: hash, hashAlgorithm: 'SHA-256', newestEventTime: null, oldestEventTime: null });
    const record = {
      ...d!.record,
      logFiles: [...hostile.map((key) => entry('b', key)), entry('other-bucket', 'audit/ok.json.gz'), entry('b', 'audit/ok.json.gz'), entry('b', linked)],
    };
    const bytes = serializeDigest(record);
    const signature = await signString(signer, stringToSign(record, toHex(sha256(bytes))));
    await new LocalDirectory(dir, { bucket: 'b' }).putIfAbsent('b', d!.key, new Uint8Array(gzipSync(bytes)), { signature });
    const local = new LocalDirectory(dir, { bucket: 'b' });
    const read: string[] = [];
    const source: ObjectSource = { list: (...a) => local.list(...a), get: (bucket, key, o) => (read.push(key), local.get(bucket, key, o)) };
    const out: Finding[] = [];
    for await (const f of verifyTrail({ source, bucket: 'b', trail, keys: new PublicKeySet([signer.publicKey]), start: new Date(t0), end: new Date(t0 + H) })) out.push(f);
    const logs = out.filter((f) => f.kind === 'log');
    expect(logs.map((f) => [f.bucket, f.key.slice(0, 40), f.code])).toEqual([
      ...hostile.map((k) => ['b', k.slice(0, 40), 'LOG_MISPLACED']),
      ['other-bucket', 'audit/ok.json.gz', 'LOG_NOT_FOUND'],
      ['b', 'audit/ok.json.gz', 'LOG_MISPLACED'],
      ['b', linked.slice(0, 40), expect.stringMatching(/^LOG_(NOT_FOUND|UNREADABLE)$/)],
    ]);
    // Only the digest and the one log with a CloudTrail name were read; the link was refused.
    expect(read).toEqual([d!.key, linked]);
    expect(logs.at(-1)!.message).toMatch(/outside the local copy/);
  });
});
