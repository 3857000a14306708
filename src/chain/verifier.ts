/**
 * The verifier: replays a trail region's digest chain the way the AWS CLI does (newest first,
 * following each digest's link to the previous one, jumping to the next older listed digest
 * when a link is missing or invalid), checks every digest (format, location, key, signature)
 * and every log file it lists (exists, one valid gzip stream, SHA-256), and yields findings as
 * data, in the order the AWS CLI reports them. It reads through an {@link ObjectSource}, so
 * the same walk serves a local copy and S3.
 * @module
 */
import { isValidateLogsError } from '../errors.js';
import { SIGNATURE_ALGORITHM, type PublicKeySet } from '../crypto/keys.js';
import { stringToSign, verifyString } from '../crypto/signature.js';
import { parseDigest, type DigestLogFile, type ParsedDigest } from '../format/digest.js';
import { checkTrailRef, digestFolder, digestKey, parseDigestKey, s3Uri, type TrailRef } from '../format/keys.js';
import { formatDigestTime } from '../format/time.js';
import { nativeEngine, type HashEngine } from '../hash/engine.js';
import { hashStream, readAll } from '../hash/hash-stream.js';
import type { ObjectSource } from '../sources/source.js';
import { constantTimeEqual, requireDate, requirePositiveInteger, requireString } from '../utils.js';
import { finding, type Finding } from './findings.js';

/** Default cap on a digest file's uncompressed size: digests are parsed whole. */
export const DEFAULT_MAX_DIGEST_BYTES: number = 64 * 1024 * 1024;
/** Default number of objects verified at once. */
export const DEFAULT_CONCURRENCY = 4;

/** Options of {@link verifyTrail}. */
export interface VerifyOptions {
  /** Where the objects are read from. */
  source: ObjectSource;
  /** Bucket the digests were delivered to (and must name). */
  bucket: string;
  /** The trail and region whose chain to replay. */
  trail: TrailRef;
  /** Public keys of the region, found by fingerprint. */
  keys: PublicKeySet;
  /** Validate logs delivered on or after this time. */
  start: Date;
  /** ... and on or before this time; now by default. */
  end?: Date;
  /** Also walk the backfill chain (`_backfill` digests); true by default. */
  backfill?: boolean;
  /** Objects verified at once; {@link DEFAULT_CONCURRENCY} by default. */
  concurrency?: number;
  /** SHA-256 engine; native by default. */
  engine?: HashEngine;
  /** Cap on a digest's uncompressed size; {@link DEFAULT_MAX_DIGEST_BYTES} by default. */
  maxDigestBytes?: number;
  /** Cap on a log's uncompressed size (a larger log is `LOG_INVALID_FORMAT`); none by default. */
  maxLogBytes?: number;
  /** Stops the walk: the generator throws the signal's reason. */
  signal?: AbortSignal;
  /** Called once the digest keys in range are listed, with their number (for progress displays). */
  onListed?: (digests: number) => void;
}

type DigestRef = { bucket: string; key: string };

type Loaded =
  | { ok: true; digest: ParsedDigest; signature: string }
  | { ok: false; finding: Finding; digest?: ParsedDigest };

/** The digest keys of a trail region in range, by chain. */
export interface DigestKeyLists {
  /** Keys of the standard chain, oldest first. */
  standard: string[];
  /** Keys of the backfill chain, oldest first. */
  backfill: string[];
}

/**
 * The digest keys of a trail region's chain in the time range, split into the standard and
 * the backfill chain, oldest first (S3 key order). Keys of other trails are skipped.
 *
 * @param options - source, bucket, trail and range
 * @returns both lists
 */
export async function listDigestKeys(
  options: Pick<VerifyOptions, 'source' | 'bucket' | 'trail' | 'start' | 'end'>,
): Promise<DigestKeyLists> {
  const trail = options.trail;
  const start = options.start;
  const end = options.end ?? new Date();
  // As the AWS CLI: list from one minute before the start; keep key times in [start, end + 1 h].
  const startAfter = digestKey(trail, new Date(start.getTime() - 60_000));
  const last = Math.floor(end.getTime() / 1000) * 1000 + 3_600_000;
  const first = Math.floor(start.getTime() / 1000) * 1000;
  const standard: string[] = [];
  const backfill: string[] = [];
  for await (const { key } of options.source.list(options.bucket, digestFolder(trail), startAfter)) {
    let parsed;
    try {
      parsed = parseDigestKey(key);
    } catch (e) {
      if (isValidateLogsError(e, 'KEY_FORMAT', 'TIME_INVALID')) continue; // not a digest key: not part of the chain
      throw e;
    }
    if (
      parsed.accountId !== trail.accountId ||
      parsed.region !== trail.region ||
      parsed.trailName !== trail.trailName ||
      parsed.homeRegion !== (trail.homeRegion ?? trail.region) ||
      parsed.prefix !== trail.prefix ||
      parsed.organizationId !== trail.organizationId
    ) {
      continue;
    }
    const t = parsed.endTime.getTime();
    if (t > last) break;
    if (t < first) continue;
    (parsed.backfill ? backfill : standard).push(key);
  }
  return { standard, backfill };
}

function keyTime(key: string): number | undefined {
  try {
    return parseDigestKey(key).endTime.getTime();
  } catch (e) {
    if (isValidateLogsError(e, 'KEY_FORMAT', 'TIME_INVALID')) return undefined;
    throw e;
  }
}

/**
 * Replay a trail region's digest chain and verify every digest and log file in range.
 *
 * Yields one finding per digest and per listed log file, plus `CHAIN_GAP` where a chain
 * restarts. Findings come in the AWS CLI's order: newest digest first, each digest followed by
 * its log files. Storage failures other than "not found" are thrown, never reported as
 * findings.
 *
 * @param options - what to verify and how
 * @returns an async iterable of findings
 * @throws ValidateLogsError `SOURCE_ERROR` (and the backend's errors) when storage fails
 * @example
 * ```ts
 * for await (const f of verifyTrail({ source, bucket, trail, keys, start })) {
 *   if (f.severity === 'invalid') console.log(f.code, f.object, f.message);
 * }
 * ```
 */
export async function* verifyTrail(options: VerifyOptions): AsyncGenerator<Finding> {
  const trail = checkTrailRef(options.trail);
  const bucket = requireString(options.bucket, 'bucket');
  const start = requireDate(options.start, 'start');
  const end = options.end ? requireDate(options.end, 'end') : new Date();
  if (start > end) throw new RangeError('start must not be after end');
  const concurrency = requirePositiveInteger(options.concurrency ?? DEFAULT_CONCURRENCY, 'concurrency');
  const engine = options.engine ?? nativeEngine;
  const maxDigestBytes = options.maxDigestBytes ?? DEFAULT_MAX_DIGEST_BYTES;
  const { source, keys, signal } = options;

  // Findings leave in order; log checks run ahead, up to `concurrency` at once.
  const pending: Promise<Finding>[] = [];
  const push = (f: Finding | Promise<Finding>): void => {
    const p = Promise.resolve(f);
    p.catch(() => undefined); // rejections are rethrown when the finding is awaited in order
    pending.push(p);
  };

  const lists = await listDigestKeys({ source, bucket, trail, start, end });
  options.onListed?.(lists.standard.length + (options.backfill ?? true ? lists.backfill.length : 0));
  const chains: Array<[string[], boolean]> = [[lists.standard, false]];
  if (options.backfill ?? true) chains.push([lists.backfill, true]);

  for (const [listed, backfill] of chains) {
    let idx = listed.length - 1;
    // The next listed digest older than `before` (ms), as the AWS CLI's _get_last_digest.
    const nextOlder = (before: number | undefined): DigestRef | undefined => {
      while (idx >= 0) {
        const k = listed[idx--]!;
        if (before === undefined || (keyTime(k) ?? Number.POSITIVE_INFINITY) < before) return { bucket, key: k };
      }
      return undefined;
    };
    let current = nextOlder(undefined);
    let lastStart = current ? keyTime(current.key)! : 0;
    let successor: ParsedDigest | undefined; // the newer digest whose link led to `current`
    const visited = new Set<string>();
    while (current && start.getTime() <= lastStart) {
      signal?.throwIfAborted();
      const uri = s3Uri(current.bucket, current.key);
      const jumpFrom = keyTime(current.key) ?? lastStart;
      if (visited.has(uri)) {
        // A link back to a digest already seen: follow it no further.
        current = nextOlder(Math.min(jumpFrom, lastStart));
        successor = undefined;
        continue;
      }
      visited.add(uri);
      const loaded = await loadDigest(current, successor, backfill);
      if (!loaded.ok) {
        push(loaded.finding);
        current = nextOlder(jumpFrom);
        // An invalid digest is no link, but its previousDigestSignature may still be the
        // signature of the digest jumped to: a signature proves itself when it verifies.
        successor = loaded.digest;
      } else {
        const d = loaded.digest;
        push(
          finding('DIGEST_VALID', {
            kind: 'digest',
            object: uri,
            bucket: current.bucket,
            key: current.key,
            message: 'valid',
            backfill,
            startTime: d.record.digestStartTime,
            endTime: d.record.digestEndTime,
          }),
        );
        for (const log of d.record.logFiles) {
          push(checkLog(log, uri, backfill));
          while (pending.length > concurrency) yield await pending.shift()!;
        }
        lastStart = d.startTime.getTime();
        if (d.isStarting) {
          const older = nextOlder(jumpFrom);
          if (older) {
            const olderEnd = keyTime(older.key)!;
            push(
              finding('CHAIN_GAP', {
                kind: 'chain',
                object: uri,
                bucket: current.bucket,
                key: current.key,
                message:
                  `No log files were delivered by CloudTrail between ${formatDigestTime(new Date(olderEnd))} and ` +
                  `${d.record.digestStartTime}: the chain restarts at this starting digest`,
                backfill,
                startTime: formatDigestTime(new Date(olderEnd)),
                endTime: d.record.digestStartTime,
              }),
            );
          }
          current = older;
          successor = undefined;
        } else {
          current = { bucket: d.record.previousDigestS3Bucket!, key: d.record.previousDigestS3Object! };
          successor = d;
        }
      }
      while (pending.length > concurrency) yield await pending.shift()!;
    }
  }
  while (pending.length > 0) yield await pending.shift()!;

  async function loadDigest(ref: DigestRef, next: ParsedDigest | undefined, backfill: boolean): Promise<Loaded> {
    const uri = s3Uri(ref.bucket, ref.key);
    const base = { kind: 'digest' as const, object: uri, bucket: ref.bucket, key: ref.key, backfill };
    let digest: ParsedDigest | undefined;
    const fail = (code: Finding['code'], message: string, extra: Partial<Finding> = {}): Loaded => ({
      ok: false,
      finding: finding(code, { ...base, message, ...extra }),
      ...(digest && { digest }),
    });
    // The newer digest's link names this one: its previousDigestSignature is a candidate signature.
    const linking =
      next && next.record.previousDigestS3Bucket === ref.bucket && next.record.previousDigestS3Object === ref.key ? next : undefined;
    const linkedFrom = linking ? { digest: s3Uri(linking.record.digestS3Bucket, linking.record.digestS3Object) } : {};
    let obj;
    try {
      obj = await source.get(ref.bucket, ref.key, { metadata: true });
    } catch (e) {
      if (isValidateLogsError(e, 'UNSAFE_KEY')) return fail('DIGEST_NOT_FOUND', `not found (${e.message})`, linkedFrom);
      if (isValidateLogsError(e, 'METADATA_INVALID')) return fail('DIGEST_INVALID_FORMAT', `invalid format: ${e.message}`);
      throw e;
    }
    if (!obj) return fail('DIGEST_NOT_FOUND', 'not found', linkedFrom);
    try {
      const bytes = await readAll(obj.body, { gzip: true, maxBytes: maxDigestBytes, what: uri });
      digest = parseDigest(bytes, uri, engine);
    } catch (e) {
      if (isValidateLogsError(e, 'GZIP_INVALID', 'SIZE_LIMIT', 'DIGEST_FORMAT')) {
        return fail('DIGEST_INVALID_FORMAT', `invalid format: ${e.message}`);
      }
      throw e;
    }
    const meta = obj.metadata;
    if (backfill && meta && meta['backfill-generation-timestamp'] === undefined) {
      return fail('DIGEST_INVALID_FORMAT', 'invalid format: a backfill digest without backfill-generation-timestamp metadata');
    }
    const r = digest.record;
    if (r.digestS3Bucket !== ref.bucket || r.digestS3Object !== ref.key) {
      return fail('DIGEST_MOVED', 'has been moved from its original location', {
        expected: s3Uri(r.digestS3Bucket, r.digestS3Object),
        actual: uri,
      });
    }
    const key = keys.find(r.digestPublicKeyFingerprint);
    if (!key) {
      return fail(
        'DIGEST_KEY_NOT_FOUND',
        `public key not found in region ${trail.homeRegion ?? trail.region} for fingerprint ${r.digestPublicKeyFingerprint}`,
        { expected: r.digestPublicKeyFingerprint },
      );
    }
    const algorithm = meta?.['signature-algorithm'];
    const signature = meta?.signature ?? linking?.record.previousDigestSignature ?? undefined;
    if (signature === undefined) {
      return fail(
        'DIGEST_SIGNATURE_MISSING',
        'signature not found: no signature metadata (S3 x-amz-meta-signature or a .metadata.json sidecar) and no later digest links to it',
      );
    }
    if (algorithm !== undefined && algorithm !== SIGNATURE_ALGORITHM) {
      return fail('DIGEST_SIGNATURE_INVALID', `signature verification failed: unsupported signature algorithm ${JSON.stringify(algorithm)}`, {
        expected: SIGNATURE_ALGORITHM,
        actual: algorithm,
      });
    }
    let ok: boolean;
    try {
      ok = verifyString(key, stringToSign(r, digest.sha256), signature);
    } catch (e) {
      if (isValidateLogsError(e, 'SIGNATURE_INVALID')) return fail('DIGEST_SIGNATURE_INVALID', `signature verification failed: ${e.message}`);
      throw e;
    }
    if (!ok) return fail('DIGEST_SIGNATURE_INVALID', 'signature verification failed');
    return { ok: true, digest, signature };
  }

  async function checkLog(log: DigestLogFile, digestUri: string, backfill: boolean): Promise<Finding> {
    const uri = s3Uri(log.s3Bucket, log.s3Object);
    const base = { kind: 'log' as const, object: uri, bucket: log.s3Bucket, key: log.s3Object, backfill, digest: digestUri };
    if (log.hashAlgorithm !== 'SHA-256') {
      return finding('LOG_HASH_ALGORITHM_UNSUPPORTED', {
        ...base,
        message: `unsupported hash algorithm ${JSON.stringify(log.hashAlgorithm)}: the log cannot be checked`,
        expected: 'SHA-256',
        actual: log.hashAlgorithm,
      });
    }
    let obj;
    try {
      obj = await source.get(log.s3Bucket, log.s3Object);
    } catch (e) {
      if (isValidateLogsError(e, 'UNSAFE_KEY')) return finding('LOG_NOT_FOUND', { ...base, message: `not found (${e.message})` });
      throw e;
    }
    if (!obj) return finding('LOG_NOT_FOUND', { ...base, message: 'not found' });
    let result;
    try {
      result = await hashStream(obj.body, {
        gzip: true,
        engine,
        what: uri,
        ...(options.maxLogBytes !== undefined && { maxBytes: options.maxLogBytes }),
      });
    } catch (e) {
      if (isValidateLogsError(e, 'GZIP_INVALID', 'SIZE_LIMIT')) {
        return finding('LOG_INVALID_FORMAT', { ...base, message: `invalid format: ${e.message}` });
      }
      throw e;
    }
    const expected = log.hashValue.toLowerCase();
    if (!constantTimeEqual(expected, result.sha256)) {
      return finding('LOG_HASH_MISMATCH', {
        ...base,
        message: "hash value doesn't match",
        expected,
        actual: result.sha256,
      });
    }
    return finding('LOG_VALID', { ...base, message: 'valid', size: result.size });
  }
}
