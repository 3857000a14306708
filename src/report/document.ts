/**
 * The JSON report (`schema/report.schema.json`) as the HTML report reads it: its shape, a check
 * that a document read from a file has it (a saved report is hostile input like any other), and
 * its canonical SHA-256, the value a checkpoint written by the same run holds on its `report`
 * line.
 * @module
 */
import { FINDING_CODES, FINDING_SEVERITY, type Finding, type FindingCode } from '../chain/findings.js';
import type { ReportCounts, ReportFound, ReportRequest } from '../chain/report.js';
import { reportSha256 } from '../checkpoint/report-hash.js';

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
