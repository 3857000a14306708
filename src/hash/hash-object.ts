/**
 * Reading and hashing one stored object, wherever the bytes are best hashed: on the
 * platform's pool, which reads a local file itself when the source can name one, or in this
 * thread. The one way the verifier and the generator read a log.
 * @module
 */
import { defaultPlatform } from '#platform';
import { ValidateLogsError } from '../errors.js';
import { s3Uri } from '../format/keys.js';
import type { HashOutcome, HashRequest, OffloadPlatform } from './offload.js';
import type { ObjectSource } from '../sources/source.js';
import { hashStream } from './hash-stream.js';

/** Options of {@link hashObject} (an object's name in messages is its `s3://` URI). */
export interface HashObjectOptions extends Omit<HashRequest, 'sizeHint' | 'what'> {
  /** The runtime; the default platform when omitted. */
  platform?: OffloadPlatform;
}

/**
 * Read an object and hash its (gunzipped) content.
 * @param source - the storage
 * @param bucket - the bucket
 * @param key - the key
 * @param options - what to compute, the platform
 * @returns the outcome; undefined when the object does not exist
 * @throws ValidateLogsError `GZIP_INVALID` or `SIZE_LIMIT` about the bytes, and the source's
 *   errors (`NOT_READABLE`, `SOURCE_ERROR`, ...) about reading them
 */
export async function hashObject(source: ObjectSource, bucket: string, key: string, options: HashObjectOptions): Promise<HashOutcome | undefined> {
  const [r] = await hashObjects(source, bucket, [key], options);
  if (r instanceof Error) throw r;
  return r;
}

/**
 * Read objects and hash their (gunzipped) content: on the platform's pool, in batches, those
 * the source has as files; the others one at a time.
 * @param source - the storage
 * @param bucket - the bucket
 * @param keys - the keys
 * @param options - what to compute, the platform
 * @returns for each key, in order: the outcome, undefined when the object does not exist, or
 *   the `ValidateLogsError` about it (`GZIP_INVALID`, `SIZE_LIMIT`, `NOT_READABLE`, ...)
 * @throws the errors that say nothing about one object (a pool thread that failed, bugs)
 */
export async function hashObjects(source: ObjectSource, bucket: string, keys: readonly string[], options: HashObjectOptions): Promise<Array<HashOutcome | ValidateLogsError | undefined>> {
  const { platform = defaultPlatform as OffloadPlatform, ...request } = options;
  const name = (key: string): string => s3Uri(bucket, key);
  const out = new Array<HashOutcome | ValidateLogsError | undefined>(keys.length);
  const left = keys.map((_, i) => i);
  let rest = left;
  if (platform.offload && source.files) {
    const paths = await source.files(bucket, keys);
    const files = left.filter((i) => paths[i] !== undefined);
    const hashed = await platform.offload.hashFiles(
      files.map((i) => ({ path: paths[i]!, what: name(keys[i]!) })),
      request,
    );
    files.forEach((i, j) => (out[i] = hashed[j]));
    rest = left.filter((i) => out[i] === undefined);
  }
  for (const i of rest) {
    try {
      const obj = await source.get(bucket, keys[i]!);
      out[i] = obj && (await hashStream(obj.body, { ...request, what: name(keys[i]!), platform, ...(obj.size !== undefined && { sizeHint: obj.size }) }));
    } catch (e) {
      if (!(e instanceof ValidateLogsError)) throw e;
      out[i] = e;
    }
  }
  return out;
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
export function objectsInFlight(source: ObjectSource, platform: OffloadPlatform, concurrency: number): number {
  return readsInGroups(source, platform) ? Math.max(concurrency, platform.offload!.capacity) : concurrency;
}

/** Objects read together by {@link hashObjects} when its pool reads the files (one call for many). */
export const OBJECT_GROUP = 64;

/**
 * Whether objects are best read in groups ({@link hashObjects} with up to {@link OBJECT_GROUP}
 * keys): when the platform's pool reads the source's files itself. Otherwise each object is
 * read on its own, `concurrency` at a time.
 * @param source - the storage
 * @param platform - the runtime
 * @returns whether to group
 */
export function readsInGroups(source: ObjectSource, platform: OffloadPlatform): boolean {
  return platform.offload !== undefined && source.files !== undefined;
}
