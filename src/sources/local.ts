/**
 * A local copy of a bucket: the directory is the bucket root, laid out as
 * `aws s3 sync s3://BUCKET DIR` lays it out. A digest's S3 user metadata lives beside it in
 * `<key>.metadata.json`, the JSON object `aws s3api head-object --query Metadata` prints.
 *
 * Every key, name and file is treated as hostile: a key with an empty, `.` or `..` segment, a
 * leading `/`, a backslash or a NUL is refused; nothing outside the directory is read or
 * written; nothing but a regular file is ever read (a FIFO, socket or device is
 * `NOT_READABLE`, and never blocks); listing and reading see the same tree. Reading lives in
 * `local/read.ts`, writing in `local/write.ts`, the sidecar layout in `local/sidecar.ts`.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { LocalReader } from './local/read.js';
import { MAX_METADATA_BYTES, metadataTooLarge, parseMetadataBytes, sidecarKey } from './local/sidecar.js';
import { lockFolder, putIfAbsent } from './local/write.js';
import type { FetchedObject, ListedObject, ListOptions, ObjectSink, ObjectSource } from './source.js';

export { METADATA_SUFFIX, parseMetadata } from './local/sidecar.js';

/** Options of {@link LocalDirectory}. */
export interface LocalDirectoryOptions {
  /** The bucket this directory holds; requests for other buckets find nothing. Any bucket when omitted. */
  bucket?: string;
}

/**
 * A directory holding a copy of a bucket: a source for the verifier and a sink for the
 * generator (writes are atomic and never overwrite).
 *
 * `list` yields every object as S3 would (flat keys, recursively, in byte order), and every
 * entry that cannot be read as a regular file with `unreadable` saying why (a FIFO, socket or
 * device; a folder that cannot be listed; a symbolic link loop, one leading out of the copy, or
 * a second link on a key's path; a name that no key can read back). `get` throws
 * `NOT_READABLE` for the same entries. Symbolic links inside the copy are followed by both,
 * at most one on a key's path.
 *
 * @example
 * ```ts
 * const dir = new LocalDirectory('./my-bucket-copy', { bucket: 'my-bucket' });
 * for await (const f of verifyTrail({ source: dir, bucket: 'my-bucket', trail, keys, start })) { ... }
 * ```
 */
export class LocalDirectory implements ObjectSource, ObjectSink {
  /** The directory. */
  readonly root: string;
  readonly #bucket: string | undefined;
  readonly #reader: LocalReader;

  /**
   * @param root - the directory (the bucket root)
   * @param options - the bucket it holds
   * @throws TypeError when `root` is not a non-empty string
   */
  constructor(root: string, options: LocalDirectoryOptions = {}) {
    if (typeof root !== 'string' || root.length === 0) throw new TypeError('root must be a directory path');
    this.root = root;
    this.#bucket = options.bucket;
    this.#reader = new LocalReader(root);
  }

  #holds(bucket: string): boolean {
    return this.#bucket === undefined || this.#bucket === bucket;
  }

  #mustHold(bucket: string): void {
    if (!this.#holds(bucket)) throw new ValidateLogsError('SOURCE_ERROR', `this local copy holds bucket ${this.#bucket}, not ${bucket}`);
  }

  /**
   * List keys under `prefix` as S3 does, unreadable entries included (with `unreadable`).
   * @param bucket - the bucket (another than the copy's lists nothing)
   * @param prefix - key prefix
   * @param startAfter - only keys greater than this (an unreadable folder that may hold such keys is yielded too)
   * @param options - `details: true` for sizes and modification times
   * @throws ValidateLogsError `NOT_READABLE` when the prefix's own folder cannot be listed, `UNSAFE_KEY` for a prefix that could climb out
   */
  async *list(bucket: string, prefix: string, startAfter?: string, options: ListOptions = {}): AsyncGenerator<ListedObject> {
    if (!this.#holds(bucket)) return;
    yield* this.#reader.list(prefix, startAfter ?? '', options.details === true);
  }

  /**
   * {@link LocalDirectory.list} in pages (up to 1000 entries of one folder each).
   * @param bucket - the bucket (another than the copy's lists nothing)
   * @param prefix - key prefix
   * @param startAfter - only keys greater than this
   * @param options - `details: true` for sizes and modification times
   * @throws as {@link LocalDirectory.list}
   */
  async *listPages(bucket: string, prefix: string, startAfter?: string, options: ListOptions = {}): AsyncGenerator<ListedObject[]> {
    if (!this.#holds(bucket)) return;
    yield* this.#reader.listPages(prefix, startAfter ?? '', options.details === true);
  }

  /**
   * The folders directly under `prefix`.
   * @param bucket - the bucket
   * @param prefix - the parent folder, ending in `/`
   */
  async *folders(bucket: string, prefix: string): AsyncGenerator<string> {
    if (!this.#holds(bucket)) return;
    yield* this.#reader.folders(prefix);
  }

  /**
   * Fetch an object, and its sidecar's metadata when asked.
   * @param bucket - the bucket
   * @param key - the key
   * @param options - `metadata: true` to read the sidecar too
   * @returns the object; undefined when it is absent, a folder, or in another bucket
   * @throws ValidateLogsError `NOT_READABLE` when the object or its sidecar is there but no
   *   regular file (or behind a link that is not followed), `METADATA_INVALID` for a malformed
   *   sidecar, `UNSAFE_KEY`, `SOURCE_ERROR`
   */
  async get(bucket: string, key: string, options: { metadata?: boolean } = {}): Promise<FetchedObject | undefined> {
    if (!this.#holds(bucket)) return undefined;
    // Metadata first: a failure then leaves no open file behind.
    const metadata = options.metadata ? await this.#readMetadata(key) : undefined;
    const file = await this.#reader.openFile(key);
    if (!file) return undefined;
    const result: FetchedObject = { body: file.body };
    if (file.size !== undefined) result.size = file.size;
    if (metadata) result.metadata = metadata;
    return result;
  }

  /**
   * The paths of objects' files, for the platform's hashing threads (which open each only as a
   * regular file, and otherwise leave it to {@link LocalDirectory.get}).
   * @param bucket - the bucket
   * @param keys - the keys
   * @returns a path for each key; undefined where the key is not a plain file path here (`get` then tells)
   */
  async files(bucket: string, keys: readonly string[]): Promise<Array<string | undefined>> {
    if (!this.#holds(bucket)) return keys.map(() => undefined);
    return this.#reader.filePaths(keys);
  }

  /**
   * The folder holding the bucket's files, for the platform's hashing threads: they resolve
   * keys there with the same code as {@link LocalDirectory.files}.
   * @param bucket - the bucket
   * @returns the directory; undefined for another bucket
   */
  fileRoot(bucket: string): string | undefined {
    return this.#holds(bucket) ? this.root : undefined;
  }

  async #readMetadata(key: string): Promise<Record<string, string> | undefined> {
    const name = sidecarKey(key);
    const file = await this.#reader.openFile(name);
    if (!file) return undefined;
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of file.body) {
      size += chunk.byteLength;
      if (size > MAX_METADATA_BYTES) throw metadataTooLarge(name); // (read no further)
      parts.push(Buffer.from(chunk));
    }
    return parseMetadataBytes(Buffer.concat(parts), name);
  }

  /**
   * Take the writer's lock of a folder (see {@link ObjectSink.lock}): a `.write-digests.lock`
   * file created exclusively, holding the writer's pid; a killed writer's is taken over, and
   * the temporary files killed writers left are removed.
   * @param bucket - the bucket
   * @param folder - the chain's folder, ending in `/`
   * @returns the release function
   * @throws ValidateLogsError `CHAIN_CONFLICT` when a live writer holds it
   */
  async lock(bucket: string, folder: string): Promise<() => Promise<void>> {
    this.#mustHold(bucket);
    return lockFolder(await this.#reader.rootPath(), folder);
  }

  /**
   * Write an object and its metadata sidecar atomically, never replacing an existing object.
   * @param bucket - the bucket
   * @param key - the key
   * @param body - the bytes
   * @param metadata - S3 user metadata, kept in the sidecar
   * @returns true when written, false when an object already existed (nothing was changed)
   * @throws ValidateLogsError `UNSAFE_KEY` for a key that would land outside the copy, `SOURCE_ERROR`
   */
  async putIfAbsent(bucket: string, key: string, body: Uint8Array, metadata: Record<string, string>): Promise<boolean> {
    this.#mustHold(bucket);
    return putIfAbsent(await this.#reader.rootPath(), key, body, metadata);
  }
}
