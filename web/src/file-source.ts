/**
 * A bucket copy picked on the page, as an {@link ObjectSource}: the files stay where they are
 * (File handles) and are read as the walk asks for them, in chunks, so a folder of any size
 * validates in bounded memory. Laid out as a local copy: the bucket root's files by key, each
 * digest's metadata in `<key>.metadata.json` beside it.
 * @module
 */
import { ValidateLogsError } from '../../src/errors.js';
import { MAX_METADATA_BYTES, METADATA_SUFFIX, parseMetadata } from '../../src/sources/local/sidecar.js';
import { keySegments, type FetchedObject, type ListedObject, type ListOptions, type ObjectSource } from '../../src/sources/source.js';

/** A file: what `File` offers that the source needs. */
export interface FileLike {
  /** Size in bytes. */
  readonly size: number;
  /** Modification time, ms since the epoch. */
  readonly lastModified?: number;
  /** Its bytes. */
  stream(): ReadableStream<Uint8Array>;
  /** Its text (UTF-8). */
  text(): Promise<string>;
}

/**
 * A picked file that could not be opened when the run began (removed or changed since its folder
 * was listed): its size is unknown (0) and every read fails with the reason, so the run reports
 * the object as unreadable, as it does a picked file removed before it was read.
 * @param reason - why it could not be opened (the browser's message)
 * @returns a {@link FileLike} whose reads fail
 */
export function unreadableFile(reason: string): FileLike {
  const error = (): Error => Object.assign(new Error(reason), { name: 'NotReadableError' });
  return {
    size: 0,
    stream: () => new ReadableStream<Uint8Array>({ start: (c) => c.error(error()) }),
    text: () => Promise.reject(error()),
  };
}

/** Find the first index in the sorted `keys` whose key is greater than `after` (or >= `prefix`). */
function lowerBound(keys: readonly string[], probe: string, strict: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = keys[mid]!;
    if (k < probe || (strict && k === probe)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether a copy can hold the key (else the ordinary read says why not). */
function safeKey(key: string): boolean {
  try {
    keySegments(key);
    return true;
  } catch {
    return false;
  }
}

/** S3 orders keys by their UTF-8 bytes; for the characters of real keys, code-unit order agrees except past U+FFFF, which CloudTrail keys never hold. */
const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Files of a picked folder under one bucket root, read as that bucket.
 *
 * @example
 * ```ts
 * const source = new FileSource(files.map((f) => ({ key: f.path.slice(root.length), file: f.file })), { bucket });
 * for await (const f of verifyTrail({ source, bucket, trail, keys, start, end })) { ... }
 * ```
 */
export class FileSource implements ObjectSource {
  readonly #files = new Map<string, FileLike>();
  readonly #keys: string[];
  readonly #bucket: string | undefined;
  #onRead: (bytes: number) => void;
  /**
   * The keys' own names as the paths of {@link ObjectSource.files}, for a platform whose
   * Workers read the picked files themselves ({@link FileSource.file}); absent unless asked for.
   */
  readonly files?: (bucket: string, keys: readonly string[]) => Promise<Array<string | undefined>>;

  /**
   * @param entries - the files, by key (their path below the bucket root)
   * @param options - `bucket`: the bucket the files hold (others hold nothing; any when omitted);
   *   `onRead`: told the size of every chunk read, for progress; `files`: name the files to
   *   the platform's Workers (`files`), which read them themselves
   */
  constructor(entries: Iterable<{ key: string; file: FileLike }>, options: { bucket?: string; onRead?: (bytes: number) => void; files?: boolean } = {}) {
    for (const { key, file } of entries) this.#files.set(key, file);
    this.#keys = [...this.#files.keys()].filter((k) => !k.endsWith(METADATA_SUFFIX)).sort(byKey);
    this.#bucket = options.bucket;
    this.#onRead = options.onRead ?? (() => undefined);
    if (options.files) this.files = async (bucket, keys) => keys.map((k) => (this.#holds(bucket) && safeKey(k) && this.file(k) ? k : undefined));
  }

  /**
   * The picked file of an object (not a metadata sidecar).
   * @param key - the key
   * @returns the file, or undefined when there is none
   */
  file(key: string): FileLike | undefined {
    return key.endsWith(METADATA_SUFFIX) ? undefined : this.#files.get(key);
  }

  /** Objects held (metadata sidecars not counted). */
  get size(): number {
    return this.#keys.length;
  }

  /**
   * The same files, read as another bucket.
   * @param bucket - the bucket
   * @returns a source sharing these files
   */
  as(bucket: string): FileSource {
    const s = new FileSource([], { bucket, onRead: this.#onRead, files: this.files !== undefined });
    for (const [k, f] of this.#files) s.#files.set(k, f);
    s.#keys.push(...this.#keys);
    return s;
  }

  #holds(bucket: string): boolean {
    return this.#bucket === undefined || this.#bucket === bucket;
  }

  /**
   * List keys under `prefix` in S3's order, after `startAfter`.
   * @param bucket - the bucket
   * @param prefix - key prefix
   * @param startAfter - only keys greater than this
   * @param options - `details` for size and modification time
   * @returns the objects
   */
  async *list(bucket: string, prefix: string, startAfter?: string, options: ListOptions = {}): AsyncGenerator<ListedObject> {
    if (!this.#holds(bucket)) return;
    const keys = this.#keys;
    let i = startAfter !== undefined && startAfter >= prefix ? lowerBound(keys, startAfter, true) : lowerBound(keys, prefix, false);
    for (; i < keys.length && keys[i]!.startsWith(prefix); i++) {
      const key = keys[i]!;
      if (!options.details) {
        yield { key };
        continue;
      }
      const file = this.#files.get(key)!;
      yield { key, size: file.size, ...(file.lastModified !== undefined && { lastModified: new Date(file.lastModified) }) };
    }
  }

  /**
   * The names of the folders directly under `prefix`.
   * @param bucket - the bucket
   * @param prefix - the parent folder, ending in `/`
   * @returns folder names, sorted
   */
  async *folders(bucket: string, prefix: string): AsyncGenerator<string> {
    if (!this.#holds(bucket)) return;
    const seen = new Set<string>();
    for await (const { key } of this.list(bucket, prefix)) {
      const rest = key.slice(prefix.length);
      const cut = rest.indexOf('/');
      if (cut > 0) seen.add(rest.slice(0, cut));
    }
    yield* [...seen].sort(byKey);
  }

  /**
   * Fetch an object: its bytes as a stream of chunks, its metadata from its sidecar.
   * @param bucket - the bucket
   * @param key - the key
   * @param options - `metadata: true` to read the sidecar too
   * @returns the object, or undefined when absent
   * @throws ValidateLogsError `UNSAFE_KEY` for a key no copy can hold; `METADATA_INVALID` for a malformed sidecar
   */
  async get(bucket: string, key: string, options: { metadata?: boolean } = {}): Promise<FetchedObject | undefined> {
    if (!this.#holds(bucket)) return undefined;
    keySegments(key);
    const file = this.#files.get(key);
    if (!file || key.endsWith(METADATA_SUFFIX)) return undefined;
    let metadata: Record<string, string> | undefined;
    if (options.metadata) {
      const name = key + METADATA_SUFFIX;
      const side = this.#files.get(name);
      if (side) {
        if (side.size > MAX_METADATA_BYTES) throw new ValidateLogsError('METADATA_INVALID', `${name}: larger than ${MAX_METADATA_BYTES} bytes`);
        metadata = parseMetadata(await side.text(), name);
      }
    }
    return { body: this.#chunks(file, key), size: file.size, ...(metadata && { metadata }) };
  }

  async *#chunks(file: FileLike, key: string): AsyncGenerator<Uint8Array> {
    const reader = file.stream().getReader();
    let done = false;
    try {
      for (;;) {
        const step = await reader.read().catch((e: unknown) => {
          throw new ValidateLogsError('SOURCE_ERROR', `${key}: the file could not be read (${e instanceof Error ? e.message : String(e)}): was it changed or removed after it was picked?`, {
            cause: e,
            transient: true, // read again; after the last try the walk reports the object unreadable
          });
        });
        if (step.done) {
          done = true;
          return;
        }
        this.#onRead(step.value.byteLength);
        yield step.value;
      }
    } finally {
      // Abandoned before its end (a size limit, a cancelled run): stop reading the file.
      // (A cancel that fails leaves nothing to undo: the file is not read further either way.)
      if (!done) await reader.cancel().catch((e: unknown) => void e);
      reader.releaseLock();
    }
  }
}
