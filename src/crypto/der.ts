/**
 * The few DER structures keys come in (X.690 DER, section 10), read and written strictly:
 * PKCS#1 RSAPublicKey (RFC 8017 A.1.1), SubjectPublicKeyInfo (RFC 5280 4.1.2.7) holding one,
 * PKCS#1 RSAPrivateKey (RFC 8017 A.1.2) and PKCS#8 PrivateKeyInfo (RFC 5208 5); and the Ed25519
 * SubjectPublicKeyInfo and PKCS#8 / OneAsymmetricKey (RFC 8410, RFC 5958) of checkpoint keys. Strict means:
 * the bytes are exactly one DER value (definite, minimal lengths; nothing after it), integers
 * minimal and positive. A key with another encoding of the same numbers would get another
 * fingerprint, so it is refused. Six tags and their lengths are all these structures use: a
 * reader of our own is shorter than a general ASN.1 library, and costs nothing at start-up.
 * @module
 */
import { concat, integer, tlv } from '../platform/der.js';

export { encodeEd25519PrivateKey, encodeEd25519PublicKey, encodeRsaPublicKey } from '../platform/der.js';

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const NULL = 0x05;
const OBJECT_IDENTIFIER = 0x06;
/** rsaEncryption, 1.2.840.113549.1.1.1, as the content of its OBJECT IDENTIFIER. */
const RSA_ENCRYPTION = Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01);

/** id-Ed25519, 1.3.101.112, as the content of its OBJECT IDENTIFIER (RFC 8410 section 3). */
const ED25519 = Uint8Array.of(0x2b, 0x65, 0x70);
/** The context-specific tag [1] of OneAsymmetricKey's publicKey (IMPLICIT BIT STRING, primitive). */
const PUBLIC_KEY_FIELD = 0x81;

/** An RSA public key read from DER. */
export interface RsaPublicKey {
  /** Which structure the DER bytes were. */
  format: 'pkcs1' | 'spki';
  /** The modulus, big-endian, without a leading zero byte. */
  modulus: Uint8Array;
  /** The public exponent, big-endian, without a leading zero byte. */
  exponent: Uint8Array;
  /** The same key as SubjectPublicKeyInfo DER (the input itself when it was SPKI). */
  spki: Uint8Array;
}

/** Thrown when a well-formed key is of another algorithm than RSA. */
export class NotRsaError extends Error {
  /** The key's algorithm OID, dotted. */
  readonly oid: string;
  /** @param oid - the key's algorithm OID, dotted */
  constructor(oid: string) {
    super(`a key of algorithm ${oid === '1.2.840.10045.2.1' ? 'EC' : oid}, not RSA`);
    this.oid = oid;
  }
}

/** One tag-length-value. */
interface Tlv {
  tag: number;
  value: Uint8Array;
  /** Where it ends in the bytes it was read from. */
  end: number;
}

/** Read one TLV at `at`, with DER's length rules. */
function readTlv(b: Uint8Array, at: number): Tlv {
  if (at + 2 > b.length) throw new Error('truncated DER value');
  const tag = b[at]!;
  if ((tag & 0x1f) === 0x1f) throw new Error(`unexpected tag 0x${tag.toString(16)}`);
  let length = b[at + 1]!;
  let i = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0) throw new Error('an indefinite length: BER, not DER');
    if (n > 4 || i + n > b.length) throw new Error('truncated or oversized DER length');
    if (b[i] === 0) throw new Error('a length with leading zero bytes: not DER');
    length = 0;
    for (let k = 0; k < n; k++) length = length * 256 + b[i + k]!;
    i += n;
    if (length < 0x80) throw new Error('a long-form length for a short value: not DER');
  }
  if (i + length > b.length) throw new Error('truncated DER value');
  return { tag, value: b.subarray(i, i + length), end: i + length };
}

/** Exactly one TLV filling all of `b`. */
function readOne(b: Uint8Array): Tlv {
  const tlv = readTlv(b, 0);
  if (tlv.end !== b.length) throw new Error(`${b.length - tlv.end} bytes after the end of the DER value`);
  return tlv;
}

/** The elements of a SEQUENCE. */
function elements(tlv: Tlv, name: string): Tlv[] {
  if (tlv.tag !== SEQUENCE) throw new Error(`${name} is not a SEQUENCE`);
  const out: Tlv[] = [];
  for (let at = 0; at < tlv.value.length; at = out.at(-1)!.end) out.push(readTlv(tlv.value, at));
  return out;
}

/** The magnitude of a minimal, positive INTEGER. */
function positiveInteger(tlv: Tlv | undefined, name: string): Uint8Array {
  if (tlv?.tag !== INTEGER) throw new Error(`${name} is not an INTEGER`);
  const v = tlv.value;
  if (v.length === 0) throw new Error(`${name} is empty`);
  if (v[0]! & 0x80) throw new Error(`${name} is negative`);
  if (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) throw new Error(`${name} is not minimally encoded`);
  const magnitude = v[0] === 0 ? v.subarray(1) : v;
  if (magnitude.length === 0) throw new Error(`${name} is zero`);
  return magnitude.slice();
}

/** Dotted form of an OBJECT IDENTIFIER's content (for messages). */
function dotted(v: Uint8Array): string {
  const arcs: number[] = [];
  let n = 0;
  for (const byte of v) {
    n = n * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (arcs.length === 0) arcs.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
      else arcs.push(n);
      n = 0;
    }
  }
  return arcs.join('.');
}

/** Check an AlgorithmIdentifier is rsaEncryption with NULL parameters. */
function rsaAlgorithm(tlv: Tlv | undefined, name: string): void {
  if (!tlv) throw new Error(`${name} is missing`);
  const [oid, params, ...rest] = elements(tlv, name);
  if (oid?.tag !== OBJECT_IDENTIFIER) throw new Error(`${name} has no algorithm OID`);
  if (!same(oid.value, RSA_ENCRYPTION)) throw new NotRsaError(dotted(oid.value));
  if (params?.tag !== NULL || params.value.length !== 0 || rest.length > 0) throw new Error(`${name}: rsaEncryption parameters must be NULL`);
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function readPkcs1(tlv: Tlv): { modulus: Uint8Array; exponent: Uint8Array } {
  const parts = elements(tlv, 'RSAPublicKey');
  if (parts.length !== 2) throw new Error('RSAPublicKey is not a SEQUENCE of two INTEGERs');
  return { modulus: positiveInteger(parts[0], 'modulus'), exponent: positiveInteger(parts[1], 'public exponent') };
}

/**
 * Read an RSA public key from PKCS#1 RSAPublicKey or SubjectPublicKeyInfo DER, strictly.
 * @param der - the DER bytes
 * @param hint - the structure, when known (from a PEM label)
 * @returns the key's numbers, and the key as SPKI
 * @throws Error naming what is wrong; {@link NotRsaError} for a key of another algorithm
 */
export function readRsaPublicKey(der: Uint8Array, hint?: 'pkcs1' | 'spki'): RsaPublicKey {
  const root = readOne(der);
  const first = elements(root, 'the key')[0];
  const format = hint ?? (first?.tag === INTEGER ? 'pkcs1' : 'spki');
  if (format === 'pkcs1') return { format, ...readPkcs1(root), spki: wrapSpki(der) };
  const parts = elements(root, 'SubjectPublicKeyInfo');
  if (parts.length !== 2) throw new Error('SubjectPublicKeyInfo is not a SEQUENCE of two');
  rsaAlgorithm(parts[0], 'SubjectPublicKeyInfo algorithm');
  const key = parts[1]!;
  if (key.tag !== BIT_STRING || key.value[0] !== 0) throw new Error('subjectPublicKey is not a whole BIT STRING');
  return { format, ...readPkcs1(readOne(key.value.subarray(1))), spki: der };
}


const rsaAlgorithmIdentifier = (): Uint8Array => tlv(SEQUENCE, concat(tlv(OBJECT_IDENTIFIER, RSA_ENCRYPTION), tlv(NULL, new Uint8Array(0))));

/**
 * Wrap PKCS#1 RSAPublicKey DER in a SubjectPublicKeyInfo (what WebCrypto imports).
 * @param pkcs1 - the RSAPublicKey DER
 * @returns the SPKI DER
 */
export function wrapSpki(pkcs1: Uint8Array): Uint8Array {
  return tlv(SEQUENCE, concat(rsaAlgorithmIdentifier(), tlv(BIT_STRING, concat(Uint8Array.of(0), pkcs1))));
}

/**
 * Read a private key DER as PKCS#8 PrivateKeyInfo holding an RSA key; PKCS#1 RSAPrivateKey
 * DER is wrapped into one.
 * @param der - the DER bytes
 * @param format - `pkcs8` (`PRIVATE KEY` PEM) or `pkcs1` (`RSA PRIVATE KEY` PEM)
 * @returns PKCS#8 DER of the RSA key
 * @throws Error naming what is wrong; {@link NotRsaError} for a key of another algorithm
 */
export function rsaPrivateKeyPkcs8(der: Uint8Array, format: 'pkcs1' | 'pkcs8'): Uint8Array {
  const parts = elements(readOne(der), format === 'pkcs8' ? 'PrivateKeyInfo' : 'RSAPrivateKey');
  if (format === 'pkcs8') {
    if (parts.length < 3 || parts[2]!.tag !== OCTET_STRING) throw new Error('not a PrivateKeyInfo');
    rsaAlgorithm(parts[1], 'PrivateKeyInfo algorithm');
    return der;
  }
  if (parts.length < 9 || parts.some((p) => p.tag !== INTEGER)) throw new Error('not an RSAPrivateKey');
  return tlv(SEQUENCE, concat(tlv(INTEGER, Uint8Array.of(0)), rsaAlgorithmIdentifier(), tlv(OCTET_STRING, der)));
}

/**
 * Bit length of a big-endian unsigned number without leading zero bytes.
 * @param magnitude - the number
 * @returns its size in bits
 */
export function bitLength(magnitude: Uint8Array): number {
  return magnitude.length === 0 ? 0 : (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0]!));
}

/** Exactly one TLV filling all of `b`, with the reader's complaint in a message that says so. */
function readWhole(b: Uint8Array): Tlv {
  try {
    return readOne(b);
  } catch (e) {
    throw new Error(`not one well-formed DER structure (${(e as Error).message})`);
  }
}

/** Whether an AlgorithmIdentifier is id-Ed25519 without parameters (RFC 8410 section 3). */
function isEd25519Algorithm(node: Tlv | undefined): boolean {
  if (node?.tag !== SEQUENCE) return false;
  const [oid, ...rest] = elements(node, 'AlgorithmIdentifier');
  return oid?.tag === OBJECT_IDENTIFIER && same(oid.value, ED25519) && rest.length === 0;
}

/**
 * Read an Ed25519 public key from SubjectPublicKeyInfo DER (what `openssl pkey -pubout`
 * writes), strictly: one DER value, id-Ed25519 without parameters, a whole BIT STRING of 32
 * bytes, nothing else.
 * @param der - the DER bytes
 * @returns the 32-byte public key (not checked to be a point of the curve)
 * @throws Error naming what is wrong
 */
export function readEd25519PublicKey(der: Uint8Array): Uint8Array {
  const root = readWhole(der);
  const parts = root.tag === SEQUENCE ? elements(root, 'SubjectPublicKeyInfo') : [];
  if (parts.length !== 2 || !isEd25519Algorithm(parts[0])) throw new Error('not an Ed25519 SubjectPublicKeyInfo');
  const bits = parts[1]!;
  if (bits.tag !== BIT_STRING || bits.value.length !== 33 || bits.value[0] !== 0) throw new Error('the Ed25519 public key is not a BIT STRING of 32 bytes');
  return bits.value.slice(1);
}

/**
 * Read an Ed25519 private key from PKCS#8 PrivateKeyInfo DER (version 0, what `openssl genpkey
 * -algorithm ed25519` writes) or OneAsymmetricKey (version 1, which may add the public key as
 * field [1]), strictly: one DER value, id-Ed25519 without parameters, the private key an OCTET
 * STRING holding an OCTET STRING of 32 bytes, no attributes, nothing else.
 * @param der - the DER bytes
 * @returns the 32-byte private key (the RFC 8032 seed) and the public key when it carries one
 * @throws Error naming what is wrong
 */
export function readEd25519PrivateKey(der: Uint8Array): { seed: Uint8Array; publicKey?: Uint8Array } {
  const root = readWhole(der);
  if (root.tag !== SEQUENCE) throw new Error('not a PKCS#8 PrivateKeyInfo');
  const [version, algorithm, privateKey, ...rest] = elements(root, 'PrivateKeyInfo');
  const v = version?.tag === INTEGER && version.value.length === 1 ? version.value[0]! : -1;
  if (v !== 0 && v !== 1) throw new Error('not a PKCS#8 PrivateKeyInfo (version 0 or 1)');
  if (!isEd25519Algorithm(algorithm)) throw new Error('not an Ed25519 key (the algorithm is not 1.3.101.112 without parameters)');
  if (privateKey?.tag !== OCTET_STRING) throw new Error('the private key is not an OCTET STRING');
  let inner: Tlv;
  try {
    inner = readOne(privateKey.value);
  } catch (e) {
    throw new Error(`the private key is not one well-formed DER structure (${(e as Error).message})`);
  }
  if (inner.tag !== OCTET_STRING || inner.value.length !== 32) throw new Error('the Ed25519 private key is not an OCTET STRING of 32 bytes');
  // Version 0 has nothing more; version 1 may add the public key as [1], and nothing else.
  if (rest.length > 1 || (rest.length === 1 && (v !== 1 || rest[0]!.tag !== PUBLIC_KEY_FIELD))) throw new Error('unexpected fields after the private key');
  const field = rest[0];
  if (field && (field.value.length !== 33 || field.value[0] !== 0)) throw new Error('the public key field is not 32 bytes');
  return { seed: inner.value.slice(), ...(field && { publicKey: field.value.slice(1) }) };
}
