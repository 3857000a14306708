/**
 * The parallel layer where the `node` condition does not apply: the Web platform, its objects
 * hashed where SHA-256 is fastest there. The package's `#parallel` import resolves here outside
 * Node.
 *
 * WebCrypto's SHA-256 (`crypto.subtle.digest`) is one-shot: it needs the whole content in
 * memory, but runs natively (and in Chromium off the calling thread), ten times as fast as the
 * streaming hash in JavaScript. So an object's content is gathered as it is inflated, up to
 * {@link WEBCRYPTO_MAX_BYTES}, and hashed in one call; content that grows past that bound is
 * hashed by the platform's streaming hash from there on, in bounded memory. The bytes, the
 * limits and the errors are those of `hashStream` on the same platform: only where the SHA-256
 * is computed differs.
 * @module
 */
import { createSHA256, type IHasher } from 'hash-wasm';
import { ValidateLogsError } from '../errors.js';
import type { Offload, PooledPlatform } from '../chain/offload.js';
import type { ByteSource } from '../hash/chunks.js';
import { toChunks } from '../hash/chunks.js';
import { gunzipInto, gzipHeaderEnd, uint32le } from '../hash/gunzip.js';
import { hashStream } from '../hash/hash-stream.js';
import type { HashFile, HashOutcome, HashRequest } from '../hash/offload.js';
import type { Platform, Sha256, ThreadHandle } from '../platform/platform.js';
import { defaultPlatform as runtimePlatform } from '#platform';
import { inflateGzipNative } from '../platform/web.js';
import { wasmGunzip, type WasmGunzip } from '../platform/zlib-wasm.js';
import { concatBytes, toHex } from '../utils.js';

/**
 * Content up to this many bytes is hashed in one call by WebCrypto; beyond it, by the streaming
 * hash. In headless Chromium (bench/web.ts) WebCrypto hashes about ten times as fast as
 * `@noble/hashes`; the bound only caps the memory an object in flight may hold.
 */
export const WEBCRYPTO_MAX_BYTES: number = 32 * 1024 * 1024;

/**
 * Content gathered for a one-shot hash, until it grows past the bound; then streamed into
 * the platform's streaming hash.
 */
class Gathered {
  readonly #parts: Uint8Array[] = [];
  #size = 0;
  #stream: Sha256 | undefined;
  readonly #platform: Platform;
  readonly #bound: number;

  constructor(platform: Platform, bound: number) {
    this.#platform = platform;
    this.#bound = bound;
  }

  /** Take a chunk (copied: an inflater may reuse its buffer). */
  readonly add = (chunk: Uint8Array): void => {
    if (this.#stream) {
      this.#stream.update(chunk);
      return;
    }
    this.#size += chunk.byteLength;
    this.#parts.push(chunk.slice());
    if (this.#size > this.#bound) {
      const stream = (this.#stream = this.#platform.createSha256());
      for (const p of this.#parts) stream.update(p);
      this.#parts.length = 0;
    }
  };

  async sha256(): Promise<string> {
    if (this.#stream) return toHex(this.#stream.digest());
    const parts = this.#parts;
    return toHex(await this.#platform.sha256(parts.length === 1 ? parts[0]! : concatBytes(parts)));
  }
}

/**
 * Hash an object's bytes on this thread, through WebCrypto when its content fits the bound.
 * @param platform - the runtime (its inflater, one-shot and streaming SHA-256)
 * @param bound - content up to this many bytes is hashed in one call
 * @param source - the stored bytes
 * @param request - what to compute
 * @returns what `hashStream` computes
 */
async function hashBytes(platform: Platform, bound: number, source: ByteSource, request: HashRequest): Promise<HashOutcome> {
  const { what, maxBytes } = request;
  // Event times are scanned by the streaming path, which does the same hashing.
  if (request.eventTimes) return hashStream(source, { platform, ...request });
  const content = new Gathered(platform, bound);
  if (request.gzip) {
    const r = await gunzipInto(source, content.add, {
      platform,
      what,
      ...(maxBytes !== undefined && { maxOutputBytes: maxBytes }),
      ...(request.sizeHint !== undefined && { sizeHint: request.sizeHint }),
    });
    return { sha256: await content.sha256(), size: r.uncompressedBytes, storedSize: r.compressedBytes };
  }
  const max = maxBytes ?? Number.POSITIVE_INFINITY;
  let size = 0;
  for await (const chunk of toChunks(source)) {
    size += chunk.byteLength;
    if (size > max) throw new ValidateLogsError('SIZE_LIMIT', `${what}: larger than the limit of ${max} bytes`);
    content.add(chunk);
  }
  return { sha256: await content.sha256(), size, storedSize: size };
}

/** Files read in one call rather than streamed (a stored log is usually far smaller). */
const WHOLE_READ = 1024 * 1024;
/** Stored gzip objects up to this size are read whole and tried on the runtime's own gzip reader first. */
const NATIVE_GZIP_MAX_STORED = 16 * 1024 * 1024;

/** A file could not be read: the caller reads it the ordinary way, which names what is wrong. */
class ReadFailed extends Error {}

async function* blobChunks(file: Blob): AsyncGenerator<Uint8Array> {
  if (file.size <= WHOLE_READ) {
    yield await readWhole(file);
    return;
  }
  try {
    const reader = file.stream().getReader();
    try {
      for (;;) {
        const step = await reader.read();
        if (step.done) return;
        yield step.value;
      }
    } finally {
      reader.releaseLock();
    }
  } catch (e) {
    throw new ReadFailed(e instanceof Error ? e.message : String(e));
  }
}

async function readWhole(file: Blob): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await file.arrayBuffer());
  } catch (e) {
    throw new ReadFailed(e instanceof Error ? e.message : String(e));
  }
}

/** The buffer a hashing Worker gathers an object's content into, kept from one object to the next. */
let gathering = new Uint8Array(0);

/**
 * A view of `size` bytes of the gathering buffer, grown (to at most the one-call bound) when too
 * small. A buffer kept is far cheaper than a new one per object: a fresh large allocation is new
 * memory the system must map and clear, and in headless Chromium on the bench's machine copying
 * 4 MiB of content into a new buffer cost about 18 times as much as into a kept one.
 */
function gatherInto(size: number): Uint8Array<ArrayBuffer> {
  if (gathering.byteLength < size) gathering = new Uint8Array(Math.max(size, Math.min(2 * gathering.byteLength, WEBCRYPTO_MAX_BYTES)));
  return gathering.subarray(0, size);
}

/**
 * The content length a whole gzip object's trailer states (modulo 2^32), when the package's
 * strict parser accepts its header, it is long enough for a member, and the length is within
 * `limit`; undefined otherwise (the strict path then gives the verdict).
 */
function statedLength(input: Uint8Array, limit: number, platform: Platform): number | undefined {
  const n = input.byteLength;
  if (gzipHeaderEnd(input, platform) < 0 || n < 18) return undefined;
  const stated = uint32le(input, n - 4);
  return stated > limit ? undefined : stated;
}

/**
 * WebCrypto's SHA-256 of bytes where they lie, as hex: no copy of ours first (WebCrypto copies
 * them itself when called, so the memory is free again once this is called).
 */
const digestInPlace = async (bytes: Uint8Array<ArrayBuffer>): Promise<string> => toHex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes)));

/**
 * The fast path of a whole gzip object: the header checked by the package's strict parser, the
 * rest inflated and checked (CRC-32, length, nothing after the member) by the runtime's own gzip
 * reader, the content hashed by WebCrypto in one call. Undefined whenever anything is not as it
 * should be, or the content is larger than `limit`: the strict path then reads the same bytes and
 * gives the verdict, so this path can only agree with it, and a wrong object always gets the
 * strict path's error and message.
 */
async function hashGzipNative(input: Uint8Array<ArrayBuffer>, limit: number, platform: Platform): Promise<HashOutcome | undefined> {
  // The stated length (modulo 2^32) as a hint only: counted output decides.
  if (statedLength(input, limit, platform) === undefined) return undefined;
  const parts = await inflateGzipNative(input, limit);
  if (!parts) return undefined;
  let whole: Uint8Array<ArrayBuffer>;
  if (parts.length === 1) whole = parts[0]!;
  else {
    let size = 0;
    for (const p of parts) size += p.byteLength;
    whole = gatherInto(size);
    let at = 0;
    for (const p of parts) {
      whole.set(p, at);
      at += p.byteLength;
    }
  }
  // WebCrypto copies the bytes when called, so the gathering buffer is free again once it returns.
  return { sha256: await digestInPlace(whole), size: whole.byteLength, storedSize: input.byteLength };
}

/** Content of at least this many bytes is hashed by the way a {@link ShaChoice} chose (or is timed to choose); less, in WebAssembly. */
export const SHA_TIMED_MIN: number = 1 << 20;

/** Timed hashes of each way a {@link ShaChoice} makes before it keeps the cheaper. */
export const SHA_TRIALS: number = 3;

/**
 * Which of two SHA-256s a hashing Worker uses for the content it holds: WebCrypto's (the
 * processor's SHA extensions, but each call copies the content into fresh memory first) or one
 * compiled to WebAssembly over the content where it lies (no copy, no SHA extensions). Which costs
 * less depends on the machine: where fresh memory is cheap (most machines), WebCrypto's costs a
 * fraction of the other; on the bench's VM, where touching fresh memory is dear, the copy alone
 * costs more than the WebAssembly hash. So the Worker times both on its first objects of at least
 * {@link SHA_TIMED_MIN} bytes, alternating, {@link SHA_TRIALS} of each, and keeps the one with
 * less time per byte. The hash is the same either way: only its cost is chosen. Smaller content
 * is hashed in WebAssembly (no hop to WebCrypto's thread, and no copy). The timing is a call's
 * time in the Worker: it leaves out the freeing of WebCrypto's copy, which comes later, and while
 * WebCrypto's promise is awaited the Worker may do other work (another group's read or inflate),
 * which is counted in WebCrypto's time. Hashes begun meanwhile alternate by the trials begun, so
 * exactly {@link SHA_TRIALS} of each way are timed; one begun after all are begun, before the
 * choice, is made in WebAssembly (the content's memory is reused as soon as the call returns).
 */
export class ShaChoice {
  readonly #ms = [0, 0];
  readonly #bytes = [0, 0];
  /** Timed hashes begun, per way: the alternation goes by these, so that hashes begun while others are awaited (a Worker's interleaved groups) still make exactly SHA_TRIALS of each. */
  readonly #begun = [0, 0];
  /** Timed hashes ended, per way: the choice is made when both reach SHA_TRIALS. */
  readonly #ended = [0, 0];
  #chosen: 0 | 1 | undefined;

  /**
   * @param wasm - SHA-256 in WebAssembly over the bytes where they lie, as hex
   * @param webCrypto - WebCrypto's SHA-256 of the bytes, as hex
   * @param now - a clock in ms (`performance.now`)
   */
  constructor(
    private readonly wasm: (bytes: Uint8Array) => string,
    private readonly webCrypto: (bytes: Uint8Array<ArrayBuffer>) => Promise<string>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The way kept: 'wasm' or 'webcrypto', or undefined while both are still being timed. */
  get chosen(): 'wasm' | 'webcrypto' | undefined {
    return this.#chosen === undefined ? undefined : this.#chosen === 0 ? 'wasm' : 'webcrypto';
  }

  /**
   * SHA-256 of `bytes`, as hex, by the way chosen (or being timed). The bytes are read before
   * this returns its promise (WebCrypto copies them when called), never after: the caller's
   * memory is reused for the next log at once. So a hash begun while every trial is begun but
   * some are still awaited is made in WebAssembly, untimed, rather than waiting for the choice.
   * @param bytes - the content
   * @returns the hex digest
   */
  hash(bytes: Uint8Array<ArrayBuffer>): Promise<string> | string {
    if (bytes.byteLength < SHA_TIMED_MIN) return this.wasm(bytes);
    const chosen = this.#chosen;
    if (chosen !== undefined) return chosen === 0 ? this.wasm(bytes) : this.webCrypto(bytes);
    if (this.#begun[0]! >= SHA_TRIALS && this.#begun[1]! >= SHA_TRIALS) return this.wasm(bytes);
    return this.#trial(bytes);
  }

  /** A timed hash, of the way with fewer trials begun. */
  async #trial(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
    const way = this.#begun[0]! <= this.#begun[1]! ? 0 : 1;
    this.#begun[way]!++;
    let timed = false;
    try {
      const start = this.now();
      const hex = way === 0 ? this.wasm(bytes) : await this.webCrypto(bytes);
      this.#ms[way]! += this.now() - start;
      this.#bytes[way]! += bytes.byteLength;
      timed = true;
      return hex;
    } finally {
      if (timed) this.#ended[way]!++;
      else this.#begun[way]!--; // failed: the next large hash times this way again
      if (this.#chosen === undefined && this.#ended[0]! >= SHA_TRIALS && this.#ended[1]! >= SHA_TRIALS) {
        this.#chosen = this.#ms[0]! / this.#bytes[0]! <= this.#ms[1]! / this.#bytes[1]! ? 0 : 1;
      }
    }
  }
}

let shaChoice: Promise<ShaChoice | undefined> | undefined;

/**
 * This thread's {@link ShaChoice}, made on first use, with one `hash-wasm` SHA-256 kept for the
 * thread (it runs to its end when called, so interleaved groups never share it mid-hash);
 * undefined where WebAssembly may not be compiled (WebCrypto then hashes everything).
 */
function threadShaChoice(): Promise<ShaChoice | undefined> {
  return (shaChoice ??= createSHA256().then(
    (sha: IHasher) =>
      new ShaChoice((bytes) => {
        sha.init();
        sha.update(bytes);
        return sha.digest('hex');
      }, digestInPlace),
    () => undefined,
  ));
}

/**
 * The fast path of a whole gzip object through zlib in WebAssembly: the header checked by the
 * package's strict parser, the object copied into the module's memory, inflated and checked there
 * by zlib (CRC-32, length, nothing after the member) into room for exactly the length its trailer
 * states, and the content hashed where it lies (by `sha`, the thread's choice of SHA-256, else WebCrypto).
 * Undefined whenever anything is not as it should be, or the content is larger than `limit`: the
 * strict path then reads the same bytes and gives the verdict, as for {@link hashGzipNative}.
 */
async function hashGzipWasm(input: Uint8Array<ArrayBuffer>, limit: number, platform: Platform, zlib: WasmGunzip, sha: ShaChoice | undefined): Promise<HashOutcome | undefined> {
  // Content of a valid member is exactly its stated length, the limit being under 4 GiB: room for
  // that much and no more bounds a bomb, and any other length is refused.
  const stated = statedLength(input, limit, platform);
  const room = stated === undefined ? undefined : zlib.input(input.byteLength);
  if (!room) return undefined;
  room.set(input);
  const content = zlib.gunzip(stated!);
  if (!content) return undefined;
  const size = content.byteLength;
  // Both hashes are done with the module's memory when they are called (the one in WebAssembly
  // runs to its end at once; WebCrypto copies the bytes when called): it is free for the Worker's
  // next object (another group's, meanwhile) from here on.
  return { sha256: await (sha ? sha.hash(content) : digestInPlace(content)), size, storedSize: input.byteLength };
}

/** Hash a picked file on a hashing Worker: a small enough gzip object tried on the fast path first. */
async function hashFile(platform: Platform, bound: number, file: Blob, request: HashRequest): Promise<HashOutcome> {
  if (!request.gzip || request.eventTimes || file.size > NATIVE_GZIP_MAX_STORED) return hashBytes(platform, bound, blobChunks(file), request);
  const input = await readWhole(file);
  const limit = Math.min(bound, request.maxBytes ?? Number.POSITIVE_INFINITY);
  const zlib = await wasmGunzip();
  const fast = zlib ? await hashGzipWasm(input, limit, platform, zlib, await threadShaChoice()) : await hashGzipNative(input, limit, platform);
  return fast ?? hashBytes(platform, bound, [input], request);
}

/** One file's answer from a hashing Worker: the outcome, an error about its bytes, or null when it must be read the ordinary way. */
export type WebHashAnswer = HashOutcome | { code: 'GZIP_INVALID' | 'SIZE_LIMIT'; message: string } | null;

/** A group of files sent to a hashing Worker. */
export interface WebHashJob {
  /** The group's number, echoed in the answer. */
  id: number;
  /** The files (a `File` is cloned by reference: its bytes are not copied), with their names for messages. */
  files: Array<{ file: Blob; what: string }>;
  /** How to hash them. */
  request: Omit<HashRequest, 'what' | 'sizeHint'>;
  /** Content up to this many bytes is hashed through WebCrypto. */
  bound: number;
}

/**
 * What a hashing Worker does with a group: each file read and hashed in turn, as on the
 * caller's thread ({@link createWebPlatform}'s `hashBytes`).
 * @param job - the group
 * @param platform - the runtime; the runtime's own when omitted
 * @returns an answer per file, in order
 */
export async function runWebHashJob(job: WebHashJob, platform: Platform = runtimePlatform): Promise<WebHashAnswer[]> {
  const out: WebHashAnswer[] = [];
  for (const { file, what } of job.files) {
    try {
      out.push(await hashFile(platform, job.bound, file, { ...job.request, what, sizeHint: file.size }));
    } catch (e) {
      if (e instanceof ValidateLogsError && (e.code === 'GZIP_INVALID' || e.code === 'SIZE_LIMIT')) out.push({ code: e.code, message: e.message });
      else out.push(null); // a read that failed, or anything else: the caller's ordinary read says what
    }
  }
  return out;
}

/** Where hashing Workers come from, and which picked file a {@link HashFile} path names. */
export interface WebWorkers {
  /** How many Workers (the page: `navigator.hardwareConcurrency`). */
  count: number;
  /** The module a Worker runs: one that answers {@link WebHashJob}s with {@link runWebHashJob}. */
  module: URL;
  /** The file a path names (the source's {@link ObjectSource.files} gave the path), or undefined. */
  file(path: string): Blob | undefined;
  /** Told the stored size of every object a Worker hashed, for progress. */
  onRead?(bytes: number): void;
}

/** Objects each Worker is given at once: enough to keep it busy, few enough that findings (and progress) come steadily. */
const OBJECTS_PER_WORKER = 8;

/** Web Workers hashing picked files in groups, the least busy first. */
class WebHashPool {
  readonly #workers: WebWorkers;
  readonly #platform: Platform;
  readonly #bound: number;
  readonly #threads: Array<{ handle: ThreadHandle; busy: number; failed?: Error }> = [];
  readonly #pending = new Map<number, { resolve(a: WebHashAnswer[]): void; reject(e: Error): void; thread: number }>();
  #next = 0;

  constructor(workers: WebWorkers, platform: Platform, bound: number) {
    this.#workers = workers;
    this.#platform = platform;
    this.#bound = bound;
  }

  get threads(): number {
    return this.#workers.count;
  }

  get capacity(): number {
    return this.#workers.count * OBJECTS_PER_WORKER;
  }

  warm(): void {
    while (this.#threads.length < this.#workers.count) {
      const index = this.#threads.length;
      const handle = this.#platform.startThread!(this.#workers.module, {
        message: (m) => this.#answer(m as { id: number; answers: WebHashAnswer[] }),
        failed: (e) => this.#fail(index, e),
      });
      this.#threads.push({ handle, busy: 0 });
    }
  }

  #answer(m: { id: number; answers: WebHashAnswer[] }): void {
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    this.#threads[p.thread]!.busy--;
    p.resolve(m.answers);
  }

  #fail(thread: number, e: Error): void {
    this.#threads[thread]!.failed = e; // a failed Worker takes no more groups: the run fails
    for (const [id, p] of this.#pending) {
      if (p.thread !== thread) continue;
      this.#pending.delete(id);
      p.reject(e);
    }
  }

  async hashFiles(files: readonly HashFile[], request: Omit<HashRequest, 'what' | 'sizeHint'>): Promise<Array<HashOutcome | ValidateLogsError | undefined>> {
    const out = new Array<HashOutcome | ValidateLogsError | undefined>(files.length);
    const sent: Array<{ file: Blob; what: string }> = [];
    const at: number[] = [];
    files.forEach((f, i) => {
      const file = this.#workers.file(f.path);
      if (file) {
        sent.push({ file, what: f.what });
        at.push(i);
      }
    });
    if (sent.length === 0) return out;
    this.warm();
    let thread = 0;
    for (let t = 1; t < this.#threads.length; t++) if (this.#threads[t]!.busy < this.#threads[thread]!.busy) thread = t;
    const id = this.#next++;
    const job: WebHashJob = { id, files: sent, request, bound: this.#bound };
    const answers = await new Promise<WebHashAnswer[]>((resolve, reject) => {
      const failed = this.#threads[thread]!.failed;
      if (failed) return reject(failed);
      this.#pending.set(id, { resolve, reject, thread });
      this.#threads[thread]!.busy++;
      this.#threads[thread]!.handle.post(job);
    });
    answers.forEach((a, j) => {
      if (a === null) return;
      if ('code' in a) out[at[j]!] = new ValidateLogsError(a.code, a.message);
      else {
        this.#workers.onRead?.(a.storedSize);
        out[at[j]!] = a;
      }
    });
    return out;
  }
}

/**
 * The Web platform with its objects hashed through WebCrypto where their content fits a bound:
 * picked files (a source whose `files` names them) on Web Workers, in groups, when `workers`
 * is given; anything else on the caller's thread (a Worker, on the page). Nothing here takes
 * digests whole, so the walk does that itself.
 * @param options - `bound`: content up to this many bytes is hashed in one call (default
 *   {@link WEBCRYPTO_MAX_BYTES}); `platform`: the runtime (default the runtime's own: the Web
 *   platform where the `node` condition does not apply);
 *   `workers`: the hashing Workers
 * @returns the platform, with the hashing as its `offload`
 * @example
 * ```ts
 * const platform = createWebPlatform({ bound: 8 * 1024 * 1024 });
 * for await (const f of verifyTrail({ ...options, platform })) { ... }
 * ```
 */
export function createWebPlatform(options: { bound?: number; platform?: Platform; workers?: WebWorkers } = {}): PooledPlatform {
  const platform = options.platform ?? runtimePlatform;
  const bound = options.bound ?? WEBCRYPTO_MAX_BYTES;
  const pool = options.workers && options.workers.count > 0 && platform.startThread ? new WebHashPool(options.workers, platform, bound) : undefined;
  const offload: Offload = {
    threads: pool ? pool.threads : 1,
    capacity: pool ? pool.capacity : 1,
    warm: () => pool?.warm(),
    hashFiles: async (files, request) => (pool ? pool.hashFiles(files, request) : files.map(() => undefined)),
    hashBytes: (source, request) => hashBytes(platform, bound, source, request),
    takeDigest: async () => ({ parsed: false }),
  };
  return Object.freeze({ ...platform, offload });
}

/** The platform chosen for this runtime by the package's `#parallel` import: the Web platform, its objects hashed through WebCrypto where they fit. */
export const defaultPlatform: PooledPlatform = createWebPlatform();
