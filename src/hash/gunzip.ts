/**
 * Strict, streaming gzip decoding: exactly one gzip member (RFC 1952), nothing after it.
 *
 * The gzip framing (header, CRC-32 and length trailer) is parsed here; the deflate data in
 * between goes to the platform's raw inflater (under Node, zlib's, on libuv's thread pool, off
 * the main thread; elsewhere `DecompressionStream`). Because the framing is ours, every way the bytes can be wrong is seen and named: a bad
 * header, corrupt deflate data, a CRC or length that does not match, a truncated stream, a
 * second member, or any byte (zero padding included) after the end of the stream. The AWS
 * CLI's reader ignores what follows the first member; a verifier must not, since those bytes
 * can hide content that was never hashed.
 *
 * Memory stays bounded whatever the object's size: input chunks are handed to zlib without
 * copies, output chunks go straight to the caller's sink and are not retained. Where the
 * platform can (Node), a small object (its stored size known and at most 256 KiB) is inflated
 * in one synchronous call instead: for many small objects the stream machinery would cost more
 * than the inflating.
 * @module
 */
import { defaultPlatform } from '#platform';
import { ValidateLogsError } from '../errors.js';
import type { Platform } from '../platform/platform.js';
import { concatBytes } from '../utils.js';
import { toChunks, type ByteSource } from './chunks.js';

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;
const FIXED_HEADER = 10;
const TRAILER = 8;
/** An object stored in at most this many bytes gets the inflater's small buffers. */
const SMALL_INPUT = 4 * 1024;
/** Objects stored in at most this many bytes are inflated in one synchronous call. */
const WHOLE_MAX_INPUT = 256 * 1024;
/** ... as long as they inflate to at most this much (beyond it, they stream). */
const WHOLE_MAX_OUTPUT = 16 * 1024 * 1024;

/** Options of {@link gunzipInto}. */
export interface GunzipOptions {
  /** Fail with `SIZE_LIMIT` once the output exceeds this many bytes. Unlimited by default. */
  maxOutputBytes?: number;
  /** Name of the object, for error messages (for example its `s3://` URI). */
  what?: string;
  /** The compressed size, when known: small objects are inflated in one call, with smaller buffers. */
  sizeHint?: number;
  /** The runtime's inflater and CRC-32; the default platform (by the package's conditional imports) when omitted. */
  platform?: Platform;
}

/** What {@link gunzipInto} measured. */
export interface GunzipResult {
  /** Bytes of gzip input read. */
  compressedBytes: number;
  /** Bytes of output produced. */
  uncompressedBytes: number;
}

type Fail = (reason: string, cause?: unknown) => ValidateLogsError;

/** The gzip header, parsed incrementally over chunks: fixed part, then FEXTRA, FNAME, FCOMMENT, FHCRC. */
class HeaderParser {
  #phase: 'fixed' | 'xlen' | 'extra' | 'name' | 'comment' | 'hcrc' | 'done' = 'fixed';
  readonly #fixed = new Uint8Array(FIXED_HEADER);
  readonly #small = new Uint8Array(2);
  #filled = 0;
  #flags = 0;
  #toSkip = 0;
  #crc = 0;
  readonly #bad: Fail;
  readonly #crc32: Platform['crc32'];

  constructor(bad: Fail, crc32: Platform['crc32']) {
    this.#bad = bad;
    this.#crc32 = crc32;
  }

  /** Whether nothing of the header has been read. */
  get empty(): boolean {
    return this.#phase === 'fixed' && this.#filled === 0;
  }

  /** Move on to the first optional field after `done` that the flags announce, or finish. */
  #after(done: 'fixed' | 'xlen' | 'name' | 'comment'): void {
    const fields = [
      ['xlen', FEXTRA],
      ['name', FNAME],
      ['comment', FCOMMENT],
      ['hcrc', FHCRC],
    ] as const;
    const next = fields.slice(done === 'fixed' ? 0 : fields.findIndex(([f]) => f === done) + 1).find(([, flag]) => this.#flags & flag);
    this.#phase = next ? next[0] : 'done';
  }

  /**
   * Read header bytes from `chunk` starting at `i`.
   * @returns where the header ends in the chunk (the body starts), or -1 when it goes on
   */
  push(chunk: Uint8Array, i: number): number {
    while (i < chunk.byteLength) {
      switch (this.#phase) {
        case 'fixed': {
          const n = Math.min(FIXED_HEADER - this.#filled, chunk.byteLength - i);
          this.#fixed.set(chunk.subarray(i, i + n), this.#filled);
          this.#filled += n;
          i += n;
          if (this.#filled < FIXED_HEADER) break;
          const h = this.#fixed;
          if (h[0] !== 0x1f || h[1] !== 0x8b) throw this.#bad('not a gzip stream (bad magic bytes)');
          if (h[2] !== 8) throw this.#bad(`unsupported compression method ${h[2]}`);
          this.#flags = h[3]!;
          if (this.#flags & FRESERVED) throw this.#bad('reserved header flags are set');
          this.#crc = this.#crc32(h, 0);
          this.#filled = 0;
          this.#after('fixed');
          break;
        }
        case 'xlen': {
          const b = chunk[i++]!;
          this.#crc = this.#crc32(Uint8Array.of(b), this.#crc);
          this.#small[this.#filled++] = b;
          if (this.#filled < 2) break;
          this.#toSkip = this.#small[0]! | (this.#small[1]! << 8);
          this.#filled = 0;
          this.#phase = 'extra';
          break;
        }
        case 'extra': {
          const n = Math.min(this.#toSkip, chunk.byteLength - i);
          if (n > 0) this.#crc = this.#crc32(chunk.subarray(i, i + n), this.#crc);
          i += n;
          this.#toSkip -= n;
          if (this.#toSkip === 0) this.#after('xlen');
          break;
        }
        case 'name':
        case 'comment': {
          const end = chunk.indexOf(0, i);
          const stop = end < 0 ? chunk.byteLength : end + 1;
          this.#crc = this.#crc32(chunk.subarray(i, stop), this.#crc);
          i = stop;
          if (end >= 0) this.#after(this.#phase);
          break;
        }
        case 'hcrc': {
          this.#small[this.#filled++] = chunk[i++]!;
          if (this.#filled < 2) break;
          if ((this.#small[0]! | (this.#small[1]! << 8)) !== (this.#crc & 0xffff)) throw this.#bad('header CRC mismatch');
          this.#phase = 'done';
          break;
        }
        case 'done':
          return i;
      }
    }
    // An empty FEXTRA field ends the header without needing another byte.
    if (this.#phase === 'extra' && this.#toSkip === 0) this.#after('xlen');
    return this.#phase === 'done' ? i : -1;
  }
}

/**
 * Where the gzip header of a whole object held in memory ends, by the same strict parser as
 * {@link gunzipInto} (magic bytes, method, reserved flags, optional fields, header CRC).
 * @param input - the whole stored object
 * @param platform - the CRC-32 for a header CRC; the default platform when omitted
 * @returns the offset of the deflate data, or -1 when the header is invalid or incomplete
 */
export function gzipHeaderEnd(input: Uint8Array, platform: Platform = defaultPlatform): number {
  try {
    return new HeaderParser(() => new ValidateLogsError('GZIP_INVALID', 'invalid gzip header'), platform.crc32).push(input, 0);
  } catch {
    return -1;
  }
}

/**
 * Where the body starts when the header is its fixed part alone, valid, with no optional field
 * (what CloudTrail and zlib write): what {@link HeaderParser} says of such a header, without
 * making one for each of many small objects. Undefined for any other header (the parser reads it).
 */
function plainHeader(input: Uint8Array): number | undefined {
  return input.byteLength >= FIXED_HEADER && input[0] === 0x1f && input[1] === 0x8b && input[2] === 8 && input[3] === 0 ? FIXED_HEADER : undefined;
}

/**
 * A little-endian 32-bit number (unsigned) of `bytes` at `at`, as gzip's trailer stores its CRC-32 and length.
 * @param bytes - the bytes
 * @param at - where the number starts
 * @returns the number
 */
export const uint32le = (bytes: Uint8Array, at: number): number => (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;

/** What is wrong with the 8-byte trailer against the content's CRC-32 and length, if anything (nothing made when all is well). */
function trailerProblem(trailer: Uint8Array, crc: number, size: number): string | undefined {
  if (uint32le(trailer, 0) !== crc >>> 0) return 'CRC-32 of the content does not match the gzip trailer';
  if (uint32le(trailer, 4) !== size % 2 ** 32) return 'length of the content does not match the gzip trailer';
  return undefined;
}

/** What both decoders share: the name for messages, the output limit, how to fail. */
interface Job {
  what: string;
  max: number;
  bad: Fail;
  platform: Platform;
  tooLarge: () => ValidateLogsError;
}

function job(options: GunzipOptions): Job {
  const what = options.what ?? 'object';
  const max = options.maxOutputBytes ?? Number.POSITIVE_INFINITY;
  return {
    what,
    max,
    platform: options.platform ?? defaultPlatform,
    bad: (reason, cause) => new ValidateLogsError('GZIP_INVALID', `${what}: invalid gzip: ${reason}`, cause === undefined ? {} : { cause }),
    tooLarge: () => new ValidateLogsError('SIZE_LIMIT', `${what}: inflates to more than the limit of ${max} bytes`),
  };
}

/**
 * Decode one gzip member from `source`, handing each output chunk to `sink` as it is produced.
 *
 * @param source - the compressed bytes
 * @param sink - called with each chunk of output; the chunk may be reused after the call returns
 * @param options - limits, a name for messages, the platform
 * @returns sizes of input and output
 * @throws ValidateLogsError `GZIP_INVALID` when the bytes are not exactly one valid gzip member,
 *   `SIZE_LIMIT` when the output exceeds `maxOutputBytes`
 * @example
 * ```ts
 * let size = 0;
 * await gunzipInto(response.body, (c) => (size += c.byteLength));
 * ```
 */
export async function gunzipInto(source: ByteSource, sink: (chunk: Uint8Array) => void, options: GunzipOptions = {}): Promise<GunzipResult> {
  const j = job(options);
  const small = options.sizeHint !== undefined && options.sizeHint <= SMALL_INPUT;
  if (!j.platform.inflateWhole || options.sizeHint === undefined || options.sizeHint > WHOLE_MAX_INPUT) {
    return gunzipStream(toChunks(source), sink, j, small);
  }
  // A small object: gather it (the bound holds whatever its stated size), then inflate it in one call.
  const parts: Uint8Array[] = [];
  let size = 0;
  const it = toChunks(source);
  const iterator = Symbol.asyncIterator in it ? it[Symbol.asyncIterator]() : (it as Iterable<Uint8Array>)[Symbol.iterator]();
  for (;;) {
    const r = await iterator.next();
    if (r.done) break;
    parts.push(Uint8Array.from(r.value)); // a source may reuse its buffer for the next chunk
    size += r.value.byteLength;
    if (size > WHOLE_MAX_INPUT) {
      // Larger than it said: stream what was gathered, then the rest.
      const rest = { [Symbol.asyncIterator]: () => iterator as AsyncIterator<Uint8Array> };
      return gunzipStream((async function* () { yield* parts; yield* rest; })(), sink, j, false);
    }
  }
  const whole = parts.length === 1 ? parts[0]! : concatBytes(parts);
  return gunzipWhole(whole, sink, j.platform, options) ?? gunzipStream([whole], sink, j, small);
}

/**
 * Decode a whole gzip object held in memory in one synchronous call, where the platform can
 * (Node): the same checks as {@link gunzipInto}, for a caller that must not wait.
 *
 * @param input - the whole stored object
 * @param sink - called with the output (the chunk may be reused after the call returns)
 * @param options - limits, a name for messages, the platform
 * @returns sizes of input and output; undefined when the platform has no one-call inflate or
 *   the object inflates to more than 16 MiB (decode it with {@link gunzipInto} instead)
 * @throws ValidateLogsError `GZIP_INVALID` when the bytes are not exactly one valid gzip member,
 *   `SIZE_LIMIT` when the output exceeds `maxOutputBytes`
 */
export function gunzipWholeSync(input: Uint8Array, sink: (chunk: Uint8Array) => void, options: GunzipOptions = {}): GunzipResult | undefined {
  const platform = options.platform ?? defaultPlatform;
  if (!platform.inflateWhole) return undefined;
  return gunzipWhole(input, sink, platform, options);
}

/**
 * {@link gunzipWholeSync}'s content itself, for a caller that hashes many small objects: the
 * same checks, the same errors, and nothing made for an object that is fine (no options, no
 * error-making functions, no result object): its content is returned.
 * @param input - the whole stored object
 * @param platform - the runtime (one with `inflateWhole`)
 * @param options - the limit and the name for messages (`sizeHint` and `platform` unused)
 * @returns the content, valid until the platform's next inflate; undefined when the object
 *   inflates to more than one call takes (stream it instead)
 * @throws ValidateLogsError `GZIP_INVALID` or `SIZE_LIMIT`
 */
export function gunzipWholeContent(input: Uint8Array, platform: Platform, options: Pick<GunzipOptions, 'maxOutputBytes' | 'what'>): Uint8Array | undefined {
  const max = options.maxOutputBytes ?? Number.POSITIVE_INFINITY;
  const body = plainHeader(input) ?? new HeaderParser(job(options).bad, platform.crc32).push(input, 0);
  if (body < 0) throw job(options).bad(input.byteLength === 0 ? 'empty object' : 'truncated in the gzip header');
  let out;
  try {
    out = platform.inflateWhole!(input.subarray(body), Math.min(max, WHOLE_MAX_OUTPUT));
  } catch (e) {
    throw job(options).bad(e instanceof Error ? e.message : String(e), e);
  }
  if (!out) {
    if (max <= WHOLE_MAX_OUTPUT) throw job(options).tooLarge();
    return undefined;
  }
  const output = out.output;
  const trailer = input.subarray(body + out.consumed);
  if (trailer.byteLength !== TRAILER) {
    const bad = job(options).bad;
    if (trailer.byteLength < TRAILER) throw bad('truncated: the gzip trailer is missing or incomplete');
    throw bad(`data after the end of the gzip stream (at byte ${input.byteLength - trailer.byteLength + TRAILER})`);
  }
  const problem = trailerProblem(trailer, platform.crc32(output), output.byteLength);
  if (problem !== undefined) throw job(options).bad(problem);
  return output;
}

/**
 * One synchronous inflate of a whole small object (the platform has `inflateWhole`); undefined
 * when it inflates too far for that (stream it instead).
 */
function gunzipWhole(input: Uint8Array, sink: (chunk: Uint8Array) => void, platform: Platform, options: GunzipOptions): GunzipResult | undefined {
  const output = gunzipWholeContent(input, platform, options);
  if (!output) return undefined;
  if (output.byteLength > 0) sink(output);
  return { compressedBytes: input.byteLength, uncompressedBytes: output.byteLength };
}

/** The streaming decoder: the platform's raw inflater, framing checked here. */
async function gunzipStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, sink: (chunk: Uint8Array) => void, j: Job, small: boolean): Promise<GunzipResult> {
  const { what, max, bad, platform } = j;
  const header = new HeaderParser(bad, platform.crc32);
  let phase: 'header' | 'body' | 'trailer' = 'header';
  const trailer = new Uint8Array(TRAILER);
  let filled = 0;
  let compressed = 0;
  let output = 0;
  let outCrc = 0;
  let inflater: ReturnType<Platform['createInflater']> | undefined;
  let sinkError: { error: unknown } | undefined;

  const count = (chunk: Uint8Array): void => {
    try {
      output += chunk.byteLength;
      if (output > max) throw j.tooLarge();
      outCrc = platform.crc32(chunk, outCrc);
      sink(chunk);
    } catch (error) {
      sinkError ??= { error };
      throw error;
    }
  };
  /** Run an inflater step: the sink's own error as it was thrown, the inflater's as GZIP_INVALID. */
  const inflating = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (e) {
      if (sinkError) throw sinkError.error;
      throw bad(e instanceof Error ? e.message : String(e), e);
    }
  };
  /** Take trailer bytes; anything beyond the 8 is data after the end of the stream. */
  const takeTrailer = (bytes: Uint8Array, at: number): void => {
    if (filled + bytes.byteLength > TRAILER) throw bad(`data after the end of the gzip stream (at byte ${at + TRAILER - filled})`);
    trailer.set(bytes, filled);
    filled += bytes.byteLength;
  };

  try {
    for await (const chunk of source) {
      if (!(chunk instanceof Uint8Array)) throw new TypeError(`${what}: stream yielded a non-Uint8Array chunk`);
      compressed += chunk.byteLength;
      const base = compressed - chunk.byteLength;
      let i = 0;
      while (i < chunk.byteLength) {
        if (phase === 'header') {
          const end = header.push(chunk, i);
          if (end < 0) break;
          i = end;
          phase = 'body';
          inflater = platform.createInflater(count, { small });
        } else if (phase === 'body') {
          // The inflater takes body bytes until the deflate stream ends; what it leaves is the trailer.
          const part = i === 0 ? chunk : chunk.subarray(i);
          const left = await inflating(() => inflater!.write(part));
          i = chunk.byteLength - left;
          if (left > 0) phase = 'trailer';
        } else {
          takeTrailer(chunk.subarray(i), base + i);
          i = chunk.byteLength;
        }
      }
    }
    if (phase === 'header') throw bad(compressed === 0 && header.empty ? 'empty object' : 'truncated in the gzip header');
    const held = await inflating(() => inflater!.end());
    takeTrailer(held, compressed - held.byteLength);
    if (filled < TRAILER) throw bad('truncated: the gzip trailer is missing or incomplete');
    const problem = trailerProblem(trailer, outCrc, output);
    if (problem !== undefined) throw bad(problem);
    return { compressedBytes: compressed, uncompressedBytes: output };
  } finally {
    inflater?.destroy();
  }
}
