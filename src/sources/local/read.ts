/**
 * Reading a local copy of a bucket: listing keys as S3 lists them, and getting objects.
 *
 * Every name and every file is hostile. Nothing but a regular file is ever read: a file is
 * opened without following a link and without blocking (a FIFO cannot stall the open), and
 * its type is checked on the open descriptor before the first read, so a FIFO, socket or
 * device swapped in at any instant is refused, never read. Listing and reading see one tree:
 * a symbolic link (to a folder or a file) is followed by both, at most one on a key's path,
 * only to a target inside the copy and never to a folder that holds the link (a loop). What
 * cannot be read is still listed, with the reason, and `get` throws `NOT_READABLE` for it.
 * @module
 */
import { close, closeSync, constants as fsc, fstatSync, lstatSync, open as fsOpen, openSync, read, type Dirent, type Stats } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { ValidateLogsError } from '../../errors.js';
import { keySegments, type ListedObject } from '../source.js';
import { isLayoutFile } from './sidecar.js';

const READ_CHUNK = 1024 * 1024;
/** The first read of every file: a file smaller than this is read whole in one call. */
const FIRST_BLOCK = 64 * 1024;
/** A file name that needs no further check (no `.`/`..`, NUL, backslash or empty name). */
const SAFE_NAME_RE = /^(?!\.\.?$)[^/\\\0]+$/;
/** Keys longer than this take the full check (which measures their UTF-8 length). */
const MAX_NAME_CHECKED = 341;
/** Entries in a page of a listing ({@link LocalReader.listPages}). */
const LIST_PAGE = 1000;
/** S3's longest key, in bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;
/** Folder real paths remembered at most (a trail has one folder a day). */
const DIR_CACHE_SIZE = 4096;
/** Symbolic links followed at most on one key's path: more would let a few links multiply a tree. */
const MAX_LINKS = 1;
/** Open flags of every read: never through a link, never blocking (FIFOs). */
const READ_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | (fsc.O_NONBLOCK ?? 0);

/** A folder as reads see it: its real path, and how many symbolic links lead to it. */
interface Folder {
  real: string;
  links: number;
}

/** Where a symbolic link leads: a readable target, or why it is not followed. */
interface LinkTarget {
  folder: boolean;
  real?: string;
  stats?: Stats;
  why?: string;
}

/**
 * True for an error that means "there is nothing at that path".
 * @param e - a thrown value
 * @returns whether it is ENOENT, ENOTDIR or ENAMETOOLONG
 */
export function isNotFound(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG';
}

/**
 * A storage failure (an I/O error) as the library's error.
 * @param e - the error
 * @param what - what was being done, naming the object
 * @returns a `SOURCE_ERROR`
 */
export function sourceError(e: unknown, what: string): ValidateLogsError {
  return new ValidateLogsError('SOURCE_ERROR', `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/**
 * An object or folder that exists but cannot be read as a regular file.
 * @param key - its key (a folder's ends in `/`)
 * @param why - what it is, or what is wrong
 * @param cause - the underlying error, if any
 * @returns a `NOT_READABLE`
 */
export function notReadable(key: string, why: string, cause?: unknown): ValidateLogsError {
  return new ValidateLogsError('NOT_READABLE', `${JSON.stringify(key)} cannot be read from the local copy: ${why}`, cause === undefined ? {} : { cause });
}

/**
 * What a file that is not a regular file or folder is.
 * @param s - its type, from `stat`, `lstat` or a directory entry
 * @returns a few words, or undefined for a regular file, folder or link
 */
export function specialType(s: Stats | Dirent): string | undefined {
  if (s.isFIFO()) return 'a FIFO (named pipe), not a regular file';
  if (s.isSocket()) return 'a socket, not a regular file';
  if (s.isCharacterDevice()) return 'a character device, not a regular file';
  if (s.isBlockDevice()) return 'a block device, not a regular file';
  return undefined;
}

/** Why an error makes an object unreadable for good (never worth another try), or undefined. */
function errnoReason(e: unknown): string | undefined {
  switch ((e as NodeJS.ErrnoException | undefined)?.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'a symbolic link loop';
    case 'ENXIO':
    case 'ENODEV':
    case 'EOPNOTSUPP':
      return 'a socket or device, not a regular file';
    default:
      return undefined;
  }
}

/**
 * An error opening or listing `key` as the library's error: `NOT_READABLE` when it is there
 * but can never be read, `SOURCE_ERROR` otherwise.
 */
function readError(e: unknown, key: string): ValidateLogsError {
  const why = errnoReason(e);
  return why ? notReadable(key, why, e) : sourceError(e, `reading ${JSON.stringify(key)}`);
}

const fdOpen = (path: string, flags: number): Promise<number> =>
  new Promise((resolve, reject) => fsOpen(path, flags, (e, fd) => (e ? reject(e) : resolve(fd))));
const fdClose = (fd: number): Promise<void> => new Promise((resolve) => close(fd, () => resolve()));
const fdRead = (fd: number, buffer: Buffer): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buffer, 0, buffer.length, null, (e, n) => (e ? reject(e) : resolve(n))));

/** Open flags of a read that follows a link at the path's end (a file the user named). */
const READ_FOLLOW_FLAGS = fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0);

/**
 * What {@link openPath} found: a regular file, open (its descriptor, its size and its
 * modification time in ms when opened), nothing there, a folder, a symbolic link (not
 * followed), or something else that is there but no regular file (what it is, in a few words).
 */
export type OpenedPath = { fd: number; size: number; modified: number } | { absent: true } | { folder: true } | { link: true } | { special: string; cause?: unknown };

/**
 * What a failed open says about the path, or undefined when it says nothing about it (the
 * caller throws the error). A device or socket (ENXIO) is classified by `typeOf`.
 */
function failedOpen<T>(e: unknown, follow: boolean, typeOf: () => T): OpenedPath | T | undefined {
  if (isNotFound(e)) return { absent: true };
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ELOOP' && !follow) return { link: true };
  if (code === 'ENXIO') return typeOf();
  return undefined;
}

/** What an open descriptor is, by its `fstat`: the open regular file, or what is there instead (the caller closes it then). */
function openedAs(fd: number, type: Stats): OpenedPath {
  if (type.isFile()) return { fd, size: type.size, modified: Math.trunc(type.mtimeMs) }; // as `mtime.getTime()`, with no Date made
  return type.isDirectory() ? { folder: true } : { special: specialType(type) ?? 'not a regular file' };
}

/** A socket or device found by `stat`/`lstat` after ENXIO (or in a few words when it cannot be told). */
const deviceAt = (type: Stats | undefined, cause: unknown): OpenedPath => ({ special: (type && specialType(type)) ?? 'a socket or device, not a regular file', cause });

/**
 * The one safe open of the code base: open a path for reading only if it is a regular file,
 * without blocking (a FIFO cannot stall the open) and, unless `follow`, without following a
 * link at its end. The type is checked on the open descriptor, so nothing can be swapped in
 * between the check and the read. (Plain file descriptors and callbacks: for many small
 * objects they cost far less than `FileHandle` promises.) {@link openPathSync} is the same
 * open for a thread that reads synchronously.
 * @param path - the path
 * @param follow - follow a symbolic link at the path's end (its target must still be a
 *   regular file); otherwise a link is reported as `{ link: true }`
 * @returns what is there; the caller closes a descriptor it gets
 * @throws the system's error (EACCES, EIO...) when the path cannot be opened or examined
 */
export async function openPath(path: string, follow = false): Promise<OpenedPath> {
  let fd: number;
  try {
    fd = await fdOpen(path, follow ? READ_FOLLOW_FLAGS : READ_FLAGS);
  } catch (e) {
    const found = failedOpen(e, follow, () => (follow ? stat : lstat)(path).then((t) => deviceAt(t, e), () => deviceAt(undefined, e)));
    if (found) return found;
    throw e;
  }
  let type: Stats;
  try {
    // Synchronous: fstat of an open descriptor does not block, and a trip through the thread
    // pool would cost more than the call.
    type = fstatSync(fd);
  } catch (e) {
    await fdClose(fd);
    throw e;
  }
  const at = openedAs(fd, type);
  if (!('fd' in at)) await fdClose(fd);
  return at;
}

/**
 * {@link openPath} without following a link at the path's end, synchronously: the same
 * flags and the same classification, for a pool thread that reads files synchronously.
 * @param path - the path
 * @returns what is there; the caller closes a descriptor it gets
 * @throws the system's error (EACCES, EIO...) when the path cannot be opened or examined
 */
export function openPathSync(path: string): OpenedPath {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (e) {
    const found = failedOpen(e, false, () => {
      try {
        return deviceAt(lstatSync(path), e);
      } catch {
        return deviceAt(undefined, e);
      }
    });
    if (found) return found;
    throw e;
  }
  let at: OpenedPath;
  try {
    at = openedAs(fd, fstatSync(fd));
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  if (!('fd' in at)) closeSync(fd);
  return at;
}

/**
 * Open a path for reading only if it is a regular file, without following a link at its end
 * and without blocking ({@link openPath}).
 * @param path - the path
 * @param key - the object's key, for messages
 * @returns the descriptor and the file's size when it was opened; undefined when the path is
 *   absent or a folder; `'link'` when it is a symbolic link
 * @throws ValidateLogsError `NOT_READABLE` for anything else that is there
 */
export async function openRegular(path: string, key: string): Promise<{ fd: number; size: number } | 'link' | undefined> {
  let at: OpenedPath;
  try {
    at = await openPath(path);
  } catch (e) {
    throw readError(e, key);
  }
  if ('fd' in at) return at;
  if ('link' in at) return 'link';
  if ('special' in at) throw notReadable(key, at.special, at.cause);
  return undefined;
}

/**
 * Read an open regular file from where it stands, up to one byte more than `maxBytes`: the
 * caller sees that it is larger without more being read. The buffer grows with what is read,
 * so a large bound costs nothing for a small file (nor for one whose size was 0 when opened).
 * @param fd - the descriptor (left open)
 * @param size - the file's size when it was opened
 * @param maxBytes - the largest size accepted
 * @returns the bytes read: `maxBytes + 1` of them when the file is larger
 * @throws the system's error when a read fails
 */
export async function readUpTo(fd: number, size: number, maxBytes: number): Promise<Buffer> {
  let out = Buffer.allocUnsafe(Math.min(size, maxBytes) + 1);
  let n = 0;
  for (;;) {
    if (n === out.length) {
      if (n > maxBytes) break;
      const grown = Buffer.allocUnsafe(Math.min(Math.max(2 * n, FIRST_BLOCK), maxBytes + 1));
      out.copy(grown, 0, 0, n);
      out = grown;
    }
    const got = await fdRead(fd, out.subarray(n));
    if (got === 0) break;
    n += got;
  }
  return out.subarray(0, n);
}

/**
 * Read a small regular file whole, refusing anything else (a FIFO never blocks the read).
 * @param path - the path
 * @param key - what it is, for messages
 * @param maxBytes - the largest size accepted
 * @returns its bytes, or undefined when it does not exist
 * @throws ValidateLogsError `NOT_READABLE` for anything but a regular file or when larger than `maxBytes`
 */
export async function readSmallFile(path: string, key: string, maxBytes: number): Promise<Buffer | undefined> {
  const file = await openRegular(path, key);
  if (file === 'link') throw notReadable(key, 'a symbolic link');
  if (file === undefined) return undefined;
  try {
    const out = await readUpTo(file.fd, file.size, maxBytes);
    if (out.length > maxBytes) throw notReadable(key, `larger than ${maxBytes} bytes`);
    return out;
  } catch (e) {
    throw e instanceof ValidateLogsError ? e : readError(e, key);
  } finally {
    await fdClose(file.fd);
  }
}

/** What {@link openUserFile} found: a regular file, open; or why it is not read (a few words), `absent` when nothing is there. */
export type UserFile = { fd: number; size: number } | { absent: true; why: string } | { why: string };

/**
 * Open a file a user named (a flag's file, a manifest, a report): a regular file, opened
 * without blocking, following a link at the path's end to a regular file ({@link openPath}).
 * A FIFO, socket, device or folder is refused before the first read.
 * @param path - the path
 * @returns the open file (read it with {@link readChunks}, which closes it); `absent` when nothing
 *   is there; otherwise why it is not read
 */
export async function openUserFile(path: string): Promise<UserFile> {
  let at: OpenedPath;
  try {
    at = await openPath(path, true);
  } catch (e) {
    return { why: errnoWords(e) };
  }
  if ('absent' in at) return (await lstat(path).then((s) => s.isSymbolicLink(), () => false)) ? { why: 'a symbolic link to nothing' } : { absent: true, why: 'no such file' };
  if ('folder' in at) return { why: 'a folder, not a file' };
  if ('link' in at) return { why: 'a symbolic link' }; // (not met: the link is followed)
  if ('special' in at) return { why: at.special };
  return at;
}

/** What {@link readWholeFile} found: the bytes, or why they are not read (a few words), `absent` when nothing is there. */
export type WholeFile = { bytes: Buffer } | { absent: true; why: string } | { why: string };

/**
 * Read a file a user named whole ({@link openUserFile}), at most `maxBytes`: a larger file is
 * refused by its size, unread, or after reading one byte past the bound when it grows (or a
 * size of 0 hid it, as /proc files do).
 * @param path - the path
 * @param maxBytes - the largest size accepted
 * @returns its bytes; `absent` when nothing is there; otherwise why it is not read
 */
export async function readWholeFile(path: string, maxBytes: number): Promise<WholeFile> {
  const at = await openUserFile(path);
  if (!('fd' in at)) return at;
  if (at.size > maxBytes) {
    await fdClose(at.fd);
    return { why: `larger than ${maxBytes} bytes` }; // said by its size: not read at all
  }
  try {
    const bytes = await readUpTo(at.fd, at.size, maxBytes);
    return bytes.length > maxBytes ? { why: `larger than ${maxBytes} bytes` } : { bytes };
  } catch (e) {
    return { why: errnoWords(e) };
  } finally {
    await fdClose(at.fd);
  }
}

/** An error as a few words: its reason when it is one for good, else its code or message. */
function errnoWords(e: unknown): string {
  return errnoReason(e) ?? (e as NodeJS.ErrnoException | undefined)?.code ?? (e instanceof Error ? e.message : String(e));
}

/**
 * The reading half of a local copy: `list`, `get` and `folders` over the directory `root`
 * (see the module's description for what it refuses).
 */
export class LocalReader {
  /** The directory. */
  readonly root: string;
  #realRoot: Promise<string> | undefined;
  readonly #dirs = new Map<string, Promise<Folder | undefined>>();
  /** First-read blocks, reused: reading many small files allocates nothing but their bytes. */
  readonly #blocks: Buffer[] = [];

  /** @param root - the directory (the bucket root) */
  constructor(root: string) {
    this.root = root;
  }

  /**
   * The root's real path.
   * @returns the path, once resolved
   * @throws ValidateLogsError `SOURCE_ERROR` when the root cannot be resolved
   */
  rootPath(): Promise<string> {
    this.#realRoot ??= realpath(this.root).catch((e: unknown) => {
      this.#realRoot = undefined;
      throw sourceError(e, `local copy ${this.root}`);
    });
    return this.#realRoot;
  }

  /**
   * A folder by key (`''` for the root; no trailing `/`), as reads see it: undefined when it
   * does not exist. Cached, with every folder above it: a trail's objects share a few date
   * folders. The key must already be checked with {@link keySegments}.
   */
  #folder(dirKey: string): Promise<Folder | undefined> {
    let dir = this.#dirs.get(dirKey);
    if (!dir) {
      if (this.#dirs.size >= DIR_CACHE_SIZE) this.#dirs.clear();
      if (dirKey === '') {
        dir = this.rootPath().then((real) => ({ real, links: 0 }));
      } else {
        const cut = dirKey.lastIndexOf('/');
        const parent = this.#folder(cut < 0 ? '' : dirKey.slice(0, cut));
        dir = parent.then((p) => p && this.#child(p, dirKey.slice(cut + 1), dirKey + '/'));
      }
      this.#dirs.set(dirKey, dir);
      dir.catch(() => this.#dirs.delete(dirKey));
    }
    return dir;
  }

  /** The folder `name` in `parent`: a folder, a link to one, or undefined (absent, or a file). */
  async #child(parent: Folder, name: string, key: string): Promise<Folder | undefined> {
    const path = parent.real + sep + name;
    let info: Stats | undefined;
    try {
      // Synchronous, as the listing examines entries: a folder is resolved once per run, and
      // a trip through the thread pool would hold back the first reads under it.
      info = lstatSync(path, { throwIfNoEntry: false });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw readError(e, key);
    }
    if (!info) return undefined;
    if (info.isDirectory()) return { real: path, links: parent.links };
    if (!info.isSymbolicLink()) return undefined;
    const target = await this.#link(path, parent, key);
    if (target.why !== undefined) throw notReadable(key, target.why);
    return target.folder ? { real: target.real!, links: parent.links + 1 } : undefined;
  }

  /**
   * Where the symbolic link at `path` (in `parent`) leads, or why it is not followed: a loop,
   * a target outside the root or missing, a second link on the path, or a target that is no
   * regular file or folder.
   */
  async #link(path: string, parent: Folder, key: string): Promise<LinkTarget> {
    let real: string;
    let stats: Stats;
    try {
      real = await realpath(path);
      stats = await stat(real);
    } catch (e) {
      if (isNotFound(e)) return { folder: false, why: 'a symbolic link to nothing' };
      const why = errnoReason(e);
      if (why) return { folder: false, why };
      throw sourceError(e, `resolving the symbolic link ${JSON.stringify(key)}`);
    }
    const folder = stats.isDirectory();
    const root = await this.rootPath();
    if (real !== root && !real.startsWith(root + sep)) return { folder, why: 'a symbolic link leading outside the local copy' };
    if (folder && (parent.real === real || parent.real.startsWith(real + sep))) {
      return { folder, why: 'a symbolic link to a folder that holds it (a loop)' };
    }
    if (parent.links >= MAX_LINKS) return { folder, why: `a symbolic link on a path that already went through ${MAX_LINKS} (no more are followed)` };
    const special = specialType(stats);
    if (special) return { folder, why: `a symbolic link to ${special}` };
    return { folder, real, stats };
  }

  /** A key's folder and name; undefined when its folder does not exist. */
  async #resolve(key: string): Promise<{ dir: Folder; name: string } | undefined> {
    const cut = key.lastIndexOf('/');
    const name = key.slice(cut + 1);
    // The folder part was checked when its real path was cached; the name is checked each time.
    const cached = cut > 0 ? this.#dirs.get(key.slice(0, cut)) : undefined;
    let dir: Folder | undefined;
    if (!cached || !SAFE_NAME_RE.test(name) || key.length > MAX_NAME_CHECKED) {
      keySegments(key);
      dir = await this.#folder(cut < 0 ? '' : key.slice(0, cut));
    } else {
      dir = await cached;
    }
    return dir && { dir, name };
  }

  /**
   * Where keys' files would be, their folders resolved as reads resolve them; nothing is opened.
   * @param keys - the keys
   * @returns a path for each; undefined where the key cannot be resolved (a read then tells why)
   */
  async filePaths(keys: readonly string[]): Promise<Array<string | undefined>> {
    const out = new Array<string | undefined>(keys.length);
    // Keys come many to a folder (a digest's logs share a date folder): each folder is resolved
    // once, and the keys in a row under it take its path with no promise each.
    let folder: string | undefined;
    let dir: Folder | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const cut = key.lastIndexOf('/');
      const name = key.slice(cut + 1);
      if (cut > 0 && SAFE_NAME_RE.test(name) && key.length <= MAX_NAME_CHECKED && folder !== undefined && key.length > folder.length && key.startsWith(folder) && cut === folder.length) {
        out[i] = dir && dir.real + sep + name;
        continue;
      }
      let at: { dir: Folder; name: string } | undefined;
      try {
        at = await this.#resolve(key);
      } catch {
        at = undefined;
      }
      out[i] = at && at.dir.real + sep + at.name;
      // The next keys in this folder follow when it was resolved as reads resolve it (its part of the key checked).
      folder = at ? key.slice(0, cut) : undefined;
      dir = at?.dir;
    }
    return out;
  }

  /** Open a key's regular file (with its size when opened); undefined when it is absent or a folder. */
  async #open(key: string): Promise<{ fd: number; size: number } | undefined> {
    const at = await this.#resolve(key);
    if (!at) return undefined;
    const path = at.dir.real + sep + at.name;
    const file = await openRegular(path, key);
    if (file !== 'link') return file;
    const target = await this.#link(path, at.dir, key);
    if (target.why !== undefined) throw notReadable(key, target.why);
    if (target.folder) return undefined;
    const linked = await openRegular(target.real!, key);
    if (linked === 'link') throw notReadable(key, 'a symbolic link that changed while it was read');
    return linked;
  }

  /**
   * Open a key's file and read its first block: a file smaller than the block is then read
   * whole and closed (open, read, close), a larger one goes on streaming.
   * @param key - the key
   * @returns the bytes and the size (the file's when it was opened), or undefined when it is absent or a folder
   * @throws ValidateLogsError `NOT_READABLE` when it is there but no regular file (or a link
   *   not followed), `UNSAFE_KEY` for a key that could climb out, `SOURCE_ERROR` on I/O errors
   */
  async openFile(key: string): Promise<{ body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>; size?: number } | undefined> {
    const file = await this.#open(key);
    if (file === undefined) return undefined;
    const fd = file.fd;
    const block = this.#blocks.pop() ?? Buffer.allocUnsafe(FIRST_BLOCK);
    let n: number;
    try {
      n = await fdRead(fd, block);
    } catch (e) {
      this.#blocks.push(block);
      await fdClose(fd);
      throw readError(e, key);
    }
    if (n < block.length) {
      await fdClose(fd);
      const whole = Buffer.from(block.subarray(0, n)); // a copy: the block goes back to the pool
      this.#blocks.push(block);
      return { body: [whole], size: n };
    }
    const first = Buffer.from(block);
    this.#blocks.push(block);
    // The rest is read in blocks of its size when it is smaller than a whole block (a digest
    // of a few hundred KB does not take 1 MiB), one byte more: its end is then seen in one read.
    const rest = Math.max(file.size - n + 1, FIRST_BLOCK);
    return { body: readChunks(fd, first, key, Math.min(rest, READ_CHUNK)), size: file.size };
  }

  /**
   * List keys under `prefix` after `startAfter`, in S3's order, recursively, as S3 lists
   * them. Every entry is yielded, the unreadable ones with `unreadable` set (a folder's key then
   * ends in `/`); an unreadable folder is yielded whenever a key under it could come after
   * `startAfter`. Only the copy's own files (metadata sidecars, a writer's lock and temporary
   * files), when they are regular files, are left out.
   * @param prefix - key prefix
   * @param after - only keys greater than this (`''` for all)
   * @param details - give `size` and `lastModified`
   * @throws ValidateLogsError `NOT_READABLE` when the prefix's own folder exists but cannot be listed
   */
  async *list(prefix: string, after: string, details: boolean): AsyncGenerator<ListedObject> {
    for await (const page of this.listPages(prefix, after, details)) yield* page;
  }

  /**
   * {@link LocalReader.list} in pages: up to {@link LIST_PAGE} entries of one folder at a time,
   * so that a consumer of many thousand keys takes one step per page, not per key.
   * @param prefix - key prefix
   * @param after - only keys greater than this (`''` for all)
   * @param details - give `size` and `lastModified`
   * @throws ValidateLogsError `NOT_READABLE` when the prefix's own folder exists but cannot be listed
   */
  async *listPages(prefix: string, after: string, details: boolean): AsyncGenerator<ListedObject[]> {
    const cut = prefix.lastIndexOf('/') + 1;
    const dirKey = prefix.slice(0, cut); // '' or ends with '/'
    if (dirKey !== '') keySegments(dirKey.slice(0, -1));
    const dir = await this.#folder(dirKey.slice(0, -1));
    if (!dir) return;
    const entries = await entriesOf(dir.real, dirKey || '/');
    if (!entries) return;
    yield* this.#walk(dir, dirKey, entries, prefix, after, details);
  }

  async *#walk(dir: Folder, dirKey: string, entries: Dirent[], prefix: string, after: string, details: boolean): AsyncGenerator<ListedObject[]> {
    // Links first: whether one is a folder decides its place in the order. (The loops over
    // every entry are functions of their own: a hot loop here would have V8 compile this whole
    // generator, and again after each deoptimization.)
    let links: Map<Dirent, LinkTarget> | undefined;
    for (const d of linksAmong(entries)) (links ??= new Map()).set(d, await this.#link(dir.real + sep + d.name, dir, dirKey + d.name));
    // S3 orders keys by their bytes: a folder's keys sort as "name/...". (Sorted by name, the
    // shared folder prefix left out; a key string is made only for the entry at hand, so a
    // folder of many thousand files does not become many thousand strings at once.) Each
    // entry's place is worked out once, not at every comparison.
    const folders = foldersAmong(entries, links);
    if (folders.size === 0) {
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } else {
      const order = (d: Dirent): string => (folders.has(d) ? d.name + '/' : d.name);
      entries.sort((a, b) => {
        const x = order(a);
        const y = order(b);
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }
    // Entries gather into a page, handed on when full and before a subfolder's pages.
    let page: ListedObject[] = [];
    const put = (o: ListedObject): ListedObject[] | undefined => {
      page.push(o);
      if (page.length < LIST_PAGE) return undefined;
      const full = page;
      page = [];
      return full;
    };
    // The next folder's entries are read while this one's are walked: each read waits on the
    // disk, and a trail has a folder a day.
    const ahead = new Map<string, Promise<Dirent[]>>();
    const readAhead = (from: number): void => {
      for (let j = from; j < entries.length; j++) {
        const e = entries[j]!;
        if (!folders.has(e) || links?.has(e)) continue;
        const kj = dirKey + e.name + '/';
        if (!(kj.startsWith(prefix) || prefix.startsWith(kj)) || (after >= kj && !after.startsWith(kj))) continue;
        if (nameProblem(e.name, kj) !== undefined || e.name.includes('\uFFFD')) continue; // (reported when reached, not read)
        const path = dir.real + sep + e.name;
        const read = readdir(path, { withFileTypes: true });
        read.catch(() => undefined); // an error is handled when the folder is reached
        ahead.set(path, read);
        return;
      }
    };
    const full: ListedObject[][] = [];
    for (let i = 0; i < entries.length; i++) {
      // A run of files whose names need no look on disk is listed in synchronous steps of a
      // page each; between two, the thread's other tasks get their turn (the messages of a
      // pool's threads, which wait for more work while a large folder is listed).
      i = this.#files(dir, dirKey, entries, i, folders, links, prefix, after, details, put, full);
      if (full.length > 0) {
        yield full.pop()!;
        await nextTurn();
        i--; // (the page is full: go on from the entry after its last)
        continue;
      }
      if (i >= entries.length) break;
      const d = entries[i]!;
      const link = links?.get(d);
      const folder = folders.has(d);
      const k = dirKey + (folder ? d.name + '/' : d.name);
      if (!(k.startsWith(prefix) || prefix.startsWith(k))) continue;
      if (folder) {
        // Every key below k starts with k; skip the folder when all of them are <= after.
        if (after >= k && !after.startsWith(k)) continue;
        const why = nameProblem(d.name, k) ?? (await this.#notUtf8(dir, d.name)) ?? link?.why;
        if (why !== undefined) {
          page.push({ key: k, unreadable: why });
          continue;
        }
        const sub: Folder = link ? { real: link.real!, links: dir.links + 1 } : { real: dir.real + sep + d.name, links: dir.links };
        let subEntries: Dirent[];
        const early = ahead.get(sub.real);
        ahead.delete(sub.real);
        readAhead(i + 1);
        try {
          subEntries = await (early ?? readdir(sub.real, { withFileTypes: true }));
        } catch (e) {
          if (isNotFound(e)) continue; // removed while listing
          page.push({ key: k, unreadable: errnoReason(e) ?? `cannot be listed (${(e as Error).message})` });
          continue;
        }
        if (page.length > 0) yield page;
        page = [];
        yield* this.#walk(sub, k, subEntries, prefix, after, details);
        continue;
      }
      if (k <= after || !k.startsWith(prefix)) continue;
      // (Only a name with U+FFFD in it comes here: #files lists the others.)
      const why = fileProblem(d, k, link) ?? (await this.#notUtf8(dir, d.name));
      if (why !== undefined) {
        page.push({ key: k, unreadable: why });
        continue;
      }
      const o = this.#file(dir, d, k, link, details);
      const done = o && put(o);
      if (done) yield done;
    }
    if (page.length > 0) yield page;
  }

  /**
   * List the entries from `from` on while they are files (not folders) whose names need no look
   * on disk (no U+FFFD in them), into the page, up to the first page filled (put in `full`); a
   * small synchronous loop of its own, which the JIT compiles apart from the walk around it.
   * @returns the place of the first entry it left (a folder, a name to look at, the one after a
   *   page filled, or the end)
   */
  #files(
    dir: Folder,
    dirKey: string,
    entries: readonly Dirent[],
    from: number,
    folders: ReadonlySet<Dirent>,
    links: ReadonlyMap<Dirent, LinkTarget> | undefined,
    prefix: string,
    after: string,
    details: boolean,
    put: (o: ListedObject) => ListedObject[] | undefined,
    full: ListedObject[][],
  ): number {
    let i = from;
    for (; i < entries.length; i++) {
      const d = entries[i]!;
      if (folders.has(d) || d.name.includes('\uFFFD')) break;
      const k = dirKey + d.name;
      if (k <= after || !k.startsWith(prefix)) continue;
      const link = links?.get(d);
      const why = fileProblem(d, k, link);
      const o = why !== undefined ? { key: k, unreadable: why } : this.#file(dir, d, k, link, details);
      const done = o && put(o);
      if (done) {
        full.push(done);
        return i + 1;
      }
    }
    return i;
  }

  /**
   * A file's listed object (with its size and time when asked); undefined for one of the
   * copy's own files, or one removed while listing.
   */
  #file(dir: Folder, d: Dirent, k: string, link: LinkTarget | undefined, details: boolean): ListedObject | undefined {
    if (isLayoutFile(d.name)) return undefined;
    if (!details) return { key: k };
    let info = link?.stats;
    if (!info) {
      try {
        // Synchronous: an entry just listed, examined without being opened or followed; a
        // trip through the thread pool would cost more than the call, once per object.
        info = lstatSync(dir.real + sep + d.name, { throwIfNoEntry: false });
      } catch (e) {
        return { key: k, unreadable: errnoReason(e) ?? `cannot be examined (${(e as Error).message})` };
      }
      if (!info) return undefined; // removed while listing
    }
    return { key: k, size: info.size, lastModified: info.mtime };
  }

  /**
   * Whether a name is not UTF-8: readdir gives it with U+FFFD in place of its bad bytes, and
   * then no file has the name it was given.
   */
  async #notUtf8(dir: Folder, name: string): Promise<string | undefined> {
    if (!name.includes('\uFFFD')) return undefined;
    try {
      await lstat(dir.real + sep + name);
      return undefined;
    } catch (e) {
      return isNotFound(e) ? 'its name is not valid UTF-8' : undefined;
    }
  }

  /**
   * The names of the folders (and links to folders) directly under a folder.
   * @param prefix - the folder's key, ending in `/`
   * @throws ValidateLogsError `NOT_READABLE` when the folder exists but cannot be listed
   */
  async *folders(prefix: string): AsyncGenerator<string> {
    const dirKey = prefix.replace(/\/$/, '');
    keySegments(dirKey);
    const dir = await this.#folder(dirKey);
    if (!dir) return;
    const entries = await entriesOf(dir.real, prefix);
    if (!entries) return;
    const names: string[] = [];
    for (const d of entries) {
      if (d.isDirectory()) names.push(d.name);
      else if (d.isSymbolicLink()) {
        const target = await this.#link(dir.real + sep + d.name, dir, prefix + d.name);
        if (target.folder && target.why === undefined) names.push(d.name);
      }
    }
    yield* names.sort();
  }
}

/** The symbolic links among a folder's entries. */
function linksAmong(entries: readonly Dirent[]): Dirent[] {
  const links: Dirent[] = [];
  for (let i = 0; i < entries.length; i++) if (entries[i]!.isSymbolicLink()) links.push(entries[i]!);
  return links;
}

/** The folders among a folder's entries: its subfolders, and its links to folders. */
function foldersAmong(entries: readonly Dirent[], links: ReadonlyMap<Dirent, LinkTarget> | undefined): Set<Dirent> {
  const folders = new Set<Dirent>();
  for (let i = 0; i < entries.length; i++) {
    const d = entries[i]!;
    if (d.isDirectory() || links?.get(d)?.folder === true) folders.add(d);
  }
  return folders;
}

/** The end of this turn of the event loop: the thread's other tasks (messages, timers) come first. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Why a listed file (not a folder) cannot be read as an object, if it cannot: its name, its link, or its type. */
function fileProblem(d: Dirent, key: string, link: LinkTarget | undefined): string | undefined {
  return nameProblem(d.name, key) ?? (link ? link.why : d.isFile() ? undefined : specialType(d));
}

/** Why an entry's name cannot be read back by its key (a backslash, a key too long), if it cannot. */
function nameProblem(name: string, key: string): string | undefined {
  if (key.length > MAX_NAME_CHECKED && Buffer.byteLength(key) > MAX_KEY_BYTES) return `its key is longer than ${MAX_KEY_BYTES} bytes`;
  if (name.includes('\\')) return 'its name holds a backslash, which no key read from a local copy may';
  return undefined;
}

/**
 * A file's bytes: its first block (already read), then chunks read into one buffer of `chunk`
 * bytes (no allocation per chunk). Each chunk is valid until the next is requested. The file is
 * closed at the end, on error, or when the consumer stops early.
 * @param fd - the open file
 * @param first - the bytes already read (may be empty)
 * @param key - what it is, for messages
 * @param chunk - the size of a read
 * @returns the chunks
 */
export async function* readChunks(fd: number, first: Uint8Array, key: string, chunk: number): AsyncGenerator<Uint8Array> {
  try {
    yield first;
    const buffer = Buffer.allocUnsafe(chunk);
    for (;;) {
      let n: number;
      try {
        n = await fdRead(fd, buffer);
      } catch (e) {
        throw readError(e, key);
      }
      if (n === 0) return;
      yield buffer.subarray(0, n);
    }
  } finally {
    await fdClose(fd);
  }
}

/**
 * The entries of a listed folder, undefined when it is gone.
 * @param real - its real path
 * @param what - its key, for the error
 * @throws ValidateLogsError (`readError`) when it exists but cannot be listed
 */
async function entriesOf(real: string, what: string): Promise<Dirent[] | undefined> {
  try {
    return await readdir(real, { withFileTypes: true });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw readError(e, what);
  }
}
