/**
 * The log files a trail region has in storage, held compactly: a few numbers per log and no
 * string, so that memory stays flat whatever the number of logs (a key is rebuilt from its
 * parts when a finding needs it). Used to find logs no digest lists, to count the logs of a
 * gap or a hole, and to see a deleted tail.
 * @module
 */
import { logFolder, logKey, type TrailRef } from '../format/keys.js';
import { formatDateFolders, utcTime } from '../format/time.js';
import type { ListedObject, ObjectSource } from '../sources/source.js';

const DAY_MS = 24 * 3_600_000;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;
/** Length of `YYYYMMDDTHHmmZ_` + UNIQUE16 + `.json.gz` at the end of a log key. */
const TAIL = 15 + 16 + 8;

/** Eight base-62 characters of `s` from `at` as one exact number (62^8 < 2^53). */
function pack(s: string, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) v = v * 62 + VALUE[s.charCodeAt(i)]!;
  return v;
}

function unpack(v: number): string {
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = ALPHABET[v % 62]! + out;
    v = Math.floor(v / 62);
  }
  return out;
}

/**
 * The delivery time written in a log key already matched against the log key shape
 * (`..._YYYYMMDDTHHmmZ_UNIQUE16.json.gz`), or undefined for an impossible date.
 * @param key - the key
 * @returns the time in ms
 */
export function logKeyTime(key: string): number | undefined {
  const at = key.length - TAIL;
  const n = (i: number, len: number): number => {
    let v = 0;
    for (let j = at + i; j < at + i + len; j++) v = v * 10 + key.charCodeAt(j) - 48;
    return v;
  };
  const y = n(0, 4);
  const mo = n(4, 2);
  const d = n(6, 2);
  const h = n(9, 2);
  const mi = n(11, 2);
  return utcTime(y, mo, d, h, mi);
}

/**
 * Whether a log key's date folder (`YYYY/MM/DD/` right after `folder`) is the date in its
 * name; both already matched as digits.
 */
function inItsDateFolder(key: string, folder: number): boolean {
  const at = key.length - TAIL;
  // `YYYY/MM/DD` against `YYYYMMDD`: the year, the month, the day (once per listed log: no loop over a table).
  const c = (from: number, to: number): boolean => key.charCodeAt(folder + from) === key.charCodeAt(at + to);
  return c(0, 0) && c(1, 1) && c(2, 2) && c(3, 3) && c(5, 4) && c(6, 5) && c(8, 6) && c(9, 7);
}

/**
 * A matcher for the keys of a trail region's log files: one regex without captures.
 * @param trail - the trail and region
 * @returns the test
 */
export function logKeyMatcher(trail: TrailRef): (key: string) => boolean {
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(
    `^${escape(logFolder(trail))}\\d{4}/\\d{2}/\\d{2}/${trail.accountId}_CloudTrail_${escape(trail.region)}_\\d{8}T\\d{4}Z_[A-Za-z0-9]{16}\\.json\\.gz$`,
  );
  return (key) => re.test(key);
}

/**
 * What tells a log file of a trail region in storage, for everything that lists them (the
 * inventory of a validation, the generator): a key of the log key shape with the trail's
 * account and region, in the date folder of the time in its name, a possible time.
 * @param trail - the trail and region
 * @returns the delivery time in a key's name (ms) for a log file of the trail region, undefined for any other key
 */
export function trailLogTime(trail: TrailRef): (key: string) => number | undefined {
  const matches = logKeyMatcher(trail);
  const folder = logFolder(trail).length;
  return (key) => {
    const time = matches(key) ? logKeyTime(key) : undefined;
    return time !== undefined && inItsDateFolder(key, folder) ? time : undefined;
  };
}

/** Logs a piece of the inventory's columns holds (2^14: 272 KiB of columns); the place of log i is piece i >> PIECE_BITS, at i & IN_PIECE. */
const PIECE_BITS = 14;
const PIECE = 1 << PIECE_BITS;
const IN_PIECE = PIECE - 1;

/**
 * A log's time is held in minutes (a key's time is a minute) from 2^30 minutes before 1970, 33
 * bits from year 100 to 9999 (what a key may name): the low 32 in a column of its own, the
 * 33rd in the mark's byte, above the chains' marks (1 and 2).
 */
const MINUTE_MS = 60_000;
const MINUTES_BEFORE_1970 = 2 ** 30;
const TIME_HIGH = 4;
/** The chains' marks in the mark's byte (1: the standard chain; 2: the backfill chain). */
const MARKS = 1 | 2;
const TWO_32 = 2 ** 32;

/** The log files of a trail region in storage, by delivery time, each with a "listed by a digest" mark. */
export class LogInventory {
  readonly #trail: TrailRef;
  // Each column in pieces of PIECE logs, one added when the last is full: nothing is copied, and
  // no column is held twice while it grows (doubled, the old and the new arrays were alive together).
  // 17 bytes a log: the time's low 32 bits (minutes); each half of the unique part (8 base-62
  // characters, under 2^48) as its low 32 and high 16 bits; a byte of marks and the time's 33rd bit.
  readonly #minutes: Uint32Array[] = [];
  readonly #u1: Uint32Array[] = [];
  readonly #u1High: Uint16Array[] = [];
  readonly #u2: Uint32Array[] = [];
  readonly #u2High: Uint16Array[] = [];
  readonly #listed: Uint8Array[] = [];
  // (Sorted by time, as listings are; a key is found by binary search on its minute.)
  #size = 0;
  readonly #matches: (key: string) => boolean;
  readonly #logTime: (key: string) => number | undefined;

  /** @param trail - the trail and region whose logs these are */
  constructor(trail: TrailRef) {
    this.#trail = trail;
    this.#matches = logKeyMatcher(trail);
    this.#logTime = trailLogTime(trail);
  }

  /**
   * List a trail region's log files delivered in [from, to] (by the time in their keys).
   * @param source - where to list
   * @param bucket - the bucket
   * @param trail - the trail and region
   * @param from - earliest delivery time (ms)
   * @param to - latest delivery time (ms; Infinity for no limit)
   * @returns the inventory
   */
  static async load(source: ObjectSource, bucket: string, trail: TrailRef, from: number, to: number): Promise<LogInventory> {
    const inv = new LogInventory(trail);
    await inv.extend(source, bucket, from, to);
    return inv;
  }

  /**
   * Add the log files delivered in (the last time held, or `from`, .. `to`]: listing goes on
   * where an earlier one stopped. The listing runs to the end of the last date folder of the
   * range, whatever the names in it say: every object in those folders that is not a log file of
   * the trail's account and region (another name, a name whose time is not its folder's date, a
   * subfolder, an unreadable entry) is kept in {@link LogInventory.odd}.
   * @param source - where to list
   * @param bucket - the bucket
   * @param from - earliest delivery time (ms) when the inventory is empty
   * @param to - latest delivery time (ms; Infinity for no limit)
   */
  async extend(source: ObjectSource, bucket: string, from: number, to: number): Promise<void> {
    const folder = logFolder(this.#trail);
    const last = this.#size > 0 ? this.timeAt(this.#size - 1) : undefined;
    const since = last ?? from;
    // `FOLDER/YYYY/MM/DD` sorts just before every key of that day's folder. Keys sort by their
    // time: an earlier listing's last log of its window, and what came before it, need not be
    // listed again (on a busy day, a folder listed twice costs milliseconds).
    const day = Number.isFinite(since) ? `${folder}${formatDateFolders(new Date(since))}` : undefined;
    const startAfter = day !== undefined && this.#windowUpTo > day ? this.#windowUpTo : day;
    // ... and `FOLDER/YYYY/MM/DD` of the next day after every key of the last day in range.
    const stopAt = Number.isFinite(to) ? `${folder}${formatDateFolders(new Date(to + DAY_MS))}` : undefined;
    const pages = source.listPages ? source.listPages(bucket, folder, startAfter) : onePerPage(source.list(bucket, folder, startAfter));
    listing: for await (const page of pages) for (const entry of page) {
      const key = entry.key;
      if (stopAt !== undefined && key >= stopAt) break listing;
      const seen = key <= this.#seenUpTo;
      // An unreadable entry named as a log stays a log: reading it, if a digest lists it, is the finding.
      const time = this.#logTime(key);
      if (time === undefined) {
        if (!seen) this.#odd.push(entry.unreadable === undefined ? { key } : { key, unreadable: entry.unreadable });
      } else {
        if (time >= from && time <= to && !(last !== undefined && time <= this.#limit)) this.#add(key, time);
        if (time <= to) this.#windowUpTo = key;
      }
      if (!seen) this.#seenUpTo = key;
    }
    this.#limit = Math.max(this.#limit, to);
  }

  readonly #odd: ListedObject[] = [];
  #seenUpTo = '';
  /** The last log key listed whose time is in a listed window: no later listing adds anything up to it. */
  #windowUpTo = '';

  /**
   * The objects in the listed date folders that are not log files of the trail's account and
   * region (names of another shape, another account or region in the name, a name whose time is
   * not its folder's date, subfolders' contents, unreadable entries), in listing order.
   */
  get odd(): readonly ListedObject[] {
    return this.#odd;
  }

  /** The latest delivery time listed so far (everything up to it is held). */
  #limit = Number.NEGATIVE_INFINITY;

  #add(key: string, time: number): void {
    const i = this.#size++;
    const j = i & IN_PIECE;
    if (j === 0) this.#grow();
    const p = i >> PIECE_BITS;
    const at = key.length - 24;
    const minutes = time / MINUTE_MS + MINUTES_BEFORE_1970;
    this.#minutes[p]![j] = minutes; // (stored modulo 2^32)
    if (minutes >= TWO_32) this.#listed[p]![j] = TIME_HIGH;
    const u1 = pack(key, at);
    const u2 = pack(key, at + 8);
    this.#u1[p]![j] = u1;
    this.#u1High[p]![j] = u1 / TWO_32;
    this.#u2[p]![j] = u2;
    this.#u2High[p]![j] = u2 / TWO_32;
  }

  #grow(): void {
    this.#minutes.push(new Uint32Array(PIECE));
    this.#u1.push(new Uint32Array(PIECE));
    this.#u1High.push(new Uint16Array(PIECE));
    this.#u2.push(new Uint32Array(PIECE));
    this.#u2High.push(new Uint16Array(PIECE));
    this.#listed.push(new Uint8Array(PIECE));
  }

  /** The i-th log's time, in minutes from 2^30 minutes before 1970, at piece p, place j. */
  #minutesAt(p: number, j: number): number {
    return this.#minutes[p]![j]! + (this.#listed[p]![j]! & TIME_HIGH ? TWO_32 : 0);
  }

  /** Number of log files. */
  get size(): number {
    return this.#size;
  }

  /**
   * Delivery time of the i-th log (ascending).
   * @param i - position
   * @returns the time in ms
   */
  timeAt(i: number): number {
    return (this.#minutesAt(i >> PIECE_BITS, i & IN_PIECE) - MINUTES_BEFORE_1970) * MINUTE_MS;
  }

  /**
   * The key of the i-th log.
   * @param i - position
   * @returns the key
   */
  keyAt(i: number): string {
    const p = i >> PIECE_BITS;
    const j = i & IN_PIECE;
    const u1 = this.#u1High[p]![j]! * TWO_32 + this.#u1[p]![j]!;
    const u2 = this.#u2High[p]![j]! * TWO_32 + this.#u2[p]![j]!;
    return logKey(this.#trail, new Date(this.timeAt(i)), unpack(u1) + unpack(u2));
  }

  /**
   * Mark the log with this key as listed by a digest of a chain.
   * @param key - a key a digest lists
   * @param chain - which chain's digest lists it: 1 the standard chain, 2 the backfill chain
   * @returns `first` when this is the first listing of a log held here by that chain, `again`
   *   when the chain listed it before, `absent` when no such log is held (another shape, or not
   *   in storage, or outside the listed time)
   */
  mark(key: string, chain: 1 | 2 = 1): 'first' | 'again' | 'absent' {
    if (!this.#matches(key)) return 'absent';
    const time = logKeyTime(key);
    if (time === undefined) return 'absent';
    const at = key.length - 24;
    const u1 = pack(key, at);
    const u2 = pack(key, at + 8);
    const u1Low = u1 >>> 0;
    const u2Low = u2 >>> 0;
    // Logs are held by time: the few of the same minute are compared by their unique part (no index to keep).
    const minutes = time / MINUTE_MS + MINUTES_BEFORE_1970;
    for (let i = this.indexOf(time); i < this.#size; i++) {
      const p = i >> PIECE_BITS;
      const j = i & IN_PIECE;
      if (this.#minutesAt(p, j) !== minutes) break;
      if (this.#u1[p]![j] === u1Low && this.#u2[p]![j] === u2Low && this.#u1High[p]![j]! * TWO_32 + u1Low === u1 && this.#u2High[p]![j]! * TWO_32 + u2Low === u2) {
        const listed = this.#listed[p]!;
        const before = listed[j]! & chain;
        listed[j]! |= chain;
        return before ? 'again' : 'first';
      }
    }
    return 'absent';
  }

  /**
   * Whether a digest listed the i-th log.
   * @param i - position
   * @returns true when marked
   */
  listed(i: number): boolean {
    return (this.#listed[i >> PIECE_BITS]![i & IN_PIECE]! & MARKS) !== 0;
  }

  /**
   * Number of logs delivered in [from, to).
   * @param from - ms
   * @param to - ms
   * @returns the count
   */
  count(from: number, to: number): number {
    return this.indexOf(to) - this.indexOf(from);
  }

  /**
   * Position of the first log delivered at or after `t`.
   * @param t - ms
   * @returns the position (size when none)
   */
  indexOf(t: number): number {
    // In the held minutes (a time between two minutes falls between them: a double here holds a thousandth of a millisecond).
    const minutes = t / MINUTE_MS + MINUTES_BEFORE_1970;
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#minutesAt(mid >> PIECE_BITS, mid & IN_PIECE) < minutes) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A listing one entry a page, for a source that lists only entry by entry. */
async function* onePerPage(list: AsyncIterable<ListedObject>): AsyncGenerator<readonly ListedObject[]> {
  for await (const entry of list) yield [entry];
}
