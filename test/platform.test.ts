// Both platforms, side by side in Node (which has the Web APIs): the same SHA-256, CRC-32,
// inflating, gzip, RSA and key handling, on the vectors and on generated inputs.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32, gunzipSync, gzipSync } from 'node:zlib';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it, vi } from 'vitest';
import {
  collect,
  createSigner,
  generateDigests,
  gunzipInto,
  isEd25519Point,
  nodePlatform,
  parseNote,
  parseNoteSignerKey,
  parseNoteVerifierKey,
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
import { defaultPlatform as defaultParallel } from '#parallel';
import { nodePlatform as runtimeNodePlatform } from '../src/platform/node.js';
import { MemoryBucket } from './helpers/memory.js';
import { ROOT, loadJson, tampering } from './helpers/tamper.js';
import { pseudoRandomBytes } from './helpers/bytes.js';

const platforms: Platform[] = [nodePlatform, webPlatform];
const nodeSha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const bytes = pseudoRandomBytes;

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
  it('under Node the package\'s #platform import is the Node platform, and #parallel adds the pool (here: their sources)', () => {
    expect(defaultPlatform).toBe(runtimeNodePlatform);
    expect(defaultParallel).toBe(nodePlatform);
    expect('offload' in defaultPlatform).toBe(false);
    expect(defaultParallel.offload?.threads).toBeGreaterThan(0);
    expect([nodePlatform.name, webPlatform.name]).toEqual(['node', 'web']);
  });
});

describe('the platform layer knows the runtime only', () => {
  /** Every relative import (and re-export) of a module, type-only ones included. */
  const importsOf = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]!);
  it('no module under src/platform/ imports anything of the package but errors and utils (nor the #parallel layer)', () => {
    const dir = join(ROOT, 'src', 'platform');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    const outside = files.flatMap((f) => importsOf(join(dir, f)).filter((i) => (i.startsWith('.') && !i.startsWith('./')) || i.startsWith('#')).filter((i) => i !== '../errors.js' && i !== '../utils.js').map((i) => `${f}: ${i}`));
    expect(outside).toEqual([]);
  });
  it('no module of hash/, format/, sources/ or chain/ imports the parallel layer by path', () => {
    const found: string[] = [];
    for (const layer of ['hash', 'format', 'sources', 'chain']) {
      const dir = join(ROOT, 'src', layer);
      for (const f of readdirSync(dir, { recursive: true }) as string[]) {
        if (f.endsWith('.ts')) for (const i of importsOf(join(dir, f))) if (i.includes('parallel/')) found.push(`${layer}/${f}: ${i}`);
      }
    }
    expect(found).toEqual([]);
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

  it.each(platforms)('$name: CRC-32 equals zlib\'s at every length and offset around its 8-byte steps', (p) => {
    const b = bytes(80, 5);
    for (let at = 0; at < 8; at++) {
      for (let n = 0; at + n <= b.length; n++) expect(p.crc32(b.subarray(at, at + n))).toBe(zlibCrc32(b.subarray(at, at + n)));
    }
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

describe('Ed25519', () => {
  const V = loadJson<{ verifierKeys: Record<string, string>; signerKeys: Record<string, string>; signing: { text: string; note: string }; notes: Array<{ note: string }> }>('signed-note.json');
  const published = Object.values(V.verifierKeys).map(parseNoteVerifierKey);
  /** The group order L, for a signature whose S is not reduced. */
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const le = (b: Uint8Array): bigint => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
  const toLe = (n: bigint, size: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => Number((n >> BigInt(8 * i)) & 255n));

  /** Every signature line of the published notes made by a published key, and damaged copies of it. */
  function cases(): Array<{ name: string; publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array }> {
    const out: Array<{ name: string; publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array }> = [];
    for (const [i, { note }] of [V.signing, ...V.notes].entries()) {
      let parsed;
      try {
        parsed = parseNote(note);
      } catch {
        continue; // a vector of a malformed note: nothing to verify
      }
      const message = new TextEncoder().encode(parsed.text);
      for (const line of parsed.signatures) {
        const key = published.find((k) => k.name === line.name && k.keyId === line.keyId);
        if (!key || line.signature.length !== 64) continue;
        const sig = line.signature;
        const name = `note ${i} ${line.name}`;
        const flip = (at: number, bit: number): Uint8Array => sig.map((x, j) => (j === at ? x ^ bit : x));
        out.push(
          { name, publicKey: key.publicKey, message, signature: sig },
          { name: `${name}, R changed`, publicKey: key.publicKey, message, signature: flip(0, 1) },
          { name: `${name}, S changed`, publicKey: key.publicKey, message, signature: flip(32, 1) },
          { name: `${name}, S + L (not reduced)`, publicKey: key.publicKey, message, signature: new Uint8Array([...sig.subarray(0, 32), ...toLe(le(sig.subarray(32)) + L, 32)]) },
          { name: `${name}, S's top bit set`, publicKey: key.publicKey, message, signature: flip(63, 0x80) },
          { name: `${name}, the message changed`, publicKey: key.publicKey, message: new Uint8Array([...message, 10]), signature: sig },
          { name: `${name}, the key changed`, publicKey: key.publicKey.map((x, j) => (j === 0 ? x ^ 1 : x)), message, signature: sig },
          { name: `${name}, another key`, publicKey: published.find((k) => k !== key)!.publicKey, message, signature: sig },
        );
      }
    }
    return out;
  }

  it('both platforms give every published signature, and every damaged copy, the answer noble gives', async () => {
    const all = cases();
    expect(all.length).toBeGreaterThanOrEqual(5 * 8);
    let valid = 0;
    for (const c of all) {
      const expected = isEd25519Point(c.publicKey) && ed25519.verify(c.signature, c.message, c.publicKey, { zip215: false });
      if (expected) valid++;
      for (const p of platforms) expect(await p.ed25519Verify(c.publicKey, c.message, c.signature), `${p.name}: ${c.name}`).toBe(expected);
    }
    expect(valid).toBeGreaterThanOrEqual(5); // the published signatures themselves verify
  });

  it('tells points of the curve from other bytes exactly as noble decodes them strictly', () => {
    const edge = [0n, 1n, 2n ** 255n - 20n, 2n ** 255n - 19n, 2n ** 255n - 1n].flatMap((y) => [toLe(y, 32), toLe(y | (1n << 255n), 32)]);
    const random = Array.from({ length: 1000 }, (_, i) => bytes(32, 7 + i));
    let points = 0;
    for (const b of [...edge, ...random, ...published.map((k) => k.publicKey)]) {
      const expected = ed25519.utils.isValidPublicKey(b, false);
      expect(isEd25519Point(b), toHex(b)).toBe(expected);
      if (expected) points++;
    }
    expect(points).toBeGreaterThan(300); // about half of random bytes are points
    expect(isEd25519Point(new Uint8Array(31))).toBe(false);
  });

  it('both platforms answer false, without throwing, for keys and signatures of the wrong length', async () => {
    const c = cases()[0]!;
    for (const p of platforms) {
      expect(await p.ed25519Verify(c.publicKey, c.message, c.signature)).toBe(true);
      expect(await p.ed25519Verify(c.publicKey.subarray(1), c.message, c.signature)).toBe(false);
      expect(await p.ed25519Verify(c.publicKey, c.message, c.signature.subarray(1))).toBe(false);
      expect(await p.ed25519Verify(c.publicKey, c.message, new Uint8Array([...c.signature, 0]))).toBe(false);
      expect(await p.ed25519Verify(new Uint8Array(32).fill(0xff), c.message, c.signature)).toBe(false); // not a point
    }
  });

  it("both platforms derive Go's published key and sign Go's text to Go's signature; random keys as noble does", async () => {
    const signer = await parseNoteSignerKey(V.signerKeys.PeterNeumann!);
    const expected = parseNote(V.signing.note).signatures[0]!.signature;
    const text = new TextEncoder().encode(V.signing.text);
    for (const p of platforms) {
      expect(await p.ed25519PublicKey(signer.seed)).toEqual(parseNoteVerifierKey(V.verifierKeys.PeterNeumann!).publicKey);
      expect(await p.ed25519Sign(signer.seed, text)).toEqual(expected);
      await expect(p.ed25519Sign(signer.seed.subarray(1), text)).rejects.toThrow(TypeError);
      await expect(p.ed25519PublicKey(new Uint8Array(33))).rejects.toThrow(TypeError);
    }
    for (let i = 0; i < 8; i++) {
      const seed = bytes(32, 1000 + i);
      const message = bytes(i * 37, i);
      for (const p of platforms) {
        expect(toHex(await p.ed25519PublicKey(seed)), `${p.name} ${i}`).toBe(toHex(ed25519.getPublicKey(seed)));
        expect(toHex(await p.ed25519Sign(seed, message)), `${p.name} ${i}`).toBe(toHex(ed25519.sign(message, seed)));
      }
    }
  });

  it('the Web platform falls back to noble where WebCrypto has no Ed25519', async () => {
    const subtle = globalThis.crypto.subtle;
    const importKey = subtle.importKey.bind(subtle);
    const spy = vi.spyOn(subtle, 'importKey').mockImplementation(((format: string, data: never, algorithm: { name?: string } | string, ...rest: never[]) => {
      const name = typeof algorithm === 'string' ? algorithm : algorithm.name;
      if (name === 'Ed25519') return Promise.reject(new DOMException('Unrecognized algorithm name', 'NotSupportedError'));
      return (importKey as (...a: unknown[]) => Promise<unknown>)(format, data, algorithm, ...rest);
    }) as typeof subtle.importKey);
    try {
      vi.resetModules(); // a fresh Web platform, which has not chosen yet
      const { webPlatform: fresh } = await import('../src/platform/web.js');
      const signer = await parseNoteSignerKey(V.signerKeys.PeterNeumann!);
      const text = new TextEncoder().encode(V.signing.text);
      const signature = await fresh.ed25519Sign(signer.seed, text);
      expect(signature).toEqual(parseNote(V.signing.note).signatures[0]!.signature);
      expect(await fresh.ed25519PublicKey(signer.seed)).toEqual(signer.publicKey);
      expect(await fresh.ed25519Verify(signer.publicKey, text, signature)).toBe(true);
      expect(await fresh.ed25519Verify(signer.publicKey, text, signature.map((x, j) => (j === 40 ? x ^ 1 : x)))).toBe(false);
      expect(spy.mock.calls.some(([, , algorithm]) => (algorithm as { name?: string }).name === 'Ed25519')).toBe(true); // WebCrypto was asked first
    } finally {
      spy.mockRestore();
      vi.resetModules();
    }
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
