/**
 * A pool thread: reads, inflates, CRC-checks and hashes objects with the same code as the
 * caller's thread (`hashStream`), on a platform whose inflater works synchronously, so that
 * one thread keeps one core busy with no hops to another pool. Local files are opened here
 * exactly as the local copy opens them (no link at the end of the path, never blocking, a
 * regular file by the open descriptor); anything else is handed back to the caller.
 * @module
 */
import { closeSync, constants as fsc, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { ValidateLogsError } from '../../errors.js';
import { hashStream, hashWhole } from '../../hash/hash-stream.js';
import { nodeCorePlatform } from '../node-core.js';
import type { HashOutcome, HashRequest, Platform } from '../platform.js';
import { OBJECT_NAME, type BatchMessage, type DoneMessage, type FromWorker, type ToWorker, type Unhashed } from './protocol.js';
import { createSyncInflater, createWholeInflater, syncInflateAvailable } from './sync-inflate.js';

const READ_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | (fsc.O_NONBLOCK ?? 0);
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

const port = parentPort!;
const send = (m: FromWorker): void => port.postMessage(m);

/** A read failed: the caller reads the object the ordinary way and names what went wrong. */
class ReadFailed extends Error {}

/** Blocks large files are read into, free for the next one (made as needed: many runs have none). */
const blocks: Buffer[] = [];
const whole = Buffer.allocUnsafe(WHOLE);

function readAt(fd: number, into: Buffer, offset: number, position: number): number {
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
  const block = blocks.pop() ?? Buffer.allocUnsafe(READ_CHUNK);
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

/** Open a path only as a regular file (no link at its end, never blocking); undefined for anything else. */
function openFile(path: string): { fd: number; size: number } | undefined {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch {
    return undefined;
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isFile()) return { fd, size: stats.size };
  } catch {
    // handed back below
  }
  closeSync(fd);
  return undefined;
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

/** Hash one object: at once when it is small (no promise), else as a stream; undefined: hand it back. */
function hashOne(source: string | Uint8Array, opts: Options): HashOutcome | undefined | Promise<HashOutcome | undefined> {
  if (typeof source !== 'string') return hashWhole(source, opts) ?? hashStream(source, opts);
  const file = openFile(source);
  if (!file) return undefined;
  let streaming = false;
  try {
    const bytes = readWhole(file.fd, file.size);
    const ok = bytes && hashWhole(bytes, opts);
    if (ok) return ok;
    streaming = true;
    return hashStream(fileChunks(file.fd), { ...opts, sizeHint: file.size }).finally(() => closeSync(file.fd));
  } finally {
    if (!streaming) closeSync(file.fd);
  }
}

/** The answer to a batch, in columns. */
function answer(id: number, n: number, eventTimes: boolean): { message: DoneMessage; put(i: number, r: HashOutcome | undefined): void; fail(i: number, e: unknown): void } {
  const done: DoneMessage = { t: 'done', id, sha256: new Array<string | null>(n).fill(null), size: new Array<number>(n).fill(0), stored: new Array<number>(n).fill(0), unhashed: [] };
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
    },
    fail(i: number, e: unknown): void {
      done.unhashed.push(unhashed(i, e));
    },
  };
}

async function runBatch(m: BatchMessage): Promise<void> {
  const out = answer(m.id, m.sources.length, m.request.eventTimes === true);
  const named = options({ ...m.request, what: OBJECT_NAME }); // one for the batch: the pool names the object in a message
  for (let i = 0; i < m.sources.length; i++) {
    try {
      const source = m.sources[i]!;
      const r = hashOne(typeof source === 'string' ? m.folder + source : source, named);
      out.put(i, r instanceof Promise ? await r : r);
    } catch (e) {
      out.fail(i, e);
    }
  }
  send(out.message);
}

/** Chunks of a streamed object as they arrive, acknowledged as they are consumed. */
class Feed implements AsyncIterable<Uint8Array> {
  readonly #id: number;
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  constructor(id: number) {
    this.#id = id;
  }
  push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#wake?.();
  }
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = this.#chunks.shift();
      if (next) {
        yield next;
        send({ t: 'ack', id: this.#id });
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

const feeds = new Map<number, Feed>();

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'batch':
      void runBatch(m);
      break;
    case 'open': {
      const feed = new Feed(m.id);
      feeds.set(m.id, feed);
      const out = answer(m.id, 1, m.request.eventTimes === true);
      void hashStream(feed, options(m.request))
        .then(
          (r) => out.put(0, r),
          (e: unknown) => out.fail(0, e),
        )
        .then(() => {
          feeds.delete(m.id);
          send(out.message);
        });
      break;
    }
    case 'chunk':
      feeds.get(m.id)?.push(m.bytes);
      break;
    case 'end':
      feeds.get(m.id)?.end();
      break;
    case 'abort': {
      const feed = feeds.get(m.id);
      if (feed) {
        feeds.delete(m.id);
        feed.end(); // it then fails as truncated; the answer is ignored
      }
      break;
    }
  }
});
