/**
 * Evidence export: a source that passes everything through and keeps a copy of every object
 * read and every object listed, in a local-copy layout (`DIR/BUCKET/KEY`, metadata in
 * `KEY.metadata.json`), so that validating the copy later, offline, gives the same result.
 * Every file is written inside the folder (see `local/write.ts`): no symbolic link under it is
 * followed, and only a regular file is replaced; anything else stops the run with
 * `OUTPUT_UNSAFE` naming it (never a finding about the object being read).
 * @module
 */
import { join } from 'node:path';
import { ValidateLogsError, isValidateLogsError } from '../errors.js';
import { formatMetadata, sidecarKey } from './local/sidecar.js';
import { OutputFolder, outputExists, writeOutput, type PendingFile } from './local/write.js';
import { keySegments, type FetchedObject, type ListedObject, type ListOptions, type ObjectSource } from './source.js';

/**
 * How many saved files may be flushing to disk at once, off the reader's path: each holds two
 * open descriptors (the file and its folder) until it is moved into place.
 */
const MAX_FLUSHING = 64;

/** The file of an evidence folder that lists the public keys a run used. */
export const PUBLIC_KEYS_NAME = 'public-keys.json';

/**
 * Wraps a source; every object read through it, and (after {@link SavingSource.complete})
 * every object listed through it, is saved under `dir/BUCKET/`.
 *
 * @example
 * ```ts
 * const saving = new SavingSource(new S3Storage(), './evidence');
 * for await (const f of verifyTrail({ source: saving, ... })) { ... }
 * await saving.complete();
 * ```
 */
export class SavingSource implements ObjectSource {
  readonly #inner: ObjectSource;
  readonly #dir: string;
  readonly #saved = new Set<string>();
  readonly #listed = new Map<string, string>(); // "bucket/key" -> bucket
  readonly #folders = new Set<string>(); // folders written, to flush once
  readonly #flushing = new Set<Promise<void>>(); // files being flushed and moved into place
  #failure: { error: unknown } | undefined; // the first of them that failed
  #objects = 0;
  #bytes = 0;

  /**
   * @param inner - the source to read from
   * @param dir - the folder to save into (one sub-folder per bucket)
   */
  constructor(inner: ObjectSource, dir: string) {
    this.#inner = inner;
    this.#dir = dir;
  }

  /** Objects saved so far. */
  get objects(): number {
    return this.#objects;
  }

  /** Bytes saved so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The local-copy root of a bucket in the evidence folder.
   * @param bucket - the bucket
   * @returns the folder to pass as `--local-dir`
   */
  bucketDir(bucket: string): string {
    keySegments(bucket);
    return join(this.#dir, bucket);
  }

  async *list(bucket: string, prefix: string, startAfter?: string, options?: ListOptions): AsyncGenerator<ListedObject> {
    for await (const o of this.#inner.list(bucket, prefix, startAfter, options)) {
      // An entry that cannot be read cannot be saved either (the run reports it).
      if (o.unreadable === undefined) this.#listed.set(`${bucket}/${o.key}`, bucket);
      yield o;
    }
  }

  async *folders(bucket: string, prefix: string): AsyncGenerator<string> {
    if (this.#inner.folders) yield* this.#inner.folders(bucket, prefix);
  }

  async get(bucket: string, key: string, options: { metadata?: boolean } = {}): Promise<FetchedObject | undefined> {
    const id = `${bucket}/${key}`;
    // Always ask for metadata, so that the copy holds it whoever reads the object later.
    const obj = await this.#inner.get(bucket, key, { metadata: true });
    if (!obj) return undefined;
    const segments = keySegments(key);
    const name = segments.pop()!;
    segments.unshift(...keySegments(bucket));
    // Folders made and the object's place checked now: a refusal stops the run before the read.
    const folder = await OutputFolder.open(this.#dir, segments, true);
    try {
      await folder.holds(name);
      if (obj.metadata && Object.keys(obj.metadata).length > 0) await folder.replace(sidecarKey(name), formatMetadata(obj.metadata));
    } finally {
      await folder.close();
    }
    // An object already saved is not saved again (a digest may list one log twice).
    const result: FetchedObject = { body: this.#saved.has(id) ? obj.body : this.#tee(obj.body, segments, name, id) };
    if (obj.size !== undefined) result.size = obj.size;
    if (options.metadata && obj.metadata) result.metadata = obj.metadata;
    return result;
  }

  /**
   * Copy the body into the object's file as it streams past; the file appears only once it is
   * whole. Each read has its own temporary file: two reads of one object at once each save it
   * whole.
   */
  async *#tee(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, segments: string[], name: string, id: string): AsyncGenerator<Uint8Array> {
    const folder = await OutputFolder.open(this.#dir, segments, true);
    let file: PendingFile | undefined;
    let handedOver = false;
    let bytes = 0;
    try {
      file = await folder.begin(name);
      for await (const chunk of body) {
        await file.write(chunk);
        bytes += chunk.byteLength;
        yield chunk;
      }
      // Flushed and moved into place off the reader's path (the check of the object goes on
      // while the disk flushes); the folder is flushed once, by complete(), which waits for all.
      const whole = file;
      file = undefined;
      handedOver = true;
      await this.#flush(whole.replace(false).finally(() => folder.close()));
      this.#folders.add(segments.join('/'));
      if (!this.#saved.has(id)) {
        this.#objects++;
        this.#bytes += bytes;
      }
      this.#saved.add(id);
    } finally {
      await file?.discard();
      if (!handedOver) await folder.close();
    }
  }

  /**
   * Track a file being flushed and moved into place, waiting while {@link MAX_FLUSHING} are;
   * the first failure is kept, and thrown here and by {@link SavingSource.complete}.
   */
  async #flush(moving: Promise<void>): Promise<void> {
    const tracked: Promise<void> = moving
      .catch((error: unknown) => {
        this.#failure ??= { error };
      })
      .finally(() => this.#flushing.delete(tracked));
    this.#flushing.add(tracked);
    while (this.#flushing.size >= MAX_FLUSHING) await Promise.race(this.#flushing);
    this.#throwFailure();
  }

  #throwFailure(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /** Wait until every file handed over is flushed and in place; throw the first failure. */
  async #flushed(): Promise<void> {
    while (this.#flushing.size > 0) await Promise.all(this.#flushing);
    this.#throwFailure();
  }

  /**
   * Write the list of public keys the run used (`public-keys.json` in the folder), replacing
   * an earlier one.
   * @param text - the list, as `aws cloudtrail list-public-keys` prints it
   * @returns the file's path
   * @throws ValidateLogsError `OUTPUT_UNSAFE` when something else than a regular file is there
   */
  async writePublicKeys(text: string): Promise<string> {
    const path = join(this.#dir, PUBLIC_KEYS_NAME);
    await writeOutput(path, text, true);
    return path;
  }

  /**
   * Check, before a run, that the folder can be written: it is a folder (made if absent), and
   * its `public-keys.json` is absent or a regular file.
   * @throws ValidateLogsError `OUTPUT_UNSAFE` naming what is in the way
   */
  async check(): Promise<void> {
    await outputExists(join(this.#dir, PUBLIC_KEYS_NAME), true);
  }

  /**
   * Save every object that was listed but not read (log files no digest listed, later
   * digests), so that an offline run sees the same storage, and flush the folders written (each
   * file was flushed before it was renamed into place). Call after the run.
   * @throws ValidateLogsError `SOURCE_ERROR` when an object cannot be copied
   */
  async complete(): Promise<void> {
    for (const [id, bucket] of this.#listed) {
      if (this.#saved.has(id)) continue;
      const key = id.slice(bucket.length + 1);
      let obj;
      try {
        obj = await this.get(bucket, key);
      } catch (e) {
        if (isValidateLogsError(e, 'NOT_READABLE')) continue; // became unreadable since it was listed
        throw e;
      }
      if (!obj) continue; // deleted since it was listed
      for await (const _ of obj.body) {
        // draining the tee writes the copy
      }
      if (!this.#saved.has(id)) throw new ValidateLogsError('SOURCE_ERROR', `could not save s3://${id}`);
    }
    // Each object's bytes were flushed before its rename; the folders' entries, once here.
    await this.#flushed();
    for (const f of this.#folders) {
      const folder = await OutputFolder.open(this.#dir, f.split('/'));
      try {
        await folder.sync();
      } finally {
        await folder.close();
      }
    }
    this.#folders.clear();
  }
}
