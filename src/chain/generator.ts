/**
 * The generator: hourly digest files over delivered log files, signed and chained exactly as
 * CloudTrail does it. Pure: it takes log records (already hashed) and a signer, and returns
 * digest files as bytes with their S3 metadata; adapters store them.
 * @module
 */
import { defaultPlatform } from '#platform';
import { ValidateLogsError } from '../errors.js';
import { signString, stringToSign } from '../crypto/signature.js';
import { SIGNATURE_ALGORITHM, type Signer } from '../crypto/keys.js';
import { serializeDigest, type DigestLogFile, type DigestRecord } from '../format/digest.js';
import { checkTrailRef, digestKey, type TrailRef } from '../format/keys.js';
import { DIGEST_PERIOD_MS, floorHour, formatDigestTime } from '../format/time.js';
import type { Platform } from '../platform/platform.js';
import { requireDate, requireString, toHex } from '../utils.js';

/** A log file delivered to storage, already hashed. */
export interface DeliveredLog {
  /** Bucket of the log; the trail's bucket when omitted. */
  bucket?: string;
  /** Key of the log. */
  key: string;
  /** When it was delivered: decides which hour's digest lists it. */
  deliveredAt: Date;
  /** Hex SHA-256 of its uncompressed bytes. */
  sha256: string;
  /** Newest event time in the log (`YYYY-MM-DDTHH:MM:SSZ`), if known. */
  newestEventTime?: string | null;
  /** Oldest event time in the log, if known. */
  oldestEventTime?: string | null;
}

/** The newest digest of an existing chain, to continue it. */
export interface ChainHead {
  /** Bucket of that digest. */
  bucket: string;
  /** Key of that digest. */
  key: string;
  /** Hex SHA-256 of its uncompressed bytes. */
  sha256: string;
  /** Its hex signature. */
  signature: string;
  /** Its end time: the next digest starts here. */
  endTime: Date;
}

/** Options of {@link generateDigests}. */
export interface GenerateOptions {
  /** The trail and region the digests are for. */
  trail: TrailRef;
  /** Bucket the digests are delivered to. */
  bucket: string;
  /**
   * Delivered log files: in any order, or, as an async iterable, in ascending `deliveredAt`
   * order (ties by key), taken as the digests need them: a digest is made as soon as the logs
   * of its hour have arrived (a log out of order is a TypeError). Those delivered before the
   * first digest's start are skipped.
   */
  logs: Iterable<DeliveredLog> | AsyncIterable<DeliveredLog>;
  /** Digests are produced for every whole hour that ends at or before this time. */
  until: Date;
  /**
   * Start of the first digest when starting a new chain; default: the start of the hour of the
   * earliest log, or the hour before `until` when there are none. Ignored with `previous`.
   */
  from?: Date;
  /** The newest digest of the chain to continue; without it a starting digest begins a new chain. */
  previous?: ChainHead;
  /** The signer, or a function choosing the signer for a digest by its end time (key rotation). */
  signer: Signer | ((endTime: Date) => Signer);
  /** The runtime's SHA-256 and gzip; the default platform (by the package's conditional imports) when omitted. */
  platform?: Platform;
  /**
   * Write a backfill chain (keys ending `_backfill.json.gz`, metadata
   * `backfill-generation-timestamp`), as CloudTrail does when it delivers digests late.
   */
  backfill?: BackfillOptions;
}

/** How a backfill chain is written. */
export interface BackfillOptions {
  /** When the backfill digests are generated (their `backfill-generation-timestamp` metadata). */
  generatedAt: Date;
}

/** One generated digest file. */
export interface GeneratedDigest {
  /** Bucket to deliver it to. */
  bucket: string;
  /** Key to deliver it to. */
  key: string;
  /** Its content. */
  record: DigestRecord;
  /** The uncompressed bytes (what is hashed and signed). */
  bytes: Uint8Array;
  /** The gzip-compressed bytes to store (deterministic). */
  gzipped: Uint8Array;
  /** Hex SHA-256 of `bytes`. */
  sha256: string;
  /** Hex signature. */
  signature: string;
  /** S3 user metadata to store with it: `signature` and `signature-algorithm`. */
  metadata: Record<string, string>;
  /** Start of the hour covered. */
  startTime: Date;
  /** End of the hour covered. */
  endTime: Date;
}

const maxTime = (a: string | null, b: string | null | undefined): string | null =>
  b == null ? a : a === null || b > a ? b : a;
const minTime = (a: string | null, b: string | null | undefined): string | null =>
  b == null ? a : a === null || b < a ? b : a;

/**
 * The order digests list logs in: by delivery time, ties by key.
 * @param a - a log
 * @param b - another
 * @returns negative when `a` comes first
 */
export function deliveryOrder(a: Pick<DeliveredLog, 'deliveredAt' | 'key'>, b: Pick<DeliveredLog, 'deliveredAt' | 'key'>): number {
  return a.deliveredAt.getTime() - b.deliveredAt.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Checks a log given to the generator. */
function checkLog(l: DeliveredLog): void {
  requireDate(l.deliveredAt, `deliveredAt of ${l.key}`);
  if (!/^[0-9a-f]{64}$/.test(l.sha256)) throw new TypeError(`sha256 of ${l.key} must be 64 lower-case hex digits`);
}

/** Logs in delivery order, taken one at a time: `next` gives undefined at the end. */
interface LogCursor {
  next(): DeliveredLog | undefined | Promise<DeliveredLog | undefined>;
  /** Let the source go (its `return`), when the logs were not all taken. */
  close(): Promise<void>;
}

/**
 * Logs by delivery time (ties by key), each checked: an array sorted, every log checked before
 * any digest is made, and then taken without a promise a log; an async iterable as it comes
 * (its order checked).
 */
function inOrder(logs: Iterable<DeliveredLog> | AsyncIterable<DeliveredLog>): LogCursor {
  if (Symbol.asyncIterator in logs) {
    const it = logs[Symbol.asyncIterator]();
    let last: DeliveredLog | undefined;
    return {
      async next(): Promise<DeliveredLog | undefined> {
        const r = await it.next();
        if (r.done) return undefined;
        const l = r.value;
        checkLog(l);
        if (last && deliveryOrder(last, l) > 0) throw new TypeError(`logs must come in delivery order: ${l.key} came after ${last.key}`);
        return (last = l);
      },
      async close(): Promise<void> {
        await it.return?.();
      },
    };
  }
  const sorted = [...logs];
  sorted.forEach(checkLog);
  sorted.sort(deliveryOrder);
  let i = 0;
  return { next: () => sorted[i++], close: async () => undefined };
}

/**
 * Digests whose gzip runs while the next ones are made (the platform's gzip may run
 * elsewhere), when every log is at hand (an array); from an async iterable each digest is
 * handed on as soon as it is made.
 */
const GZIP_AHEAD = 4;

/**
 * Produce the hourly digests of a trail's region, one per hour including empty hours, each
 * linked to the previous one by bucket, key, SHA-256 and signature, and signed. Output is
 * deterministic for a given input, key and `until` (the gzip bytes for a given platform too).
 *
 * @param options - trail, logs, time range, chain head and signer
 * @returns the digests in time order, oldest first, as an async iterable
 * @throws TypeError or RangeError for malformed options
 * @example
 * ```ts
 * for await (const d of generateDigests({ trail, bucket, logs, until: new Date(), signer })) {
 *   await store(d.key, d.gzipped, d.metadata);
 * }
 * ```
 */
export async function* generateDigests(options: GenerateOptions): AsyncGenerator<GeneratedDigest> {
  const trail = checkTrailRef(options.trail);
  const bucket = requireString(options.bucket, 'bucket');
  const until = requireDate(options.until, 'until');
  const platform = options.platform ?? defaultPlatform;
  const ahead = Symbol.asyncIterator in options.logs ? 0 : GZIP_AHEAD;
  const logs = inOrder(options.logs);
  try {
    let next = await logs.next(); // the next log not yet listed
    let start: Date;
    if (options.previous) {
      start = requireDate(options.previous.endTime, 'previous.endTime');
    } else if (options.from) {
      start = requireDate(options.from, 'from');
    } else {
      start = next ? floorHour(next.deliveredAt) : new Date(floorHour(until).getTime() - DIGEST_PERIOD_MS);
    }
    start = new Date(Math.floor(start.getTime() / 1000) * 1000);
    let previous = options.previous;
    while (next && next.deliveredAt < start) next = await logs.next();
    // Made digests whose gzip has not been awaited yet, oldest first.
    const made: Array<Omit<GeneratedDigest, 'gzipped'> & { gzipping: Promise<Uint8Array> }> = [];
    const finish = async (): Promise<GeneratedDigest> => {
      const { gzipping, ...d } = made.shift()!;
      return { ...d, gzipped: await gzipping };
    };
    for (;;) {
      const end = new Date(start.getTime() + DIGEST_PERIOD_MS);
      if (end > until) break;
      const listed: DigestLogFile[] = [];
      let newest: string | null = null;
      let oldest: string | null = null;
      const endMs = end.getTime();
      for (; next && next.deliveredAt.getTime() < endMs; next = await logs.next()) {
        const l = next;
        listed.push({
          s3Bucket: l.bucket ?? bucket,
          s3Object: l.key,
          hashValue: l.sha256,
          hashAlgorithm: 'SHA-256',
          newestEventTime: l.newestEventTime ?? null,
          oldestEventTime: l.oldestEventTime ?? null,
        });
        newest = maxTime(newest, l.newestEventTime);
        oldest = minTime(oldest, l.oldestEventTime);
      }
      const signer = typeof options.signer === 'function' ? options.signer(end) : options.signer;
      const key = digestKey(trail, end, options.backfill !== undefined);
      if (previous && previous.key === key && previous.bucket === bucket) {
        throw new ValidateLogsError('CHAIN_CONFLICT', `digest ${key} would link to itself`);
      }
      const record: DigestRecord = {
        awsAccountId: trail.accountId,
        digestStartTime: formatDigestTime(start),
        digestEndTime: formatDigestTime(end),
        digestS3Bucket: bucket,
        digestS3Object: key,
        digestPublicKeyFingerprint: signer.publicKey.fingerprint,
        digestSignatureAlgorithm: SIGNATURE_ALGORITHM,
        newestEventTime: newest,
        oldestEventTime: oldest,
        previousDigestS3Bucket: previous?.bucket ?? null,
        previousDigestS3Object: previous?.key ?? null,
        previousDigestHashValue: previous?.sha256 ?? null,
        previousDigestHashAlgorithm: previous ? 'SHA-256' : null,
        previousDigestSignature: previous?.signature ?? null,
        logFiles: listed,
      };
      const bytes = serializeDigest(record);
      const hash = toHex(await platform.sha256(bytes));
      const signature = await signString(signer, stringToSign(record, hash));
      const gzipping = platform.gzip(bytes);
      gzipping.catch(() => undefined); // awaited in its turn
      made.push({
        bucket,
        key,
        record,
        bytes,
        gzipping,
        sha256: hash,
        signature,
        metadata: {
          signature,
          'signature-algorithm': SIGNATURE_ALGORITHM,
          ...(options.backfill && { 'backfill-generation-timestamp': formatDigestTime(options.backfill.generatedAt) }),
        },
        startTime: start,
        endTime: end,
      });
      if (made.length > ahead) yield await finish();
      previous = { bucket, key, sha256: hash, signature, endTime: end };
      start = end;
    }
    while (made.length > 0) yield await finish();
  } finally {
    await logs.close();
  }
}
