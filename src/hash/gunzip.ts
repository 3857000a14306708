/**
 * Strict, streaming gzip decoding: exactly one gzip member (RFC 1952), nothing after it.
 *
 * The gzip framing (header, CRC-32 and length trailer) is parsed here; the deflate data in
 * between goes to zlib's raw inflater, which runs on libuv's thread pool, off the main thread.
 * Because the framing is ours, every way the bytes can be wrong is seen and named: a bad
 * header, corrupt deflate data, a CRC or length that does not match, a truncated stream, a
 * second member, or any byte (zero padding included) after the end of the stream. The AWS
 * CLI's reader ignores what follows the first member; a verifier must not, since those bytes
 * can hide content that was never hashed.
 *
 * Memory stays bounded whatever the object's size: input chunks are handed to zlib without
 * copies, output chunks go straight to the caller's sink and are not retained.
 * @module
 */
import { createInflateRaw, crc32 } from 'node:zlib';
import { ValidateLogsError } from '../errors.js';
import { toChunks, type ByteSource } from './chunks.js';

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;
const FIXED_HEADER = 10;
const TRAILER = 8;
/** Output chunk size of the inflater for large objects: large enough to keep per-chunk overhead low. */
const INFLATE_CHUNK = 64 * 1024;
/** ... and for small ones, whose output fits in a smaller buffer (many small objects make less garbage). */
const SMALL_INFLATE_CHUNK = 16 * 1024;

/** Options of {@link gunzipInto}. */
export interface GunzipOptions {
  /** Fail with `SIZE_LIMIT` once the output exceeds this many bytes. Unlimited by default. */
  maxOutputBytes?: number;
  /** Name of the object, for error messages (for example its `s3://` URI). */
  what?: string;
  /** The compressed size, when known: small objects get a smaller output buffer. */
  sizeHint?: number;
}

/** What {@link gunzipInto} measured. */
export interface GunzipResult {
  /** Bytes of gzip input read. */
  compressedBytes: number;
  /** Bytes of output produced. */
  uncompressedBytes: number;
}

type Phase = 'fixed' | 'xlen' | 'extra' | 'name' | 'comment' | 'hcrc' | 'body' | 'trailer';

/**
 * Decode one gzip member from `source`, handing each output chunk to `sink` as it is produced.
 *
 * @param source - the compressed bytes
 * @param sink - called with each chunk of output; the chunk may be reused after the call returns
 * @param options - limits and a name for messages
 * @returns sizes of input and output
 * @throws ValidateLogsError `GZIP_INVALID` when the bytes are not exactly one valid gzip member,
 *   `SIZE_LIMIT` when the output exceeds `maxOutputBytes`
 * @example
 * ```ts
 * const h = nativeEngine.createSha256();
 * await gunzipInto(fs.createReadStream('log.json.gz'), (c) => h.update(c));
 * ```
 */
export async function gunzipInto(
  source: ByteSource,
  sink: (chunk: Uint8Array) => void,
  options: GunzipOptions = {},
): Promise<GunzipResult> {
  const what = options.what ?? 'object';
  const max = options.maxOutputBytes ?? Number.POSITIVE_INFINITY;
  const bad = (reason: string, cause?: unknown): ValidateLogsError =>
    new ValidateLogsError('GZIP_INVALID', `${what}: invalid gzip: ${reason}`, cause === undefined ? {} : { cause });

  let phase: Phase = 'fixed';
  const fixed = new Uint8Array(FIXED_HEADER);
  const small = new Uint8Array(TRAILER); // XLEN, HCRC and trailer bytes
  let filled = 0; // bytes gathered into `fixed` or `small`
  let flags = 0;
  let toSkip = 0;
  let headerCrc = 0;
  let compressed = 0;

  // Inflater state, created when the body starts.
  let inflater: ReturnType<typeof createInflateRaw> | undefined;
  let failure: unknown;
  let fed = 0;
  let output = 0;
  let outCrc = 0;
  let failed: Promise<never> | undefined;
  let finished: Promise<void> | undefined;

  const startBody = (): void => {
    const small = options.sizeHint !== undefined && options.sizeHint * 4 <= SMALL_INFLATE_CHUNK;
    const inf = createInflateRaw({ chunkSize: small ? SMALL_INFLATE_CHUNK : INFLATE_CHUNK });
    inflater = inf;
    failed = new Promise<never>((_, reject) => {
      inf.once('error', (e) => reject(failure ?? e));
    });
    failed.catch(() => undefined);
    finished = new Promise<void>((resolve) => inf.once('end', resolve));
    inf.on('data', (chunk: Buffer) => {
      if (failure !== undefined) return;
      output += chunk.byteLength;
      if (output > max) {
        failure = new ValidateLogsError(
          'SIZE_LIMIT',
          `${what}: inflates to more than the limit of ${max} bytes`,
        );
        inf.destroy(failure as Error);
        return;
      }
      outCrc = crc32(chunk, outCrc);
      try {
        sink(chunk);
      } catch (e) {
        failure = e;
        inf.destroy(e instanceof Error ? e : new Error(String(e)));
      }
    });
  };

  const rethrow = (e: unknown): never => {
    if (failure !== undefined) throw failure;
    if (e instanceof ValidateLogsError) throw e;
    throw bad(e instanceof Error ? e.message : String(e), e);
  };

  /** Feed body bytes to zlib; returns how many bytes at the end of `part` zlib did not take. */
  const feed = async (part: Uint8Array): Promise<number> => {
    const inf = inflater!;
    fed += part.byteLength;
    try {
      await Promise.race([
        new Promise<void>((resolve, reject) =>
          inf.write(part, (e) => (e ? reject(e) : resolve())),
        ),
        failed!,
      ]);
    } catch (e) {
      rethrow(e);
    }
    if (failure !== undefined) throw failure;
    return fed - inf.bytesWritten;
  };

  const headerByte = (b: number): void => {
    headerCrc = crc32(Uint8Array.of(b), headerCrc);
  };

  try {
    for await (const chunk of toChunks(source)) {
      if (!(chunk instanceof Uint8Array)) throw new TypeError(`${what}: stream yielded a non-Uint8Array chunk`);
      compressed += chunk.byteLength;
      let i = 0;
      while (i < chunk.byteLength) {
        switch (phase) {
          case 'fixed': {
            const n = Math.min(FIXED_HEADER - filled, chunk.byteLength - i);
            fixed.set(chunk.subarray(i, i + n), filled);
            filled += n;
            i += n;
            if (filled < FIXED_HEADER) break;
            if (fixed[0] !== 0x1f || fixed[1] !== 0x8b) throw bad('not a gzip stream (bad magic bytes)');
            if (fixed[2] !== 8) throw bad(`unsupported compression method ${fixed[2]}`);
            flags = fixed[3]!;
            if (flags & FRESERVED) throw bad('reserved header flags are set');
            headerCrc = crc32(fixed, 0);
            filled = 0;
            phase = flags & FEXTRA ? 'xlen' : flags & FNAME ? 'name' : flags & FCOMMENT ? 'comment' : flags & FHCRC ? 'hcrc' : 'body';
            if (phase === 'body') startBody();
            break;
          }
          case 'xlen': {
            const b = chunk[i++]!;
            headerByte(b);
            small[filled++] = b;
            if (filled < 2) break;
            toSkip = small[0]! | (small[1]! << 8);
            filled = 0;
            phase = 'extra';
            break;
          }
          case 'extra': {
            const n = Math.min(toSkip, chunk.byteLength - i);
            if (n > 0) headerCrc = crc32(chunk.subarray(i, i + n), headerCrc);
            i += n;
            toSkip -= n;
            if (toSkip > 0) break;
            phase = flags & FNAME ? 'name' : flags & FCOMMENT ? 'comment' : flags & FHCRC ? 'hcrc' : 'body';
            if (phase === 'body') startBody();
            break;
          }
          case 'name':
          case 'comment': {
            const end = chunk.indexOf(0, i);
            const stop = end < 0 ? chunk.byteLength : end + 1;
            headerCrc = crc32(chunk.subarray(i, stop), headerCrc);
            i = stop;
            if (end < 0) break;
            phase = phase === 'name' && flags & FCOMMENT ? 'comment' : flags & FHCRC ? 'hcrc' : 'body';
            if (phase === 'body') startBody();
            break;
          }
          case 'hcrc': {
            small[filled++] = chunk[i++]!;
            if (filled < 2) break;
            if ((small[0]! | (small[1]! << 8)) !== (headerCrc & 0xffff)) throw bad('header CRC mismatch');
            filled = 0;
            phase = 'body';
            startBody();
            break;
          }
          case 'body': {
            // zlib takes body bytes until the deflate stream ends; what it leaves is the trailer.
            const left = await feed(i === 0 ? chunk : chunk.subarray(i));
            i = chunk.byteLength - left;
            if (left > 0) phase = 'trailer';
            break;
          }
          case 'trailer': {
            if (filled === TRAILER) {
              throw bad(`data after the end of the gzip stream (at byte ${compressed - chunk.byteLength + i})`);
            }
            const n = Math.min(TRAILER - filled, chunk.byteLength - i);
            small.set(chunk.subarray(i, i + n), filled);
            filled += n;
            i += n;
            break;
          }
        }
      }
    }
    if (phase !== 'body' && phase !== 'trailer') {
      throw bad(compressed === 0 ? 'empty object' : 'truncated in the gzip header');
    }
    if (phase === 'body') {
      const inf = inflater!;
      try {
        await Promise.race([new Promise<void>((resolve) => inf.end(resolve)), failed!]);
      } catch (e) {
        rethrow(e);
      }
    }
    try {
      await Promise.race([finished!, failed!]);
    } catch (e) {
      rethrow(e);
    }
    if (failure !== undefined) throw failure;
    if (filled < TRAILER) throw bad('truncated: the gzip trailer is missing or incomplete');
    const view = new DataView(small.buffer, small.byteOffset, TRAILER);
    if (view.getUint32(0, true) !== outCrc >>> 0) throw bad('CRC-32 of the content does not match the gzip trailer');
    if (view.getUint32(4, true) !== output % 2 ** 32) throw bad('length of the content does not match the gzip trailer');
    return { compressedBytes: compressed, uncompressedBytes: output };
  } finally {
    inflater?.destroy();
  }
}
