/**
 * The storage interface every backend implements. The chain walk only ever talks to this,
 * so one walk serves a local copy and S3 alike.
 * @module
 */

/** An object as listed. */
export interface ListedObject {
  /** The key. */
  key: string;
  /** Size in bytes, when the backend knows it. */
  size?: number;
  /** Last modification (for S3: delivery) time, when the backend knows it. */
  lastModified?: Date;
}

/** An object as fetched. */
export interface FetchedObject {
  /** The stored bytes as a stream of chunks. Consume it once, fully or not at all. */
  body: AsyncIterable<Uint8Array>;
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
   */
  list(bucket: string, prefix: string, startAfter?: string): AsyncIterable<ListedObject>;
  /**
   * Fetch an object.
   * @param bucket - the bucket
   * @param key - the key
   * @param options - `metadata: true` to also read the object's user metadata
   * @returns the object, or undefined when it does not exist
   */
  get(bucket: string, key: string, options?: { metadata?: boolean }): Promise<FetchedObject | undefined>;
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
}
