/**
 * Reading and hashing one stored object, wherever the bytes are best hashed: on the
 * platform's pool, which reads a local file itself when the source can name one, or in this
 * thread. The one way the verifier and the generator read a log.
 * @module
 */
import { defaultPlatform } from '#platform';
import type { HashOutcome, HashRequest, Platform } from '../platform/platform.js';
import type { ObjectSource } from '../sources/source.js';
import { hashStream } from './hash-stream.js';

/** Options of {@link hashObject}. */
export interface HashObjectOptions extends Omit<HashRequest, 'sizeHint'> {
  /** The runtime; the default platform when omitted. */
  platform?: Platform;
}

/**
 * Read an object and hash its (gunzipped) content.
 * @param source - the storage
 * @param bucket - the bucket
 * @param key - the key
 * @param options - what to compute, a name for messages, the platform
 * @returns the outcome; undefined when the object does not exist
 * @throws ValidateLogsError `GZIP_INVALID` or `SIZE_LIMIT` about the bytes, and the source's
 *   errors (`NOT_READABLE`, `SOURCE_ERROR`, ...) about reading them
 */
export async function hashObject(source: ObjectSource, bucket: string, key: string, options: HashObjectOptions): Promise<HashOutcome | undefined> {
  const { platform = defaultPlatform, ...request } = options;
  if (platform.offload && source.file) {
    const path = await source.file(bucket, key);
    if (path !== undefined) {
      const r = await platform.offload.hashFile(path, request);
      if (r) return r;
    }
  }
  const obj = await source.get(bucket, key);
  return obj && hashStream(obj.body, { ...request, platform, ...(obj.size !== undefined && { sizeHint: obj.size }) });
}

/**
 * How many objects to have in flight: `concurrency` (reads from storage at once), or more when
 * the platform's pool reads the source's files itself; it then needs enough queued to keep
 * every thread busy with batches, and this thread does no reading.
 * @param source - the storage
 * @param platform - the runtime
 * @param concurrency - the reads the caller allows at once
 * @returns the number of objects to check at once
 */
export function objectsInFlight(source: ObjectSource, platform: Platform, concurrency: number): number {
  return platform.offload && source.file ? Math.max(concurrency, platform.offload.capacity) : concurrency;
}
