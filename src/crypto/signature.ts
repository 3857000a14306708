/**
 * The digest signature: what is signed, signing, and verifying.
 * @module
 */
import { defaultPlatform } from '#platform';
import { ValidateLogsError } from '../errors.js';
import type { DigestRecord } from '../format/digest.js';
import type { Platform } from '../platform/platform.js';
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
export async function signString(signer: Signer, text: string): Promise<string> {
  return toHex(await signer.sign(encodeUtf8(text)));
}

/**
 * Verify a hex signature over a string-to-sign with RSASSA-PKCS1-v1_5 / SHA-256.
 *
 * @param key - the public key
 * @param text - the output of {@link stringToSign}
 * @param signatureHex - the signature, hex
 * @param platform - the runtime's RSA; the default platform when omitted
 * @returns true when the signature is valid
 * @throws ValidateLogsError `SIGNATURE_INVALID` when the signature is not hex of the key's
 *   length, or when the platform cannot use the key
 */
export async function verifyString(key: PublicKeyInfo, text: string, signatureHex: string, platform: Platform = defaultPlatform): Promise<boolean> {
  const sig = fromHex(signatureHex, 'signature');
  const expected = Math.ceil(key.modulusBits / 8);
  if (sig.length !== expected) {
    throw new ValidateLogsError(
      'SIGNATURE_INVALID',
      `signature is ${sig.length} bytes long; a ${key.modulusBits}-bit RSA signature is ${expected}`,
    );
  }
  try {
    return await platform.rsaVerify(key.spki, encodeUtf8(text), sig);
  } catch (e) {
    throw new ValidateLogsError('SIGNATURE_INVALID', `key ${key.fingerprint} cannot verify on this platform (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
}
