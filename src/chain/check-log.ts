/**
 * One log file a digest lists, checked on this thread: where it is listed, then its bytes (one
 * well-formed gzip stream within the size cap, and its SHA-256), read through any
 * {@link ObjectSource} (a local copy, S3, bytes in memory) and hashed where the platform hashes
 * best ({@link hashObject}), and judged ({@link judgeLog}).
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import type { DigestLogFile } from '../format/digest.js';
import { hashObject } from '../hash/hash-object.js';
import type { ObjectSource } from '../sources/source.js';
import type { Finding } from './findings.js';
import { checkLogListing, judgeLog, type LogContext } from './log-verdict.js';
import { attempt } from './schedule.js';

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
    return judgeLog(log, context, e);
  }
  return judgeLog(log, context, read.ok ? read.value : read.error);
}
