/**
 * The verifier: replays a trail region's digest chain the way the AWS CLI does (newest first,
 * following each digest's link to the previous one, jumping to the next older listed digest
 * when a link is missing or invalid), checks every digest (format, location, account,
 * algorithm, key, signature, key validity, and the hash and signature its successor's link
 * names) and every log file it lists (exists, one valid gzip stream, SHA-256), and yields
 * findings as data, in the order the AWS CLI reports them. Beyond the AWS CLI it reports every
 * digest of a hole (from the hourly cadence), log files that no digest lists, and a deleted
 * tail. It reads through an {@link ObjectSource}, so the same walk serves every backend.
 * @module
 */
import { defaultPlatform } from '#platform';
import { ValidateLogsError, isValidateLogsError } from '../errors.js';
import { PublicKeySet, SIGNATURE_ALGORITHM, type PublicKeyInfo } from '../crypto/keys.js';
import { stringToSign, verifyString } from '../crypto/signature.js';
import { parseDigest, type DigestLogFile, type ParsedDigest } from '../format/digest.js';
import { checkTrailRef, digestKey, digestKeyParts, s3Uri, type TrailRef } from '../format/keys.js';
import { DIGEST_PERIOD_MS, formatDigestTime } from '../format/time.js';
import { hashStream, readAll } from '../hash/hash-stream.js';
import type { Platform } from '../platform/platform.js';
import type { ObjectSource } from '../sources/source.js';
import { constantTimeEqual, requireDate, requirePositiveInteger, requireString } from '../utils.js';
import { finding, type Finding, type FindingCode } from './findings.js';
import { createLimiter } from './limit.js';
import { LogInventory } from './inventory.js';
import { listDigestKeys } from './listing.js';

/** Default cap on a digest file's uncompressed size: digests are parsed whole. */
export const DEFAULT_MAX_DIGEST_BYTES: number = 64 * 1024 * 1024;
/** Default cap on a log's uncompressed size (4 GiB): a gzip bomb stops there. */
export const DEFAULT_MAX_LOG_BYTES: number = 4 * 1024 ** 3;
/** Default number of objects verified at once. */
export const DEFAULT_CONCURRENCY = 4;
/** Default time after the newest digest's end beyond which a delivered log means a deleted tail. */
export const DEFAULT_TAIL_GRACE_MS: number = 2 * 3_600_000;
/** Digests read ahead of the walk. */
const PREFETCH = 8;

/** Reads of one object, retries included, when storage fails in a way worth another try. */
export const READ_ATTEMPTS = 3;
const RETRY_BASE_MS = 200;

type Attempt<T> = { ok: true; value: T } | { ok: false; error: ValidateLogsError };

/** Run a read, again after a transient storage failure (with backoff), up to {@link READ_ATTEMPTS} times. */
async function attempt<T>(read: () => Promise<T>, platform: Platform): Promise<Attempt<T>> {
  for (let i = 1; ; i++) {
    try {
      return { ok: true, value: await read() };
    } catch (e) {
      if (!(e instanceof ValidateLogsError && e.transient)) throw e;
      if (i >= READ_ATTEMPTS) return { ok: false, error: e };
      await platform.sleep(RETRY_BASE_MS * 2 ** (i - 1));
    }
  }
}

/**
 * Margin at the edges of the time the chain covers within which a log no digest lists is not
 * reported: a log is named at its delivery minute and may be listed by the next hour's digest.
 */
const COVERAGE_MARGIN_MS = 5 * 60_000;

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
  /**
   * List the trail's log files to find those no digest lists (`LOG_UNREFERENCED`), count the
   * logs in gaps and holes, and find a deleted tail (`CHAIN_TAIL_MISSING`); true by default.
   */
  inventory?: boolean;
  /** Logs delivered this long after the newest digest's end, with no later digest, mean a deleted tail; 2 h by default. */
  tailGraceMs?: number;
  /** Objects verified at once; {@link DEFAULT_CONCURRENCY} by default. */
  concurrency?: number;
  /** The runtime's SHA-256, inflater, RSA and timers; the default platform (by the package's conditional imports) when omitted. */
  platform?: Platform;
  /** Cap on a digest's uncompressed size; {@link DEFAULT_MAX_DIGEST_BYTES} by default. */
  maxDigestBytes?: number;
  /** Cap on a log's uncompressed size (a larger log is `LOG_TOO_LARGE`); {@link DEFAULT_MAX_LOG_BYTES} by default. */
  maxLogBytes?: number;
  /** Stops the walk: the generator throws the signal's reason. */
  signal?: AbortSignal;
  /** Called once the digest keys in range are listed, with their number (for progress displays). */
  onListed?: (digests: number) => void;
  /**
   * Fetches more keys when a digest's fingerprint is not in `keys` (online: ListPublicKeys over
   * the window; a backfill digest's window is its generation time ± 1 h).
   */
  fetchKeys?: (from: Date, to: Date) => Promise<Iterable<PublicKeyInfo>>;
  /** When CloudTrail says the trail last delivered a digest (GetTrailStatus): later than the newest digest found means a deleted tail. */
  latestDigestDelivery?: Date;
}

type DigestRef = { bucket: string; key: string };

type RawRead = Attempt<{ bytes: Uint8Array; metadata: Record<string, string> | undefined } | undefined>;

type Loaded =
  | { ok: true; digest: ParsedDigest; signature: string }
  | { ok: false; finding: Finding; digest?: ParsedDigest };

const keyTime = (key: string): number | undefined => digestKeyParts(key)?.endTime.getTime();

const iso = (ms: number): string => formatDigestTime(new Date(ms));

/**
 * Replay a trail region's digest chain and verify every digest and log file in range.
 *
 * Yields one finding per digest and per listed log file, `CHAIN_GAP` where a chain restarts,
 * then `CHAIN_TAIL_MISSING` and one `LOG_UNREFERENCED` per log file that no digest lists.
 * Findings come in the AWS CLI's order: newest digest first, each digest followed by its log
 * files. Storage failures other than "not found" are thrown, never reported as findings.
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
  const platform = options.platform ?? defaultPlatform;
  const maxDigestBytes = options.maxDigestBytes ?? DEFAULT_MAX_DIGEST_BYTES;
  const maxLogBytes = options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES;
  const tailGrace = options.tailGraceMs ?? DEFAULT_TAIL_GRACE_MS;
  const inventoryWanted = options.inventory ?? true;
  const { source, signal } = options;
  const keys = new PublicKeySet(options.keys);
  const fetchedWindows = new Set<string>();
  const home = trail.homeRegion ?? trail.region;

  // Findings leave in order. Log checks run `concurrency` at a time, each starting as soon as
  // another ends (a slow object does not hold the others back); up to `window` findings wait
  // for their turn to leave, which bounds memory whatever the number of objects.
  const window = Math.max(64, 8 * concurrency);
  const pending: Promise<Finding>[] = [];
  const limited = createLimiter(concurrency);
  const region = (f: Finding): Finding => {
    f.region = trail.region;
    return f;
  };
  const push = (f: Finding | Promise<Finding>): void => {
    const p = Promise.resolve(f).then(region);
    p.catch(() => undefined); // rejections are rethrown when the finding is awaited in order
    pending.push(p);
  };

  // The digests and the logs are listed at once; logs beyond the range only when no later digest exists (the tail).
  const inventoryTo = end.getTime() + DIGEST_PERIOD_MS + tailGrace;
  const [lists, inventory] = await Promise.all([
    listDigestKeys({ source, bucket, trail, start, end }),
    inventoryWanted ? LogInventory.load(source, bucket, trail, start.getTime() - DIGEST_PERIOD_MS, inventoryTo) : new LogInventory(trail),
  ]);
  // Logs after the range matter only for the tail, checked last: list them while the walk runs
  // (they come after every time the walk counts logs in, so the counts are not disturbed).
  const tailListed =
    inventoryWanted && !lists.later ? inventory.extend(source, bucket, start.getTime() - DIGEST_PERIOD_MS, Number.POSITIVE_INFINITY) : Promise.resolve();
  tailListed.catch(() => undefined); // awaited before the tail check
  options.onListed?.(lists.standard.length + ((options.backfill ?? true) ? lists.backfill.length : 0));
  const counted = (from: number, to: number): { logs?: number } => (inventoryWanted ? { logs: inventory.count(from, to) } : {});

  /** Logs listed by digests whose signature verified, and the time those digests cover. */
  // (Marks in the inventory rather than a set of keys: memory stays flat in the number of logs.)
  const covered: Array<[number, number]> = [];
  const accept = (d: ParsedDigest): void => {
    for (const l of d.record.logFiles) if (l.s3Bucket === bucket) inventory.mark(l.s3Object);
    covered.push([d.startTime.getTime(), d.endTime.getTime()]);
  };

  const chains: Array<[string[], boolean]> = [[lists.standard, false]];
  if (options.backfill ?? true) chains.push([lists.backfill, true]);

  // Digests are read ahead: a chain's links nearly always lead to the next older listed digest,
  // so the next few are fetched while this one's logs are checked (bounded: PREFETCH digests).
  const prefetched = new Map<string, Promise<RawRead>>();
  const read = (ref: DigestRef): Promise<RawRead> => {
    const id = s3Uri(ref.bucket, ref.key);
    const early = prefetched.get(id);
    if (early) {
      prefetched.delete(id);
      return early;
    }
    return readDigest(ref);
  };

  for (const [listed, backfill] of chains) {
    let idx = listed.length - 1;
    const prefetch = (): void => {
      for (let i = idx; i >= 0 && i > idx - PREFETCH; i--) {
        const id = s3Uri(bucket, listed[i]!);
        if (prefetched.has(id)) continue;
        const p = readDigest({ bucket, key: listed[i]! });
        p.catch(() => undefined); // reported when (if) it is used
        prefetched.set(id, p);
      }
      // Forget what the walk has passed (a link that jumped over it).
      for (const id of prefetched.keys()) if (prefetched.size > PREFETCH * 2) prefetched.delete(id);
    };
    // The next listed digest older than `before` (ms), as the AWS CLI's _get_last_digest.
    const nextOlder = (before: number | undefined): DigestRef | undefined => {
      while (idx >= 0) {
        const k = listed[idx--]!;
        if (before === undefined || (keyTime(k) ?? Number.POSITIVE_INFINITY) < before) return { bucket, key: k };
      }
      return undefined;
    };
    const peekOlder = (before: number): number | undefined => {
      for (let i = idx; i >= 0; i--) {
        const t = keyTime(listed[i]!);
        if (t !== undefined && t < before) return t;
      }
      return undefined;
    };
    let current = nextOlder(undefined);
    let lastStart = current ? keyTime(current.key)! : 0;
    let successor: ParsedDigest | undefined; // the newer digest whose link (or jump) led to `current`
    const visited = new Set<string>();
    while (current && start.getTime() <= lastStart) {
      signal?.throwIfAborted();
      const ref: DigestRef = current;
      const uri = s3Uri(ref.bucket, ref.key);
      const refTime = keyTime(ref.key);
      const jumpFrom = refTime ?? lastStart;
      if (visited.has(uri)) {
        // A link back to a digest already seen: follow it no further.
        current = nextOlder(Math.min(jumpFrom, lastStart));
        successor = undefined;
        continue;
      }
      visited.add(uri);
      const linking = successor && links(successor, ref) ? successor : undefined;
      const raw = read(ref);
      prefetch();
      const loaded = await loadDigest(ref, linking, backfill, raw);
      if (!loaded.ok) {
        push(loaded.finding);
        if (loaded.finding.code === 'DIGEST_NOT_FOUND' && linking && refTime !== undefined) {
          // A hole: every digest between the missing one and the next older one found.
          const older = peekOlder(refTime);
          if (older !== undefined) {
            for (let t = refTime - DIGEST_PERIOD_MS; t > older + DIGEST_PERIOD_MS / 2 && t > start.getTime(); t -= DIGEST_PERIOD_MS) {
              const key = digestKey(trail, new Date(t), backfill);
              push(
                finding('DIGEST_NOT_FOUND', {
                  kind: 'digest',
                  object: s3Uri(bucket, key),
                  bucket,
                  key,
                  message: `not found (one digest per hour: missing between ${iso(older)} and ${iso(refTime)})`,
                  backfill,
                  endTime: iso(t),
                  ...counted(t - DIGEST_PERIOD_MS, t),
                }),
              );
            }
          }
        }
        current = nextOlder(jumpFrom);
        // An invalid digest is no link, but its previousDigestSignature may still be the
        // signature of the digest jumped to: a signature proves itself when it verifies.
        successor = loaded.digest;
      } else {
        const d = loaded.digest;
        const r = d.record;
        const base = { kind: 'digest' as const, object: uri, bucket: ref.bucket, key: ref.key, backfill, startTime: r.digestStartTime, endTime: r.digestEndTime };
        if (linking && d.endTime >= linking.endTime) {
          push(
            finding('DIGEST_OUT_OF_ORDER', {
              ...base,
              message: `ends at ${r.digestEndTime}, not before the digest that links to it (ends ${linking.record.digestEndTime})`,
              digest: s3Uri(linking.record.digestS3Bucket, linking.record.digestS3Object),
            }),
          );
          current = nextOlder(jumpFrom);
          successor = undefined;
          continue;
        }
        const hashLinked = !linking || constantTimeEqual((linking.record.previousDigestHashValue ?? '').toLowerCase(), d.sha256);
        const sigLinked = !linking || constantTimeEqual((linking.record.previousDigestSignature ?? '').toLowerCase(), loaded.signature.toLowerCase());
        if (linking && (!hashLinked || !sigLinked)) {
          push(
            finding('DIGEST_LINK_MISMATCH', {
              ...base,
              message:
                `correctly signed, but its ${!hashLinked ? 'SHA-256' : 'signature'}${!hashLinked && !sigLinked ? ' and signature' : ''} ` +
                `differ from what the next digest's link records: rewritten and re-signed after the next digest was written`,
              expected: hashLinked ? linking.record.previousDigestSignature! : linking.record.previousDigestHashValue!,
              actual: hashLinked ? loaded.signature : d.sha256,
              digest: s3Uri(linking.record.digestS3Bucket, linking.record.digestS3Object),
            }),
          );
        } else {
          push(finding('DIGEST_VALID', { ...base, message: 'valid' }));
        }
        accept(d);
        for (const log of r.logFiles) {
          push(limited(() => checkLog(log, uri, backfill, ref.bucket)));
          while (pending.length > window) yield await pending.shift()!;
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
                bucket: ref.bucket,
                key: ref.key,
                message:
                  `No log files were delivered by CloudTrail between ${iso(olderEnd)} and ` +
                  `${r.digestStartTime}: the chain restarts at this starting digest`,
                backfill,
                startTime: iso(olderEnd),
                endTime: r.digestStartTime,
                ...counted(olderEnd, d.startTime.getTime()),
              }),
            );
          }
          current = older;
          successor = undefined;
        } else {
          current = { bucket: r.previousDigestS3Bucket!, key: r.previousDigestS3Object! };
          successor = d;
        }
      }
      while (pending.length > window) yield await pending.shift()!;
    }
  }
  while (pending.length > 0) yield await pending.shift()!;

  // A deleted tail: no digest after the newest one listed, yet CloudTrail says it delivered a
  // later one, or logs were delivered well after it.
  await tailListed;
  const newestKey = lists.standard.at(-1);
  if (!lists.later && newestKey !== undefined) {
    const newestEnd = keyTime(newestKey)!;
    const lateFrom = inventory.indexOf(newestEnd + tailGrace + 1);
    const late = inventory.size - lateFrom;
    const status = options.latestDigestDelivery;
    const tail = (message: string, expected: string, actual: string): Finding =>
      region(
        finding('CHAIN_TAIL_MISSING', {
          kind: 'chain',
          object: s3Uri(bucket, newestKey),
          bucket,
          key: newestKey,
          message: `${message}, and no later digest exists: the newest digest files have been deleted`,
          backfill: false,
          startTime: iso(newestEnd),
          expected,
          actual,
          ...(inventoryWanted && { logs: inventory.count(newestEnd, Number.POSITIVE_INFINITY) }),
        }),
      );
    if (status && status.getTime() > newestEnd + DIGEST_PERIOD_MS) {
      yield tail(
        `CloudTrail reports a digest delivered at ${iso(status.getTime())} (GetTrailStatus), but the newest digest found ends ${iso(newestEnd)}`,
        `a digest file delivered at ${iso(status.getTime())}`,
        s3Uri(bucket, newestKey),
      );
    } else if (late > 0) {
      const firstKey = inventory.keyAt(lateFrom);
      yield tail(
        `${late} log files were delivered more than ${duration(tailGrace)} after the newest digest (which ends ${iso(newestEnd)}), ` +
          `the first at ${iso(inventory.timeAt(lateFrom))} (${s3Uri(bucket, firstKey)})`,
        `a digest file after ${iso(newestEnd)}`,
        s3Uri(bucket, firstKey),
      );
    }
  }

  if (!inventoryWanted) return;

  // Log files no verified digest lists, delivered inside the time the chain covers.
  const spans = merge(covered);
  let candidates: number[] = [];
  for (let i = inventory.indexOf(start.getTime()); i < inventory.size && inventory.timeAt(i) <= end.getTime(); i++) {
    const t = inventory.timeAt(i);
    if (!inventory.listed(i) && spans.some(([a, b]) => t >= a + COVERAGE_MARGIN_MS && t + 60_000 + COVERAGE_MARGIN_MS <= b)) candidates.push(i);
  }
  if (candidates.length > 0 && lists.others.length > 0) {
    // Several trails may deliver into one prefix: a log listed by another trail's valid digest is referenced.
    for (const key of lists.others) {
      signal?.throwIfAborted();
      const other = await loadDigest({ bucket, key }, undefined, false, readDigest({ bucket, key }));
      if (other.ok) for (const l of other.digest.record.logFiles) if (l.s3Bucket === bucket) inventory.mark(l.s3Object);
    }
    candidates = candidates.filter((i) => !inventory.listed(i));
  }
  for (const i of candidates) {
    const key = inventory.keyAt(i);
    yield region(finding('LOG_UNREFERENCED', {
      kind: 'log',
      object: s3Uri(bucket, key),
      bucket,
      key,
      message: `not listed in any digest, though delivered at ${iso(inventory.timeAt(i))}, inside the time the digests cover: injected, or withheld from the digests`,
      backfill: false,
    }));
  }

  function links(next: ParsedDigest, ref: DigestRef): boolean {
    return next.record.previousDigestS3Bucket === ref.bucket && next.record.previousDigestS3Object === ref.key;
  }

  /** Fetch a digest's bytes and metadata, retrying transient failures. */
  async function readDigest(ref: DigestRef): Promise<RawRead> {
    const uri = s3Uri(ref.bucket, ref.key);
    try {
      return await attempt(async () => {
        const obj = await source.get(ref.bucket, ref.key, { metadata: true });
        if (!obj) return undefined;
        return { bytes: await readAll(obj.body, { gzip: true, maxBytes: maxDigestBytes, what: uri, platform }), metadata: obj.metadata };
      }, platform);
    } catch (e) {
      if (e instanceof ValidateLogsError && ['UNSAFE_KEY', 'METADATA_INVALID', 'GZIP_INVALID', 'SIZE_LIMIT'].includes(e.code)) return { ok: false, error: e };
      throw e;
    }
  }

  async function loadDigest(ref: DigestRef, linking: ParsedDigest | undefined, backfill: boolean, raw: Promise<RawRead>): Promise<Loaded> {
    const uri = s3Uri(ref.bucket, ref.key);
    const base = { kind: 'digest' as const, object: uri, bucket: ref.bucket, key: ref.key, backfill };
    let digest: ParsedDigest | undefined;
    const fail = (code: FindingCode, message: string, extra: Partial<Finding> = {}): Loaded => ({
      ok: false,
      finding: finding(code, {
        ...base,
        message,
        ...(digest && { startTime: digest.record.digestStartTime, endTime: digest.record.digestEndTime }),
        ...extra,
      }),
      ...(digest && { digest }),
    });
    const linkedFrom = linking ? { digest: s3Uri(linking.record.digestS3Bucket, linking.record.digestS3Object) } : {};
    const hour = (): { logs?: number; endTime?: string } => {
      const t = keyTime(ref.key);
      return t === undefined ? {} : { endTime: iso(t), ...counted(t - DIGEST_PERIOD_MS, t) };
    };
    const read = await raw;
    if (!read.ok) {
      const e = read.error;
      if (e.code === 'UNSAFE_KEY') return fail('DIGEST_NOT_FOUND', `not found (${e.message})`, linkedFrom);
      if (e.code !== 'SOURCE_ERROR') return fail('DIGEST_INVALID_FORMAT', `invalid format: ${e.message}`);
      return fail('DIGEST_UNREADABLE', `not verified: reading it failed ${READ_ATTEMPTS} times (${e.message})`);
    }
    if (!read.value) return fail('DIGEST_NOT_FOUND', 'not found', { ...linkedFrom, ...hour() });
    try {
      digest = parseDigest(read.value.bytes, uri, platform);
    } catch (e) {
      if (isValidateLogsError(e, 'DIGEST_FORMAT')) return fail('DIGEST_INVALID_FORMAT', `invalid format: ${e.message}`);
      throw e;
    }
    const meta = read.value.metadata;
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
    if (r.awsAccountId !== trail.accountId) {
      return fail('DIGEST_ACCOUNT_MISMATCH', `names account ${r.awsAccountId}, but lies in the folder of account ${trail.accountId}`, {
        expected: trail.accountId,
        actual: r.awsAccountId,
      });
    }
    const algorithm = meta?.['signature-algorithm'];
    for (const [where, value] of [['digestSignatureAlgorithm', r.digestSignatureAlgorithm], ['signature-algorithm metadata', algorithm]] as const) {
      if (value !== undefined && value !== SIGNATURE_ALGORITHM) {
        return fail('DIGEST_ALGORITHM_UNSUPPORTED', `unsupported signature algorithm ${JSON.stringify(value)} in its ${where}`, {
          expected: SIGNATURE_ALGORITHM,
          actual: value,
        });
      }
    }
    let key = keys.find(r.digestPublicKeyFingerprint, digest.endTime);
    if (!key && options.fetchKeys) {
      const generated = meta?.['backfill-generation-timestamp'];
      const around = backfill && generated && !Number.isNaN(Date.parse(generated)) ? Date.parse(generated) : digest.endTime.getTime();
      const [from, to] = backfill ? [around - DIGEST_PERIOD_MS, around + DIGEST_PERIOD_MS] : [around - DIGEST_PERIOD_MS, around + 2 * DIGEST_PERIOD_MS];
      const window = `${from}/${to}`;
      if (!fetchedWindows.has(window)) {
        fetchedWindows.add(window);
        keys.addAll(await options.fetchKeys(new Date(from), new Date(to)));
      }
      key = keys.find(r.digestPublicKeyFingerprint, digest.endTime);
    }
    if (!key) {
      return fail('DIGEST_KEY_NOT_FOUND', `public key not found in region ${home} for fingerprint ${r.digestPublicKeyFingerprint}`, {
        expected: r.digestPublicKeyFingerprint,
      });
    }
    const signature = meta?.signature ?? linking?.record.previousDigestSignature ?? undefined;
    if (signature === undefined) {
      return fail(
        'DIGEST_SIGNATURE_MISSING',
        'signature not found: no signature metadata (S3 x-amz-meta-signature or a .metadata.json sidecar) and no later digest links to it',
      );
    }
    let ok: boolean;
    try {
      ok = await verifyString(key, stringToSign(r, digest.sha256), signature, platform);
    } catch (e) {
      if (isValidateLogsError(e, 'SIGNATURE_INVALID')) return fail('DIGEST_SIGNATURE_INVALID', `signature verification failed: ${e.message}`);
      throw e;
    }
    if (!ok) return fail('DIGEST_SIGNATURE_INVALID', 'signature verification failed');
    // Signed just after its end time, with a key valid then (ListPublicKeys is asked over [start, end + 2 h]).
    const signedFrom = digest.endTime.getTime();
    if ((key.validFrom && key.validFrom.getTime() > signedFrom + 2 * DIGEST_PERIOD_MS) || (key.validTo && key.validTo.getTime() < signedFrom)) {
      return fail(
        'DIGEST_KEY_NOT_VALID',
        `signed by key ${key.fingerprint}, valid from ${key.validFrom ? iso(key.validFrom.getTime()) : 'the start'} to ` +
          `${key.validTo ? iso(key.validTo.getTime()) : 'now'}, not at the digest's end time ${r.digestEndTime}`,
        { expected: r.digestEndTime },
      );
    }
    return { ok: true, digest, signature };
  }

  async function checkLog(log: DigestLogFile, digestUri: string, backfill: boolean, digestBucket: string): Promise<Finding> {
    const uri = s3Uri(log.s3Bucket, log.s3Object);
    const base = { kind: 'log' as const, object: uri, bucket: log.s3Bucket, key: log.s3Object, backfill, digest: digestUri };
    if (log.s3Bucket !== digestBucket) {
      // CloudTrail delivers a trail's logs and digests to one bucket: a digest is never a reason to read another.
      return finding('LOG_NOT_FOUND', { ...base, message: `not found: listed in bucket ${log.s3Bucket}, not in the digest's bucket ${digestBucket}; not read` });
    }
    if (log.hashAlgorithm !== 'SHA-256') {
      return finding('LOG_HASH_ALGORITHM_UNSUPPORTED', {
        ...base,
        message: `unsupported hash algorithm ${JSON.stringify(log.hashAlgorithm)}: the log cannot be checked`,
        expected: 'SHA-256',
        actual: log.hashAlgorithm,
      });
    }
    let read: Attempt<Awaited<ReturnType<typeof hashStream>> | undefined>;
    try {
      read = await attempt(async () => {
        const obj = await source.get(log.s3Bucket, log.s3Object);
        return obj && hashStream(obj.body, { gzip: true, platform, what: uri, maxBytes: maxLogBytes, ...(obj.size !== undefined && { sizeHint: obj.size }) });
      }, platform);
    } catch (e) {
      if (isValidateLogsError(e, 'UNSAFE_KEY')) return finding('LOG_NOT_FOUND', { ...base, message: `not found (${e.message})` });
      if (isValidateLogsError(e, 'SIZE_LIMIT')) {
        return finding('LOG_TOO_LARGE', { ...base, message: `not verified: it inflates to more than ${maxLogBytes} bytes (the limit; --max-log-size)` });
      }
      if (isValidateLogsError(e, 'GZIP_INVALID')) return finding('LOG_INVALID_FORMAT', { ...base, message: `invalid format: ${e.message}` });
      throw e;
    }
    if (!read.ok) return finding('LOG_UNREADABLE', { ...base, message: `not verified: reading it failed ${READ_ATTEMPTS} times (${read.error.message})` });
    const result = read.value;
    if (!result) return finding('LOG_NOT_FOUND', { ...base, message: 'not found' });
    const expected = log.hashValue.toLowerCase();
    if (!constantTimeEqual(expected, result.sha256)) {
      return finding('LOG_HASH_MISMATCH', { ...base, message: "hash value doesn't match", expected, actual: result.sha256 });
    }
    return finding('LOG_VALID', { ...base, message: 'valid', size: result.size });
  }
}

/** A duration for messages: `2 h`, `90 min`, `45 s`. */
function duration(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
}

/** Merge time intervals that overlap or touch. */
function merge(intervals: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
