/**
 * The Node platform's core: SHA-256, RSA, Ed25519 and keys from `node:crypto` (OpenSSL, SHA-NI
 * where the CPU has it), inflating on zlib's raw inflater (libuv's thread pool, off the main
 * thread) or, for a small object, in one synchronous call, and zlib's CRC-32. No pool of threads:
 * the pool's threads run on it, the Node platform (`platform/node`) adds threads, and the parallel
 * layer (`parallel/node`) builds the pool on them.
 * @module
 */
import * as nodeCrypto from 'node:crypto';
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { crc32, createInflateRaw, gzip, inflateRawSync } from 'node:zlib';
import { encodeEd25519PrivateKey, encodeEd25519PublicKey } from './der.js';
import type { Platform, RawInflater, Sha256, SigningKey, WholeInflate } from './platform.js';

const gzipAsync = promisify(gzip);

/** Output chunk size of the inflater for large objects: large enough to keep per-chunk overhead low. */
const INFLATE_CHUNK = 64 * 1024;
/** ... and for small ones, whose output fits in a smaller buffer (many small objects make less garbage). */
const SMALL_INFLATE_CHUNK = 16 * 1024;

const view = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const der = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** `crypto.hash` (Node.js 20.12 and later): SHA-256 in one call, with no hash object. */
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex') => string }).hash;

function sha256Hex(data: Uint8Array): string {
  return oneShotHash ? oneShotHash('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

class NodeSha256 implements Sha256 {
  readonly #hash = createHash('sha256');
  update(data: Uint8Array): void {
    this.#hash.update(data);
  }
  digest(): Uint8Array {
    return view(this.#hash.digest());
  }
}

/** zlib's streaming raw inflater: it stops at the end of the deflate stream and says how much it took. */
function createInflater(sink: (chunk: Uint8Array) => void, options: { small: boolean }): RawInflater {
  const inf = createInflateRaw({ chunkSize: options.small ? SMALL_INFLATE_CHUNK : INFLATE_CHUNK });
  let failure: unknown;
  let fed = 0;
  const failed = new Promise<never>((_, reject) => {
    inf.once('error', (e) => reject(failure ?? e));
  });
  failed.catch(() => undefined);
  const finished = new Promise<void>((resolve) => inf.once('end', resolve));
  inf.on('data', (chunk: Buffer) => {
    if (failure !== undefined) return;
    try {
      sink(chunk);
    } catch (e) {
      failure = e;
      inf.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  });
  const settle = async <T>(p: Promise<T>): Promise<T> => {
    const r = await Promise.race([p, failed]);
    if (failure !== undefined) throw failure;
    return r;
  };
  return {
    async write(chunk) {
      fed += chunk.byteLength;
      await settle(new Promise<void>((resolve, reject) => inf.write(chunk, (e) => (e ? reject(e) : resolve()))));
      return fed - inf.bytesWritten;
    },
    async end() {
      if (!inf.writableEnded) await settle(new Promise<void>((resolve) => inf.end(resolve)));
      await settle(finished);
      return new Uint8Array(0);
    },
    destroy() {
      inf.destroy();
    },
  };
}

function inflateWhole(input: Uint8Array, maxOutputBytes: number): WholeInflate | undefined {
  let out: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    out = inflateRawSync(input, { info: true, maxOutputLength: maxOutputBytes + 1 }) as unknown as typeof out;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw e;
  }
  if (out.buffer.byteLength > maxOutputBytes) return undefined;
  return { output: view(out.buffer), consumed: out.engine.bytesWritten };
}

/**
 * Public keys already decoded, by the bytes they were given as: one key signs a trail's digests
 * for months, and decoding it (OpenSSL's decoders) costs far more than a verification.
 */
const rsaKeys = new WeakMap<Uint8Array, { der: Buffer; key: KeyObject }>();

function rsaPublicKey(spki: Uint8Array): KeyObject {
  const known = rsaKeys.get(spki);
  // The same array with the same bytes (an array can be written to after it was first seen).
  if (known && known.der.equals(spki)) return known.key;
  const copy = Buffer.from(spki);
  const key = createPublicKey({ key: copy, format: 'der', type: 'spki' });
  rsaKeys.set(spki, { der: copy, key });
  return key;
}

async function importSigningKey(pkcs8: Uint8Array): Promise<SigningKey> {
  const key = createPrivateKey({ key: der(pkcs8), format: 'der', type: 'pkcs8' });
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`a ${key.asymmetricKeyType} key, not RSA`);
  return {
    publicKeyDer: view(createPublicKey(key).export({ type: 'pkcs1', format: 'der' })),
    sign: async (message) => view(cryptoSign('sha256', message, { key, padding: constants.RSA_PKCS1_PADDING })),
  };
}

function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TypeError('an Ed25519 private key is 32 bytes');
  return createPrivateKey({ key: der(encodeEd25519PrivateKey(seed)), format: 'der', type: 'pkcs8' });
}

async function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32 || !(signature instanceof Uint8Array) || signature.length !== 64) return false;
  try {
    const key = createPublicKey({ key: der(encodeEd25519PublicKey(publicKey)), format: 'der', type: 'spki' });
    return cryptoVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** The Node platform without a pool: everything runs in the calling thread. */
export const nodeCorePlatform: Platform = {
  name: 'node',
  createSha256: (): Sha256 => new NodeSha256(),
  sha256Hex,
  sha256: async (data: Uint8Array): Promise<Uint8Array> => view(createHash('sha256').update(data).digest()),
  crc32: (data: Uint8Array, value = 0): number => crc32(data, value),
  createInflater,
  inflateWhole,
  // On libuv's threads: the caller's thread goes on while a digest is compressed.
  gzip: async (data: Uint8Array): Promise<Uint8Array> => view(await gzipAsync(data)),
  rsaVerify: async (spki: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> =>
    cryptoVerify('sha256', message, { key: rsaPublicKey(spki), padding: constants.RSA_PKCS1_PADDING }, signature),
  importSigningKey,
  ed25519Verify,
  ed25519PublicKey: async (seed: Uint8Array): Promise<Uint8Array> => {
    const spki = createPublicKey(ed25519PrivateKey(seed)).export({ format: 'der', type: 'spki' });
    return view(spki).slice(spki.byteLength - 32);
  },
  ed25519Sign: async (seed: Uint8Array, message: Uint8Array): Promise<Uint8Array> => view(cryptoSign(null, message, ed25519PrivateKey(seed))),
  sleep: async (ms: number): Promise<void> => {
    await sleep(ms);
  },
};

/** The platform of a pool thread (the package's platform seam, resolved there): the core, no pool of its own. */
export const defaultPlatform: Platform = nodeCorePlatform;
