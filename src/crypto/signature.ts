/**
 * The digest signature: what is signed, signing, and verifying.
 * @module
 */
import { verify as rsaVerify, constants } from 'node:crypto';
import { ValidateLogsError } from '../errors.js';
import type { DigestRecord } from '../format/digest.js';
import { encodeUtf8, fromHex, toHex } from '../utils.js';
import type { PublicKeyInfo, Signer } from './keys.js';

/**
 * The string a digest's signature covers (SPEC "The signature"):
 *
 *     digestEndTime \n digestS3Bucket/digestS3Object \n hex(sha256(uncompressed bytes)) \n previousDigestSignature
 *
 * with `null` for a null previous signature and no trailing newline.
 *
 * @param record - the digest's content
 * @param sha256Hex - hex SHA-256 of the digest's uncompressed bytes
 * @returns the string to sign
 */
export function stringToSign(
  record: Pick<DigestRecord, 'digestEndTime' | 'digestS3Bucket' | 'digestS3Object' | 'previousDigestSignature'>,
  sha256Hex: string,
): string {
  return (
    `${record.digestEndTime}\n${record.digestS3Bucket}/${record.digestS3Object}\n` +
    `${sha256Hex}\n${record.previousDigestSignature ?? 'null'}`
  );
}

/**
 * Sign a string-to-sign.
 * @param signer - the signer
 * @param text - the output of {@link stringToSign}
 * @returns the hex signature, as stored in `x-amz-meta-signature`
 */
export function signString(signer: Signer, text: string): string {
  return toHex(signer.sign(encodeUtf8(text)));
}

/**
 * Verify a hex signature over a string-to-sign with RSASSA-PKCS1-v1_5 / SHA-256.
 *
 * @param key - the public key
 * @param text - the output of {@link stringToSign}
 * @param signatureHex - the signature, hex
 * @returns true when the signature is valid
 * @throws ValidateLogsError `SIGNATURE_INVALID` when the signature is not hex of the key's length
 */
export function verifyString(key: PublicKeyInfo, text: string, signatureHex: string): boolean {
  const sig = fromHex(signatureHex, 'signature');
  const expected = Math.ceil(key.modulusBits / 8);
  if (sig.length !== expected) {
    throw new ValidateLogsError(
      'SIGNATURE_INVALID',
      `signature is ${sig.length} bytes long; a ${key.modulusBits}-bit RSA signature is ${expected}`,
    );
  }
  return rsaVerify('sha256', encodeUtf8(text), { key: key.keyObject, padding: constants.RSA_PKCS1_PADDING }, sig);
}
