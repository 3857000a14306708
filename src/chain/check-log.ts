/**
 * One log file a digest lists, checked: where it is listed (its bucket, its name, its delivery
 * time against the digest's window), its hash algorithm, then its bytes (one well-formed gzip
 * stream within the size cap, and its SHA-256), read through any {@link ObjectSource} (a local
 * copy, S3, bytes in memory) and hashed where the platform hashes best ({@link hashObject}).
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import type { DigestLogFile } from '../format/digest.js';
import { s3Uri, type TrailRef } from '../format/keys.js';
import { hashObject, hashObjects } from '../hash/hash-object.js';
import type { HashOutcome, Platform } from '../platform/platform.js';
import type { ObjectSource } from '../sources/source.js';
import { formatDigestTime } from '../format/time.js';
import { constantTimeEqual } from '../utils.js';
import { FINDING_SEVERITY, finding, type Finding } from './findings.js';
import { logKeyMatcher, logKeyTime } from './inventory.js';
import { outcomeOf } from './outcomes.js';
import { attempt } from './schedule.js';

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
 * Check a log a digest lists: {@link checkLogListing}, then its bytes, read from `source`
 * (retried on transient storage failures).
 * @param log - the digest's entry
 * @param context - the digest, trail and limits
 * @param source - the storage
 * @returns the one finding about this listing of the log
 * @throws the errors that say nothing about the log (storage that cannot be read at all, bugs)
 */
export async function checkLog(log: DigestLogFile, context: LogContext, source: ObjectSource): Promise<Finding> {
  const listing = checkLogListing(log, context);
  if (listing) return listing;
  let read;
  try {
    read = await attempt(() => hashObject(source, log.s3Bucket, log.s3Object, { gzip: true, platform: context.platform, maxBytes: context.maxBytes }), context.platform);
  } catch (e) {
    if (!(e instanceof ValidateLogsError)) throw e;
    return judge(log, context, e);
  }
  return judge(log, context, read.ok ? read.value : read.error);
}

/**
 * Check logs a digest lists, as {@link checkLog} does each, reading them together: on a
 * platform whose pool reads the source's files, in batches, with no promise per log.
 * @param logs - the digest's entries
 * @param context - the digest, trail and limits
 * @param source - the storage
 * @returns the findings, in the order of `logs`
 * @throws the errors that say nothing about a log (storage that cannot be read at all, bugs)
 */
export async function checkLogs(logs: readonly DigestLogFile[], context: LogContext, source: ObjectSource): Promise<Finding[]> {
  const out = new Array<Finding>(logs.length);
  const read: number[] = [];
  logs.forEach((log, i) => {
    const listing = checkLogListing(log, context);
    if (listing) out[i] = listing;
    else read.push(i);
  });
  if (read.length === 0) return out;
  const keys = read.map((i) => logs[i]!.s3Object);
  const results = await hashObjects(source, context.digestBucket, keys, { gzip: true, platform: context.platform, maxBytes: context.maxBytes });
  for (let j = 0; j < read.length; j++) {
    const i = read[j]!;
    const r = results[j];
    // A transient failure is tried again, the way a single log is.
    out[i] = r instanceof ValidateLogsError && r.transient ? await checkLog(logs[i]!, context, source) : judge(logs[i]!, context, r);
  }
  return out;
}

/** The finding about a log from what reading it gave: its outcome, nothing (absent), or the error about it. */
function judge(log: DigestLogFile, context: LogContext, read: HashOutcome | ValidateLogsError | undefined): Finding {
  if (read !== undefined && !(read instanceof ValidateLogsError)) {
    const expected = log.hashValue.toLowerCase();
    if (!constantTimeEqual(expected, read.sha256)) {
      return finding('LOG_HASH_MISMATCH', { ...logBase(log, context), message: "hash value doesn't match", expected, actual: read.sha256 });
    }
    // The one finding of nearly every log: one object literal, fields in the order finding() and logBase() give them.
    return {
      code: 'LOG_VALID',
      severity: FINDING_SEVERITY.LOG_VALID,
      kind: 'log',
      object: s3Uri(log.s3Bucket, log.s3Object),
      bucket: log.s3Bucket,
      key: log.s3Object,
      backfill: context.backfill,
      digest: context.digest,
      message: 'valid',
      size: read.size,
    };
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
