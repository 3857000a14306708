/**
 * The JSON report (`schema/report.schema.json`) as the HTML report reads it: its shape, a check
 * that a document read from a file has it (a saved report is hostile input like any other), and
 * its canonical SHA-256, the value a checkpoint written by the same run holds on its `report`
 * line.
 * @module
 */
import { FINDING_CODES, FINDING_SEVERITY, type Finding, type FindingCode } from '../chain/findings.js';
import type { ReportCounts, ReportFound, ReportRequest } from '../chain/report.js';
import stringify from 'fast-json-stable-stringify';
import { reportSha256 } from '../checkpoint/report-hash.js';
import { sha256Hex } from '../hash/sha256.js';
import { encodeUtf8 } from '../utils.js';
import type { HistoryAnswer } from '../watch/history.js';

/** A public key the run trusted, as the report's `run.keys` lists it. */
export interface ReportKey {
  /** Hex MD5 of the key's DER bytes (a digest's `digestPublicKeyFingerprint`). */
  fingerprint: string;
  /** Start of its validity window (`YYYY-MM-DDTHH:MM:SSZ`), when known. */
  validFrom?: string;
  /** End of its validity window, when known. */
  validTo?: string;
}

/** The checkpoint a run wrote (`--checkpoint-out`), as the report's `run.checkpoint` holds it. */
export interface ReportCheckpoint {
  /** The file, as given. */
  file: string;
  /** The signed note, whole. */
  note: string;
  /** Its time stamp (`--timestamp-url`), when one was kept. */
  timestamp?: {
    /** The token's file (`FILE.tsr`). */
    file: string;
    /** The time the authority attests, when the token was verified (`--tsa-cert`). */
    time?: string;
    /** The authority's certificate subject, when verified. */
    authority?: string;
  };
}

/** How the run went: the report's optional `run` member, written by runs asked for `--report`. */
export interface ReportRun {
  /** When the run started (`YYYY-MM-DDTHH:MM:SSZ`). */
  startedAt: string;
  /** When it finished. */
  finishedAt: string;
  /** The public keys it trusted, by fingerprint. */
  keys: ReportKey[];
  /** The checkpoint it wrote. */
  checkpoint?: ReportCheckpoint;
}

/** One region's result in the report. */
export interface ReportRegion {
  /** The region. */
  region: string;
  /** Its valid digests' range. */
  found: ReportFound;
  /** Its counts. */
  summary: ReportCounts;
  /** No digest in range. */
  empty: boolean;
  /** It passes. */
  ok: boolean;
}

/** The JSON report of a run, as `validate-logs --output json` prints it. */
export interface JsonReportDocument {
  /** Always `validate-logs`. */
  tool: string;
  /** The tool's version. */
  version: string;
  /** What was asked (null when the run stopped before it was known). */
  request: ReportRequest | null;
  /** Every finding, in report order. */
  findings: Finding[];
  /** The valid digests' range. */
  found: ReportFound;
  /** Counts over every region. */
  summary: ReportCounts;
  /** Each region's result. */
  regions: ReportRegion[];
  /** Where `--save-to` kept the evidence. */
  evidence?: { dir: string; localDir: string; publicKeys: string; objects: number; bytes: number };
  /** No digest in range. */
  empty: boolean;
  /** The verdict. */
  ok: boolean;
  /** What stopped the run. */
  error?: { code: string; message: string };
  /** When it ran, the keys, the checkpoint (runs with `--report`). */
  run?: ReportRun;
}

/**
 * The canonical SHA-256 of a JSON report: its findings and its summary as canonical JSON, the
 * summary as the run counted it (the counts, the window found as `foundStart`/`foundEnd`, and
 * `ok`: no finding invalid). A checkpoint written by the same run holds this value on its
 * `report` line.
 * @param doc - the JSON report
 * @returns lower-case hex SHA-256
 */
export function jsonReportSha256(doc: Pick<JsonReportDocument, 'findings' | 'summary' | 'found'>): string {
  const summary = {
    ...doc.summary,
    ...(doc.found && { foundStart: doc.found.startTime, foundEnd: doc.found.endTime }),
    ok: !doc.findings.some((f) => f.severity === 'invalid'),
  };
  return reportSha256({ findings: doc.findings, summary });
}

const CODES: ReadonlySet<string> = new Set<string>(FINDING_CODES);
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** A reason a value is not a JSON report, with where. */
class NotAReport extends Error {}

const fail = (where: string, what: string): never => {
  throw new NotAReport(`${where} ${what}`);
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
function str(o: Record<string, unknown>, k: string, where: string, optional = false): void {
  const v = o[k];
  if (v === undefined && optional) return;
  if (typeof v !== 'string') fail(`${where}.${k}`, 'is not a string');
}
function time(o: Record<string, unknown>, k: string, where: string, optional = false): void {
  str(o, k, where, optional);
  if (o[k] !== undefined && !TIME_RE.test(o[k] as string)) fail(`${where}.${k}`, 'is not a time YYYY-MM-DDTHH:MM:SSZ');
}
function bool(o: Record<string, unknown>, k: string, where: string): void {
  if (typeof o[k] !== 'boolean') fail(`${where}.${k}`, 'is not true or false');
}
function count(v: unknown, where: string): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(where, 'is not a count');
}
function counts(v: unknown, where: string): void {
  if (!isObject(v)) return fail(where, 'is not an object');
  for (const k of ['digests', 'backfillDigests', 'logs', 'objects']) {
    const c = v[k];
    if (!isObject(c)) return fail(`${where}.${k}`, 'is not an object');
    count(c.valid, `${where}.${k}.valid`);
    count(c.invalid, `${where}.${k}.invalid`);
  }
  count(v.gaps, `${where}.gaps`);
  if (!isObject(v.byCode)) return fail(`${where}.byCode`, 'is not an object');
  for (const [code, n] of Object.entries(v.byCode)) {
    if (!CODES.has(code)) fail(`${where}.byCode`, `names an unknown code ${JSON.stringify(code.slice(0, 40))}`);
    count(n, `${where}.byCode.${code}`);
  }
}
function found(v: unknown, where: string): void {
  if (v === null) return;
  if (!isObject(v)) return fail(where, 'is neither null nor an object');
  time(v, 'startTime', where);
  time(v, 'endTime', where);
}

/**
 * Check that a parsed value is a JSON report the renderer can read: every member it reads of
 * the type it expects (the findings' codes and severities known, times well-formed). The
 * strings themselves are not trusted: the renderer escapes and bounds them.
 * @param value - the parsed JSON
 * @returns the value, typed
 * @throws Error saying which member is wrong
 */
export function checkJsonReport(value: unknown): JsonReportDocument {
  try {
    return check(value);
  } catch (e) {
    if (e instanceof NotAReport) throw new Error(`not a validate-logs JSON report: ${e.message}`);
    throw e;
  }
}

function check(v: unknown): JsonReportDocument {
  if (!isObject(v)) return fail('the document', 'is not a JSON object');
  if (v.tool !== 'validate-logs') fail('tool', 'is not "validate-logs"');
  str(v, 'version', 'report');
  if (v.request !== null) {
    const r = v.request;
    if (!isObject(r)) return fail('request', 'is neither null nor an object');
    for (const k of ['trailArn', 'bucket', 'accountId', 'region']) str(r, k, 'request');
    for (const k of ['prefix', 'organizationId']) str(r, k, 'request', true);
    time(r, 'startTime', 'request');
    time(r, 'endTime', 'request');
    if (!Array.isArray(r.regions) || r.regions.length === 0 || r.regions.some((x) => typeof x !== 'string')) fail('request.regions', 'is not a list of regions');
    if (!isObject(r.source)) fail('request.source', 'is not an object');
    else for (const [k, x] of Object.entries(r.source)) if (typeof x !== 'string') fail(`request.source.${k}`, 'is not a string');
  }
  if (!Array.isArray(v.findings)) return fail('findings', 'is not a list');
  v.findings.forEach((f: unknown, i) => {
    const where = `findings[${i}]`;
    if (!isObject(f)) return fail(where, 'is not an object');
    if (typeof f.code !== 'string' || !CODES.has(f.code)) fail(`${where}.code`, 'is not a finding code');
    if (f.severity !== 'valid' && f.severity !== 'invalid' && f.severity !== 'notice') fail(`${where}.severity`, 'is not valid, invalid or notice');
    if (!['digest', 'log', 'chain', 'object'].includes(f.kind as string)) fail(`${where}.kind`, 'is not digest, log, chain or object');
    for (const k of ['object', 'bucket', 'key', 'message']) str(f, k, where);
    for (const k of ['expected', 'actual', 'digest', 'region']) str(f, k, where, true);
    time(f, 'startTime', where, true);
    time(f, 'endTime', where, true);
    if (typeof f.backfill !== 'boolean') fail(`${where}.backfill`, 'is not true or false');
    for (const k of ['size', 'logs']) if (f[k] !== undefined) count(f[k], `${where}.${k}`);
  });
  found(v.found, 'found');
  counts(v.summary, 'summary');
  if (!Array.isArray(v.regions)) return fail('regions', 'is not a list');
  v.regions.forEach((r: unknown, i) => {
    const where = `regions[${i}]`;
    if (!isObject(r)) return fail(where, 'is not an object');
    str(r, 'region', where);
    found(r.found, `${where}.found`);
    counts(r.summary, `${where}.summary`);
    bool(r, 'empty', where);
    bool(r, 'ok', where);
  });
  bool(v, 'empty', 'report');
  bool(v, 'ok', 'report');
  if (v.error !== undefined) {
    if (!isObject(v.error)) return fail('error', 'is not an object');
    str(v.error, 'code', 'error');
    str(v.error, 'message', 'error');
  }
  if (v.evidence !== undefined && !isObject(v.evidence)) fail('evidence', 'is not an object');
  if (v.run !== undefined) checkRun(v.run);
  return v as unknown as JsonReportDocument;
}

function checkRun(run: unknown): void {
  if (!isObject(run)) return fail('run', 'is not an object');
  time(run, 'startedAt', 'run');
  time(run, 'finishedAt', 'run');
  if (!Array.isArray(run.keys)) return fail('run.keys', 'is not a list');
  run.keys.forEach((k: unknown, i) => {
    if (!isObject(k)) return fail(`run.keys[${i}]`, 'is not an object');
    str(k, 'fingerprint', `run.keys[${i}]`);
    time(k, 'validFrom', `run.keys[${i}]`, true);
    time(k, 'validTo', `run.keys[${i}]`, true);
  });
  const cp = run.checkpoint;
  if (cp === undefined) return;
  if (!isObject(cp)) return fail('run.checkpoint', 'is not an object');
  str(cp, 'file', 'run.checkpoint');
  str(cp, 'note', 'run.checkpoint');
  if (cp.timestamp === undefined) return;
  if (!isObject(cp.timestamp)) return fail('run.checkpoint.timestamp', 'is not an object');
  str(cp.timestamp, 'file', 'run.checkpoint.timestamp');
  time(cp.timestamp, 'time', 'run.checkpoint.timestamp', true);
  str(cp.timestamp, 'authority', 'run.checkpoint.timestamp', true);
}

/**
 * The invalid codes a summary counts, most frequent first.
 * @param byCode - the summary's findings per code
 * @returns each invalid code with its count
 */
export function invalidCodes(byCode: Partial<Record<FindingCode, number>>): Array<[FindingCode, number]> {
  return (Object.entries(byCode) as Array<[FindingCode, number]>).filter(([c]) => CODES.has(c) && FINDING_SEVERITY[c] === 'invalid').sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/**
 * The canonical SHA-256 of a watch history's answer (`validate-logs history --output json`):
 * the whole document as canonical JSON (keys sorted, no spaces), UTF-8.
 * @param answer - the answer
 * @returns lower-case hex SHA-256
 */
export function historyAnswerSha256(answer: HistoryAnswer): string {
  return sha256Hex(encodeUtf8(stringify(answer)));
}

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?Z$/;
const iso = (o: Record<string, unknown>, k: string, where: string, optional = false): void => {
  str(o, k, where, optional);
  if (o[k] !== undefined && !ISO_RE.test(o[k] as string)) fail(`${where}.${k}`, 'is not a UTC time');
};
const list = (v: unknown, where: string): unknown[] => (Array.isArray(v) ? v : fail(where, 'is not a list'));
const strings = (v: unknown, where: string): void => {
  for (const [i, x] of list(v, where).entries()) if (typeof x !== 'string') fail(`${where}[${i}]`, 'is not a string');
};
const optionalCount = (o: Record<string, unknown>, k: string, where: string): void => {
  if (o[k] !== undefined) count(o[k], `${where}.${k}`);
};

/**
 * Check that a parsed value is a watch history's answer the period report can read (as
 * `validate-logs history --output json` prints it): every member it reads of the type it
 * expects. Its strings are not trusted: the renderer escapes and bounds them.
 * @param value - the parsed JSON
 * @returns the value, typed
 * @throws Error saying which member is wrong
 */
export function checkHistoryAnswer(value: unknown): HistoryAnswer {
  try {
    if (!isObject(value)) return fail('the document', 'is not a JSON object');
    if (value.format !== 'validate-logs-history/1') fail('format', 'is not "validate-logs-history/1"');
    iso(value, 'from', 'answer');
    iso(value, 'to', 'answer');
    if (value.scope !== undefined) {
      if (!isObject(value.scope)) fail('scope', 'is not an object');
      const sc = value.scope as Record<string, unknown>;
      for (const k of ['trailArn', 'bucket', 'accountId']) str(sc, k, 'scope');
      for (const k of ['prefix', 'organizationId']) str(sc, k, 'scope', true);
    }
    const s = value.summary;
    if (!isObject(s)) return fail('summary', 'is not an object');
    for (const k of ['passes', 'passesWithFindings', 'chains', 'hoursExpected', 'hoursVerified', 'hoursMissing', 'hoursNotDue', 'verifiedWithin', 'withinMs']) count(s[k], `summary.${k}`);
    if (s.shareWithin !== null && (typeof s.shareWithin !== 'number' || !(s.shareWithin >= 0 && s.shareWithin <= 1))) fail('summary.shareWithin', 'is neither null nor a share');
    for (const k of ['firstPass', 'lastPass']) {
      if (s[k] === undefined) continue;
      if (!isObject(s[k])) fail(`summary.${k}`, 'is not an object');
      const x = s[k] as Record<string, unknown>;
      count(x.pass, `summary.${k}.pass`);
      iso(x, 'startedAt', `summary.${k}`);
    }
    for (const [i, c] of list(value.chains, 'chains').entries()) {
      const where = `chains[${i}]`;
      if (!isObject(c)) fail(where, 'is not an object');
      const ch = c as Record<string, unknown>;
      str(ch, 'region', where);
      for (const k of ['expected', 'verified', 'missing', 'notDue']) count(ch[k], `${where}.${k}`);
      optionalCount(ch, 'worstLatencyMs', where);
      for (const [j, h] of list(ch.hours, `${where}.hours`).entries()) {
        if (!isObject(h)) fail(`${where}.hours[${j}]`, 'is not an object');
        iso(h as Record<string, unknown>, 'hour', `${where}.hours[${j}]`);
        if (!['verified', 'missing', 'not-due'].includes((h as Record<string, unknown>).status as string)) fail(`${where}.hours[${j}].status`, 'is not verified, missing or not-due');
      }
    }
    for (const [i, g] of list(value.gaps, 'gaps').entries()) {
      if (!isObject(g)) fail(`gaps[${i}]`, 'is not an object');
      const gap = g as Record<string, unknown>;
      iso(gap, 'from', `gaps[${i}]`);
      iso(gap, 'to', `gaps[${i}]`);
      count(gap.ms, `gaps[${i}].ms`);
      if (!['before-first', 'between', 'after-last', 'no-passes'].includes(gap.where as string)) fail(`gaps[${i}].where`, 'is not a place');
    }
    for (const [i, f] of list(value.findings, 'findings').entries()) {
      const where = `findings[${i}]`;
      if (!isObject(f)) fail(where, 'is not an object');
      const x = f as Record<string, unknown>;
      count(x.pass, `${where}.pass`);
      iso(x, 'startedAt', where);
      iso(x, 'endedAt', where);
      if (x.status !== 'invalid' && x.status !== 'error') fail(`${where}.status`, 'is not invalid or error');
      str(x, 'error', where, true);
      if (!isObject(x.byCode)) fail(`${where}.byCode`, 'is not an object');
      for (const [k, n] of Object.entries(x.byCode as Record<string, unknown>)) count(n, `${where}.byCode.${k.slice(0, 40)}`);
      strings(x.regions, `${where}.regions`);
      strings(x.alerts, `${where}.alerts`);
    }
    return value as unknown as HistoryAnswer;
  } catch (e) {
    if (e instanceof NotAReport) throw new Error(`not a validate-logs history answer: ${e.message}`);
    throw e;
  }
}
