/**
 * The messages between the pool and its threads. Small objects travel many to a message
 * (a batch); a large object from a stream travels as `open`, `chunk`s and `end`, with an
 * `ack` back per chunk so that the sender never runs far ahead of the hashing.
 * @module
 */
import type { HashOutcome, HashRequest } from '../platform.js';

/** One object of a batch: a file the thread reads itself, or bytes sent along. */
export interface BatchJob {
  /** The job's number, unique in the pool. */
  id: number;
  /** What to compute. */
  request: HashRequest;
  /** A regular file to read (only as one: no link at its end, no blocking). */
  path?: string;
  /** The whole stored object. */
  bytes?: Uint8Array;
}

/** From the pool to a thread. */
export type ToWorker =
  | { t: 'batch'; jobs: BatchJob[] }
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

/** How one job ended. */
export type JobResult =
  | { id: number; ok: HashOutcome }
  /** The file is no regular file, or reading it failed: the caller reads it the ordinary way. */
  | { id: number; fallback: true }
  | { id: number; error: WireError }
  /** Not the object's fault: a bug or the thread's own failure. */
  | { id: number; crash: string };

/** From a thread to the pool. */
export type FromWorker = { t: 'done'; results: JobResult[] } | { t: 'ack'; id: number };
