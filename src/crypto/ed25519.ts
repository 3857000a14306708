/**
 * The one Ed25519 check the platforms do not make: whether 32 bytes are the canonical encoding
 * of a point of the curve (RFC 8032 section 5.1.3), so that a key that can verify nothing is
 * refused when it is read, not at the first signature. Pure arithmetic on `bigint` (one modular
 * power), no curve library: signing and verifying are the platform's.
 * @module
 */

/** The field prime, 2^255 - 19. */
const P = 2n ** 255n - 19n;
/** The curve constant d = -121665 / 121666 (mod p). */
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;

/** `base ** exp mod P` by square-and-multiply. */
function power(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = base % P;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

/**
 * Whether bytes are a canonical Ed25519 point encoding, as RFC 8032 decodes them strictly:
 * 32 bytes, the y coordinate below p, x² = (y² − 1) / (d·y² + 1) a square, and no sign bit
 * on x = 0.
 * @param bytes - the encoding (a public key)
 * @returns whether it decodes to a point
 */
export function isEd25519Point(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) return false;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? bytes[i]! & 0x7f : bytes[i]!);
  if (y >= P) return false;
  const sign = bytes[31]! >> 7;
  const y2 = (y * y) % P;
  const u = (y2 - 1n + P) % P;
  const v = (D * y2 + 1n) % P; // never 0: d is not a square
  if (u === 0n) return sign === 0; // x = 0
  // x² = u / v = u·v / v² is a square exactly when u·v is: Euler's criterion, (u·v)^((p-1)/2) = 1.
  return power(u * v, (P - 1n) / 2n) === 1n;
}
