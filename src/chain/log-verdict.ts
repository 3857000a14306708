/**
 * The verdict on one log file a digest lists, from what is known of it: where it is listed
 * (its bucket, its name, its delivery time against the digest's window), its hash algorithm,
 * then what reading its bytes gave. A pure step: whoever reads the bytes (this thread, or a
 * pool thread that took a whole digest) judges them here, so both say the same.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import type { DigestLogFile } from '../format/digest.js';
import { s3Uri, type TrailRef } from '../format/keys.js';
import { formatDigestTime } from '../format/time.js';
import type { HashOutcome } from '../hash/offload.js';
import type { Platform } from '../platform/platform.js';
import { constantTimeEqual } from '../utils.js';
import { FINDING_SEVERITY, finding, type Finding } from './findings.js';
import { logKeyMatcher, logKeyTime } from './inventory.js';
import { outcomeOf } from './outcomes.js';

/**
 * Margin on a digest's window for the delivery time in a log's name: names carry the minute
 * only, and a log is named as its delivery begins.
 */
export const LOG_WINDOW_MARGIN_MS: number = 5 * 60_000;

/** Where a log is listed, and how to check it. */
export interface LogContext {
  /** The trail and region whose logs the digest lists. */
  trail: TrailRef;
  /** `s3://` URI of the digest that lists it. */
  digest: string;
  /** The digest's bucket: a trail's logs and digests are delivered to one bucket. */
  digestBucket: string;
  /** The digest's window, in ms. */
  window: readonly [number, number];
  /** Whether the digest belongs to the backfill chain. */
  backfill: boolean;
  /** The runtime: SHA-256, inflate, timers. */
  platform: Platform;
  /** Cap on the uncompressed size. */
  maxBytes: number;
  /** Whether the trail's log names are matched (built once per trail: {@link logKeyMatcher}). */
  matches?: (key: string) => boolean;
}

/**
 * What is wrong with where a digest lists a log, before anything is read: another bucket, a
 * hash algorithm other than SHA-256, a name that is not a log of the trail's account and region,
 * a delivery time outside the digest's window.
 * @param log - the digest's entry
 * @param context - the digest and trail
 * @returns the finding, or undefined when the log should be read and hashed
 */
export function checkLogListing(log: DigestLogFile, context: LogContext): Finding | undefined {
  const base = (): ReturnType<typeof logBase> => logBase(log, context); // made only for a finding
  if (log.s3Bucket !== context.digestBucket) {
    // CloudTrail delivers a trail's logs and digests to one bucket: a digest is never a reason to read another.
    return finding('LOG_NOT_FOUND', { ...base(), message: `not found: listed in bucket ${log.s3Bucket}, not in the digest's bucket ${context.digestBucket}; not read` });
  }
  if (log.hashAlgorithm !== 'SHA-256') {
    return finding('LOG_HASH_ALGORITHM_UNSUPPORTED', {
      ...base(),
      message: `unsupported hash algorithm ${JSON.stringify(log.hashAlgorithm)}: the log cannot be checked`,
      expected: 'SHA-256',
      actual: log.hashAlgorithm,
    });
  }
  const matches = context.matches ?? logKeyMatcher(context.trail);
  const time = matches(log.s3Object) ? logKeyTime(log.s3Object) : undefined;
  if (time === undefined) {
    return finding('LOG_MISPLACED', {
      ...base(),
      message: `not a log file of account ${context.trail.accountId} in region ${context.trail.region}: the digest lists an object outside the trail's log folders; not read`,
    });
  }
  const [from, to] = context.window;
  if (time < from - LOG_WINDOW_MARGIN_MS || time > to + LOG_WINDOW_MARGIN_MS) {
    return finding('LOG_MISPLACED', {
      ...base(),
      message: `delivered at ${iso(time)} by its name, outside the window of the digest that lists it; not read`,
      expected: `${iso(from)} to ${iso(to)}`,
      actual: iso(time),
    });
  }
  return undefined;
}

/**
 * Whether a log's bytes hashed to what its digest lists.
 * @param log - the digest's entry
 * @param read - what hashing its bytes computed
 * @returns true when the SHA-256 values are equal
 */
export function hashMatches(log: DigestLogFile, read: HashOutcome): boolean {
  return constantTimeEqual(log.hashValue.toLowerCase(), read.sha256);
}

/**
 * The finding about a log whose bytes hashed to what its digest lists: the one finding of
 * nearly every log, one object literal, fields in the order `finding()` and the other log
 * findings give them.
 * @param bucket - the log's bucket
 * @param key - its key
 * @param context - the digest that lists it
 * @param size - bytes of its (uncompressed) content
 * @returns the `LOG_VALID` finding
 */
export function validLogFinding(bucket: string, key: string, context: Pick<LogContext, 'backfill' | 'digest'>, size: number): Finding {
  return {
    code: 'LOG_VALID',
    severity: FINDING_SEVERITY.LOG_VALID,
    kind: 'log',
    object: s3Uri(bucket, key),
    bucket,
    key,
    backfill: context.backfill,
    digest: context.digest,
    message: 'valid',
    size,
  };
}

/**
 * The finding about a log from what reading it gave: its outcome, nothing (absent), or the
 * error about it.
 * @param log - the digest's entry
 * @param context - the digest and trail
 * @param read - the outcome of hashing its bytes, undefined when it does not exist, or the error about it
 * @returns the finding
 * @throws the error itself when it says nothing about the log (storage that cannot be read at all, bugs)
 */
export function judgeLog(log: DigestLogFile, context: LogContext, read: HashOutcome | ValidateLogsError | undefined): Finding {
  if (read !== undefined && !(read instanceof ValidateLogsError)) {
    if (!hashMatches(log, read)) {
      return finding('LOG_HASH_MISMATCH', { ...logBase(log, context), message: "hash value doesn't match", expected: log.hashValue.toLowerCase(), actual: read.sha256 });
    }
    return validLogFinding(log.s3Bucket, log.s3Object, context, read.size);
  }
  const base = logBase(log, context);
  if (read instanceof ValidateLogsError) {
    const outcome = outcomeOf('log', read);
    if (!outcome) throw read;
    return finding(outcome.code, { ...base, message: outcome.message });
  }
  return finding('LOG_NOT_FOUND', { ...base, message: 'not found' });
}

const iso = (ms: number): string => formatDigestTime(new Date(ms));

function logBase(log: DigestLogFile, context: LogContext): Pick<Finding, 'kind' | 'object' | 'bucket' | 'key' | 'backfill' | 'digest'> {
  return { kind: 'log', object: s3Uri(log.s3Bucket, log.s3Object), bucket: log.s3Bucket, key: log.s3Object, backfill: context.backfill, digest: context.digest };
}
