/**
 * Objects already held in memory as a storage backend, so that a page, a Worker or a test can
 * verify (or write digests over) objects it already has, with the same walk as every other
 * backend. Pure: no I/O, no runtime module.
 * @module
 */
import { encodeUtf8 } from '../utils.js';
import { keySegments, type FetchedObject, type ListedObject, type ListOptions, type ObjectSink, type ObjectSource } from './source.js';

/** One object of a {@link MemorySource}. */
export interface MemoryRecord {
  /** Its bucket; the source's `bucket` option when omitted. */
  bucket?: string;
  /** Its key. */
  key: string;
  /** Its stored bytes (for a digest or log: the gzip bytes). Not copied: do not change them afterwards. */
  bytes: Uint8Array;
  /** Its S3 user metadata, without the `x-amz-meta-` prefix (a digest's `signature`, `signature-algorithm`). */
  metadata?: Record<string, string>;
  /** When it was stored (for a log: its delivery time); when the source was made, if omitted. */
  lastModified?: Date;
}

/** Options of {@link MemorySource}. */
export interface MemorySourceOptions {
  /** The bucket of every record that names none. */
  bucket?: string;
}

interface Held {
  key: string;
  /** UTF-8 of the key: S3 lists in this byte order. */
  order: Uint8Array;
  bytes: Uint8Array;
  metadata: Record<string, string> | undefined;
  lastModified: Date;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const startsWith = (a: Uint8Array, prefix: Uint8Array): boolean => a.length >= prefix.length && compareBytes(a.subarray(0, prefix.length), prefix) === 0;

/**
 * An {@link ObjectSource} (and {@link ObjectSink}) over objects held in memory.
 *
 * Keys are listed in S3's order (by UTF-8 bytes); a key that could climb out of a local copy
 * (`..`, a leading `/`, …) is listed, but reading it fails with `UNSAFE_KEY`, as with the
 * other backends, so that the verifier reports it and goes on.
 *
 * @example
 * ```ts
 * const source = new MemorySource(
 *   [{ key: digestKey, bytes: digestGz, metadata: { signature, 'signature-algorithm': 'SHA256withRSA' } },
 *    { key: logKey, bytes: logGz }],
 *   { bucket: 'my-trail-bucket' },
 * );
 * for await (const f of verifyTrail({ source, bucket: 'my-trail-bucket', trail, keys, start })) console.log(f.code);
 * ```
 */
export class MemorySource implements ObjectSource, ObjectSink {
  readonly #buckets = new Map<string, { byKey: Map<string, Held>; sorted: Held[] | undefined }>();
  readonly #made = new Date();

  /**
   * @param records - the objects
   * @param options - the bucket of records that name none
   * @throws TypeError when a record names no bucket and no default is given, has no key or
   *   bytes, or has the bucket and key of another record
   */
  constructor(records: Iterable<MemoryRecord> = [], options: MemorySourceOptions = {}) {
    for (const r of records) {
      const bucket = r.bucket ?? options.bucket;
      if (typeof bucket !== 'string' || bucket.length === 0) throw new TypeError(`record ${JSON.stringify(r.key)} names no bucket, and no default bucket was given`);
      if (typeof r.key !== 'string' || r.key.length === 0) throw new TypeError('every record needs a non-empty key');
      if (!(r.bytes instanceof Uint8Array)) throw new TypeError(`record ${JSON.stringify(r.key)}: bytes must be a Uint8Array`);
      if (!this.#put(bucket, r.key, r.bytes, r.metadata, r.lastModified ?? this.#made)) {
        throw new TypeError(`two records for s3://${bucket}/${r.key}`);
      }
    }
  }

  #put(bucket: string, key: string, bytes: Uint8Array, metadata: Record<string, string> | undefined, lastModified: Date): boolean {
    let b = this.#buckets.get(bucket);
    if (!b) this.#buckets.set(bucket, (b = { byKey: new Map(), sorted: undefined }));
    if (b.byKey.has(key)) return false;
    b.byKey.set(key, { key, order: encodeUtf8(key), bytes, metadata: metadata && { ...metadata }, lastModified });
    b.sorted = undefined;
    return true;
  }

  #sorted(bucket: string): Held[] {
    const b = this.#buckets.get(bucket);
    if (!b) return [];
    b.sorted ??= [...b.byKey.values()].sort((x, y) => compareBytes(x.order, y.order));
    return b.sorted;
  }

  /**
   * List keys under `prefix` in S3's order, after `startAfter` if given.
   * @param bucket - the bucket
   * @param prefix - key prefix
   * @param startAfter - only keys greater than this
   * @param _options - sizes and times are always given
   * @returns the objects, with size and modification time
   */
  async *list(bucket: string, prefix: string, startAfter?: string, _options?: ListOptions): AsyncGenerator<ListedObject> {
    const all = this.#sorted(bucket);
    const p = encodeUtf8(prefix);
    const after = startAfter === undefined ? undefined : encodeUtf8(startAfter);
    // First entry at or after the prefix, then past startAfter: binary search.
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const o = all[mid]!.order;
      if (compareBytes(o, p) < 0 || (after !== undefined && compareBytes(o, after) <= 0)) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < all.length && startsWith(all[i]!.order, p); i++) {
      const h = all[i]!;
      yield { key: h.key, size: h.bytes.byteLength, lastModified: h.lastModified };
    }
  }

  /**
   * Fetch an object.
   * @param bucket - the bucket
   * @param key - the key
   * @param options - `metadata: true` to have its user metadata
   * @returns the object, or undefined when there is none
   * @throws ValidateLogsError `UNSAFE_KEY` for a key that could climb out of a local copy
   */
  async get(bucket: string, key: string, options: { metadata?: boolean } = {}): Promise<FetchedObject | undefined> {
    keySegments(key);
    const h = this.#buckets.get(bucket)?.byKey.get(key);
    if (!h) return undefined;
    return { body: [h.bytes], size: h.bytes.byteLength, ...(options.metadata && { metadata: { ...h.metadata } }) };
  }

  /**
   * The names of the folders directly under `prefix`.
   * @param bucket - the bucket
   * @param prefix - the parent folder, ending in `/`
   * @returns each folder name once, in order
   */
  async *folders(bucket: string, prefix: string): AsyncGenerator<string> {
    let last: string | undefined;
    for await (const { key } of this.list(bucket, prefix)) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash <= 0) continue;
      const name = rest.slice(0, slash);
      if (name !== last) yield (last = name);
    }
  }

  /**
   * Store an object unless one exists at that key.
   * @param bucket - the bucket
   * @param key - the key
   * @param body - the bytes (kept, not copied)
   * @param metadata - its user metadata
   * @returns true when stored, false when an object was already there
   * @throws ValidateLogsError `UNSAFE_KEY` for a key that could climb out of a local copy
   */
  async putIfAbsent(bucket: string, key: string, body: Uint8Array, metadata: Record<string, string>): Promise<boolean> {
    keySegments(key);
    return this.#put(bucket, key, body, metadata, new Date());
  }
}
