/**
 * Counting findings into the summary the AWS CLI prints (and the JSON report carries), and
 * merging the results of several regions into one report. Pure: no I/O, nothing printed.
 * @module
 */
import { CHAIN_LEVEL_MEANING, FINDING_CODES, FINDING_SEVERITY, type Finding, type FindingCode, type Severity } from './findings.js';

/** Valid and invalid counts of one kind of object. */
export interface Count {
  /** Objects proven intact. */
  valid: number;
  /** Objects not proven intact. */
  invalid: number;
}

/** The summary of a run. Each object is counted once, as invalid if any finding about it is invalid. */
export interface Summary {
  /** Digest files of the standard chain. */
  digests: Count;
  /** Digest files of the backfill chain. */
  backfillDigests: Count;
  /** Log files. */
  logs: Count;
  /** Other objects found in the trail's folders (findings of kind `object`): never valid. */
  objects: Count;
  /** Number of `CHAIN_GAP` findings. */
  gaps: number;
  /** Findings per code (every finding, so an object with two findings counts under both codes). */
  byCode: Partial<Record<FindingCode, number>>;
  /** Earliest start of a valid digest, clipped to the requested start (ISO), as the AWS CLI reports it. */
  foundStart?: string;
  /** Latest end of a valid digest, clipped to the requested end. */
  foundEnd?: string;
  /** True when no finding is invalid. */
  ok: boolean;
}

/**
 * Codes that follow an earlier verdict about the same object: the walk reports a log's first
 * listing (`LOG_VALID` or an invalid code) before a later `LOG_DUPLICATE` about it. When such a
 * finding is the first invalid one about its object, that object was counted valid: it moves
 * to invalid.
 */
const FOLLOW_UP_CODES: ReadonlySet<FindingCode> = new Set<FindingCode>(['LOG_DUPLICATE']);

/**
 * A summary with nothing counted.
 * @returns a new summary: every count zero, `ok`
 */
export function emptySummary(): Summary {
  return {
    digests: { valid: 0, invalid: 0 },
    backfillDigests: { valid: 0, invalid: 0 },
    logs: { valid: 0, invalid: 0 },
    objects: { valid: 0, invalid: 0 },
    gaps: 0,
    byCode: {},
    ok: true,
  };
}

/**
 * Accumulates findings into a {@link Summary}, counting each object (by its `s3://` URI) once:
 * an object with several findings is invalid if any of them is. Memory grows with the invalid
 * objects only (their URIs are kept), never with the valid ones, so findings must come in walk
 * order: an object's verdict (valid or invalid) first, then any follow-up (`LOG_DUPLICATE`).
 *
 * @example
 * ```ts
 * const tally = new Tally(start, end);
 * for await (const f of verifyTrail(opts)) tally.add(f);
 * tally.summary().ok;
 * ```
 */
export class Tally {
  readonly #start: number;
  readonly #end: number;
  readonly #s: Summary = emptySummary();
  readonly #invalid = new Set<string>();
  #foundStart: number | undefined;
  #foundEnd: number | undefined;

  /**
   * @param start - the requested start
   * @param end - the requested end
   */
  constructor(start: Date, end: Date) {
    this.#start = start.getTime();
    this.#end = end.getTime();
  }

  /**
   * Count one finding.
   * @param f - the finding
   */
  add(f: Finding): void {
    const s = this.#s;
    s.byCode[f.code] = (s.byCode[f.code] ?? 0) + 1;
    if (f.severity === 'invalid') s.ok = false;
    if (f.kind === 'chain') {
      if (f.code === 'CHAIN_GAP') s.gaps++;
      return;
    }
    const count = f.kind === 'object' ? s.objects : f.kind === 'log' ? s.logs : f.backfill ? s.backfillDigests : s.digests;
    if (f.severity === 'valid') {
      if (this.#invalid.size > 0 && this.#invalid.has(f.object)) return; // (most runs have nothing invalid to look up)
      count.valid++;
      if (f.code === 'DIGEST_VALID' && f.startTime && f.endTime) this.#found(Date.parse(f.startTime), Date.parse(f.endTime));
    } else if (f.severity === 'invalid') {
      if (this.#invalid.has(f.object)) return;
      this.#invalid.add(f.object);
      count.invalid++;
      if (FOLLOW_UP_CODES.has(f.code) && count.valid > 0) count.valid--;
    }
  }

  #found(start: number, end: number): void {
    const a = Math.max(start, this.#start);
    const b = Math.min(end, this.#end);
    if (this.#foundStart === undefined || a < this.#foundStart) this.#foundStart = a;
    if (this.#foundEnd === undefined || b > this.#foundEnd) this.#foundEnd = b;
  }

  /** @returns the summary so far (a copy) */
  summary(): Summary {
    const s = structuredClone(this.#s);
    if (this.#foundStart !== undefined) s.foundStart = isoSeconds(this.#foundStart);
    if (this.#foundEnd !== undefined) s.foundEnd = isoSeconds(this.#foundEnd);
    return s;
  }
}

const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * True when a summary counts no digest at all: nothing in range was validated.
 * @param s - the summary
 * @returns whether it is empty
 */
export function isEmptySummary(s: Summary): boolean {
  return s.digests.valid + s.digests.invalid + s.backfillDigests.valid + s.backfillDigests.invalid === 0;
}

/**
 * The summary across several summaries (regions, shards): counts and codes added, the found
 * range widened to cover them all, `ok` when every one is.
 * @param summaries - the summaries
 * @returns their sum (a new object)
 */
export function mergeSummaries(summaries: Iterable<Summary>): Summary {
  const m = emptySummary();
  for (const s of summaries) {
    for (const k of ['digests', 'backfillDigests', 'logs', 'objects'] as const) {
      m[k].valid += s[k].valid;
      m[k].invalid += s[k].invalid;
    }
    m.gaps += s.gaps;
    for (const [code, n] of Object.entries(s.byCode) as Array<[FindingCode, number]>) m.byCode[code] = (m.byCode[code] ?? 0) + n;
    if (s.foundStart && (m.foundStart === undefined || s.foundStart < m.foundStart)) m.foundStart = s.foundStart;
    if (s.foundEnd && (m.foundEnd === undefined || s.foundEnd > m.foundEnd)) m.foundEnd = s.foundEnd;
    m.ok &&= s.ok;
  }
  return m;
}

/** A chain-level code a summary counts, with what it means. */
export interface ChainLevelCount {
  /** The code ({@link isChainLevel}). */
  code: FindingCode;
  /** How many findings have it. */
  count: number;
  /** Its severity. */
  severity: Severity;
  /** What it means, in a few words. */
  meaning: string;
}

/**
 * The chain-level findings a verdict rests on, which the counts of valid files cannot show:
 * every invalid chain-level code the summary counts, and `CHAIN_GAP` when gaps fail the run.
 * Every surface that prints counts prints these beside them, so that a run found INVALID for
 * its chain never shows only "x/x valid".
 * @param s - the summary
 * @param failOnGap - gaps fail the run (`--fail-on-gap`)
 * @returns the codes, in {@link FINDING_CODES} order
 */
export function chainLevelCounts(s: Pick<Summary, 'byCode'>, failOnGap = false): ChainLevelCount[] {
  const out: ChainLevelCount[] = [];
  for (const code of FINDING_CODES) {
    const meaning = CHAIN_LEVEL_MEANING[code];
    const count = s.byCode[code] ?? 0;
    const severity = FINDING_SEVERITY[code];
    if (meaning !== null && count > 0 && (severity === 'invalid' || (code === 'CHAIN_GAP' && failOnGap))) out.push({ code, count, severity, meaning });
  }
  return out;
}

/** What makes a run fail beyond an invalid finding. */
export interface ReportPolicy {
  /** A run with no digest in range passes (`--allow-empty`). */
  allowEmpty?: boolean;
  /** A gap in a chain fails the run (`--fail-on-gap`). */
  failOnGap?: boolean;
  /**
   * A region with no digest in range is a notice, not a failure, as long as another region has
   * digests (`--regions all`: the regions were found, not named). When every region is empty
   * the run is still empty.
   */
  emptyRegionsAllowed?: boolean;
}

/** One region's result. */
export interface RegionResult {
  /** The region. */
  region: string;
  /** Its summary. */
  summary: Summary;
}

/** One region's result, judged. */
export interface JudgedRegion extends RegionResult {
  /** No digest in range. */
  empty: boolean;
  /** The region passes. */
  ok: boolean;
}

/** A run's results, merged and judged. */
export interface Judgement {
  /** The summary across regions. */
  summary: Summary;
  /** Each region, in the order given. */
  regions: JudgedRegion[];
  /** No digest in range in any region. */
  empty: boolean;
  /** The run passes: every region does. */
  ok: boolean;
}

/**
 * Merge regions' results into one report and judge each region and the run: a region fails on
 * an invalid finding, on a gap with `failOnGap`, and when empty unless `allowEmpty` (or
 * `emptyRegionsAllowed` and another region is not empty).
 * @param results - each region's result
 * @param policy - what fails besides invalid findings
 * @returns the merged, judged report
 */
export function judgeRegions(results: readonly RegionResult[], policy: ReportPolicy = {}): Judgement {
  const empty = results.every((r) => isEmptySummary(r.summary));
  const emptyOk = policy.allowEmpty === true || (policy.emptyRegionsAllowed === true && !empty);
  const regions = results.map((r): JudgedRegion => {
    const regionEmpty = isEmptySummary(r.summary);
    const ok = r.summary.ok && (!regionEmpty || emptyOk) && (r.summary.gaps === 0 || policy.failOnGap !== true);
    return { region: r.region, summary: r.summary, empty: regionEmpty, ok };
  });
  return {
    summary: mergeSummaries(results.map((r) => r.summary)),
    regions,
    empty,
    ok: regions.every((r) => r.ok) && (results.length > 0 || policy.allowEmpty === true),
  };
}

/** A summary's counts as the JSON report writes them (without the time found and the verdict). */
export type ReportCounts = Omit<Summary, 'foundStart' | 'foundEnd' | 'ok'>;

/** The time the valid digests cover, clipped to the request, as the JSON report writes it. */
export type ReportFound = { startTime: string; endTime: string } | null;

/** Everything of the JSON report (`schema/report.schema.json`) after its findings. */
export interface ReportTail {
  /** Valid digests' range, clipped to the request. */
  found: ReportFound;
  /** Counts over every region. */
  summary: ReportCounts;
  /** Each region's result. */
  regions: Array<{ region: string; found: ReportFound; summary: ReportCounts; empty: boolean; ok: boolean }>;
  /** No digest in range. */
  empty: boolean;
  /** The verdict: exit status 0. */
  ok: boolean;
}

const reportCounts = (s: Summary): ReportCounts => ({ digests: s.digests, backfillDigests: s.backfillDigests, logs: s.logs, objects: s.objects, gaps: s.gaps, byCode: s.byCode });
const reportFound = (s: Summary): ReportFound => (s.foundStart && s.foundEnd ? { startTime: s.foundStart, endTime: s.foundEnd } : null);

/**
 * The JSON report's tail from a judgement: what the command writes after the findings, and
 * what any other surface (the web page) shows, from one place.
 * @param judgement - the judged regions
 * @returns the tail
 */
export function reportTail(judgement: Judgement): ReportTail {
  return {
    found: reportFound(judgement.summary),
    summary: reportCounts(judgement.summary),
    regions: judgement.regions.map((r) => ({ region: r.region, found: reportFound(r.summary), summary: reportCounts(r.summary), empty: r.empty, ok: r.ok })),
    empty: judgement.empty,
    ok: judgement.ok,
  };
}

/** What the run was asked to do (the report's `request` member). */
export interface ReportRequest {
  /** The trail ARN as given. */
  trailArn: string;
  /** Requested start, `YYYY-MM-DDTHH:MM:SSZ`. */
  startTime: string;
  /** Requested end. */
  endTime: string;
  /** The bucket the digests must name. */
  bucket: string;
  /** The trail's key prefix. */
  prefix?: string;
  /** The account whose logs are validated. */
  accountId: string;
  /** The first region validated. */
  region: string;
  /** Every region validated. */
  regions: string[];
  /** The organization, for an organization trail. */
  organizationId?: string;
  /** Where the objects were read: `type` (`local`, `s3`), `path` or `endpoint`. */
  source: Record<string, string>;
}
