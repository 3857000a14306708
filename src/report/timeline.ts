/**
 * The chain as a row of hours: what a reader takes in at a glance. Each hour of the range gets
 * one state from the findings: its digests valid (and every log they list), something in it
 * invalid, a digest missing, history rewritten after a checkpoint, in a gap of the chain, in a
 * deleted tail, or covered by nothing. A digest covers every hour its window overlaps, so a
 * chain whose digests end at :17 past the hour (as CloudTrail's do) covers its first hour too.
 * @module
 */
import type { Finding } from '../chain/findings.js';
import { digestKeyParts, logKeyParts } from '../format/keys.js';
import { DIGEST_PERIOD_MS, floorHour } from '../format/time.js';

/** The state of one hour. */
export type HourState = 'valid' | 'invalid' | 'missing' | 'rewritten' | 'gap' | 'tail' | 'none';

/** Every hour state, with what it means to a reader. */
export const HOUR_STATES: Readonly<Record<HourState, string>> = Object.freeze({
  valid: 'valid: its digest and every log file it lists are intact',
  invalid: 'invalid: its digest, a log file it lists, or a log file delivered in it fails a check',
  missing: 'missing: the digest of this hour is absent',
  rewritten: 'rewritten: the chain does not lead back to the digest a checkpoint pins; history was changed after the checkpoint was taken',
  gap: 'gap: the chain restarts after this hour; no digest covers it',
  tail: 'deleted tail: the newest digests were deleted (log files came after the newest digest, or a checkpoint pins a later one)',
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
  /** The digest covering it (`s3://...`), when one was found or is missing: the one ending in it, else one whose window overlaps it. */
  digest?: string;
}

/** Most hours drawn; a longer range is cut at its end (the findings table still holds everything). */
export const MAX_HOURS: number = 24 * 366;

interface Cell {
  digest?: string;
  /** The digest ending in this hour (the one its log findings belong to). */
  own?: boolean;
  /** A digest covering it, or a file in it, fails a check. */
  bad: boolean;
  missing: boolean;
  rewritten: boolean;
  gap: boolean;
  tail: boolean;
  problems: number;
}

const iso = (t: number): string => new Date(t).toISOString().slice(0, 19) + 'Z';

/** The time in a finding's digest key, or its end time. */
function digestEnd(f: Finding): number {
  return digestKeyParts(f.key)?.endTime.getTime() ?? (f.endTime ? Date.parse(f.endTime) : Number.NaN);
}

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
  const cells: Cell[] = Array.from({ length: count }, () => ({ bad: false, missing: false, rewritten: false, gap: false, tail: false, problems: 0 }));
  const at = (t: number): Cell | undefined => cells[Math.floor((t - first) / DIGEST_PERIOD_MS)];
  /** Mark every hour that `[from, to)` overlaps. */
  const span = (from: number, to: number, mark: (c: Cell) => void): void => {
    for (let t = floorHour(new Date(Math.max(from, first))).getTime(); t < to && t < first + count * DIGEST_PERIOD_MS; t += DIGEST_PERIOD_MS) {
      const c = at(t);
      if (c) mark(c);
    }
  };
  /** The end of the last hour drawn: a deleted tail or a rewritten history reaches it, even in a range of no length. */
  const drawnEnd = first + count * DIGEST_PERIOD_MS;
  /** A deleted tail from `from` to the end of the range. */
  const tailFrom = (from: number): void => {
    span(from, drawnEnd, (c) => void (c.tail = true));
    const c = at(from) ?? cells[0];
    if (c) c.problems++;
  };
  const byDigest = new Map<string, Cell>();
  const later: Finding[] = [];
  for (const f of findings) {
    if (f.kind === 'digest') {
      // A digest's window ends at the time in its key; it covers every hour it overlaps.
      const to = digestEnd(f);
      if (Number.isNaN(to)) continue;
      const from = f.startTime && Date.parse(f.startTime) < to ? Date.parse(f.startTime) : to - DIGEST_PERIOD_MS;
      span(from, to, (c) => {
        if (c.digest === undefined) c.digest = f.object;
        if (f.code === 'DIGEST_NOT_FOUND') c.missing = true;
        else if (f.severity === 'invalid') c.bad = true;
      });
      const home = at(to - 1);
      if (!home) continue;
      if (!home.own) [home.digest, home.own] = [f.object, true];
      byDigest.set(f.object, home);
      if (f.severity === 'invalid') home.problems++;
    } else if (f.code === 'CHAIN_GAP' && f.startTime && f.endTime) {
      span(Date.parse(f.startTime), Date.parse(f.endTime), (c) => void (c.gap = true));
    } else if (f.code === 'CHAIN_TAIL_MISSING' && f.startTime) {
      tailFrom(Date.parse(f.startTime));
    } else if (f.code === 'CHECKPOINT_ROLLBACK') {
      // Every digest after the newest one left is gone, the pinned one included.
      const newest = Date.parse(f.actual ?? '');
      tailFrom(Number.isNaN(newest) ? first : newest);
    } else if (f.code === 'CHECKPOINT_MISMATCH') {
      // History is not the one pinned from the pinned digest's hour on: nothing after it extends what was checked.
      const pinned = digestEnd(f);
      span(Number.isNaN(pinned) ? first : pinned - DIGEST_PERIOD_MS, drawnEnd, (c) => void (c.rewritten = true));
      const c = Number.isNaN(pinned) ? cells[0] : (at(pinned - 1) ?? cells[0]);
      if (c) c.problems++;
    } else if (f.severity !== 'valid') {
      later.push(f);
    }
  }
  // Log findings belong to the hour of the digest that lists them; a log no digest lists, to
  // the hour it was delivered in; a finding about the chain at a digest (a loop), to that digest's hour.
  for (const f of later) {
    const listedBy = f.digest === undefined ? undefined : byDigest.get(f.digest);
    const delivered = logKeyParts(f.key)?.deliveryTime.getTime();
    const c = listedBy ?? (delivered !== undefined ? at(delivered) : f.kind === 'chain' ? at(digestEnd(f) - 1) : undefined);
    if (!c) continue;
    c.problems++;
    c.bad = true;
  }
  return cells.map((c, i) => ({ start: iso(first + i * DIGEST_PERIOD_MS), state: stateOf(c), problems: c.problems, ...(c.digest !== undefined && { digest: c.digest }) }));
}

/** An hour's state: what is wrong in it first; a chain-level mark is never hidden behind valid digests. */
function stateOf(c: Cell): HourState {
  if (c.digest !== undefined && !c.missing) {
    if (c.bad) return 'invalid';
    return c.rewritten ? 'rewritten' : c.tail ? 'tail' : 'valid';
  }
  if (c.missing) return 'missing';
  if (c.rewritten) return 'rewritten';
  if (c.tail) return 'tail';
  if (c.gap) return 'gap';
  return c.bad ? 'invalid' : 'none';
}
