/**
 * The platform seam: the few operations whose best implementation differs between runtimes
 * (streaming SHA-256, raw inflate, CRC-32, gzip, RSASSA-PKCS1-v1_5 with SHA-256, Ed25519,
 * sleeping), and starting a thread. It knows the runtime only: nothing of digests, logs or
 * storage. Everything above this interface is shared. Two implementations exist: the Node platform
 * (`node:crypto`, `node:zlib`; the default under Node) and the Web platform (WebCrypto,
 * `DecompressionStream`, `@noble/hashes`; the default everywhere else). The package's
 * conditional `imports` pick the default; a caller may pass either one explicitly in the
 * `platform` option of the functions that use it.
 * @module
 */

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

/** What a thread started by {@link Platform.startThread} reports. */
export interface ThreadEvents {
  /**
   * A message the thread posted (a structured clone).
   * @param message - the message
   */
  message(message: unknown): void;
  /**
   * The thread failed (an uncaught error) or stopped; it takes no more messages.
   * @param error - what happened
   */
  failed(error: Error): void;
}

/** Options of {@link Platform.startThread}. */
export interface ThreadOptions {
  /** The thread's young generation, in MiB, where the runtime lets it be set (Node). */
  youngGenerationMb?: number;
}

/** A thread running a module, as {@link Platform.startThread} started it. */
export interface ThreadHandle {
  /**
   * Post a message (a structured clone); the buffers in `transfer` move to the thread.
   * @param message - the message
   * @param transfer - buffers to move rather than copy
   */
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  /** Keep the process alive while the thread has work (Node); nothing elsewhere. */
  ref(): void;
  /** Let the process end while the thread is idle (Node); nothing elsewhere. */
  unref(): void;
  /** Stop the thread. */
  terminate(): void;
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
   * Optional: start a thread that runs the module at `module` (ES module; under Node a
   * `worker_threads` Worker, in a browser a module Web Worker). The module talks through its
   * runtime's port (`parentPort` under Node, the global scope in a Worker). Under Node a module
   * of TypeScript sources (`.ts`) is started through `tsx` (a development dependency).
   * @param module - the module's URL
   * @param events - where the thread's messages and failure go
   * @param options - how to start it
   * @returns the running thread, unreferenced (it keeps no process alive until `ref`)
   */
  startThread?(module: URL, events: ThreadEvents, options?: ThreadOptions): ThreadHandle;
}
