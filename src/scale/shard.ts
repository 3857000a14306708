/**
 * Validating one shard: the chain walk over the shard's window (reaching past its end to the
 * next two digests, so that the digests it owns are checked against their successors), the
 * findings it owns, and its boundary: what the merge needs to join it to its neighbours.
 * @module
 */
import { Tally, type Summary } from '../chain/report.js';
import { listDigestKeys, listLogs } from '../chain/listing.js';
import { DEFAULT_MAX_DIGEST_BYTES, type VerifyOptions } from '../chain/verifier.js';
import { verifyTrail } from '../parallel/verify.js';
import type { CoverageMap } from '../chain/coverage.js';
import type { Finding, FindingCode } from '../chain/findings.js';
import type { PublicKeyInfo, PublicKeySet } from '../crypto/keys.js';
import { ValidateLogsError } from '../errors.js';
import { parseDigest } from '../format/digest.js';
import { digestFolder, digestKey, digestKeyParts, logKeyParts, type TrailRef } from '../format/keys.js';
import { DIGEST_PERIOD_MS } from '../format/time.js';
import { readAll } from '../hash/hash-stream.js';
import type { FetchedObject, ListedObject, ListOptions, ObjectSource } from '../sources/source.js';
import { ownership, shardTrail, type ShardItem } from './manifest.js';
import { copyBytes } from '../utils.js';

/** A digest's link to the previous digest of its chain. */
export interface DigestLink {
  /** The previous digest's bucket. */
  bucket: string;
  /** The previous digest's key. */
  key: string;
  /** The previous digest's SHA-256 (hex, lower case), as the link records it. */
  sha256: string;
  /** The previous digest's signature (hex, lower case), as the link records it. */
  signature: string;
}

/** A digest at the edge of a shard, read again after the walk. */
export interface BoundaryDigest {
  /** Its key. */
  key: string;
  /** The code this shard's walk gave it (absent when the walk did not reach it). */
  code?: FindingCode;
  /** Why it could not be read or parsed, when it could not. */
  error?: string;
  /** Its `digestStartTime`. */
  startTime?: string;
  /** Its `digestEndTime`. */
  endTime?: string;
  /** Hex SHA-256 of its uncompressed bytes. */
  sha256?: string;
  /** Its signature from its metadata, when it has some. */
  signature?: string;
  /** Its link to the previous digest (null for a starting digest). */
  previous?: DigestLink | null;
}

/** What the merge needs to join a shard to its neighbours. */
export interface ShardBoundary {
  /** The oldest standard digest the shard owns (listed in its window). */
  oldest?: BoundaryDigest;
  /** The newest standard digest the shard owns. */
  newest?: BoundaryDigest;
  /**
   * Log files the shard owns delivered before its oldest digest or within the hour before its
   * newest one and after (all of them when it has none): `[minute since the epoch, count]`,
   * so that the merge counts the log files of a hole or a gap across shards.
   */
  logMinutes: Array<[number, number]>;
  /**
   * Where the shard's walk found the chain vouching for logs (signed and accounted windows,
   * gaps, its newest verified digest), for the merge to judge unlisted logs over the whole chain.
   */
  coverage?: CoverageMap;
  /**
   * Log files the shard owns that no digest lists, reported or not: the merge judges each
   * against the whole chain ({@link unreferencedReason}) and reports those a single run would.
   */
  unlisted?: string[];
}

/** The report of one shard. */
export interface ShardReport {
  /** Always `validate-logs`. */
  tool: 'validate-logs';
  /** Always `shard`. */
  kind: 'shard';
  /** The shard, as the manifest gave it. */
  shard: ShardItem;
  /** The findings the shard owns, in the walk's order. */
  findings: Finding[];
  /** Their summary (found times clipped to the shard's window). */
  summary: Summary;
  /** The shard's edges. */
  boundary: ShardBoundary;
}

/** Options of {@link runShard}. */
export interface ShardRunOptions extends Pick<VerifyOptions, 'concurrency' | 'platform' | 'maxLogBytes' | 'tailGraceMs' | 'signal'> {
  /** The shard. */
  item: ShardItem;
  /** Where the chain's objects are read from. */
  source: ObjectSource;
  /** Public keys of the shard's region. */
  keys: PublicKeySet;
  /** More keys when a fingerprint is unknown (online: ListPublicKeys). */
  fetchKeys?: (from: Date, to: Date) => Promise<Iterable<PublicKeyInfo>>;
}

/**
 * The end of the walk for a shard that is not its chain's last: one hour past its window, or
 * further, to reach the next two digests of the chain after it (bounded by the chain's end);
 * the chain's end when no digest follows the window.
 */
async function walkEnd(source: ObjectSource, bucket: string, trail: TrailRef, end: number, chainEnd: number): Promise<number> {
  const home = trail.homeRegion ?? trail.region;
  const found: number[] = [];
  for await (const { key } of source.list(bucket, digestFolder(trail), digestKey(trail, new Date(end - 60_000)))) {
    const p = digestKeyParts(key);
    if (!p || p.backfill || p.trailName !== trail.trailName || p.homeRegion !== home || p.region !== trail.region) continue;
    const t = p.endTime.getTime();
    if (t > chainEnd + DIGEST_PERIOD_MS) break;
    if (t >= end) found.push(t);
    if (found.length === 2) break;
  }
  // No digest after the window: the chain's newest digest is here or before, and the logs after
  // it are judged, and a deleted tail seen, against the end of the chain, as a single run does.
  if (found.length === 0) return chainEnd;
  return Math.min(chainEnd, Math.max(end + DIGEST_PERIOD_MS, found.at(-1)! - DIGEST_PERIOD_MS));
}

/** Read a digest again for the boundary: hash, signature, link. Never throws for bad content. */
async function readBoundary(source: ObjectSource, bucket: string, key: string, code: FindingCode | undefined): Promise<BoundaryDigest> {
  const out: BoundaryDigest = { key, ...(code && { code }) };
  try {
    const obj = await source.get(bucket, key, { metadata: true });
    if (!obj) return { ...out, error: 'not found when read again' };
    const d = parseDigest(await readAll(obj.body, { gzip: true, maxBytes: DEFAULT_MAX_DIGEST_BYTES, what: key }), key);
    const r = d.record;
    return {
      ...out,
      startTime: r.digestStartTime,
      endTime: r.digestEndTime,
      sha256: d.sha256,
      ...(obj.metadata?.signature !== undefined && { signature: obj.metadata.signature.toLowerCase() }),
      previous: d.isStarting
        ? null
        : { bucket: r.previousDigestS3Bucket!, key: r.previousDigestS3Object!, sha256: r.previousDigestHashValue!.toLowerCase(), signature: r.previousDigestSignature!.toLowerCase() },
    };
  } catch (e) {
    if (e instanceof ValidateLogsError && e.code !== 'SOURCE_ERROR') return { ...out, error: e.message };
    throw e;
  }
}

/**
 * The shard's view of storage: log files listed only by digests the shard does not own are
 * not read (as if absent: those findings are the next shard's and are dropped). Digests pass
 * through whole and are parsed on the way to learn what they list.
 */
class OverlapSource implements ObjectSource {
  /** Log files not read. */
  readonly skipped: Set<string> = new Set();
  /** Log files listed by digests the shard does not own (and by none it owns, so far). */
  readonly #foreign = new Set<string>();
  readonly #inner: ObjectSource;
  readonly #bucket: string;
  readonly #owns: (t: number) => boolean;

  constructor(inner: ObjectSource, bucket: string, owns: (t: number) => boolean) {
    this.#inner = inner;
    this.#bucket = bucket;
    this.#owns = owns;
  }

  list(bucket: string, prefix: string, startAfter?: string, options?: ListOptions): AsyncIterable<ListedObject> {
    return this.#inner.list(bucket, prefix, startAfter, options);
  }

  async get(bucket: string, key: string, options?: { metadata?: boolean }): Promise<FetchedObject | undefined> {
    const t = digestKeyParts(key)?.endTime.getTime();
    if (t === undefined) {
      if (bucket === this.#bucket && this.#foreign.has(key)) {
        this.skipped.add(key);
        return undefined;
      }
      return this.#inner.get(bucket, key, options);
    }
    const obj = await this.#inner.get(bucket, key, options);
    return obj && { ...obj, body: this.#learn(obj.body, this.#owns(t)) };
  }

  async *#learn(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, owned: boolean): AsyncGenerator<Uint8Array> {
    const copy: Uint8Array[] = [];
    for await (const chunk of body) {
      copy.push(copyBytes(chunk)); // a chunk is valid until the next one is asked for
      yield chunk;
    }
    let listed: string[];
    try {
      const d = parseDigest(await readAll(copy, { gzip: true, maxBytes: DEFAULT_MAX_DIGEST_BYTES }));
      listed = d.record.logFiles.filter((l) => l.s3Bucket === this.#bucket).map((l) => l.s3Object);
    } catch (e) {
      if (e instanceof ValidateLogsError) return; // a digest that does not parse lists nothing (the walk reports it)
      throw e;
    }
    for (const k of listed) {
      if (!owned) this.#foreign.add(k);
      else this.#foreign.delete(k);
    }
  }
}

/**
 * The time that decides which shard owns a finding: a digest's key time; for a log file, the
 * key time of the digest listing it; undefined when the finding names no time (kept by the
 * shard that made it). Logs no digest lists are judged by the merge.
 * @param f - the finding
 * @returns the time (ms), or undefined
 */
export function findingTime(f: Finding): number | undefined {
  const at = (key: string | undefined): number | undefined => (key === undefined ? undefined : digestKeyParts(key)?.endTime.getTime());
  const digestKeyOf = (uri: string | undefined): string | undefined => uri?.replace(/^s3:\/\/[^/]*\//, '');
  return f.kind === 'log' ? at(digestKeyOf(f.digest)) : (at(f.key) ?? at(digestKeyOf(f.digest)));
}

/**
 * Validate one shard and report what it owns, with its boundary.
 *
 * @param options - the shard, the source, the keys
 * @returns the shard's report
 * @throws ValidateLogsError when storage fails (the run can be retried as a whole: it writes nothing)
 * @example
 * ```ts
 * const report = await runShard({ item: manifest[3], source: new LocalDirectory(dir, { bucket }), keys });
 * ```
 */
export async function runShard(options: ShardRunOptions): Promise<ShardReport> {
  const { item, source } = options;
  const trail = shardTrail(item);
  const start = new Date(item.start);
  const end = Date.parse(item.end);
  const chainEnd = Date.parse(item.chainEnd);
  const last = item.part === item.parts - 1;
  const owns = ownership(item);
  const until = new Date(last ? end : await walkEnd(source, item.bucket, trail, end, chainEnd));

  // The digests past the window are read for their links; their own log files are not read
  // (their findings belong to the next shard). Should a digest this shard owns list one of
  // those log files too, the walk is run again reading everything.
  const skipping = last ? undefined : new OverlapSource(source, item.bucket, owns.digest);
  let walked = await walk(skipping ?? source);
  if (skipping && walked.findings.some((f) => f.kind === 'log' && skipping.skipped.has(f.key))) walked = await walk(source);
  const { findings, tally, coverage, unlisted } = walked;

  async function walk(from: ObjectSource): Promise<{ findings: Finding[]; tally: Tally; coverage?: CoverageMap; unlisted: string[] }> {
    const findings: Finding[] = [];
    const tally = new Tally(start, new Date(end));
    let coverage: CoverageMap | undefined;
    const unlisted: string[] = [];
    let keptTail = false;
    for await (const f of verifyTrail({
      source: from,
      bucket: item.bucket,
      trail,
      keys: options.keys,
      start,
      end: until,
      ...(options.fetchKeys && { fetchKeys: options.fetchKeys }),
      ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
      ...(options.platform && { platform: options.platform }),
      ...(options.maxLogBytes !== undefined && { maxLogBytes: options.maxLogBytes }),
      ...(options.tailGraceMs !== undefined && { tailGraceMs: options.tailGraceMs }),
      ...(options.signal && { signal: options.signal }),
      onUnlisted: (map, logs) => {
        coverage = map;
        for (const { key, time } of logs) if (owns.log(time) && time <= chainEnd) unlisted.push(key);
      },
    })) {
      // Whether a log no digest lists is reported depends on the whole chain: the merge judges it;
      // but one after the chain's end belongs to the deleted tail of the shard that reports it.
      if (f.code === 'LOG_UNREFERENCED' && !(keptTail && (logKeyParts(f.key)?.deliveryTime.getTime() ?? 0) > chainEnd)) continue;
      const at = findingTime(f);
      if (at !== undefined && !owns.digest(at)) continue;
      if (f.code === 'CHAIN_TAIL_MISSING') keptTail = true;
      findings.push(f);
      tally.add(f);
    }
    return { findings, tally, ...(coverage && { coverage }), unlisted };
  }

  // The edges: the oldest and newest digests owned, read again, and the log files around them.
  const lists = await listDigestKeys({ source, bucket: item.bucket, trail, start, end: until });
  const owned = lists.standard.filter((k) => owns.digest(digestKeyParts(k)!.endTime.getTime()));
  const codeOf = (key: string): FindingCode | undefined => findings.find((f) => f.kind === 'digest' && !f.backfill && f.key === key)?.code;
  const boundary: ShardBoundary = { logMinutes: [], ...(coverage && { coverage }), unlisted };
  // Log files a newer shard's merge may count (a hole or a gap reaching into this window):
  // from the window's start (an hour earlier for the first shard, as a single run lists them).
  const edges: Array<[number, number]> = [];
  const logFrom = start.getTime() - (item.part === 0 ? DIGEST_PERIOD_MS : 0);
  if (owned.length === 0) {
    if (!last) edges.push([logFrom, end - 1]);
  } else {
    const oldest = owned[0]!;
    const newest = owned.at(-1)!;
    [boundary.oldest, boundary.newest] = await Promise.all([
      readBoundary(source, item.bucket, oldest, codeOf(oldest)),
      readBoundary(source, item.bucket, newest, codeOf(newest)),
    ]);
    const tOldest = digestKeyParts(oldest)!.endTime.getTime();
    const tNewest = digestKeyParts(newest)!.endTime.getTime();
    if (item.part > 0) edges.push([logFrom, tOldest - 1]);
    if (!last) edges.push([Math.max(tNewest - DIGEST_PERIOD_MS, logFrom), end - 1]);
  }
  const minutes = new Map<number, number>();
  for (const [from, to] of joinRanges(edges)) {
    for (const { time } of await listLogs(source, item.bucket, trail, from, to)) {
      const m = time / 60_000;
      minutes.set(m, (minutes.get(m) ?? 0) + 1);
    }
  }
  boundary.logMinutes = [...minutes].sort((a, b) => a[0] - b[0]);
  return { tool: 'validate-logs', kind: 'shard', shard: item, findings, summary: tally.summary(), boundary };
}

/** Ranges `[from, to]` (inclusive), sorted, overlapping ones joined, empty ones dropped. */
function joinRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [a, b] of ranges.filter(([a, b]) => a <= b).sort((x, y) => x[0] - y[0])) {
    const prev = out.at(-1);
    if (prev && a <= prev[1] + 1) prev[1] = Math.max(prev[1], b);
    else out.push([a, b]);
  }
  return out;
}
