/**
 * Findings: what the verifier says about each object, as data. A closed set of codes, each
 * with a fixed severity; the CLI maps them to text, JSON and exit codes.
 * @module
 */

/**
 * Every finding code.
 *
 * Digest files: `DIGEST_VALID`; `DIGEST_NOT_FOUND` (listed or linked but absent);
 * `DIGEST_INVALID_FORMAT` (not gzip, not JSON, a field missing or of the wrong type);
 * `DIGEST_MOVED` (found at another location than the one it names);
 * `DIGEST_KEY_NOT_FOUND` (no public key with its fingerprint);
 * `DIGEST_SIGNATURE_INVALID` (the signature does not verify, or is malformed);
 * `DIGEST_SIGNATURE_MISSING` (no signature anywhere: no S3 metadata or sidecar, and no later
 * digest links to it); `DIGEST_LINK_MISMATCH` (correctly signed, but its SHA-256 or signature
 * is not what the next digest's link says: a digest of history rewritten and re-signed);
 * `DIGEST_OUT_OF_ORDER` (its end time is not before the end time of the digest linking to it);
 * `DIGEST_KEY_NOT_VALID` (signed by a key outside the key's validity window);
 * `DIGEST_ALGORITHM_UNSUPPORTED` (a signature algorithm other than SHA256withRSA, in the digest
 * or its metadata); `DIGEST_ACCOUNT_MISMATCH` (its `awsAccountId` is not the account of its key path);
 * `DIGEST_UNREADABLE` (storage kept failing while it was read, or it is no regular file: never verified);
 * `DIGEST_TIME_INVALID` (its times contradict each other or where it lies: a start after its
 * end, an end time other than the time in its name, a start that does not follow the previous
 * digest's end, a window longer than the hour a digest covers: the traces of a partial rewrite);
 * `DIGEST_UNREACHED` (listed in range, but the chain walk never reached it: a link skips it,
 * or a loop bypasses it).
 *
 * Log files: `LOG_VALID`; `LOG_NOT_FOUND`; `LOG_HASH_MISMATCH`; `LOG_INVALID_FORMAT`
 * (not one well-formed gzip stream); `LOG_HASH_ALGORITHM_UNSUPPORTED` (a digest lists it with
 * a hash algorithm other than SHA-256); `LOG_TOO_LARGE` (it inflates past the size limit, as a
 * gzip bomb does: not verified); `LOG_UNREADABLE` (storage kept failing while it was read, as
 * with connection resets or 5xx answers after every retry: never verified); `LOG_UNREFERENCED` (a log file in storage that no
 * digest lists, delivered inside the time the verified chain covers: injected, or withheld
 * from the digests; or delivered inside a gap of the chain or after the newest digest, where
 * no digest vouches for it); `LOG_DUPLICATE` (listed twice in one digest, or by two digests);
 * `LOG_MISPLACED` (a digest lists it where the trail's logs never are: a name that is not a
 * CloudTrail log name of the trail's account and region, or a delivery time outside the
 * digest's window).
 *
 * Chain: `CHAIN_GAP` (a chain restarts: no digests cover the hours in between; not a failure
 * by itself); `CHAIN_TAIL_MISSING` (log files were delivered well after the newest digest and
 * no later digest exists: the newest digests were deleted); `CHAIN_LOOP` (a link leads back to a
 * digest already walked); `CHAIN_EMPTY` (a region folder with no digest in range: a notice).
 *
 * Checkpoints (a run that starts from a pinned head, see `checkExtension`):
 * `CHECKPOINT_MISMATCH` (the pinned digest's bytes changed, or the chain from the newest digest
 * does not reach it: history rewritten from the pinned digest or before, or a link on the way
 * broken); `CHECKPOINT_ROLLBACK` (the newest digest is older than the pinned one: the tail of
 * the chain was deleted).
 *
 * Other objects: `OBJECT_UNEXPECTED` (an object under the trail's log or digest folders whose
 * name is neither a log nor a digest name of the trail's account and region: planted, or
 * misnamed; a subfolder; a digest-named object that is not a valid digest of the trail);
 * `OBJECT_UNREADABLE` (an object or folder that cannot be listed or read as a regular file: a
 * FIFO, socket or device, a symbolic link loop or one leading out of the copy, permission
 * denied).
 */
export type FindingCode =
  | 'DIGEST_VALID'
  | 'DIGEST_NOT_FOUND'
  | 'DIGEST_INVALID_FORMAT'
  | 'DIGEST_MOVED'
  | 'DIGEST_KEY_NOT_FOUND'
  | 'DIGEST_SIGNATURE_INVALID'
  | 'DIGEST_SIGNATURE_MISSING'
  | 'DIGEST_LINK_MISMATCH'
  | 'DIGEST_OUT_OF_ORDER'
  | 'DIGEST_KEY_NOT_VALID'
  | 'DIGEST_ALGORITHM_UNSUPPORTED'
  | 'DIGEST_ACCOUNT_MISMATCH'
  | 'DIGEST_UNREADABLE'
  | 'DIGEST_TIME_INVALID'
  | 'DIGEST_UNREACHED'
  | 'LOG_VALID'
  | 'LOG_NOT_FOUND'
  | 'LOG_HASH_MISMATCH'
  | 'LOG_INVALID_FORMAT'
  | 'LOG_HASH_ALGORITHM_UNSUPPORTED'
  | 'LOG_TOO_LARGE'
  | 'LOG_UNREADABLE'
  | 'LOG_UNREFERENCED'
  | 'LOG_DUPLICATE'
  | 'LOG_MISPLACED'
  | 'CHAIN_GAP'
  | 'CHAIN_TAIL_MISSING'
  | 'CHAIN_LOOP'
  | 'CHAIN_EMPTY'
  | 'CHECKPOINT_MISMATCH'
  | 'CHECKPOINT_ROLLBACK'
  | 'OBJECT_UNEXPECTED'
  | 'OBJECT_UNREADABLE';

/** `valid`: the object is proven intact; `invalid`: it is not (fails the run); `notice`: worth knowing, not a failure. */
export type Severity = 'valid' | 'invalid' | 'notice';

/** The severity of each code. */
export const FINDING_SEVERITY: Readonly<Record<FindingCode, Severity>> = Object.freeze({
  DIGEST_VALID: 'valid',
  DIGEST_NOT_FOUND: 'invalid',
  DIGEST_INVALID_FORMAT: 'invalid',
  DIGEST_MOVED: 'invalid',
  DIGEST_KEY_NOT_FOUND: 'invalid',
  DIGEST_SIGNATURE_INVALID: 'invalid',
  DIGEST_SIGNATURE_MISSING: 'invalid',
  DIGEST_LINK_MISMATCH: 'invalid',
  DIGEST_OUT_OF_ORDER: 'invalid',
  DIGEST_KEY_NOT_VALID: 'invalid',
  DIGEST_ALGORITHM_UNSUPPORTED: 'invalid',
  DIGEST_ACCOUNT_MISMATCH: 'invalid',
  DIGEST_UNREADABLE: 'invalid',
  DIGEST_TIME_INVALID: 'invalid',
  DIGEST_UNREACHED: 'invalid',
  LOG_VALID: 'valid',
  LOG_NOT_FOUND: 'invalid',
  LOG_HASH_MISMATCH: 'invalid',
  LOG_INVALID_FORMAT: 'invalid',
  LOG_HASH_ALGORITHM_UNSUPPORTED: 'invalid',
  LOG_TOO_LARGE: 'invalid',
  LOG_UNREADABLE: 'invalid',
  LOG_UNREFERENCED: 'invalid',
  LOG_DUPLICATE: 'invalid',
  LOG_MISPLACED: 'invalid',
  CHAIN_GAP: 'notice',
  CHAIN_TAIL_MISSING: 'invalid',
  CHAIN_LOOP: 'invalid',
  CHAIN_EMPTY: 'notice',
  CHECKPOINT_MISMATCH: 'invalid',
  CHECKPOINT_ROLLBACK: 'invalid',
  OBJECT_UNEXPECTED: 'invalid',
  OBJECT_UNREADABLE: 'invalid',
});

/** Every finding code, in a stable order. */
export const FINDING_CODES: readonly FindingCode[] = Object.freeze(Object.keys(FINDING_SEVERITY) as FindingCode[]);

/**
 * What each chain-level code means, in a few words for a summary line; `null` for a code about
 * one log file, one digest file or one other object being valid or not. A chain-level finding
 * is about the chain as a whole (its links, its ends, a checkpoint it must lead back to): the
 * counts of valid files cannot show it, so every surface that prints counts names these too.
 * A record over every code, so that a new code must be placed on one side or the other.
 */
export const CHAIN_LEVEL_MEANING: Readonly<Record<FindingCode, string | null>> = Object.freeze({
  DIGEST_VALID: null,
  DIGEST_NOT_FOUND: null,
  DIGEST_INVALID_FORMAT: null,
  DIGEST_MOVED: null,
  DIGEST_KEY_NOT_FOUND: null,
  DIGEST_SIGNATURE_INVALID: null,
  DIGEST_SIGNATURE_MISSING: null,
  DIGEST_LINK_MISMATCH: null,
  DIGEST_OUT_OF_ORDER: null,
  DIGEST_KEY_NOT_VALID: null,
  DIGEST_ALGORITHM_UNSUPPORTED: null,
  DIGEST_ACCOUNT_MISMATCH: null,
  DIGEST_UNREADABLE: null,
  DIGEST_TIME_INVALID: null,
  DIGEST_UNREACHED: 'digest files the chain walk never reached (a link skips them, or a loop bypasses them)',
  LOG_VALID: null,
  LOG_NOT_FOUND: null,
  LOG_HASH_MISMATCH: null,
  LOG_INVALID_FORMAT: null,
  LOG_HASH_ALGORITHM_UNSUPPORTED: null,
  LOG_TOO_LARGE: null,
  LOG_UNREADABLE: null,
  LOG_UNREFERENCED: null,
  LOG_DUPLICATE: null,
  LOG_MISPLACED: null,
  CHAIN_GAP: 'gaps in the chain: no digest covers the hours between its segments',
  CHAIN_TAIL_MISSING: 'the newest digest files were deleted: log files came after the newest digest, and no later digest exists',
  CHAIN_LOOP: 'the digest links form a loop',
  CHAIN_EMPTY: 'no digest file of this trail in range',
  CHECKPOINT_MISMATCH: 'the chain does not lead back to the digest a checkpoint pins: history rewritten after the checkpoint was taken',
  CHECKPOINT_ROLLBACK: 'the newest digests, the one a checkpoint pins included, were deleted after the checkpoint was taken',
  OBJECT_UNEXPECTED: null,
  OBJECT_UNREADABLE: null,
});

/**
 * Whether a code is about the chain as a whole, not about one file being valid or not
 * (`CHAIN_*`, `CHECKPOINT_*`, `DIGEST_UNREACHED`): see {@link CHAIN_LEVEL_MEANING}.
 * @param code - the code
 * @returns true for a chain-level code
 */
export function isChainLevel(code: FindingCode): boolean {
  return CHAIN_LEVEL_MEANING[code] !== null;
}

/** What the finding is about: a digest file, a log file, the chain, or another object found in the trail's folders. */
export type ObjectKind = 'digest' | 'log' | 'chain' | 'object';

/** One finding. */
export interface Finding {
  /** What was found. */
  code: FindingCode;
  /** Derived from `code` ({@link FINDING_SEVERITY}). */
  severity: Severity;
  /** Kind of object. */
  kind: ObjectKind;
  /** `s3://BUCKET/KEY` of the object (for a gap: of the digest that starts the later segment; for a missing tail: of the newest digest found). */
  object: string;
  /** Bucket of the object. */
  bucket: string;
  /** Key of the object. */
  key: string;
  /** A sentence for people. */
  message: string;
  /** Whether it belongs to the backfill chain. */
  backfill: boolean;
  /** The region whose chain it belongs to (set by the verifier). */
  region?: string;
  /** The expected value (a hash, a location, a fingerprint), when there is one. */
  expected?: string;
  /** The value found, when there is one. */
  actual?: string;
  /** For a log: the digest that lists it. For a missing digest: the digest that links to it. */
  digest?: string;
  /** For a digest: its `digestStartTime`; for a gap: the end of the older segment. */
  startTime?: string;
  /** For a digest: its `digestEndTime`; for a gap: the start of the newer segment. */
  endTime?: string;
  /** For a valid log: uncompressed bytes hashed. */
  size?: number;
  /** For a gap, a missing digest or a missing tail: how many log files in storage were delivered in the hours concerned. */
  logs?: number;
}

/**
 * Build a finding, deriving its severity from the code.
 * @param code - the code
 * @param fields - the rest of the finding
 * @returns the finding
 */
export function finding(code: FindingCode, fields: Omit<Finding, 'code' | 'severity'>): Finding {
  return { code, severity: FINDING_SEVERITY[code], ...fields };
}
