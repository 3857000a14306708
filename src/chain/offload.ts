/**
 * What the walk needs from a pool of threads: hashing ({@link HashOffload}) and taking a whole
 * digest of a local copy ({@link Offload.takeDigest}). The walk defines it; the parallel
 * layer (`parallel/`) implements it, and the entry points hand it over on the `offload` of the
 * platform they pass in.
 * @module
 */
import type { DigestLogFile, DigestRecord } from '../format/digest.js';
import type { TrailRef } from '../format/keys.js';
import type { HashOffload } from '../hash/offload.js';
import type { Platform } from '../platform/platform.js';
import type { Finding } from './findings.js';

/**
 * A digest for {@link Offload.takeDigest}: where it lies in a local copy, and how to check
 * what it lists. The thread reads the digest and its metadata sidecar there itself.
 */
export interface DigestJob {
  /** The bucket it is in (its logs must be in it). */
  bucket: string;
  /** Its key. */
  key: string;
  /** Whether it belongs to the backfill chain. */
  backfill: boolean;
  /** The trail and region whose logs it lists. */
  trail: TrailRef;
  /** The folder of the local copy holding `bucket`: keys are resolved in it as the copy resolves them. */
  root: string;
  /** Cap on the digest's uncompressed size. */
  maxDigestBytes: number;
  /** Cap on a log's uncompressed size. */
  maxBytes: number;
  /** Read and judge the logs it lists; false to parse it only. */
  check: boolean;
}

/**
 * A digest parsed, and what it lists checked, on a pool thread. Entries are in the digest's
 * order, in columns: a valid log is only its size; every other verdict is a finding.
 */
export interface CheckedDigest {
  /** It was read and parsed as a digest. */
  parsed: true;
  /** Its uncompressed bytes, as the thread read them (moved to the caller's thread, not copied). */
  bytes: Uint8Array;
  /** Its S3 user metadata, from its sidecar, keys in lower case. */
  metadata: Record<string, string>;
  /** Lower-case hex SHA-256 of its bytes. */
  sha256: string;
  /** Its content, but for `logFiles`. */
  header: Omit<DigestRecord, 'logFiles'>;
  /** Each entry's `s3Object`. */
  keys: string[];
  /** Entries that name another bucket than the digest's: their place and that bucket. */
  foreign: Array<[number, string]>;
  /** Whether its logs were read and judged (`sizes`, `findings` and `back` are empty when not). */
  checked: boolean;
  /** Each entry's content size when it is a valid log; -1 otherwise. */
  sizes: Float64Array;
  /** The finding about each entry that is neither valid nor in `back`, by its place. */
  findings: Array<[number, Finding]>;
  /**
   * Entries the caller checks on its own thread, by their place: a key that is no plain file
   * path in the copy, a file that is no regular file (a link, a FIFO), a read that failed in a
   * way worth retrying.
   */
  back: Array<[number, DigestLogFile]>;
}

/**
 * What {@link Offload.takeDigest} found: the checked digest, or that the thread left it to
 * the caller (which reads it the ordinary way and says what is wrong).
 */
export type DigestCheck = CheckedDigest | {
  /**
   * False: the digest or its sidecar is not a regular file that reads whole within its cap
   * (absent, a link, a FIFO, too large, a failed read), or its bytes are no gzip of a digest.
   */
  parsed: false;
};

/** A pool of threads that hashes objects and takes whole digests of a local copy. */
export interface Offload extends HashOffload {
  /**
   * Take a whole digest of a local copy on a pool thread: read it and its metadata sidecar
   * (only as regular files, as the copy reads them), gunzip and parse it, then read, hash and
   * judge each log it lists, with the same code and the same verdicts as the caller's thread
   * (`checkLog`). A digest of thousands of small logs then costs the caller's thread one
   * message, not thousands of steps, and no read of its own.
   * @param job - where the digest is and how to check it
   * @returns the checked digest, or `{ parsed: false }` when the caller is to read it
   * @throws Error when a thread failed, and the error that stops a run where a log's read met
   *   an error that says nothing about the log
   */
  takeDigest(job: DigestJob): Promise<DigestCheck>;
}

/** A platform, with a pool of threads when the caller set one up. */
export type PooledPlatform = Platform & {
  /** The pool; where absent, everything runs on the caller's thread. */
  readonly offload?: Offload | undefined;
};
