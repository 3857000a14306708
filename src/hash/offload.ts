/**
 * What hashing on other threads offers ({@link HashOffload}), and what it computes: the
 * interface the hashing code needs, implemented by the parallel layer (`parallel/`), which
 * hands it over on the `offload` of the platform it passes in.
 * @module
 */
import type { ValidateLogsError } from '../errors.js';
import type { Platform } from '../platform/platform.js';
import type { ByteSource } from './chunks.js';

/** What to compute over an object's bytes, wherever they are hashed. */
export interface HashRequest {
  /** Gunzip first (exactly one gzip member) and hash the uncompressed bytes. */
  gzip: boolean;
  /** Fail with `SIZE_LIMIT` beyond this many (uncompressed) bytes. */
  maxBytes?: number;
  /** The object's name, for messages. */
  what: string;
  /** The stored size, when known. */
  sizeHint?: number;
  /** Also find the newest and oldest CloudTrail `eventTime` in the content. */
  eventTimes?: boolean;
  /**
   * Also give a file's modification time, where a pool thread opened the file itself
   * (`HashOutcome.modified`, from the descriptor its bytes were read through).
   */
  modified?: boolean;
}

/** A file for {@link HashOffload.hashFiles}. */
export interface HashFile {
  /** Its path. */
  path: string;
  /** Its name, for messages (an `s3://` URI). */
  what: string;
}

/** What hashing an object computed. */
export interface HashOutcome {
  /** Lower-case hex SHA-256 of the (uncompressed) content. */
  sha256: string;
  /** Bytes of (uncompressed) content. */
  size: number;
  /** Bytes read from storage (equal to `size` when not gunzipping). */
  storedSize: number;
  /** With `eventTimes`: the newest `eventTime` in the content (null when it has none). */
  newestEventTime?: string | null;
  /** With `eventTimes`: the oldest `eventTime` in the content (null when it has none). */
  oldestEventTime?: string | null;
  /**
   * With `modified`: the file's modification time in ms (as its `mtime` Date gives it), when a
   * pool thread opened the file itself; absent when the object was read another way.
   */
  modified?: number;
}

/**
 * Hashing on other threads (the parallel layer's pool, `parallel/`). The caller's thread only
 * schedules; reading (of local files), inflating, CRC-32 and SHA-256 run on the pool's
 * threads, small objects in batches (one message for many), large ones streamed with bounded
 * memory. Results and errors are the same as hashing in the caller's thread.
 */
export interface HashOffload {
  /** Threads in the pool. */
  readonly threads: number;
  /** How many objects the pool keeps busy at once: a scheduler's useful number in flight. */
  readonly capacity: number;
  /**
   * Start the threads now, so that they are ready when the first object comes (their start
   * then overlaps the caller's listing and digest reading). Idempotent; idle threads never
   * keep the process alive.
   */
  warm(): void;
  /**
   * Read and hash files on the pool's threads. Only a regular file is read (never through a
   * link at its end, never blocking); for anything else the answer is undefined, and the caller
   * reads that object the ordinary way (which names what is wrong with it).
   * @param files - each file's path, and its name for messages
   * @param request - how to hash them all
   * @returns in the order of `files`: the outcome, the `GZIP_INVALID` or `SIZE_LIMIT` error
   *   about its bytes, or undefined when it must be read the ordinary way
   * @throws Error when a thread failed (not the objects' fault)
   */
  hashFiles(files: readonly HashFile[], request: Omit<HashRequest, 'what' | 'sizeHint'>): Promise<Array<HashOutcome | ValidateLogsError | undefined>>;
  /**
   * Hash bytes that arrive on the caller's thread (an S3 body) on a pool thread: a small
   * object is gathered and sent whole, a large one is sent in chunks as they arrive.
   * @param source - the stored bytes
   * @param request - what to compute
   * @returns the outcome
   * @throws ValidateLogsError `GZIP_INVALID` or `SIZE_LIMIT`; the source's own errors
   */
  hashBytes(source: ByteSource, request: HashRequest): Promise<HashOutcome>;
}


/** A platform, with hashing on other threads when the caller set one up. */
export type OffloadPlatform = Platform & {
  /** Hashing on other threads; where absent, objects are hashed in the caller's thread. */
  readonly offload?: HashOffload | undefined;
};
