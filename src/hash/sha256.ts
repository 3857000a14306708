/**
 * One-shot SHA-256 of bytes in memory, synchronously, on the platform's streaming hash.
 * @module
 */
import { defaultPlatform } from '#platform';
import type { Platform } from '../platform/platform.js';

/**
 * SHA-256 of bytes held in memory.
 * @param data - the bytes
 * @param platform - the runtime's SHA-256; the default platform when omitted
 * @returns the 32-byte digest
 * @example
 * ```ts
 * toHex(sha256(new TextEncoder().encode('abc')));
 * // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 * ```
 */
export function sha256(data: Uint8Array, platform: Platform = defaultPlatform): Uint8Array {
  const h = platform.createSha256();
  h.update(data);
  return h.digest();
}
