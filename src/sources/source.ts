/**
 * The storage interface every backend implements. The chain walk only ever talks to this,
 * so one walk serves a local copy and S3 alike.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { encodeUtf8 } from '../utils.js';

/** Longest key accepted (S3's limit is 1024 bytes of UTF-8). */
const MAX_KEY_BYTES = 1024;

/** An object as listed. */
export interface ListedObject {
  /** The key. */
  key: string;
  /** Size in bytes, when the backend knows it. */
  size?: number;
  /** Last modification (for S3: delivery) time, when the backend knows it. */
  lastModified?: Date;
  /**
   * Set when the entry is there but cannot be listed further or read as a regular file (a
   * FIFO, socket or device; a folder whose listing failed; a symbolic link loop or one leading
   * out of the root): why, in a few words. Such an entry is still yielded, so that every
   * object is accounted for; a folder's key then ends in `/`.
   */
  unreadable?: string;
}

/** Options of {@link ObjectSource.list}. */
export interface ListOptions {
  /** Give `size` and `lastModified` of each object (default: only when free). */
  details?: boolean;
}

/** An object as fetched. */
export interface FetchedObject {
  /**
   * The stored bytes as a stream of chunks. Consume it once. A chunk is valid until the next
   * one is requested (a backend may read into one buffer); copy what must be kept longer.
   */
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** S3 user metadata (without the `x-amz-meta-` prefix), when it was asked for and exists. */
  metadata?: Record<string, string>;
  /** Size in bytes, when the backend knows it. */
  size?: number;
}

/**
 * Read access to one or more buckets.
 *
 * `list` yields keys in S3's order (ascending by key); `get` resolves `undefined` when the
 * object does not exist and rejects for every other failure, so that "not found" (a finding)
 * is never confused with "could not look" (an error).
 */
export interface ObjectSource {
  /**
   * List the keys under `prefix`, in ascending order, after `startAfter` if given.
   * @param bucket - the bucket
   * @param prefix - key prefix
   * @param startAfter - only keys greater than this
   * @param options - `details: true` when `size` and `lastModified` are needed (a backend may
   *   skip finding them out otherwise)
   */
  list(bucket: string, prefix: string, startAfter?: string, options?: ListOptions): AsyncIterable<ListedObject>;
  /**
   * Optional: the same listing as {@link ObjectSource.list}, in pages (as S3 returns them), for
   * a consumer of many thousand keys: one step per page instead of one per key.
   * @param bucket - the bucket
   * @param prefix - key prefix
   * @param startAfter - only keys greater than this
   * @param options - as for `list`
   */
  listPages?(bucket: string, prefix: string, startAfter?: string, options?: ListOptions): AsyncIterable<readonly ListedObject[]>;
  /**
   * Fetch an object.
   * @param bucket - the bucket
   * @param key - the key
   * @param options - `metadata: true` to also read the object's user metadata
   * @returns the object, or undefined when it does not exist
   */
  get(bucket: string, key: string, options?: { metadata?: boolean }): Promise<FetchedObject | undefined>;
  /**
   * Optional: the paths of objects' files, for a platform whose threads read files themselves
   * (the Node platform's pool). Nothing is opened here; the reader opens each only as a regular
   * file and otherwise falls back to {@link ObjectSource.get}.
   * @param bucket - the bucket
   * @param keys - the keys
   * @returns a path for each key, in order; undefined where the object must be read with `get`
   */
  files?(bucket: string, keys: readonly string[]): Promise<Array<string | undefined>>;
  /**
   * Optional, with `files`: the folder that holds the bucket's files, for a platform's threads
   * that resolve keys there themselves, exactly as `files` resolves them (the Node platform's
   * pool, taking a whole digest: see `Offload.takeDigest`).
   * @param bucket - the bucket
   * @returns the folder; undefined when the source does not hold the bucket as files
   */
  fileRoot?(bucket: string): string | undefined;
  /**
   * Optional: the names of the folders directly under `prefix` (which ends in `/`), as S3
   * lists common prefixes with the delimiter `/`. Used to find the regions of a trail.
   * @param bucket - the bucket
   * @param prefix - the parent folder, ending in `/`
   */
  folders?(bucket: string, prefix: string): AsyncIterable<string>;
}

/** Where digests and logs are written by the generator's adapters. */
export interface ObjectSink {
  /**
   * Store an object unless one already exists at that key.
   * @param bucket - the bucket
   * @param key - the key
   * @param body - the bytes
   * @param metadata - S3 user metadata (without `x-amz-meta-`)
   * @returns true when written, false when an object already existed (nothing was changed)
   */
  putIfAbsent(bucket: string, key: string, body: Uint8Array, metadata: Record<string, string>): Promise<boolean>;
  /**
   * Optional: take the one writer's lock on a folder (a chain), for storage with no
   * conditional writes. Resolves to the function that releases it.
   * @param bucket - the bucket
   * @param folder - the folder the writer works in, ending in `/`
   * @returns the release function
   * @throws ValidateLogsError `CHAIN_CONFLICT` when another live writer holds it
   */
  lock?(bucket: string, folder: string): Promise<() => Promise<void>>;
}

/**
 * Check a key named by a digest before it is fetched: no empty, `.` or `..` segments, no
 * leading `/`, no backslash or NUL, at most 1024 bytes. CloudTrail never writes such keys;
 * they could climb out of a local copy, or be normalised by a proxy into another key.
 * @param key - the key
 * @returns the key's `/`-separated segments
 * @throws ValidateLogsError `UNSAFE_KEY`
 */
export function keySegments(key: string): string[] {
  const why =
    typeof key !== 'string' || key.length === 0
      ? 'it is empty'
      : encodeUtf8(key).byteLength > MAX_KEY_BYTES
        ? `it is longer than ${MAX_KEY_BYTES} bytes`
        : key.includes('\0')
          ? 'it contains a NUL byte'
          : key.includes('\\')
            ? 'it contains a backslash'
            : key.startsWith('/')
              ? 'it is absolute'
              : key.split('/').some((s) => s === '' || s === '.' || s === '..')
                ? 'it has an empty, "." or ".." segment'
                : undefined;
  if (why) throw new ValidateLogsError('UNSAFE_KEY', `key ${JSON.stringify(String(key).slice(0, 200))} cannot be read from a local copy: ${why}`);
  return key.split('/');
}

