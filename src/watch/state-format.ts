/**
 * The layout and the documents of a watcher's state location, shared by both stores: the names,
 * the bounds, and the strict checks of a state and of a history line (`STATE_INVALID` naming the
 * file and what is wrong).
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import type { AwsHttpOptions } from '../sources/http.js';
import type { PassRecord, WatchState } from './types.js';

/** Options of `openStateStore`: for an S3 location, how to reach it. */
export interface StateStoreOptions {
  /** An S3-compatible endpoint instead of Amazon S3. */
  endpoint?: string;
  /** An AWS profile. */
  profile?: string;
  /** The region of the bucket's endpoint (default: AWS_REGION, else us-east-1; redirects are followed). */
  region?: string;
  /** How the AWS client connects (the AWS CLI's global options). */
  http?: AwsHttpOptions;
}


/**
 * Largest `state.json` read: 64 MiB. A state holds a few hundred bytes per chain, the newest
 * pass record (a few hundred bytes per digest it verified: a first pass over a day of 17
 * regions is about 100 KB) and the keys of the alerts sent (about 200 bytes each): 64 MiB is
 * hundreds of thousands of alerts, far beyond a healthy state, and small enough to hold in memory.
 */
export const MAX_STATE_BYTES: number = 64 * 1024 * 1024;

/**
 * Largest history day file read: 256 MiB. A pass every minute for a day is 1,440 lines; a line
 * is about 1 KB for a steady pass of 17 regions and at most a few MB for a first pass.
 */
export const MAX_HISTORY_FILE_BYTES: number = 256 * 1024 * 1024;

/** Largest `checkpoint.note` written (a signed note is a few KB). */
export const MAX_CHECKPOINT_BYTES: number = 1024 * 1024;

/** The name of the state in its location. */
export const STATE_NAME = 'state.json';
/** The folder (key prefix) of the history in its location. */
export const HISTORY_FOLDER = 'history';
/** The name of the checkpoint copy in its location. */
export const CHECKPOINT_NAME = 'checkpoint.note';
/** A history day file's name. */
export const DAY_FILE_RE: RegExp = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;

/**
 * The UTC day file a pass record goes to.
 * @param startedAt - the pass's `startedAt`
 * @returns `YYYY-MM-DD.jsonl`
 */
export function dayFileName(startedAt: string): string {
  return `${new Date(startedAt).toISOString().slice(0, 10)}.jsonl`;
}

/**
 * The day file names that can hold passes started in `[from, to)`, among `names` (sorted).
 * @param names - file names in the history folder (other names are ignored)
 * @param from - the earliest start wanted
 * @param to - the end (exclusive)
 * @returns the day file names in day order
 */
export function daysInRange(names: readonly string[], from?: Date, to?: Date): string[] {
  const first = from ? from.toISOString().slice(0, 10) : '';
  const last = to ? new Date(to.getTime() - 1).toISOString().slice(0, 10) : '9999-99-99';
  return names.filter((n) => {
    const day = DAY_FILE_RE.exec(n)?.[1];
    return day !== undefined && day >= first && day <= last;
  }).sort();
}

/** A shape check that failed: a path into the document and what was wrong. */
class ShapeError extends Error {}

type Json = Record<string, unknown>;

function fail(path: string, what: string): never {
  throw new ShapeError(`${path} ${what}`);
}

function object(v: unknown, path: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'is not an object');
  return v as Json;
}

function string(o: Json, k: string, path: string, optional = false): void {
  const v = o[k];
  if (v === undefined && optional) return;
  if (typeof v !== 'string') fail(`${path}.${k}`, optional ? 'is not a string' : 'is missing or not a string');
}

function time(o: Json, k: string, path: string, optional = false): void {
  string(o, k, path, optional);
  const v = o[k];
  if (typeof v === 'string' && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v)) fail(`${path}.${k}`, `is not a UTC ISO 8601 time: ${JSON.stringify(v.slice(0, 40))}`);
  if (typeof v === 'string' && Number.isNaN(Date.parse(v))) fail(`${path}.${k}`, 'is not a valid time');
}

function count(o: Json, k: string, path: string, optional = false): void {
  const v = o[k];
  if (v === undefined && optional) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${path}.${k}`, 'is not a whole number');
}

function counts(v: unknown, path: string): void {
  const o = object(v, path);
  for (const k of Object.keys(o)) count(o, k, path);
}

function strings(v: unknown, path: string): void {
  if (!Array.isArray(v)) fail(path, 'is not an array');
  v.forEach((s, i) => typeof s === 'string' || fail(`${path}[${i}]`, 'is not a string'));
}

function array(v: unknown, path: string, each: (item: unknown, path: string) => void): void {
  if (!Array.isArray(v)) fail(path, 'is not an array');
  v.forEach((item, i) => each(item, `${path}[${i}]`));
}

const ALERT_TYPES = new Set(['finding', 'overdue', 'error', 'recovered']);
const STATUSES = new Set(['valid', 'invalid', 'error']);

function checkAlert(v: unknown, path: string): void {
  const a = object(v, path);
  for (const k of ['id', 'key', 'trail', 'account', 'region', 'code', 'severity', 'object', 'message', 'tool']) string(a, k, path);
  if (!ALERT_TYPES.has(a.type as string)) fail(`${path}.type`, 'is not finding, overdue, error or recovered');
  time(a, 'detectedAt', path);
}

function checkChain(v: unknown, path: string, region: string): void {
  const c = object(v, path);
  string(c, 'region', path);
  if (c.region !== region) fail(`${path}.region`, `is not ${JSON.stringify(region)}`);
  time(c, 'newestEnd', path, true);
  string(c, 'newestKey', path, true);
  time(c, 'verifiedAt', path, true);
  count(c, 'digests', path);
  count(c, 'logs', path);
  counts(c.findings, `${path}.findings`);
  if (c.overdue !== undefined) {
    const o = object(c.overdue, `${path}.overdue`);
    time(o, 'since', `${path}.overdue`);
    string(o, 'alertId', `${path}.overdue`);
  }
}

function checkPassChain(v: unknown, path: string): void {
  const c = object(v, path);
  string(c, 'region', path);
  time(c, 'from', path, true);
  time(c, 'to', path, true);
  for (const k of ['digests', 'logs', 'invalid', 'notices']) count(c, k, path);
  counts(c.byCode, `${path}.byCode`);
  array(c.verified, `${path}.verified`, (d, p) => {
    const o = object(d, p);
    string(o, 'key', p);
    time(o, 'start', p);
    time(o, 'end', p);
    time(o, 'delivered', p, true);
  });
}

function checkPass(v: unknown, path: string): void {
  const r = object(v, path);
  if (r.format !== 'validate-logs-watch-pass/1') fail(`${path}.format`, `is ${JSON.stringify(r.format)}, not "validate-logs-watch-pass/1"`);
  count(r, 'pass', path);
  if (r.pass === 0) fail(`${path}.pass`, 'is 0 (passes count from 1)');
  time(r, 'startedAt', path);
  time(r, 'endedAt', path);
  if (!STATUSES.has(r.status as string)) fail(`${path}.status`, 'is not valid, invalid or error');
  string(r, 'error', path, true);
  const range = object(r.range, `${path}.range`);
  time(range, 'start', `${path}.range`);
  time(range, 'end', `${path}.range`);
  array(r.chains, `${path}.chains`, checkPassChain);
  string(r, 'reportSha256', path, true);
  string(r, 'checkpointSha256', path, true);
  strings(r.alerts, `${path}.alerts`);
  count(r, 'intervalMs', path, true);
}

function checkState(v: unknown): void {
  const s = object(v, 'the document');
  if (s.format !== 'validate-logs-watch-state/1') fail('format', `is ${JSON.stringify(s.format)}, not "validate-logs-watch-state/1"`);
  const scope = object(s.scope, 'scope');
  for (const k of ['trailArn', 'bucket', 'accountId']) string(scope, k, 'scope');
  string(scope, 'prefix', 'scope', true);
  string(scope, 'organizationId', 'scope', true);
  time(s, 'start', 'state');
  string(s, 'checkpoint', 'state', true);
  count(s, 'passes', 'state');
  const chains = object(s.chains, 'chains');
  for (const [region, chain] of Object.entries(chains)) checkChain(chain, `chains[${JSON.stringify(region)}]`, region);
  array(s.sent, 'sent', (a, p) => {
    const o = object(a, p);
    for (const k of ['key', 'id']) string(o, k, p);
    if (!ALERT_TYPES.has(o.type as string)) fail(`${p}.type`, 'is not an alert type');
    time(o, 'sentAt', p);
  });
  array(s.outbox, 'outbox', (a, p) => {
    const o = object(a, p);
    checkAlert(o.alert, `${p}.alert`);
    strings(o.destinations, `${p}.destinations`);
    count(o, 'attempts', p);
  });
  if (s.failing !== undefined) {
    const f = object(s.failing, 'failing');
    count(f, 'failures', 'failing');
    time(f, 'since', 'failing');
    string(f, 'message', 'failing');
    string(f, 'alertId', 'failing', true);
  }
  if (s.lastPass !== undefined) checkPass(s.lastPass, 'lastPass');
  string(s, 'ownKey', 'state', true);
}

/**
 * Parse JSON text, or say why it is not JSON.
 * @throws ShapeError
 */
function parseJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ShapeError('is not UTF-8 text');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ShapeError(`is not JSON (${(e as Error).message})`);
  }
}

/**
 * Parse a stored state and check it has the shape a watcher writes.
 * @param bytes - the stored document
 * @param where - the file or object, for messages
 * @returns the state
 * @throws ValidateLogsError `STATE_INVALID` naming `where` and what is wrong
 */
export function parseState(bytes: Uint8Array, where: string): WatchState {
  try {
    const value = parseJson(bytes);
    checkState(value);
    return value as WatchState;
  } catch (e) {
    if (e instanceof ShapeError) throw new ValidateLogsError('STATE_INVALID', `${where} is not a watcher's state: ${e.message}`);
    throw e;
  }
}

/**
 * Parse one history line and check it has the shape of a pass record.
 * @param line - the line (without its newline)
 * @param where - the file or object, for messages
 * @param lineNumber - the line's number in it, from 1
 * @returns the record
 * @throws ValidateLogsError `STATE_INVALID` naming `where`, the line and what is wrong
 */
export function parsePassLine(line: string, where: string, lineNumber: number): PassRecord {
  try {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new ShapeError(`is not JSON (${(e as Error).message})`);
    }
    checkPass(value, 'the record');
    return value as PassRecord;
  } catch (e) {
    if (e instanceof ShapeError) throw new ValidateLogsError('STATE_INVALID', `${where} line ${lineNumber} is not a pass record: ${e.message}`);
    throw e;
  }
}

/**
 * Check a pass record before it is written, as it will be checked when read back.
 * @param record - the record
 * @param where - the store, for messages
 * @throws ValidateLogsError `STATE_INVALID` when it is not a pass record
 */
export function checkPassRecord(record: PassRecord, where: string): void {
  try {
    checkPass(record, 'the record');
  } catch (e) {
    if (e instanceof ShapeError) throw new ValidateLogsError('STATE_INVALID', `refusing to write a malformed pass record to ${where}: ${e.message}`);
    throw e;
  }
}

/**
 * Check a state before it is written, as it will be checked when read back.
 * @param state - the state
 * @param where - the store, for messages
 * @throws ValidateLogsError `STATE_INVALID` when it is not a state
 */
export function checkStateDocument(state: WatchState, where: string): void {
  try {
    checkState(state);
  } catch (e) {
    if (e instanceof ShapeError) throw new ValidateLogsError('STATE_INVALID', `refusing to write a malformed state to ${where}: ${e.message}`);
    throw e;
  }
}

/** What follows a day file's last newline. */
export type DayFileTail = 'none' | 'torn' | 'unterminated';

/**
 * Split a day file into its records, in pass order, each pass once. What follows the last
 * newline was left by a killed writer: a whole record whose newline was not written yet
 * (`unterminated`: kept), or part of one (`torn`: skipped).
 * @param bytes - the file's bytes
 * @param where - the file or object, for messages
 * @returns the records, and what the tail was
 * @throws ValidateLogsError `STATE_INVALID` for a malformed line (naming its number)
 */
export function parseDayFile(bytes: Uint8Array, where: string): { records: PassRecord[]; tail: DayFileTail } {
  const end = bytes.lastIndexOf(0x0a) + 1; // after the last newline
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end));
  } catch {
    throw new ValidateLogsError('STATE_INVALID', `${where} is not UTF-8 text`);
  }
  const lines = text.split('\n');
  lines.pop();
  const records = new Map<number, PassRecord>();
  const add = (r: PassRecord): void => {
    if (!records.has(r.pass)) records.set(r.pass, r);
  };
  lines.forEach((line, i) => {
    if (line.trim() !== '') add(parsePassLine(line, where, i + 1));
  });
  let tail: DayFileTail = 'none';
  if (end < bytes.length) {
    tail = 'torn';
    try {
      add(parsePassLine(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(end)), where, lines.length + 1));
      tail = 'unterminated';
    } catch {
      // part of a line: skipped
    }
  }
  return { records: [...records.values()].sort((a, b) => a.pass - b.pass), tail };
}

/**
 * The records of one day file that started in `[from, to)` and were not yielded yet (by pass
 * number, across the day files of one read).
 * @param bytes - the file's bytes
 * @param where - the file or object, for messages
 * @param seen - the pass numbers already yielded (added to)
 * @param from - the earliest start wanted
 * @param to - the end (exclusive)
 * @returns the records, in pass order
 * @throws ValidateLogsError `STATE_INVALID` for a malformed line
 */
export function newRecords(bytes: Uint8Array, where: string, seen: Set<number>, from?: Date, to?: Date): PassRecord[] {
  return parseDayFile(bytes, where).records.filter((r) => {
    if (seen.has(r.pass) || !inRange(r, from, to)) return false;
    seen.add(r.pass);
    return true;
  });
}

/**
 * Whether a record started in `[from, to)`.
 * @param r - the record
 * @param from - the earliest start wanted
 * @param to - the end (exclusive)
 * @returns whether it is in range
 */
export function inRange(r: PassRecord, from?: Date, to?: Date): boolean {
  const t = Date.parse(r.startedAt);
  return (!from || t >= from.getTime()) && (!to || t < to.getTime());
}
