/**
 * The parallel layer under Node: the Node platform ({@link nodePlatform}) with a pool of
 * threads ({@link HashPool}, on `worker_threads`) that read, inflate, hash and judge objects on
 * every core. The package's `#parallel` import resolves here under Node: the default platform
 * of the verifier and the generator.
 * @module
 */
import { availableParallelism } from 'node:os';
import type { PooledPlatform } from '../chain/offload.js';
import { nodePlatform } from '../platform/node.js';
import { HashPool } from './pool.js';

/**
 * The module a pool thread runs: the built one, or its TypeScript source when running from
 * the sources (then started through `tsx`).
 */
const THREAD = new URL(import.meta.url.endsWith('.ts') ? './thread.ts' : './thread.js', import.meta.url);

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
 * @returns the platform, its pool as `offload` (none with 0 threads)
 * @throws TypeError when `threads` is not a whole number from 0 to 1024
 * @example
 * ```ts
 * const platform = createNodePlatform({ threads: 4 });
 * for await (const f of verifyTrail({ ...options, platform })) { ... }
 * ```
 */
export function createNodePlatform(options: NodePlatformOptions = {}): PooledPlatform {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 0 || threads > 1024) throw new TypeError(`threads must be a whole number from 0 to 1024, not ${String(threads)}`);
  const offload = threads > 0 ? new HashPool(threads, THREAD, nodePlatform.startThread!) : undefined;
  return Object.freeze({ ...nodePlatform, ...(offload && { offload }) });
}

/** The Node platform with a pool of threads, one per available core. */
const pooledNodePlatform: PooledPlatform = createNodePlatform();

export { pooledNodePlatform as nodePlatform };

/** The platform chosen for this runtime by the package's `#parallel` import: the Node platform with its pool. */
export const defaultPlatform: PooledPlatform = pooledNodePlatform;
