/**
 * Signed notes (C2SP signed-note, https://c2sp.org/signed-note) with Ed25519 keys: the
 * envelope of checkpoints and of the witnesses' cosignatures.
 *
 * A note is UTF-8 text ending in a newline, a blank line, then one signature line per
 * signature: `— <key name> base64(key ID || signature)` (U+2014 EM DASH, space). The key ID is
 * `SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]`, big-endian. Keys have the text
 * forms of Go's `golang.org/x/mod/sumdb/note` (verifier key `name+hexkeyid+base64(0x01||pubkey)`,
 * signer key `PRIVATE+KEY+name+hexkeyid+base64(0x01||seed)`), and can be read from the PEM
 * files `openssl genpkey -algorithm ed25519` writes (PKCS#8) and their public halves (SPKI).
 *
 * Parsing is strict (a malformed note is refused, never repaired); verification needs a valid
 * signature from EVERY given key (a witness quorum), and ignores the lines of other keys.
 * Signing and verifying are the platform's (`node:crypto` under Node, WebCrypto elsewhere):
 * the functions that do either are asynchronous and take a `platform` option.
 * @module
 */
import { defaultPlatform } from '#platform';
import { encodeEd25519PublicKey, readEd25519PrivateKey, readEd25519PublicKey } from '../crypto/der.js';
import { isEd25519Point } from '../crypto/ed25519.js';
import { ValidateLogsError } from '../errors.js';
import { sha256 } from '../hash/sha256.js';
import type { Platform } from '../platform/platform.js';
import { decodeUtf8, encodeUtf8 } from '../utils.js';
import { bytesEqual, fromBase64, fromPem, toBase64, toPem } from './encoding.js';

/** The signature type byte of Ed25519 note signatures (C2SP signed-note, "Signature types"). */
export const NOTE_ED25519: number = 0x01;
/** Most signature lines a note may carry (Go's limit; the specification asks for at least 16). */
export const MAX_NOTE_SIGNATURES: number = 100;
/** Largest note accepted, in bytes. */
export const MAX_NOTE_BYTES: number = 1024 * 1024;

const EM_DASH = '\u2014';

/** Options of the note functions that sign or verify. */
export interface NoteOptions {
  /** The runtime that signs and verifies; the default platform (by the package's conditional imports) when omitted. */
  platform?: Platform;
}

/** An Ed25519 key that verifies note signatures. */
export interface NoteVerifierKey {
  /** The key name (no spaces, no `+`). */
  readonly name: string;
  /** The key ID, an unsigned 32-bit number. */
  readonly keyId: number;
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** An Ed25519 key that signs notes. Keep it secret. */
export interface NoteSignerKey extends NoteVerifierKey {
  /** The 32-byte Ed25519 private key (the RFC 8032 seed). */
  readonly seed: Uint8Array;
}

/** One signature line of a note. */
export interface NoteSignature {
  /** The key name on the line. */
  readonly name: string;
  /** The key ID (the first four bytes of the decoded signature, big-endian). */
  readonly keyId: number;
  /** The signature bytes after the key ID. */
  readonly signature: Uint8Array;
}

/** A note as parsed: its text (with the final newline) and its signature lines, in order. */
export interface SignedNote {
  /** The signed text, ending in a newline, without the separating blank line. */
  readonly text: string;
  /** The signature lines, in the order they appear. */
  readonly signatures: readonly NoteSignature[];
}

/** A note whose signatures from every required key verified. */
export interface VerifiedNote extends SignedNote {
  /** The signatures that verified, in the order of the keys given. */
  readonly verified: readonly NoteSignature[];
  /** The lines of keys that were not given (ignored, as the specification requires). */
  readonly unverified: readonly NoteSignature[];
}

function noteError(why: string): ValidateLogsError {
  return new ValidateLogsError('NOTE_FORMAT', why);
}

/** A key name is non-empty, without Unicode spaces, `+`, or control characters. */
function checkName(name: string, what: string): string {
  if (typeof name !== 'string' || name.length === 0) throw noteError(`${what}: the key name is empty`);
  if (/[\s+\p{Cc}\p{Zs}]/u.test(name)) throw noteError(`${what}: the key name ${JSON.stringify(name)} contains a space, a "+" or a control character`);
  return name;
}

/**
 * The key ID of an Ed25519 note key: `SHA-256(name || 0x0A || 0x01 || public key)[:4]`.
 * @param name - the key name
 * @param publicKey - the 32-byte public key
 * @returns the key ID, an unsigned 32-bit number
 * @throws TypeError when the public key is not 32 bytes
 */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes');
  const h = sha256(new Uint8Array([...encodeUtf8(name), 0x0a, NOTE_ED25519, ...publicKey]));
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}

/** `name+hexkeyid`, the way keys are named in messages. */
function keyLabel(key: { name: string; keyId: number }): string {
  return `${key.name}+${key.keyId.toString(16).padStart(8, '0')}`;
}

/**
 * A verifier key from its public key.
 * @param name - the key name
 * @param publicKey - the 32-byte Ed25519 public key
 * @returns the verifier key
 * @throws ValidateLogsError `NOTE_FORMAT` when the name is not a valid key name, `KEY_INVALID`
 *   when the public key is not a point of the curve
 * @throws TypeError when the public key is not 32 bytes
 */
export function noteVerifierKey(name: string, publicKey: Uint8Array): NoteVerifierKey {
  checkName(name, 'verifier key');
  if (publicKey instanceof Uint8Array && publicKey.length === 32 && !isEd25519Point(publicKey)) {
    throw new ValidateLogsError('KEY_INVALID', `verifier key ${name}: not a point of the Ed25519 curve`);
  }
  return { name, keyId: noteKeyId(name, publicKey), publicKey: publicKey.slice() };
}

/**
 * A signer key from its 32-byte private key (seed).
 * @param name - the key name
 * @param seed - the 32-byte Ed25519 private key
 * @param options - the platform that derives the public key
 * @returns the signer key
 * @throws ValidateLogsError `NOTE_FORMAT` when the name is not a valid key name
 * @throws TypeError when the seed is not 32 bytes
 */
export async function noteSignerKey(name: string, seed: Uint8Array, options: NoteOptions = {}): Promise<NoteSignerKey> {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TypeError('an Ed25519 private key is 32 bytes');
  checkName(name, 'signer key');
  const publicKey = await (options.platform ?? defaultPlatform).ed25519PublicKey(seed);
  return { name, keyId: noteKeyId(name, publicKey), publicKey, seed: seed.slice() };
}

/**
 * A new random signer key (from `crypto.getRandomValues`).
 * @param name - the key name (a schema-less URL is recommended, such as `example.com/witness`)
 * @param options - the platform that derives the public key
 * @returns the signer key
 * @throws ValidateLogsError `NOTE_FORMAT` when the name is not a valid key name
 */
export function generateNoteSignerKey(name: string, options: NoteOptions = {}): Promise<NoteSignerKey> {
  return noteSignerKey(name, crypto.getRandomValues(new Uint8Array(32)), options);
}

/** Split `name+hexkeyid+base64` (after any `PRIVATE+KEY+`) and check the key ID. */
function parseKeyText(text: string, what: string, prefix: string): { name: string; keyId: number; key: Uint8Array } {
  if (typeof text !== 'string') throw new TypeError(`${what} must be a string`);
  const body = text.trim();
  if (!body.startsWith(prefix)) throw noteError(`${what} does not start with "${prefix}"`);
  const parts = body.slice(prefix.length).split('+');
  // The base64 may itself contain "+": the name and the key ID are the first two fields.
  if (parts.length < 3) throw noteError(`${what} is not of the form ${prefix}name+keyid+key`);
  const [name, hex] = parts as [string, string];
  checkName(name, what);
  if (!/^[0-9a-f]{8}$/.test(hex)) throw noteError(`${what}: the key ID ${JSON.stringify(hex)} is not 8 lower-case hex digits`);
  const bytes = fromBase64(parts.slice(2).join('+'), what, 'NOTE_FORMAT');
  if (bytes.length !== 33) throw noteError(`${what}: the key is ${bytes.length} bytes, not 33 (a type byte and 32 key bytes)`);
  if (bytes[0] !== NOTE_ED25519) throw noteError(`${what}: unknown signature type ${bytes[0]} (only Ed25519, 1, is supported)`);
  return { name, keyId: Number.parseInt(hex, 16), key: bytes.subarray(1) };
}

/**
 * Parse a verifier key in Go's text form, `name+hexkeyid+base64(0x01 || public key)`.
 * @param text - the key text (surrounding blank space is ignored)
 * @returns the verifier key
 * @throws ValidateLogsError `NOTE_FORMAT` naming what is wrong (a malformed field, a key ID
 *   that is not the key's)
 */
export function parseNoteVerifierKey(text: string): NoteVerifierKey {
  const p = parseKeyText(text, 'verifier key', '');
  const key = noteVerifierKey(p.name, p.key);
  if (key.keyId !== p.keyId) throw noteError(`verifier key ${keyLabel(p)}: the key ID is not the key's (${keyLabel(key)})`);
  return key;
}

/**
 * Parse a signer key in Go's text form, `PRIVATE+KEY+name+hexkeyid+base64(0x01 || seed)`.
 * @param text - the key text (surrounding blank space is ignored)
 * @param options - the platform that derives the public key
 * @returns the signer key
 * @throws ValidateLogsError `NOTE_FORMAT` naming what is wrong
 */
export async function parseNoteSignerKey(text: string, options: NoteOptions = {}): Promise<NoteSignerKey> {
  const p = parseKeyText(text, 'signer key', 'PRIVATE+KEY+');
  const key = await noteSignerKey(p.name, p.key, options);
  if (key.keyId !== p.keyId) throw noteError(`signer key ${keyLabel(p)}: the key ID is not the key's (${keyLabel(key)})`);
  return key;
}

/**
 * A verifier key in Go's text form.
 * @param key - the key
 * @returns `name+hexkeyid+base64(0x01 || public key)`
 */
export function formatNoteVerifierKey(key: NoteVerifierKey): string {
  return `${keyLabel(key)}+${toBase64(new Uint8Array([NOTE_ED25519, ...key.publicKey]))}`;
}

/**
 * A signer key in Go's text form.
 * @param key - the key
 * @returns `PRIVATE+KEY+name+hexkeyid+base64(0x01 || seed)`
 */
export function formatNoteSignerKey(key: NoteSignerKey): string {
  return `PRIVATE+KEY+${keyLabel(key)}+${toBase64(new Uint8Array([NOTE_ED25519, ...key.seed]))}`;
}

/** Read a key's DER with one of the strict readers of `crypto/der.ts`, as `KEY_INVALID` naming the key. */
function readKeyDer<T>(read: (der: Uint8Array) => T, der: Uint8Array, what: string): T {
  try {
    return read(der);
  } catch (e) {
    throw new ValidateLogsError('KEY_INVALID', `${what}: ${(e as Error).message}`);
  }
}

/**
 * A signer key from an Ed25519 private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as
 * `openssl genpkey -algorithm ed25519` writes it (RFC 8410). A OneAsymmetricKey (version 1)
 * with its public key is accepted when that public key is the private key's. The DER is read
 * strictly: one value, nothing after it, minimal lengths, no other field.
 * @param pem - the PEM text
 * @param name - the key name to sign as
 * @param what - what the key is, for messages (a file name)
 * @param options - the platform that derives the public key
 * @returns the signer key
 * @throws ValidateLogsError `KEY_INVALID` naming what is wrong
 */
export async function noteSignerKeyFromPem(pem: string, name: string, what = 'private key', options: NoteOptions = {}): Promise<NoteSignerKey> {
  const { seed, publicKey } = readKeyDer(readEd25519PrivateKey, fromPem(pem, 'PRIVATE KEY', what), what);
  const key = await noteSignerKey(name, seed, options);
  if (publicKey && !bytesEqual(publicKey, key.publicKey)) throw new ValidateLogsError('KEY_INVALID', `${what}: the public key it carries is not the private key's`);
  return key;
}

/**
 * A verifier key from an Ed25519 public key in SPKI PEM (`-----BEGIN PUBLIC KEY-----`), as
 * `openssl pkey -pubout` writes it. The DER is read strictly.
 * @param pem - the PEM text
 * @param name - the key name it signs as
 * @param what - what the key is, for messages (a file name)
 * @returns the verifier key
 * @throws ValidateLogsError `KEY_INVALID` naming what is wrong
 */
export function noteVerifierKeyFromPem(pem: string, name: string, what = 'public key'): NoteVerifierKey {
  return noteVerifierKey(name, readKeyDer(readEd25519PublicKey, fromPem(pem, 'PUBLIC KEY', what), what));
}

/**
 * The SPKI PEM of a note key's public half (what `openssl pkey -pubout` writes).
 * @param key - the key
 * @returns the PEM text
 */
export function noteKeyToPem(key: NoteVerifierKey): string {
  return toPem(encodeEd25519PublicKey(key.publicKey), 'PUBLIC KEY');
}

/** Check note text: non-empty, ends in a newline, no control characters but newlines. */
function checkText(text: string, what: string): void {
  if (typeof text !== 'string' || text.length === 0) throw noteError(`${what}: the text is empty`);
  if (!text.endsWith('\n')) throw noteError(`${what}: the text does not end in a newline`);
  const bad = /[\u0000-\u0009\u000b-\u001f\u007f]/.exec(text);
  if (bad) throw noteError(`${what}: a control character (U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}) at offset ${bad.index}`);
}

/**
 * Parse a signed note strictly. Refused, with the reason: not UTF-8, larger than
 * {@link MAX_NOTE_BYTES}, a control character other than newline, no blank line before the
 * signatures, no signature, a line after the blank line that is not a signature line, a key
 * name with a space or `+`, base64 that is not canonical, a signature shorter than five
 * bytes, more than {@link MAX_NOTE_SIGNATURES} signatures, or two lines of the same key name
 * and ID (Go keeps one of identical lines; a key signs a note once, so this refuses it).
 * @param note - the note, as bytes or text
 * @param what - what it is, for messages (a file name)
 * @returns the text and signature lines
 * @throws ValidateLogsError `NOTE_FORMAT` naming what is wrong
 */
export function parseNote(note: Uint8Array | string, what = 'note'): SignedNote {
  let text: string;
  if (typeof note === 'string') text = note;
  else {
    if (note.length > MAX_NOTE_BYTES) throw noteError(`${what}: larger than ${MAX_NOTE_BYTES} bytes`);
    try {
      text = decodeUtf8(note, what);
    } catch (cause) {
      throw new ValidateLogsError('NOTE_FORMAT', `${what} is not valid UTF-8`, { cause });
    }
  }
  if (encodeUtf8(text).length > MAX_NOTE_BYTES) throw noteError(`${what}: larger than ${MAX_NOTE_BYTES} bytes`);
  if (!text.endsWith('\n')) throw noteError(`${what}: truncated (it does not end in a newline)`);
  const split = text.lastIndexOf('\n\n');
  if (split < 0) throw noteError(`${what}: no blank line separates the text from the signatures`);
  const body = text.slice(0, split + 1);
  checkText(body, what);
  const lines = text.slice(split + 2, -1).split('\n');
  if (lines.length === 1 && lines[0] === '') throw noteError(`${what}: no signature after the blank line`);
  if (lines.length > MAX_NOTE_SIGNATURES) throw noteError(`${what}: ${lines.length} signatures, more than ${MAX_NOTE_SIGNATURES}`);
  const seen = new Set<string>();
  const signatures = lines.map((line, i): NoteSignature => {
    const where = `${what}: signature line ${i + 1}`;
    const bad = /[\u0000-\u001f\u007f]/.exec(line);
    if (bad) throw noteError(`${where} contains a control character`);
    const m = /^\u2014 ([^ ]+) ([^ ]+)$/.exec(line);
    if (!m) throw noteError(`${where} is not of the form "${EM_DASH} name base64": ${JSON.stringify(line.slice(0, 80))}`);
    const name = checkName(m[1]!, where);
    const bytes = fromBase64(m[2]!, where, 'NOTE_FORMAT');
    if (bytes.length < 5) throw noteError(`${where}: the signature is ${bytes.length} bytes, too short for a key ID and a signature`);
    const keyId = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    const label = keyLabel({ name, keyId });
    if (seen.has(label)) throw noteError(`${where}: key ${label} signs the note twice`);
    seen.add(label);
    return { name, keyId, signature: bytes.slice(4) };
  });
  return { text: body, signatures };
}

/**
 * Format a note: the text, a blank line, and its signature lines.
 * @param note - the text and signatures
 * @returns the note text
 * @throws ValidateLogsError `NOTE_FORMAT` when the text or a signature line is not valid
 */
export function formatNote(note: SignedNote): string {
  checkText(note.text, 'note');
  if (note.signatures.length === 0) throw noteError('note: a note needs at least one signature');
  const lines = note.signatures.map((s) => {
    checkName(s.name, 'note signature');
    const id = new Uint8Array([s.keyId >>> 24, (s.keyId >>> 16) & 255, (s.keyId >>> 8) & 255, s.keyId & 255]);
    return `${EM_DASH} ${s.name} ${toBase64(new Uint8Array([...id, ...s.signature]))}\n`;
  });
  return `${note.text}\n${lines.join('')}`;
}

/**
 * Sign a note. The signatures already on the note are kept, in order, except a line of one
 * of the signing keys (replaced, as Go does); the new lines come last.
 * @param note - the text (ending in a newline) or a parsed note
 * @param signers - the keys that sign
 * @param options - the platform that signs
 * @returns the signed note text
 * @throws ValidateLogsError `NOTE_FORMAT` when the text is not valid note text
 * @throws TypeError when no signer is given
 * @example
 * ```ts
 * const key = await generateNoteSignerKey('example.com/log');
 * const note = await signNote('hello\n', [key]);
 * await verifyNote(note, [key]);
 * ```
 */
export async function signNote(note: string | SignedNote, signers: readonly NoteSignerKey[], options: NoteOptions = {}): Promise<string> {
  if (signers.length === 0) throw new TypeError('signNote needs at least one signer');
  const parsed: SignedNote = typeof note === 'string' ? { text: note, signatures: [] } : note;
  checkText(parsed.text, 'note');
  const message = encodeUtf8(parsed.text);
  const labels = new Set(signers.map(keyLabel));
  const kept = parsed.signatures.filter((s) => !labels.has(keyLabel(s)));
  const platform = options.platform ?? defaultPlatform;
  const added = await Promise.all(signers.map(async (k) => ({ name: k.name, keyId: k.keyId, signature: await platform.ed25519Sign(k.seed, message) })));
  return formatNote({ text: parsed.text, signatures: [...kept, ...added] });
}

/**
 * Verify a note: it must carry a valid signature from EVERY key given (a witness quorum).
 * Lines of other keys, even of the same name or key ID, are ignored, as the specification
 * requires. Ed25519 is verified as RFC 8032 says (canonical encodings; no ZIP 215 leniency).
 * @param note - the note as bytes, text, or already parsed
 * @param keys - the keys whose signatures are required (at least one; no two alike)
 * @param what - what the note is, for messages (a file name)
 * @param options - the platform that verifies
 * @returns the note with the signatures that verified and those ignored
 * @throws ValidateLogsError `NOTE_FORMAT` for a malformed note, `NOTE_UNVERIFIED` naming the
 *   first key whose signature is missing or does not verify, `KEY_INVALID` when two keys given
 *   have the same name and key ID, or when a key is not a point of the curve
 * @throws TypeError when no key is given
 */
export async function verifyNote(note: Uint8Array | string | SignedNote, keys: readonly NoteVerifierKey[], what = 'note', options: NoteOptions = {}): Promise<VerifiedNote> {
  if (keys.length === 0) throw new TypeError('verifyNote needs at least one key');
  const parsed = typeof note === 'string' || note instanceof Uint8Array ? parseNote(note, what) : note;
  const labels = new Set<string>();
  for (const k of keys) {
    if (labels.has(keyLabel(k))) throw new ValidateLogsError('KEY_INVALID', `key ${keyLabel(k)} is given twice`);
    labels.add(keyLabel(k));
  }
  const message = encodeUtf8(parsed.text);
  const platform = options.platform ?? defaultPlatform;
  const verified: NoteSignature[] = [];
  for (const k of keys) {
    const line = parsed.signatures.find((s) => s.name === k.name && s.keyId === k.keyId);
    if (!line) throw new ValidateLogsError('NOTE_UNVERIFIED', `${what} is not signed by key ${keyLabel(k)}`);
    // A key made by hand rather than by noteVerifierKey is checked here: the platforms differ on keys off the curve.
    if (!isEd25519Point(k.publicKey)) throw new ValidateLogsError('KEY_INVALID', `key ${keyLabel(k)}: not a point of the Ed25519 curve`);
    if (!(await platform.ed25519Verify(k.publicKey, message, line.signature))) throw new ValidateLogsError('NOTE_UNVERIFIED', `${what}: the signature of key ${keyLabel(k)} does not verify`);
    verified.push(line);
  }
  return { ...parsed, verified, unverified: parsed.signatures.filter((s) => !labels.has(keyLabel(s))) };
}

/**
 * The hex form of a key ID, for messages and file names.
 * @param key - a key or a signature line
 * @returns `name+hexkeyid`
 */
export function noteKeyLabel(key: { name: string; keyId: number }): string {
  return keyLabel(key);
}
