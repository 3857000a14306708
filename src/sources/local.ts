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
import { close, constants as fsc, open as fsOpen, read, type Dirent } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readFile, realpath, rename, unlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ValidateLogsError } from '../errors.js';
import { MAX_METADATA_BYTES, METADATA_SUFFIX, parseMetadata } from '../format/metadata.js';
import { keySegments, type FetchedObject, type ListedObject, type ListOptions, type ObjectSink, type ObjectSource } from './source.js';

const READ_CHUNK = 1024 * 1024;
/** The first read of every file: a file smaller than this is read whole in one call. */
const FIRST_BLOCK = 64 * 1024;
/** A file name that needs no further check (no `.`/`..`, NUL, backslash or empty name). */
const SAFE_NAME_RE = /^(?!\.\.?$)[^/\\\0]+$/;
/** Keys longer than this take the full check (which measures their UTF-8 length). */
const MAX_NAME_CHECKED = 512;
/** Folder real paths remembered at most (a trail has one folder a day). */
const DIR_CACHE_SIZE = 4096;

export { METADATA_SUFFIX, parseMetadata };

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
  readonly #dirs = new Map<string, Promise<string | undefined>>();
  /** First-read blocks, reused: reading many small files allocates nothing but their bytes. */
  readonly #blocks: Buffer[] = [];

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

  /**
   * The real path of a key's folder inside the root (cached: a trail's objects share a few
   * date folders), or undefined when it does not exist. The object itself is then opened with
   * O_NOFOLLOW, so no link anywhere on the path leads outside the root unchecked.
   */
  async #resolveDir(segments: string[]): Promise<string | undefined> {
    const dirKey = segments.join('/');
    let dir = this.#dirs.get(dirKey);
    if (!dir) {
      if (this.#dirs.size >= DIR_CACHE_SIZE) this.#dirs.clear();
      dir = this.#realInside(join(await this.#rootPath(), ...segments), dirKey);
      this.#dirs.set(dirKey, dir);
      dir.catch(() => this.#dirs.delete(dirKey));
    }
    return dir;
  }

  /** realpath, refused when it leaves the root; undefined when it does not exist. */
  async #realInside(path: string, key: string): Promise<string | undefined> {
    const root = await this.#rootPath();
    let real: string;
    try {
      real = await realpath(path);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw sourceError(e, key);
    }
    if (real !== root && !real.startsWith(root + sep)) {
      throw new ValidateLogsError('UNSAFE_KEY', `key ${JSON.stringify(key)} resolves outside the local copy (through a symbolic link)`);
    }
    return real;
  }

  /** Resolve a key to a path inside the root whose last part is not yet checked for links; undefined when its folder does not exist. */
  async #resolve(key: string): Promise<string | undefined> {
    const cut = key.lastIndexOf('/');
    const name = key.slice(cut + 1);
    // The folder part was checked when its real path was cached; the name is checked each time.
    const cached = cut > 0 ? this.#dirs.get(key.slice(0, cut)) : undefined;
    if (!cached || !SAFE_NAME_RE.test(name) || key.length > MAX_NAME_CHECKED) {
      const segments = keySegments(key);
      segments.pop();
      const dir = await this.#resolveDir(segments);
      return dir === undefined ? undefined : `${dir}${sep}${name}`;
    }
    const dir = await cached;
    return dir === undefined ? undefined : `${dir}${sep}${name}`;
  }

  /**
   * Open a key's file for reading; undefined when it is absent. (Plain file descriptors and
   * callbacks: for many small objects they cost far less than `FileHandle` promises.)
   */
  async #open(key: string): Promise<number | undefined> {
    const path = await this.#resolve(key);
    if (path === undefined) return undefined;
    try {
      return await fdOpen(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      if ((e as NodeJS.ErrnoException).code !== 'ELOOP') throw sourceError(e, key);
    }
    // The file is a symbolic link: follow it only to a file inside the root.
    const real = await this.#realInside(path, key);
    if (real === undefined) return undefined;
    try {
      return await fdOpen(real, fsc.O_RDONLY);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw sourceError(e, key);
    }
  }

  /**
   * Open a key's file and read its first block: a file smaller than the block is then read
   * whole and closed (open, read, close: no stat), a larger one goes on streaming. Undefined
   * when it is absent or a folder.
   */
  async #openFile(key: string): Promise<{ body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>; size?: number } | undefined> {
    const fd = await this.#open(key);
    if (fd === undefined) return undefined;
    const block = this.#blocks.pop() ?? Buffer.allocUnsafe(FIRST_BLOCK);
    let n: number;
    try {
      n = await fdRead(fd, block);
    } catch (e) {
      this.#blocks.push(block);
      await fdClose(fd);
      if ((e as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
      throw sourceError(e, key);
    }
    if (n < block.length) {
      await fdClose(fd);
      const whole = Buffer.from(block.subarray(0, n)); // a copy: the block goes back to the pool
      this.#blocks.push(block);
      return { body: [whole], size: n };
    }
    const first = Buffer.from(block);
    this.#blocks.push(block);
    return { body: readChunks(fd, first, key) };
  }

  async *list(bucket: string, prefix: string, startAfter?: string, options: ListOptions = {}): AsyncGenerator<ListedObject> {
    if (!this.#holds(bucket)) return;
    const root = await this.#rootPath();
    const cut = prefix.lastIndexOf('/') + 1;
    const dirKey = prefix.slice(0, cut); // '' or ends with '/'
    if (dirKey !== '') keySegments(dirKey.slice(0, -1));
    yield* this.#walk(root, dirKey, prefix, startAfter ?? '', options.details === true);
  }

  async *#walk(root: string, dirKey: string, prefix: string, after: string, details: boolean): AsyncGenerator<ListedObject> {
    let entries;
    try {
      entries = await readdir(join(root, dirKey), { withFileTypes: true });
    } catch (e) {
      if (isNotFound(e)) return;
      throw sourceError(e, `listing ${dirKey || '/'}`);
    }
    // S3 orders keys by their bytes: a folder's keys sort as "name/...". (Sorted by name, the
    // shared folder prefix left out; a key string is made only for the entry at hand, so a
    // folder of many thousand files does not become many thousand strings at once.)
    const order = (d: Dirent): string => (d.isDirectory() ? d.name + '/' : d.name);
    entries.sort((a, b) => {
      const x = order(a);
      const y = order(b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    for (let i = 0; i < entries.length; i++) {
      const d = entries[i]!;
      const k = dirKey + order(d);
      if (!(k.startsWith(prefix) || prefix.startsWith(k))) continue;
      if (d.isDirectory()) {
        // Every key below k starts with k; skip the folder when all of them are <= after.
        if (after >= k && !after.startsWith(k)) continue;
        yield* this.#walk(root, k, prefix, after, details);
      } else {
        if (k <= after || !k.startsWith(prefix) || k.endsWith(METADATA_SUFFIX) || d.name === LOCK_NAME || TEMPORARY_RE.test(d.name)) continue;
        if (!details) {
          yield { key: k };
          continue;
        }
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
    // Metadata first: a failure then leaves no open file behind.
    const metadata = options.metadata ? await this.#readMetadata(key) : undefined;
    const file = await this.#openFile(key);
    if (!file) return undefined;
    const result: FetchedObject = { body: file.body };
    if (file.size !== undefined) result.size = file.size;
    if (metadata) result.metadata = metadata;
    return result;
  }

  async #readMetadata(key: string): Promise<Record<string, string> | undefined> {
    const name = key + METADATA_SUFFIX;
    const file = await this.#openFile(name);
    if (!file) return undefined;
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of file.body) {
      size += chunk.byteLength;
      if (size > MAX_METADATA_BYTES) throw new ValidateLogsError('METADATA_INVALID', `${name}: larger than ${MAX_METADATA_BYTES} bytes`);
      parts.push(Buffer.from(chunk));
    }
    return parseMetadata(Buffer.concat(parts).toString('utf8'), name);
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

const fdOpen = (path: string, flags: number): Promise<number> =>
  new Promise((resolve, reject) => fsOpen(path, flags, (e, fd) => (e ? reject(e) : resolve(fd))));
const fdClose = (fd: number): Promise<void> => new Promise((resolve) => close(fd, () => resolve()));
const fdRead = (fd: number, buffer: Buffer): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buffer, 0, buffer.length, null, (e, n) => (e ? reject(e) : resolve(n))));

/**
 * A large file's bytes: its first block, then chunks read into one 1 MiB buffer (no allocation
 * per chunk). Each chunk is valid until the next is requested. The file is closed at the end,
 * on error, or when the consumer stops early.
 */
async function* readChunks(fd: number, first: Uint8Array, key: string): AsyncGenerator<Uint8Array> {
  try {
    yield first;
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      let n: number;
      try {
        n = await fdRead(fd, buffer);
      } catch (e) {
        throw sourceError(e, key);
      }
      if (n === 0) return;
      yield buffer.subarray(0, n);
    }
  } finally {
    await fdClose(fd);
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
