/**
 * The hashing core: SHA-256 over a byte stream, optionally gunzipping in the same pass.
 * @module
 */
import { defaultPlatform } from '#platform';
import { ValidateLogsError } from '../errors.js';
import type { Platform } from '../platform/platform.js';
import { concatBytes, toHex } from '../utils.js';
import { toChunks, type ByteSource } from './chunks.js';
import { gunzipInto } from './gunzip.js';

/** Options of {@link hashStream}. */
export interface HashStreamOptions {
  /** Gunzip the input first and hash the uncompressed bytes (for `.json.gz` objects). */
  gzip?: boolean;
  /** The runtime's SHA-256 and inflater; the default platform (by the package's conditional imports) when omitted. */
  platform?: Platform;
  /** Fail with `SIZE_LIMIT` once the (uncompressed) content exceeds this many bytes. */
  maxBytes?: number;
  /** Name of the object for error messages. */
  what?: string;
  /** Also called with each chunk of (uncompressed) content, for example to scan event times. */
  onContent?: (chunk: Uint8Array) => void;
  /** The stored size, when known (buffers are sized by it). */
  sizeHint?: number;
}

/** What {@link hashStream} computed. */
export interface HashStreamResult {
  /** Lower-case hex SHA-256 of the (uncompressed) content. */
  sha256: string;
  /** Bytes of (uncompressed) content. */
  size: number;
  /** Bytes read from the source (equal to `size` when not gunzipping). */
  storedSize: number;
}

/**
 * SHA-256 of a stream's content in one streaming pass, with bounded memory.
 *
 * @param source - the stored bytes
 * @param options - gunzip, limits, platform
 * @returns the hex digest and sizes
 * @throws ValidateLogsError `GZIP_INVALID` or `SIZE_LIMIT`
 * @example
 * ```ts
 * const { sha256 } = await hashStream(fs.createReadStream('x.json.gz'), { gzip: true });
 * ```
 */
export async function hashStream(source: ByteSource, options: HashStreamOptions = {}): Promise<HashStreamResult> {
  const platform = options.platform ?? defaultPlatform;
  const hash = platform.createSha256();
  const onContent = options.onContent;
  const sink = onContent
    ? (chunk: Uint8Array): void => {
        hash.update(chunk);
        onContent(chunk);
      }
    : (chunk: Uint8Array): void => hash.update(chunk);
  if (options.gzip) {
    const r = await gunzipInto(source, sink, {
      platform,
      ...(options.maxBytes !== undefined && { maxOutputBytes: options.maxBytes }),
      ...(options.what !== undefined && { what: options.what }),
      ...(options.sizeHint !== undefined && { sizeHint: options.sizeHint }),
    });
    return { sha256: toHex(hash.digest()), size: r.uncompressedBytes, storedSize: r.compressedBytes };
  }
  const max = options.maxBytes ?? Number.POSITIVE_INFINITY;
  let size = 0;
  for await (const chunk of toChunks(source)) {
    size += chunk.byteLength;
    if (size > max) {
      throw new ValidateLogsError('SIZE_LIMIT', `${options.what ?? 'object'}: larger than the limit of ${max} bytes`);
    }
    sink(chunk);
  }
  return { sha256: toHex(hash.digest()), size, storedSize: size };
}

/**
 * Read a whole (small) object into memory, gunzipping it when asked; for digests and
 * sidecars, which are parsed whole. Always pass a limit for data from storage.
 *
 * @param source - the stored bytes
 * @param options - `gzip`, `maxBytes` (required), a name for messages, the platform
 * @returns the (uncompressed) bytes
 * @throws ValidateLogsError `GZIP_INVALID` or `SIZE_LIMIT`
 */
export async function readAll(
  source: ByteSource,
  options: { gzip?: boolean; maxBytes: number; what?: string; platform?: Platform },
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  const collect = (chunk: Uint8Array): void => {
    parts.push(chunk.slice()); // the inflater may reuse its buffer; keep a copy
    size += chunk.byteLength;
  };
  if (options.gzip) {
    await gunzipInto(source, collect, {
      maxOutputBytes: options.maxBytes,
      ...(options.what !== undefined && { what: options.what }),
      ...(options.platform !== undefined && { platform: options.platform }),
    });
  } else {
    for await (const chunk of toChunks(source)) {
      if (size + chunk.byteLength > options.maxBytes) {
        throw new ValidateLogsError('SIZE_LIMIT', `${options.what ?? 'object'}: larger than the limit of ${options.maxBytes} bytes`);
      }
      collect(chunk);
    }
  }
  return concatBytes(parts);
}
