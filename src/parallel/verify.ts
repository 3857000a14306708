/**
 * The verifier with this runtime's parallelism: {@link chain/verifier!verifyTrail} whose
 * default platform is the one the package's `#parallel` import picks (under Node, the Node
 * platform with a pool of threads, one per core; elsewhere the Web platform). The chain layer
 * itself knows only the runtime's bare platform: the pool is wired here, above it.
 * @module
 */
import { defaultPlatform } from '#parallel';
import { verifyTrail as verifyOn, verifyTrailPages as pagesOn, type VerifyOptions } from '../chain/verifier.js';
import type { Finding } from '../chain/findings.js';

/** The options with the runtime's pooled platform where none is given. */
const pooled = (options: VerifyOptions): VerifyOptions => (options.platform ? options : { ...options, platform: defaultPlatform });

/**
 * Replay a trail region's digest chains and verify every digest and log file in range.
 *
 * Yields one finding per digest and per listed log file, `CHAIN_GAP` where a chain restarts,
 * `CHAIN_LOOP` where links loop; then the coverage findings: later digest names that do not
 * verify, `CHAIN_TAIL_MISSING`, one `LOG_UNREFERENCED` per log file no digest vouches for,
 * `DIGEST_UNREACHED` per listed digest never walked, and `OBJECT_UNEXPECTED` /
 * `OBJECT_UNREADABLE` per other object in the trail's folders. Findings come in the AWS CLI's
 * order: newest digest first, each digest followed by its log files. An object that cannot be
 * read is a finding about it; only a listing that fails as a whole is thrown. Without
 * `options.platform`, under Node the logs are read and hashed on a pool of threads, one per core.
 *
 * @param options - what to verify and how
 * @returns an async iterable of findings
 * @throws ValidateLogsError `SOURCE_ERROR` (and the backend's errors) when a listing fails
 * @example
 * ```ts
 * for await (const f of verifyTrail({ source, bucket, trail, keys, start })) {
 *   if (f.severity === 'invalid') console.log(f.code, f.object, f.message);
 * }
 * ```
 */
export function verifyTrail(options: VerifyOptions): AsyncGenerator<Finding> {
  return verifyOn(pooled(options));
}

/**
 * {@link verifyTrail}'s findings, the same ones in the same order, in pages (a digest's logs
 * leave together, as their checks settle): for a consumer of many thousand findings, one step
 * per page instead of one per finding. No page is empty.
 *
 * @param options - what to verify and how
 * @returns an async iterable of pages of findings
 * @throws as {@link verifyTrail}
 * @example
 * ```ts
 * for await (const page of verifyTrailPages(options)) for (const f of page) tally.add(f);
 * ```
 */
export function verifyTrailPages(options: VerifyOptions): AsyncGenerator<Finding[]> {
  return pagesOn(pooled(options));
}
