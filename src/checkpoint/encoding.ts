/**
 * Text encodings the checkpoint modules share: strict standard base64 (RFC 4648 section 4,
 * padded, canonical) and PEM armour (RFC 7468), with no `Buffer`, so that they run anywhere.
 * @module
 * @internal
 */
import { ValidateLogsError, type ErrorCode } from '../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUES = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Standard base64 of bytes, padded with `=`.
 * @param bytes - the bytes
 * @returns their base64
 * @internal
 */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Decode standard base64 strictly: a multiple of four characters from the standard alphabet,
 * `=` only as final padding, and the unused bits of the last character zero (so that each
 * byte string has exactly one accepted encoding).
 * @param text - the base64 text
 * @param what - what it is, for the error message
 * @param code - the error code to throw
 * @returns the bytes
 * @throws ValidateLogsError with `code` when `text` is not canonical base64
 * @internal
 */
export function fromBase64(text: string, what: string, code: ErrorCode): Uint8Array {
  if (!BASE64_RE.test(text)) {
    const bad = /[^A-Za-z0-9+/=]/.exec(text);
    throw new ValidateLogsError(code, `${what} is not valid base64: ${bad ? `character ${JSON.stringify(bad[0])} at ${bad.index}` : 'wrong length or padding'}`);
  }
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let at = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) n = (n << 6) | Math.max(0, VALUES[text.charCodeAt(i + j)]!);
    for (const byte of [n >> 16, (n >> 8) & 255, n & 255]) if (at < out.length) out[at++] = byte;
  }
  // Non-zero unused bits in the last character would give a second spelling of the same bytes.
  if (toBase64(out) !== text) throw new ValidateLogsError(code, `${what} is not valid base64: non-zero padding bits`);
  return out;
}

/**
 * The DER bytes inside one PEM block with the given label (RFC 7468 strict form: a BEGIN
 * line, base64 lines, an END line; surrounding blank space allowed, nothing else).
 * @param text - the PEM text
 * @param label - the expected label, such as `PRIVATE KEY`
 * @param what - what it is, for the error message (a file name)
 * @returns the DER bytes
 * @throws ValidateLogsError `KEY_INVALID` when it is not exactly one such block
 * @internal
 */
export function fromPem(text: string, label: string, what: string): Uint8Array {
  const lines = text.replace(/\r\n/g, '\n').trim().split('\n');
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  if (lines[0] !== begin) {
    const found = /^-----BEGIN ([A-Z0-9 ]+)-----$/.exec(lines[0] ?? '');
    throw new ValidateLogsError('KEY_INVALID', `${what} is not a PEM "${label}"${found ? ` (it holds a "${found[1]}")` : ''}`);
  }
  if (lines.at(-1) !== end || lines.length < 3) throw new ValidateLogsError('KEY_INVALID', `${what}: the PEM block does not end with "${end}"`);
  const body = lines.slice(1, -1);
  if (body.some((l) => l.length === 0 || l.length > 76)) throw new ValidateLogsError('KEY_INVALID', `${what}: the PEM block has an empty or overlong line`);
  return fromBase64(body.join(''), what, 'KEY_INVALID');
}

/**
 * Wrap DER bytes in PEM armour (64 characters a line).
 * @param der - the DER bytes
 * @param label - the label, such as `PUBLIC KEY`
 * @returns the PEM text, ending in a newline
 * @internal
 */
export function toPem(der: Uint8Array, label: string): string {
  const b64 = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * Whether two byte strings are equal, without an early exit.
 * @param a - first
 * @param b - second
 * @returns whether they are equal
 * @internal
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
