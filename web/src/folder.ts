/**
 * A folder dropped on the page, read through its entries (`DataTransferItem.webkitGetAsEntry()`):
 * listed a batch of entries at a time (`FileSystemDirectoryReader.readEntries`, a hundred or so
 * in Chromium), the page's thread given back between batches, and its files opened only when a
 * run needs them. The file input instead makes the browser list (and stat) a whole folder in
 * one task before the page sees it: seconds for ten thousand files.
 *
 * Not `showDirectoryPicker()` or `getAsFileSystemHandle()`: Chromium's File System Access
 * handles leave out of a folder's listing every name it deems unsafe (a trailing dot or space, a
 * colon, `?`, `*`, `"`, `<`, `>`, `|`, a backslash, a tab, `desktop.ini`, `*.lnk`, reserved
 * device names...), so an object planted under such a name would go unseen; the entries list
 * everything the file input lists.
 * @module
 */
import { SLICE_MS, yieldToPage } from './slices.js';

/** The little of a `FileSystemEntry` the walk uses (a file's or a folder's). */
export interface EntryLike {
  /** A file (else a folder). */
  readonly isFile: boolean;
  /** A folder. */
  readonly isDirectory: boolean;
  /** Its name. */
  readonly name: string;
  /** A file's contents, as a `File` (files only). */
  file?(success: (file: File) => void, failure?: (error: DOMException) => void): void;
  /** A reader of a folder's entries (folders only). */
  createReader?(): { readEntries(success: (entries: EntryLike[]) => void, failure?: (error: DOMException) => void): void };
}

/** A file of a dropped folder, not opened yet: its path (as the file input gives it) and its entry. */
export interface DroppedFile {
  /** `/`-separated path; the first segment is the dropped folder. */
  path: string;
  /** The entry that opens it. */
  entry: EntryLike;
}

const now = (): number => performance.now();

/** The next batch of a folder's entries (empty at its end). */
const readBatch = (reader: ReturnType<NonNullable<EntryLike['createReader']>>): Promise<EntryLike[]> =>
  new Promise((resolve, reject) => reader.readEntries(resolve, reject));

/**
 * Every file under dropped entries, by path, listed a batch at a time; no file is opened. A
 * symbolic link is neither followed nor listed (Chromium leaves links out, as its file input does).
 * @param entries - the dropped entries (a folder, usually)
 * @param stopped - asked between batches: true ends the walk (the result is then undefined)
 * @returns the files, in the order met
 * @throws Error naming a folder that cannot be listed, and why
 */
export async function droppedFiles(entries: readonly EntryLike[], stopped: () => boolean = () => false): Promise<DroppedFile[] | undefined> {
  const out: DroppedFile[] = [];
  const folders: Array<{ entry: EntryLike; path: string }> = [];
  const take = (e: EntryLike, parent: string): void => {
    const path = parent + e.name;
    if (e.isFile) out.push({ path, entry: e });
    else if (e.isDirectory) folders.push({ entry: e, path: `${path}/` });
  };
  for (const e of entries) take(e, '');
  let until = now() + SLICE_MS;
  for (let folder = folders.shift(); folder; folder = folders.shift()) {
    const reader = folder.entry.createReader!();
    for (;;) {
      // A task of its own: the thread is the browser's meanwhile. A folder that cannot be listed
      // stops the pick, named: its files cannot be accounted for.
      const batch = await readBatch(reader).catch((e: unknown) => {
        throw new Error(`${folder.path} cannot be listed: ${e instanceof Error ? e.message || e.name : String(e)}`);
      });
      if (stopped()) return undefined;
      if (batch.length === 0) break;
      for (const e of batch) take(e, folder.path);
      if (now() >= until) {
        await yieldToPage();
        if (stopped()) return undefined;
        until = now() + SLICE_MS;
      }
    }
  }
  return out;
}

/** Open a dropped file: its `File`, or why it cannot be read (removed or changed since it was listed...). */
export function openDropped(f: DroppedFile): Promise<File | Error> {
  return new Promise((resolve) =>
    f.entry.file!(resolve, (e) => resolve(e instanceof Error ? e : new Error(String(e)))),
  );
}

/**
 * Files being opened at once. The browser answers each in a message of its own, and the answers
 * that have come in are handled in one task: 64 at once made tasks of 50-170 ms while a run of
 * 10,000 files was sent (Chromium, 2 loaded cores); 8 keep them short, and the run no slower.
 */
export const OPEN_AHEAD = 8;

/**
 * Open files in order, at most `ahead` at once: `next()` gives the next file (or its error) when
 * opened, while the ones after it are being opened.
 * @param files - the files
 * @param ahead - files being opened at once
 * @returns the opener
 */
export function openInOrder(files: readonly DroppedFile[], ahead = OPEN_AHEAD): { next(): Promise<File | Error> | undefined } {
  const opening: Array<Promise<File | Error>> = [];
  let started = 0;
  let taken = 0;
  const fill = (): void => {
    while (started < files.length && started - taken < ahead) opening.push(openDropped(files[started++]!));
  };
  return {
    next() {
      fill();
      if (taken >= started) return undefined;
      const p = opening[taken]!;
      opening[taken++] = undefined as unknown as Promise<File | Error>; // (let it go)
      fill();
      return p;
    },
  };
}
