// Both platforms, side by side in Node (which has the Web APIs): the same SHA-256, CRC-32,
// inflating, gzip, RSA and key handling, on the vectors and on generated inputs.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  collect,
  createSigner,
  generateDigests,
  gunzipInto,
  nodePlatform,
  parsePublicKey,
  sha256,
  signString,
  toHex,
  verifyString,
  webPlatform,
  isValidateLogsError,
  type Platform,
} from './helpers/lib.js';
import { awsVectors, findings, throughput, type Records, type TrailRequest } from './browser/conformance.js';
import * as lib from './helpers/lib.js';
import { defaultPlatform } from '#platform';
import { MemoryBucket } from './helpers/memory.js';
import { ROOT, loadJson, tampering } from './helpers/tamper.js';

const platforms: Platform[] = [nodePlatform, webPlatform];
const nodeSha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
const sampleGz = walk(join(ROOT, tampering.trail.localDir)).filter((f) => f.endsWith('.json.gz')).map((f) => new Uint8Array(readFileSync(f)));

async function gunzipHex(platform: Platform, input: Uint8Array[], sizeHint?: number): Promise<string> {
  const h = createHash('sha256');
  await gunzipInto(input, (c) => h.update(c), { platform, ...(sizeHint !== undefined && { sizeHint }) });
  return h.digest('hex');
}

async function gzipCode(platform: Platform, input: Uint8Array, sizeHint?: number): Promise<string> {
  try {
    await gunzipInto([input], () => undefined, { platform, ...(sizeHint !== undefined && { sizeHint }) });
    return 'accepted';
  } catch (e) {
    if (isValidateLogsError(e)) return e.code;
    throw e;
  }
}

describe('choosing the platform', () => {
  it('under Node the package\'s #platform import is the Node platform (here: its source)', () => {
    expect(defaultPlatform).toBe(nodePlatform);
    expect([nodePlatform.name, webPlatform.name]).toEqual(['node', 'web']);
  });
});

describe('SHA-256, CRC-32 and gzip', () => {
  it.each(platforms)('$name: SHA-256 streaming and one-shot equal node:crypto', async (p) => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 1000, 100_003]) {
      const b = bytes(n, n + 1);
      expect(toHex(sha256(b, p))).toBe(nodeSha(b));
      expect(toHex(await p.sha256(b))).toBe(nodeSha(b));
    }
  });

  it.each(platforms)('$name: CRC-32 equals zlib\'s, whole and continued over every split', (p) => {
    const b = bytes(3000, 9);
    expect(p.crc32(new Uint8Array(0))).toBe(0);
    expect(p.crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    for (let i = 0; i <= b.length; i += 97) expect(p.crc32(b.subarray(i), p.crc32(b.subarray(0, i)))).toBe(zlibCrc32(b));
  });

  it.each(platforms)('$name: gzip gives one member that inflates back, the same bytes every time', async (p) => {
    const b = bytes(200_000, 4);
    const gz = await p.gzip(b);
    expect(Buffer.from(gunzipSync(gz)).equals(Buffer.from(b))).toBe(true);
    expect(toHex(await p.gzip(b))).toBe(toHex(gz));
    expect(await gunzipHex(p, [gz])).toBe(nodeSha(b));
  });
});

describe('inflating', () => {
  it('both platforms inflate every log and digest of the sample to the same content, whole and split', async () => {
    expect(sampleGz.length).toBeGreaterThan(10);
    for (const gz of sampleGz) {
      const want = nodeSha(gunzipSync(gz));
      for (const p of platforms) {
        expect(await gunzipHex(p, [gz], gz.length)).toBe(want);
        expect(await gunzipHex(p, [gz])).toBe(want);
        for (const cut of [1, 9, 10, 11, gz.length - 9, gz.length - 8, gz.length - 7, gz.length - 1]) {
          expect(await gunzipHex(p, [gz.subarray(0, cut), gz.subarray(cut)])).toBe(want);
        }
      }
    }
  });

  it('both platforms inflate one byte at a time, and a large object in many chunks', async () => {
    const gz = new Uint8Array(gzipSync(bytes(5000, 2)));
    const large = new Uint8Array(gzipSync(Buffer.concat([Buffer.from(bytes(3_000_000, 3)), Buffer.alloc(3_000_000, 'a')])));
    const chunks = (b: Uint8Array, n: number): Uint8Array[] => Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n));
    for (const p of platforms) {
      expect(await gunzipHex(p, chunks(gz, 1))).toBe(nodeSha(bytes(5000, 2)));
      expect(await gunzipHex(p, chunks(large, 65_536))).toBe(nodeSha(gunzipSync(large)));
    }
  });

  const gz = new Uint8Array(gzipSync('{"Records":[{"eventTime":"2025-01-08T00:00:00Z"}]}'));
  it.each([
    ['data appended', () => Buffer.concat([gz, Buffer.from('x')])],
    ['zero padding', () => Buffer.concat([gz, Buffer.alloc(16)])],
    ['a second member', () => Buffer.concat([gz, gzipSync('more')])],
    ['an empty member first', () => Buffer.concat([gzipSync(Buffer.alloc(0)), gz])],
    ['truncated in the deflate data', () => gz.subarray(0, gz.length - 12)],
    ['truncated in the trailer', () => gz.subarray(0, gz.length - 3)],
    ['a wrong CRC', () => { const b = Buffer.from(gz); b[b.length - 8]! ^= 1; return b; }],
    ['a wrong length', () => { const b = Buffer.from(gz); b[b.length - 1]! ^= 1; return b; }],
    ['corrupt deflate data', () => { const b = Buffer.from(gz); b[12] = 0xff; b[13] = 0xff; return b; }],
  ])('both platforms refuse %s (GZIP_INVALID), streaming and whole', async (_, make) => {
    const b = new Uint8Array(make());
    for (const p of platforms) {
      expect(await gzipCode(p, b)).toBe('GZIP_INVALID');
      expect(await gzipCode(p, b, b.length)).toBe('GZIP_INVALID');
    }
  });

  it('the Node platform refuses data hidden after a member that repeats its trailer (Chromium: test/browser.test.ts)', async () => {
    // Node 20's DecompressionStream ignores bytes after the deflate data, so the Web platform
    // under Node cannot see this one; the Compression Streams standard (and Chromium) refuses it.
    const crafted = Buffer.concat([gz, Buffer.from('hidden'), gz.subarray(gz.length - 8)]);
    expect(await gzipCode(nodePlatform, crafted)).toBe('GZIP_INVALID');
    expect(await gzipCode(nodePlatform, crafted, crafted.length)).toBe('GZIP_INVALID');
  });

  it('both platforms stop a bomb at the limit with SIZE_LIMIT', async () => {
    const bomb = new Uint8Array(gzipSync(Buffer.alloc(20_000_000)));
    for (const p of platforms) {
      let seen = 0;
      await expect(gunzipInto([bomb], (c) => (seen += c.length), { platform: p, maxOutputBytes: 1_000_000 })).rejects.toMatchObject({ code: 'SIZE_LIMIT' });
      expect(seen).toBeLessThanOrEqual(1_000_000);
    }
  });
});

describe('RSA and keys', () => {
  const sigs = loadJson<{ publicKey: string; cases: Array<{ name: string; message: string; signature: string; result: 'valid' | 'invalid' | 'error' }> }>('signatures.json');
  const pem = readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8');
  const pem1 = readFileSync(join(ROOT, 'vectors', 'test-key-2.pem'), 'utf8');

  it('both platforms give every openssl signature case the same answer', async () => {
    const key = parsePublicKey(sigs.publicKey);
    for (const c of sigs.cases) {
      for (const p of platforms) {
        const got = await verifyString(key, c.message, c.signature, p).catch((e: unknown) => (isValidateLogsError(e, 'SIGNATURE_INVALID') ? 'error' : e));
        expect(got, `${p.name}: ${c.name}`).toBe(c.result === 'error' ? 'error' : c.result === 'valid');
      }
    }
  });

  it('both platforms sign PKCS#8 and PKCS#1 keys alike, deterministically, as openssl does', async () => {
    const c = sigs.cases.find((x) => x.result === 'valid')!;
    for (const key of [pem, pem1]) {
      const [a, b] = await Promise.all(platforms.map((p) => createSigner(key, { platform: p })));
      expect(b!.publicKey.fingerprint).toBe(a!.publicKey.fingerprint);
      expect(toHex(b!.publicKey.der)).toBe(toHex(a!.publicKey.der));
      const text = 'x\ny\nz\nnull';
      expect(await signString(b!, text)).toBe(await signString(a!, text));
      expect(await verifyString(a!.publicKey, text, await signString(b!, text), webPlatform)).toBe(true);
    }
    expect(await signString(await createSigner(pem, { platform: webPlatform }), c.message)).toBe(c.signature);
  });

  it('both platforms refuse a non-RSA private key', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    for (const p of platforms) await expect(createSigner(ec, { platform: p })).rejects.toThrow(/not an RSA private key/);
  });

  it('both platforms read the real AWS digest and keys alike', async () => {
    const digestText = loadJson<{ text: string; sha256: string }>('aws-digest.json');
    const keyDoc = loadJson<{ keys: Array<Record<string, unknown>> }>('aws-public-keys.json');
    const keysJson = JSON.stringify({ PublicKeyList: keyDoc.keys.map(({ format: _f, modulusBits: _m, ...k }) => k) });
    const [a, b] = await Promise.all(platforms.map((p) => awsVectors(lib, digestText.text, keysJson, p)));
    expect(a!.sha256).toBe(digestText.sha256);
    expect(a!.wrongSignature).toEqual([false, false, false, false]);
    expect(b).toEqual(a);
  });
});

describe('the core on each platform', () => {
  const t = tampering.trail;
  const request: TrailRequest = { trailArn: t.trailArn, start: t.start, end: t.end, keysJson: readFileSync(join(ROOT, t.publicKeys), 'utf8') };

  it('verifying the sample gives the same findings on both', async () => {
    const m = MemoryBucket.fromDir(join(ROOT, t.localDir));
    const records: Records = { bucket: t.bucket, objects: m.records().map((r) => ({ key: r.key, base64: Buffer.from(r.bytes).toString('base64'), ...(r.metadata && { metadata: r.metadata }) })) };
    const [a, b] = await Promise.all(platforms.map((p) => findings(lib, request, records, p)));
    expect(a!.filter((f) => f.code === 'DIGEST_VALID')).toHaveLength(6);
    expect(b).toEqual(a);
  });

  it('the generator gives the same digests, hashes and signatures on both', async () => {
    const trail = { accountId: '123456789012', region: 'us-east-1', trailName: 'p' };
    const logs = [{ key: 'k/1.json.gz', deliveredAt: new Date('2025-06-01T00:10:00Z'), sha256: nodeSha(new Uint8Array(1)) }];
    const runs = await Promise.all(
      platforms.map(async (p) =>
        collect(generateDigests({ trail, bucket: 'b', logs, until: new Date('2025-06-01T03:00:00Z'), signer: await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'), { platform: p }), platform: p })),
      ),
    );
    const [a, b] = runs.map((ds) => ds.map((d) => ({ key: d.key, sha256: d.sha256, signature: d.signature, bytes: toHex(d.bytes), content: toHex(gunzipSync(d.gzipped)) })));
    expect(a).toHaveLength(3);
    expect(b).toEqual(a);
  });

  it('both platforms hash and inflate the sample alike (the benchmark\'s workload)', async () => {
    const objects = sampleGz.map((b) => Buffer.from(b).toString('base64'));
    const [a, b] = await Promise.all(platforms.map((p) => throughput(lib, objects, 1, p)));
    expect(a!.sha256).toEqual(sampleGz.map((g) => nodeSha(gunzipSync(g))));
    expect(b!.sha256).toEqual(a!.sha256);
    expect(b!.bytes).toBe(a!.bytes);
  });
});
