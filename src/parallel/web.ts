/**
 * The parallel layer where the `node` condition does not apply: the Web platform, with no pool
 * (everything runs on the caller's thread, itself a Worker on the page). The package's
 * `#parallel` import resolves here outside Node.
 * @module
 */
import type { PooledPlatform } from '../chain/offload.js';
import { webPlatform } from '../platform/web.js';

/** The platform chosen for this runtime by the package's `#parallel` import: the Web platform, no pool. */
export const defaultPlatform: PooledPlatform = webPlatform;
