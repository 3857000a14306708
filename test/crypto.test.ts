import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PublicKeySet,
  createSigner,
  keyFingerprint,
  parsePublicKey,
  stringToSign,
  verifyString,
  signString,
  isValidateLogsError,
} from './helpers/lib.js';
import { ROOT, loadJson } from './helpers/tamper.js';

interface AwsKeys { keys: Array<{ Value: string; Fingerprint: string; format: 'pkcs1' | 'spki'; modulusBits: number; ValidityStartTime: number; ValidityEndTime: number }> }
const awsKeys = loadJson<AwsKeys>('aws-public-keys.json');
interface StsVectors { cases: Array<{ name: string; digestEndTime: string; digestS3Bucket: string; digestS3Object: string; previousDigestSignature: string | null; sha256: string; expected: string }> }
const sts = loadJson<StsVectors>('string-to-sign.json');
interface SigVectors { publicKey: string; cases: Array<{ name: string; message: string; signature: string; result: 'valid' | 'invalid' | 'error' }> }
const sigs = loadJson<SigVectors>('signatures.json');
const testPem = readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8');

describe('real AWS public keys', () => {
  it.each(awsKeys.keys)('fingerprint $Fingerprint is the MD5 of the DER ($format)', (k) => {
    const der = Uint8Array.from(Buffer.from(k.Value, 'base64'));
    expect(keyFingerprint(der)).toBe(k.Fingerprint);
    const key = parsePublicKey(der);
    expect(key.format).toBe(k.format);
    expect(key.modulusBits).toBe(k.modulusBits);
    expect(key.fingerprint).toBe(k.Fingerprint);
  });

  it('loads the list-public-keys JSON with epoch times and finds keys by fingerprint and window', () => {
    const set = PublicKeySet.fromListPublicKeys(JSON.stringify({ PublicKeyList: awsKeys.keys.map(({ format: _f, modulusBits: _m, ...k }) => k) }));
    expect(set.size).toBe(4);
    const k = awsKeys.keys[0]!;
    expect(set.find(k.Fingerprint.toUpperCase())?.fingerprint).toBe(k.Fingerprint);
    expect(set.findValidAt(k.Fingerprint, new Date((k.ValidityStartTime + 10) * 1000))).toBeDefined();
    expect(set.findValidAt(k.Fingerprint, new Date((k.ValidityEndTime + 10) * 1000))).toBeUndefined();
    expect(set.find('00000000000000000000000000000000')).toBeUndefined();
  });

  it('loads ISO times too, and writes and re-reads its own shape', () => {
    const set = PublicKeySet.fromListPublicKeys({
      PublicKeyList: [{ Value: awsKeys.keys[1]!.Value, ValidityStartTime: '2015-06-18T01:04:20Z', ValidityEndTime: '2015-07-18T01:04:20Z', Fingerprint: awsKeys.keys[1]!.Fingerprint }],
    });
    const again = PublicKeySet.fromListPublicKeys(JSON.stringify(set.toListPublicKeys()));
    expect([...again][0]!.validFrom?.toISOString()).toBe('2015-06-18T01:04:20.000Z');
    expect(again.toListPublicKeys()).toEqual(set.toListPublicKeys());
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['no PublicKeyList', '{}', /PublicKeyList/],
    ['a fingerprint that does not match its key', JSON.stringify({ PublicKeyList: [{ ...awsKeys.keys[0], Fingerprint: 'ffffffffffffffffffffffffffffffff' }] }), /is not the MD5/],
    ['a Value that is not base64', JSON.stringify({ PublicKeyList: [{ Value: '***' }] }), /base64/],
    ['a Value that is not a key', JSON.stringify({ PublicKeyList: [{ Value: 'AAAA' }] }), /not a DER RSA public key/],
    ['a bad time', JSON.stringify({ PublicKeyList: [{ Value: awsKeys.keys[0]!.Value, ValidityStartTime: 'soon' }] }), /ValidityStartTime/],
  ])('refuses a key list with %s', (_, text, message) => {
    expect(() => PublicKeySet.fromListPublicKeys(text, 'keys.json')).toThrow(message);
  });
});

const signer = await createSigner(testPem);

describe('key parsing', () => {
  it('reads PKCS#1 and SPKI, in DER, base64 and PEM, with the fingerprint of the bytes given', () => {
    const pkcs1 = signer.publicKey.der;
    const nodeKey = createPublicKey({ key: Buffer.from(signer.publicKey.der), format: 'der', type: 'pkcs1' });
    const spki = nodeKey.export({ type: 'spki', format: 'der' });
    expect(parsePublicKey(pkcs1).format).toBe('pkcs1');
    expect(parsePublicKey(new Uint8Array(spki)).format).toBe('spki');
    // The SPKI wrapping of a PKCS#1 key is byte for byte what OpenSSL writes.
    expect(Buffer.from(signer.publicKey.spki).equals(spki)).toBe(true);
    expect(Buffer.from(parsePublicKey(new Uint8Array(spki)).spki).equals(spki)).toBe(true);
    expect(parsePublicKey(Buffer.from(pkcs1).toString('base64')).fingerprint).toBe(keyFingerprint(pkcs1));
    const pem = nodeKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(parsePublicKey(pem).fingerprint).toBe(keyFingerprint(new Uint8Array(spki)));
    const pem1 = nodeKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    expect(parsePublicKey(pem1).fingerprint).toBe(keyFingerprint(pkcs1));
  });

  it('refuses small RSA keys, non-RSA keys and garbage', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'pkcs1', format: 'der' });
    expect(() => parsePublicKey(new Uint8Array(small))).toThrow(/1024 bits/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    expect(() => parsePublicKey(new Uint8Array(ec))).toThrow(/not RSA/);
    expect(() => parsePublicKey(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01))).toThrow(/not a DER RSA public key/);
    expect(() => parsePublicKey('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')).toThrow(/not a public key/);
  });

  it('reads private keys as PKCS#8 and PKCS#1 PEM and refuses others', async () => {
    expect(signer.publicKey.modulusBits).toBe(2048);
    const pkcs1 = readFileSync(join(ROOT, 'vectors', 'test-key-2.pem'), 'utf8');
    expect(pkcs1).toMatch(/BEGIN RSA PRIVATE KEY/);
    expect((await createSigner(pkcs1)).publicKey.format).toBe('pkcs1');
    await expect(createSigner('not a key')).rejects.toThrow(/not a PEM private key/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await expect(createSigner(ec)).rejects.toThrow(/not an RSA private key/);
  });

  it('refuses a public key with bytes after its DER, or in a non-canonical encoding (it would get another fingerprint)', () => {
    const der = signer.publicKey.der;
    expect(() => parsePublicKey(Uint8Array.of(...der, 0))).toThrow(/1 bytes after the end of the DER value/);
    const spki = signer.publicKey.spki;
    expect(() => parsePublicKey(Uint8Array.of(...spki, 0, 0))).toThrow(/2 bytes after the end/);
    // The same SEQUENCE with its length in long form (0x82 0x01 0x0a -> 0x83 0x00 0x01 0x0a): BER, not DER.
    expect(der[1]).toBe(0x82);
    const long = Uint8Array.of(der[0]!, 0x83, 0, ...der.subarray(2));
    expect(() => parsePublicKey(long)).toThrow(/not a DER RSA public key/);
    // A modulus with a needless leading zero byte: 02 82 01 01 00 .. becomes 02 82 01 02 00 00 ..
    expect([...der.subarray(0, 9)]).toEqual([0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00]);
    const padded = Uint8Array.of(0x30, 0x82, 0x01, 0x0b, 0x02, 0x82, 0x01, 0x02, 0x00, ...der.subarray(8));
    expect(() => parsePublicKey(padded)).toThrow(/modulus is not minimally encoded/);
    // BER's indefinite length, and a negative modulus.
    expect(() => parsePublicKey(Uint8Array.of(0x30, 0x80, ...der.subarray(4), 0, 0))).toThrow(/indefinite length/);
    const negative = Uint8Array.of(0x30, 0x82, 0x01, 0x09, 0x02, 0x82, 0x01, 0x00, ...der.subarray(9));
    expect(() => parsePublicKey(negative)).toThrow(/modulus is negative/);
    // SPKI whose BIT STRING has unused bits, or whose algorithm has parameters other than NULL.
    const spkiDer = signer.publicKey.spki;
    const unused = Uint8Array.from(spkiDer);
    unused[23] = 1;
    expect([...spkiDer.subarray(19, 24)]).toEqual([0x03, 0x82, 0x01, 0x0f, 0x00]);
    expect(() => parsePublicKey(unused)).toThrow(/whole BIT STRING/);
    expect(parsePublicKey(der).fingerprint).toBe(keyFingerprint(der));
  });
});

describe('string to sign', () => {
  it.each(sts.cases)('$name', (c) => {
    expect(stringToSign(c, c.sha256)).toBe(c.expected);
  });
});

describe('signatures (made by openssl)', () => {
  const key = parsePublicKey(sigs.publicKey);
  it('the vector key is the test key', () => {
    expect(key.fingerprint).toBe(signer.publicKey.fingerprint);
  });
  it.each(sigs.cases)('$name: $result', async (c) => {
    if (c.result === 'error') {
      let err: unknown;
      try {
        await verifyString(key, c.message, c.signature);
      } catch (e) {
        err = e;
      }
      expect(isValidateLogsError(err, 'SIGNATURE_INVALID')).toBe(true);
    } else {
      expect(await verifyString(key, c.message, c.signature)).toBe(c.result === 'valid');
    }
  });
  it('our signer makes the same (deterministic) signature as openssl', async () => {
    const c = sigs.cases[0]!;
    expect(await signString(signer, c.message)).toBe(c.signature);
  });
  it('openssl verifies a signature our signer made', async () => {
    const msg = 'x\ny\nz\nnull';
    const sig = Buffer.from(await signString(signer, msg), 'hex');
    const pub = createPublicKey({ key: Buffer.from(signer.publicKey.der), format: 'der', type: 'pkcs1' }).export({ type: 'spki', format: 'pem' }) as string;
    const dir = mkdtempSync(join(tmpdir(), 'vl-sig-'));
    writeFileSync(join(dir, 'pub.pem'), pub);
    writeFileSync(join(dir, 'sig'), sig);
    writeFileSync(join(dir, 'msg'), msg);
    const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig'), join(dir, 'msg')]).toString();
    rmSync(dir, { recursive: true, force: true });
    expect(out.trim()).toBe('Verified OK');
  });
});
