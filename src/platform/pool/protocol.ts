/**
 * The messages between the pool and its threads. Small objects travel many to a message (a
 * batch), in columns (arrays of names, of hashes, of sizes: far cheaper to copy between
 * threads than an object each); a large object from a stream travels as `open`, `chunk`s and
 * `end`, with an `ack` back per chunk so that the sender never runs far ahead of the hashing.
 * @module
 */
import type { HashRequest } from '../platform.js';

/** What a batch's objects share: how to hash them. */
export type BatchRequest = Omit<HashRequest, 'what' | 'sizeHint'>;

/** Objects to hash: for each, a file path to read or the whole stored bytes, and a name for messages. */
export interface BatchMessage {
  t: 'batch';
  request: BatchRequest;
  ids: number[];
  whats: string[];
  sources: Array<string | Uint8Array>;
}

/** From the pool to a thread. */
export type ToWorker =
  | BatchMessage
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

/** How a batch (or a stream: a batch of one) ended, in the batch's order. */
export interface DoneMessage {
  t: 'done';
  ids: number[];
  /** Hex SHA-256; null where the object was not hashed (see `unhashed`). */
  sha256: Array<string | null>;
  size: number[];
  stored: number[];
  /** Event times, when asked for. */
  newest?: Array<string | null>;
  oldest?: Array<string | null>;
  unhashed: Unhashed[];
}

/** From a thread to the pool. */
export type FromWorker = DoneMessage | { t: 'ack'; id: number };
