/**
 * A local copy of a bucket: the directory is the bucket root, laid out as
 * `aws s3 sync s3://BUCKET DIR` lays it out. A digest's S3 user metadata lives beside it in
 * `<key>.metadata.json`, the JSON object `aws s3api head-object --query Metadata` prints.
 *
 * Every key is treated as hostile: a key with an empty, `.` or `..` segment, a leading `/`, a
 * backslash or a NUL is refused, and a path that resolves (through symbolic links) outside the
 * root is refused, so nothing outside the directory is ever read or written.
 * @module
 */
import { constants as fsc } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readFile, realpath, rename, unlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ValidateLogsError } from '../errors.js';
import { findDuplicateKey } from '../format/json.js';
import { keySegments, type FetchedObject, type ListedObject, type ObjectSink, type ObjectSource } from './source.js';

/** Suffix of the file holding an object's S3 user metadata. */
export const METADATA_SUFFIX = '.metadata.json';
/** Largest metadata sidecar read. */
const MAX_METADATA_BYTES = 64 * 1024;
const READ_CHUNK = 1024 * 1024;

/** Options of {@link LocalDirectory}. */
export interface LocalDirectoryOptions {
  /** The bucket this directory holds; requests for other buckets find nothing. Any bucket when omitted. */
  bucket?: string;
}

const isNotFound = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
};

const sourceError = (e: unknown, what: string): ValidateLogsError =>
  new ValidateLogsError('SOURCE_ERROR', `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });

/**
 * A directory holding a copy of a bucket: a source for the verifier and a sink for the
 * generator (writes are atomic and never overwrite).
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
  #realRoot: Promise<string> | undefined;

  /**
   * @param root - the directory (the bucket root)
   * @param options - the bucket it holds
   */
  constructor(root: string, options: LocalDirectoryOptions = {}) {
    if (typeof root !== 'string' || root.length === 0) throw new TypeError('root must be a directory path');
    this.root = root;
    this.#bucket = options.bucket;
  }

  #holds(bucket: string): boolean {
    return this.#bucket === undefined || this.#bucket === bucket;
  }

  async #rootPath(): Promise<string> {
    this.#realRoot ??= realpath(this.root).catch((e: unknown) => {
      this.#realRoot = undefined;
      throw sourceError(e, `local copy ${this.root}`);
    });
    return this.#realRoot;
  }

  /** Resolve a key to a real path inside the root; undefined when it does not exist. */
  async #resolve(key: string): Promise<string | undefined> {
    const segments = keySegments(key);
    const root = await this.#rootPath();
    let real: string;
    try {
      real = await realpath(join(root, ...segments));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw sourceError(e, key);
    }
    if (!real.startsWith(root + sep)) {
      throw new ValidateLogsError('UNSAFE_KEY', `key ${JSON.stringify(key)} resolves outside the local copy (through a symbolic link)`);
    }
    return real;
  }

  async *list(bucket: string, prefix: string, startAfter?: string): AsyncGenerator<ListedObject> {
    if (!this.#holds(bucket)) return;
    const root = await this.#rootPath();
    const cut = prefix.lastIndexOf('/') + 1;
    const dirKey = prefix.slice(0, cut); // '' or ends with '/'
    if (dirKey !== '') keySegments(dirKey.slice(0, -1));
    yield* this.#walk(root, dirKey, prefix, startAfter ?? '');
  }

  async *#walk(root: string, dirKey: string, prefix: string, after: string): AsyncGenerator<ListedObject> {
    let entries;
    try {
      entries = await readdir(join(root, dirKey), { withFileTypes: true });
    } catch (e) {
      if (isNotFound(e)) return;
      throw sourceError(e, `listing ${dirKey || '/'}`);
    }
    // S3 orders keys by their bytes: a folder's keys sort as "name/...".
    const named = entries.map((d) => ({ d, k: dirKey + d.name + (d.isDirectory() ? '/' : '') }));
    named.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    for (const { d, k } of named) {
      if (!(k.startsWith(prefix) || prefix.startsWith(k))) continue;
      if (d.isDirectory()) {
        // Every key below k starts with k; skip the folder when all of them are <= after.
        if (after >= k && !after.startsWith(k)) continue;
        yield* this.#walk(root, k, prefix, after);
      } else {
        if (k <= after || !k.startsWith(prefix) || k.endsWith(METADATA_SUFFIX) || d.name === LOCK_NAME || TEMPORARY_RE.test(d.name)) continue;
        let info;
        try {
          info = await lstat(join(root, k));
        } catch (e) {
          if (isNotFound(e)) continue; // removed while listing
          throw sourceError(e, k);
        }
        yield { key: k, size: info.size, lastModified: info.mtime };
      }
    }
  }

  async *folders(bucket: string, prefix: string): AsyncGenerator<string> {
    if (!this.#holds(bucket)) return;
    const root = await this.#rootPath();
    let entries;
    try {
      entries = await readdir(join(root, ...keySegments(prefix.replace(/\/$/, ''))), { withFileTypes: true });
    } catch (e) {
      if (isNotFound(e)) return;
      throw sourceError(e, `listing ${prefix}`);
    }
    for (const d of entries.filter((x) => x.isDirectory()).map((x) => x.name).sort()) yield d;
  }

  async get(bucket: string, key: string, options: { metadata?: boolean } = {}): Promise<FetchedObject | undefined> {
    if (!this.#holds(bucket)) return undefined;
    const path = await this.#resolve(key);
    if (path === undefined) return undefined;
    let handle;
    try {
      handle = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw sourceError(e, key);
    }
    let size: number;
    try {
      const st = await handle.stat();
      if (!st.isFile()) {
        await handle.close();
        return undefined;
      }
      size = st.size;
    } catch (e) {
      await handle.close();
      throw sourceError(e, key);
    }
    const body = handle.createReadStream({ highWaterMark: READ_CHUNK });
    const result: FetchedObject = { body, size };
    if (options.metadata) {
      try {
        const meta = await this.#readMetadata(key);
        if (meta) result.metadata = meta;
      } catch (e) {
        body.destroy();
        throw e;
      }
    }
    return result;
  }

  async #readMetadata(key: string): Promise<Record<string, string> | undefined> {
    const path = await this.#resolve(key + METADATA_SUFFIX);
    if (path === undefined) return undefined;
    let text: Buffer;
    try {
      const st = await lstat(path);
      if (st.size > MAX_METADATA_BYTES) {
        throw new ValidateLogsError('METADATA_INVALID', `${key}${METADATA_SUFFIX}: larger than ${MAX_METADATA_BYTES} bytes`);
      }
      text = await readFile(path);
    } catch (e) {
      if (e instanceof ValidateLogsError) throw e;
      if (isNotFound(e)) return undefined;
      throw sourceError(e, key + METADATA_SUFFIX);
    }
    return parseMetadata(text.toString('utf8'), key + METADATA_SUFFIX);
  }

  /**
   * Take the writer's lock of a folder: a `.write-digests.lock` file created exclusively,
   * holding the writer's pid. A lock left by a writer that is no longer running (killed) is
   * taken over; a live writer's lock is a `CHAIN_CONFLICT`. Once the lock is held, temporary
   * files a killed writer left in the folder are removed.
   */
  async lock(bucket: string, folder: string): Promise<() => Promise<void>> {
    if (!this.#holds(bucket)) throw new ValidateLogsError('SOURCE_ERROR', `this local copy holds bucket ${this.#bucket}, not ${bucket}`);
    const root = await this.#rootPath();
    const dir = join(root, ...keySegments(folder.replace(/\/$/, '')));
    const path = join(dir, LOCK_NAME);
    await mkdir(dir, { recursive: true });
    // The lock appears whole or not at all: written aside, then hard-linked into place.
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    await writeDurable(tmp, Buffer.from(JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }) + '\n'));
    try {
      for (let tries = 0; ; tries++) {
        try {
          await link(tmp, path);
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 2) throw sourceError(e, `locking ${folder}`);
          let holder: { pid?: unknown; host?: unknown } = {};
          try {
            holder = JSON.parse(await readFile(path, 'utf8')) as typeof holder;
          } catch (readError) {
            if (!isNotFound(readError) && !(readError instanceof SyntaxError)) throw sourceError(readError, `reading the lock ${path}`);
            continue; // released meanwhile (or unreadable: try again)
          }
          if (typeof holder.pid === 'number' && holder.host === hostname() && alive(holder.pid)) {
            throw new ValidateLogsError('CHAIN_CONFLICT', `another writer (pid ${holder.pid}) is writing this chain (lock ${path}); nothing was written`);
          }
          await unlink(path).catch(() => undefined); // a killed writer's lock
        }
      }
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    await sweepTemporary(dir);
    return async () => {
      await unlink(path).catch(() => undefined);
    };
  }

  /**
   * Write an object and its metadata sidecar atomically, never replacing an existing object:
   * both are written to temporary files first; the sidecar is moved into place (replacing only
   * an orphan sidecar left by a crash), then the object is hard-linked into place, which fails
   * if it exists. A crash at any instant leaves either no object or a whole one.
   */
  async putIfAbsent(bucket: string, key: string, body: Uint8Array, metadata: Record<string, string>): Promise<boolean> {
    if (!this.#holds(bucket)) throw new ValidateLogsError('SOURCE_ERROR', `this local copy holds bucket ${this.#bucket}, not ${bucket}`);
    const segments = keySegments(key);
    const root = await this.#rootPath();
    const path = join(root, ...segments);
    const dir = dirname(path);
    try {
      await mkdir(dir, { recursive: true });
      const realDir = await realpath(dir);
      if (realDir !== root && !realDir.startsWith(root + sep)) {
        throw new ValidateLogsError('UNSAFE_KEY', `key ${JSON.stringify(key)} resolves outside the local copy`);
      }
      if (await exists(path)) return false;
      const tag = `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
      if (Object.keys(metadata).length > 0) {
        const metaTmp = path + METADATA_SUFFIX + tag;
        await writeDurable(metaTmp, Buffer.from(JSON.stringify(metadata, null, 2) + '\n'));
        await rename(metaTmp, path + METADATA_SUFFIX);
      }
      const tmp = path + tag;
      await writeDurable(tmp, body);
      try {
        await link(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
      await syncDir(dir);
      return true;
    } catch (e) {
      if (e instanceof ValidateLogsError) throw e;
      throw sourceError(e, `writing ${key}`);
    }
  }
}

/** Name of a chain folder's writer lock. */
const LOCK_NAME = '.write-digests.lock';
/** Temporary files of a write in progress: `<name>.tmp-<pid>-<12 hex>`. */
const TEMPORARY_RE = /\.tmp-(\d+)-[0-9a-f]{12}$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove what killed writers left half-written under `dir`: temporary files whose writer is no
 * longer running (a live contender's lock attempt is left alone).
 */
async function sweepTemporary(dir: string): Promise<void> {
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) {
      await sweepTemporary(p);
      continue;
    }
    const pid = TEMPORARY_RE.exec(d.name)?.[1];
    if (pid !== undefined && !alive(Number(pid))) await unlink(p).catch(() => undefined);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

async function writeDurable(path: string, data: Uint8Array): Promise<void> {
  const h = await open(path, 'wx', 0o644);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Parse S3 user metadata as `aws s3api head-object --query Metadata` prints it: a JSON object
 * of string values.
 * @param text - the JSON text
 * @param what - the file's name for error messages
 * @returns the metadata
 * @throws ValidateLogsError `METADATA_INVALID`
 */
export function parseMetadata(text: string, what: string): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ValidateLogsError('METADATA_INVALID', `${what}: not valid JSON (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ValidateLogsError('METADATA_INVALID', `${what}: expected a JSON object of metadata strings`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate) throw new ValidateLogsError('METADATA_INVALID', `${what}: "${duplicate.key}" appears twice`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(json)) {
    if (typeof v !== 'string') throw new ValidateLogsError('METADATA_INVALID', `${what}: value of "${k}" must be a string`);
    out[k.toLowerCase()] = v;
  }
  return out;
}
