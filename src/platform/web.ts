/**
 * The Web platform: WebCrypto for RSA, Ed25519 and one-shot SHA-256 (`@noble/curves`, loaded
 * only then, for Ed25519 where WebCrypto lacks it), `@noble/hashes` for streaming SHA-256, `DecompressionStream('deflate-raw')` for inflating, `CompressionStream('gzip')`
 * for writing, and a table CRC-32: for any runtime with WebCrypto and Compression Streams
 * (browsers, Workers; Node has them too). The default wherever the `node` condition does not apply.
 *
 * The inflater is given the deflate data only: it holds back the last 8 bytes it is fed (the
 * gzip trailer). The Compression Streams standard makes `DecompressionStream` fail on bytes
 * after the end of the deflate data, so data after a gzip member is refused. (Node 20's
 * `DecompressionStream` ignores them instead: under Node, use the Node platform, the default.)
 * @module
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { encodeEd25519PrivateKey, encodeEd25519PublicKey, encodeRsaPublicKey } from './der.js';
import { concatBytes } from '../utils.js';
import type { Platform, RawInflater, Sha256, SigningKey, ThreadEvents, ThreadHandle } from './platform.js';

/** The gzip trailer: CRC-32 and length, 8 bytes. */
const TRAILER = 8;
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

const subtle = (): typeof globalThis.crypto.subtle => {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new TypeError('WebCrypto (crypto.subtle) is not available in this runtime');
  return s;
};

/**
 * CRC-32 tables (reflected polynomial 0xEDB88320) for slicing by 8, built on first use: table
 * `k` holds the CRC of a byte followed by `k` zero bytes, so eight bytes take eight lookups and
 * no dependency from one byte to the next (about four times the byte-at-a-time speed).
 */
const crcTables = ((): (() => Uint32Array) => {
  let tables: Uint32Array | undefined;
  return () => {
    if (tables) return tables;
    tables = new Uint32Array(8 * 256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      tables[n] = c >>> 0;
    }
    for (let n = 0; n < 256; n++) {
      for (let k = 1; k < 8; k++) tables[k * 256 + n] = (tables[(tables[(k - 1) * 256 + n]! & 0xff)]! ^ (tables[(k - 1) * 256 + n]! >>> 8)) >>> 0;
    }
    return tables;
  };
})();

function crc32(data: Uint8Array, value = 0): number {
  const t = crcTables();
  let c = ~value >>> 0;
  const n = data.length;
  let i = 0;
  for (const end = n - (n & 7); i < end; i += 8) {
    const a = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
  }
  for (; i < n; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Read every chunk of a readable stream into one array. */
async function collect(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return concatBytes(parts);
}

function createInflater(sink: (chunk: Uint8Array) => void): RawInflater {
  const stream = new DecompressionStream('deflate-raw');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  let held = new Uint8Array(0);
  let failure: unknown;
  const pump = (async (): Promise<void> => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      try {
        sink(value);
      } catch (e) {
        failure = e;
        await reader.cancel(e).catch(() => undefined);
        throw e;
      }
    }
  })();
  pump.catch(() => undefined);
  const failed = pump.then(() => new Promise<never>(() => undefined));
  failed.catch(() => undefined);
  const settle = async (p: Promise<unknown>): Promise<void> => {
    try {
      await Promise.race([p, failed]);
    } catch (e) {
      throw failure ?? e;
    }
    if (failure !== undefined) throw failure;
  };
  return {
    async write(chunk) {
      // Hold back the last 8 bytes seen: they may be the trailer. A copy, since the stream may
      // read the chunk after the write settles and the caller may reuse it.
      const all = new Uint8Array(held.byteLength + chunk.byteLength);
      all.set(held);
      all.set(chunk, held.byteLength);
      const cut = Math.max(0, all.byteLength - TRAILER);
      held = all.subarray(cut);
      if (cut > 0) await settle(writer.write(all.subarray(0, cut)));
      return 0;
    },
    async end() {
      await settle(writer.close());
      await settle(pump);
      return held;
    },
    destroy() {
      reader.cancel().catch(() => undefined);
      writer.abort().catch(() => undefined);
    },
  };
}

/**
 * Whether this runtime's `DecompressionStream('gzip')` refuses what a strict gzip reader must:
 * a byte after the member (the Compression Streams standard requires it; Node 20 ignores such
 * bytes) and a second member. Probed once, on two tiny streams.
 */
const strictNativeGzip = ((): (() => Promise<boolean>) => {
  let probed: Promise<boolean> | undefined;
  // gzip of the empty content, as gzip -n writes it.
  const EMPTY = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const refused = async (bytes: number[]): Promise<boolean> => {
    try {
      await collect(new Blob([Uint8Array.from(bytes)]).stream().pipeThrough(new DecompressionStream('gzip')));
      return false;
    } catch {
      return true;
    }
  };
  return () =>
    (probed ??= (async () => {
      if (typeof DecompressionStream !== 'function' || typeof Blob !== 'function') return false;
      if (await refused(EMPTY)) return false; // not even a valid member: not usable
      return (await refused([...EMPTY, 0])) && (await refused([...EMPTY, ...EMPTY]));
    })());
})();

/**
 * Inflate a whole gzip member held in memory with the runtime's own gzip reader
 * (`DecompressionStream('gzip')`: the deflate data, its CRC-32 and length checked natively, no
 * byte allowed after the member), for a caller that has checked the header itself and reads the
 * bytes again the strict way whenever this gives up.
 * @param input - the whole stored object
 * @param limit - give up once the content exceeds this many bytes (memory stays within it)
 * @returns the content's pieces (fresh buffers, never reused by the runtime), or undefined when
 *   this runtime's reader is not known to be strict, the bytes are not one valid gzip member,
 *   or the content exceeds `limit`
 */
export async function inflateGzipNative(input: Uint8Array<ArrayBuffer>, limit: number): Promise<Array<Uint8Array<ArrayBuffer>> | undefined> {
  if (!(await strictNativeGzip())) return undefined;
  const stream = new DecompressionStream('gzip');
  const writer = stream.writable.getWriter();
  writer.write(input).catch(() => undefined);
  writer.close().catch(() => undefined);
  const reader = stream.readable.getReader();
  const parts: Array<Uint8Array<ArrayBuffer>> = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return parts;
      size += value.byteLength;
      if (size > limit) {
        reader.cancel().catch(() => undefined);
        return undefined;
      }
      parts.push(value);
    }
  } catch {
    return undefined;
  }
}

/** The bytes of a JWK member (base64url without padding). */
function base64url(s: string | undefined, what: string): Uint8Array {
  if (!s) throw new Error(`the key has no ${what}`);
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

async function importSigningKey(pkcs8: Uint8Array): Promise<SigningKey> {
  const key = await subtle().importKey('pkcs8', pkcs8.slice(), RSA, true, ['sign']);
  const jwk = await subtle().exportKey('jwk', key);
  return {
    publicKeyDer: encodeRsaPublicKey(base64url(jwk.n, 'RSA modulus'), base64url(jwk.e, 'RSA exponent')),
    sign: async (message) => new Uint8Array(await subtle().sign(RSA, key, message.slice())),
  };
}

/** Ed25519 as the Web platform does it: WebCrypto's, or noble's where WebCrypto has none. */
interface Ed25519 {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  publicKey(seed: Uint8Array): Promise<Uint8Array>;
  sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
}

const ED25519 = { name: 'Ed25519' } as const;

const webCryptoEd25519: Ed25519 = {
  verify: async (publicKey, message, signature) => {
    const key = await subtle().importKey('spki', encodeEd25519PublicKey(publicKey).slice(), ED25519, false, ['verify']);
    return subtle().verify(ED25519, key, signature.slice(), message.slice());
  },
  publicKey: async (seed) => {
    const key = await subtle().importKey('pkcs8', encodeEd25519PrivateKey(seed).slice(), ED25519, true, ['sign']);
    return base64url((await subtle().exportKey('jwk', key)).x, 'Ed25519 public key');
  },
  sign: async (seed, message) => {
    const key = await subtle().importKey('pkcs8', encodeEd25519PrivateKey(seed).slice(), ED25519, false, ['sign']);
    return new Uint8Array(await subtle().sign(ED25519, key, message.slice()));
  },
};

/** noble's Ed25519, loaded on first use: most runtimes never need it. */
async function nobleEd25519(): Promise<Ed25519> {
  const { ed25519 } = await import('@noble/curves/ed25519.js');
  return {
    // noble answers false (never throws) for a malformed point or scalar of the right length.
    verify: async (publicKey, message, signature) => ed25519.verify(signature, message, publicKey, { zip215: false }),
    publicKey: async (seed) => ed25519.getPublicKey(seed),
    sign: async (seed, message) => ed25519.sign(message, seed),
  };
}

/** WebCrypto's Ed25519 when this runtime has it (tried once, with a key it must accept), else noble's. */
const ed25519 = ((): (() => Promise<Ed25519>) => {
  let chosen: Promise<Ed25519> | undefined;
  return () =>
    (chosen ??= webCryptoEd25519.publicKey(new Uint8Array(32)).then(
      () => webCryptoEd25519,
      () => nobleEd25519(),
    ));
})();

function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TypeError('an Ed25519 private key is 32 bytes');
}

/** The constructor of module Web Workers, where the runtime has one. */
type WorkerConstructor = new (url: URL, options: { type: 'module' }) => {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  terminate(): void;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: { message?: string }) => void) | null;
};

/**
 * Start a module Web Worker ({@link Platform.startThread}); a Worker never keeps a page alive,
 * so `ref` and `unref` do nothing.
 */
function startThread(module: URL, events: ThreadEvents): ThreadHandle {
  const Ctor = (globalThis as { Worker?: WorkerConstructor }).Worker;
  if (!Ctor) throw new TypeError('Web Workers are not available in this runtime');
  const worker = new Ctor(module, { type: 'module' });
  worker.onmessage = (event) => events.message(event.data);
  worker.onerror = (event) => events.failed(new Error(event.message || 'the Worker failed'));
  return {
    post: (m, transfer = []) => worker.postMessage(m, transfer),
    ref: () => undefined,
    unref: () => undefined,
    terminate: () => worker.terminate(),
  };
}

/** The Web platform (WebCrypto, Compression Streams, `@noble/hashes`): the default outside Node. */
export const webPlatform: Platform = Object.freeze({
  name: 'web',
  createSha256: (): Sha256 => nobleSha256.create(),
  sha256: async (data: Uint8Array): Promise<Uint8Array> => new Uint8Array(await subtle().digest('SHA-256', data.slice())),
  crc32,
  createInflater,
  gzip: (data: Uint8Array): Promise<Uint8Array> => {
    const stream = new CompressionStream('gzip');
    const writer = stream.writable.getWriter();
    writer.write(data.slice()).catch(() => undefined);
    writer.close().catch(() => undefined);
    return collect(stream.readable);
  },
  rsaVerify: async (spki: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> => {
    const key = await subtle().importKey('spki', spki.slice(), RSA, false, ['verify']);
    return subtle().verify(RSA, key, signature.slice(), message.slice());
  },
  importSigningKey,
  ed25519Verify: async (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> => {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32 || !(signature instanceof Uint8Array) || signature.length !== 64) return false;
    try {
      return await (await ed25519()).verify(publicKey, message, signature);
    } catch {
      return false;
    }
  },
  ed25519PublicKey: async (seed: Uint8Array): Promise<Uint8Array> => {
    checkSeed(seed);
    return (await ed25519()).publicKey(seed);
  },
  ed25519Sign: async (seed: Uint8Array, message: Uint8Array): Promise<Uint8Array> => {
    checkSeed(seed);
    return (await ed25519()).sign(seed, message);
  },
  sleep: (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms)),
  startThread,
});

/** The platform chosen for this runtime by the package's conditional imports. */
export const defaultPlatform: Platform = webPlatform;
