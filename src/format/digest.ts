/**
 * The digest file: parsed from its raw uncompressed bytes (kept, since every hash is over
 * them and never over re-serialised JSON), checked field by field, and written the way
 * CloudTrail writes it (compact JSON, fields in CloudTrail's order, `/` escaped as `\/`).
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { sha256Hex } from '../hash/sha256.js';
import type { Platform } from '../platform/platform.js';
import { decodeUtf8, encodeUtf8 } from '../utils.js';
import { findDuplicateKeyIn } from './json.js';
import { digestTimeMs, parseDigestTime } from './time.js';

/** One entry of a digest's `logFiles`. Field names are CloudTrail's. */
export interface DigestLogFile {
  /** Bucket of the log file. */
  s3Bucket: string;
  /** Key of the log file. */
  s3Object: string;
  /** Hex SHA-256 of the uncompressed log file. */
  hashValue: string;
  /** `SHA-256`. */
  hashAlgorithm: string;
  /** Newest event time in the log, or null. */
  newestEventTime: string | null;
  /** Oldest event time in the log, or null. */
  oldestEventTime: string | null;
}

/** The content of a digest file, field for field as CloudTrail writes it. */
export interface DigestRecord {
  /** Account the digest was delivered for. */
  awsAccountId: string;
  /** Start of the hour covered (delivery time), `YYYY-MM-DDTHH:MM:SSZ`. */
  digestStartTime: string;
  /** End of the hour covered. */
  digestEndTime: string;
  /** Bucket the digest was delivered to. */
  digestS3Bucket: string;
  /** Key the digest was delivered to. */
  digestS3Object: string;
  /** Hex MD5 of the signing public key's DER bytes. */
  digestPublicKeyFingerprint: string;
  /** `SHA256withRSA`. */
  digestSignatureAlgorithm: string;
  /** Newest event time over the listed logs, or null. */
  newestEventTime: string | null;
  /** Oldest event time over the listed logs, or null. */
  oldestEventTime: string | null;
  /** Bucket of the previous digest; null in a starting digest. */
  previousDigestS3Bucket: string | null;
  /** Key of the previous digest; null in a starting digest. */
  previousDigestS3Object: string | null;
  /** Hex SHA-256 of the previous digest's uncompressed bytes; null in a starting digest. */
  previousDigestHashValue: string | null;
  /** `SHA-256`; null in a starting digest. */
  previousDigestHashAlgorithm: string | null;
  /** Hex signature of the previous digest; null in a starting digest. */
  previousDigestSignature: string | null;
  /** The log files delivered in the hour. */
  logFiles: DigestLogFile[];
}

/** A digest file as read: its bytes, their hash, and the checked content. */
export interface ParsedDigest {
  /** The uncompressed bytes exactly as stored. */
  readonly bytes: Uint8Array;
  /** Hex SHA-256 of `bytes`. */
  readonly sha256: string;
  /** The content. */
  readonly record: DigestRecord;
  /** `digestStartTime` as a Date. */
  readonly startTime: Date;
  /** `digestEndTime` as a Date. */
  readonly endTime: Date;
  /** True for a starting digest (the five `previousDigest*` fields null). */
  readonly isStarting: boolean;
}

const PREVIOUS_FIELDS = [
  'previousDigestS3Bucket',
  'previousDigestS3Object',
  'previousDigestHashValue',
  'previousDigestHashAlgorithm',
  'previousDigestSignature',
] as const;

const REQUIRED_STRINGS = [
  'awsAccountId',
  'digestStartTime',
  'digestEndTime',
  'digestS3Bucket',
  'digestS3Object',
  'digestPublicKeyFingerprint',
  'digestSignatureAlgorithm',
] as const;

/** Whether a text is 64 hex digits (a loop: for the many hashes of a digest, several times faster than a regex). */
function isHash(text: string): boolean {
  if (text.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) return false;
  }
  return true;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parse and check a digest file from its raw uncompressed bytes.
 *
 * Checks: UTF-8, JSON, an object with every field of {@link DigestRecord} of the right type,
 * times in CloudTrail's form, hash values of 64 hex digits, and the all-or-none rule of the
 * five `previousDigest*` fields. Extra fields are allowed (CloudTrail may add some).
 *
 * @param bytes - the uncompressed digest bytes
 * @param what - the object's name for error messages (its `s3://` URI)
 * @param platform - the runtime's SHA-256; the default platform when omitted
 * @returns the parsed digest, keeping `bytes`
 * @throws ValidateLogsError `DIGEST_FORMAT` naming the field that is wrong
 */
export function parseDigest(bytes: Uint8Array, what = 'digest', platform?: Platform): ParsedDigest {
  const fail = (why: string, cause?: unknown): never => {
    throw new ValidateLogsError('DIGEST_FORMAT', `${what}: ${why}`, cause === undefined ? {} : { cause });
  };
  const text = decodeUtf8(bytes, what);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`not valid JSON (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (!isObject(json)) return fail('not a JSON object');
  const duplicate = findDuplicateKeyIn(text, json);
  if (duplicate) return fail(`field "${duplicate.key}" appears twice in ${duplicate.path}: a reader would see only one of them`);
  const str = (obj: Json, field: string, path: string): string => {
    const v = obj[field];
    if (typeof v !== 'string') fail(`field "${path}" must be a string, got ${v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 40)}`);
    return v as string;
  };
  const strOrNull = (obj: Json, field: string, path: string): string | null => {
    if (!(field in obj)) fail(`field "${path}" is missing`);
    const v = obj[field];
    if (v !== null && typeof v !== 'string') fail(`field "${path}" must be a string or null`);
    return v as string | null;
  };
  for (const f of REQUIRED_STRINGS) str(json, f, f);
  const startTime = parseTimeField(str(json, 'digestStartTime', 'digestStartTime'), 'digestStartTime', fail);
  const endTime = parseTimeField(str(json, 'digestEndTime', 'digestEndTime'), 'digestEndTime', fail);
  for (const f of ['newestEventTime', 'oldestEventTime']) {
    const v = strOrNull(json, f, f);
    if (v !== null) parseTimeField(v, f, fail);
  }
  const present = PREVIOUS_FIELDS.filter((f) => json[f] !== null && json[f] !== undefined);
  if (present.length !== 0 && present.length !== PREVIOUS_FIELDS.length) {
    fail(
      `the previousDigest* fields must be all null or all set; set: ${present.join(', ') || 'none'}, ` +
        `null: ${PREVIOUS_FIELDS.filter((f) => !present.includes(f)).join(', ')}`,
    );
  }
  for (const f of PREVIOUS_FIELDS) strOrNull(json, f, f);
  if (present.length > 0 && !isHash(json.previousDigestHashValue as string)) {
    fail('field "previousDigestHashValue" must be 64 hex digits');
  }
  const logs = json.logFiles;
  if (!Array.isArray(logs)) return fail('field "logFiles" must be an array');
  // A digest lists thousands of logs: each entry is checked with no allocation, and only one
  // that fails a check is looked at again, field by field, to say what is wrong with it.
  const entryTime = (e: Json, f: 'newestEventTime' | 'oldestEventTime', i: number): void => {
    const v = e[f];
    if (v === null || (typeof v === 'string' && digestTimeMs(v) !== undefined)) return;
    const path = `logFiles[${i}].${f}`;
    const text = strOrNull(e, f, path);
    if (text !== null) parseTimeField(text, path, fail);
  };
  for (let i = 0; i < logs.length; i++) {
    const entry: unknown = logs[i];
    if (!isObject(entry)) fail(`"logFiles[${i}]" must be an object`);
    const e = entry as Json;
    if (typeof e.s3Bucket !== 'string' || typeof e.s3Object !== 'string' || typeof e.hashValue !== 'string' || typeof e.hashAlgorithm !== 'string') {
      for (const f of ['s3Bucket', 's3Object', 'hashValue', 'hashAlgorithm']) str(e, f, `logFiles[${i}].${f}`);
    }
    entryTime(e, 'newestEventTime', i);
    entryTime(e, 'oldestEventTime', i);
    if (e.hashAlgorithm === 'SHA-256' && !isHash(e.hashValue as string)) {
      fail(`field "logFiles[${i}].hashValue" must be 64 hex digits`);
    }
  }
  return {
    bytes,
    sha256: sha256Hex(bytes, platform),
    record: json as unknown as DigestRecord,
    startTime,
    endTime,
    isStarting: present.length === 0,
  };
}

/**
 * A digest parsed and checked elsewhere (by {@link parseDigest}, on a pool thread) from these
 * bytes: the value {@link parseDigest} gives, but for `record.logFiles`, which is parsed again
 * from the bytes only when it is asked for (the thread checked the entries).
 * @param bytes - the uncompressed digest bytes it was parsed from
 * @param sha256 - their hex SHA-256
 * @param header - its record without `logFiles`, as parsed
 * @param what - the object's name for error messages
 * @param platform - the runtime's SHA-256, for parsing `logFiles` when asked for
 * @returns the parsed digest
 */
export function parsedDigestFrom(bytes: Uint8Array, sha256: string, header: Omit<DigestRecord, 'logFiles'>, what: string, platform?: Platform): ParsedDigest {
  let logFiles: DigestLogFile[] | undefined;
  const record = { ...header } as DigestRecord;
  Object.defineProperty(record, 'logFiles', {
    enumerable: true,
    configurable: true,
    get: () => (logFiles ??= parseDigest(bytes, what, platform).record.logFiles),
  });
  return {
    bytes,
    sha256,
    record,
    startTime: parseDigestTime(header.digestStartTime, 'digestStartTime'),
    endTime: parseDigestTime(header.digestEndTime, 'digestEndTime'),
    isStarting: PREVIOUS_FIELDS.every((f) => header[f] === null || header[f] === undefined),
  };
}

function parseTimeField(value: string, field: string, fail: (why: string, cause?: unknown) => never): Date {
  try {
    return parseDigestTime(value, field);
  } catch (e) {
    return fail(`field "${field}" is not a time of the form YYYY-MM-DDTHH:MM:SSZ: ${JSON.stringify(value)}`, e);
  }
}

/**
 * Write a digest record as CloudTrail does: compact JSON, CloudTrail's field order, `/`
 * escaped as `\/` (Java's JSON writer). The result is deterministic for a given record, and
 * the same bytes as `JSON.stringify` of the record in that order with every `/` escaped.
 * @param record - the content
 * @returns the uncompressed digest bytes
 */
export function serializeDigest(record: DigestRecord): Uint8Array {
  const header = {
    awsAccountId: record.awsAccountId,
    digestStartTime: record.digestStartTime,
    digestEndTime: record.digestEndTime,
    digestS3Bucket: record.digestS3Bucket,
    digestS3Object: record.digestS3Object,
    digestPublicKeyFingerprint: record.digestPublicKeyFingerprint,
    digestSignatureAlgorithm: record.digestSignatureAlgorithm,
    newestEventTime: record.newestEventTime,
    oldestEventTime: record.oldestEventTime,
    previousDigestS3Bucket: record.previousDigestS3Bucket,
    previousDigestS3Object: record.previousDigestS3Object,
    previousDigestHashValue: record.previousDigestHashValue,
    previousDigestHashAlgorithm: record.previousDigestHashAlgorithm,
    previousDigestSignature: record.previousDigestSignature,
  };
  // The header as JSON.stringify writes it, without its closing brace; then the entries, which
  // are nearly all of a digest, written straight into bytes.
  const logFiles = record.logFiles;
  const out = new JsonBytes(1024 + 400 * logFiles.length);
  out.bytes(encodeUtf8(escapeSlashes(JSON.stringify(header)).slice(0, -1)));
  out.bytes(LOG_FILES);
  for (let i = 0; i < logFiles.length; i++) {
    if (i > 0) out.byte(COMMA);
    logFileJson(out, logFiles[i]!);
  }
  out.bytes(END);
  return out.done();
}

/** '/' occurs in JSON only inside strings, so a global replace escapes exactly those. */
const escapeSlashes = (json: string): string => json.replaceAll('/', '\\/');

const LOG_FILES = encodeUtf8(',"logFiles":[');
const END = encodeUtf8(']}');
const COMMA = 0x2c;
const ENTRY_FIELDS = ['s3Bucket', 's3Object', 'hashValue', 'hashAlgorithm', 'newestEventTime', 'oldestEventTime'] as const;
const ENTRY_NAMES = ENTRY_FIELDS.map((f, i) => encodeUtf8(`${i === 0 ? '{' : ','}"${f}":`));
const NULL = encodeUtf8('null');

/** One `logFiles` entry, as JSON.stringify writes it with `/` escaped. */
function logFileJson(out: JsonBytes, l: DigestLogFile): void {
  for (let f = 0; f < ENTRY_FIELDS.length; f++) {
    const v = l[ENTRY_FIELDS[f]!];
    if (typeof v !== 'string' && v !== null) {
      // (Not a DigestLogFile's type, from untyped code: JSON.stringify decides.)
      const entry = {
        s3Bucket: l.s3Bucket,
        s3Object: l.s3Object,
        hashValue: l.hashValue,
        hashAlgorithm: l.hashAlgorithm,
        newestEventTime: l.newestEventTime,
        oldestEventTime: l.oldestEventTime,
      };
      out.bytes(encodeUtf8(escapeSlashes(JSON.stringify(entry) ?? 'null')));
      return;
    }
  }
  for (let f = 0; f < ENTRY_FIELDS.length; f++) {
    out.bytes(ENTRY_NAMES[f]!);
    const v = l[ENTRY_FIELDS[f]!];
    if (v === null) out.bytes(NULL);
    else out.string(v);
  }
  out.byte(0x7d); // }
}

/** Scratch space of the last {@link JsonBytes} (one allocation a digest is its result). */
let scratch: Uint8Array = new Uint8Array(0);
/** Scratch space larger than this is not kept. */
const SCRATCH_KEPT = 4 << 20;

/** A growing buffer of JSON bytes, in scratch space until it is done. */
class JsonBytes {
  #buf: Uint8Array;
  #at = 0;
  constructor(size: number) {
    this.#buf = scratch.length >= size ? scratch : new Uint8Array(size);
    scratch = new Uint8Array(0); // (taken: a JsonBytes made before this one is done has its own)
  }
  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#at + n));
    grown.set(this.#buf.subarray(0, this.#at));
    this.#buf = grown;
  }
  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#at++] = b;
  }
  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.#at);
    this.#at += b.length;
  }
  /**
   * A JSON string as JSON.stringify writes it, `/` escaped: printable ASCII byte by byte, a
   * string with anything else through JSON.stringify.
   */
  string(s: string): void {
    this.#room(2 * s.length + 2);
    const buf = this.#buf;
    let at = this.#at;
    buf[at++] = 0x22; // "
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x2f) {
        buf[at++] = 0x5c; // \
        buf[at++] = 0x2f;
      } else if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) {
        buf[at++] = c;
      } else {
        this.bytes(encodeUtf8(escapeSlashes(JSON.stringify(s))));
        return;
      }
    }
    buf[at++] = 0x22;
    this.#at = at;
  }
  /** The bytes written, in a buffer of their size. */
  done(): Uint8Array {
    const out = this.#buf.slice(0, this.#at);
    if (this.#buf.length <= SCRATCH_KEPT && this.#buf.length > scratch.length) scratch = this.#buf;
    return out;
  }
}
