/**
 * The parallel layer's jobs: what a pool thread does, as functions of the job alone (no port,
 * no messages): hash a batch of objects (files it opens itself, or bytes sent whole), hash an
 * object streamed to it, and take a whole digest of a local copy ({@link checkDigestJob}). Logs
 * are judged with the caller's code (`judgeLog`, `checkLogListing`), files opened with the
 * local copy's safe open (`openPathSync`), keys resolved as the copy resolves them
 * (`LocalReader`); bytes are hashed with the caller's code (`hashStream`), on a platform whose
 * inflater works synchronously, so that one thread keeps one core busy.
 * @module
 */
import { closeSync, readSync } from 'node:fs';
import { ValidateLogsError } from '../errors.js';
import { logKeyMatcher } from '../chain/inventory.js';
import { checkLogListing, hashMatches, judgeLog, type LogContext } from '../chain/log-verdict.js';
import type { CheckedDigest, DigestCheck, DigestJob } from '../chain/offload.js';
import { parseDigest, type DigestLogFile } from '../format/digest.js';
import { s3Uri } from '../format/keys.js';
import { hashStream, hashWhole, readAll } from '../hash/hash-stream.js';
import type { HashOutcome, HashRequest } from '../hash/offload.js';
import { nodeCorePlatform } from '../platform/node-core.js';
import type { Platform } from '../platform/platform.js';
import { createSyncInflater, createWholeInflater, syncInflateAvailable } from '../platform/sync-inflate.js';
import { LocalReader, openPathSync } from '../sources/local/read.js';
import { MAX_METADATA_BYTES, parseMetadataBytes, sidecarKey } from '../sources/local/sidecar.js';
import { OBJECT_NAME, type BatchMessage, type DoneMessage, type Unhashed } from './protocol.js';

const READ_CHUNK = 1024 * 1024;
/** Files smaller than this are read whole into one reused buffer and hashed in one call. */
const WHOLE = 256 * 1024;

/**
 * This thread's platform: the Node platform's core (no pool), inflating synchronously. Made
 * with the first work, not at start-up: it makes a zlib stream, and a thread started ahead of
 * need and never used must make none (see `sync-inflate`).
 */
let platform: Platform | undefined;
function thePlatform(): Platform {
  if (!platform) {
    const inflateWhole = createWholeInflater();
    platform = { ...nodeCorePlatform, ...(syncInflateAvailable() && { createInflater: createSyncInflater }), ...(inflateWhole && { inflateWhole }) };
  }
  return platform;
}

/** A read failed: the caller reads the object the ordinary way and names what went wrong. */
class ReadFailed extends Error {}

// The buffers files are read into are plain Uint8Arrays, as the bytes a digest is gathered into
// are (a Buffer is a subclass with a shape of its own): the reads and the gzip reader's
// functions then see one kind of array, and V8 compiles them once for it.
/** Blocks large files are read into, free for the next one (made as needed: many runs have none). */
const blocks: Uint8Array[] = [];
/** Small files are read whole into this. */
const whole = new Uint8Array(WHOLE);

function readAt(fd: number, into: Uint8Array, offset: number, position: number): number {
  try {
    return readSync(fd, into, offset, into.length - offset, position);
  } catch (e) {
    throw new ReadFailed(String(e));
  }
}

/**
 * The file's chunks from its start, read into one block of its own (each chunk is consumed
 * before the next is read; two large files streamed at once never share a block).
 */
function* fileChunks(fd: number): Generator<Uint8Array> {
  const block = blocks.pop() ?? new Uint8Array(READ_CHUNK);
  try {
    for (let at = 0; ; ) {
      const n = readAt(fd, block, 0, at);
      if (n === 0) return;
      at += n;
      yield block.subarray(0, n);
    }
  } finally {
    blocks.push(block);
  }
}

/**
 * A small file whole (in the reused buffer); undefined when it is, or has grown, too large for
 * it. A read that stops short at the size the open file has ends it: on a regular file, a read
 * stops short only at the end (one read a file, not two).
 */
function readWhole(fd: number, size: number): Uint8Array | undefined {
  if (size >= WHOLE) return undefined;
  let n = 0;
  while (n < WHOLE) {
    const asked = WHOLE - n;
    const got = readAt(fd, whole, n, n);
    if (got === 0) return whole.subarray(0, n);
    n += got;
    if (n === size && got < asked) return whole.subarray(0, n);
  }
  return undefined;
}

/**
 * Open a path only as a regular file, as the local copy opens it ({@link openPathSync}: no
 * link at its end, never blocking); undefined for anything else, or when the open failed.
 */
function openFile(path: string): { fd: number; size: number; modified: number } | undefined {
  try {
    const at = openPathSync(path);
    return 'fd' in at ? at : undefined;
  } catch {
    return undefined;
  }
}

function options(request: HashRequest): Parameters<typeof hashStream>[1] {
  return {
    platform: thePlatform(),
    gzip: request.gzip,
    what: request.what,
    ...(request.maxBytes !== undefined && { maxBytes: request.maxBytes }),
    ...(request.sizeHint !== undefined && { sizeHint: request.sizeHint }),
    ...(request.eventTimes && { eventTimes: true }),
  };
}

/** An object that was not hashed, and why. */
function unhashed(i: number, e: unknown): Unhashed {
  if (e instanceof ReadFailed) return { i, fallback: true };
  if (e instanceof ValidateLogsError) return { i, error: { code: e.code, message: e.message, transient: e.transient } };
  return { i, crash: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

type Options = ReturnType<typeof options>;

/**
 * Hash one object: at once when it is small (no promise), else as a stream; undefined: hand it
 * back. With `modified`, a file's outcome carries its modification time.
 */
function hashOne(source: string | Uint8Array, opts: Options, modified = false): HashOutcome | undefined | Promise<HashOutcome | undefined> {
  if (typeof source !== 'string') return hashWhole(source, opts) ?? hashStream(source, opts);
  const file = openFile(source);
  if (!file) return undefined;
  const time = modified ? file.modified : undefined;
  let streaming = false;
  try {
    const bytes = readWhole(file.fd, file.size);
    const ok = bytes && hashWhole(bytes, opts);
    if (ok) return stamped(ok, time);
    streaming = true;
    return hashStream(fileChunks(file.fd), { ...opts, sizeHint: file.size })
      .then((r) => stamped(r, time))
      .finally(() => closeSync(file.fd));
  } finally {
    if (!streaming) closeSync(file.fd);
  }
}

/** An outcome with its file's modification time, when asked for. */
function stamped(r: HashOutcome, modified: number | undefined): HashOutcome {
  if (modified !== undefined) r.modified = modified;
  return r;
}

/** The answer to a batch, in columns. */
function answer(id: number, n: number, eventTimes: boolean, modified = false): { message: DoneMessage; put(i: number, r: HashOutcome | undefined): void; fail(i: number, e: unknown): void } {
  const done: DoneMessage = { t: 'done', id, sha256: new Array<string | null>(n).fill(null), size: new Array<number>(n).fill(0), stored: new Array<number>(n).fill(0), unhashed: [] };
  if (modified) done.modified = new Array<number>(n).fill(Number.NaN);
  if (eventTimes) {
    done.newest = new Array<string | null>(n).fill(null);
    done.oldest = new Array<string | null>(n).fill(null);
  }
  return {
    message: done,
    put(i: number, r: HashOutcome | undefined): void {
      if (!r) {
        done.unhashed.push({ i, fallback: true });
        return;
      }
      done.sha256[i] = r.sha256;
      done.size[i] = r.size;
      done.stored[i] = r.storedSize;
      if (done.newest) {
        done.newest[i] = r.newestEventTime ?? null;
        done.oldest![i] = r.oldestEventTime ?? null;
      }
      if (done.modified && r.modified !== undefined) done.modified[i] = r.modified;
    },
    fail(i: number, e: unknown): void {
      done.unhashed.push(unhashed(i, e));
    },
  };
}

/**
 * Hash a batch: each file opened here (a file that is no regular file is handed back), or
 * each object's bytes as sent.
 * @param m - the batch
 * @returns the answer, in the batch's order
 */
export async function hashBatch(m: BatchMessage): Promise<DoneMessage> {
  const modified = m.request.modified === true;
  const out = answer(m.id, m.sources.length, m.request.eventTimes === true, modified);
  const named = options({ ...m.request, what: OBJECT_NAME }); // one for the batch: the pool names the object in a message
  for (let i = 0; i < m.sources.length; i++) {
    try {
      const source = m.sources[i]!;
      const r = hashOne(typeof source === 'string' ? m.folder + source : source, named, modified);
      out.put(i, r instanceof Promise ? await r : r);
    } catch (e) {
      out.fail(i, e);
    }
  }
  return out.message;
}

/** The local copies digests' logs are read from, by folder (each resolves and caches its folders as the copy does). */
const readers = new Map<string, LocalReader>();
/** Matchers of a trail's log keys, by trail. */
const matchers = new Map<string, (key: string) => boolean>();

/**
 * Read and hash one log's file; undefined: the caller reads it (no plain file, or a failure
 * worth another try). A promise only when the file is streamed (large): a small one costs no
 * promise.
 */
function hashLog(path: string | undefined, log: DigestLogFile, opts: Options): HashOutcome | ValidateLogsError | undefined | Promise<HashOutcome | ValidateLogsError | undefined> {
  if (path === undefined) return undefined;
  try {
    const r = hashOne(path, opts);
    return r instanceof Promise ? r.catch((e: unknown) => logError(e, log)) : r;
  } catch (e) {
    return logError(e, log);
  }
}

/** What a failed read of a log becomes: handed back (undefined), or the error about its bytes, named as the caller's thread names it. */
function logError(e: unknown, log: DigestLogFile): ValidateLogsError | undefined {
  if (e instanceof ReadFailed) return undefined;
  if (!(e instanceof ValidateLogsError)) throw e;
  if (e.transient) return undefined;
  return new ValidateLogsError(e.code, e.message.replaceAll(OBJECT_NAME, s3Uri(log.s3Bucket, log.s3Object)), { transient: false });
}

function readerOf(root: string): LocalReader {
  let reader = readers.get(root);
  if (!reader) readers.set(root, (reader = new LocalReader(root)));
  return reader;
}

/**
 * A digest's file and its metadata sidecar, read as the local copy reads them (regular files
 * only, the digest gunzipped within its cap, the sidecar parsed); undefined for anything else,
 * which the caller reads itself to say what is wrong.
 */
async function readDigest(job: DigestJob): Promise<{ bytes: Uint8Array; metadata: Record<string, string> } | undefined> {
  const [path, sidecar] = await readerOf(job.root).filePaths([job.key, sidecarKey(job.key)]);
  if (path === undefined || sidecar === undefined) return undefined;
  const what = s3Uri(job.bucket, job.key);
  try {
    // The sidecar first, parsed before the reused buffer holds anything else.
    const meta = openFile(sidecar);
    if (!meta) return undefined;
    let metadata: Record<string, string>;
    try {
      const text = meta.size <= MAX_METADATA_BYTES ? readWhole(meta.fd, meta.size) : undefined;
      if (!text) return undefined;
      metadata = parseMetadataBytes(text, sidecar);
    } finally {
      closeSync(meta.fd);
    }
    const file = openFile(path);
    if (!file) return undefined;
    try {
      const bytes = await readAll(fileChunks(file.fd), { gzip: true, maxBytes: job.maxDigestBytes, what, platform: thePlatform(), sizeHint: file.size });
      return { bytes, metadata };
    } finally {
      closeSync(file.fd);
    }
  } catch (e) {
    if (e instanceof ReadFailed || e instanceof ValidateLogsError) return undefined;
    throw e;
  }
}

/**
 * A digest read and parsed, and the logs it lists judged (by {@link judgeLog}, as on the
 * caller's thread); the digest itself is judged on the caller's thread (`checkDigest`).
 * @param job - where the digest is and how to check it
 * @returns the checked digest, or `{ parsed: false }` when the caller is to read it
 * @throws the error that stops a run where a log's read met an error that says nothing about the log
 */
export async function checkDigestJob(job: DigestJob): Promise<DigestCheck> {
  const p = thePlatform();
  const file = await readDigest(job);
  if (!file) return { parsed: false };
  const { bytes, metadata } = file;
  let d;
  try {
    d = parseDigest(bytes, s3Uri(job.bucket, job.key), p);
  } catch (e) {
    if (e instanceof ValidateLogsError) return { parsed: false }; // the caller reads it again to say why
    throw e;
  }
  const { logFiles, ...header } = d.record;
  const out: CheckedDigest = { parsed: true, bytes, metadata, sha256: d.sha256, header, keys: [], foreign: [], checked: job.check, sizes: new Float64Array(0), findings: [], back: [] };
  columns(out, logFiles, job.bucket);
  if (!job.check) return out;
  const trailId = JSON.stringify(job.trail);
  let matches = matchers.get(trailId);
  if (!matches) matchers.set(trailId, (matches = logKeyMatcher(job.trail)));
  const context: LogContext = {
    trail: job.trail,
    digest: s3Uri(job.bucket, job.key),
    digestBucket: job.bucket,
    window: [d.startTime.getTime(), d.endTime.getTime()],
    backfill: job.backfill,
    platform: p,
    maxBytes: job.maxBytes,
    matches,
  };
  out.sizes = new Float64Array(logFiles.length).fill(-1);
  const read = listed(out, logFiles, context);
  if (read.length > 0) {
    const paths = await readerOf(job.root).filePaths(read.map((i) => logFiles[i]!.s3Object));
    await judgeLogs(out, logFiles, read, paths, context, options({ gzip: true, maxBytes: job.maxBytes, what: OBJECT_NAME }));
  }
  // Findings in place order (listing findings came first).
  out.findings.sort((a, b) => a[0] - b[0]);
  return out;
}

// The loops over a digest's entries are functions of their own, small: the JIT compiles a hot
// loop with the function around it, and a large function costs far more to compile.

/** Each entry's key, and the bucket of those in another bucket. */
function columns(out: CheckedDigest, logFiles: readonly DigestLogFile[], bucket: string): void {
  const n = logFiles.length;
  out.keys = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const log = logFiles[i]!;
    out.keys[i] = log.s3Object;
    if (log.s3Bucket !== bucket) out.foreign.push([i, log.s3Bucket]);
  }
}

/** The finding about each entry listed where no log of the digest may be; the places of the others, to read. */
function listed(out: CheckedDigest, logFiles: readonly DigestLogFile[], context: LogContext): number[] {
  const read: number[] = [];
  for (let i = 0; i < logFiles.length; i++) {
    const listing = checkLogListing(logFiles[i]!, context);
    if (listing) out.findings.push([i, listing]);
    else read.push(i);
  }
  return read;
}

/** Read, hash and judge the logs at places `read` (their files at `paths`). */
async function judgeLogs(out: CheckedDigest, logFiles: readonly DigestLogFile[], read: readonly number[], paths: ReadonlyArray<string | undefined>, context: LogContext, opts: Options): Promise<void> {
  for (let j = 0; j < read.length; j++) {
    const i = read[j]!;
    const log = logFiles[i]!;
    let r = hashLog(paths[j], log, opts);
    if (r instanceof Promise) r = await r;
    if (r === undefined) out.back.push([i, log]);
    else if (!(r instanceof ValidateLogsError) && hashMatches(log, r)) out.sizes[i] = r.size;
    else out.findings.push([i, judgeLog(log, context, r)]);
  }
}

/**
 * Hash an object whose chunks arrive one by one (a large object from a stream).
 * @param id - the stream's id, which the answer gives back
 * @param request - what to compute
 * @param chunks - the chunks, as they arrive
 * @returns the answer: a batch of one
 */
export async function hashStreamed(id: number, request: HashRequest, chunks: AsyncIterable<Uint8Array>): Promise<DoneMessage> {
  const out = answer(id, 1, request.eventTimes === true);
  try {
    out.put(0, await hashStream(chunks, options(request)));
  } catch (e) {
    out.fail(0, e);
  }
  return out.message;
}
