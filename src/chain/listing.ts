/**
 * What storage holds for a trail region: its digest keys in a time range (by chain), other
 * trails' digests in the same folder, whether later digests exist, and its log files.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { parseDigest } from '../format/digest.js';
import { digestFolder, digestKeyParts, type ParsedDigestKey, type TrailRef } from '../format/keys.js';
import { formatDateFolders } from '../format/time.js';
import { readAll } from '../hash/hash-stream.js';
import type { ListedObject, ObjectSource } from '../sources/source.js';
import { LogInventory } from './inventory.js';

/** The digest keys of a trail region in range, by chain. */
export interface DigestKeyLists {
  /** Keys of the standard chain, oldest first. */
  standard: string[];
  /** Keys of the backfill chain, oldest first. */
  backfill: string[];
  /** Keys of other trails' standard digests in the same folder and range (several trails can share a prefix). */
  others: string[];
  /**
   * Keys named like standard digests of the trail later than the range, found in the range's
   * last date folder, oldest first. A name is not evidence: they count only once read and
   * verified ({@link laterDigestKeys} lists on past them).
   */
  later: string[];
  /**
   * Objects in the range's date folders that are not digests of a trail of this account and
   * region (other names, a name whose time is not its folder's date, subfolders' contents,
   * unreadable entries), in listing order.
   */
  odd: ListedObject[];
  /** The last key listed: {@link laterDigestKeys} goes on after it. */
  listedTo: string;
}

/** Options of {@link listDigestKeys}. */
export interface DigestListOptions {
  /** Where to list. */
  source: ObjectSource;
  /** The bucket. */
  bucket: string;
  /** The trail and region. */
  trail: TrailRef;
  /** Start of the range. */
  start: Date;
  /** End of the range; digests ending up to one hour later are included (they list logs delivered before `end`). */
  end: Date;
}

const DAY_MS = 24 * 3_600_000;

const sameFolder = (p: ParsedDigestKey, t: TrailRef): boolean =>
  p.accountId === t.accountId && p.region === t.region && p.prefix === t.prefix && p.organizationId === t.organizationId;

const isMine = (p: ParsedDigestKey, t: TrailRef): boolean => p.trailName === t.trailName && p.homeRegion === (t.homeRegion ?? t.region);

/**
 * The digest keys of a trail region's chain in the time range, as the AWS CLI selects them:
 * key times in [start, end + 1 h]. The listing runs to
 * the end of the last date folder of the range whatever the names in it say, and keeps what is
 * not a digest of this account and region as {@link DigestKeyLists.odd}.
 *
 * @param options - source, bucket, trail and range
 * @returns the key lists
 */
export async function listDigestKeys(options: DigestListOptions): Promise<DigestKeyLists> {
  const { trail, start, end } = options;
  const folder = digestFolder(trail);
  // From the start of the first date folder, so that every object in it is seen.
  const startAfter = `${folder}${formatDateFolders(new Date(start.getTime() - 60_000))}`;
  const last = Math.floor(end.getTime() / 1000) * 1000 + 3_600_000;
  const first = Math.floor(start.getTime() / 1000) * 1000;
  const stopAt = `${folder}${formatDateFolders(new Date(last + DAY_MS))}`;
  const out: DigestKeyLists = { standard: [], backfill: [], others: [], later: [], odd: [], listedTo: startAfter };
  for await (const entry of options.source.list(options.bucket, folder, startAfter)) {
    const key = entry.key;
    if (key >= stopAt) break;
    out.listedTo = key;
    // An unreadable entry named as a digest stays in its chain: reading it is the finding (DIGEST_UNREADABLE).
    const parsed = key.endsWith('/') ? undefined : digestKeyParts(key);
    if (!parsed || !sameFolder(parsed, trail)) {
      out.odd.push(entry.unreadable === undefined ? { key } : { key, unreadable: entry.unreadable });
      continue;
    }
    const mine = isMine(parsed, trail);
    const t = parsed.endTime.getTime();
    if (t > last) {
      if (mine && !parsed.backfill) out.later.push(key);
      continue;
    }
    if (t < first) continue;
    if (!mine) {
      if (!parsed.backfill) out.others.push(key);
    } else (parsed.backfill ? out.backfill : out.standard).push(key);
  }
  return out;
}

/**
 * The keys named like standard digests of the trail after `after`, oldest first, listed lazily
 * (a caller stops at the first that verifies).
 * @param source - where to list
 * @param bucket - the bucket
 * @param trail - the trail and region
 * @param after - list keys after this one
 * @yields the keys
 */
export async function* laterDigestKeys(source: ObjectSource, bucket: string, trail: TrailRef, after: string): AsyncGenerator<string> {
  for await (const { key } of source.list(bucket, digestFolder(trail), after)) {
    const parsed = key.endsWith('/') ? undefined : digestKeyParts(key);
    if (parsed && sameFolder(parsed, trail) && isMine(parsed, trail) && !parsed.backfill) yield key;
  }
}

/** What a trail region's digest folder holds from a time on: see {@link trailsInFolder}. */
export interface FolderTrails {
  /** Names of the other trails with digests there, sorted. */
  others: string[];
  /** Whether a digest of the trail itself was seen. */
  own: boolean;
}

/**
 * The trails whose digests lie in a trail region's digest folder from the date folder of
 * `from` on: what a run that found no digest of its trail tells its user, so that a mistyped
 * trail name shows as one. Bounded: at most `maxKeys` keys are listed (one S3 page).
 *
 * @param source - where to list
 * @param bucket - the bucket
 * @param trail - the trail and region
 * @param from - list from this time's date folder on
 * @param maxKeys - most keys listed
 * @returns the other trails' names, and whether the trail's own digests were seen
 */
export async function trailsInFolder(source: ObjectSource, bucket: string, trail: TrailRef, from: Date, maxKeys = 1000): Promise<FolderTrails> {
  const folder = digestFolder(trail);
  const others = new Set<string>();
  let own = false;
  let listed = 0;
  for await (const { key } of source.list(bucket, folder, `${folder}${formatDateFolders(new Date(from.getTime() - 60_000))}`)) {
    if (++listed > maxKeys) break;
    const parsed = key.endsWith('/') ? undefined : digestKeyParts(key);
    if (!parsed || !sameFolder(parsed, trail)) continue;
    if (isMine(parsed, trail)) own = true;
    else others.add(parsed.trailName);
  }
  return { others: [...others].sort(), own };
}

/** Digests tried, newest first, for the bucket's name: one unreadable digest must not leave the whole run without it. */
const BUCKET_PROBES = 3;

/**
 * The bucket named by the newest readable digest of a trail region in range (`digestS3Bucket`):
 * what a copy of a bucket was copied from, when nobody says. Reads at most three digests, newest
 * first: an unreadable or malformed one (which the walk reports) does not leave the run without it.
 *
 * @param source - a source holding any bucket (the bucket name is not known yet)
 * @param trail - the trail and region
 * @param start - start of the range
 * @param end - end of the range
 * @param maxBytes - cap on the digest's uncompressed size
 * @returns the bucket, or undefined when there is no digest in range or the newest is not a readable digest (the walk reports it)
 */
export async function bucketOfNewestDigest(source: ObjectSource, trail: TrailRef, start: Date, end: Date, maxBytes: number = 64 * 1024 * 1024): Promise<string | undefined> {
  const { standard, backfill } = await listDigestKeys({ source, bucket: '', trail, start, end });
  const newestFirst = [...standard.slice(-BUCKET_PROBES).reverse(), ...backfill.slice(-BUCKET_PROBES).reverse()];
  for (const key of newestFirst.slice(0, BUCKET_PROBES)) {
    try {
      const obj = await source.get('', key);
      if (!obj) continue;
      return parseDigest(await readAll(obj.body, { gzip: true, maxBytes, what: key }), key).record.digestS3Bucket;
    } catch (e) {
      if (!(e instanceof ValidateLogsError)) throw e;
      // the walk itself reports the digest as invalid or unreadable; try the one before it
    }
  }
  return undefined;
}

/** A log file found in storage. */
export interface LogEntry {
  /** Its key. */
  key: string;
  /** Delivery time from its name (minute precision), in ms. */
  time: number;
}

/**
 * The trail region's log files whose delivery time (from the key, as CloudTrail names it) is in
 * [from, to], oldest first.
 *
 * @param source - where to list
 * @param bucket - the bucket
 * @param trail - the trail and region
 * @param from - earliest delivery time
 * @param to - latest delivery time (Infinity for no limit)
 * @returns the log files
 */
export async function listLogs(source: ObjectSource, bucket: string, trail: TrailRef, from: number, to: number): Promise<LogEntry[]> {
  // The one listing walk is the inventory's; this gives its entries with their keys.
  const inventory = await LogInventory.load(source, bucket, trail, from, to);
  return Array.from({ length: inventory.size }, (_, i) => ({ key: inventory.keyAt(i), time: inventory.timeAt(i) }));
}
