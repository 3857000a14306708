/**
 * What storage holds for a trail region: its digest keys in a time range (by chain), other
 * trails' digests in the same folder, whether later digests exist, and its log files.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { parseDigest } from '../format/digest.js';
import { digestFolder, digestKey, digestKeyParts, type ParsedDigestKey, type TrailRef } from '../format/keys.js';
import { readAll } from '../hash/hash-stream.js';
import type { ObjectSource } from '../sources/source.js';
import { LogInventory } from './inventory.js';

/** The digest keys of a trail region in range, by chain. */
export interface DigestKeyLists {
  /** Keys of the standard chain, oldest first. */
  standard: string[];
  /** Keys of the backfill chain, oldest first. */
  backfill: string[];
  /** Keys of other trails' standard digests in the same folder and range (several trails can share a prefix). */
  others: string[];
  /** Whether the trail has a standard digest later than the range. */
  later: boolean;
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

const sameFolder = (p: ParsedDigestKey, t: TrailRef): boolean =>
  p.accountId === t.accountId && p.region === t.region && p.prefix === t.prefix && p.organizationId === t.organizationId;

/**
 * The digest keys of a trail region's chain in the time range, as the AWS CLI selects them:
 * listed from one minute before `start`, key times in [start, end + 1 h].
 *
 * @param options - source, bucket, trail and range
 * @returns the key lists
 */
export async function listDigestKeys(options: DigestListOptions): Promise<DigestKeyLists> {
  const { trail, start, end } = options;
  const startAfter = digestKey(trail, new Date(start.getTime() - 60_000));
  const last = Math.floor(end.getTime() / 1000) * 1000 + 3_600_000;
  const first = Math.floor(start.getTime() / 1000) * 1000;
  const home = trail.homeRegion ?? trail.region;
  const out: DigestKeyLists = { standard: [], backfill: [], others: [], later: false };
  for await (const { key } of options.source.list(options.bucket, digestFolder(trail), startAfter)) {
    const parsed = digestKeyParts(key);
    if (!parsed || !sameFolder(parsed, trail)) continue;
    const mine = parsed.trailName === trail.trailName && parsed.homeRegion === home;
    const t = parsed.endTime.getTime();
    if (t > last) {
      if (mine && !parsed.backfill) {
        out.later = true;
        break;
      }
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
 * The bucket named by the newest digest of a trail region in range (`digestS3Bucket`): what
 * a copy of a bucket was copied from, when nobody says. Reads that one digest.
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
  const key = standard.at(-1) ?? backfill.at(-1);
  if (!key) return undefined;
  const obj = await source.get('', key);
  if (!obj) return undefined;
  try {
    return parseDigest(await readAll(obj.body, { gzip: true, maxBytes, what: key }), key).record.digestS3Bucket;
  } catch (e) {
    if (e instanceof ValidateLogsError) return undefined;
    throw e;
  }
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
