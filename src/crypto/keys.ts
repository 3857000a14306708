/**
 * RSA public keys as CloudTrail publishes them, fingerprints, key sets with validity windows,
 * and signers from private keys.
 *
 * Keys are read strictly from DER (PKCS#1 RSAPublicKey or SubjectPublicKeyInfo; see
 * `der.ts`) on every platform alike, so a key is accepted, sized and fingerprinted the same
 * way everywhere. The fingerprint is always taken over the DER bytes exactly as given, because
 * that is how CloudTrail computes it; DER with trailing bytes or a non-canonical encoding is
 * refused, since it would give the same key another fingerprint.
 * @module
 */
import { md5 } from '@noble/hashes/legacy.js';
import { defaultPlatform } from '#platform';
import { ValidateLogsError } from '../errors.js';
import { findDuplicateKey } from '../format/json.js';
import { parseIsoOrEpoch } from '../format/time.js';
import type { Platform } from '../platform/platform.js';
import { fromBase64, toBase64, toHex } from '../utils.js';
import { NotRsaError, bitLength, readRsaPublicKey, rsaPrivateKeyPkcs8 } from './der.js';

/** The only signature algorithm CloudTrail uses. */
export const SIGNATURE_ALGORITHM = 'SHA256withRSA';
/** Smallest RSA modulus accepted, in bits. */
export const MIN_RSA_BITS = 2048;

/** The validity end written for a key that is still in use (open-ended). */
export const OPEN_VALIDITY_END: Date = new Date('9999-12-31T23:59:59Z');

/** A parsed RSA public key. */
export interface PublicKeyInfo {
  /** The DER bytes exactly as given (PKCS#1 or SPKI). */
  readonly der: Uint8Array;
  /** Hex MD5 of `der`, as in a digest's `digestPublicKeyFingerprint`. */
  readonly fingerprint: string;
  /** Which DER structure `der` is. */
  readonly format: 'pkcs1' | 'spki';
  /** The same key as SubjectPublicKeyInfo DER (`der` itself when it is SPKI): what WebCrypto imports. */
  readonly spki: Uint8Array;
  /** Modulus size in bits. */
  readonly modulusBits: number;
  /** Start of the validity window, if known. */
  readonly validFrom?: Date;
  /** End of the validity window, if known. */
  readonly validTo?: Date;
}

/**
 * Hex MD5 of a public key's DER bytes: CloudTrail's key fingerprint.
 * @param der - the DER bytes exactly as published
 * @returns 32 lower-case hex characters
 */
export function keyFingerprint(der: Uint8Array): string {
  return toHex(md5(der));
}

const PEM_RE = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/;

function decodeBase64Strict(text: string, what: string): Uint8Array {
  const bytes = fromBase64(text);
  if (!bytes) throw new ValidateLogsError('KEY_INVALID', `${what}: not valid base64`);
  return bytes;
}

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Parse an RSA public key from DER bytes (PKCS#1 RSAPublicKey or SubjectPublicKeyInfo), a
 * PEM string (`RSA PUBLIC KEY` or `PUBLIC KEY`), or a base64 string of DER.
 *
 * @param input - the key
 * @param options - validity window and a name for error messages
 * @returns the parsed key with its fingerprint
 * @throws ValidateLogsError `KEY_INVALID` when it is not an RSA public key of at least 2048 bits
 * @example
 * ```ts
 * const key = parsePublicKey(fs.readFileSync('key.pem', 'utf8'));
 * key.fingerprint; // hex MD5 of the DER bytes
 * ```
 */
export function parsePublicKey(
  input: Uint8Array | string,
  options: { validFrom?: Date; validTo?: Date; what?: string } = {},
): PublicKeyInfo {
  const what = options.what ?? 'public key';
  let der: Uint8Array;
  let hint: 'pkcs1' | 'spki' | undefined;
  if (typeof input === 'string') {
    const pem = PEM_RE.exec(input);
    if (pem) {
      if (pem[1] === 'RSA PUBLIC KEY') hint = 'pkcs1';
      else if (pem[1] === 'PUBLIC KEY') hint = 'spki';
      else throw new ValidateLogsError('KEY_INVALID', `${what}: PEM block "${pem[1]}" is not a public key`);
      der = decodeBase64Strict(pem[2]!, what);
    } else {
      der = decodeBase64Strict(input, what);
    }
  } else if (input instanceof Uint8Array) {
    der = input.slice();
  } else {
    throw new TypeError('public key must be a Uint8Array of DER or a PEM/base64 string');
  }
  let key;
  try {
    key = readRsaPublicKey(der, hint);
  } catch (e) {
    if (e instanceof NotRsaError) throw new ValidateLogsError('KEY_INVALID', `${what}: ${e.message}`);
    throw new ValidateLogsError('KEY_INVALID', `${what}: not a DER RSA public key (${hint ?? 'PKCS#1 or SPKI'}: ${reason(e)})`, { cause: e });
  }
  const bits = bitLength(key.modulus);
  if (bits < MIN_RSA_BITS) {
    throw new ValidateLogsError('KEY_INVALID', `${what}: RSA key of ${bits} bits, under the minimum of ${MIN_RSA_BITS}`);
  }
  if (options.validFrom && options.validTo && options.validTo < options.validFrom) {
    throw new ValidateLogsError('KEY_INVALID', `${what}: validity window ends before it starts`);
  }
  return {
    der,
    fingerprint: keyFingerprint(der),
    format: key.format,
    spki: key.spki,
    modulusBits: bits,
    ...(options.validFrom && { validFrom: options.validFrom }),
    ...(options.validTo && { validTo: options.validTo }),
  };
}

/** One entry of the `PublicKeyList` that `aws cloudtrail list-public-keys` prints. */
export interface ListPublicKeysEntry {
  /** base64 of the key's DER bytes. */
  Value: string;
  /** Start of validity (ISO 8601 or epoch seconds). */
  ValidityStartTime: string | number;
  /** End of validity (ISO 8601 or epoch seconds). */
  ValidityEndTime: string | number;
  /** Hex MD5 of the DER bytes. */
  Fingerprint: string;
}

/** The JSON document `aws cloudtrail list-public-keys` prints. */
export interface ListPublicKeysDocument {
  /** The keys. */
  PublicKeyList: ListPublicKeysEntry[];
}

/** Milliseconds from `at` to a key's validity window: 0 inside it. */
function distance(key: PublicKeyInfo, at: number): number {
  if (key.validFrom && at < key.validFrom.getTime()) return key.validFrom.getTime() - at;
  if (key.validTo && at > key.validTo.getTime()) return at - key.validTo.getTime();
  return 0;
}

/**
 * The public keys of one region, found by fingerprint. One key (one fingerprint) may be held
 * more than once with different validity windows (key lists of several periods or regions):
 * asked for a time, the set answers with the entry whose window covers it.
 *
 * @example
 * ```ts
 * const keys = PublicKeySet.fromListPublicKeys(fs.readFileSync('keys.json', 'utf8'));
 * keys.find('be2f0b997552f44942837300ba1aba9d', digest.endTime);
 * ```
 */
export class PublicKeySet implements Iterable<PublicKeyInfo> {
  readonly #keys = new Map<string, PublicKeyInfo[]>();

  /** @param keys - initial keys */
  constructor(keys: Iterable<PublicKeyInfo> = []) {
    for (const k of keys) this.add(k);
  }

  /**
   * Add a key. An entry with the same fingerprint and the same validity window is replaced;
   * one with another window is kept beside it.
   * @param key - the key
   * @returns this set
   */
  add(key: PublicKeyInfo): this {
    const entries = this.#keys.get(key.fingerprint) ?? [];
    const window = (k: PublicKeyInfo): string => `${k.validFrom?.getTime()}/${k.validTo?.getTime()}`;
    const at = entries.findIndex((k) => window(k) === window(key));
    if (at >= 0) entries[at] = key;
    else entries.push(key);
    this.#keys.set(key.fingerprint, entries);
    return this;
  }

  /**
   * Add every key of another set.
   * @param other - the other set
   * @returns this set
   */
  addAll(other: Iterable<PublicKeyInfo>): this {
    for (const k of other) this.add(k);
    return this;
  }

  /**
   * The key with this fingerprint. Given a time, the entry whose validity window covers it,
   * else the entry whose window is nearest to it (so that a caller can report the key as not
   * valid then); without a time, the entry added last.
   * @param fingerprint - hex MD5 of the key's DER bytes (case-insensitive)
   * @param at - the time the key is wanted for (a digest's end time)
   * @returns the key, or undefined when no key has this fingerprint
   */
  find(fingerprint: string, at?: Date): PublicKeyInfo | undefined {
    const entries = this.#keys.get(fingerprint.toLowerCase());
    if (!entries) return undefined;
    if (at === undefined) return entries.at(-1);
    const t = at.getTime();
    return entries.reduce((best, k) => (distance(k, t) < distance(best, t) ? k : best));
  }

  /**
   * The key with this fingerprint whose validity window (where known) contains `at`.
   * @param fingerprint - hex MD5 of the key's DER bytes
   * @param at - the time the key must be valid at
   * @returns the key, or undefined when absent or not valid then
   */
  findValidAt(fingerprint: string, at: Date): PublicKeyInfo | undefined {
    const k = this.find(fingerprint, at);
    return k && distance(k, at.getTime()) === 0 ? k : undefined;
  }

  /** Number of entries (a key held with two validity windows counts twice). */
  get size(): number {
    let n = 0;
    for (const entries of this.#keys.values()) n += entries.length;
    return n;
  }

  /** @returns every entry, by fingerprint in order of first addition */
  *[Symbol.iterator](): Iterator<PublicKeyInfo> {
    for (const entries of this.#keys.values()) yield* entries;
  }

  /**
   * Load the JSON that `aws cloudtrail list-public-keys` prints (or the same shape from
   * `--public-keys-out`). Times may be ISO strings or epoch seconds. Each entry's fingerprint
   * must match the MD5 of its `Value`.
   *
   * @param input - the JSON text or the parsed document
   * @param what - the file's name for error messages
   * @returns the key set
   * @throws ValidateLogsError `KEY_LIST_INVALID` or `KEY_INVALID` naming the entry
   */
  static fromListPublicKeys(input: string | unknown, what = 'public key list'): PublicKeySet {
    let doc: unknown = input;
    if (typeof input === 'string') {
      try {
        doc = JSON.parse(input);
      } catch (e) {
        throw new ValidateLogsError('KEY_LIST_INVALID', `${what}: not valid JSON (${e instanceof Error ? e.message : String(e)})`, { cause: e });
      }
      const duplicate = findDuplicateKey(input);
      if (duplicate) throw new ValidateLogsError('KEY_LIST_INVALID', `${what}: "${duplicate.key}" appears twice in ${duplicate.path}`);
    }
    const list = (doc as { PublicKeyList?: unknown } | null)?.PublicKeyList;
    if (typeof doc !== 'object' || doc === null || !Array.isArray(list)) {
      throw new ValidateLogsError('KEY_LIST_INVALID', `${what}: expected an object with a "PublicKeyList" array, as "aws cloudtrail list-public-keys" prints`);
    }
    const set = new PublicKeySet();
    list.forEach((entry: unknown, i: number) => {
      const at = `${what}: PublicKeyList[${i}]`;
      if (typeof entry !== 'object' || entry === null) throw new ValidateLogsError('KEY_LIST_INVALID', `${at} is not an object`);
      const e = entry as Record<string, unknown>;
      if (typeof e.Value !== 'string') throw new ValidateLogsError('KEY_LIST_INVALID', `${at}.Value must be a base64 string`);
      const validFrom = e.ValidityStartTime === undefined ? undefined : parseIsoOrEpoch(e.ValidityStartTime, `${at}.ValidityStartTime`);
      const validTo = e.ValidityEndTime === undefined ? undefined : parseIsoOrEpoch(e.ValidityEndTime, `${at}.ValidityEndTime`);
      const key = parsePublicKey(decodeBase64Strict(e.Value, `${at}.Value`), {
        what: `${at}.Value`,
        ...(validFrom && { validFrom }),
        ...(validTo && { validTo }),
      });
      if (e.Fingerprint !== undefined) {
        if (typeof e.Fingerprint !== 'string' || e.Fingerprint.toLowerCase() !== key.fingerprint) {
          throw new ValidateLogsError(
            'KEY_LIST_INVALID',
            `${at}.Fingerprint ${JSON.stringify(e.Fingerprint)} is not the MD5 of its Value (${key.fingerprint})`,
          );
        }
      }
      set.add(key);
    });
    return set;
  }

  /**
   * The set in the `list-public-keys` JSON shape: `Value` as base64 of the DER bytes as held,
   * times as ISO 8601 strings.
   * @returns the document
   */
  toListPublicKeys(): ListPublicKeysDocument {
    return {
      PublicKeyList: [...this].map((k) => ({
        Value: toBase64(k.der),
        ValidityStartTime: (k.validFrom ?? new Date(0)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        ValidityEndTime: (k.validTo ?? OPEN_VALIDITY_END).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        Fingerprint: k.fingerprint,
      })),
    };
  }
}

/** Something that signs digests: RSASSA-PKCS1-v1_5 with SHA-256. */
export interface Signer {
  /** The public half, as PKCS#1 DER (what CloudTrail publishes); its fingerprint goes in digests. */
  readonly publicKey: PublicKeyInfo;
  /**
   * Sign a message (deterministic: PKCS#1 v1.5 signatures have no randomness).
   * @param message - the bytes to sign
   * @returns the signature
   */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/**
 * A signer from an RSA private key in PEM: PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`.
 *
 * @param pem - the private key
 * @param options - a name for error messages; the platform that signs (the default platform
 *   when omitted)
 * @returns the signer
 * @throws ValidateLogsError `KEY_INVALID` when it is not an RSA private key of at least 2048 bits
 * @example
 * ```ts
 * const signer = await createSigner(await readFile('key.pem', 'utf8'));
 * signer.publicKey.fingerprint; // goes in every digest it signs
 * ```
 */
export async function createSigner(pem: string, options: { what?: string; platform?: Platform } = {}): Promise<Signer> {
  const what = options.what ?? 'private key';
  if (typeof pem !== 'string') throw new TypeError('private key must be a PEM string');
  const block = PEM_RE.exec(pem);
  const label = block?.[1];
  const der = block && (label === 'PRIVATE KEY' || label === 'RSA PRIVATE KEY') ? fromBase64(block[2]!) : undefined;
  if (!der) {
    throw new ValidateLogsError('KEY_INVALID', `${what}: not a PEM private key (expected a "PRIVATE KEY" or "RSA PRIVATE KEY" block)`);
  }
  let pkcs8: Uint8Array;
  try {
    pkcs8 = rsaPrivateKeyPkcs8(der, label === 'RSA PRIVATE KEY' ? 'pkcs1' : 'pkcs8');
  } catch (e) {
    if (e instanceof NotRsaError) throw new ValidateLogsError('KEY_INVALID', `${what}: not an RSA private key (${e.message})`);
    throw new ValidateLogsError('KEY_INVALID', `${what}: not a PEM private key (${reason(e)})`, { cause: e });
  }
  let key;
  try {
    key = await (options.platform ?? defaultPlatform).importSigningKey(pkcs8);
  } catch (e) {
    throw new ValidateLogsError('KEY_INVALID', `${what}: not an RSA private key (${reason(e)})`, { cause: e });
  }
  const publicKey = parsePublicKey(key.publicKeyDer, { what });
  return { publicKey, sign: (message) => key.sign(message) };
}
