/**
 * Writing into a local copy: objects stored atomically and never over an existing one, the one
 * writer's lock of a chain folder, and the sweep of what killed writers left half-written.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readdir, realpath, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, sep } from 'node:path';
import { ValidateLogsError, isValidateLogsError } from '../../errors.js';
import { keySegments } from '../source.js';
import { isNotFound, readSmallFile, sourceError } from './read.js';
import { LOCK_NAME, TEMPORARY_RE, formatMetadata, sidecarKey } from './sidecar.js';

/** Largest lock file read (a pid, a host name and a time). */
const MAX_LOCK_BYTES = 4096;

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
 * Write a new file and flush it to disk; fails if it exists.
 * @param path - the file
 * @param data - its bytes
 */
export async function writeDurable(path: string, data: Uint8Array | string): Promise<void> {
  const h = await open(path, 'wx', 0o644);
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Replace a file as a whole: written aside, flushed, then renamed over it, so a reader sees
 * the old bytes or the new, never a part.
 * @param path - the file
 * @param data - its new bytes
 */
export async function replaceFile(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = temporaryPath(path);
  try {
    await writeDurable(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
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
 * Make the folder of a key (or a folder key's own folder) and check that it is inside the root
 * (no symbolic link on its path leads out).
 * @param root - the root's real path
 * @param segments - the folder's key segments, checked
 * @param key - what is written there, for messages
 * @returns the folder's path
 * @throws ValidateLogsError `UNSAFE_KEY` when it resolves outside the root
 */
async function writableFolder(root: string, segments: string[], key: string): Promise<string> {
  const dir = join(root, ...segments);
  await mkdir(dir, { recursive: true });
  const real = await realpath(dir);
  if (real !== root && !real.startsWith(root + sep)) {
    throw new ValidateLogsError('UNSAFE_KEY', `key ${JSON.stringify(key)} resolves outside the local copy (through a symbolic link); nothing was written`);
  }
  return dir;
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

/**
 * Write an object and its metadata sidecar atomically, never replacing an existing object:
 * both are written to temporary files first; the sidecar is moved into place (replacing only
 * an orphan sidecar left by a crash), then the object is hard-linked into place, which fails
 * if it exists. A crash at any instant leaves either no object or a whole one.
 * @param root - the root's real path
 * @param key - the key
 * @param body - the bytes
 * @param metadata - S3 user metadata, kept in the sidecar (none when empty)
 * @returns true when written, false when something already exists at the key
 * @throws ValidateLogsError `UNSAFE_KEY` for a key that would land outside the root, `SOURCE_ERROR` on I/O errors
 */
export async function putIfAbsent(root: string, key: string, body: Uint8Array, metadata: Record<string, string>): Promise<boolean> {
  const segments = keySegments(key);
  const name = segments.pop()!;
  try {
    const dir = await writableFolder(root, segments, key);
    const path = join(dir, name);
    if (await exists(path)) return false;
    if (Object.keys(metadata).length > 0) await replaceFile(join(dir, sidecarKey(name)), formatMetadata(metadata));
    const tmp = temporaryPath(path);
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
    throw sourceError(e, `writing ${JSON.stringify(key)}`);
  }
}

function alive(pid: number): boolean {
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
  const dir = await writableFolder(root, keySegments(folder.replace(/\/$/, '')), folder);
  const path = join(dir, LOCK_NAME);
  // The lock appears whole or not at all: written aside, then hard-linked into place.
  const tmp = temporaryPath(path);
  await writeDurable(tmp, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }) + '\n');
  try {
    for (let tries = 0; ; tries++) {
      try {
        await link(tmp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 2) throw sourceError(e, `locking ${folder}`);
        let holder: { pid?: unknown; host?: unknown } = {};
        try {
          const text = await readSmallFile(path, `${folder}${LOCK_NAME}`, MAX_LOCK_BYTES);
          if (text === undefined) continue; // released meanwhile
          holder = JSON.parse(text.toString('utf8')) as typeof holder;
        } catch (readError) {
          if (isValidateLogsError(readError, 'NOT_READABLE')) {
            throw new ValidateLogsError('NOT_READABLE', `${readError.message}: it is not a writer's lock; nothing was written (remove it)`, { cause: readError });
          }
          if (!(readError instanceof SyntaxError)) throw readError instanceof ValidateLogsError ? readError : sourceError(readError, `reading the lock ${path}`);
          continue; // unreadable: try again
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
 * Remove what killed writers left half-written under `dir`: temporary files whose writer is no
 * longer running (a live contender's lock attempt is left alone).
 */
async function sweepTemporary(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw sourceError(e, `sweeping ${dir}`);
  }
  for (const d of entries) {
    const p = join(dir, d.name);
    if (d.isDirectory()) {
      await sweepTemporary(p);
      continue;
    }
    const pid = TEMPORARY_RE.exec(d.name)?.[1];
    if (pid !== undefined && !alive(Number(pid))) await unlink(p).catch(() => undefined);
  }
}

/**
 * Remove the temporary files that killed writers left beside one file (`<path>.tmp-<pid>-<12
 * hex>` whose writer is no longer running): for a file replaced with {@link replaceFile} outside
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
