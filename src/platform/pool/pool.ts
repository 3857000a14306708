/**
 * The Node platform's worker pool ({@link HashOffload}): threads that read, inflate, CRC-check
 * and hash objects, so that the caller's thread only walks, schedules and reports.
 *
 * Small objects (a stored size under {@link BATCH_BYTES}) go many to a message: one round trip
 * between threads carries up to {@link BATCH_JOBS} of them. Each thread has at most
 * {@link DEPTH} batches at once, so that it never waits for the caller between two. Large
 * objects are batches of one: a file is read by the thread in 1 MiB blocks, a stream's chunks
 * are sent as they arrive, at most {@link STREAM_AHEAD} chunks ahead of the hashing. Threads
 * start as the work needs them, up to the pool's size, and never keep the process alive when
 * idle.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { ValidateLogsError, type ErrorCode } from '../../errors.js';
import { toChunks, type ByteSource } from '../../hash/chunks.js';
import { concatBytes } from '../../utils.js';
import type { HashOffload, HashOutcome, HashRequest } from '../platform.js';
import type { BatchJob, FromWorker, JobResult, ToWorker } from './protocol.js';

/** Objects stored in fewer bytes than this are batched, and sent whole when they come from a stream. */
export const BATCH_BYTES: number = 256 * 1024;
/** Objects in one batch at most. */
export const BATCH_JOBS: number = 64;
/** Batches a thread holds at once. */
export const DEPTH: number = 2;
/** Chunks of a stream sent ahead of the hashing. */
export const STREAM_AHEAD: number = 4;

interface Pending {
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
}

interface Queued extends BatchJob, Pending {
  /** Stored bytes, as far as known. */
  weight: number;
}

class Thread {
  readonly worker: Worker;
  /** Batches sent and not yet answered. */
  batches = 0;
  readonly pending = new Map<number, Pending>();
  /** Streams open, each with what to do when a chunk of it was hashed. */
  readonly streams = new Map<number, () => void>();
  constructor(url: URL, onMessage: (t: Thread, m: FromWorker) => void, onFail: (t: Thread, e: unknown) => void) {
    this.worker = new Worker(url);
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => onMessage(this, m));
    this.worker.on('error', (e) => onFail(this, e));
    this.worker.on('exit', (code) => onFail(this, new Error(`a hashing thread stopped (exit code ${code})`)));
  }
  get load(): number {
    return this.batches + this.streams.size;
  }
  post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
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
export class HashPool implements HashOffload {
  readonly threads: number;
  readonly capacity: number;
  readonly #url: URL;
  readonly #threads: Thread[] = [];
  readonly #queue: Queued[] = [];
  #nextId = 1;
  #scheduled = false;
  /** Stored size of the files hashed lately (a file's size is known only once it is opened). */
  #typical = BATCH_BYTES / 4;

  /**
   * @param threads - the most threads to start
   * @param url - the thread's module
   */
  constructor(threads: number, url: URL) {
    this.threads = threads;
    this.capacity = threads * DEPTH * BATCH_JOBS;
    this.#url = url;
  }

  async hashFile(path: string, request: HashRequest): Promise<HashOutcome | undefined> {
    const r = await this.#submit({ path, request }, request.sizeHint ?? this.#typical);
    return 'fallback' in r ? undefined : outcome(r);
  }

  async hashBytes(source: ByteSource, request: HashRequest): Promise<HashOutcome> {
    const it = toChunks(source);
    const iterator = Symbol.asyncIterator in it ? it[Symbol.asyncIterator]() : (it as Iterable<Uint8Array>)[Symbol.iterator]();
    // A small object (or one of unknown size, until it proves large) is gathered and sent whole.
    const parts: Uint8Array[] = [];
    let size = 0;
    if ((request.sizeHint ?? 0) < BATCH_BYTES) {
      for (;;) {
        const r = await iterator.next();
        if (r.done) {
          const bytes = parts.length === 1 ? parts[0]! : concatBytes(parts);
          const result = await this.#submit({ bytes, request }, bytes.byteLength);
          return outcome(result);
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
    const done = new Promise<JobResult>((resolve, reject) => thread.pending.set(id, { resolve, reject }));
    done.catch(() => undefined);
    thread.streams.set(id, () => {
      ahead--;
      wake?.();
    });
    thread.touch();
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
    return outcome(await done);
  }

  #submit(job: Omit<BatchJob, 'id'>, weight: number): Promise<JobResult> {
    return new Promise<JobResult>((resolve, reject) => {
      this.#queue.push({ ...job, id: this.#nextId++, weight, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#dispatch();
        });
      }
    });
  }

  /** Hand queued objects to threads with room, starting threads as needed. */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      const thread = this.#thread(false);
      if (!thread) return;
      const jobs: Queued[] = [];
      let bytes = 0;
      while (this.#queue.length > 0 && jobs.length < BATCH_JOBS) {
        const next = this.#queue[0]!;
        if (jobs.length > 0 && bytes + next.weight > BATCH_BYTES) break;
        jobs.push(this.#queue.shift()!);
        bytes += next.weight;
      }
      for (const j of jobs) thread.pending.set(j.id, j);
      thread.batches++;
      thread.touch();
      const transfer = jobs.flatMap((j) => (j.bytes ? [j.bytes.buffer as ArrayBuffer] : []));
      thread.post({ t: 'batch', jobs: jobs.map(({ id, request, path, bytes: b }) => ({ id, request, ...(path !== undefined && { path }), ...(b && { bytes: b }) })) }, transfer);
    }
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
    if (this.#threads.length < this.threads) {
      const t = new Thread(this.#url, (th, m) => this.#message(th, m), (th, e) => this.#failed(th, e));
      this.#threads.push(t);
      return t;
    }
    if (always) return best!;
    return best && best.batches < DEPTH ? best : undefined;
  }

  #message(thread: Thread, m: FromWorker): void {
    if (m.t === 'ack') {
      thread.streams.get(m.id)?.();
      return;
    }
    const stream = m.results.length === 1 ? thread.streams.get(m.results[0]!.id) : undefined;
    for (const r of m.results) {
      if ('ok' in r) this.#typical = 0.75 * this.#typical + 0.25 * r.ok.storedSize;
      this.#settle(thread, r.id, r);
    }
    if (stream) {
      thread.streams.delete(m.results[0]!.id);
      stream(); // a sender waiting for room sees the answer
    } else {
      thread.batches--;
    }
    thread.touch();
    this.#dispatch();
  }

  #settle(thread: Thread, id: number, r: JobResult): void {
    const p = thread.pending.get(id);
    if (!p) return;
    thread.pending.delete(id);
    p.resolve(r);
  }

  /** A thread failed: what it held fails with it (not the objects' fault), the pool goes on without it. */
  #failed(thread: Thread, e: unknown): void {
    const i = this.#threads.indexOf(thread);
    if (i < 0) return;
    this.#threads.splice(i, 1);
    const error = new Error(`a hashing thread failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    for (const p of thread.pending.values()) p.reject(error);
    thread.pending.clear();
    for (const wake of thread.streams.values()) wake();
    thread.streams.clear();
    void thread.worker.terminate();
    this.#dispatch();
  }
}

/** A job's result as the caller's thread would have had it: the outcome, or the error. */
function outcome(r: JobResult): HashOutcome {
  if ('ok' in r) return r.ok;
  if ('error' in r) throw new ValidateLogsError(r.error.code as ErrorCode, r.error.message, { transient: r.error.transient });
  if ('crash' in r) throw new Error(`hashing failed on a pool thread: ${r.crash}`);
  throw new Error('a file was handed back where bytes were sent');
}
