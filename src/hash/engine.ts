/**
 * SHA-256 behind one small interface, with two engines: the platform's native one
 * (`node:crypto`, OpenSSL, SHA-NI where the CPU has it) and a portable pure-JS one
 * (`@noble/hashes`). Both give identical results; the native engine is the default because
 * it is about ten times faster, the portable one runs wherever JavaScript does.
 * @module
 */
import { createHash } from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** An incremental SHA-256 computation. */
export interface Sha256 {
  /**
   * Feed bytes. The bytes are read during the call and never retained.
   * @param data - the next bytes
   */
  update(data: Uint8Array): void;
  /**
   * Finish and return the 32-byte digest. The object cannot be used afterwards.
   * @returns the digest
   */
  digest(): Uint8Array;
}

/** A source of {@link Sha256} objects. */
export interface HashEngine {
  /** Engine name, for reports and benchmarks: `native` or `noble`. */
  readonly name: string;
  /**
   * Start a new SHA-256 computation.
   * @returns a fresh hash object
   */
  createSha256(): Sha256;
}

class NativeSha256 implements Sha256 {
  readonly #hash = createHash('sha256');
  update(data: Uint8Array): void {
    this.#hash.update(data);
  }
  digest(): Uint8Array {
    const out = this.#hash.digest();
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
}

/** The platform's SHA-256 (`node:crypto`). The default engine. */
export const nativeEngine: HashEngine = Object.freeze({
  name: 'native',
  createSha256: (): Sha256 => new NativeSha256(),
});

/** The portable SHA-256 from `@noble/hashes`, for runtimes without `node:crypto`. */
export const nobleEngine: HashEngine = Object.freeze({
  name: 'noble',
  createSha256: (): Sha256 => nobleSha256.create(),
});

/**
 * One-shot SHA-256 of bytes held in memory.
 * @param data - the bytes
 * @param engine - engine to use; {@link nativeEngine} by default
 * @returns the 32-byte digest
 * @example
 * ```ts
 * toHex(sha256(new TextEncoder().encode('abc')));
 * // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 * ```
 */
export function sha256(data: Uint8Array, engine: HashEngine = nativeEngine): Uint8Array {
  const h = engine.createSha256();
  h.update(data);
  return h.digest();
}
