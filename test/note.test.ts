// Signed notes: Go's and C2SP's published vectors, openssl-made Ed25519 keys, and hostile notes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
  ValidateLogsError,
  type NoteVerifierKey,
} from '../src/index.js';
import { loadJson } from './helpers/tamper.js';

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

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidateLogsError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'no error';
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('note keys in Go text form', () => {
  it('parses and re-formats the published keys exactly', () => {
    for (const text of Object.values(V.verifierKeys)) expect(formatNoteVerifierKey(parseNoteVerifierKey(text))).toBe(text);
    const skey = V.signerKeys.PeterNeumann!;
    const signer = parseNoteSignerKey(skey);
    expect(formatNoteSignerKey(signer)).toBe(skey);
    expect(formatNoteVerifierKey(signer)).toBe(V.verifierKeys.PeterNeumann);
    expect(signer.keyId).toBe(0xc74f20a3);
  });

  it.each(V.badVerifierKeys)('refuses $comment', ({ key: k }) => {
    expect(codeOf(() => parseNoteVerifierKey(k))).toMatch(/^NOTE_FORMAT/);
  });

  it('refuses every truncation and every one-byte change of a verifier key and a signer key (as Go tests them)', () => {
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
            parse(s);
            accepted.push(s);
          } catch (e) {
            if (!(e instanceof ValidateLogsError)) throw e;
          }
        }
      }
      for (let i = 0; i < text.length; i++) {
        const s = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) + 1) + text.slice(i + 1);
        try {
          parse(s);
          accepted.push(s);
        } catch (e) {
          if (!(e instanceof ValidateLogsError)) throw e;
        }
      }
      expect(accepted).toEqual([]);
    }
  });

  it('generates keys whose text forms round-trip', () => {
    const k = generateNoteSignerKey('example.com/witness');
    expect(parseNoteSignerKey(formatNoteSignerKey(k))).toEqual(k);
    expect(parseNoteVerifierKey(formatNoteVerifierKey(k)).publicKey).toEqual(k.publicKey);
    expect(() => generateNoteSignerKey('bad name')).toThrow(/space/);
    expect(() => generateNoteSignerKey('a+b')).toThrow(/"\+"/);
  });
});

describe('signing and verifying notes: the published vectors', () => {
  it("signs Go's TestSign text to Go's exact note (Ed25519 is deterministic)", () => {
    const signer = parseNoteSignerKey(V.signerKeys[V.signing.signer]!);
    expect(signNote(V.signing.text, [signer])).toBe(V.signing.note);
    // A line of the signing key already there is replaced, not duplicated.
    const stale = parseNote(V.signing.note.replace('x08go/ZJ', 'x08go/ZK'));
    expect(signNote(stale, [signer])).toBe(V.signing.note);
  });

  it.each(V.notes)('$comment', (c) => {
    const keys = c.keys.map(key);
    if (c.valid) {
      const n = verifyNote(c.note, keys);
      expect(n.text).toBe(c.text);
      expect(n.verified.map((s) => s.name)).toEqual(c.verified);
      expect(n.unverified.map((s) => s.name)).toEqual(c.unverified);
    } else {
      const got = codeOf(() => verifyNote(c.note, keys));
      expect(got.startsWith(`${c.error}:`), got).toBe(true);
      if (c.names) expect(got).toContain(c.names);
    }
  });

  it.each(V.parseOnly)('parses $comment', (c) => {
    const n = parseNote(new TextEncoder().encode(c.note));
    expect(n.text).toBe(c.text);
    expect(n.signatures.map((s) => ({ name: s.name, keyId: s.keyId.toString(16).padStart(8, '0'), signatureBytes: s.signature.length }))).toEqual(c.signatures);
  });
});

describe('notes: quorum, forgery, re-ordering, hostile bytes', () => {
  const log = generateNoteSignerKey('example.com/log');
  const witness = generateNoteSignerKey('example.com/witness');
  const text = 'validate-logs checkpoint\nline two\n';

  it('needs every key of the quorum, and names the one missing', () => {
    const once = signNote(text, [log]);
    expect(verifyNote(once, [log]).verified).toHaveLength(1);
    expect(codeOf(() => verifyNote(once, [log, witness]))).toBe(`NOTE_UNVERIFIED: note is not signed by key example.com/witness+${witness.keyId.toString(16).padStart(8, '0')}`);
    const twice = signNote(parseNote(once), [witness]);
    expect(twice.startsWith(once)).toBe(true); // the cosignature is appended
    expect(verifyNote(twice, [log, witness]).verified.map((s) => s.name)).toEqual(['example.com/log', 'example.com/witness']);
  });

  it('refuses a changed text, re-ordered text lines, and a signature moved to another key', () => {
    const note = signNote(text, [log, witness]);
    expect(codeOf(() => verifyNote(note.replace('two', 'TWO'), [log]))).toMatch(/^NOTE_UNVERIFIED: .*does not verify/);
    expect(codeOf(() => verifyNote(note.replace('validate-logs checkpoint\nline two\n', 'line two\nvalidate-logs checkpoint\n'), [log]))).toMatch(/^NOTE_UNVERIFIED/);
    const lines = note.split('\n');
    // Signature lines before the text: the text then has signature-like lines and no signature follows.
    expect(codeOf(() => parseNote(`${lines[3]}\n${lines[4]}\n\n${lines[0]}\n${lines[1]}\n`))).toMatch(/^NOTE_FORMAT/);
    // The log's signature bytes under the witness's name and key ID.
    const logSig = parseNote(note).signatures[0]!;
    const forged = formatNote({ text, signatures: [{ name: witness.name, keyId: witness.keyId, signature: logSig.signature }] });
    expect(codeOf(() => verifyNote(forged, [witness]))).toMatch(/^NOTE_UNVERIFIED: .*does not verify/);
  });

  it('refuses malformed bytes with a reason', () => {
    const good = signNote(text, [log]);
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
      const got = codeOf(() => parseNote(note));
      expect(got, name).toMatch(/^NOTE_FORMAT/);
      expect(got, name).toMatch(why);
    }
  });

  it('never throws anything but ValidateLogsError on random single-byte changes', () => {
    const good = new TextEncoder().encode(signNote(text, [log, witness]));
    for (let i = 0; i < good.length; i++) {
      for (const delta of [1, 0x80]) {
        const b = good.slice();
        b[i] = b[i]! ^ delta;
        let result: string;
        try {
          verifyNote(b, [log, witness]);
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

describe('openssl Ed25519 keys', () => {
  it('signs with a key from openssl genpkey, and verifies with its public PEM; openssl verifies our signature', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vl-note-'));
    dirs.push(dir);
    const priv = join(dir, 'key.pem');
    const pub = join(dir, 'pub.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', priv]);
    execFileSync('openssl', ['pkey', '-in', priv, '-pubout', '-out', pub]);
    const signer = noteSignerKeyFromPem(readFileSync(priv, 'utf8'), 'example.com/openssl', priv);
    const verifier = noteVerifierKeyFromPem(readFileSync(pub, 'utf8'), 'example.com/openssl', pub);
    expect(verifier.publicKey).toEqual(signer.publicKey);
    expect(noteKeyToPem(verifier)).toBe(readFileSync(pub, 'utf8'));
    const note = signNote('hello\n', [signer]);
    expect(verifyNote(note, [verifier]).verified).toHaveLength(1);

    // openssl checks the same signature over the same text.
    const sig = parseNote(note).signatures[0]!.signature;
    writeFileSync(join(dir, 'msg'), 'hello\n');
    writeFileSync(join(dir, 'sig'), sig);
    const out = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', join(dir, 'msg'), '-sigfile', join(dir, 'sig')], { encoding: 'utf8' });
    expect(out).toMatch(/Signature Verified Successfully/);

    // And the other way: openssl's signature, verified here.
    execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', priv, '-rawin', '-in', join(dir, 'msg'), '-out', join(dir, 'sig2')]);
    const theirs = new Uint8Array(readFileSync(join(dir, 'sig2')));
    expect(theirs).toEqual(sig);
  });

  it('refuses other keys and damaged PEM, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vl-note-'));
    dirs.push(dir);
    const rsa = join(dir, 'rsa.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', rsa], { stdio: 'ignore' });
    expect(codeOf(() => noteSignerKeyFromPem(readFileSync(rsa, 'utf8'), 'n', rsa))).toMatch(new RegExp(`^KEY_INVALID: ${rsa}: not an Ed25519 key`));
    const x = join(dir, 'x.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'x25519', '-out', x]);
    expect(codeOf(() => noteSignerKeyFromPem(readFileSync(x, 'utf8'), 'n', x))).toMatch(/not an Ed25519 key/);
    const ed = join(dir, 'ed.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', ed]);
    const pem = readFileSync(ed, 'utf8');
    expect(codeOf(() => noteVerifierKeyFromPem(pem, 'n', ed))).toMatch(/not a PEM "PUBLIC KEY" \(it holds a "PRIVATE KEY"\)/);
    expect(codeOf(() => noteSignerKeyFromPem(pem.replace('-----END', 'AAAA\n-----END'), 'n', ed))).toMatch(/^KEY_INVALID/);
    expect(codeOf(() => noteSignerKeyFromPem(pem.slice(0, 60), 'n', ed))).toMatch(/^KEY_INVALID/);
    // A trailing byte after the DER structure.
    const der = Buffer.from(pem.split('\n').slice(1, -2).join(''), 'base64');
    const longer = `-----BEGIN PRIVATE KEY-----\n${Buffer.concat([der, Buffer.from([0])]).toString('base64')}\n-----END PRIVATE KEY-----\n`;
    expect(codeOf(() => noteSignerKeyFromPem(longer, 'n', ed))).toMatch(/not one well-formed DER/);
  });
});
