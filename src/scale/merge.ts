/**
 * Merging shard reports into one chain result: the reports must all be there and fit together;
 * adjacent shards must join (the newer shard's oldest link names the older shard's newest
 * digest, with its hash and signature); where they do not, the merge reports what a single run
 * would have: the missing digest the link names, every digest of a hole between the two
 * shards, or the gap before a starting digest. A report that does not agree with itself, or
 * parts that do not fit together, are refused: the merge never claims more than its parts.
 * Pure: reports in, findings out.
 * @module
 */
import { mergeSpans, unreferencedReason, type CoverageMap } from '../chain/coverage.js';
import { FINDING_SEVERITY, finding, type Finding, type FindingCode, type ObjectKind } from '../chain/findings.js';
import { logKeyMatcher, logKeyTime } from '../chain/inventory.js';
import { DEFAULT_TAIL_GRACE_MS } from '../chain/verifier.js';
import { gapMessage } from '../chain/walk.js';
import { Tally, type Summary } from '../chain/report.js';
import { ValidateLogsError } from '../errors.js';
import { digestKey, digestKeyParts, s3Uri } from '../format/keys.js';
import { DIGEST_PERIOD_MS, formatDigestTime } from '../format/time.js';
import { checkShardItem, ownership, shardTrail, type ShardItem } from './manifest.js';
import { findingTime, type BoundaryDigest, type ShardBoundary, type ShardReport } from './shard.js';

/** One chain's merged result. */
export interface ChainResult {
  /** The chain's first shard (its trail, bucket and window). */
  shard: ShardItem;
  /** Every finding: the shards' and those the joins add. */
  findings: Finding[];
  /** The summary a single run over the chain's window would print. */
  summary: Summary;
  /** No digest at all in the chain's window. */
  empty: boolean;
}

const FINDING_KINDS: readonly ObjectKind[] = ['digest', 'log', 'chain', 'object'];
const iso = (ms: number): string => formatDigestTime(new Date(ms));
const keyTime = (key: string): number | undefined => digestKeyParts(key)?.endTime.getTime();
const name = (s: ShardItem): string => `shard ${s.index} (account ${s.accountId}, region ${s.region}, trail ${s.trailName}, ${s.start} to ${s.end})`;

/**
 * Check a shard report read from storage (hostile until checked): its shard, its findings'
 * codes and fields, its boundary, and that they agree: its summary is the count of its findings
 * (none deleted, added or changed, no count or verdict edited), each finding and unlisted log
 * lies in its window, its edge digests have their findings' codes.
 * @param value - the parsed report
 * @param what - names the report in messages
 * @returns the report
 * @throws ValidateLogsError `SHARD_INVALID` naming what is wrong
 */
export function checkShardReport(value: unknown, what: string): ShardReport {
  const fail = (why: string): never => {
    throw new ValidateLogsError('SHARD_INVALID', `${what} is not a validate-logs shard report: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not a JSON object');
  const r = value as Record<string, unknown>;
  if (r.tool !== 'validate-logs' || r.kind !== 'shard') fail('"tool" must be "validate-logs" and "kind" "shard"');
  checkShardItem(r.shard, `${what}: its shard`);
  if (!Array.isArray(r.findings)) fail('"findings" must be an array');
  if (typeof r.summary !== 'object' || r.summary === null || Array.isArray(r.summary)) fail('"summary" must be an object');
  (r.findings as unknown[]).forEach((f, i) => {
    const o = f as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.code !== 'string' || !(o.code in FINDING_SEVERITY)) fail(`finding ${i} has no known code`);
    if (o.severity !== FINDING_SEVERITY[o.code as FindingCode]) fail(`finding ${i} (${String(o.code)}) has the wrong severity`);
    for (const k of ['kind', 'object', 'bucket', 'key', 'message']) if (typeof o[k] !== 'string') fail(`finding ${i} has no "${k}"`);
    for (const k of ['digest', 'startTime', 'endTime']) if (o[k] !== undefined && typeof o[k] !== 'string') fail(`finding ${i} has a "${k}" that is not a string`);
    if (o.backfill !== undefined && typeof o.backfill !== 'boolean') fail(`finding ${i} has a "backfill" that is not true or false`);
  });
  const b = r.boundary as Record<string, unknown> | undefined;
  if (typeof b !== 'object' || b === null || !Array.isArray(b.logMinutes)) return fail('"boundary" must be an object with "logMinutes"');
  for (const m of b.logMinutes as unknown[]) {
    if (!Array.isArray(m) || m.length !== 2 || !m.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) fail('"logMinutes" must hold [minute, count] pairs');
  }
  const spans = (v: unknown): boolean => Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && p.every((n) => Number.isFinite(n)) && (p[0] as number) <= (p[1] as number));
  const c = b.coverage as Record<string, unknown> | undefined;
  if (c !== undefined) {
    if (typeof c !== 'object' || c === null || !spans(c.signed) || !spans(c.accounted) || !spans(c.gaps)) fail('"boundary.coverage" must hold "signed", "accounted" and "gaps" as [from, to] pairs');
    if (!Number.isFinite(c.end) || !Number.isSafeInteger(c.tailGraceMs) || (c.tailGraceMs as number) < 0) fail('"boundary.coverage" must hold "end" and "tailGraceMs"');
    if (c.newestEnd !== undefined && !Number.isFinite(c.newestEnd)) fail('"boundary.coverage.newestEnd" must be a time');
  }
  if (b.unlisted !== undefined) {
    const item = r.shard as ShardItem;
    const matches = logKeyMatcher(shardTrail(item));
    if (!Array.isArray(b.unlisted) || !b.unlisted.every((k) => typeof k === 'string' && matches(k) && logKeyTime(k) !== undefined)) {
      fail(`"boundary.unlisted" must hold log keys of the shard's trail`);
    }
  }
  for (const edge of ['oldest', 'newest']) {
    const d = b[edge] as Record<string, unknown> | undefined;
    if (d === undefined) continue;
    if (typeof d !== 'object' || d === null || typeof d.key !== 'string' || keyTime(d.key) === undefined) fail(`"boundary.${edge}" must name a digest key`);
  }
  const why = disagreement(value as ShardReport);
  if (why) fail(why);
  return value as ShardReport;
}

/**
 * Where a report's parts contradict each other (its shape already checked): a finding about an
 * object another shard owns; a summary that is not the count of its findings (findings deleted
 * or added, counts or verdict edited); an edge digest whose code is not its finding's.
 */
function disagreement(r: ShardReport): string | undefined {
  const item = r.shard;
  const owns = ownership(item);
  for (const [i, f] of r.findings.entries()) {
    if (!(FINDING_KINDS as readonly string[]).includes(f.kind)) return `finding ${i} (${f.code}) has the unknown kind ${JSON.stringify(f.kind)}`;
    const t = findingTime(f);
    if (t !== undefined && !owns.digest(t)) return `finding ${i} (${f.code} ${f.key}) is about an hour another shard owns (not ${item.start} to ${item.end})`;
  }
  for (const key of r.boundary.unlisted ?? []) {
    const t = logKeyTime(key)!;
    if (!owns.log(t) || t > Date.parse(item.chainEnd)) return `"boundary.unlisted" holds ${key}, delivered outside the shard's window`;
  }
  const tally = new Tally(new Date(item.start), new Date(item.end));
  for (const f of r.findings) tally.add(f);
  const made = flatten(tally.summary());
  const said = flatten(r.summary);
  for (const k of new Set([...made.keys(), ...said.keys()])) {
    if (made.get(k) !== said.get(k)) {
      return `its summary does not agree with its findings: "summary.${k}" is ${said.get(k) ?? 'absent'}, its findings make it ${made.get(k) ?? 'absent'}`;
    }
  }
  for (const edge of ['oldest', 'newest'] as const) {
    const d = r.boundary[edge];
    if (!d) continue;
    const code = r.findings.find((f) => f.kind === 'digest' && !f.backfill && f.key === d.key)?.code;
    if (d.code !== code) return `"boundary.${edge}" says ${d.key} is ${d.code ?? 'not reached'}, its findings say ${code ?? 'nothing about it'}`;
  }
  return undefined;
}

/** The leaves of a JSON value by path (`logs.invalid`), each as JSON text. */
function flatten(value: unknown, path = '', out: Map<string, string> = new Map()): Map<string, string> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, JSON.stringify(value) ?? String(value));
  }
  return out;
}

/** What the merge checks of a part before it reads its findings: its shard and its edges. */
export type ShardPart = Pick<ShardReport, 'shard'> & { boundary: Pick<ShardBoundary, 'oldest' | 'newest'> & { coverage?: Pick<CoverageMap, 'tailGraceMs'> } };

/**
 * A chain's parts, oldest first: each shard of the chain once, of one plan, abutting, run with
 * the same settings (tail grace).
 */
function orderParts<T extends ShardPart>(reports: readonly T[]): T[] {
  if (reports.length === 0) throw new RangeError('mergeChain needs at least one report');
  const first = reports[0]!.shard;
  const byPart = new Map<number, T>();
  for (const r of reports) {
    const s = r.shard;
    if (s.plan !== first.plan || s.chain !== first.chain || s.parts !== first.parts) {
      throw new ValidateLogsError('SHARD_INVALID', `${name(s)} belongs to plan ${s.plan}, chain ${s.chain}, not to plan ${first.plan}, chain ${first.chain}`);
    }
    if (byPart.has(s.part)) throw new ValidateLogsError('SHARD_INVALID', `${name(s)} has two reports`);
    byPart.set(s.part, r);
  }
  const ordered: T[] = [];
  let graceOf: T | undefined;
  for (let p = 0; p < first.parts; p++) {
    const r = byPart.get(p);
    if (!r) {
      const index = first.index - first.part + p; // a chain's shards are consecutive lines of the manifest
      throw new ValidateLogsError('SHARD_MISSING', `no report for shard ${index} of ${first.shards} (part ${p + 1} of ${first.parts} of account ${first.accountId}, region ${first.region}, trail ${first.trailName}): run it again`);
    }
    const prev = ordered.at(-1);
    if (prev && prev.shard.end !== r.shard.start) throw new ValidateLogsError('SHARD_INVALID', `${name(prev.shard)} and ${name(r.shard)} do not abut`);
    // Shards that ran with different settings judge the chain differently: their parts do not add up.
    const grace = r.boundary.coverage?.tailGraceMs;
    const before = graceOf?.boundary.coverage?.tailGraceMs;
    if (grace !== undefined && before !== undefined && grace !== before) {
      throw new ValidateLogsError('SHARD_INVALID', `${name(graceOf!.shard)} ran with a tail grace of ${before} ms, ${name(r.shard)} with ${grace} ms: run them with the same settings`);
    }
    if (grace !== undefined) graceOf = r;
    ordered.push(r);
  }
  return ordered;
}

/**
 * Refuse a join that contradicts itself: the newer shard's oldest digest links to the older
 * shard's newest one, which that shard found valid, yet with another hash or signature.
 */
function checkJoin(n: { digest: BoundaryDigest; shard: ShardItem }, o: BoundaryDigest, oShard: ShardItem): void {
  const d = n.digest;
  const link = o.previous!;
  const differs = (d.sha256 !== undefined && d.sha256 !== link.sha256) || (d.signature !== undefined && d.signature !== link.signature);
  if (differs && d.code === 'DIGEST_VALID') {
    throw new ValidateLogsError(
      'SHARD_INVALID',
      `${name(n.shard)} and ${name(oShard)} do not join: ${d.key} is not what the link of ${o.key} records, yet it was found valid; ` +
        'the bucket changed between the two runs: run both shards again',
    );
  }
}

/**
 * Check a chain's parts as {@link mergeChain} does, from their shards and edges alone (no
 * findings): so that a merge refuses parts that do not fit together before it prints anything.
 * @param parts - the chain's parts: each report's shard and boundary edges
 * @throws ValidateLogsError `SHARD_MISSING` naming a shard without report; `SHARD_INVALID` when
 *   parts of different plans or chains are mixed, do not abut, ran with different settings, or
 *   adjacent shards contradict each other
 */
export function checkChainParts(parts: readonly ShardPart[]): void {
  const ordered = orderParts(parts);
  const chainStart = Date.parse(ordered[0]!.shard.chainStart);
  const bucket = ordered[0]!.shard.bucket;
  let older: { digest: BoundaryDigest; shard: ShardItem } | undefined;
  for (const r of ordered) {
    const { oldest: o, newest } = r.boundary;
    // As mergeChain's join: a link followed from an accepted digest whose start is in range, to the older shard's newest.
    const link = o?.previous;
    if (o && link && older && (o.code === 'DIGEST_VALID' || o.code === 'DIGEST_LINK_MISMATCH') && o.startTime !== undefined && Date.parse(o.startTime) >= chainStart && link.bucket === bucket && link.key === older.digest.key) {
      checkJoin(older, o, r.shard);
    }
    if (newest) older = { digest: newest, shard: r.shard };
  }
}

/**
 * Merge the reports of one chain: every shard of the chain once, oldest first or in any order.
 *
 * @param reports - the chain's shard reports
 * @returns the chain's result
 * @throws ValidateLogsError `SHARD_MISSING` naming a shard without report; `SHARD_INVALID` when
 *   reports of different plans or chains are mixed, or adjacent shards contradict each other
 * @example
 * ```ts
 * const result = mergeChain(reports);
 * result.summary.ok;
 * ```
 */
export function mergeChain(reports: readonly ShardReport[]): ChainResult {
  const ordered = orderParts(reports);

  const chain = ordered[0]!.shard;
  const trail = shardTrail(chain);
  const bucket = chain.bucket;
  const chainStart = Date.parse(chain.chainStart);
  const present = new Set<string>();
  for (const r of ordered) for (const f of r.findings) present.add(`${f.code}\n${f.object}`);
  const minutes: Array<[number, number]> = ordered.flatMap((r) => r.boundary.logMinutes);
  // Where the whole chain vouches for logs: every shard's walk, and what the joins add.
  const map: CoverageMap = { signed: [], accounted: [], gaps: [], end: Date.parse(chain.chainEnd), tailGraceMs: DEFAULT_TAIL_GRACE_MS };
  for (const r of ordered) {
    const c = r.boundary.coverage;
    if (!c) continue;
    map.signed.push(...c.signed);
    map.accounted.push(...c.accounted);
    map.gaps.push(...c.gaps);
    map.tailGraceMs = c.tailGraceMs;
    if (c.newestEnd !== undefined && (map.newestEnd === undefined || c.newestEnd > map.newestEnd)) map.newestEnd = c.newestEnd;
  }
  const count = (from: number, to: number): number => minutes.reduce((n, [m, c]) => (m * 60_000 >= from && m * 60_000 < to ? n + c : n), 0);

  /** What a single run finds where the walk goes from `o` (the newer shard's oldest digest) down to `n`. */
  const join = (n: { digest: BoundaryDigest; shard: ShardItem } | undefined, o: BoundaryDigest, oShard: ShardItem): Finding[] => {
    // The walk goes on from a digest it accepted (valid, or correctly signed with a broken link),
    // to its link while its start is in range, or, from a starting digest, to the next older one.
    const accepted = (o.code === 'DIGEST_VALID' || o.code === 'DIGEST_LINK_MISMATCH') && o.startTime !== undefined;
    if (!accepted || o.previous === undefined) return [];
    const tN = n && keyTime(n.digest.key)!;
    const out: Finding[] = [];
    const add = (code: FindingCode, f: Omit<Finding, 'code' | 'severity' | 'kind' | 'bucket' | 'backfill' | 'region'>): void => {
      if (code === 'CHAIN_GAP') map.gaps.push([Date.parse(f.startTime!), Date.parse(f.endTime!)]);
      else map.accounted.push([Date.parse(f.endTime!) - DIGEST_PERIOD_MS, Date.parse(f.endTime!)]);
      if (!present.has(`${code}\n${f.object}`)) out.push(finding(code, { kind: code === 'CHAIN_GAP' ? 'chain' : 'digest', bucket, backfill: false, ...f, region: chain.region }));
    };
    if (o.previous === null) {
      if (n && tN !== undefined && o.startTime !== undefined) {
        add('CHAIN_GAP', {
          object: s3Uri(bucket, o.key),
          key: o.key,
          message: gapMessage(iso(tN), o.startTime, count(tN, Date.parse(o.startTime))),
          startTime: iso(tN),
          endTime: o.startTime,
          logs: count(tN, Date.parse(o.startTime)),
        });
      }
      return out;
    }
    const link = o.previous;
    if (Date.parse(o.startTime!) < chainStart) return out;
    if (n && link.bucket === bucket && link.key === n.digest.key) {
      checkJoin(n, o, oShard);
      return out;
    }
    const tk = keyTime(link.key);
    if (link.bucket !== bucket || tk === undefined || (tN !== undefined ? tk <= tN : tk < chainStart)) return out;
    add('DIGEST_NOT_FOUND', {
      object: s3Uri(bucket, link.key),
      key: link.key,
      message: 'not found',
      digest: s3Uri(bucket, o.key),
      endTime: iso(tk),
      logs: count(tk - DIGEST_PERIOD_MS, tk),
    });
    if (tN === undefined) return out;
    for (let t = tk - DIGEST_PERIOD_MS; t > tN + DIGEST_PERIOD_MS / 2 && t > chainStart; t -= DIGEST_PERIOD_MS) {
      const key = digestKey(trail, new Date(t));
      add('DIGEST_NOT_FOUND', {
        object: s3Uri(bucket, key),
        key,
        message: `not found (one digest per hour: missing between ${iso(tN)} and ${iso(tk)})`,
        endTime: iso(t),
        logs: count(t - DIGEST_PERIOD_MS, t),
      });
    }
    return out;
  };

  // Newest shard first, as a single run reports; each join's findings after the newer shard's.
  const joins: Finding[][] = [];
  let older: { digest: BoundaryDigest; shard: ShardItem } | undefined;
  for (const r of ordered) {
    const { oldest, newest } = r.boundary;
    joins.push(oldest ? join(older, oldest, r.shard) : []);
    if (newest) older = { digest: newest, shard: r.shard };
  }
  // Logs no digest lists, judged over the whole chain as a single run judges them.
  map.signed = mergeSpans(map.signed);
  map.accounted = mergeSpans(map.accounted);
  const unreferenced: Finding[] = [];
  const judged = new Set<string>();
  for (const r of ordered) {
    for (const key of r.boundary.unlisted ?? []) {
      if (judged.has(key)) continue;
      judged.add(key);
      const message = unreferencedReason(map, logKeyTime(key)!);
      if (message) unreferenced.push(finding('LOG_UNREFERENCED', { kind: 'log', object: s3Uri(bucket, key), bucket, key, message, backfill: false, region: chain.region }));
    }
  }
  // Other objects in the trail's folders are found by every shard that lists their date folder: once each.
  const objects = new Set<string>();
  const once = (f: Finding): boolean => {
    if (f.kind !== 'object') return true;
    const id = `${f.code}\n${f.object}`;
    if (objects.has(id)) return false;
    objects.add(id);
    return true;
  };
  const findings: Finding[] = [];
  for (let i = ordered.length - 1; i >= 0; i--) findings.push(...ordered[i]!.findings.filter(once), ...joins[i]!);
  findings.push(...unreferenced);
  const tally = new Tally(new Date(chain.chainStart), new Date(chain.chainEnd));
  for (const f of findings) tally.add(f);
  const summary = tally.summary();
  const empty = summary.digests.valid + summary.digests.invalid + summary.backfillDigests.valid + summary.backfillDigests.invalid === 0;
  return { shard: { ...chain, part: 0, start: chain.chainStart, end: chain.chainEnd }, findings, summary, empty };
}

/**
 * The shards of a plan that have no report.
 * @param seen - the shards whose reports were found (any order)
 * @param manifest - the plan's manifest, when at hand (to name the missing shards fully)
 * @returns a sentence per missing shard (empty when every shard has its report)
 * @throws ValidateLogsError `SHARD_INVALID` when the reports belong to different plans
 */
export function missingShards(seen: readonly ShardItem[], manifest?: readonly ShardItem[]): string[] {
  const plan = manifest?.[0]?.plan ?? seen[0]?.plan;
  const total = manifest?.length ?? seen[0]?.shards ?? 0;
  for (const s of seen) {
    if (s.plan !== plan) throw new ValidateLogsError('SHARD_INVALID', `${name(s)} belongs to plan ${s.plan}, not to plan ${plan}`);
  }
  const have = new Set(seen.map((s) => s.index));
  const out: string[] = [];
  for (let i = 0; i < total; i++) {
    if (have.has(i)) continue;
    const m = manifest?.[i];
    out.push(m ? `no report for ${name(m)}` : `no report for shard ${i} of ${total}`);
  }
  return out;
}
