// Signed notes: Go's and C2SP's published vectors, openssl-made Ed25519 keys, and hostile notes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatNote,
  formatNoteSignerKey,
  formatNoteVerifierKey,
  generateNoteSignerKey,
  noteKeyToPem,
  noteSignerKeyFromPem,
  noteVerifierKeyFromPem,
  parseNote,
  parseNoteSignerKey,
  parseNoteVerifierKey,
  signNote,
  verifyNote,
  type NoteSignerKey,
  type NoteVerifierKey,
} from '../src/checkpoint.js';
import { ValidateLogsError } from '../src/index.js';
import { encodeEd25519PrivateKey, encodeEd25519PublicKey } from './helpers/lib.js';
import { loadJson } from './helpers/tamper.js';
import { openssl } from './helpers/tools.js';

interface NoteVectors {
  verifierKeys: Record<string, string>;
  signerKeys: Record<string, string>;
  badVerifierKeys: Array<{ key: string; comment: string }>;
  signing: { signer: string; text: string; note: string };
  notes: Array<{ comment: string; note: string; keys: string[]; valid: boolean; text?: string; verified?: string[]; unverified?: string[]; error?: string; names?: string }>;
  parseOnly: Array<{ comment: string; note: string; text: string; signatures: Array<{ name: string; keyId: string; signatureBytes: number }> }>;
}
const V = loadJson<NoteVectors>('signed-note.json');
const key = (name: string): NoteVerifierKey => parseNoteVerifierKey(V.verifierKeys[name]!);

async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    if (e instanceof ValidateLogsError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'no error';
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('note keys in Go text form', () => {
  it('parses and re-formats the published keys exactly', async () => {
    for (const text of Object.values(V.verifierKeys)) expect(formatNoteVerifierKey(parseNoteVerifierKey(text))).toBe(text);
    const skey = V.signerKeys.PeterNeumann!;
    const signer = await parseNoteSignerKey(skey);
    expect(formatNoteSignerKey(signer)).toBe(skey);
    expect(formatNoteVerifierKey(signer)).toBe(V.verifierKeys.PeterNeumann);
    expect(signer.keyId).toBe(0xc74f20a3);
  });

  it.each(V.badVerifierKeys)('refuses $comment', async ({ key: k }) => {
    expect(await codeOf(() => parseNoteVerifierKey(k))).toMatch(/^NOTE_FORMAT/);
  });

  it('refuses every truncation and every one-byte change of a verifier key and a signer key (as Go tests them)', async () => {
    for (const [text, parse] of [
      [V.verifierKeys.PeterNeumann!, parseNoteVerifierKey],
      [V.signerKeys.PeterNeumann!, parseNoteSignerKey],
    ] as const) {
      const accepted: string[] = [];
      for (let i = 0; i <= text.length; i++) {
        for (let j = i + 1; j <= text.length; j++) {
          if (i === 0 && j === text.length) continue;
          const s = text.slice(i, j);
          if (s.trim() !== s) continue; // surrounding blank space is ignored by design; these keys have none
          try {
            await parse(s);
            accepted.push(s);
          } catch (e) {
            if (!(e instanceof ValidateLogsError)) throw e;
          }
        }
      }
      for (let i = 0; i < text.length; i++) {
        const s = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) + 1) + text.slice(i + 1);
        try {
          await parse(s);
          accepted.push(s);
        } catch (e) {
          if (!(e instanceof ValidateLogsError)) throw e;
        }
      }
      expect(accepted).toEqual([]);
    }
  });

  it('generates keys whose text forms round-trip', async () => {
    const k = await generateNoteSignerKey('example.com/witness');
    expect(await parseNoteSignerKey(formatNoteSignerKey(k))).toEqual(k);
    expect(parseNoteVerifierKey(formatNoteVerifierKey(k)).publicKey).toEqual(k.publicKey);
    await expect(generateNoteSignerKey('bad name')).rejects.toThrow(/space/);
    await expect(generateNoteSignerKey('a+b')).rejects.toThrow(/"\+"/);
  });
});

describe('signing and verifying notes: the published vectors', () => {
  it("signs Go's TestSign text to Go's exact note (Ed25519 is deterministic)", async () => {
    const signer = await parseNoteSignerKey(V.signerKeys[V.signing.signer]!);
    expect(await signNote(V.signing.text, [signer])).toBe(V.signing.note);
    // A line of the signing key already there is replaced, not duplicated.
    const stale = parseNote(V.signing.note.replace('x08go/ZJ', 'x08go/ZK'));
    expect(await signNote(stale, [signer])).toBe(V.signing.note);
  });

  it.each(V.notes)('$comment', async (c) => {
    const keys = c.keys.map(key);
    if (c.valid) {
      const n = await verifyNote(c.note, keys);
      expect(n.text).toBe(c.text);
      expect(n.verified.map((s) => s.name)).toEqual(c.verified);
      expect(n.unverified.map((s) => s.name)).toEqual(c.unverified);
    } else {
      const got = await codeOf(() => verifyNote(c.note, keys));
      expect(got.startsWith(`${c.error}:`), got).toBe(true);
      if (c.names) expect(got).toContain(c.names);
    }
  });

  it.each(V.parseOnly)('parses $comment', async (c) => {
    const n = parseNote(new TextEncoder().encode(c.note));
    expect(n.text).toBe(c.text);
    expect(n.signatures.map((s) => ({ name: s.name, keyId: s.keyId.toString(16).padStart(8, '0'), signatureBytes: s.signature.length }))).toEqual(c.signatures);
  });
});

describe('notes: quorum, forgery, re-ordering, hostile bytes', () => {
  let log: NoteSignerKey;
  let witness: NoteSignerKey;
  const text = 'validate-logs checkpoint\nline two\n';
  beforeAll(async () => {
    log = await generateNoteSignerKey('example.com/log');
    witness = await generateNoteSignerKey('example.com/witness');
  });

  it('needs every key of the quorum, and names the one missing', async () => {
    const once = await signNote(text, [log]);
    expect((await verifyNote(once, [log])).verified).toHaveLength(1);
    expect(await codeOf(() => verifyNote(once, [log, witness]))).toBe(`NOTE_UNVERIFIED: note is not signed by key example.com/witness+${witness.keyId.toString(16).padStart(8, '0')}`);
    const twice = await signNote(parseNote(once), [witness]);
    expect(twice.startsWith(once)).toBe(true); // the cosignature is appended
    expect((await verifyNote(twice, [log, witness])).verified.map((s) => s.name)).toEqual(['example.com/log', 'example.com/witness']);
  });

  it('refuses a changed text, re-ordered text lines, and a signature moved to another key', async () => {
    const note = await signNote(text, [log, witness]);
    expect(await codeOf(() => verifyNote(note.replace('two', 'TWO'), [log]))).toMatch(/^NOTE_UNVERIFIED: .*does not verify/);
    expect(await codeOf(() => verifyNote(note.replace('validate-logs checkpoint\nline two\n', 'line two\nvalidate-logs checkpoint\n'), [log]))).toMatch(/^NOTE_UNVERIFIED/);
    const lines = note.split('\n');
    // Signature lines before the text: the text then has signature-like lines and no signature follows.
    expect(await codeOf(() => parseNote(`${lines[3]}\n${lines[4]}\n\n${lines[0]}\n${lines[1]}\n`))).toMatch(/^NOTE_FORMAT/);
    // The log's signature bytes under the witness's name and key ID.
    const logSig = parseNote(note).signatures[0]!;
    const forged = formatNote({ text, signatures: [{ name: witness.name, keyId: witness.keyId, signature: logSig.signature }] });
    expect(await codeOf(() => verifyNote(forged, [witness]))).toMatch(/^NOTE_UNVERIFIED: .*does not verify/);
  });

  it('refuses malformed bytes with a reason', async () => {
    const good = await signNote(text, [log]);
    const bytes = new TextEncoder().encode(good);
    const cases: Array<[string, Uint8Array | string, RegExp]> = [
      ['invalid UTF-8', new Uint8Array([...bytes.subarray(0, 3), 0xff, ...bytes.subarray(3)]), /UTF-8/],
      ['a NUL in the text', good.replace('two', 't\u0000o'), /control character/],
      ['a CR', good.replace('two\n', 'two\r\n'), /control character/],
      ['a tab in a signature line', good.replace(/\n$/, '\t\n'), /control character/],
      ['a hyphen for the em dash', good.replace('\u2014', '-'), /not of the form/],
      ['two spaces', good.replace('\u2014 ', '\u2014  '), /not of the form/],
      ['base64 without padding', good.replace(/=+\n$/, '\n'), /base64/],
      ['a short signature', `${text}\n\u2014 example.com/log AAAAAA==\n`, /too short/],
      ['empty text', `\n\u2014 example.com/log AAAAAAAA\n`, /(empty|blank line)/],
      ['huge', 'x'.repeat(1024 * 1024 + 1), /larger than/],
    ];
    for (const [name, note, why] of cases) {
      const got = await codeOf(() => parseNote(note));
      expect(got, name).toMatch(/^NOTE_FORMAT/);
      expect(got, name).toMatch(why);
    }
  });

  it('never throws anything but ValidateLogsError on random single-byte changes', async () => {
    const good = new TextEncoder().encode(await signNote(text, [log, witness]));
    for (let i = 0; i < good.length; i++) {
      for (const delta of [1, 0x80]) {
        const b = good.slice();
        b[i] = b[i]! ^ delta;
        let result: string;
        try {
          await verifyNote(b, [log, witness]);
          result = 'accepted';
        } catch (e) {
          if (!(e instanceof ValidateLogsError)) throw e;
          result = e.code;
        }
        expect(result, `byte ${i} ^ ${delta}`).not.toBe('accepted');
      }
    }
  });
});

describe('Ed25519 key DER, read strictly', () => {
  /** DER of one tag and its content (short or one-byte long form length). */
  const der = (tag: number, ...parts: Uint8Array[]): Uint8Array => {
    const content = new Uint8Array(parts.flatMap((p) => [...p]));
    const n = content.length;
    return new Uint8Array([tag, ...(n < 0x80 ? [n] : [0x81, n]), ...content]);
  };
  const b = (...x: number[]): Uint8Array => new Uint8Array(x);
  const pem = (label: string, bytes: Uint8Array): string => `-----BEGIN ${label}-----\n${Buffer.from(bytes).toString('base64').replace(/.{64}(?=.)/g, '$&\n')}\n-----END ${label}-----\n`;
  const ED25519 = der(0x30, der(0x06, b(0x2b, 0x65, 0x70)));
  const seed = new Uint8Array(32).map((_, i) => i * 7 + 1);
  const pkcs8 = (version: Uint8Array, algorithm: Uint8Array, privateKey: Uint8Array, ...rest: Uint8Array[]): string =>
    pem('PRIVATE KEY', der(0x30, der(0x02, version), algorithm, der(0x04, privateKey), ...rest));
  const spki = (algorithm: Uint8Array, bits: Uint8Array): string => pem('PUBLIC KEY', der(0x30, algorithm, der(0x03, bits)));

  it('reads version 0 and version 1 (with its own public key) private keys, and the public key, as openssl writes them', async () => {
    const key = await noteSignerKeyFromPem(pkcs8(b(0), ED25519, der(0x04, seed)), 'n');
    expect(key.seed).toEqual(seed);
    expect(pkcs8(b(0), ED25519, der(0x04, seed))).toBe(pem('PRIVATE KEY', encodeEd25519PrivateKey(seed)));
    const v1 = await noteSignerKeyFromPem(pkcs8(b(1), ED25519, der(0x04, seed), der(0x81, b(0), key.publicKey)), 'n');
    expect(v1).toEqual(key);
    expect(noteVerifierKeyFromPem(spki(ED25519, new Uint8Array([0, ...key.publicKey])), 'n').publicKey).toEqual(key.publicKey);
  });

  it('refuses every other private key structure, naming what is wrong', async () => {
    const pub = (await noteSignerKeyFromPem(pkcs8(b(0), ED25519, der(0x04, seed)), 'n')).publicKey;
    const other = pub.map((x, i) => (i === 0 ? x ^ 1 : x));
    const cases: Array<[string, string, RegExp]> = [
      ['version 2', pkcs8(b(2), ED25519, der(0x04, seed)), /not a PKCS#8 PrivateKeyInfo \(version 0 or 1\)/],
      ['a version of two bytes', pkcs8(b(0, 0), ED25519, der(0x04, seed)), /version 0 or 1/],
      ['X25519', pkcs8(b(0), der(0x30, der(0x06, b(0x2b, 0x65, 0x6e))), der(0x04, seed)), /not an Ed25519 key \(the algorithm is not 1\.3\.101\.112 without parameters\)/],
      ['Ed25519 with NULL parameters', pkcs8(b(0), der(0x30, der(0x06, b(0x2b, 0x65, 0x70)), der(0x05)), der(0x04, seed)), /not an Ed25519 key/],
      ['a private key of 31 bytes', pkcs8(b(0), ED25519, der(0x04, seed.subarray(1))), /not an OCTET STRING of 32 bytes/],
      ['a private key of 33 bytes', pkcs8(b(0), ED25519, der(0x04, new Uint8Array([...seed, 0]))), /not an OCTET STRING of 32 bytes/],
      ['a private key not wrapped in its OCTET STRING', pem('PRIVATE KEY', der(0x30, der(0x02, b(0)), ED25519, der(0x04, seed))), /the private key is not one well-formed DER structure|not an OCTET STRING of 32 bytes/],
      ['a version 0 key with a public key', pkcs8(b(0), ED25519, der(0x04, seed), der(0x81, b(0), pub)), /unexpected fields after the private key/],
      ['a version 1 key with attributes', pkcs8(b(1), ED25519, der(0x04, seed), der(0xa0)), /unexpected fields after the private key/],
      ['a version 1 key with two public keys', pkcs8(b(1), ED25519, der(0x04, seed), der(0x81, b(0), pub), der(0x81, b(0), pub)), /unexpected fields after the private key/],
      ['a public key field of 31 bytes', pkcs8(b(1), ED25519, der(0x04, seed), der(0x81, b(0), pub.subarray(1))), /the public key field is not 32 bytes/],
      ['a public key field with unused bits', pkcs8(b(1), ED25519, der(0x04, seed), der(0x81, b(1), pub)), /the public key field is not 32 bytes/],
      ["another key's public key", pkcs8(b(1), ED25519, der(0x04, seed), der(0x81, b(0), other)), /the public key it carries is not the private key's/],
      ['a long-form length for a short value', pem('PRIVATE KEY', (() => { const d = encodeEd25519PrivateKey(seed); return new Uint8Array([0x30, 0x81, ...d.subarray(1)]); })()), /not one well-formed DER structure \(a long-form length for a short value: not DER\)/],
      ['an indefinite length', pem('PRIVATE KEY', (() => { const d = encodeEd25519PrivateKey(seed); return new Uint8Array([0x30, 0x80, ...d.subarray(2), 0, 0]); })()), /not one well-formed DER structure \(an indefinite length: BER, not DER\)/],
      ['a SEQUENCE that is not one', pem('PRIVATE KEY', der(0x31, der(0x02, b(0)), ED25519, der(0x04, der(0x04, seed)))), /not a PKCS#8 PrivateKeyInfo/],
    ];
    for (const [name, text, why] of cases) {
      const got = await codeOf(() => noteSignerKeyFromPem(text, 'n', 'k.pem'));
      expect(got, name).toMatch(/^KEY_INVALID: k\.pem: /);
      expect(got, name).toMatch(why);
    }
  });

  it('refuses every other public key structure, and a key off the curve', async () => {
    const pub = (await noteSignerKeyFromPem(pkcs8(b(0), ED25519, der(0x04, seed)), 'n')).publicKey;
    const offCurve = new Uint8Array(32).fill(0xff).map((x, i) => (i === 0 ? 0xed : i === 31 ? 0x7f : x)); // y = p: not canonical
    const cases: Array<[string, string, RegExp]> = [
      ['unused bits', spki(ED25519, new Uint8Array([1, ...pub])), /the Ed25519 public key is not a BIT STRING of 32 bytes/],
      ['31 bytes', spki(ED25519, new Uint8Array([0, ...pub.subarray(1)])), /not a BIT STRING of 32 bytes/],
      ['an OCTET STRING', pem('PUBLIC KEY', der(0x30, ED25519, der(0x04, new Uint8Array([0, ...pub])))), /not a BIT STRING of 32 bytes/],
      ['X25519', spki(der(0x30, der(0x06, b(0x2b, 0x65, 0x6e))), new Uint8Array([0, ...pub])), /not an Ed25519 SubjectPublicKeyInfo/],
      ['NULL parameters', spki(der(0x30, der(0x06, b(0x2b, 0x65, 0x70)), der(0x05)), new Uint8Array([0, ...pub])), /not an Ed25519 SubjectPublicKeyInfo/],
      ['a third field', pem('PUBLIC KEY', der(0x30, ED25519, der(0x03, b(0), pub), der(0x05))), /not an Ed25519 SubjectPublicKeyInfo/],
      ['a trailing byte', pem('PUBLIC KEY', new Uint8Array([...encodeEd25519PublicKey(pub), 0])), /not one well-formed DER structure \(1 bytes after the end of the DER value\)/],
      ['y = p', spki(ED25519, new Uint8Array([0, ...offCurve])), /not a point of the Ed25519 curve/],
    ];
    for (const [name, text, why] of cases) {
      const got = await codeOf(() => noteVerifierKeyFromPem(text, 'n', 'k.pub.pem'));
      expect(got, name).toMatch(/^KEY_INVALID: /);
      expect(got, name).toMatch(why);
    }
  });
});

describe('openssl Ed25519 keys', () => {
  it('signs with a key from openssl genpkey, and verifies with its public PEM; openssl verifies our signature', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vl-note-'));
    dirs.push(dir);
    const priv = join(dir, 'key.pem');
    const pub = join(dir, 'pub.pem');
    openssl(['genpkey', '-algorithm', 'ed25519', '-out', priv]);
    openssl(['pkey', '-in', priv, '-pubout', '-out', pub]);
    const signer = await noteSignerKeyFromPem(readFileSync(priv, 'utf8'), 'example.com/openssl', priv);
    const verifier = noteVerifierKeyFromPem(readFileSync(pub, 'utf8'), 'example.com/openssl', pub);
    expect(verifier.publicKey).toEqual(signer.publicKey);
    expect(noteKeyToPem(verifier)).toBe(readFileSync(pub, 'utf8'));
    expect(Buffer.from(encodeEd25519PrivateKey(signer.seed)).toString('base64')).toBe(readFileSync(priv, 'utf8').split('\n')[1]);
    const note = await signNote('hello\n', [signer]);
    expect((await verifyNote(note, [verifier])).verified).toHaveLength(1);

    // openssl checks the same signature over the same text.
    const sig = parseNote(note).signatures[0]!.signature;
    writeFileSync(join(dir, 'msg'), 'hello\n');
    writeFileSync(join(dir, 'sig'), sig);
    const out = openssl(['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', join(dir, 'msg'), '-sigfile', join(dir, 'sig')]);
    expect(out).toMatch(/Signature Verified Successfully/);

    // And the other way: openssl's signature, verified here.
    openssl(['pkeyutl', '-sign', '-inkey', priv, '-rawin', '-in', join(dir, 'msg'), '-out', join(dir, 'sig2')]);
    const theirs = new Uint8Array(readFileSync(join(dir, 'sig2')));
    expect(theirs).toEqual(sig);
  });

  it('refuses other keys and damaged PEM, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vl-note-'));
    dirs.push(dir);
    const rsa = join(dir, 'rsa.pem');
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', rsa], { stdio: 'ignore' });
    expect(await codeOf(() => noteSignerKeyFromPem(readFileSync(rsa, 'utf8'), 'n', rsa))).toMatch(new RegExp(`^KEY_INVALID: ${rsa}: not an Ed25519 key`));
    const x = join(dir, 'x.pem');
    openssl(['genpkey', '-algorithm', 'x25519', '-out', x]);
    expect(await codeOf(() => noteSignerKeyFromPem(readFileSync(x, 'utf8'), 'n', x))).toMatch(/not an Ed25519 key/);
    const ed = join(dir, 'ed.pem');
    openssl(['genpkey', '-algorithm', 'ed25519', '-out', ed]);
    const pem = readFileSync(ed, 'utf8');
    expect(await codeOf(() => noteVerifierKeyFromPem(pem, 'n', ed))).toMatch(/not a PEM "PUBLIC KEY" \(it holds a "PRIVATE KEY"\)/);
    expect(await codeOf(() => noteSignerKeyFromPem(pem.replace('-----END', 'AAAA\n-----END'), 'n', ed))).toMatch(/^KEY_INVALID/);
    expect(await codeOf(() => noteSignerKeyFromPem(pem.slice(0, 60), 'n', ed))).toMatch(/^KEY_INVALID/);
    // A trailing byte after the DER structure.
    const der = Buffer.from(pem.split('\n').slice(1, -2).join(''), 'base64');
    const longer = `-----BEGIN PRIVATE KEY-----\n${Buffer.concat([der, Buffer.from([0])]).toString('base64')}\n-----END PRIVATE KEY-----\n`;
    expect(await codeOf(() => noteSignerKeyFromPem(longer, 'n', ed))).toMatch(/not one well-formed DER/);
  });
});
