/**
 * The auditor's question, answered from a watcher's history: for each chain and each hour of a
 * period, was it verified, when, and how long after its digest was delivered; which passes
 * found something; and where the watching itself stopped ({@link historyCoverage}).
 *
 * An hour of a chain is verified when the digests the passes verified valid cover it whole:
 * from the hour's start (or, in the chain's first hour of watching, from the start of its first
 * verified digest) to its end. CloudTrail's digests are hourly but not aligned to the hour, so
 * an hour is usually covered by two digests; the one verified last decides when the hour was
 * verified (that pass's `endedAt`) and the latency (from its delivery: S3 LastModified or a
 * file's time; when unknown, from the digest's end time, and the answer says which). Coverage
 * is "as of" the period's end: a pass that ended after it does not count. An hour not verified
 * is `not-due` while its end is less than `dueAfterMs` (2 h: one digest period and CloudTrail's
 * delivery delay) before the period's end, else `missing`.
 * @module
 */
import type { PassRecord, WatchScope } from './types.js';

/** Milliseconds in an hour. */
const HOUR = 3_600_000;

/** The longest period answered (about 5 years of hours): a period is answered hour by hour. */
export const MAX_PERIOD_MS: number = 5 * 366 * 24 * HOUR;

/** The interval between passes assumed when neither the records nor the caller say (5 min). */
export const DEFAULT_INTERVAL_MS: number = 5 * 60_000;

/** How long after an hour's end its digests are due (2 h). */
export const DEFAULT_DUE_AFTER_MS: number = 2 * HOUR;

/** The latency the summary counts hours within (2 h after delivery). */
export const DEFAULT_WITHIN_MS: number = 2 * HOUR;

/** Options of {@link historyCoverage}. */
export interface HistoryOptions {
  /** The period's start. */
  from: Date;
  /** The period's end (exclusive). */
  to: Date;
  /**
   * The interval between passes (ms): a stretch without a pass longer than twice it is a watch
   * gap. Default: each record's `intervalMs`, else {@link DEFAULT_INTERVAL_MS}.
   */
  interval?: number;
  /** How long after its end an hour must be verified before it counts as missing (default {@link DEFAULT_DUE_AFTER_MS}). */
  dueAfter?: number;
  /** The latency the summary counts verified hours within (default {@link DEFAULT_WITHIN_MS}). */
  within?: number;
}

/** Whether an hour of a chain was verified. */
export type HourStatus = 'verified' | 'missing' | 'not-due';

/** One hour of one chain. */
export interface HourCoverage {
  /** The hour's start (ISO 8601, UTC, on the hour). */
  hour: string;
  /** Verified, missing, or not due yet. */
  status: HourStatus;
  /** When verified: the `endedAt` of the pass that completed the hour. */
  verifiedAt?: string;
  /** When verified: that pass's number. */
  pass?: number;
  /** When verified: the key of the digest that completed the hour. */
  digest?: string;
  /** When verified: how long after that digest's delivery (or end) the pass ended, in ms. */
  latencyMs?: number;
  /** What the latency counts from: `delivered` (storage's time) or `end` (the digest's end time: delivery unknown). */
  latencyFrom?: 'delivered' | 'end';
}

/** One chain over the period. */
export interface ChainCoverage {
  /** The region. */
  region: string;
  /** Each hour of the period, in order. */
  hours: HourCoverage[];
  /** Hours due (verified or missing). */
  expected: number;
  /** Hours verified. */
  verified: number;
  /** Hours due and not verified. */
  missing: number;
  /** Hours not due yet. */
  notDue: number;
  /** The longest latency of a verified hour (ms). */
  worstLatencyMs?: number;
}

/** A stretch of the period with no pass for longer than twice the interval. */
export interface WatchGap {
  /** Its start: the period's start, or the end of the pass before it. */
  from: string;
  /** Its end: the start of the pass after it, or the period's end. */
  to: string;
  /** Its length in ms. */
  ms: number;
  /** Where it is: before the first pass, between two passes, after the last, or a period with no pass. */
  where: 'before-first' | 'between' | 'after-last' | 'no-passes';
  /** The pass before it, if any. */
  after?: number;
  /** The pass after it, if any. */
  before?: number;
}

/** A pass of the period that found something invalid or could not read the trail. */
export interface PassFinding {
  /** The pass's number. */
  pass: number;
  /** When it started. */
  startedAt: string;
  /** When it ended. */
  endedAt: string;
  /** `invalid` or `error`. */
  status: 'invalid' | 'error';
  /** For `error`: what failed. */
  error?: string;
  /** INVALID findings, over its chains. */
  invalid: number;
  /** Notices, over its chains. */
  notices: number;
  /** Findings by code, over its chains. */
  byCode: Record<string, number>;
  /** Regions with a finding. */
  regions: string[];
  /** The ids of the alerts it decided. */
  alerts: string[];
}

/** The numbers an auditor quotes. */
export interface HistorySummary {
  /** Passes that started in the period. */
  passes: number;
  /** Of them, passes that found something invalid or failed. */
  passesWithFindings: number;
  /** Chains (regions) seen. */
  chains: number;
  /** Hours due, over every chain. */
  hoursExpected: number;
  /** Hours verified, over every chain. */
  hoursVerified: number;
  /** Hours due and not verified. */
  hoursMissing: number;
  /** Hours not due yet. */
  hoursNotDue: number;
  /** Hours verified within {@link HistorySummary.withinMs} of their digest's delivery. */
  verifiedWithin: number;
  /** The latency bound of {@link HistorySummary.verifiedWithin} (ms). */
  withinMs: number;
  /** `verifiedWithin / hoursExpected`; null when no hour is due. */
  shareWithin: number | null;
  /** The longest watch gap (ms); 0 when none. */
  longestGapMs: number;
  /** The first pass of the period, when any: its number and start. */
  firstPass?: { pass: number; startedAt: string };
  /** The last pass of the period, when any. */
  lastPass?: { pass: number; startedAt: string };
}

/** What `validate-logs history` answers (its `--output json`). */
export interface HistoryAnswer {
  /** The document's format. */
  format: 'validate-logs-history/1';
  /**
   * What the history belongs to: the scope of the `state.json` beside it, when there is one
   * (set by `validate-logs history`; the history lines themselves do not name the trail).
   */
  scope?: WatchScope;
  /** The period's start (ISO 8601). */
  from: string;
  /** The period's end (exclusive). */
  to: string;
  /** The interval given (ms), when one was; else each record's own. */
  intervalMs?: number;
  /** How long after its end an hour is due (ms). */
  dueAfterMs: number;
  /** The summary. */
  summary: HistorySummary;
  /** Each chain, by region. */
  chains: ChainCoverage[];
  /** Where the watching stopped, in order. */
  gaps: WatchGap[];
  /** The passes that found something, in order. */
  findings: PassFinding[];
}

/** A digest verified valid, with the pass that verified it first. */
interface Verified {
  key: string;
  start: number;
  end: number;
  delivered?: number;
  pass: number;
  endedAt: number;
}

/** A pass of the period, as the gaps need it. */
interface PassTime {
  pass: number;
  started: number;
  ended: number;
  interval: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Answer the auditor's question for a period from a history (see the module).
 * @param records - the passes, oldest first (at least those that started in the period; passes
 *   before it count for what they verified)
 * @param options - the period, and optionally the interval, the due delay and the latency bound
 * @returns the answer
 * @throws RangeError when `to` is not after `from`, or the period is longer than {@link MAX_PERIOD_MS}
 */
export async function historyCoverage(records: AsyncIterable<PassRecord>, options: HistoryOptions): Promise<HistoryAnswer> {
  const from = options.from.getTime();
  const to = options.to.getTime();
  if (!(to > from)) throw new RangeError('historyCoverage: "to" must be after "from"');
  if (to - from > MAX_PERIOD_MS) throw new RangeError(`historyCoverage: the period is longer than ${MAX_PERIOD_MS / (24 * HOUR)} days`);
  const dueAfter = options.dueAfter ?? DEFAULT_DUE_AFTER_MS;
  const within = options.within ?? DEFAULT_WITHIN_MS;

  const digests = new Map<string, Map<string, Verified>>();
  const passes: PassTime[] = [];
  const findings: PassFinding[] = [];
  for await (const r of records) {
    const started = Date.parse(r.startedAt);
    const ended = Date.parse(r.endedAt);
    const inPeriod = started >= from && started < to;
    for (const c of r.chains) {
      let chain = digests.get(c.region);
      if (!chain) digests.set(c.region, (chain = new Map()));
      if (ended > to) continue; // as of the period's end
      for (const d of c.verified) {
        if (chain.has(d.key)) continue; // first verified by an earlier pass
        const v: Verified = { key: d.key, start: Date.parse(d.start), end: Date.parse(d.end), pass: r.pass, endedAt: ended };
        if (d.delivered !== undefined) v.delivered = Date.parse(d.delivered);
        chain.set(d.key, v);
      }
    }
    if (!inPeriod) continue;
    passes.push({ pass: r.pass, started, ended, interval: options.interval ?? r.intervalMs ?? DEFAULT_INTERVAL_MS });
    if (r.status !== 'valid') findings.push(passFinding(r));
  }

  const chains = [...digests.keys()].sort().map((region) => chainCoverage(region, [...digests.get(region)!.values()], from, to, dueAfter));
  passes.sort((a, b) => a.started - b.started || a.pass - b.pass);
  const gaps = watchGaps(passes, from, to);
  const verifiedWithin = chains.reduce((n, c) => n + c.hours.filter((h) => h.status === 'verified' && h.latencyMs! <= within).length, 0);
  const sum = (f: (c: ChainCoverage) => number): number => chains.reduce((n, c) => n + f(c), 0);
  const hoursExpected = sum((c) => c.expected);
  const summary: HistorySummary = {
    passes: passes.length,
    passesWithFindings: findings.length,
    chains: chains.length,
    hoursExpected,
    hoursVerified: sum((c) => c.verified),
    hoursMissing: sum((c) => c.missing),
    hoursNotDue: sum((c) => c.notDue),
    verifiedWithin,
    withinMs: within,
    shareWithin: hoursExpected === 0 ? null : verifiedWithin / hoursExpected,
    longestGapMs: gaps.reduce((m, g) => Math.max(m, g.ms), 0),
  };
  const first = passes[0];
  const last = passes.at(-1);
  if (first) summary.firstPass = { pass: first.pass, startedAt: iso(first.started) };
  if (last) summary.lastPass = { pass: last.pass, startedAt: iso(last.started) };
  return {
    format: 'validate-logs-history/1',
    from: iso(from),
    to: iso(to),
    ...(options.interval !== undefined && { intervalMs: options.interval }),
    dueAfterMs: dueAfter,
    summary,
    chains,
    gaps,
    findings,
  };
}

/** A pass that found something, summed over its chains. */
function passFinding(r: PassRecord): PassFinding {
  const byCode: Record<string, number> = {};
  let invalid = 0;
  let notices = 0;
  const regions: string[] = [];
  for (const c of r.chains) {
    invalid += c.invalid;
    notices += c.notices;
    if (c.invalid + c.notices > 0) regions.push(c.region);
    for (const [code, n] of Object.entries(c.byCode)) byCode[code] = (byCode[code] ?? 0) + n;
  }
  return {
    pass: r.pass,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    status: r.status as 'invalid' | 'error',
    ...(r.error !== undefined && { error: r.error }),
    invalid,
    notices,
    byCode,
    regions,
    alerts: [...r.alerts],
  };
}

/** Each hour of the period for one chain. */
function chainCoverage(region: string, verified: Verified[], from: number, to: number, dueAfter: number): ChainCoverage {
  verified.sort((a, b) => a.start - b.start || a.end - b.end);
  const chainStart = verified.length > 0 ? verified[0]!.start : Number.POSITIVE_INFINITY;
  const out: ChainCoverage = { region, hours: [], expected: 0, verified: 0, missing: 0, notDue: 0 };
  let p = 0; // the first digest that can still overlap the hour
  for (let h = Math.floor(from / HOUR) * HOUR; h < to; h += HOUR) {
    const end = h + HOUR;
    while (p < verified.length && verified[p]!.end <= h) p++;
    // Covered whole, from the hour's start (or the chain's first verified digest's)?
    let cursor = Math.max(h, Math.min(chainStart, end));
    let last: Verified | undefined;
    let gap = chainStart >= end;
    for (let j = p; j < verified.length && verified[j]!.start < end && cursor < end; j++) {
      const d = verified[j]!;
      if (d.end <= cursor) continue;
      if (d.start > cursor) {
        gap = true;
        break;
      }
      cursor = d.end;
      if (!last || d.endedAt > last.endedAt) last = d;
    }
    if (!gap && cursor >= end && last) {
      const basis = last.delivered ?? last.end;
      const latency = Math.max(0, last.endedAt - basis);
      out.hours.push({
        hour: iso(h),
        status: 'verified',
        verifiedAt: iso(last.endedAt),
        pass: last.pass,
        digest: last.key,
        latencyMs: latency,
        latencyFrom: last.delivered !== undefined ? 'delivered' : 'end',
      });
      out.verified++;
      out.expected++;
      out.worstLatencyMs = Math.max(out.worstLatencyMs ?? 0, latency);
    } else if (end + dueAfter > to) {
      out.hours.push({ hour: iso(h), status: 'not-due' });
      out.notDue++;
    } else {
      out.hours.push({ hour: iso(h), status: 'missing' });
      out.missing++;
      out.expected++;
    }
  }
  return out;
}

/** The stretches of the period without a pass for longer than twice the interval. */
function watchGaps(passes: PassTime[], from: number, to: number): WatchGap[] {
  const gaps: WatchGap[] = [];
  const add = (start: number, end: number, where: WatchGap['where'], after?: number, before?: number): void => {
    const gap: WatchGap = { from: iso(start), to: iso(end), ms: end - start, where };
    if (after !== undefined) gap.after = after;
    if (before !== undefined) gap.before = before;
    gaps.push(gap);
  };
  if (passes.length === 0) {
    add(from, to, 'no-passes');
    return gaps;
  }
  const first = passes[0]!;
  if (first.started - from > 2 * first.interval) add(from, first.started, 'before-first', undefined, first.pass);
  for (let i = 1; i < passes.length; i++) {
    const prev = passes[i - 1]!;
    const next = passes[i]!;
    if (next.started - prev.started > 2 * prev.interval) add(Math.min(prev.ended, next.started), next.started, 'between', prev.pass, next.pass);
  }
  const last = passes.at(-1)!;
  if (to - last.ended > 2 * last.interval) add(last.ended, to, 'after-last', last.pass);
  return gaps;
}
