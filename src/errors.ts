/**
 * The library's one domain error class. Misuse of the API (a wrong argument type or an
 * out-of-range option) throws the built-in `TypeError` or `RangeError`; everything that comes
 * from the data or the environment throws {@link ValidateLogsError} with a stable `code`.
 * @module
 */

/**
 * Closed set of error codes carried by {@link ValidateLogsError}.
 *
 * - `GZIP_INVALID`: bytes are not one well-formed gzip member (bad header, corrupt deflate
 *   data, CRC or length mismatch, truncated, or data after the end of the stream).
 * - `SIZE_LIMIT`: an object inflates to more bytes than the caller allowed.
 * - `DIGEST_FORMAT`: a digest file is not valid JSON of the CloudTrail digest shape.
 * - `KEY_INVALID`: a public or private key cannot be parsed or is not an acceptable RSA (or,
 *   for checkpoints, Ed25519) key.
 * - `KEY_LIST_INVALID`: a public key list (the `list-public-keys` JSON) is malformed.
 * - `METADATA_INVALID`: an object's user metadata (or its `.metadata.json` sidecar) is malformed.
 * - `SIGNATURE_INVALID`: a signature is not hex of the right length.
 * - `KEY_FORMAT`: an S3 object key does not have the shape CloudTrail gives it.
 * - `UNSAFE_KEY`: an object key would resolve outside the storage root.
 * - `TIME_INVALID`: a time value cannot be parsed or is out of range.
 * - `SOURCE_ERROR`: the storage backend failed (I/O error, ...).
 * - `NOT_READABLE`: an object or folder exists but cannot be read as a regular file: a FIFO,
 *   socket or device, a symbolic link loop or one leading out of the storage root, permission
 *   denied. Never transient; a finding about that object, never a stop of the run.
 * - `CHAIN_CONFLICT`: a generator would overwrite or fork an existing chain.
 * - `NOTE_FORMAT`: a signed note, or a note key in text form, is malformed (C2SP signed-note).
 * - `NOTE_UNVERIFIED`: a signed note lacks a valid signature from a key it must carry.
 * - `CHECKPOINT_FORMAT`: a checkpoint body does not follow its grammar.
 * - `TIMESTAMP_INVALID`: an RFC 3161 time-stamp response or token fails a check (the message
 *   names which), or the time-stamping authority refused or could not be reached.
 * - `SHARD_INVALID`: a shard manifest line or a shard report is malformed, or the reports of
 *   one chain do not fit together (different plans, windows that do not join).
 * - `SHARD_MISSING`: a shard of the plan has no report, so the chain cannot be merged.
 * - `OUTPUT_UNSAFE`: a write would leave the folder it is written to (a symbolic link on its
 *   path below that folder) or replace what is not a regular file (a link, a FIFO, a folder);
 *   nothing was written there. Never a finding about an object: it stops the run.
 * - `STATE_INVALID`: a watcher's stored state or history is not what it wrote (malformed, too
 *   large, not a regular file, or the state of another trail, bucket or account).
 * - `STATE_CONFLICT`: another watcher wrote the state first (a conditional write failed);
 *   nothing was written.
 * - `ALERT_FAILED`: an alert could not be delivered to a destination after its retries.
 */
export type ErrorCode =
  | 'GZIP_INVALID'
  | 'SIZE_LIMIT'
  | 'DIGEST_FORMAT'
  | 'KEY_INVALID'
  | 'KEY_LIST_INVALID'
  | 'METADATA_INVALID'
  | 'SIGNATURE_INVALID'
  | 'KEY_FORMAT'
  | 'UNSAFE_KEY'
  | 'TIME_INVALID'
  | 'SOURCE_ERROR'
  | 'NOT_READABLE'
  | 'CHAIN_CONFLICT'
  | 'NOTE_FORMAT'
  | 'NOTE_UNVERIFIED'
  | 'CHECKPOINT_FORMAT'
  | 'TIMESTAMP_INVALID'
  | 'SHARD_INVALID'
  | 'SHARD_MISSING'
  | 'OUTPUT_UNSAFE'
  | 'STATE_INVALID'
  | 'STATE_CONFLICT'
  | 'ALERT_FAILED';

/**
 * Error raised for bad data or a failing environment, never for API misuse.
 *
 * @example
 * ```ts
 * try { parseDigest(bytes); }
 * catch (e) { if (e instanceof ValidateLogsError && e.code === 'DIGEST_FORMAT') console.log(e.message); }
 * ```
 */
export class ValidateLogsError extends Error {
  /** Stable machine-readable code; see {@link ErrorCode}. */
  readonly code: ErrorCode;
  /** True for a failure that may pass if tried again (a connection reset, a 5xx, throttling). */
  readonly transient: boolean;
  /** Always `ValidateLogsError`. */
  override readonly name: string = 'ValidateLogsError';

  /**
   * @param code - one of {@link ErrorCode}
   * @param message - a sentence naming the object and what was wrong
   * @param options - optional `cause`, and `transient` for a failure worth another try
   */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; transient?: boolean }) {
    super(message, options?.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
    this.transient = options?.transient ?? false;
  }
}

/**
 * True when `e` is a {@link ValidateLogsError}, optionally with one of the given codes.
 * @param e - any thrown value
 * @param codes - codes to accept; all codes when omitted
 * @returns whether `e` is such an error
 */
export function isValidateLogsError(e: unknown, ...codes: ErrorCode[]): e is ValidateLogsError {
  return e instanceof ValidateLogsError && (codes.length === 0 || codes.includes(e.code));
}
