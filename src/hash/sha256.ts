/**
 * One-shot SHA-256 of bytes in memory, synchronously: the platform's one-call hash where it has
 * one, else its streaming hash.
 * @module
 */
import { defaultPlatform } from '#platform';
import type { Platform } from '../platform/platform.js';
import { toHex } from '../utils.js';

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

/**
 * SHA-256 of bytes held in memory, as lower-case hex: in one call where the platform can
 * ({@link Platform.sha256Hex}), else on its streaming hash.
 * @param data - the bytes
 * @param platform - the runtime's SHA-256; the default platform when omitted
 * @returns 64 lower-case hex digits
 */
export function sha256Hex(data: Uint8Array, platform: Platform = defaultPlatform): string {
  return platform.sha256Hex ? platform.sha256Hex(data) : toHex(sha256(data, platform));
}
