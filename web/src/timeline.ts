/**
 * The chain as a row of hours: what a reader takes in at a glance. Each hour of the range gets
 * one state from the findings: its digest valid (and every log it lists), something in it
 * invalid, its digest missing, in a gap of the chain, in a deleted tail, or covered by nothing.
 * @module
 */
import type { Finding } from '../../src/chain/findings.js';
import { digestKeyParts, logKeyParts } from '../../src/format/keys.js';
import { DIGEST_PERIOD_MS, floorHour } from '../../src/format/time.js';

/** The state of one hour. */
export type HourState = 'valid' | 'invalid' | 'missing' | 'gap' | 'tail' | 'none';

/** Every hour state, with what it means to a reader. */
export const HOUR_STATES: Readonly<Record<HourState, string>> = Object.freeze({
  valid: 'valid: its digest and every log file it lists are intact',
  invalid: 'invalid: its digest, a log file it lists, or a log file delivered in it fails a check',
  missing: 'missing: the digest of this hour is absent',
  gap: 'gap: the chain restarts after this hour; no digest covers it',
  tail: 'deleted tail: log files were delivered after the newest digest, which has no successor',
  none: 'no digest covers this hour',
});

/** One hour of the timeline. */
export interface Hour {
  /** Start of the hour (ISO, seconds). */
  start: string;
  /** Its state. */
  state: HourState;
  /** Findings about it that are not `valid`. */
  problems: number;
  /** The digest covering it (`s3://...`), when one was found or is missing. */
  digest?: string;
}

/** Most hours drawn; a longer range is cut at its end (the findings table still holds everything). */
export const MAX_HOURS = 24 * 366;

interface Cell {
  digest?: string;
  digestInvalid: boolean;
  missing: boolean;
  gap: boolean;
  tail: boolean;
  problems: number;
}

const iso = (t: number): string => new Date(t).toISOString().slice(0, 19) + 'Z';

/**
 * The hours of `[start, end]` and their states.
 * @param findings - a run's findings, in any order
 * @param start - start of the range
 * @param end - end of the range
 * @returns one entry per hour, oldest first (at most {@link MAX_HOURS})
 * @throws RangeError when `end` is before `start`
 */
export function timeline(findings: Iterable<Finding>, start: Date, end: Date): Hour[] {
  if (end < start) throw new RangeError('the end of the range is before its start');
  const first = floorHour(start).getTime();
  const count = Math.min(MAX_HOURS, Math.max(1, Math.ceil((end.getTime() - first) / DIGEST_PERIOD_MS)));
  const cells: Cell[] = Array.from({ length: count }, () => ({ digestInvalid: false, missing: false, gap: false, tail: false, problems: 0 }));
  const at = (t: number): Cell | undefined => cells[Math.floor((t - first) / DIGEST_PERIOD_MS)];
  // A digest's hour ends at its end time; the time in its key is that end time.
  const digestCell = (f: Finding): Cell | undefined => {
    const end = digestKeyParts(f.key)?.endTime.getTime() ?? (f.endTime ? Date.parse(f.endTime) : Number.NaN);
    return Number.isNaN(end) ? undefined : at(end - 1);
  };
  const span = (from: number, to: number, mark: (c: Cell) => void): void => {
    for (let t = floorHour(new Date(Math.max(from, first))).getTime(); t < to && t < first + count * DIGEST_PERIOD_MS; t += DIGEST_PERIOD_MS) {
      const c = at(t);
      if (c) mark(c);
    }
  };
  const byDigest = new Map<string, Cell>();
  const later: Finding[] = [];
  for (const f of findings) {
    if (f.kind === 'digest') {
      const c = digestCell(f);
      if (!c) continue;
      c.digest = f.object;
      byDigest.set(f.object, c);
      if (f.code === 'DIGEST_NOT_FOUND') c.missing = true;
      else if (f.severity === 'invalid') c.digestInvalid = true;
      if (f.severity === 'invalid') c.problems++;
    } else if (f.code === 'CHAIN_GAP' && f.startTime && f.endTime) {
      span(Date.parse(f.startTime), Date.parse(f.endTime), (c) => void (c.gap = true));
    } else if (f.code === 'CHAIN_TAIL_MISSING' && f.startTime) {
      span(Date.parse(f.startTime), end.getTime(), (c) => {
        c.tail = true;
      });
      const c = at(Date.parse(f.startTime));
      if (c) c.problems++;
    } else if (f.severity !== 'valid') {
      later.push(f);
    }
  }
  // Log findings belong to the hour of the digest that lists them; a log no digest lists, to
  // the hour it was delivered in.
  for (const f of later) {
    const listedBy = f.digest === undefined ? undefined : byDigest.get(f.digest);
    const delivered = logKeyParts(f.key)?.deliveryTime.getTime();
    const c = listedBy ?? (delivered === undefined ? undefined : at(delivered));
    if (c) c.problems++;
  }
  return cells.map((c, i) => {
    const state: HourState =
      c.digest !== undefined && !c.missing
        ? c.digestInvalid || c.problems > 0
          ? 'invalid'
          : 'valid'
        : c.missing
          ? 'missing'
          : c.tail
            ? 'tail'
            : c.gap
              ? 'gap'
              : c.problems > 0
                ? 'invalid'
                : 'none';
    return { start: iso(first + i * DIGEST_PERIOD_MS), state, problems: c.problems, ...(c.digest !== undefined && { digest: c.digest }) };
  });
}
