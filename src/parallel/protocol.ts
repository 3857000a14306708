/**
 * The messages between the pool and its threads. Small objects travel many to a message (a
 * batch), in columns (arrays of paths, of hashes, of sizes: far cheaper to copy between
 * threads than an object each); a large object from a stream travels as `open`, `chunk`s and
 * `end`, with an `ack` back per chunk so that the sender never runs far ahead of the hashing.
 * @module
 */
import type { DigestCheck, DigestJob } from '../chain/offload.js';
import type { HashRequest } from '../hash/offload.js';

/** What a batch's objects share: how to hash them. */
export type BatchRequest = Omit<HashRequest, 'what' | 'sizeHint'>;

/**
 * How a thread names an object of a batch in its messages: the pool puts the object's name in
 * its place. Names stay with the pool (one `s3://` URI per object would double what a batch of
 * small files carries between threads), and only a message about an object needs one.
 */
export const OBJECT_NAME = '\u0000object\u0000';

/**
 * Objects to hash: for each, a file path to read or the whole stored bytes (named
 * {@link OBJECT_NAME} in messages). A batch's files nearly always share a folder: its path is
 * sent once, as `folder`, and each file's path is `folder` followed by its string in `sources`.
 */
export interface BatchMessage {
  t: 'batch';
  /** The batch's id, which its answer gives back. */
  id: number;
  request: BatchRequest;
  folder: string;
  sources: Array<string | Uint8Array>;
}

/** A digest to take whole: parsed, and the logs it lists read, hashed and judged. */
export interface DigestMessage {
  t: 'digest';
  /** The job's id, which its answer gives back. */
  id: number;
  job: DigestJob;
}

/** From the pool to a thread. */
export type ToWorker =
  | BatchMessage
  | DigestMessage
  | { t: 'open'; id: number; request: HashRequest }
  | { t: 'chunk'; id: number; bytes: Uint8Array }
  | { t: 'end'; id: number }
  | { t: 'abort'; id: number };

/** A ValidateLogsError, across threads. */
export interface WireError {
  code: string;
  message: string;
  transient: boolean;
}

/** An object of a batch that was not hashed. */
export interface Unhashed {
  /** Its place in the batch. */
  i: number;
  /** No regular file, or reading it failed: the caller reads it the ordinary way. */
  fallback?: true;
  /** What is wrong with its bytes. */
  error?: WireError;
  /** Not the object's fault: a bug or the thread's own failure. */
  crash?: string;
}

/** How a batch (or a stream: a batch of one) ended, its objects in the batch's order. */
export interface DoneMessage {
  t: 'done';
  /** The batch's or the stream's id. */
  id: number;
  /** Hex SHA-256; null where the object was not hashed (see `unhashed`). */
  sha256: Array<string | null>;
  size: number[];
  stored: number[];
  /** Event times, when asked for. */
  newest?: Array<string | null>;
  oldest?: Array<string | null>;
  /** Files' modification times (ms), when asked for; NaN where there is none. */
  modified?: number[];
  unhashed: Unhashed[];
}

/** How a digest job ended: its result, the error that stops the run, or the thread's own failure. */
export interface DigestDoneMessage {
  t: 'digest-done';
  /** The job's id. */
  id: number;
  result?: DigestCheck;
  error?: WireError;
  crash?: string;
}

/** From a thread to the pool. */
export type FromWorker = DoneMessage | DigestDoneMessage | { t: 'ack'; id: number };
