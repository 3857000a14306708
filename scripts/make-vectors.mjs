// Writes the generated parts of vectors/ (see vectors/README.md). Known answers come from
// outside this project where one exists: AWS's own fingerprints and digest, and signatures made
// by the openssl command line. Run: npm run build && node scripts/make-vectors.mjs
import { execFileSync } from 'node:child_process';
import { createPublicKey, createPrivateKey, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.argv[2]; // folder holding real-digest-*.json and real-public-keys.json
const save = (name, value) => writeFileSync(join(root, 'vectors', name), JSON.stringify(value, null, 2) + '\n');
const sha256 = (b) => createHash('sha256').update(b).digest('hex');

if (shared) {
  const keys = JSON.parse(readFileSync(join(shared, 'real-public-keys.json'), 'utf8')).PublicKeyList;
  save('aws-public-keys.json', {
    description: 'Four real CloudTrail public keys as ListPublicKeys returns them; Fingerprint is AWS\'s own value.',
    keys: keys.map((k) => {
      const der = Buffer.from(k.Value, 'base64');
      const format = der.subarray(0, 32).includes(Buffer.from('2a864886f70d010101', 'hex')) ? 'spki' : 'pkcs1';
      return { ...k, format, modulusBits: createPublicKey({ key: der, format: 'der', type: format }).asymmetricKeyDetails.modulusLength };
    }),
  });
  const name = readdirSync(shared).find((f) => f.startsWith('real-digest-'));
  const bytes = readFileSync(join(shared, name));
  const d = JSON.parse(bytes.toString('utf8'));
  save('aws-digest.json', {
    description: 'A real CloudTrail digest file, its exact uncompressed bytes as text, and their SHA-256 (sha256sum).',
    source: name,
    text: bytes.toString('utf8'),
    sha256: sha256(bytes),
    logFiles: d.logFiles.length,
    record: { ...d, logFiles: undefined },
  });
}

// Signatures over a string-to-sign, made by the openssl command line with vectors/test-key.pem.
const work = mkdtempSync(join(tmpdir(), 'vectors-'));
try {
  const keyPem = join(root, 'vectors', 'test-key.pem');
  const otherPem = join(root, 'vectors', 'test-key-2.pem');
  const pub = createPublicKey(createPrivateKey(readFileSync(keyPem)));
  const sign = (pem, message) => {
    const f = join(work, 'm');
    writeFileSync(f, message);
    return execFileSync('openssl', ['dgst', '-sha256', '-sign', pem, f]).toString('hex');
  };
  const message =
    '2025-01-08T01:00:00Z\nsample-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/' +
    '111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T010000Z.json.gz\n' +
    sha256('{}') + '\nnull';
  const good = sign(keyPem, message);
  const flip = (hex, i) => hex.slice(0, i) + ((parseInt(hex[i], 16) ^ 1).toString(16)) + hex.slice(i + 1);
  save('signatures.json', {
    description: 'RSASSA-PKCS1-v1_5 / SHA-256 signatures of string-to-sign messages. "signature" made by openssl dgst -sha256 -sign with vectors/test-key.pem; publicKey is its PKCS#1 DER in base64.',
    publicKey: pub.export({ type: 'pkcs1', format: 'der' }).toString('base64'),
    cases: [
      { name: 'valid', message, signature: good, result: 'valid' },
      { name: 'valid, other message', message: message.replace('\nnull', '\n' + good), signature: sign(keyPem, message.replace('\nnull', '\n' + good)), result: 'valid' },
      { name: 'one bit flipped in the signature', message, signature: flip(good, 100), result: 'invalid' },
      { name: 'message changed (end time)', message: message.replace('01:00:00', '01:00:01'), signature: good, result: 'invalid' },
      { name: 'trailing newline added to the message', message: message + '\n', signature: good, result: 'invalid' },
      { name: 'signed by another key', message, signature: sign(otherPem, message), result: 'invalid' },
      { name: 'upper-case hex is accepted', message, signature: good.toUpperCase(), result: 'valid' },
      { name: 'truncated by one byte', message, signature: good.slice(0, -2), result: 'error' },
      { name: 'one byte too long', message, signature: good + '00', result: 'error' },
      { name: 'odd length', message, signature: good.slice(0, -1), result: 'error' },
      { name: 'not hex', message, signature: 'zz' + good.slice(2), result: 'error' },
      { name: 'empty', message, signature: '', result: 'error' },
    ],
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}

// The sample trail's digests: pinned so that any change to the generator's output is seen.
const sampleDigests = [];
const digestRoot = join(root, 'sample', 'bucket', 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08');
for (const f of readdirSync(digestRoot).filter((f) => f.endsWith('.json.gz')).sort()) {
  const raw = gunzipSync(readFileSync(join(digestRoot, f)));
  const meta = JSON.parse(readFileSync(join(digestRoot, f + '.metadata.json'), 'utf8'));
  sampleDigests.push({ key: `AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/${f}`, sha256: sha256(raw), signature: meta.signature });
}
save('sample-digests.json', {
  description: 'SHA-256 (of the uncompressed bytes) and signature of each digest of the built-in sample trail, as scripts/make-sample.mjs generates it with vectors/test-key.pem.',
  digests: sampleDigests,
});
