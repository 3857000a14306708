/**
 * A digest's S3 user metadata as a local copy keeps it: `<key>.metadata.json` beside the
 * object, holding the JSON object `aws s3api head-object --query Metadata` prints.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { findDuplicateKey } from './json.js';

/** Suffix of the file holding an object's S3 user metadata. */
export const METADATA_SUFFIX = '.metadata.json';

/** Largest metadata sidecar read. */
export const MAX_METADATA_BYTES: number = 64 * 1024;

/**
 * Parse S3 user metadata as `aws s3api head-object --query Metadata` prints it: a JSON object
 * of string values.
 * @param text - the JSON text
 * @param what - the file's name for error messages
 * @returns the metadata
 * @throws ValidateLogsError `METADATA_INVALID`
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
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(json)) {
    if (typeof v !== 'string') throw new ValidateLogsError('METADATA_INVALID', `${what}: value of "${k}" must be a string`);
    out[k.toLowerCase()] = v;
  }
  return out;
}
