/**
 * Whether a run over a local copy is too small for the hashing threads: starting a thread
 * costs tens of milliseconds of CPU (its own Node.js runtime, its modules), more than it can
 * save on a handful of small files, and a run over a dozen small logs pays it on every shard,
 * every `watch --once` pass. The command looks at the files of the trail's folders for the
 * days of the run (logs and digests of every region it validates) before the run and stops
 * looking as soon as they are too many: only a run of at most {@link SMALL_RUN_FILES} files of
 * at most {@link SMALL_RUN_BYTES} stored bytes in all is run on the main thread. It decides only
 * where the same code runs, never what it finds.
 * @module
 */
import { opendirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { digestFolder, logFolder, type TrailRef } from '../format/keys.js';
import { formatDateFolders } from '../format/time.js';

/** Files (logs and digests) a run may have and still be run without threads. */
export const SMALL_RUN_FILES = 256;
/** Stored bytes of those files in all, at most. */
export const SMALL_RUN_BYTES: number = 2 * 1024 * 1024;
/** Days of folders looked into per region, at most (a longer range is not called small). */
const MOST_DAYS = 16;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** What {@link isSmallLocalRun} looks at. */
export interface LocalRunScope {
  /** The folder holding the bucket's files (the source's `fileRoot`). */
  root: string;
  /** The trail, one entry per region validated. */
  trails: readonly TrailRef[];
  /** The range's start. */
  start: Date;
  /** The range's end. */
  end: Date;
  /** How long after the range logs are still looked at (`--tail-grace`). */
  tailGraceMs: number;
}

/**
 * Whether the run's files are few and small enough for the main thread alone: the day folders
 * of its logs and digests (from an hour before the start to an hour and the tail grace after
 * the end) hold at most {@link SMALL_RUN_FILES} entries of at most {@link SMALL_RUN_BYTES} in
 * all. Entries of the whole day count (more than the run reads: never fewer). Anything
 * unexpected (a folder that cannot be read, an entry that cannot be sized) is not small. The
 * folders are read synchronously: a few hundred entries at most, where a round trip to libuv's
 * threads for each folder and file took longer than the reads on a loaded machine.
 * @param scope - where and when
 * @returns true when the run is small
 */
export function isSmallLocalRun(scope: LocalRunScope): boolean {
  const from = Math.floor((scope.start.getTime() - HOUR_MS) / DAY_MS);
  const to = Math.floor((scope.end.getTime() + HOUR_MS + scope.tailGraceMs) / DAY_MS);
  if (!(to - from < MOST_DAYS)) return false;
  const paths: string[] = [];
  try {
    for (const trail of scope.trails) {
      for (const folder of [logFolder(trail), digestFolder(trail)]) {
        for (let day = from; day <= to; day++) {
          const dir = join(scope.root, folder, formatDateFolders(new Date(day * DAY_MS)));
          if (!names(dir, paths)) return false;
        }
      }
    }
    let bytes = 0;
    for (const path of paths) {
      bytes += statSync(path).size;
      if (bytes > SMALL_RUN_BYTES) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Add the paths of a folder's entries to `paths`, stopping once there are more than
 * {@link SMALL_RUN_FILES}.
 * @returns false when there are too many; true also when the folder does not exist
 */
function names(dir: string, paths: string[]): boolean {
  let d;
  try {
    d = opendirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
  try {
    for (let entry = d.readSync(); entry !== null; entry = d.readSync()) {
      paths.push(join(dir, entry.name));
      if (paths.length > SMALL_RUN_FILES) return false;
    }
    return true;
  } finally {
    d.closeSync();
  }
}
