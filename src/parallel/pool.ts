/**
 * The parallel layer's pool ({@link Offload}): threads that read, inflate, CRC-check
 * and hash objects, so that the caller's thread only walks, schedules and reports.
 *
 * A digest of a local copy goes to a thread whole ({@link Offload.takeDigest}): the thread
 * reads and parses it, reads, hashes and judges every log it lists, and answers once. Digests
 * go out before batches (the walk waits for them in order), each counting as a batch of its
 * thread.
 *
 * Small objects (a stored size under {@link BATCH_BYTES}) go many to a message: one round trip
 * between threads carries up to {@link BATCH_JOBS} of them, and the files of one `hashFiles`
 * call go in groups that stay whole (one entry to keep and one answer to take for a group,
 * none per file). Each thread has at most
 * {@link DEPTH} batches at once, so that it never waits for the caller between two. Large
 * objects are batches of one: a file is read by the thread in 1 MiB blocks, a stream's chunks
 * are sent as they arrive, at most {@link STREAM_AHEAD} chunks ahead of the hashing. Threads
 * start as the work needs them (or all at once, `warm`), up to the pool's size, and never keep
 * the process alive when idle.
 * @module
 */
import type { DigestCheck, DigestJob, Offload } from '../chain/offload.js';
import { ValidateLogsError, type ErrorCode } from '../errors.js';
import { toChunks, type ByteSource } from '../hash/chunks.js';
import type { HashFile, HashOutcome, HashRequest } from '../hash/offload.js';
import type { Platform, ThreadHandle } from '../platform/platform.js';
import { concatBytes } from '../utils.js';
import { OBJECT_NAME, type BatchRequest, type DigestDoneMessage, type FromWorker, type ToWorker, type WireError } from './protocol.js';

/** Objects stored in fewer bytes than this are batched, and sent whole when they come from a stream. */
export const BATCH_BYTES: number = 256 * 1024;
/** Objects in one batch at most. */
export const BATCH_JOBS: number = 64;
/** Batches a thread holds at once. */
export const DEPTH: number = 2;
/** Chunks of a stream sent ahead of the hashing. */
export const STREAM_AHEAD: number = 4;
/** A thread's young generation, in MiB: room for a digest's parsed entries to die young while its logs are read. */
const YOUNG_MB = 8;

/** One object's answer from a thread: its outcome, an error about its bytes, or handed back (undefined). */
type Answer = HashOutcome | ValidateLogsError | undefined | { crash: string };

/** Objects a thread holds, in the order it answers them: their names (for messages) and what becomes of their answers. */
interface Held {
  whats: string[];
  settle: (answers: Answer[]) => void;
}

/** Objects waiting for a thread, hashed alike: files of one call, or one object's bytes. */
interface Job extends Held {
  request: BatchRequest;
  sources: Array<string | Uint8Array>;
  /** Stored bytes, when known. */
  weight?: number;
}

/** A digest waiting for a thread, and what becomes of its answer. */
interface DigestTask {
  job: DigestJob;
  resolve: (r: DigestCheck) => void;
  reject: (e: unknown) => void;
}

/** How to start a thread: the platform's primitive. */
type StartThread = NonNullable<Platform['startThread']>;

class Thread {
  readonly worker: ThreadHandle;
  /** Batches (and digests) sent and not yet answered. */
  batches = 0;
  /** Digests sent and not yet answered, by id. */
  readonly digests = new Map<number, DigestTask>();
  /** What each batch or stream sent and not yet answered holds, by its id. */
  readonly pending = new Map<number, Held[]>();
  /** Streams open, each with what to do when a chunk of it was hashed. */
  readonly streams = new Map<number, () => void>();
  constructor(start: StartThread, url: URL, onMessage: (t: Thread, m: FromWorker) => void, onFail: (t: Thread, e: unknown) => void) {
    // A small young generation: a thread's garbage is short-lived (its buffers are reused; a
    // digest's parsed entries live while its logs are read), and V8's default would hold tens of
    // MB per thread for nothing.
    this.worker = start(url, { message: (m) => onMessage(this, m as FromWorker), failed: (e) => onFail(this, e) }, { youngGenerationMb: YOUNG_MB });
  }
  get load(): number {
    return this.batches + this.streams.size;
  }
  post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.post(m, transfer);
  }
  /** Keep the process alive while this thread has work, and only then. */
  touch(): void {
    if (this.load > 0) this.worker.ref();
    else this.worker.unref();
  }
}

/**
 * A pool of hashing threads.
 * @internal
 */
export class HashPool implements Offload {
  readonly threads: number;
  readonly capacity: number;
  readonly #url: URL;
  readonly #startThread: StartThread;
  readonly #threads: Thread[] = [];
  readonly #queue: Job[] = [];
  readonly #digests: DigestTask[] = [];
  #nextId = 1;
  #scheduled = false;
  /** What went to the threads: messages of batches, the objects in them, streams, and whole digests. */
  readonly stats: { batches: number; jobs: number; streams: number; started: number; digests: number } = { batches: 0, jobs: 0, streams: 0, started: 0, digests: 0 };
  /** Stored size of the files hashed lately (a file's size is known only once it is opened). */
  #typical = BATCH_BYTES / 4;

  /**
   * @param threads - the most threads to start
   * @param url - the thread's module
   * @param start - how to start a thread (the platform's {@link Platform.startThread})
   */
  constructor(threads: number, url: URL, start: StartThread) {
    this.threads = threads;
    this.#startThread = start;
    this.capacity = threads * DEPTH * BATCH_JOBS;
    this.#url = url;
  }

  warm(): void {
    while (this.#threads.length < this.threads) this.#start();
  }

  hashFiles(files: readonly HashFile[], request: BatchRequest): Promise<Array<HashOutcome | ValidateLogsError | undefined>> {
    return new Promise((resolve, reject) => {
      const out = new Array<HashOutcome | ValidateLogsError | undefined>(files.length);
      let left = files.length;
      if (left === 0) resolve(out);
      let failed = false;
      // In groups of about a batch (by the size of the files hashed lately): a group travels
      // whole, with one entry to keep and one answer to take for all its files.
      const per = Math.max(1, Math.min(BATCH_JOBS, Math.floor(BATCH_BYTES / this.#typical)));
      for (let from = 0; from < files.length; from += per) {
        const to = Math.min(files.length, from + per);
        const sources: string[] = [];
        const whats: string[] = [];
        for (let i = from; i < to; i++) {
          sources.push(files[i]!.path);
          whats.push(files[i]!.what);
        }
        const settle = (answers: Answer[]): void => {
          if (failed) return;
          for (let j = 0; j < answers.length; j++) {
            const r = answers[j];
            if (r && 'crash' in r) {
              failed = true;
              reject(new Error(`hashing ${whats[j]} failed on a pool thread: ${r.crash}`));
              return;
            }
            out[from + j] = r;
          }
          left -= answers.length;
          if (left === 0) resolve(out);
        };
        this.#queue.push({ request, sources, whats, settle });
      }
      this.#schedule();
    });
  }

  takeDigest(job: DigestJob): Promise<DigestCheck> {
    return new Promise((resolve, reject) => {
      this.#digests.push({ job, resolve, reject });
      this.#dispatch();
    });
  }

  async hashBytes(source: ByteSource, request: HashRequest): Promise<HashOutcome> {
    const it = toChunks(source);
    const iterator = Symbol.asyncIterator in it ? it[Symbol.asyncIterator]() : (it as Iterable<Uint8Array>)[Symbol.iterator]();
    const { what, sizeHint, ...shared } = request;
    // A small object (or one of unknown size, until it proves large) is gathered and sent whole.
    const parts: Uint8Array[] = [];
    let size = 0;
    if ((sizeHint ?? 0) < BATCH_BYTES) {
      for (;;) {
        const r = await iterator.next();
        if (r.done) {
          const bytes = parts.length === 1 ? parts[0]! : concatBytes(parts);
          const answer = await new Promise<Answer>((settle) => {
            this.#queue.push({ request: shared, sources: [bytes], whats: [what], weight: bytes.byteLength, settle: ([a]) => settle(a) });
            this.#schedule();
          });
          return outcome(answer, what);
        }
        parts.push(Uint8Array.from(r.value)); // a copy: the source may reuse its buffer, and the copy is sent along
        size += r.value.byteLength;
        if (size >= BATCH_BYTES) break;
      }
    }
    return this.#stream(parts, iterator, request);
  }

  /** Send a large object in chunks to the least busy thread. */
  async #stream(first: Uint8Array[], rest: Iterator<Uint8Array> | AsyncIterator<Uint8Array>, request: HashRequest): Promise<HashOutcome> {
    const thread = this.#thread(true);
    const id = this.#nextId++;
    let ahead = 0;
    let wake: (() => void) | undefined;
    const done = new Promise<Answer>((settle) => thread.pending.set(id, [{ whats: [request.what], settle: ([a]) => settle(a) }]));
    thread.streams.set(id, () => {
      ahead--;
      wake?.();
    });
    thread.touch();
    this.stats.streams++;
    thread.post({ t: 'open', id, request });
    /** Send a chunk we own (it is moved, not copied); wait while the thread is too far behind. */
    const send = async (owned: Uint8Array): Promise<void> => {
      ahead++;
      thread.post({ t: 'chunk', id, bytes: owned }, [owned.buffer as ArrayBuffer]);
      while (ahead >= STREAM_AHEAD && thread.pending.has(id)) await new Promise<void>((r) => (wake = r));
    };
    let failed: { error: unknown } | undefined;
    try {
      for (const c of first) await send(c);
      while (thread.pending.has(id)) {
        const r = await rest.next();
        if (r.done) break;
        await send(Uint8Array.from(r.value)); // a copy: the source may reuse its buffer
      }
    } catch (error) {
      failed = { error };
    }
    if (thread.streams.has(id)) thread.post(failed ? { t: 'abort', id } : { t: 'end', id });
    if (failed) {
      thread.pending.delete(id); // the thread's answer to the abort is not awaited
      throw failed.error;
    }
    return outcome(await done, request.what);
  }

  /** Dispatch once this turn's objects are queued (so that they travel together). */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#dispatch();
    });
  }

  /** Hand queued objects to threads with room, starting threads as needed. */
  #dispatch(): void {
    // Digests first: the walk waits for them in order.
    while (this.#digests.length > 0) {
      const thread = this.#thread(false);
      if (!thread) return;
      const task = this.#digests.shift()!;
      const id = this.#nextId++;
      thread.digests.set(id, task);
      this.stats.digests++;
      thread.batches++;
      thread.touch();
      thread.post({ t: 'digest', id, job: task.job });
    }
    const queue = this.#queue;
    let head = 0;
    while (head < queue.length) {
      const thread = this.#thread(false);
      if (!thread) break;
      const request = queue[head]!.request;
      const held: Job[] = [];
      const sources: Array<string | Uint8Array> = [];
      const transfer: ArrayBuffer[] = [];
      let bytes = 0;
      // One batch: up to BATCH_JOBS objects, BATCH_BYTES of them, all hashed alike.
      while (head < queue.length) {
        const job = queue[head]!;
        const weight = job.weight ?? job.sources.length * this.#typical;
        if (held.length > 0 && (sources.length + job.sources.length > BATCH_JOBS || bytes + weight > BATCH_BYTES || !sameRequest(job.request, request))) break;
        head++;
        bytes += weight;
        held.push(job);
        for (const source of job.sources) {
          sources.push(source);
          if (typeof source !== 'string') transfer.push(source.buffer as ArrayBuffer);
        }
      }
      const folder = sharedFolder(sources);
      if (folder !== '') for (let i = 0; i < sources.length; i++) if (typeof sources[i] === 'string') sources[i] = (sources[i] as string).slice(folder.length);
      const id = this.#nextId++;
      thread.pending.set(id, held);
      this.stats.batches++;
      this.stats.jobs += sources.length;
      thread.batches++;
      thread.touch();
      thread.post({ t: 'batch', id, request, folder, sources }, transfer);
    }
    queue.splice(0, head);
  }

  /**
   * A thread to give work to: the least busy one with room, or a new one while the pool is
   * not full. With `always`, the least busy one even when all are full (streams).
   */
  #thread(always: true): Thread;
  #thread(always: false): Thread | undefined;
  #thread(always: boolean): Thread | undefined {
    let best: Thread | undefined;
    for (const t of this.#threads) if (!best || t.load < best.load) best = t;
    if (best && best.load === 0) return best;
    if (this.#threads.length < this.threads) return this.#start();
    if (always) return best!;
    return best && best.batches < DEPTH ? best : undefined;
  }

  #start(): Thread {
    const t = new Thread(this.#startThread, this.#url, (th, m) => this.#message(th, m), (th, e) => this.#failed(th, e));
    this.#threads.push(t);
    this.stats.started++;
    return t;
  }

  #message(thread: Thread, m: FromWorker): void {
    if (m.t === 'ack') {
      thread.streams.get(m.id)?.();
      return;
    }
    if (m.t === 'digest-done') {
      this.#digestDone(thread, m);
      return;
    }
    const answers = new Array<Answer | WireError>(m.sha256.length);
    for (let i = 0; i < m.sha256.length; i++) {
      const sha256 = m.sha256[i];
      if (sha256 === null || sha256 === undefined) continue;
      const r: HashOutcome = { sha256, size: m.size[i]!, storedSize: m.stored[i]! };
      if (m.newest) {
        r.newestEventTime = m.newest[i] ?? null;
        r.oldestEventTime = m.oldest?.[i] ?? null;
      }
      const modified = m.modified?.[i];
      if (modified !== undefined && Number.isFinite(modified)) r.modified = modified;
      this.#typical = 0.75 * this.#typical + 0.25 * r.storedSize;
      answers[i] = r;
    }
    for (const u of m.unhashed) answers[u.i] = u.error ? u.error : u.crash !== undefined ? { crash: u.crash } : undefined;
    const held = thread.pending.get(m.id); // none for a stream aborted by its sender
    thread.pending.delete(m.id);
    let at = 0;
    for (const h of held ?? []) {
      const mine = new Array<Answer>(h.whats.length);
      for (let j = 0; j < mine.length; j++) mine[j] = named(answers[at + j], h.whats[j]!);
      at += mine.length;
      h.settle(mine);
    }
    const stream = thread.streams.get(m.id);
    if (stream) {
      thread.streams.delete(m.id);
      stream(); // a sender waiting for room sees the answer
    } else {
      thread.batches--;
    }
    thread.touch();
    this.#dispatch();
  }

  #digestDone(thread: Thread, m: DigestDoneMessage): void {
    const task = thread.digests.get(m.id)!;
    thread.digests.delete(m.id);
    thread.batches--;
    thread.touch();
    const what = `${task.job.bucket}/${task.job.key}`;
    if (m.result) task.resolve(m.result);
    else if (m.error) task.reject(new ValidateLogsError(m.error.code as ErrorCode, m.error.message, { transient: m.error.transient }));
    else task.reject(new Error(`checking s3://${what} failed on a pool thread: ${m.crash ?? 'no answer'}`));
    this.#dispatch();
  }

  /** A thread failed: what it held fails with it (not the objects' fault), the pool goes on without it. */
  #failed(thread: Thread, e: unknown): void {
    const i = this.#threads.indexOf(thread);
    if (i < 0) return;
    this.#threads.splice(i, 1);
    const error = new Error(`a hashing thread failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    for (const held of thread.pending.values()) for (const h of held) h.settle(h.whats.map(() => ({ crash: error.message })));
    thread.pending.clear();
    for (const task of thread.digests.values()) task.reject(error);
    thread.digests.clear();
    for (const wake of thread.streams.values()) wake();
    thread.streams.clear();
    thread.worker.terminate();
    this.#dispatch();
  }
}

/**
 * A thread's answer about one object as the caller's thread would have made it: an error's
 * message names the object ({@link OBJECT_NAME} replaced by its name).
 */
function named(r: Answer | WireError, what: string): Answer {
  if (r === undefined || 'sha256' in r || r instanceof ValidateLogsError) return r;
  const name = (text: string): string => text.replaceAll(OBJECT_NAME, what);
  if ('crash' in r) return { crash: name(r.crash) };
  return new ValidateLogsError(r.code as ErrorCode, name(r.message), { transient: r.transient });
}

/**
 * The folder part (up to a last `/` or `\\`) that every path among `sources` starts with:
 * sent once for a batch instead of once a file.
 */
function sharedFolder(sources: ReadonlyArray<string | Uint8Array>): string {
  let folder: string | undefined;
  for (const s of sources) {
    if (typeof s !== 'string') continue;
    if (folder === undefined) folder = s.slice(0, Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\')) + 1);
    while (folder !== '' && !s.startsWith(folder)) {
      const shorter = folder.slice(0, -1);
      folder = folder.slice(0, Math.max(shorter.lastIndexOf('/'), shorter.lastIndexOf('\\')) + 1);
    }
  }
  return folder ?? '';
}

/** Whether two objects are hashed alike (and so may share a batch). */
function sameRequest(a: BatchRequest, b: BatchRequest): boolean {
  return a === b || (a.gzip === b.gzip && a.maxBytes === b.maxBytes && a.eventTimes === b.eventTimes && a.modified === b.modified);
}

/** An answer as the caller's thread would have had it: the outcome, or the error. */
function outcome(r: Answer, what: string): HashOutcome {
  if (r instanceof ValidateLogsError) throw r;
  if (r === undefined) throw new Error(`${what}: bytes were handed back`);
  if ('crash' in r) throw new Error(`hashing ${what} failed on a pool thread: ${r.crash}`);
  return r;
}
