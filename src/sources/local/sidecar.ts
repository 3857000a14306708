/**
 * The local copy's own files beside its objects. An object's S3 user metadata lives beside it
 * in `<key>.metadata.json`, the JSON object `aws s3api head-object --query Metadata` prints; a
 * writer keeps its lock (`.write-digests.lock`) and its temporary files
 * (`<name>.tmp-<pid>-<12 hex>`) in the folder it writes.
 * @module
 */
import { ValidateLogsError } from '../../errors.js';
import { findDuplicateKey } from '../../format/json.js';

/** Suffix of the file holding an object's S3 user metadata. */
export const METADATA_SUFFIX = '.metadata.json';

/** Largest metadata sidecar read (S3 allows 2 KB of user metadata). */
export const MAX_METADATA_BYTES: number = 64 * 1024;

/** Name of a chain folder's writer lock. */
export const LOCK_NAME: string = '.write-digests.lock';

/** Temporary files of a write in progress: `<name>.tmp-<pid>-<12 hex>`; the pid is captured. */
export const TEMPORARY_RE: RegExp = /\.tmp-(\d+)-[0-9a-f]{12}$/;

/**
 * True for the name of one of the copy's own files (a metadata sidecar, a writer's lock or
 * temporary file), which is not an object.
 * @param name - a file name
 * @returns whether it is one
 */
export function isLayoutFile(name: string): boolean {
  return name.endsWith(METADATA_SUFFIX) || name === LOCK_NAME || TEMPORARY_RE.test(name);
}

/**
 * The sidecar's name for an object's key.
 * @param key - the object's key
 * @returns the key of its metadata sidecar
 */
export function sidecarKey(key: string): string {
  return key + METADATA_SUFFIX;
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Parse a metadata sidecar's bytes as read ({@link parseMetadata} of its UTF-8 text, a byte
 * order mark kept, so that JSON refuses it).
 * @param bytes - the file's bytes
 * @param what - the file's name for error messages
 * @returns the metadata, keys in lower case
 * @throws ValidateLogsError `METADATA_INVALID` when it is larger than {@link MAX_METADATA_BYTES} or malformed
 */
export function parseMetadataBytes(bytes: Uint8Array, what: string): Record<string, string> {
  if (bytes.byteLength > MAX_METADATA_BYTES) throw metadataTooLarge(what);
  return parseMetadata(utf8.decode(bytes), what);
}

/**
 * The error about a sidecar larger than {@link MAX_METADATA_BYTES}.
 * @param what - the file's name
 * @returns the error (`METADATA_INVALID`)
 */
export function metadataTooLarge(what: string): ValidateLogsError {
  return new ValidateLogsError('METADATA_INVALID', `${what}: larger than ${MAX_METADATA_BYTES} bytes`);
}

/**
 * Parse S3 user metadata as `aws s3api head-object --query Metadata` prints it: a JSON object
 * of string values. Metadata keys are case-insensitive (S3 stores them in lower case), so a
 * key given twice in any case is refused: `signature` beside `Signature` would let a reader
 * and a writer see different signatures.
 * @param text - the JSON text
 * @param what - the file's name for error messages
 * @returns the metadata, keys in lower case
 * @throws ValidateLogsError `METADATA_INVALID` naming the file and the key
 */
export function parseMetadata(text: string, what: string): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ValidateLogsError('METADATA_INVALID', `${what}: not valid JSON (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ValidateLogsError('METADATA_INVALID', `${what}: expected a JSON object of metadata strings`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate) throw new ValidateLogsError('METADATA_INVALID', `${what}: "${duplicate.key}" appears twice`);
  const entries: Array<[string, string]> = [];
  const seen = new Map<string, string>();
  for (const [k, v] of Object.entries(json)) {
    if (typeof v !== 'string') throw new ValidateLogsError('METADATA_INVALID', `${what}: value of "${k}" must be a string`);
    const lower = k.toLowerCase();
    const earlier = seen.get(lower);
    if (earlier !== undefined) {
      throw new ValidateLogsError('METADATA_INVALID', `${what}: "${earlier}" and "${k}" are one metadata key (keys are case-insensitive)`);
    }
    seen.set(lower, k);
    entries.push([lower, v]);
  }
  return Object.fromEntries(entries);
}

/**
 * The sidecar text of an object's metadata, as {@link parseMetadata} reads it back.
 * @param metadata - S3 user metadata (without `x-amz-meta-`)
 * @returns the JSON text, ending in a newline
 */
export function formatMetadata(metadata: Record<string, string>): string {
  return JSON.stringify(metadata, null, 2) + '\n';
}
