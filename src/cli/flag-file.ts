/**
 * Files named by flags, read as hostile input: every file a command reads because a flag
 * names it goes through {@link readFlagFile}. It is opened without blocking (a FIFO cannot
 * stall the run), must be a regular file (checked on the open descriptor: a FIFO, socket,
 * device such as `/dev/zero`, or folder is refused before the first read), and is read up to
 * the bound of its kind ({@link FLAG_FILE_BOUNDS}), one byte more at most. A symbolic link
 * given as the value is followed (a user may point at a link), but its target must be a
 * regular file too. Anything else is a {@link UsageError}: one line naming the flag, the file
 * and what is wrong (exit status 2).
 * @module
 */
import { readWholeFile, type WholeFile } from '../sources/local/read.js';
import { UsageError } from './usage-error.js';

/** A kind of flag file, which sets its bound ({@link FLAG_FILE_BOUNDS}). */
export type FlagFileKind = 'checkpoint' | 'key' | 'certificate' | 'timestamp' | 'keyList' | 'caBundle';

/**
 * The largest file read for each kind of flag file, in bytes (`--help` and the README list
 * them). A larger file is refused, read no further than one byte past the bound.
 */
export const FLAG_FILE_BOUNDS: Readonly<Record<FlagFileKind, number>> = {
  /** A checkpoint note (`--checkpoint`, `cosign --checkpoint`, `--previous`): 1 MiB, a note's own bound (`MAX_NOTE_BYTES`; the checkpoint code is loaded only by runs that use it). */
  checkpoint: 1024 * 1024,
  /** A key file (`--checkpoint-public-key`, `--checkpoint-key`, `cosign --key`, `write-digests --private-key`): 64 KiB. */
  key: 64 * 1024,
  /** A certificate file (`--tsa-cert`): 1 MiB. */
  certificate: 1024 * 1024,
  /** A time stamp kept beside a checkpoint (`FILE.tsr`): 1 MiB, as much as an authority's answer may be. */
  timestamp: 1024 * 1024,
  /** A key list (`--public-keys`, the existing `--public-keys-out`): 16 MiB. */
  keyList: 16 * 1024 * 1024,
  /** A bundle of certificate authorities (`--ca-bundle`, `AWS_CA_BUNDLE`): 4 MiB, room for every public root many times over. */
  caBundle: 4 * 1024 * 1024,
};

/**
 * Read a file a flag names: a regular file (a link to one is followed), opened without
 * blocking, at most the bound of its kind.
 * @param file - the path given
 * @param flag - the flag (or what names the file, such as "the time stamp of --checkpoint"), for the error
 * @param kind - what the file is, which sets its bound ({@link FLAG_FILE_BOUNDS})
 * @returns its bytes
 * @throws UsageError naming the flag, the file and what is wrong: absent, a folder, a FIFO,
 *   a socket or device, larger than the bound, unreadable
 */
export async function readFlagFile(file: string, flag: string, kind: FlagFileKind): Promise<Uint8Array> {
  return checked(await readWholeFile(file, FLAG_FILE_BOUNDS[kind]), file, flag);
}

/**
 * {@link readFlagFile}, but a file that does not exist is no error (a file about to be created).
 * @param file - the path given
 * @param flag - the flag, for the error
 * @param kind - what the file is, which sets its bound
 * @returns its bytes, or undefined when nothing is there
 * @throws UsageError as {@link readFlagFile} does for anything else
 */
export async function readFlagFileIfAny(file: string, flag: string, kind: FlagFileKind): Promise<Uint8Array | undefined> {
  const read = await readWholeFile(file, FLAG_FILE_BOUNDS[kind]);
  return 'absent' in read ? undefined : checked(read, file, flag);
}

/** The bytes read, or the usage error that says why there are none. */
function checked(read: WholeFile, file: string, flag: string): Uint8Array {
  if ('why' in read) throw new UsageError(`cannot read ${flag} ${file}: ${read.why}`);
  return new Uint8Array(read.bytes.buffer, read.bytes.byteOffset, read.bytes.length);
}

/**
 * {@link readFlagFile} as text (UTF-8).
 * @param file - the path given
 * @param flag - the flag, for the error
 * @param kind - what the file is, which sets its bound
 * @returns its text
 * @throws UsageError as {@link readFlagFile} does
 */
export async function readFlagText(file: string, flag: string, kind: FlagFileKind): Promise<string> {
  return new TextDecoder().decode(await readFlagFile(file, flag, kind));
}
