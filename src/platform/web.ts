/**
 * The Web platform: WebCrypto for RSA and one-shot SHA-256, `@noble/hashes` for streaming
 * SHA-256, `DecompressionStream('deflate-raw')` for inflating, `CompressionStream('gzip')`
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
import { encodeRsaPublicKey } from '../crypto/der.js';
import { concatBytes } from '../utils.js';
import type { Platform, RawInflater, Sha256, SigningKey } from './platform.js';

/** The gzip trailer: CRC-32 and length, 8 bytes. */
const TRAILER = 8;
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

const subtle = (): typeof globalThis.crypto.subtle => {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new TypeError('WebCrypto (crypto.subtle) is not available in this runtime');
  return s;
};

/** CRC-32 table (reflected polynomial 0xEDB88320), built on first use. */
const crcTable = ((): (() => Uint32Array) => {
  let table: Uint32Array | undefined;
  return () => {
    if (table) return table;
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
    return table;
  };
})();

function crc32(data: Uint8Array, value = 0): number {
  const t = crcTable();
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
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

async function importSigningKey(pkcs8: Uint8Array): Promise<SigningKey> {
  const key = await subtle().importKey('pkcs8', pkcs8.slice(), RSA, true, ['sign']);
  const jwk = await subtle().exportKey('jwk', key);
  const base64url = (s: string | undefined): Uint8Array => {
    if (!s) throw new Error('the key has no RSA modulus or exponent');
    const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  };
  return {
    publicKeyDer: encodeRsaPublicKey(base64url(jwk.n), base64url(jwk.e)),
    sign: async (message) => new Uint8Array(await subtle().sign(RSA, key, message.slice())),
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
  sleep: (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms)),
});

/** The platform chosen for this runtime by the package's conditional imports. */
export const defaultPlatform: Platform = webPlatform;
