/**
 * Writing files: every output of the package (a local copy's objects, evidence, checkpoints,
 * time stamps, key lists, manifests and reports) is written here, and stays inside its target.
 *
 * The target is the folder the user named (`--save-to DIR`, `--local-dir DIR`, the folder of a
 * file named by a flag); it may itself be a symbolic link the user made, and is followed. Below
 * it nothing is followed: each folder is made if absent and opened with `O_DIRECTORY |
 * O_NOFOLLOW`, and each name inside is resolved from the folder so opened (on Linux through
 * `/proc/self/fd`, as `openat(2)` would), so a folder swapped for a link after it was opened
 * cannot redirect a write. A file is written aside in its final folder (created with `O_EXCL |
 * O_NOFOLLOW`), flushed, and renamed or hard-linked into place; a destination that is there and
 * is not a regular file (a symbolic link, dangling or not, a FIFO, a folder) is refused with
 * `OUTPUT_UNSAFE` naming it, and nothing is written. A link planted at the destination between
 * that check and the rename is replaced, never written through. Where `/proc/self/fd` is absent
 * (macOS), names are resolved from the folder's path, each folder still opened without
 * following a link: a folder swapped for a link in the instant between its check and a write
 * there is not seen.
 *
 * Also here: the one writer's lock of a chain folder, and the sweep of what killed writers left
 * half-written.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc, type Stats } from 'node:fs';
import { link, lstat, lutimes, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ValidateLogsError, isValidateLogsError } from '../../errors.js';
import { keySegments } from '../source.js';
import { isNotFound, readSmallFile, sourceError } from './read.js';
import { LOCK_NAME, TEMPORARY_RE, formatMetadata, sidecarKey } from './sidecar.js';

/** Largest lock file read (a pid, a host name and a time). */
const MAX_LOCK_BYTES = 4096;

/** Open flags of a folder under a target: a folder, never through a link, never blocking. */
const FOLDER_FLAGS = fsc.O_RDONLY | (fsc.O_DIRECTORY ?? 0) | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0);

/** Open flags of the target itself: a folder, through the user's own link if it is one. */
const TARGET_FLAGS = fsc.O_RDONLY | (fsc.O_DIRECTORY ?? 0) | (fsc.O_NONBLOCK ?? 0);

/** A folder's name below a target: never empty, `.` or `..`, and no `/` or NUL. */
const FOLDER_NAME_RE = /^(?!\.\.?$)[^/\0]+$/;

/** Open flags of a new file: made by this open, never over anything, never through a link. */
const NEW_FILE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0);

/**
 * A fresh temporary name beside `path`, which a later writer's sweep recognises (and removes
 * once its writer is gone): `<path>.tmp-<pid>-<12 hex>`.
 * @param path - the file it stands in for
 * @returns the temporary path
 */
export function temporaryPath(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * What a file found in the way is, in a few words.
 * @param s - its `lstat`
 * @returns `a symbolic link`, `a folder`, `a regular file`, `a FIFO (named pipe)`, ...
 */
export function kindOf(s: Stats): string {
  if (s.isSymbolicLink()) return 'a symbolic link';
  if (s.isDirectory()) return 'a folder';
  if (s.isFile()) return 'a regular file';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  return 'a device';
}

/**
 * The refusal of a write that would leave its target or replace what is not a regular file.
 * @param shown - the path in the way, as the user sees it
 * @param kind - what is there
 * @param wanted - what a write needs there
 * @returns an `OUTPUT_UNSAFE`
 */
function unsafe(shown: string, kind: string, wanted: string): ValidateLogsError {
  const why = kind === 'a symbolic link' ? ' (outputs never follow a link under the folder they are written to)' : '';
  return new ValidateLogsError('OUTPUT_UNSAFE', `refusing to write ${wanted === 'a folder' ? 'into ' : ''}${shown}: it is ${kind}, not ${wanted}${why}; nothing was written there`);
}

/** Whether `/proc/self/fd/N` names open folder N here (Linux); decided once. */
let procFds: Promise<boolean> | undefined;

function procWorks(handle: FileHandle): Promise<boolean> {
  procFds ??= Promise.all([handle.stat(), stat(`/proc/self/fd/${handle.fd}`)]).then(
    ([a, b]) => a.isDirectory() && a.dev === b.dev && a.ino === b.ino,
    () => false,
  );
  return procFds;
}

/**
 * A folder under an output target, opened without following a symbolic link anywhere below the
 * target: names inside it are resolved from the open folder where the system allows (Linux).
 * Close it once written.
 */
export class OutputFolder {
  /** The folder's path, as the user sees it (for messages). */
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #base: string;

  private constructor(path: string, handle: FileHandle, base: string) {
    this.path = path;
    this.#handle = handle;
    this.#base = base;
  }

  /**
   * Open a folder under a target, making each missing folder on the way; no symbolic link is
   * followed below the target.
   * @param target - the folder the user named (made, with its parents, when `create` is set;
   *   followed if it is a link)
   * @param segments - the folders below it, already checked (no empty, `.` or `..` segment)
   * @param create - whether to make the target when it is absent
   * @returns the open folder
   * @throws ValidateLogsError `OUTPUT_UNSAFE` naming a link, file, FIFO or other non-folder on
   *   the way, `UNSAFE_KEY` for a segment that is no folder name; Node's own error when the
   *   target cannot be made or opened
   */
  static async open(target: string, segments: readonly string[] = [], create = false): Promise<OutputFolder> {
    if (create) await mkdir(target, { recursive: true });
    let folder = await OutputFolder.#opened(target, target, (await openFolder(target, target, TARGET_FLAGS))!);
    try {
      for (const name of segments) {
        if (!FOLDER_NAME_RE.test(name)) throw new ValidateLogsError('UNSAFE_KEY', `${JSON.stringify(name)} cannot name a folder under ${target}`);
        const at = folder.at(name);
        const shown = join(folder.path, name);
        let handle = await openFolder(at, shown, FOLDER_FLAGS, true);
        if (!handle) {
          await mkdir(at).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'EEXIST') throw e; // made meanwhile: opened below, as any folder
          });
          handle = (await openFolder(at, shown, FOLDER_FLAGS))!;
        }
        const next = await OutputFolder.#opened(shown, at, handle);
        await folder.close();
        folder = next;
      }
    } catch (e) {
      await folder.close();
      throw e;
    }
    return folder;
  }

  static async #opened(shown: string, at: string, handle: FileHandle): Promise<OutputFolder> {
    return new OutputFolder(shown, handle, (await procWorks(handle)) ? `/proc/self/fd/${handle.fd}` : at);
  }

  /**
   * The path to give a system call for `name` in this folder: resolved from the open folder
   * where the system allows.
   * @param name - a name in the folder (no `/`)
   * @returns the path
   */
  at(name: string): string {
    return `${this.#base}/${name}`;
  }

  /**
   * Whether `name` is there: false when absent, true for a regular file.
   * @param name - the name
   * @returns whether a regular file is there
   * @throws ValidateLogsError `OUTPUT_UNSAFE` when something else is there (a symbolic link, a
   *   FIFO, a folder)
   */
  async holds(name: string): Promise<boolean> {
    return (await this.modified(name)) !== undefined;
  }

  /**
   * When the regular file `name` was last modified.
   * @param name - the name
   * @returns its modification time, or undefined when absent
   * @throws ValidateLogsError `OUTPUT_UNSAFE` when something else is there (a symbolic link, a
   *   FIFO, a folder)
   */
  async modified(name: string): Promise<Date | undefined> {
    let s: Stats;
    try {
      s = await lstat(this.at(name));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    if (!s.isFile()) throw unsafe(join(this.path, name), kindOf(s), 'a regular file');
    return s.mtime;
  }

  /**
   * Set the regular file `name`'s modification time to now, its bytes untouched (a link put
   * there meanwhile is never followed).
   * @param name - the name
   * @throws ValidateLogsError `OUTPUT_UNSAFE` when something else than a regular file is there
   *   (nothing is done when it is absent)
   */
  async touch(name: string): Promise<void> {
    if (!(await this.holds(name))) return;
    const now = new Date();
    await lutimes(this.at(name), now, now);
  }

  /**
   * Begin writing `name`: a temporary file beside it, made by this call. Nothing is at `name`
   * until the file is moved into place ({@link PendingFile.replace},
   * {@link PendingFile.addIfAbsent}), which checks what is there.
   * @param name - the file's name in this folder
   * @returns the file being written
   */
  async begin(name: string): Promise<PendingFile> {
    const tmp = basename(temporaryPath(name));
    return new PendingFile(this, name, tmp, await open(this.at(tmp), NEW_FILE_FLAGS, 0o644));
  }

  /**
   * Write a whole file, replacing a regular file there.
   * @param name - the file's name in this folder
   * @param data - its bytes
   * @throws ValidateLogsError `OUTPUT_UNSAFE` when something else than a regular file is at `name`
   */
  async replace(name: string, data: Uint8Array | string): Promise<void> {
    await this.holds(name); // refused before anything is written
    const file = await this.begin(name);
    await file.write(data);
    await file.replace();
  }

  /** Flush the folder's entries to disk (a rename or link made in it). */
  async sync(): Promise<void> {
    await this.#handle.sync();
  }

  /** Close the folder. */
  async close(): Promise<void> {
    await this.#handle.close();
  }
}

/** Open a folder with `flags`, or say what is in the way; undefined when absent and `absent` is set. */
async function openFolder(at: string, shown: string, flags: number, absent = false): Promise<FileHandle | undefined> {
  try {
    return await open(at, flags);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (absent && code === 'ENOENT') return undefined;
    if (code !== 'ELOOP' && code !== 'ENOTDIR' && code !== 'EMLINK') throw e;
    const s = await lstat(at).catch(() => undefined);
    throw unsafe(shown, s ? kindOf(s) : 'a symbolic link', 'a folder');
  }
}

/**
 * A file being written aside in its final folder (a temporary file made with `O_EXCL |
 * O_NOFOLLOW`), until it is flushed and moved into place, or discarded.
 */
export class PendingFile {
  readonly #folder: OutputFolder;
  readonly #name: string;
  readonly #tmp: string;
  readonly #handle: FileHandle;
  #closed = false;

  /**
   * @param folder - its folder
   * @param name - its final name
   * @param tmp - the temporary file's name
   * @param handle - the temporary file, open for writing
   */
  constructor(folder: OutputFolder, name: string, tmp: string, handle: FileHandle) {
    this.#folder = folder;
    this.#name = name;
    this.#tmp = tmp;
    this.#handle = handle;
  }

  /**
   * Append bytes.
   * @param data - the bytes
   */
  async write(data: Uint8Array | string): Promise<void> {
    try {
      await this.#handle.writeFile(data);
    } catch (e) {
      await this.discard();
      throw e;
    }
  }

  async #flush(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#handle.sync();
    } finally {
      await this.#handle.close();
    }
  }

  /**
   * Flush the file and rename it into place, replacing a regular file there: a reader sees the
   * old bytes or the new, never a part.
   * @param syncFolder - whether to flush the folder's entries too (false for a writer that
   *   flushes each folder once, after its last file there: {@link OutputFolder.sync})
   * @throws ValidateLogsError `OUTPUT_UNSAFE` when something else than a regular file is there
   */
  async replace(syncFolder = true): Promise<void> {
    try {
      await this.#flush();
      await this.#folder.holds(this.#name);
      await rename(this.#folder.at(this.#tmp), this.#folder.at(this.#name));
    } catch (e) {
      await this.discard();
      throw e;
    }
    if (syncFolder) await this.#folder.sync();
  }

  /**
   * Flush the file and hard-link it into place unless something is there, which is never
   * replaced (the temporary file stays, for another try).
   * @returns true when linked; false when something is there
   */
  async link(): Promise<boolean> {
    await this.#flush();
    try {
      await link(this.#folder.at(this.#tmp), this.#folder.at(this.#name));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  }

  /**
   * Flush the file and hard-link it into place unless something is there, which is never
   * replaced; the temporary file is then removed.
   * @returns true when written; false when a regular file is already there
   * @throws ValidateLogsError `OUTPUT_UNSAFE` when something else than a regular file is there
   */
  async addIfAbsent(): Promise<boolean> {
    try {
      if ((await this.#folder.holds(this.#name)) || !(await this.link())) {
        await this.#folder.holds(this.#name); // a link or FIFO that appeared meanwhile is named
        return false;
      }
    } finally {
      await this.discard();
    }
    await this.#folder.sync();
    return true;
  }

  /** Remove the temporary file (a write that is abandoned). */
  async discard(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      await this.#handle.close().catch(() => undefined);
    }
    await unlink(this.#folder.at(this.#tmp)).catch(() => undefined);
  }
}

/**
 * Write a whole file, replacing a regular file there, inside the folder it names (the target:
 * followed if it is a link the user made, and made when `create` is set).
 * @param path - the file
 * @param data - its bytes
 * @param create - whether to make its folder when absent
 * @throws ValidateLogsError `OUTPUT_UNSAFE` naming the path when something else than a regular
 *   file is there (a symbolic link, dangling or not, a FIFO, a folder); Node's own error for
 *   other failures
 */
export async function writeOutput(path: string, data: Uint8Array | string, create = false): Promise<void> {
  await inFolderOf(path, create, (folder, name) => folder.replace(name, data));
}

/**
 * Check, before the work that leads to a write, what is where a file will be written: nothing,
 * or a regular file (which the write will replace).
 * @param path - the file
 * @param create - whether to make its folder when absent
 * @returns whether a regular file is there
 * @throws ValidateLogsError `OUTPUT_UNSAFE` naming the path when something else is there
 */
export function outputExists(path: string, create = false): Promise<boolean> {
  return inFolderOf(path, create, (folder, name) => folder.holds(name));
}

/**
 * When the regular file at a path was last modified (as {@link outputExists} checks it).
 * @param path - the file
 * @returns its modification time, or undefined when absent
 * @throws ValidateLogsError `OUTPUT_UNSAFE` naming the path when something else is there
 */
export function outputModified(path: string): Promise<Date | undefined> {
  return inFolderOf(path, false, (folder, name) => folder.modified(name));
}

/**
 * Set the modification time of the regular file at a path to now, its bytes untouched.
 * @param path - the file
 * @throws ValidateLogsError `OUTPUT_UNSAFE` naming the path when something else is there
 */
export function touchOutput(path: string): Promise<void> {
  return inFolderOf(path, false, (folder, name) => folder.touch(name));
}

async function inFolderOf<T>(path: string, create: boolean, work: (folder: OutputFolder, name: string) => Promise<T>): Promise<T> {
  const folder = await OutputFolder.open(dirname(path), [], create);
  try {
    return await work(folder, basename(path));
  } finally {
    await folder.close();
  }
}

/**
 * Write an object and its metadata sidecar atomically, never replacing an existing object:
 * both are written to temporary files first; the sidecar is moved into place (replacing only
 * an orphan sidecar left by a crash), then the object is hard-linked into place, which fails
 * if it exists. A crash at any instant leaves either no object or a whole one. No symbolic link
 * under the root is followed.
 * @param root - the root's real path
 * @param key - the key
 * @param body - the bytes
 * @param metadata - S3 user metadata, kept in the sidecar (none when empty)
 * @returns true when written, false when an object already exists at the key
 * @throws ValidateLogsError `UNSAFE_KEY` for a key that would land outside the root,
 *   `OUTPUT_UNSAFE` for a symbolic link on its path or anything but a regular file at the key
 *   or its sidecar, `SOURCE_ERROR` on I/O errors
 */
export async function putIfAbsent(root: string, key: string, body: Uint8Array, metadata: Record<string, string>): Promise<boolean> {
  const segments = keySegments(key);
  const name = segments.pop()!;
  let dir: OutputFolder | undefined;
  try {
    dir = await OutputFolder.open(root, segments);
    if (await dir.holds(name)) return false;
    if (Object.keys(metadata).length > 0) await dir.replace(sidecarKey(name), formatMetadata(metadata));
    const file = await dir.begin(name);
    await file.write(body);
    return await file.addIfAbsent();
  } catch (e) {
    if (e instanceof ValidateLogsError) throw e;
    throw sourceError(e, `writing ${JSON.stringify(key)}`);
  } finally {
    await dir?.close();
  }
}

/**
 * Whether a process of this host is running.
 * @param pid - its id
 * @returns true when it runs (or exists but is another user's)
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take the writer's lock of a folder: a `.write-digests.lock` file created exclusively, holding
 * the writer's pid. A lock left by a writer that is no longer running (killed) is taken over;
 * a live writer's lock is a `CHAIN_CONFLICT`. Once the lock is held, temporary files a killed
 * writer left in the folder are removed.
 * @param root - the root's real path
 * @param folder - the folder's key, ending in `/`
 * @returns the function that releases the lock
 * @throws ValidateLogsError `CHAIN_CONFLICT` when a live writer holds it, `NOT_READABLE` when
 *   something else than a lock file is in its place
 */
export async function lockFolder(root: string, folder: string): Promise<() => Promise<void>> {
  const dir = await OutputFolder.open(root, keySegments(folder.replace(/\/$/, '')));
  const shown = join(dir.path, LOCK_NAME);
  try {
    // The lock appears whole or not at all: written aside, then hard-linked into place.
    const file = await dir.begin(LOCK_NAME);
    try {
      await file.write(JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }) + '\n');
      for (let tries = 0; !(await file.link()); tries++) {
        if (tries > 2) throw new ValidateLogsError('SOURCE_ERROR', `locking ${folder}: the lock ${shown} keeps coming back`);
        let holder: { pid?: unknown; host?: unknown } = {};
        try {
          const text = await readSmallFile(dir.at(LOCK_NAME), `${folder}${LOCK_NAME}`, MAX_LOCK_BYTES);
          if (text === undefined) continue; // released meanwhile
          holder = JSON.parse(text.toString('utf8')) as typeof holder;
        } catch (readError) {
          if (isValidateLogsError(readError, 'NOT_READABLE')) {
            throw new ValidateLogsError('NOT_READABLE', `${readError.message}: it is not a writer's lock; nothing was written (remove it)`, { cause: readError });
          }
          if (!(readError instanceof SyntaxError)) throw readError instanceof ValidateLogsError ? readError : sourceError(readError, `reading the lock ${shown}`);
          continue; // unreadable: try again
        }
        if (typeof holder.pid === 'number' && holder.host === hostname() && alive(holder.pid)) {
          throw new ValidateLogsError('CHAIN_CONFLICT', `another writer (pid ${holder.pid}) is writing this chain (lock ${shown}); nothing was written`);
        }
        await unlink(dir.at(LOCK_NAME)).catch(() => undefined); // a killed writer's lock
      }
    } finally {
      await file.discard();
    }
    await sweepTemporary(dir.at('.'), dir.path);
  } catch (e) {
    await dir.close();
    throw e instanceof ValidateLogsError ? e : sourceError(e, `locking ${folder}`);
  }
  return async () => {
    await unlink(dir.at(LOCK_NAME)).catch(() => undefined);
    await dir.close();
  };
}

/**
 * Remove what killed writers left half-written under `dir`: temporary files whose writer is no
 * longer running (a live contender's lock attempt is left alone).
 */
async function sweepTemporary(dir: string, shown: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw sourceError(e, `sweeping ${shown}`);
  }
  for (const d of entries) {
    const p = join(dir, d.name);
    if (d.isDirectory()) {
      await sweepTemporary(p, join(shown, d.name));
      continue;
    }
    const pid = TEMPORARY_RE.exec(d.name)?.[1];
    if (pid !== undefined && !alive(Number(pid))) await unlink(p).catch(() => undefined);
  }
}

/**
 * Remove the temporary files that killed writers left beside one file (`<path>.tmp-<pid>-<12
 * hex>` whose writer is no longer running): for a file replaced with {@link writeOutput} outside
 * a locked folder, such as a key list.
 * @param path - the file
 */
export async function sweepTemporaryBeside(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return; // no folder: nothing left in it (writing the file reports the error)
  }
  for (const name of names) {
    const pid = name.startsWith(prefix) ? TEMPORARY_RE.exec(name)?.[1] : undefined;
    if (pid !== undefined && !alive(Number(pid))) await unlink(join(dir, name)).catch(() => undefined);
  }
}
