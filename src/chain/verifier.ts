/**
 * The verifier: replays a trail region's digest chains and accounts for every object in range,
 * as a short sequence of named steps:
 *
 * 1. list ({@link listDigestKeys}, {@link LogInventory}): the digests in range by chain, the
 *    trail's log files, and every other object in those folders;
 * 2. walk ({@link walkChain}): each chain newest first, the AWS CLI's way, each digest checked
 *    ({@link checkDigest}) and each log it lists checked ({@link checkLog}), concurrently, with
 *    findings in the AWS CLI's order;
 * 3. coverage ({@link coverage}): logs no digest vouches for, a deleted tail, digests the walk
 *    never reached, and other objects.
 *
 * It reads through an {@link ObjectSource}, so the same walk serves every backend.
 * @module
 */
import { PublicKeySet, type PublicKeyInfo } from '../crypto/keys.js';
import type { TrailRef } from '../format/keys.js';
import { checkTrailRef } from '../format/keys.js';
import { DIGEST_PERIOD_MS } from '../format/time.js';
import { defaultPlatform } from '#platform';
import type { PooledPlatform } from './offload.js';
import type { ObjectSource } from '../sources/source.js';
import { requireDate, requirePositiveInteger, requireString } from '../utils.js';
import { coverage, type CoverageMap } from './coverage.js';
import type { Finding } from './findings.js';
import { LogInventory } from './inventory.js';
import { createLimiter } from './limit.js';
import { objectsInFlight } from '../hash/hash-object.js';
import { listDigestKeys, type DigestKeyLists } from './listing.js';
import { OrderedFindings } from './schedule.js';
import { DigestReader, chainEnd, newWalkRecord, pinFindings, walkChain, type ChainEnds, type PinnedHead, type WalkContext, type WalkRecord } from './walk.js';


/** Default cap on a digest file's uncompressed size: digests are parsed whole. */
export const DEFAULT_MAX_DIGEST_BYTES: number = 64 * 1024 * 1024;
/** Default cap on a log's uncompressed size (4 GiB): a gzip bomb stops there. */
export const DEFAULT_MAX_LOG_BYTES: number = 4 * 1024 ** 3;
/** Default number of objects verified at once. */
export const DEFAULT_CONCURRENCY = 4;
/** Default time after a log's digest was due (or after the newest digest's end) beyond which it means a deleted tail. */
export const DEFAULT_TAIL_GRACE_MS: number = 2 * 3_600_000;

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
  /**
   * Grace for a digest to arrive: a log delivered after the newest digest is reported once its
   * digest was due this long before the end of the range, and logs delivered this long after the
   * newest digest, with no later digest, mean a deleted tail; 2 h by default.
   */
  tailGraceMs?: number;
  /** Objects verified at once; {@link DEFAULT_CONCURRENCY} by default. */
  concurrency?: number;
  /** The runtime (SHA-256, inflate, RSA, timers) and, optionally, a pool of threads to hash on. Omitted: the runtime's bare platform here; the package's `verifyTrail` (the root entry) gives the pooled one under Node. */
  platform?: PooledPlatform;
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
  /**
   * A digest of the standard chain pinned by a checkpoint (an earlier run's newest digest): the
   * walk must reach it link by link and find exactly these bytes, else `CHECKPOINT_MISMATCH`;
   * when every digest from it on is gone, `CHECKPOINT_ROLLBACK`. What it lists was verified when
   * it was pinned and is not read again. Start the range at its end time to read only what came
   * after it. A range that does not hold it is checked to link to it all the same, through the
   * digests outside the range, reading no log.
   */
  pinned?: PinnedHead;
  /** Called once the standard chain is walked, with its newest and oldest verified digests (for checkpoints and shard boundaries). */
  onChain?: (ends: ChainEnds) => void;
  /**
   * Called once the logs are accounted for (with the inventory on), with the map of where the
   * verified chains vouch for logs and every log in range that no digest lists, whether reported
   * or not: a shard's merge judges them again over the whole chain ({@link scale!unreferencedReason}).
   */
  onUnlisted?: (map: CoverageMap, logs: Array<{ key: string; time: number }>) => void;
}

/**
 * Replay a trail region's digest chains and verify every digest and log file in range.
 *
 * Yields one finding per digest and per listed log file, `CHAIN_GAP` where a chain restarts,
 * `CHAIN_LOOP` where links loop; then the coverage findings: later digest names that do not
 * verify, `CHAIN_TAIL_MISSING`, one `LOG_UNREFERENCED` per log file no digest vouches for,
 * `DIGEST_UNREACHED` per listed digest never walked, and `OBJECT_UNEXPECTED` /
 * `OBJECT_UNREADABLE` per other object in the trail's folders. Findings come in the AWS CLI's
 * order: newest digest first, each digest followed by its log files. An object that cannot be
 * read is a finding about it; only a listing that fails as a whole is thrown.
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
export async function* verifyTrail(options: VerifyOptions): AsyncGenerator<Finding> {
  for await (const page of verifyTrailPages(options)) yield* page;
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
export async function* verifyTrailPages(options: VerifyOptions): AsyncGenerator<Finding[]> {
  const { trail, bucket, start, end, concurrency, inventoryWanted, backfill } = checkOptions(options);
  const { source } = options;
  const platform: PooledPlatform = options.platform ?? defaultPlatform;
  if (source.files) platform.offload?.warm(); // the threads start while the listing runs

  // 1. List: the digests and the logs at once.
  const tailGraceMs = options.tailGraceMs ?? DEFAULT_TAIL_GRACE_MS;
  const { inventory, inventoryListed, lists, listTail } = await listRange({ source, bucket, trail, start, end }, inventoryWanted, tailGraceMs);
  options.onListed?.(lists.standard.length + (backfill ? lists.backfill.length : 0));

  const inFlight = objectsInFlight(source, platform, concurrency);
  const findings = new OrderedFindings(Math.max(64, 8 * concurrency, 2 * inFlight), (f) => {
    f.region = trail.region;
    return f;
  });
  const ctx: WalkContext = {
    source,
    bucket,
    trail,
    keys: new PublicKeySet(options.keys),
    fetchKeys: options.fetchKeys,
    start: start.getTime(),
    platform,
    maxDigestBytes: options.maxDigestBytes ?? DEFAULT_MAX_DIGEST_BYTES,
    maxLogBytes: options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES,
    signal: options.signal,
    inventory,
    counting: inventoryWanted,
    findings,
    limited: createLimiter(inFlight),
    fileRoot: platform.offload && source.files ? source.fileRoot?.(bucket) : undefined,
    pinned: options.pinned,
  };
  const reader = new DigestReader(ctx);
  const record = newWalkRecord();
  // The newest digests are read (and, by a pool that takes them whole, checked) while the logs
  // are still being listed: the walk marks what they list only once the listing is done.
  reader.prefetch(lists.standard, lists.standard.length - 1);
  reader.readAheadUntil(lists.standard, inventoryListed);
  await inventoryListed;
  if (inventoryWanted && lists.later.length === 0) listTail().catch(() => undefined); // awaited in the coverage step

  // 2. Walk each chain.
  yield* walkChains({ ctx, reader, lists, record, listedTo: end.getTime() + DIGEST_PERIOD_MS, backfill, onChain: options.onChain });

  // 3. Account for everything else.
  for await (const f of coverage({
    ctx,
    reader,
    lists,
    record,
    end: end.getTime(),
    tailGraceMs,
    latestDigestDelivery: options.latestDigestDelivery,
    inventory: inventoryWanted,
    listTail,
    backfill,
    onUnlisted: options.onUnlisted,
  })) {
    f.region = trail.region;
    yield [f];
  }
}

/** The options of {@link verifyTrailPages} that are checked, with their defaults. */
function checkOptions(options: VerifyOptions): { trail: TrailRef; bucket: string; start: Date; end: Date; concurrency: number; inventoryWanted: boolean; backfill: boolean } {
  const trail = checkTrailRef(options.trail);
  const bucket = requireString(options.bucket, 'bucket');
  const start = requireDate(options.start, 'start');
  const end = options.end ? requireDate(options.end, 'end') : new Date();
  if (start > end) throw new RangeError('start must not be after end');
  const concurrency = requirePositiveInteger(options.concurrency ?? DEFAULT_CONCURRENCY, 'concurrency');
  return { trail, bucket, start, end, concurrency, inventoryWanted: options.inventory ?? true, backfill: options.backfill ?? true };
}

/**
 * The listing step: the digest keys in range by chain, and the trail's logs (when wanted) listed
 * at the same time; the logs after the range only when `listTail` is called.
 */
async function listRange(
  range: { source: ObjectSource; bucket: string; trail: TrailRef; start: Date; end: Date },
  inventoryWanted: boolean,
  tailGraceMs: number,
): Promise<{ inventory: LogInventory; inventoryListed: Promise<void>; lists: DigestKeyLists; listTail: () => Promise<void> }> {
  const { source, bucket, trail, start, end } = range;
  const from = start.getTime() - DIGEST_PERIOD_MS;
  const inventory = new LogInventory(trail);
  const inventoryListed = inventoryWanted ? inventory.extend(source, bucket, from, end.getTime() + DIGEST_PERIOD_MS + tailGraceMs) : Promise.resolve();
  inventoryListed.catch(() => undefined); // awaited by the caller, once the digests are listed
  const lists = await listDigestKeys(range);
  // Logs after the range matter only for the tail, checked last: when no later digest is even
  // named, list them while the walk runs (they come after every time the walk counts logs in).
  let tailListing: Promise<void> | undefined;
  const listTail = (): Promise<void> => (tailListing ??= inventory.extend(source, bucket, from, Number.POSITIVE_INFINITY));
  return { inventory, inventoryListed, lists, listTail };
}

/** What the walk step of {@link verifyTrailPages} works from. */
interface ChainsInput {
  /** The run's fixed inputs. */
  ctx: WalkContext;
  /** Reads and checks digests. */
  reader: DigestReader;
  /** The listings. */
  lists: DigestKeyLists;
  /** What the walks found out, added to. */
  record: WalkRecord;
  /** The newest key time the listing covers, in ms (the range's end + 1 h). */
  listedTo: number;
  /** Whether to walk the backfill chain. */
  backfill: boolean;
  /** Given the standard chain's ends once it is walked. */
  onChain: ((ends: ChainEnds) => void) | undefined;
}

/**
 * The walk step: the standard chain, then what the checkpoint's pin says when the walk did not
 * meet it (reached outside the range, or a finding), the standard chain's ends, the backfill
 * chain; then every finding still queued.
 */
async function* walkChains({ ctx, reader, lists, record, listedTo, backfill, onChain }: ChainsInput): AsyncGenerator<Finding[]> {
  const { findings } = ctx;
  yield* walkChain(ctx, reader, lists.standard, false, record);
  for (const f of await pinFindings(ctx, record, lists.standard, listedTo)) findings.push(f);
  if (onChain) {
    const ends: ChainEnds = {};
    if (record.newest) ends.newest = chainEnd(record.newest.key, record.newest.digest, record.newest.signature);
    if (record.oldest) ends.oldest = chainEnd(record.oldest.key, record.oldest.digest, record.oldest.signature);
    onChain(ends);
  }
  if (backfill) yield* walkChain(ctx, reader, lists.backfill, true, record);
  const rest = await findings.takePage(0);
  if (rest.length > 0) yield rest;
}
