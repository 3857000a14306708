/**
 * Times as CloudTrail writes them, and as users type them.
 * @module
 */
import { ValidateLogsError } from '../errors.js';

const HOUR_MS = 3_600_000;
/** One hour in milliseconds: the cadence of digest files. */
export const DIGEST_PERIOD_MS: number = HOUR_MS;

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * `YYYY-MM-DDTHH:MM:SSZ`, the form of every time inside a digest file (whole seconds, UTC).
 * @param d - the time
 * @returns the formatted time
 */
export function formatDigestTime(d: Date): string {
  return d.toISOString().slice(0, 19) + 'Z';
}

/**
 * `YYYYMMDDTHHMMSSZ`, the form of the end time in a digest file's key.
 * @param d - the time
 * @returns the formatted time
 */
export function formatKeyTime(d: Date): string {
  return (
    `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`
  );
}

/**
 * `YYYY/MM/DD`, the date folders of a key (UTC).
 * @param d - the time
 * @returns the folder path
 */
export function formatDateFolders(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
}

const KEY_TIME_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?Z$/;
const DIGEST_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The time of the given UTC fields, when they name a real date and time (the day exists in
 * its month, every field in range; years before 100 are refused, as `Date.UTC` reads them as
 * 19xx). No allocation.
 * @param y - year
 * @param mo - month, 1 to 12
 * @param d - day of the month
 * @param h - hours
 * @param mi - minutes
 * @param s - seconds
 * @returns the time in ms, or undefined
 */
export function utcTime(y: number, mo: number, d: number, h: number, mi: number, s = 0): number | undefined {
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (y < 100 || mo < 1 || mo > 12 || d < 1 || d > (mo === 2 && leap ? 29 : DAYS[mo - 1]!) || h > 23 || mi > 59 || s > 59) return undefined;
  // Date.UTC's value by arithmetic (days from the civil date, in 400-year eras counted from
  // March): a call to Date.UTC costs about three times as much, and every log key and digest
  // entry time comes here.
  const jan = Math.floor((14 - mo) / 12); // 1 in January and February, else 0 (no branch: any month compiles alike)
  const yy = y - jan;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo + 12 * jan - 3) + 2) / 5) + d - 1;
  const days = era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
  return days * 86_400_000 + h * HOUR_MS + mi * 60_000 + s * 1000;
}

/** The time a match of one of the forms above names, if it is a real date and time. */
function fromMatch(m: RegExpExecArray, text: string, what: string): Date {
  const n = (k: number): number => (m[k] === undefined ? 0 : Number(m[k]));
  const t = utcTime(n(1), n(2), n(3), n(4), n(5), n(6));
  if (t === undefined) throw new ValidateLogsError('TIME_INVALID', `${what}: ${JSON.stringify(text)} is not a real date and time`);
  return new Date(t);
}

/**
 * Parse the `YYYYMMDDTHHMMSSZ` (digest key) or `YYYYMMDDTHHMMZ` (log key) form.
 * @param text - the time text
 * @param what - what it is, for the error message
 * @returns the time
 * @throws ValidateLogsError `TIME_INVALID`
 */
export function parseKeyTime(text: string, what = 'key time'): Date {
  const m = KEY_TIME_RE.exec(text);
  if (!m) throw new ValidateLogsError('TIME_INVALID', `${what}: ${JSON.stringify(text)} is not of the form YYYYMMDDTHHMMSSZ`);
  return fromMatch(m, text, what);
}

/**
 * The time of a strict `YYYY-MM-DDTHH:MM:SSZ` text (the form inside digest files) when it names
 * a real date and time; a check with no allocation, for the many times of a digest's entries
 * ({@link parseDigestTime} says what is wrong with one that fails it).
 * @param text - the time text
 * @returns the time in ms, or undefined
 */
export function digestTimeMs(text: string): number | undefined {
  if (text.length !== 20 || text.charCodeAt(19) !== 0x5a /* Z */) return undefined;
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  for (let i = 0; i < 19; i++) {
    const c = text.charCodeAt(i);
    const sep = DIGEST_TIME_SEPARATORS[i];
    if (sep !== 0) {
      if (c !== sep) return undefined;
      continue;
    }
    const v = c - 48;
    if (v < 0 || v > 9) return undefined;
    if (i < 4) y = y * 10 + v;
    else if (i < 7) mo = mo * 10 + v;
    else if (i < 10) d = d * 10 + v;
    else if (i < 13) h = h * 10 + v;
    else if (i < 16) mi = mi * 10 + v;
    else s = s * 10 + v;
  }
  return utcTime(y, mo, d, h, mi, s);
}

/** The separators of `YYYY-MM-DDTHH:MM:SSZ` by position (0 where a digit goes). */
const DIGEST_TIME_SEPARATORS = Uint8Array.from('0000-00-00T00:00:00', (c) => (c === '0' ? 0 : c.charCodeAt(0)));

/**
 * Parse the strict `YYYY-MM-DDTHH:MM:SSZ` form used inside digest files.
 * @param text - the time text
 * @param what - what it is, for the error message
 * @returns the time
 * @throws ValidateLogsError `TIME_INVALID`
 */
export function parseDigestTime(text: string, what = 'time'): Date {
  const m = DIGEST_TIME_RE.exec(text);
  if (!m) throw new ValidateLogsError('TIME_INVALID', `${what}: ${JSON.stringify(text)} is not of the form YYYY-MM-DDTHH:MM:SSZ`);
  return fromMatch(m, text, what);
}

const USER_TIME_RE =
  /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parse a time as a user types it on the command line, in the ISO 8601 forms the AWS CLI
 * accepts: `2025-01-08T05:21:42Z`, `2025-01-08T05:21Z`, `2025-01-08` (midnight),
 * `20250108T052142Z`, fractions of a second, and offsets (`+02:00`, `-0500`). A time
 * without a zone is taken as UTC, as the AWS CLI's validate-logs does.
 *
 * @param text - the time text
 * @param what - the option it came from, for the error message
 * @returns the time
 * @throws ValidateLogsError `TIME_INVALID`
 * @example
 * ```ts
 * parseUserTime('2025-01-08T07:21:42+02:00').toISOString(); // '2025-01-08T05:21:42.000Z'
 * ```
 */
export function parseUserTime(text: string, what = 'time'): Date {
  const m = USER_TIME_RE.exec(text.trim());
  if (!m) {
    throw new ValidateLogsError(
      'TIME_INVALID',
      `${what}: ${JSON.stringify(text)} is not an ISO 8601 time (for example 2025-01-08T05:21:42Z or 2025-01-08)`,
    );
  }
  const base = fromMatch(m, text, what);
  let ms = base.getTime() + Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  const zone = m[8];
  if (zone && zone !== 'Z' && zone !== 'z' && zone !== 'UTC') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) throw new ValidateLogsError('TIME_INVALID', `${what}: ${JSON.stringify(text)} has an invalid offset`);
    ms -= sign * (oh * 60 + om) * 60_000;
  }
  return new Date(ms);
}

/**
 * Start of the UTC hour that contains `d`.
 * @param d - the time
 * @returns the hour's start
 */
export function floorHour(d: Date): Date {
  return new Date(Math.floor(d.getTime() / HOUR_MS) * HOUR_MS);
}

/**
 * Parse a time given as an ISO string or as epoch seconds (as `list-public-keys` prints
 * `ValidityStartTime`, depending on the CLI's settings).
 * @param value - the value
 * @param what - what it is, for the error message
 * @returns the time
 * @throws ValidateLogsError `TIME_INVALID`
 */
export function parseIsoOrEpoch(value: unknown, what: string): Date {
  let d: Date | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) d = new Date(value * 1000);
  else if (typeof value === 'string' && /^\d+(?:\.\d+)?$/.test(value)) d = new Date(Number(value) * 1000);
  else if (typeof value === 'string') {
    try {
      d = parseUserTime(value, what);
    } catch {
      d = undefined; // reported below with the value that was given
    }
  }
  if (!d || Number.isNaN(d.getTime()) || Math.abs(d.getTime()) > 8.64e15) {
    throw new ValidateLogsError('TIME_INVALID', `${what}: ${JSON.stringify(value)} is not a time (ISO 8601 or epoch seconds)`);
  }
  return d;
}
