/**
 * The Node platform: the core ({@link nodeCorePlatform}: `node:crypto`, `node:zlib`) and
 * threads from `worker_threads` ({@link startThread}). The default under Node. It runs nothing
 * on those threads itself: the parallel layer (`parallel/node`) builds its pool on them.
 * @module
 */
import type { Platform } from './platform.js';
import { nodeCorePlatform } from './node-core.js';
import { startThread } from './threads.js';

/** The Node platform (`node:crypto`, `node:zlib`, `worker_threads`). */
export const nodePlatform: Platform = Object.freeze({ ...nodeCorePlatform, startThread });

/** The platform chosen for this runtime by the package's conditional imports. */
export const defaultPlatform: Platform = nodePlatform;
