/**
 * Small byte and argument helpers shared by every module. All argument checks live here.
 * @module
 */
import { ValidateLogsError } from './errors.js';

const HEX = '0123456789abcdef';
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Lower-case hex of bytes.
 * @param bytes - input bytes
 * @returns hex string, two characters per byte
 */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    out += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return out;
}

/**
 * Decode hex into bytes, strictly: even length, hex digits only.
 * @param hex - the hex string
 * @param what - what the value is, for the error message (for example `signature of s3://b/k`)
 * @returns the decoded bytes
 * @throws ValidateLogsError `SIGNATURE_INVALID` when `hex` is not hex
 */
export function fromHex(hex: string, what: string): Uint8Array {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) {
    throw new ValidateLogsError('SIGNATURE_INVALID', `${what} is not an even-length hex string`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Base64 of bytes (RFC 4648, with padding).
 * @param bytes - input bytes
 * @returns the base64 text
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * Decode base64 (RFC 4648, standard alphabet) strictly: white space is ignored, anything else
 * that is not base64 of whole bytes is refused.
 * @param text - the base64 text
 * @returns the bytes, or undefined when `text` is not strict base64
 */
export function fromBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(/\s+/g, '');
  if (clean.length === 0 || clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return undefined;
  const binary = atob(clean);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * A copy of bytes in a new buffer of their own. Not `bytes.slice()`: on a Node `Buffer`, that
 * is a view of the same memory, which a reader that reuses its buffer overwrites.
 * @param bytes - the bytes
 * @returns the copy
 */
export const copyBytes = (bytes: Uint8Array): Uint8Array => Uint8Array.prototype.slice.call(bytes);

/**
 * Concatenate byte arrays.
 * @param parts - the arrays
 * @returns one array holding them in order
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Compare two strings without an early exit on the first difference (for digests and
 * signatures, so timing reveals nothing about how much of a forged value was right).
 * @param a - first value
 * @param b - second value
 * @returns whether they are equal
 */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

const encoder = new TextEncoder();

/**
 * UTF-8 bytes of a string.
 * @param text - the string
 * @returns its UTF-8 encoding
 */
export function encodeUtf8(text: string): Uint8Array {
  // Most text here is ASCII (JSON of keys, hashes and times): then its bytes are as many as
  // its characters, and `encodeInto` a buffer of that size is many times faster than `encode`
  // (which sizes its output by a pass of its own). Otherwise `encode`.
  const out = new Uint8Array(text.length);
  const { read } = encoder.encodeInto(text, out);
  return read === text.length ? out : encoder.encode(text);
}

const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Strict UTF-8 decode.
 * @param bytes - bytes that must be valid UTF-8
 * @param what - what they are, for the error message
 * @returns the decoded text
 * @throws ValidateLogsError `DIGEST_FORMAT` when the bytes are not valid UTF-8
 */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  // The lenient decoder is the fast one (Node.js's strict one is several times slower): it
  // leaves U+FFFD where the bytes are not UTF-8, and only a text with U+FFFD in it (rare, and
  // instant to rule out in an ASCII text) is decoded again strictly to tell which it was.
  const text = lenient.decode(bytes);
  if (!text.includes('\uFFFD')) return text;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new ValidateLogsError('DIGEST_FORMAT', `${what} is not valid UTF-8`, { cause });
  }
}

/**
 * Check that a value is a non-empty string (API misuse otherwise).
 * @param value - the value
 * @param name - the argument's name
 * @returns the value
 * @throws TypeError when it is not a non-empty string
 */
export function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${name} must be a non-empty string`);
  }
  return value;
}

/**
 * Check that a value is a positive safe integer (API misuse otherwise).
 * @param value - the value
 * @param name - the argument's name
 * @returns the value
 * @throws RangeError when it is not a positive safe integer
 */
export function requirePositiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Check that a value is a valid `Date` (API misuse otherwise).
 * @param value - the value
 * @param name - the argument's name
 * @returns the value
 * @throws TypeError when it is not a `Date` with a valid time
 */
export function requireDate(value: unknown, name: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new TypeError(`${name} must be a valid Date`);
  }
  return value;
}
