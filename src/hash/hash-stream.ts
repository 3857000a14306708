/**
 * The hashing core: SHA-256 over a byte stream, optionally gunzipping in the same pass.
 * @module
 */
import { defaultPlatform } from '#platform';
import { ValidateLogsError } from '../errors.js';
import { EventTimeScanner } from '../format/events.js';
import type { Platform } from '../platform/platform.js';
import type { HashOutcome, OffloadPlatform } from './offload.js';
import { concatBytes, copyBytes, toHex } from '../utils.js';
import { toChunks, type ByteSource } from './chunks.js';
import { gunzipInto, gunzipWholeContent, gunzipWholeSync } from './gunzip.js';
import { sha256Hex } from './sha256.js';

/** Options of {@link hashStream}. */
export interface HashStreamOptions {
  /** Gunzip the input first and hash the uncompressed bytes (for `.json.gz` objects). */
  gzip?: boolean;
  /** The runtime's SHA-256 and inflater; the default platform (by the package's conditional imports) when omitted. */
  platform?: OffloadPlatform;
  /** Fail with `SIZE_LIMIT` once the (uncompressed) content exceeds this many bytes. */
  maxBytes?: number;
  /** Name of the object for error messages. */
  what?: string;
  /**
   * Also called with each chunk of (uncompressed) content. The content is then hashed in this
   * thread, never on the platform's pool.
   */
  onContent?: (chunk: Uint8Array) => void;
  /** Also find the newest and oldest CloudTrail `eventTime` in the content (as the generator records them in a digest). */
  eventTimes?: boolean;
  /** The stored size, when known (buffers are sized by it). */
  sizeHint?: number;
}

/**
 * What {@link hashStream} computed: the hex SHA-256, the sizes, and with `eventTimes` the
 * newest and oldest event times.
 */
export type HashStreamResult = HashOutcome;

/**
 * SHA-256 of a stream's content in one streaming pass, with bounded memory. On a platform with
 * a pool (`offload`) the bytes are hashed on its threads, unless `onContent`
 * needs them here.
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
  const platform: OffloadPlatform = options.platform ?? defaultPlatform;
  if (platform.offload && !options.onContent) {
    return platform.offload.hashBytes(source, {
      gzip: options.gzip === true,
      what: options.what ?? 'object',
      ...(options.maxBytes !== undefined && { maxBytes: options.maxBytes }),
      ...(options.sizeHint !== undefined && { sizeHint: options.sizeHint }),
      ...(options.eventTimes && { eventTimes: true }),
    });
  }
  const content = new Content(platform, options);
  if (options.gzip) {
    const r = await gunzipInto(source, content.sink, {
      platform,
      ...gunzipLimits(options),
      ...(options.sizeHint !== undefined && { sizeHint: options.sizeHint }),
    });
    return content.outcome(r.uncompressedBytes, r.compressedBytes);
  }
  let size = 0;
  for await (const chunk of toChunks(source)) {
    size += chunk.byteLength;
    content.check(size);
    content.sink(chunk);
  }
  return content.outcome(size, size);
}

/** Where content goes as it is produced: the SHA-256, the event-time scan, the caller's `onContent`. */
class Content {
  readonly sink: (chunk: Uint8Array) => void;
  readonly #hash: { update(chunk: Uint8Array): void; digest(): Uint8Array | string };
  readonly #scan: EventTimeScanner | undefined;
  readonly #max: number;
  readonly #what: string;

  /**
   * @param platform - the runtime
   * @param options - what else to do with the content, its limit, its name
   * @param whole - the content comes in one piece (one `sink` call at most): it is then hashed
   *   in one call where the platform can ({@link sha256Hex})
   */
  constructor(platform: Platform, options: HashStreamOptions, whole = false) {
    const hash = (this.#hash = whole ? oneShot((data) => sha256Hex(data, platform)) : platform.createSha256());
    const scan = (this.#scan = options.eventTimes ? new EventTimeScanner() : undefined);
    const onContent = options.onContent;
    this.#max = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#what = options.what ?? 'object';
    this.sink =
      onContent || scan
        ? (chunk) => {
            hash.update(chunk);
            scan?.update(chunk);
            onContent?.(chunk);
          }
        : (chunk) => hash.update(chunk);
  }

  /** Refuse content beyond the limit (uncompressed content is limited by the inflater). */
  check(size: number): void {
    if (size > this.#max) throw new ValidateLogsError('SIZE_LIMIT', `${this.#what}: larger than the limit of ${this.#max} bytes`);
  }

  outcome(size: number, storedSize: number): HashOutcome {
    const scan = this.#scan;
    const digest = this.#hash.digest();
    return { sha256: typeof digest === 'string' ? digest : toHex(digest), size, storedSize, ...(scan && { newestEventTime: scan.newest, oldestEventTime: scan.oldest }) };
  }
}

/**
 * {@link hashStream} over a whole object held in memory, in one synchronous call, where the
 * platform can inflate in one call: for a caller that hashes many small objects and must not
 * pay for a stream each (the Node platform's pool threads).
 *
 * @param bytes - the whole stored object
 * @param options - as for {@link hashStream}, without `onContent`
 * @returns the outcome; undefined when it must be hashed with {@link hashStream} (the platform
 *   has no one-call inflate, or the object inflates to more than 16 MiB)
 * @throws ValidateLogsError `GZIP_INVALID` or `SIZE_LIMIT`
 */
export function hashWhole(bytes: Uint8Array, options: Omit<HashStreamOptions, 'onContent' | 'sizeHint'> = {}): HashOutcome | undefined {
  const platform = options.platform ?? defaultPlatform;
  if (options.gzip && !options.eventTimes) return hashGunzipped(bytes, platform, options);
  const content = new Content(platform, options, true); // whole: its content comes in one piece
  if (!options.gzip) {
    content.check(bytes.byteLength);
    content.sink(bytes);
    return content.outcome(bytes.byteLength, bytes.byteLength);
  }
  const r = gunzipWholeSync(bytes, content.sink, { platform, ...gunzipLimits(options) });
  return r && content.outcome(r.uncompressedBytes, r.compressedBytes);
}

/**
 * {@link hashWhole} of a gzip object when only its hash is wanted (no event times): its
 * content hashed in one call, with no stream, hash object, sink or options of its own (a pool
 * thread hashes tens of thousands of small logs).
 */
function hashGunzipped(bytes: Uint8Array, platform: Platform, options: Omit<HashStreamOptions, 'onContent' | 'sizeHint'>): HashOutcome | undefined {
  if (!platform.inflateWhole) return undefined;
  const content = gunzipWholeContent(bytes, platform, gunzipLimits(options));
  return content && { sha256: sha256Hex(content, platform), size: content.byteLength, storedSize: bytes.byteLength };
}

/** The gunzip limits of the last hash options seen: a batch's objects share theirs, made once. */
let limitsOf: { maxBytes: number | undefined; what: string | undefined; limits: { maxOutputBytes?: number; what?: string } } | undefined;

function gunzipLimits(options: Omit<HashStreamOptions, 'onContent' | 'sizeHint'>): { maxOutputBytes?: number; what?: string } {
  const { maxBytes, what } = options;
  if (limitsOf === undefined || limitsOf.maxBytes !== maxBytes || limitsOf.what !== what) {
    limitsOf = { maxBytes, what, limits: { ...(maxBytes !== undefined && { maxOutputBytes: maxBytes }), ...(what !== undefined && { what }) } };
  }
  return limitsOf.limits;
}

/**
 * Read a whole (small) object into memory, gunzipping it when asked; for digests and
 * sidecars, which are parsed whole. Always pass a limit for data from storage.
 *
 * @param source - the stored bytes
 * @param options - `gzip`, `maxBytes` (required), a name for messages, the platform, and the
 *   stored size when known (a small object is then inflated in one call)
 * @returns the (uncompressed) bytes, in a buffer of their own (nothing else holds it: it may be
 *   transferred to another thread)
 * @throws ValidateLogsError `GZIP_INVALID` or `SIZE_LIMIT`
 */
export async function readAll(
  source: ByteSource,
  options: { gzip?: boolean; maxBytes: number; what?: string; platform?: Platform; sizeHint?: number },
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  const collect = (chunk: Uint8Array): void => {
    // A copy: the inflater may reuse its buffer, even before this read resumes (another read
    // may inflate in between).
    parts.push(copyBytes(chunk));
    size += chunk.byteLength;
  };
  if (options.gzip) {
    await gunzipInto(source, collect, {
      maxOutputBytes: options.maxBytes,
      ...(options.what !== undefined && { what: options.what }),
      ...(options.platform !== undefined && { platform: options.platform }),
      ...(options.sizeHint !== undefined && { sizeHint: options.sizeHint }),
    });
  } else {
    for await (const chunk of toChunks(source)) {
      if (size + chunk.byteLength > options.maxBytes) {
        throw new ValidateLogsError('SIZE_LIMIT', `${options.what ?? 'object'}: larger than the limit of ${options.maxBytes} bytes`);
      }
      collect(chunk);
    }
  }
  return parts.length === 1 ? parts[0]! : concatBytes(parts);
}

/** A hash of content that comes in one piece, hashed in one call as it comes (a second piece is a bug). */
function oneShot(sha256Hex: (data: Uint8Array) => string): { update(chunk: Uint8Array): void; digest(): string } {
  let hex: string | undefined;
  return {
    update(chunk) {
      if (hex !== undefined) throw new Error('content expected in one piece came in two');
      hex = sha256Hex(chunk);
    },
    digest: () => hex ?? sha256Hex(new Uint8Array(0)),
  };
}
