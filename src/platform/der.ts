/**
 * The DER a runtime needs to hand keys to its crypto API (X.690 DER, section 10): PKCS#1
 * RSAPublicKey (RFC 8017 A.1.1), and the Ed25519 SubjectPublicKeyInfo and PKCS#8
 * PrivateKeyInfo of RFC 8410. Encoders only: reading keys strictly is the domain's
 * (`crypto/der`), which builds on these.
 * @module
 */

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OBJECT_IDENTIFIER = 0x06;
/** id-Ed25519, 1.3.101.112, as the content of its OBJECT IDENTIFIER (RFC 8410 section 3). */
const ED25519 = Uint8Array.of(0x2b, 0x65, 0x70);

/**
 * DER of one TLV.
 * @param tag - the tag byte
 * @param content - the value
 * @returns the encoded TLV
 */
export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(1 + length.length + n);
  out[0] = tag;
  out.set(length, 1);
  out.set(content, 1 + length.length);
  return out;
}

/**
 * Bytes one after another.
 * @param parts - the pieces
 * @returns them joined
 */
export const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/**
 * A positive INTEGER from an unsigned big-endian number.
 * @param magnitude - the number
 * @returns the encoded INTEGER
 */
export function integer(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return tlv(INTEGER, m[0]! & 0x80 ? concat(Uint8Array.of(0), m) : m);
}

const ED25519_ALGORITHM = (): Uint8Array => tlv(SEQUENCE, tlv(OBJECT_IDENTIFIER, ED25519));

/**
 * PKCS#1 RSAPublicKey DER from a modulus and exponent.
 * @param modulus - big-endian, unsigned
 * @param exponent - big-endian, unsigned
 * @returns the DER bytes
 */
export function encodeRsaPublicKey(modulus: Uint8Array, exponent: Uint8Array): Uint8Array {
  return tlv(SEQUENCE, concat(integer(modulus), integer(exponent)));
}

/**
 * Ed25519 SubjectPublicKeyInfo DER of a public key (what `openssl pkey -pubout` writes).
 * @param publicKey - the 32-byte public key
 * @returns the DER bytes
 */
export function encodeEd25519PublicKey(publicKey: Uint8Array): Uint8Array {
  return tlv(SEQUENCE, concat(ED25519_ALGORITHM(), tlv(BIT_STRING, concat(Uint8Array.of(0), publicKey))));
}

/**
 * Ed25519 PKCS#8 PrivateKeyInfo DER (version 0) of a private key: what `openssl genpkey
 * -algorithm ed25519` writes, and what `node:crypto` and WebCrypto import.
 * @param seed - the 32-byte private key
 * @returns the DER bytes
 */
export function encodeEd25519PrivateKey(seed: Uint8Array): Uint8Array {
  return tlv(SEQUENCE, concat(tlv(INTEGER, Uint8Array.of(0)), ED25519_ALGORITHM(), tlv(OCTET_STRING, tlv(OCTET_STRING, seed))));
}
