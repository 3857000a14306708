/**
 * A watcher's state in a local folder ({@link LocalStateStore}).
 *
 * The folder is made when absent; a symbolic link, FIFO or file where it or anything in it
 * goes is refused, never followed or read (`OUTPUT_UNSAFE` for a write, `STATE_INVALID` for a
 * read, naming the path). Files are opened without following a link and without blocking, and
 * their type is checked on the open descriptor. The state's version is the SHA-256 of its
 * bytes; a save takes `state.lock` (a file linked into place whole, naming pid, host and time),
 * re-reads the state, compares versions, writes aside, flushes, renames and releases. A lock
 * whose process is gone on this host, or older than {@link LOCK_STALE_MS}, is broken. What a
 * killed writer left (temporary files, a torn last history line) is cleaned up by the next.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { close, constants as fsc, type Stats } from 'node:fs';
import { link, lstat, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ValidateLogsError } from '../errors.js';
import { sha256Hex } from '../hash/sha256.js';
import { encodeUtf8 } from '../utils.js';
import { isNotFound, openPath, readUpTo, sourceError } from '../sources/local/read.js';
import { alive, kindOf, OutputFolder, sweepTemporaryBeside } from '../sources/local/write.js';
import {
  CHECKPOINT_NAME,
  HISTORY_FOLDER,
  MAX_CHECKPOINT_BYTES,
  MAX_HISTORY_FILE_BYTES,
  MAX_STATE_BYTES,
  STATE_NAME,
  checkPassRecord,
  checkStateDocument,
  dayFileName,
  daysInRange,
  newRecords,
  parseDayFile,
  parseState,
} from './state-format.js';
import type { LoadedState, PassRecord, StateStore, WatchState } from './types.js';

/** The lock's name in the folder. */
export const LOCK_NAME = 'state.lock';

/**
 * A lock older than this is broken even when its holder may be alive (on another host): a save
 * holds it for milliseconds, so two minutes is a holder that hung or a host that died.
 */
export const LOCK_STALE_MS: number = 2 * 60_000;

/** How long a save waits for a live holder's lock before it gives up (`STATE_CONFLICT`). */
const LOCK_WAIT_MS = 10_000;

/** Largest lock file read. */
const MAX_LOCK_BYTES = 4096;

/** Open flags of a history day file: appended, never through a link, never blocking. */
const APPEND_FLAGS = fsc.O_RDWR | fsc.O_APPEND | fsc.O_CREAT | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0);

function notState(shown: string, what: string): ValidateLogsError {
  return new ValidateLogsError('STATE_INVALID', `${shown} is ${what}, not a regular file; it was not read (a watcher never follows a link or reads anything else in its state folder)`);
}

/** Read a regular file in a folder, bounded; undefined when absent. */
async function readIn(folder: OutputFolder, name: string, maxBytes: number): Promise<Buffer | undefined> {
  const shown = join(folder.path, name);
  let at;
  try {
    at = await openPath(folder.at(name));
  } catch (e) {
    throw sourceError(e, `reading ${shown}`);
  }
  if ('absent' in at) return undefined;
  if ('link' in at) throw notState(shown, 'a symbolic link');
  if ('folder' in at) throw notState(shown, 'a folder');
  if ('special' in at) throw notState(shown, at.special.replace(/, not a regular file$/, ''));
  try {
    if (at.size > maxBytes) throw new ValidateLogsError('STATE_INVALID', `${shown} is larger than ${maxBytes} bytes; it was not read`);
    const bytes = await readUpTo(at.fd, at.size, maxBytes);
    if (bytes.length > maxBytes) throw new ValidateLogsError('STATE_INVALID', `${shown} is larger than ${maxBytes} bytes; it was not read`);
    return bytes;
  } catch (e) {
    throw e instanceof ValidateLogsError ? e : sourceError(e, `reading ${shown}`);
  } finally {
    await new Promise<void>((resolve) => close(at.fd, () => resolve()));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The state of a watcher in a local folder (see the module). */
export class LocalStateStore implements StateStore {
  /** The folder as the user gave it. */
  readonly where: string;

  /** @param where - the folder */
  constructor(where: string) {
    this.where = where;
  }

  /**
   * Open the folder: refused when a link or anything but a folder is there; made when absent
   * and `create` is set. Undefined when absent and not `create`.
   */
  async #folder(create: boolean, segments: string[] = []): Promise<OutputFolder | undefined> {
    let s: Stats | undefined;
    try {
      s = await lstat(this.where);
    } catch (e) {
      if (!isNotFound(e)) throw sourceError(e, `opening the state folder ${this.where}`);
    }
    if (s && !s.isDirectory()) {
      throw new ValidateLogsError('OUTPUT_UNSAFE', `the state folder ${this.where} is ${kindOf(s)}, not a folder; nothing was read or written there`);
    }
    if (!s && !create) return undefined;
    if (!create && segments.length > 0) {
      const sub = await lstat(join(this.where, ...segments)).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw sourceError(e, `opening ${join(this.where, ...segments)}`);
      });
      if (!sub) return undefined;
      if (!sub.isDirectory()) throw notState(join(this.where, ...segments), kindOf(sub));
    }
    try {
      return await OutputFolder.open(this.where, segments, create);
    } catch (e) {
      throw e instanceof ValidateLogsError ? e : sourceError(e, `opening the state folder ${this.where}`);
    }
  }

  /**
   * Read the state.
   * @returns the state and the SHA-256 of its bytes, or undefined when there is none
   * @throws ValidateLogsError `STATE_INVALID` when it is not a state, `OUTPUT_UNSAFE` when the
   *   folder is not a folder, `SOURCE_ERROR` on I/O errors
   */
  async load(): Promise<LoadedState | undefined> {
    const folder = await this.#folder(false);
    if (!folder) return undefined;
    try {
      const bytes = await readIn(folder, STATE_NAME, MAX_STATE_BYTES);
      if (!bytes) return undefined;
      return { state: parseState(bytes, join(folder.path, STATE_NAME)), tag: sha256Hex(bytes) };
    } finally {
      await folder.close();
    }
  }

  /**
   * Replace the state if it is still the one read (see the module).
   * @param state - the new state
   * @param tag - the version read; undefined when there was none
   * @returns the new version
   * @throws ValidateLogsError `STATE_CONFLICT` naming the folder when another writer got there first
   */
  async save(state: WatchState, tag: string | undefined): Promise<string> {
    checkStateDocument(state, this.where);
    const bytes = JSON.stringify(state) + '\n';
    return this.#locked(async (folder) => {
      const current = await readIn(folder, STATE_NAME, MAX_STATE_BYTES);
      const now = current && sha256Hex(current);
      if (now !== tag) {
        throw new ValidateLogsError(
          'STATE_CONFLICT',
          `another watcher wrote the state in ${this.where} first (${now === undefined ? 'it was removed' : tag === undefined ? 'it exists now' : 'it changed since it was read'}); nothing was written`,
        );
      }
      await folder.replace(STATE_NAME, bytes);
      return sha256Hex(encodeUtf8(bytes));
    });
  }

  /**
   * Append a pass to its day file, once (see the module).
   * @param record - the pass
   */
  async appendHistory(record: PassRecord): Promise<void> {
    checkPassRecord(record, this.where);
    await this.#locked(async () => {
      const folder = (await this.#folder(true, [HISTORY_FOLDER]))!;
      const name = dayFileName(record.startedAt);
      const shown = join(folder.path, name);
      let handle: FileHandle | undefined;
      try {
        try {
          handle = await open(folder.at(name), APPEND_FLAGS, 0o644);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ELOOP' || code === 'EISDIR' || code === 'ENXIO') {
            const s = await lstat(folder.at(name)).catch(() => undefined);
            throw notState(shown, s ? kindOf(s) : 'not a regular file');
          }
          throw e;
        }
        const s = await handle.stat();
        if (!s.isFile()) throw notState(shown, kindOf(s));
        if (s.size > MAX_HISTORY_FILE_BYTES) throw new ValidateLogsError('STATE_INVALID', `${shown} is larger than ${MAX_HISTORY_FILE_BYTES} bytes; nothing was appended`);
        const bytes = Buffer.alloc(s.size);
        let n = 0;
        while (n < s.size) {
          const { bytesRead } = await handle.read(bytes, n, s.size - n, n);
          if (bytesRead === 0) break;
          n += bytesRead;
        }
        const { records, tail } = parseDayFile(bytes.subarray(0, n), shown);
        if (tail === 'torn') await handle.truncate(bytes.subarray(0, n).lastIndexOf(0x0a) + 1); // a killed writer's half line
        if (records.some((r) => r.pass === record.pass)) {
          if (tail === 'unterminated') await handle.write('\n');
          return;
        }
        await handle.write((tail === 'unterminated' ? '\n' : '') + JSON.stringify(record) + '\n');
        await handle.sync();
      } catch (e) {
        throw e instanceof ValidateLogsError ? e : sourceError(e, `appending to ${shown}`);
      } finally {
        await handle?.close();
        await folder.close();
      }
    });
  }

  /**
   * The passes that started in `[from, to)`, oldest first, each once; a torn last line is skipped.
   * @param from - the earliest start wanted
   * @param to - the end (exclusive)
   * @returns the records
   */
  async *readHistory(from?: Date, to?: Date): AsyncIterable<PassRecord> {
    const folder = await this.#folder(false, [HISTORY_FOLDER]);
    if (!folder) return;
    try {
      let names: string[];
      try {
        names = await readdir(folder.at('.'));
      } catch (e) {
        throw sourceError(e, `listing ${folder.path}`);
      }
      const seen = new Set<number>();
      for (const name of daysInRange(names, from, to)) {
        const bytes = await readIn(folder, name, MAX_HISTORY_FILE_BYTES);
        if (!bytes) continue; // removed meanwhile
        yield* newRecords(bytes, join(folder.path, name), seen, from, to);
      }
    } finally {
      await folder.close();
    }
  }

  /**
   * Write `checkpoint.note` (aside, flushed, renamed into place).
   * @param text - the signed note
   */
  async publishCheckpoint(text: string): Promise<void> {
    if (Buffer.byteLength(text) > MAX_CHECKPOINT_BYTES) throw new ValidateLogsError('STATE_INVALID', `refusing to write a checkpoint of more than ${MAX_CHECKPOINT_BYTES} bytes to ${this.where}`);
    const folder = (await this.#folder(true))!;
    try {
      await sweepTemporaryBeside(join(this.where, CHECKPOINT_NAME));
      await folder.replace(CHECKPOINT_NAME, text);
    } catch (e) {
      throw e instanceof ValidateLogsError ? e : sourceError(e, `writing ${join(this.where, CHECKPOINT_NAME)}`);
    } finally {
      await folder.close();
    }
  }

  /** Run `work` holding the folder's lock (made when absent); temporary files of killed writers are swept first. */
  async #locked<T>(work: (folder: OutputFolder) => Promise<T>): Promise<T> {
    const folder = (await this.#folder(true))!;
    try {
      const release = await this.#lock(folder);
      try {
        await sweepTemporaryBeside(join(this.where, STATE_NAME));
        await sweepTemporaryBeside(join(this.where, LOCK_NAME));
        return await work(folder);
      } catch (e) {
        throw e instanceof ValidateLogsError ? e : sourceError(e, `writing the state in ${this.where}`);
      } finally {
        await release();
      }
    } finally {
      await folder.close();
    }
  }

  /** Take `state.lock`: linked into place whole; a dead or stale holder's lock is broken. */
  async #lock(folder: OutputFolder): Promise<() => Promise<void>> {
    const shown = join(folder.path, LOCK_NAME);
    const mine = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), nonce: randomBytes(8).toString('hex') }) + '\n';
    const deadline = Date.now() + LOCK_WAIT_MS;
    const file = await folder.begin(LOCK_NAME);
    try {
      await file.write(mine);
      for (;;) {
        if (await file.link()) break;
        const held = await readIn(folder, LOCK_NAME, MAX_LOCK_BYTES).catch((e: unknown) => {
          if (e instanceof ValidateLogsError && e.code === 'STATE_INVALID') {
            throw new ValidateLogsError('STATE_INVALID', `${e.message.replace(/; it was not read.*$/, '')}: it is not a watcher's lock; nothing was written (remove it)`);
          }
          throw e;
        });
        if (!held) continue; // released meanwhile
        let holder: { pid?: unknown; host?: unknown; since?: unknown } = {};
        try {
          holder = JSON.parse(held.toString('utf8')) as typeof holder;
        } catch {
          holder = {}; // not a lock this code wrote: stale by age only
        }
        const since = typeof holder.since === 'string' ? Date.parse(holder.since) : Number.NaN;
        const dead = typeof holder.pid === 'number' && holder.host === hostname() && !alive(holder.pid);
        const old = Number.isNaN(since) ? await lstat(folder.at(LOCK_NAME)).then((s) => Date.now() - s.mtimeMs > LOCK_STALE_MS, () => false) : Date.now() - since > LOCK_STALE_MS;
        if (dead || old) {
          await breakLock(folder, held);
          continue;
        }
        if (Date.now() > deadline) {
          throw new ValidateLogsError(
            'STATE_CONFLICT',
            `another watcher (pid ${String(holder.pid)} on ${String(holder.host)}) has held ${shown} for over ${LOCK_WAIT_MS / 1000} s; nothing was written`,
          );
        }
        await sleep(10 + Math.random() * 40);
      }
    } finally {
      await file.discard();
    }
    return async () => {
      // Only our own lock is removed: one broken as stale and taken by another stays theirs.
      const now = await readIn(folder, LOCK_NAME, MAX_LOCK_BYTES).catch(() => undefined);
      if (now?.toString('utf8') === mine) await unlink(folder.at(LOCK_NAME)).catch(() => undefined);
    };
  }
}

/**
 * Break a stale lock: move it aside (one breaker wins the rename), and if what was moved is not
 * the lock judged stale (a fresh lock taken meanwhile), put it back.
 */
async function breakLock(folder: OutputFolder, stale: Buffer): Promise<void> {
  const aside = `${LOCK_NAME}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`; // swept if a kill leaves it
  try {
    await rename(folder.at(LOCK_NAME), folder.at(aside));
  } catch (e) {
    if (isNotFound(e)) return; // another breaker got it
    throw e;
  }
  const moved = await readIn(folder, aside, MAX_LOCK_BYTES).catch(() => undefined);
  if (moved && !moved.equals(stale)) await link(folder.at(aside), folder.at(LOCK_NAME)).catch(() => undefined);
  await unlink(folder.at(aside)).catch(() => undefined);
}
