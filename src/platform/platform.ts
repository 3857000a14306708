/**
 * The platform seam: the few operations whose best implementation differs between runtimes
 * (streaming SHA-256, raw inflate, CRC-32, gzip, RSASSA-PKCS1-v1_5 with SHA-256, Ed25519,
 * sleeping).
 * Everything above this interface is shared. Two implementations exist: the Node platform
 * (`node:crypto`, `node:zlib`; the default under Node) and the Web platform (WebCrypto,
 * `DecompressionStream`, `@noble/hashes`; the default everywhere else). The package's
 * conditional `imports` pick the default; a caller may pass either one explicitly in the
 * `platform` option of the functions that use it.
 * @module
 */
import type { ValidateLogsError } from '../errors.js';
import type { ByteSource } from '../hash/chunks.js';
import type { Finding } from '../chain/findings.js';
import type { DigestLogFile, DigestRecord } from '../format/digest.js';
import type { TrailRef } from '../format/keys.js';

/** An incremental SHA-256 computation. */
export interface Sha256 {
  /**
   * Feed bytes. The bytes are read during the call and never retained.
   * @param data - the next bytes
   */
  update(data: Uint8Array): void;
  /**
   * Finish and return the 32-byte digest. The object cannot be used afterwards.
   * @returns the digest
   */
  digest(): Uint8Array;
}

/**
 * One raw deflate stream (RFC 1951) being inflated: the body of a gzip member. Output goes to
 * the sink given at creation, as it is produced.
 */
export interface RawInflater {
  /**
   * Feed the next bytes after the gzip header. The chunk may be reused by the caller once the
   * promise settles.
   * @param chunk - compressed bytes
   * @returns how many bytes at the end of `chunk` lie after the end of the deflate stream (0
   *   while the stream goes on, or when the inflater cannot tell before {@link RawInflater.end})
   */
  write(chunk: Uint8Array): Promise<number>;
  /**
   * No more input. Resolves once every output chunk has gone to the sink.
   * @returns the bytes the inflater held back from the end of its input as not being deflate
   *   data (the Web platform holds back the last 8: the gzip trailer); empty when it held none
   * @throws when the deflate data is corrupt or ends early, or when the sink threw
   */
  end(): Promise<Uint8Array>;
  /** Release the inflater's resources (after an error, or when done). */
  destroy(): void;
}

/** What a one-call inflate of a small object produced. */
export interface WholeInflate {
  /** The inflated bytes. */
  output: Uint8Array;
  /** How many input bytes the deflate stream took (what follows is the trailer, and more). */
  consumed: number;
}

/** A private key ready to sign with, and its public half. */
export interface SigningKey {
  /** The public key as PKCS#1 RSAPublicKey DER (what CloudTrail publishes). */
  readonly publicKeyDer: Uint8Array;
  /**
   * Sign with RSASSA-PKCS1-v1_5 and SHA-256 (deterministic).
   * @param message - the bytes to sign
   * @returns the signature
   */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** What to compute over an object's bytes, wherever they are hashed. */
export interface HashRequest {
  /** Gunzip first (exactly one gzip member) and hash the uncompressed bytes. */
  gzip: boolean;
  /** Fail with `SIZE_LIMIT` beyond this many (uncompressed) bytes. */
  maxBytes?: number;
  /** The object's name, for messages. */
  what: string;
  /** The stored size, when known. */
  sizeHint?: number;
  /** Also find the newest and oldest CloudTrail `eventTime` in the content. */
  eventTimes?: boolean;
  /**
   * Also give a file's modification time, where a pool thread opened the file itself
   * (`HashOutcome.modified`, from the descriptor its bytes were read through).
   */
  modified?: boolean;
}

/** A file for {@link HashOffload.hashFiles}. */
export interface HashFile {
  /** Its path. */
  path: string;
  /** Its name, for messages (an `s3://` URI). */
  what: string;
}

/** What hashing an object computed. */
export interface HashOutcome {
  /** Lower-case hex SHA-256 of the (uncompressed) content. */
  sha256: string;
  /** Bytes of (uncompressed) content. */
  size: number;
  /** Bytes read from storage (equal to `size` when not gunzipping). */
  storedSize: number;
  /** With `eventTimes`: the newest `eventTime` in the content (null when it has none). */
  newestEventTime?: string | null;
  /** With `eventTimes`: the oldest `eventTime` in the content (null when it has none). */
  oldestEventTime?: string | null;
  /**
   * With `modified`: the file's modification time in ms (as its `mtime` Date gives it), when a
   * pool thread opened the file itself; absent when the object was read another way.
   */
  modified?: number;
}

/**
 * A digest for {@link HashOffload.checkDigest}: where it lies in a local copy, and how to check
 * what it lists. The thread reads the digest and its metadata sidecar there itself.
 */
export interface DigestJob {
  /** The bucket it is in (its logs must be in it). */
  bucket: string;
  /** Its key. */
  key: string;
  /** Whether it belongs to the backfill chain. */
  backfill: boolean;
  /** The trail and region whose logs it lists. */
  trail: TrailRef;
  /** The folder of the local copy holding `bucket`: keys are resolved in it as the copy resolves them. */
  root: string;
  /** Cap on the digest's uncompressed size. */
  maxDigestBytes: number;
  /** Cap on a log's uncompressed size. */
  maxBytes: number;
  /** Read and judge the logs it lists; false to parse it only. */
  check: boolean;
}

/**
 * A digest parsed, and what it lists checked, on a pool thread. Entries are in the digest's
 * order, in columns: a valid log is only its size; every other verdict is a finding.
 */
export interface CheckedDigest {
  /** It was read and parsed as a digest. */
  parsed: true;
  /** Its uncompressed bytes, as the thread read them (moved to the caller's thread, not copied). */
  bytes: Uint8Array;
  /** Its S3 user metadata, from its sidecar, keys in lower case. */
  metadata: Record<string, string>;
  /** Lower-case hex SHA-256 of its bytes. */
  sha256: string;
  /** Its content, but for `logFiles`. */
  header: Omit<DigestRecord, 'logFiles'>;
  /** Each entry's `s3Object`. */
  keys: string[];
  /** Entries that name another bucket than the digest's: their place and that bucket. */
  foreign: Array<[number, string]>;
  /** Whether its logs were read and judged (`sizes`, `findings` and `back` are empty when not). */
  checked: boolean;
  /** Each entry's content size when it is a valid log; -1 otherwise. */
  sizes: Float64Array;
  /** The finding about each entry that is neither valid nor in `back`, by its place. */
  findings: Array<[number, Finding]>;
  /**
   * Entries the caller checks on its own thread, by their place: a key that is no plain file
   * path in the copy, a file that is no regular file (a link, a FIFO), a read that failed in a
   * way worth retrying.
   */
  back: Array<[number, DigestLogFile]>;
}

/**
 * What {@link HashOffload.checkDigest} found: the checked digest, or that the thread left it to
 * the caller (which reads it the ordinary way and says what is wrong).
 */
export type DigestCheck = CheckedDigest | {
  /**
   * False: the digest or its sidecar is not a regular file that reads whole within its cap
   * (absent, a link, a FIFO, too large, a failed read), or its bytes are no gzip of a digest.
   */
  parsed: false;
};

/**
 * Hashing on other threads: the Node platform's worker pool. The caller's thread only
 * schedules; reading (of local files), inflating, CRC-32 and SHA-256 run on the pool's
 * threads, small objects in batches (one message for many), large ones streamed with bounded
 * memory. Results and errors are the same as hashing in the caller's thread.
 */
export interface HashOffload {
  /** Threads in the pool. */
  readonly threads: number;
  /** How many objects the pool keeps busy at once: a scheduler's useful number in flight. */
  readonly capacity: number;
  /**
   * Start the threads now, so that they are ready when the first object comes (their start
   * then overlaps the caller's listing and digest reading). Idempotent; idle threads never
   * keep the process alive.
   */
  warm(): void;
  /**
   * Read and hash files on the pool's threads. Only a regular file is read (never through a
   * link at its end, never blocking); for anything else the answer is undefined, and the caller
   * reads that object the ordinary way (which names what is wrong with it).
   * @param files - each file's path, and its name for messages
   * @param request - how to hash them all
   * @returns in the order of `files`: the outcome, the `GZIP_INVALID` or `SIZE_LIMIT` error
   *   about its bytes, or undefined when it must be read the ordinary way
   * @throws Error when a thread failed (not the objects' fault)
   */
  hashFiles(files: readonly HashFile[], request: Omit<HashRequest, 'what' | 'sizeHint'>): Promise<Array<HashOutcome | ValidateLogsError | undefined>>;
  /**
   * Hash bytes that arrive on the caller's thread (an S3 body) on a pool thread: a small
   * object is gathered and sent whole, a large one is sent in chunks as they arrive.
   * @param source - the stored bytes
   * @param request - what to compute
   * @returns the outcome
   * @throws ValidateLogsError `GZIP_INVALID` or `SIZE_LIMIT`; the source's own errors
   */
  hashBytes(source: ByteSource, request: HashRequest): Promise<HashOutcome>;
  /**
   * Take a whole digest of a local copy on a pool thread: read it and its metadata sidecar
   * (only as regular files, as the copy reads them), gunzip and parse it, then read, hash and
   * judge each log it lists, with the same code and the same verdicts as the caller's thread
   * (`checkLog`). A digest of thousands of small logs then costs the caller's thread one
   * message, not thousands of steps, and no read of its own.
   * @param job - where the digest is and how to check it
   * @returns the checked digest, or `{ parsed: false }` when the caller is to read it
   * @throws Error when a thread failed, and the error that stops a run where a log's read met
   *   an error that says nothing about the log
   */
  checkDigest(job: DigestJob): Promise<DigestCheck>;
}

/** The runtime operations the portable core needs. */
export interface Platform {
  /** `node` or `web`, for reports and benchmarks. */
  readonly name: string;
  /**
   * Start a streaming SHA-256.
   * @returns a fresh hash object
   */
  createSha256(): Sha256;
  /**
   * One-shot SHA-256 of bytes in memory (the Web platform uses WebCrypto).
   * @param data - the bytes
   * @returns the 32-byte digest
   */
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /**
   * One-shot SHA-256 of bytes in memory, at once, as lower-case hex: for content that comes in
   * one piece (a small object inflated in one call), where a streaming hash object would cost
   * more than the hashing. Optional: without it, {@link Platform.createSha256} is used.
   * @param data - the bytes
   * @returns 64 lower-case hex digits
   */
  sha256Hex?(data: Uint8Array): string;
  /**
   * CRC-32 (ISO-HDLC, as in gzip), continued from `value`.
   * @param data - the bytes
   * @param value - the CRC so far; 0 to start
   * @returns the updated CRC (unsigned)
   */
  crc32(data: Uint8Array, value?: number): number;
  /**
   * Start inflating a raw deflate stream.
   * @param sink - receives each output chunk; the chunk may be reused after the call returns
   * @param options - `small: true` for a small object (smaller buffers)
   * @returns the inflater
   */
  createInflater(sink: (chunk: Uint8Array) => void, options: { small: boolean }): RawInflater;
  /**
   * Optional fast path: inflate a whole small deflate stream in one synchronous call.
   * @param input - the deflate stream and whatever follows it
   * @param maxOutputBytes - give up beyond this much output
   * @returns the output and the input consumed, or undefined when the output would exceed
   *   `maxOutputBytes`
   * @throws when the deflate data is corrupt or ends early
   */
  inflateWhole?(input: Uint8Array, maxOutputBytes: number): WholeInflate | undefined;
  /**
   * Gzip bytes, deterministically (same input, same output on one platform).
   * @param data - the bytes
   * @returns one gzip member
   */
  gzip(data: Uint8Array): Promise<Uint8Array>;
  /**
   * Verify an RSASSA-PKCS1-v1_5 / SHA-256 signature.
   * @param spki - the RSA public key as SubjectPublicKeyInfo DER
   * @param message - the signed bytes
   * @param signature - the signature
   * @returns whether it verifies
   * @throws when the platform cannot use the key
   */
  rsaVerify(spki: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /**
   * Load an RSA private key as PKCS#8 DER (PKCS#1 keys are wrapped by the caller).
   * @param pkcs8 - the PrivateKeyInfo DER
   * @returns the signing key
   * @throws when the platform cannot use it as an RSA signing key
   */
  importSigningKey(pkcs8: Uint8Array): Promise<SigningKey>;
  /**
   * Verify an Ed25519 signature (RFC 8032, pure Ed25519: the message itself is signed).
   * Answers false, and never throws, for a public key or a signature that is not 32 or 64
   * bytes, a signature whose S is not below the group order, or one that does not verify.
   * Whether the public key is a point of the curve is the caller's to check
   * (`isEd25519Point`).
   * @param publicKey - the 32-byte public key
   * @param message - the signed bytes
   * @param signature - the 64-byte signature
   * @returns whether it verifies
   */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /**
   * The Ed25519 public key of a private key (RFC 8032 section 5.1.5).
   * @param seed - the 32-byte private key
   * @returns the 32-byte public key
   * @throws TypeError when the private key is not 32 bytes
   */
  ed25519PublicKey(seed: Uint8Array): Promise<Uint8Array>;
  /**
   * Sign with Ed25519 (RFC 8032; deterministic: same key and message, same signature).
   * @param seed - the 32-byte private key
   * @param message - the bytes to sign
   * @returns the 64-byte signature
   * @throws TypeError when the private key is not 32 bytes
   */
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /**
   * Wait.
   * @param ms - milliseconds
   * @returns a promise that resolves after `ms`
   */
  sleep(ms: number): Promise<void>;
  /**
   * Optional: hashing on other threads. Where absent, objects are hashed in the caller's
   * thread with the operations above.
   */
  readonly offload?: HashOffload;
}
