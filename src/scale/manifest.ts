/**
 * Shards of an organization's digest chains: the manifest line a worker gets (one shard: one
 * chain, one time window), how a chain's window is cut, and which shard owns which object, so
 * that shards that overlap never report an object twice. Pure: no I/O.
 *
 * A chain splits at any digest, since each link pins its predecessor's hash and signature. A
 * shard validates its window `[start, end)` and reads a little past `end` (the next two digests),
 * so that the newest digests it owns are checked against the digests that link to them, exactly
 * as a single run checks them; it reports only what it owns:
 *
 * - a digest (and the log files it lists) by the time in its key: `start <= t < end`;
 * - a log file no digest lists, by its delivery time: `start <= t < end` (the shard hands it to
 *   the merge, which judges it over the whole chain);
 * - the first shard of a chain also owns everything before its window, the last everything after.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { checkTrailRef, digestFolder, logFolder, type TrailRef } from '../format/keys.js';
import { DIGEST_PERIOD_MS, floorHour, formatDigestTime } from '../format/time.js';

/** Version of the manifest line and shard report formats. */
export const SHARD_FORMAT_VERSION = 1;

/**
 * The environment variables a worker reads its shard index from when `--shard-index` is not
 * given, in order: AWS Batch array jobs set the first, Kubernetes Indexed Jobs the second.
 */
export const SHARD_INDEX_VARIABLES: readonly string[] = Object.freeze(['AWS_BATCH_JOB_ARRAY_INDEX', 'JOB_COMPLETION_INDEX']);

/** One shard: one line of a manifest, everything a worker needs to validate it. */
export interface ShardItem {
  /** Format version ({@link SHARD_FORMAT_VERSION}). */
  v: number;
  /** Identifies the plan (a hash of every line): reports of different plans are never merged. */
  plan: string;
  /** Position in the manifest, from 0: the index a worker is given. */
  index: number;
  /** Number of lines in the manifest. */
  shards: number;
  /** Identifies the chain: bucket, prefix, organization, account, region, trail, home region. */
  chain: string;
  /** Position of this shard in its chain, from 0, oldest first. */
  part: number;
  /** Number of shards of the chain. */
  parts: number;
  /** The bucket. */
  bucket: string;
  /** The trail's key prefix, if any. */
  prefix?: string;
  /** The organization id of an organization trail. */
  organizationId?: string;
  /** The account whose chain this is. */
  accountId: string;
  /** The region that delivered the chain. */
  region: string;
  /** The trail's home region (in its digest keys). */
  homeRegion: string;
  /** The trail's name (in its digest keys). */
  trailName: string;
  /** Start of the shard's window (`YYYY-MM-DDTHH:MM:SSZ`). */
  start: string;
  /** End of the shard's window. */
  end: string;
  /** Start of the whole chain's window: what a single run would be given as `--start-time`. */
  chainStart: string;
  /** End of the whole chain's window: a single run's `--end-time`. */
  chainEnd: string;
  /** Where the chain's digest files are (key prefix). */
  digestFolder: string;
  /** Where the chain's log files are (key prefix). */
  logFolder: string;
  /** Where workers write their reports: a local folder or `s3://BUCKET/PREFIX/`, if the plan says. */
  reports?: string;
}

/** A trail region with its home region known (it is part of the digest keys). */
export interface ChainTrail extends TrailRef {
  /** The region where the trail was created. */
  homeRegion: string;
}

/** A chain found by the planner. */
export interface ChainRef {
  /** The bucket. */
  bucket: string;
  /** The trail and region. */
  trail: ChainTrail;
}

/**
 * The chain id of a trail region: stable, readable, unique within a plan.
 * @param bucket - the bucket
 * @param trail - the trail and region
 * @returns the id
 */
export function chainId(bucket: string, trail: TrailRef): string {
  return [bucket, trail.prefix ?? '', trail.organizationId ?? '', trail.accountId, trail.region, trail.trailName, trail.homeRegion ?? trail.region].join('/');
}

/**
 * Cut a chain's window into shard windows: without `shardHours`, one window; with it, windows
 * that end on multiples of `shardHours` hours after the hour `start` falls in, the last one
 * ending at `end`. Windows abut: each starts where the previous one ends.
 * @param start - start of the chain's window
 * @param end - end of the chain's window
 * @param shardHours - hours per shard
 * @returns the windows, oldest first
 * @throws RangeError when `start` is after `end` or `shardHours` is not a positive whole number
 */
export function cutWindow(start: Date, end: Date, shardHours?: number): Array<[Date, Date]> {
  if (start.getTime() > end.getTime()) throw new RangeError('start must not be after end');
  if (shardHours === undefined) return [[start, end]];
  if (!Number.isSafeInteger(shardHours) || shardHours < 1) throw new RangeError(`shardHours must be a positive whole number, got ${shardHours}`);
  const step = shardHours * DIGEST_PERIOD_MS;
  const out: Array<[Date, Date]> = [];
  let from = start;
  for (let cut = floorHour(start).getTime() + step; cut < end.getTime(); cut += step) {
    out.push([from, new Date(cut)]);
    from = new Date(cut);
  }
  out.push([from, end]);
  return out;
}

/**
 * The manifest of a set of chains, each cut by {@link cutWindow}: one line per shard.
 * @param chains - the chains, in the order their shards are to be listed
 * @param start - start of every chain's window
 * @param end - end of every chain's window
 * @param options - `shardHours`, and `reports` (where workers write their reports)
 * @returns the manifest's lines, as objects
 */
export function planShards(chains: readonly ChainRef[], start: Date, end: Date, options: { shardHours?: number; reports?: string } = {}): ShardItem[] {
  const windows = cutWindow(start, end, options.shardHours);
  const items: Omit<ShardItem, 'plan'>[] = [];
  for (const { bucket, trail } of chains) {
    checkTrailRef(trail);
    windows.forEach(([from, to], part) => {
      items.push({
        v: SHARD_FORMAT_VERSION,
        index: items.length,
        shards: chains.length * windows.length,
        chain: chainId(bucket, trail),
        part,
        parts: windows.length,
        bucket,
        ...(trail.prefix !== undefined && { prefix: trail.prefix }),
        ...(trail.organizationId !== undefined && { organizationId: trail.organizationId }),
        accountId: trail.accountId,
        region: trail.region,
        homeRegion: trail.homeRegion,
        trailName: trail.trailName,
        start: formatDigestTime(from),
        end: formatDigestTime(to),
        chainStart: formatDigestTime(start),
        chainEnd: formatDigestTime(end),
        digestFolder: digestFolder(trail),
        logFolder: logFolder(trail),
        ...(options.reports !== undefined && { reports: options.reports }),
      });
    });
  }
  const plan = planId(items);
  return items.map(({ v, ...rest }) => ({ v, plan, ...rest }));
}

/** What a plan's id covers, in this order: every field but `plan` and `reports` (where reports go is no part of what is validated). */
const PLANNED_FIELDS = ['v', 'index', 'shards', 'chain', 'part', 'parts', 'bucket', 'prefix', 'organizationId', 'accountId', 'region', 'homeRegion', 'trailName', 'start', 'end', 'chainStart', 'chainEnd', 'digestFolder', 'logFolder'];

/** The id of a plan's lines. */
function planId(items: ReadonlyArray<Omit<ShardItem, 'plan'>>): string {
  return fnv(items.map((i) => JSON.stringify(i, PLANNED_FIELDS)).join('\n'));
}

/**
 * Check that shards are a whole plan, as planned: the plan id each names is the hash of them all
 * (a shard edited, added, dropped or taken from another plan, a manifest edited by hand, all change it).
 * @param items - every shard of the plan, in index order
 * @param what - names the shards in messages
 * @throws ValidateLogsError `SHARD_INVALID` when they are not
 */
export function checkPlan(items: readonly ShardItem[], what: string): void {
  const plan = items[0]?.plan;
  if (plan === undefined || items.some((i) => i.plan !== plan) || planId(items) !== plan) {
    throw new ValidateLogsError('SHARD_INVALID', `${what} are not the plan they name (plan ${plan ?? 'none'}): a shard was edited, dropped or added, or taken from another plan (or made by an earlier validate-logs, whose plan id also covered "reports": plan again)`);
  }
}

/**
 * The first field two shards differ in (`reports` aside): a report's shard against its manifest line.
 * @param a - a shard
 * @param b - another
 * @returns the field's name, or undefined when they are the same shard of the same plan
 */
export function differingField(a: ShardItem, b: ShardItem): keyof ShardItem | undefined {
  return (['plan', ...PLANNED_FIELDS] as Array<keyof ShardItem>).find((k) => a[k] !== b[k]);
}

/** FNV-1a (64 bits, as two 32-bit halves) of the plan's lines: an id, not a security measure. */
function fnv(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c ^ (h1 >>> 7), 0x01000193) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/**
 * A manifest as JSON Lines.
 * @param items - the shards
 * @returns the text, one line per shard
 */
export function formatManifest(items: readonly ShardItem[]): string {
  return items.map((i) => JSON.stringify(i) + '\n').join('');
}

const REGION_RE = /^[a-z]{2}(?:-[a-z0-9]+)+-\d+$/;
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/**
 * Check a manifest line (read from storage: hostile until checked).
 * @param value - the parsed line
 * @param what - names the line in messages
 * @returns the shard
 * @throws ValidateLogsError `SHARD_INVALID` naming the field that is wrong
 */
export function checkShardItem(value: unknown, what: string): ShardItem {
  const fail = (why: string): never => {
    throw new ValidateLogsError('SHARD_INVALID', `${what} is not a shard of a validate-logs plan: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object');
  const o = value as Record<string, unknown>;
  const str = (k: string, optional = false): void => {
    if (o[k] === undefined && optional) return;
    if (typeof o[k] !== 'string' || o[k] === '') fail(`"${k}" must be a non-empty string`);
  };
  const int = (k: string, min: number): void => {
    if (typeof o[k] !== 'number' || !Number.isSafeInteger(o[k]) || (o[k] as number) < min) fail(`"${k}" must be a whole number from ${min}`);
  };
  if (o.v !== SHARD_FORMAT_VERSION) fail(`"v" must be ${SHARD_FORMAT_VERSION} (made by another version of validate-logs?)`);
  for (const k of ['plan', 'chain', 'bucket', 'accountId', 'region', 'homeRegion', 'trailName', 'start', 'end', 'chainStart', 'chainEnd', 'digestFolder', 'logFolder']) str(k);
  for (const k of ['prefix', 'organizationId', 'reports']) str(k, true);
  int('index', 0);
  int('shards', 1);
  int('part', 0);
  int('parts', 1);
  const item = o as unknown as ShardItem;
  if (item.index >= item.shards) fail(`"index" ${item.index} is not below "shards" ${item.shards}`);
  if (item.part >= item.parts) fail(`"part" ${item.part} is not below "parts" ${item.parts}`);
  if (!REGION_RE.test(item.region) || !REGION_RE.test(item.homeRegion)) fail('"region" and "homeRegion" must be AWS region names');
  for (const k of ['start', 'end', 'chainStart', 'chainEnd'] as const) {
    if (!TIME_RE.test(item[k]) || Number.isNaN(Date.parse(item[k]))) fail(`"${k}" must be a time like 2025-01-08T00:00:00Z`);
  }
  if (!(item.chainStart <= item.start && item.start <= item.end && item.end <= item.chainEnd)) fail('the window must lie inside the chain\'s window');
  if ((item.part === 0) !== (item.start === item.chainStart) || (item.part === item.parts - 1) !== (item.end === item.chainEnd)) {
    fail('the first and last shards must start and end with the chain');
  }
  try {
    checkTrailRef(shardTrail(item));
  } catch (e) {
    fail((e as Error).message);
  }
  if (item.chain !== chainId(item.bucket, shardTrail(item))) fail('"chain" does not name its bucket, account, region and trail');
  if (item.digestFolder !== digestFolder(shardTrail(item)) || item.logFolder !== logFolder(shardTrail(item))) fail('"digestFolder" or "logFolder" is not where this trail delivers');
  return item;
}

/**
 * Parse a manifest (JSON Lines; blank lines ignored) and check every line.
 * @param text - the manifest
 * @param what - names the manifest in messages
 * @returns the shards, in manifest order
 * @throws ValidateLogsError `SHARD_INVALID` naming the line that is wrong
 */
export function parseManifest(text: string, what: string): ShardItem[] {
  const items: ShardItem[] = [];
  text.split('\n').forEach((line, n) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new ValidateLogsError('SHARD_INVALID', `${what} line ${n + 1} is not JSON: ${(e as Error).message}`);
    }
    items.push(checkShardItem(value, `${what} line ${n + 1}`));
  });
  if (items.length === 0) throw new ValidateLogsError('SHARD_INVALID', `${what} has no shard`);
  items.forEach((item, i) => {
    if (item.index !== i || item.shards !== items.length || item.plan !== items[0]!.plan) {
      throw new ValidateLogsError('SHARD_INVALID', `${what} line ${i + 1}: index ${item.index} of ${item.shards} (plan ${item.plan}) does not fit its place in a manifest of ${items.length} lines`);
    }
  });
  checkPlan(items, `the lines of ${what}`);
  return items;
}

/**
 * The trail and region a shard validates.
 * @param item - the shard
 * @returns the trail
 */
export function shardTrail(item: ShardItem): ChainTrail {
  return {
    accountId: item.accountId,
    region: item.region,
    homeRegion: item.homeRegion,
    trailName: item.trailName,
    ...(item.prefix !== undefined && { prefix: item.prefix }),
    ...(item.organizationId !== undefined && { organizationId: item.organizationId }),
  };
}

/** What a shard reports: objects by time (ms). */
export interface Ownership {
  /** Whether the shard reports a digest whose key names this end time. */
  digest(t: number): boolean;
  /** Whether the shard reports an unreferenced log delivered at this time. */
  log(t: number): boolean;
}

/**
 * Which objects a shard reports (see the module's description): each object of a chain is
 * owned by exactly one of its shards.
 * @param item - the shard
 * @returns the ownership tests
 */
export function ownership(item: ShardItem): Ownership {
  const start = Date.parse(item.start);
  const end = Date.parse(item.end);
  const first = item.part === 0;
  const last = item.part === item.parts - 1;
  return {
    digest: (t) => (first || t >= start) && (last || t < end),
    log: (t) => (first || t >= start) && (last ? t <= end : t < end),
  };
}
