/**
 * RSA public keys as CloudTrail publishes them, fingerprints, key sets with validity windows,
 * and signers from private keys.
 *
 * Keys are parsed by `node:crypto` (OpenSSL's hardened DER and PEM parsers), which reads
 * PKCS#1 RSAPublicKey, SubjectPublicKeyInfo and PKCS#8 / PKCS#1 private keys directly and
 * reports the modulus size: no conversion code of our own is needed. The fingerprint is always
 * taken over the DER bytes exactly as given, because that is how CloudTrail computes it.
 * @module
 */
import { createPrivateKey, createPublicKey, sign as rsaSign, constants, type KeyObject } from 'node:crypto';
import { md5 } from '@noble/hashes/legacy.js';
import { ValidateLogsError } from '../errors.js';
import { findDuplicateKey } from '../format/json.js';
import { parseIsoOrEpoch } from '../format/time.js';
import { toHex } from '../utils.js';

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
  /** Modulus size in bits. */
  readonly modulusBits: number;
  /** Start of the validity window, if known. */
  readonly validFrom?: Date;
  /** End of the validity window, if known. */
  readonly validTo?: Date;
  /** The key, ready for `node:crypto`. */
  readonly keyObject: KeyObject;
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
  const clean = text.replace(/\s+/g, '');
  if (clean.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) {
    throw new ValidateLogsError('KEY_INVALID', `${what}: not valid base64`);
  }
  return Uint8Array.from(Buffer.from(clean, 'base64'));
}

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
    der = input;
  } else {
    throw new TypeError('public key must be a Uint8Array of DER or a PEM/base64 string');
  }
  let keyObject: KeyObject | undefined;
  let format: 'pkcs1' | 'spki' | undefined;
  const errors: string[] = [];
  for (const type of hint ? [hint] : (['pkcs1', 'spki'] as const)) {
    try {
      keyObject = createPublicKey({ key: Buffer.from(der), format: 'der', type });
      format = type;
      break;
    } catch (e) {
      errors.push(`${type}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (!keyObject || !format) {
    throw new ValidateLogsError('KEY_INVALID', `${what}: not a DER RSA public key (${errors.join('; ')})`);
  }
  if (keyObject.asymmetricKeyType !== 'rsa') {
    throw new ValidateLogsError('KEY_INVALID', `${what}: a ${keyObject.asymmetricKeyType} key, not RSA`);
  }
  const bits = keyObject.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new ValidateLogsError('KEY_INVALID', `${what}: RSA key of ${bits} bits, under the minimum of ${MIN_RSA_BITS}`);
  }
  if (options.validFrom && options.validTo && options.validTo < options.validFrom) {
    throw new ValidateLogsError('KEY_INVALID', `${what}: validity window ends before it starts`);
  }
  return {
    der,
    fingerprint: keyFingerprint(der),
    format,
    modulusBits: bits,
    ...(options.validFrom && { validFrom: options.validFrom }),
    ...(options.validTo && { validTo: options.validTo }),
    keyObject,
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

/**
 * The public keys of one region, found by fingerprint.
 *
 * @example
 * ```ts
 * const keys = PublicKeySet.fromListPublicKeys(fs.readFileSync('keys.json', 'utf8'));
 * keys.find('be2f0b997552f44942837300ba1aba9d');
 * ```
 */
export class PublicKeySet implements Iterable<PublicKeyInfo> {
  readonly #keys = new Map<string, PublicKeyInfo>();

  /** @param keys - initial keys */
  constructor(keys: Iterable<PublicKeyInfo> = []) {
    for (const k of keys) this.add(k);
  }

  /**
   * Add a key; a key with the same fingerprint is replaced.
   * @param key - the key
   * @returns this set
   */
  add(key: PublicKeyInfo): this {
    this.#keys.set(key.fingerprint, key);
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
   * The key with this fingerprint, whatever its validity window.
   * @param fingerprint - hex MD5 of the key's DER bytes (case-insensitive)
   * @returns the key, or undefined
   */
  find(fingerprint: string): PublicKeyInfo | undefined {
    return this.#keys.get(fingerprint.toLowerCase());
  }

  /**
   * The key with this fingerprint if its validity window (where known) contains `at`.
   * @param fingerprint - hex MD5 of the key's DER bytes
   * @param at - the time the key must be valid at
   * @returns the key, or undefined when absent or not valid then
   */
  findValidAt(fingerprint: string, at: Date): PublicKeyInfo | undefined {
    const k = this.find(fingerprint);
    if (!k) return undefined;
    if (k.validFrom && at < k.validFrom) return undefined;
    if (k.validTo && at > k.validTo) return undefined;
    return k;
  }

  /** Number of keys. */
  get size(): number {
    return this.#keys.size;
  }

  /** @returns the keys in insertion order */
  [Symbol.iterator](): Iterator<PublicKeyInfo> {
    return this.#keys.values();
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
        Value: Buffer.from(k.der).toString('base64'),
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
   * Sign a message.
   * @param message - the bytes to sign
   * @returns the signature
   */
  sign(message: Uint8Array): Uint8Array;
}

/**
 * A signer from an RSA private key: PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`),
 * or a `KeyObject`.
 *
 * @param key - the private key
 * @param what - the key's name for error messages
 * @returns the signer
 * @throws ValidateLogsError `KEY_INVALID` when it is not an RSA private key of at least 2048 bits
 */
export function createSigner(key: string | KeyObject, what = 'private key'): Signer {
  let priv: KeyObject;
  try {
    priv = typeof key === 'string' ? createPrivateKey({ key, format: 'pem' }) : key;
  } catch (e) {
    throw new ValidateLogsError('KEY_INVALID', `${what}: not a PEM private key (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (priv.type !== 'private' || priv.asymmetricKeyType !== 'rsa') {
    throw new ValidateLogsError('KEY_INVALID', `${what}: not an RSA private key`);
  }
  const pubDer = createPublicKey(priv).export({ type: 'pkcs1', format: 'der' });
  const publicKey = parsePublicKey(new Uint8Array(pubDer), { what });
  return {
    publicKey,
    sign(message: Uint8Array): Uint8Array {
      return new Uint8Array(rsaSign('sha256', message, { key: priv, padding: constants.RSA_PKCS1_PADDING }));
    },
  };
}
