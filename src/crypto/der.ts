/**
 * The few DER structures RSA keys come in, read and written strictly with `asn1js`:
 * PKCS#1 RSAPublicKey (RFC 8017 A.1.1), SubjectPublicKeyInfo (RFC 5280 4.1.2.7) holding one,
 * and PKCS#8 PrivateKeyInfo (RFC 5208 5) around a PKCS#1 RSAPrivateKey. Strict means: the
 * bytes are exactly one DER encoding (re-encoding them gives the same bytes: no indefinite or
 * long-form-when-short lengths, no trailing bytes), integers minimal and positive. A key with
 * another encoding of the same numbers would get another fingerprint, so it is refused.
 * @module
 */
import * as asn1js from 'asn1js';

/** OID of rsaEncryption (PKCS#1). */
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';

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

const same = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);

/** Parse exactly one DER value filling all of `der`; throws naming what is wrong. */
function parseStrict(der: Uint8Array): asn1js.AsnType {
  const copy = der.slice(); // asn1js keeps views of its input
  const parsed = asn1js.fromBER(copy);
  if (parsed.offset === -1) throw new Error(`not DER (${parsed.result.error || 'malformed'})`);
  if (parsed.offset !== der.byteLength) throw new Error(`${der.byteLength - parsed.offset} bytes after the end of the DER value`);
  if (!same(new Uint8Array(parsed.result.toBER(false)), der)) throw new Error('not in canonical DER encoding');
  return parsed.result;
}

/** The bytes of a minimal, positive DER INTEGER, without its sign byte. */
function positiveInteger(value: unknown, name: string): Uint8Array {
  if (!(value instanceof asn1js.Integer)) throw new Error(`${name} is not an INTEGER`);
  const bytes = value.valueBlock.valueHexView;
  if (bytes.byteLength === 0) throw new Error(`${name} is empty`);
  if (bytes[0]! & 0x80) throw new Error(`${name} is negative`);
  if (bytes.byteLength > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80)) throw new Error(`${name} is not minimally encoded`);
  const magnitude = bytes[0] === 0 ? bytes.subarray(1) : bytes;
  if (magnitude.byteLength === 0) throw new Error(`${name} is zero`);
  return magnitude.slice();
}

function sequence(value: unknown, n: number, name: string): asn1js.AsnType[] {
  if (!(value instanceof asn1js.Sequence) || value.valueBlock.value.length !== n) throw new Error(`${name} is not a SEQUENCE of ${n}`);
  return value.valueBlock.value;
}

function rsaAlgorithm(value: unknown, name: string): void {
  const [oid, params] = sequence(value, 2, name);
  if (!(oid instanceof asn1js.ObjectIdentifier)) throw new Error(`${name} has no algorithm OID`);
  const id = oid.valueBlock.toString();
  if (id !== RSA_ENCRYPTION) throw new NotRsaError(id);
  if (!(params instanceof asn1js.Null)) throw new Error(`${name}: rsaEncryption parameters must be NULL`);
}

/** Thrown when a well-formed key is of another algorithm than RSA. */
export class NotRsaError extends Error {
  /** The key's algorithm OID. */
  readonly oid: string;
  /** @param oid - the key's algorithm OID */
  constructor(oid: string) {
    super(`a key of algorithm ${oid === '1.2.840.10045.2.1' ? 'EC' : oid}, not RSA`);
    this.oid = oid;
  }
}

function readPkcs1(value: unknown): { modulus: Uint8Array; exponent: Uint8Array } {
  const [n, e] = sequence(value, 2, 'RSAPublicKey');
  return { modulus: positiveInteger(n, 'modulus'), exponent: positiveInteger(e, 'public exponent') };
}

/**
 * Read an RSA public key from PKCS#1 RSAPublicKey or SubjectPublicKeyInfo DER, strictly.
 * @param der - the DER bytes
 * @param hint - the structure, when known (from a PEM label)
 * @returns the key's numbers, and the key as SPKI
 * @throws Error naming what is wrong; {@link NotRsaError} for a key of another algorithm
 */
export function readRsaPublicKey(der: Uint8Array, hint?: 'pkcs1' | 'spki'): RsaPublicKey {
  const root = parseStrict(der);
  if (!(root instanceof asn1js.Sequence)) throw new Error('not a SEQUENCE');
  const first = root.valueBlock.value[0];
  const format = hint ?? (first instanceof asn1js.Integer ? 'pkcs1' : 'spki');
  if (format === 'pkcs1') return { format, ...readPkcs1(root), spki: wrapSpki(der) };
  const [algorithm, key] = sequence(root, 2, 'SubjectPublicKeyInfo');
  rsaAlgorithm(algorithm, 'SubjectPublicKeyInfo algorithm');
  if (!(key instanceof asn1js.BitString) || key.valueBlock.unusedBits !== 0) throw new Error('subjectPublicKey is not a whole BIT STRING');
  const inner = parseStrict(key.valueBlock.valueHexView);
  return { format, ...readPkcs1(inner), spki: der };
}

const integer = (magnitude: Uint8Array): asn1js.Integer => {
  const bytes = magnitude[0]! & 0x80 ? Uint8Array.of(0, ...magnitude) : magnitude;
  return new asn1js.Integer({ valueHex: bytes });
};

const rsaAlgorithmIdentifier = (): asn1js.Sequence =>
  new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: RSA_ENCRYPTION }), new asn1js.Null()] });

/**
 * PKCS#1 RSAPublicKey DER from a modulus and exponent.
 * @param modulus - big-endian, unsigned
 * @param exponent - big-endian, unsigned
 * @returns the DER bytes
 */
export function encodeRsaPublicKey(modulus: Uint8Array, exponent: Uint8Array): Uint8Array {
  const strip = (b: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < b.byteLength - 1 && b[i] === 0) i++;
    return b.subarray(i);
  };
  return new Uint8Array(new asn1js.Sequence({ value: [integer(strip(modulus)), integer(strip(exponent))] }).toBER(false));
}

/**
 * Wrap PKCS#1 RSAPublicKey DER in a SubjectPublicKeyInfo (what WebCrypto imports).
 * @param pkcs1 - the RSAPublicKey DER
 * @returns the SPKI DER
 */
export function wrapSpki(pkcs1: Uint8Array): Uint8Array {
  const spki = new asn1js.Sequence({ value: [rsaAlgorithmIdentifier(), new asn1js.BitString({ valueHex: pkcs1, unusedBits: 0 })] });
  return new Uint8Array(spki.toBER(false));
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
  const root = parseStrict(der);
  if (format === 'pkcs8') {
    if (!(root instanceof asn1js.Sequence) || root.valueBlock.value.length < 3) throw new Error('not a PrivateKeyInfo');
    rsaAlgorithm(root.valueBlock.value[1], 'PrivateKeyInfo algorithm');
    return der;
  }
  if (!(root instanceof asn1js.Sequence) || root.valueBlock.value.length < 9) throw new Error('not an RSAPrivateKey');
  const info = new asn1js.Sequence({
    value: [new asn1js.Integer({ value: 0 }), rsaAlgorithmIdentifier(), new asn1js.OctetString({ valueHex: der })],
  });
  return new Uint8Array(info.toBER(false));
}

/** Bit length of a big-endian unsigned number without leading zero bytes. */
export function bitLength(magnitude: Uint8Array): number {
  return magnitude.byteLength === 0 ? 0 : (magnitude.byteLength - 1) * 8 + (32 - Math.clz32(magnitude[0]!));
}
