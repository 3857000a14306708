/**
 * The Node platform: the core ({@link nodeCorePlatform}: `node:crypto`, `node:zlib`) with a pool
 * of threads that read, inflate and hash objects on every core ({@link createNodePlatform}). The
 * default under Node.
 * @module
 */
import { availableParallelism } from 'node:os';
import type { HashOffload, Platform } from './platform.js';
import { nodeCorePlatform } from './node-core.js';
import { HashPool } from './pool/pool.js';

/** The module a pool thread runs (only built code can start a thread; run from sources, there is no pool). */
const WORKER = new URL('./pool/worker.js', import.meta.url);
const poolAvailable = import.meta.url.endsWith('.js');

/** Options of {@link createNodePlatform}. */
export interface NodePlatformOptions {
  /**
   * Threads that read, inflate and hash objects (they start as work needs them, and never
   * keep the process alive when idle). Default: the cores available to the process. 0 hashes
   * in the caller's thread.
   */
  threads?: number;
}

/**
 * A Node platform with a pool of the given size.
 * @param options - the pool's size
 * @returns the platform
 * @throws TypeError when `threads` is not a whole number from 0 to 1024
 * @example
 * ```ts
 * const platform = createNodePlatform({ threads: 4 });
 * for await (const f of verifyTrail({ ...options, platform })) { ... }
 * ```
 */
export function createNodePlatform(options: NodePlatformOptions = {}): Platform {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 0 || threads > 1024) throw new TypeError(`threads must be a whole number from 0 to 1024, not ${String(threads)}`);
  const offload: HashOffload | undefined = poolAvailable && threads > 0 ? new HashPool(threads, WORKER) : undefined;
  return Object.freeze({ ...nodeCorePlatform, ...(offload && { offload }) });
}

/**
 * The Node platform (`node:crypto`, `node:zlib`) with a pool of threads, one per available
 * core: the default under Node.
 */
export const nodePlatform: Platform = createNodePlatform();

/** The platform chosen for this runtime by the package's conditional imports. */
export const defaultPlatform: Platform = nodePlatform;
