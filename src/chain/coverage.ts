/**
 * Coverage: after the walks, account for every object the listings found in range. Log files no
 * verified digest lists (injected, withheld, delivered in a gap, before the oldest digest, or
 * after the newest one once their digest was due), a deleted tail, listed digests the walk never
 * reached, later digest names that do not verify, and any other object in the trail's folders.
 * @module
 */
import { s3Uri } from '../format/keys.js';
import { DIGEST_PERIOD_MS } from '../format/time.js';
import type { ListedObject } from '../sources/source.js';
import { digestKeyTime, iso, type DigestRef } from './check-digest.js';
import { LOG_WINDOW_MARGIN_MS } from './log-verdict.js';
import { finding, type Finding } from './findings.js';
import { laterDigestKeys, type DigestKeyLists } from './listing.js';
import type { DigestReader, WalkContext, WalkRecord } from './walk.js';

/** What the coverage step works from. */
export interface CoverageInput {
  /** The walk's context (source, trail, inventory). */
  ctx: WalkContext;
  /** Reads and checks digests. */
  reader: DigestReader;
  /** The listings. */
  lists: DigestKeyLists;
  /** What the walks found out. */
  record: WalkRecord;
  /** End of the range, in ms. */
  end: number;
  /** Logs this long after the newest digest, with no later digest, mean a deleted tail. */
  tailGraceMs: number;
  /** When CloudTrail says the trail last delivered a digest (GetTrailStatus). */
  latestDigestDelivery?: Date | undefined;
  /** Whether the logs were listed. */
  inventory: boolean;
  /** Lists the logs after the range (for the tail), once. */
  listTail: () => Promise<void>;
  /** Whether the backfill chain was walked. */
  backfill: boolean;
  /** Given the coverage map and every log in range that no digest lists (the verifier's `onUnlisted` option). */
  onUnlisted?: ((map: CoverageMap, logs: Array<{ key: string; time: number }>) => void) | undefined;
}

/**
 * The coverage findings, in this order: later digest names that do not verify (when the tail
 * is in question), `CHAIN_TAIL_MISSING`, `LOG_UNREFERENCED` per log (in range, then those after
 * it that show the tail deleted), `DIGEST_UNREACHED` per
 * listed digest never walked, then `OBJECT_UNEXPECTED` / `OBJECT_UNREADABLE` per other object.
 * @param input - what the walks left
 * @yields the findings
 */
export async function* coverage(input: CoverageInput): AsyncGenerator<Finding> {
  const { ctx, lists, record } = input;
  const { inventory, bucket } = ctx;
  const newest = record.newest;
  const newestEnd = newest?.digest.endTime.getTime();

  // A later digest ends the question of a deleted tail, once read and verified: a name is not
  // evidence. Later names are read in order until one verifies; each that does not is reported.
  const laterVerified = newest ? yield* verifyLater(input) : false;
  if (input.inventory && !laterVerified) await input.listTail();

  let tail: Finding | undefined;
  if (newest && newestEnd !== undefined && !laterVerified) {
    tail = tailFinding(input, newest.key, newestEnd);
    if (tail) yield tail;
  }

  if (input.inventory) yield* unreferenced(input, newestEnd);
  // The logs that show the tail deleted, delivered after the range: each its own finding too.
  if (tail && input.inventory && newestEnd !== undefined) yield* afterTail(input, newestEnd);

  for (const [listed, backfill] of [[lists.standard, false], ...(input.backfill ? [[lists.backfill, true]] : [])] as Array<[string[], boolean]>) {
    for (const key of listed) {
      const uri = s3Uri(bucket, key);
      if (record.visited.has(uri)) continue;
      yield finding('DIGEST_UNREACHED', {
        kind: 'digest',
        object: uri,
        bucket,
        key,
        message: 'listed in range, but the chain walk never reached it: no link leads to it (a link skips it, or a loop bypasses it); not verified',
        backfill,
        ...(digestKeyTime(key) !== undefined && { endTime: iso(digestKeyTime(key)!) }),
      });
    }
  }

  for (const [odd, where] of [[lists.odd, 'digest'], [inventory.odd, 'log']] as Array<[readonly ListedObject[], string]>) {
    for (const o of odd) yield oddFinding(bucket, o, where);
  }
}

/** Read later digests in order until one verifies; report each that does not. */
async function* verifyLater(input: CoverageInput): AsyncGenerator<Finding, boolean> {
  const { ctx, reader, lists } = input;
  const { bucket, trail } = ctx;
  const names = (async function* () {
    yield* lists.later;
    yield* laterDigestKeys(ctx.source, bucket, trail, lists.listedTo);
  })();
  const it = names[Symbol.asyncIterator]();
  let next = await it.next();
  while (!next.done) {
    const ref: DigestRef = { bucket, key: next.value };
    next = await it.next();
    let verdict = await reader.load(ref, false, undefined);
    if (verdict.finding.code === 'DIGEST_SIGNATURE_MISSING' && !next.done) {
      // A copy without metadata: the next digest's link carries this one's signature.
      const ahead = await reader.load({ bucket, key: next.value }, false, undefined);
      const d = ahead.digest;
      if (d && d.record.previousDigestS3Bucket === bucket && d.record.previousDigestS3Object === ref.key) verdict = await reader.load(ref, false, d);
    }
    if (verdict.finding.code === 'DIGEST_VALID') {
      await it.return?.(undefined);
      return true;
    }
    yield { ...verdict.finding, message: `${verdict.finding.message} (named as a later digest of the trail: it is not one, so it cannot show that the chain goes on)` };
  }
  return false;
}

/** A deleted tail: CloudTrail says it delivered a later digest, or logs came well after the newest digest. */
function tailFinding(input: CoverageInput, newestKey: string, newestEnd: number): Finding | undefined {
  const { ctx, end, tailGraceMs } = input;
  const { inventory, bucket } = ctx;
  const tail = (message: string, expected: string, actual: string): Finding =>
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
      ...(input.inventory && { logs: inventory.count(newestEnd + 1, Number.POSITIVE_INFINITY) }),
    });
  const status = input.latestDigestDelivery;
  if (status && status.getTime() > newestEnd + DIGEST_PERIOD_MS) {
    return tail(
      `CloudTrail reports a digest delivered at ${iso(status.getTime())} (GetTrailStatus), but the newest digest found ends ${iso(newestEnd)}`,
      `a digest file delivered at ${iso(status.getTime())}`,
      s3Uri(bucket, newestKey),
    );
  }
  if (!input.inventory) return undefined;
  // The first log after the newest digest whose digest was due: in range once its hour and the
  // grace have passed by the end of the range, or more than the grace after the newest digest.
  for (let i = inventory.indexOf(newestEnd + 1); i < inventory.size; i++) {
    if (inventory.listed(i)) continue;
    const t = inventory.timeAt(i);
    if (!(t > newestEnd + tailGraceMs || dueBy(t, newestEnd) + tailGraceMs <= end)) continue;
    const late = inventory.size - i;
    return tail(
      `${late} log files were delivered after the newest digest (which ends ${iso(newestEnd)}), the first at ${iso(t)} ` +
        `(${s3Uri(bucket, inventory.keyAt(i))}), whose digest was due by ${iso(dueBy(t, newestEnd))}`,
      `a digest file after ${iso(newestEnd)}`,
      s3Uri(bucket, inventory.keyAt(i)),
    );
  }
  return undefined;
}

/**
 * The log files after the end of the range that show a deleted tail (delivered more than the
 * grace after the newest digest): `LOG_UNREFERENCED` each, as those in range are.
 */
function* afterTail(input: CoverageInput, newestEnd: number): Generator<Finding> {
  const { inventory, bucket } = input.ctx;
  for (let i = inventory.indexOf(Math.max(input.end, newestEnd + input.tailGraceMs) + 1); i < inventory.size; i++) {
    if (inventory.listed(i)) continue;
    const key = inventory.keyAt(i);
    const message =
      `delivered at ${iso(inventory.timeAt(i))}, after the range but more than the tail grace after the newest digest (which ends ${iso(newestEnd)}), ` +
      `and no later digest exists: delivered after a deleted tail of the chain, no digest vouches for it`;
    yield finding('LOG_UNREFERENCED', { kind: 'log', object: s3Uri(bucket, key), bucket, key, message, backfill: false });
  }
}

/** The end of the hourly digest that should list a log delivered at `t`, after a digest ending at `newestEnd`. */
function dueBy(t: number, newestEnd: number): number {
  return newestEnd + Math.max(1, Math.ceil((t + 60_000 - newestEnd) / DIGEST_PERIOD_MS)) * DIGEST_PERIOD_MS;
}

/**
 * Where a trail region's verified chains vouch for log files, and where not: what decides
 * whether a log file no digest lists is reported. Times in ms; intervals `[from, to]`.
 */
export interface CoverageMap {
  /** Windows of digests whose signature verified (their logs were checked), merged ({@link mergeSpans}). */
  signed: Array<[number, number]>;
  /** Windows accounted for by a finding about their digest (an invalid or missing digest), merged ({@link mergeSpans}). */
  accounted: Array<[number, number]>;
  /** Gaps between segments of a chain: no digest covers them. */
  gaps: Array<[number, number]>;
  /** End of the newest standard digest whose signature verified, when there is one. */
  newestEnd?: number;
  /** End of the range. */
  end: number;
  /** Grace for a digest to arrive after its hour. */
  tailGraceMs: number;
}

/**
 * Why a log file delivered at `t` that no digest lists is reported (`LOG_UNREFERENCED`), or
 * undefined when it is not: a finding about its digest accounts for it, a digest just outside
 * the range may list it, or its digest is not due yet.
 * @param map - where the chains vouch for logs
 * @param t - the log's delivery time (ms)
 * @returns the finding's message, or undefined
 */
export function unreferencedReason(map: CoverageMap, t: number): string | undefined {
  const M = LOG_WINDOW_MARGIN_MS;
  const { newestEnd } = map;
  const { signed, accounted } = map;
  const oldest = Math.min(signed[0]?.[0] ?? Infinity, accounted[0]?.[0] ?? Infinity);
  const inside = (spans: Array<[number, number]>, margin: number): [number, number] | undefined => spans.find(([a, b]) => t >= a - margin && t <= b + margin);
  if (inside(accounted, M) && !inside(signed, -M)) return undefined; // a finding about its digest accounts for it
  if (newestEnd !== undefined && t > newestEnd - M) {
    if (t <= newestEnd + M) return undefined; // may be listed by the next digest
    const due = dueBy(t, newestEnd);
    if (due + map.tailGraceMs <= map.end) {
      return `delivered at ${iso(t)}, after the newest digest (which ends ${iso(newestEnd)}); the digest listing it was due by ${iso(due)}: no digest vouches for it`;
    }
    // What shows a deleted tail shows each such log too: the digests after the newest are gone.
    return t > newestEnd + map.tailGraceMs
      ? `delivered at ${iso(t)}, more than the tail grace after the newest digest (which ends ${iso(newestEnd)}), and no later digest lists it: ` +
          `delivered after a deleted tail of the chain, no digest vouches for it`
      : undefined;
  }
  if (Math.abs(t - oldest) <= M) return undefined; // may be listed by the digest before the range
  if (inside(signed, 0)) return `not listed in any digest, though delivered at ${iso(t)}, inside the time the digests cover: injected, or withheld from the digests`;
  const gap = map.gaps.find(([a, b]) => t >= a && t <= b);
  if (gap) return `delivered at ${iso(t)}, inside a gap of the chain (no digest covers ${iso(gap[0])} to ${iso(gap[1])}): no digest vouches for it`;
  return t < oldest && Number.isFinite(oldest)
    ? `delivered at ${iso(t)}, before the oldest digest in range (which starts ${iso(oldest)}): no digest vouches for it`
    : `delivered at ${iso(t)}, where no verified digest covers it: no digest vouches for it`;
}

/** Log files in range that no verified digest lists and no finding about a digest accounts for. */
async function* unreferenced(input: CoverageInput, newestEnd: number | undefined): AsyncGenerator<Finding> {
  const { ctx, lists, record, end, tailGraceMs } = input;
  const { inventory, bucket, start } = ctx;
  const map: CoverageMap = { signed: mergeSpans(record.signed), accounted: mergeSpans(record.accounted), gaps: [...record.gaps], end, tailGraceMs, ...(newestEnd !== undefined && { newestEnd }) };
  let unlisted: number[] = [];
  for (let i = inventory.indexOf(start); i < inventory.size && inventory.timeAt(i) <= end; i++) if (!inventory.listed(i)) unlisted.push(i);
  let candidates: Array<[number, string]> = [];
  for (const i of unlisted) {
    const message = unreferencedReason(map, inventory.timeAt(i));
    if (message) candidates.push([i, message]);
  }
  if ((candidates.length > 0 || (input.onUnlisted && unlisted.length > 0)) && lists.others.length > 0) {
    // Several trails may deliver into one prefix: a log listed by another trail's valid digest is referenced.
    for (const key of lists.others) {
      ctx.signal?.throwIfAborted();
      const other = await input.reader.load({ bucket, key }, false, undefined);
      if (other.signed && other.digest) for (const l of other.digest.record.logFiles) if (l.s3Bucket === bucket) inventory.mark(l.s3Object);
    }
    candidates = candidates.filter(([i]) => !inventory.listed(i));
    unlisted = unlisted.filter((i) => !inventory.listed(i));
  }
  input.onUnlisted?.(
    map,
    unlisted.map((i) => ({ key: inventory.keyAt(i), time: inventory.timeAt(i) })),
  );
  for (const [i, message] of candidates) {
    const key = inventory.keyAt(i);
    yield finding('LOG_UNREFERENCED', { kind: 'log', object: s3Uri(bucket, key), bucket, key, message, backfill: false });
  }
}

function oddFinding(bucket: string, o: ListedObject, where: string): Finding {
  const base = { kind: 'object' as const, object: s3Uri(bucket, o.key), bucket, key: o.key, backfill: false };
  return o.unreadable !== undefined
    ? finding('OBJECT_UNREADABLE', { ...base, message: `in the trail's ${where} folders, but cannot be read: ${o.unreadable}; not verified` })
    : finding('OBJECT_UNEXPECTED', {
        ...base,
        message: `in the trail's ${where} folders, but not a CloudTrail ${where} file name of this account and region (or its time is not its folder's date): planted, or misplaced; not verified`,
      });
}

/**
 * Merge time intervals that overlap or touch, sorted: the form a {@link CoverageMap} holds them in,
 * so that judging each log is no more than a scan.
 * @param intervals - [start, end] pairs in ms, any order
 * @returns the merged intervals, oldest first
 */
export function mergeSpans(intervals: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
