/**
 * Checkpoint files as the commands meet them: key flags read (note key text, a file holding it,
 * `NAME=FILE.pem`, openssl Ed25519 PEM keys), checkpoints read and verified, written atomically,
 * and time-stamped. Shared by `validate-logs` (`--checkpoint`, `--checkpoint-out`) and
 * `validate-logs cosign`.
 * @module
 */
import { openCheckpoint, type OpenedCheckpoint } from '../checkpoint/checkpoint.js';
import { noteSignerKeyFromPem, noteVerifierKeyFromPem, parseNote, parseNoteSignerKey, parseNoteVerifierKey, type NoteSignerKey, type NoteVerifierKey } from '../checkpoint/note.js';
import type { TimestampInfo } from '../checkpoint/timestamp.js';
import { ValidateLogsError } from '../errors.js';
import { writeOutput } from '../sources/local/write.js';
import { readFlagFile, readFlagText } from './flag-file.js';
import { UsageError } from './io.js';

/**
 * A `--checkpoint-public-key` value: note key text (`name+hexid+base64`), a file holding it, or
 * `NAME=FILE.pem` (an Ed25519 public key as openssl writes it).
 * @param value - the flag's value
 * @returns the verifier key
 */
export async function verifierKey(value: string): Promise<NoteVerifierKey> {
  if (/^[^\s+]+\+[0-9a-f]{8}\+/.test(value)) return parseNoteVerifierKey(value);
  const eq = value.indexOf('=');
  if (eq > 0) {
    const file = value.slice(eq + 1);
    return noteVerifierKeyFromPem(await readFlagText(file, '--checkpoint-public-key', 'key'), value.slice(0, eq), file);
  }
  const text = await readFlagText(value, '--checkpoint-public-key', 'key');
  if (text.includes('-----BEGIN')) throw new UsageError(`--checkpoint-public-key ${value} is a PEM key: give its name as NAME=${value}`);
  return parseNoteVerifierKey(text);
}

/**
 * A signing key file: note signer key text (`PRIVATE+KEY+...`), or an Ed25519 private key as
 * `openssl genpkey -algorithm ed25519` writes it, named by `name`.
 * @param file - the key file
 * @param name - the key's name (required with a PEM key)
 * @param flags - the flags' names, for errors
 * @returns the signer key
 */
export async function signerKey(file: string, name: string | undefined, flags: { key: string; name: string }): Promise<NoteSignerKey> {
  const text = await readFlagText(file, flags.key, 'key');
  if (text.trimStart().startsWith('PRIVATE+KEY+')) {
    const key = await parseNoteSignerKey(text);
    if (name !== undefined && name !== key.name) throw new UsageError(`${flags.name} ${name} is not the name of the key in ${file} (${key.name})`);
    return key;
  }
  if (name === undefined) throw new UsageError(`${flags.name} is required with a PEM key (${flags.key} ${file})`);
  return noteSignerKeyFromPem(text, name, file);
}

/**
 * Read a checkpoint and verify that every given key signed it.
 * @param file - the checkpoint file
 * @param flag - its flag, for errors
 * @param keys - the keys that must all have signed it
 * @returns the checkpoint and its bytes
 * @throws ValidateLogsError `NOTE_UNVERIFIED` naming a key that did not sign it, `NOTE_FORMAT` / `CHECKPOINT_FORMAT`
 */
export async function readCheckpoint(file: string, flag: string, keys: NoteVerifierKey[]): Promise<OpenedCheckpoint & { bytes: Uint8Array }> {
  const bytes = await readFlagFile(file, flag, 'checkpoint');
  return { ...(await openCheckpoint(bytes, keys, file)), bytes };
}

/**
 * Write a file through a temporary file in the same folder, flushed to disk, then renamed into
 * place: never half-written, and an earlier file stays whole until the new one replaces it.
 * Only a regular file is replaced: a symbolic link, a FIFO or a folder there is refused.
 * @param path - the file
 * @param data - its content
 * @throws UsageError naming the file
 */
export async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeOutput(path, data);
  } catch (e) {
    if (e instanceof ValidateLogsError) throw new UsageError(e.message, { cause: e });
    throw new UsageError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** How long an authority may take to answer, in milliseconds. */
const TIMESTAMP_TIMEOUT_MS = 60_000;

/**
 * The bytes a checkpoint's time stamp covers: the note's text, the bytes its signatures sign
 * (without the blank line and the signature lines), so that a witness's line appended after
 * the token was made leaves it valid.
 * @param note - the checkpoint file's text or bytes
 * @param file - the file, for messages
 * @returns the text's bytes
 * @throws ValidateLogsError `NOTE_FORMAT` when it is no signed note
 */
export function stampedBytes(note: string | Uint8Array, file: string): Uint8Array {
  return new TextEncoder().encode(parseNote(note, file).text);
}

/**
 * Read `--tsa-cert`: a regular file, at most 1 MiB (`FLAG_FILE_BOUNDS.certificate`).
 * @param file - the file
 * @returns its text
 * @throws UsageError naming the flag and what is wrong
 */
export function readTsaCert(file: string): Promise<string> {
  return readFlagText(file, '--tsa-cert', 'certificate');
}

/**
 * Time-stamp a checkpoint at an RFC 3161 authority, for the caller to keep the token beside it
 * as `FILE.tsr`. The token covers the note's text ({@link stampedBytes}). The reply is checked
 * before it is returned, always: status granted, a DER TimeStampResp holding a token, the
 * imprint of exactly the stamped bytes, the request's nonce; with `tsaCert`, its signature and
 * chain too. A reply that fails any check is never returned.
 * @param url - the authority's URL
 * @param path - the checkpoint file, for messages
 * @param note - its text, as it is to be written
 * @param tsaCert - the TSA's certificate (PEM) file: when given, the token is verified (with
 *   the request's nonce) too
 * @returns the token (the DER TimeStampResp) and, when verified, what it says
 * @throws ValidateLogsError `TIMESTAMP_INVALID` when the authority refuses or answers badly
 */
export async function timestampNote(url: string, path: string, note: string, tsaCert?: string): Promise<{ token: Uint8Array; info?: TimestampInfo }> {
  const trusted = tsaCert === undefined ? undefined : await readTsaCert(tsaCert);
  const data = stampedBytes(note, path);
  // pkijs is loaded only by runs that time-stamp.
  const { requestTimestamp, verifyTimestamp } = await import('../checkpoint/timestamp.js');
  const { request, response } = await requestTimestamp(url, data, { signal: AbortSignal.timeout(TIMESTAMP_TIMEOUT_MS) });
  const info = trusted === undefined ? undefined : await verifyTimestamp(response, { data, nonce: request.nonce, trusted: [trusted] });
  return { token: response, ...(info && { info }) };
}

/**
 * Verify the time stamp kept beside a checkpoint (`FILE.tsr`) against a TSA certificate: it
 * must cover the note's text ({@link stampedBytes}).
 * @param path - the checkpoint file
 * @param bytes - its bytes
 * @param tsaCert - the TSA's certificate (PEM) file
 * @returns what the token says (the TSA's time among it)
 * @throws ValidateLogsError `TIMESTAMP_INVALID` naming what failed
 */
export async function verifyTimestampFile(path: string, bytes: Uint8Array, tsaCert: string): Promise<TimestampInfo> {
  const trusted = await readTsaCert(tsaCert);
  const token = await readFlagFile(`${path}.tsr`, 'the time stamp of --checkpoint', 'timestamp');
  const { verifyTimestamp } = await import('../checkpoint/timestamp.js');
  return verifyTimestamp(token, { data: stampedBytes(bytes, path), trusted: [trusted] });
}
