/**
 * The log files a trail region has in storage, held compactly: a few numbers per log and no
 * string, so that memory stays flat whatever the number of logs (a key is rebuilt from its
 * parts when a finding needs it). Used to find logs no digest lists, to count the logs of a
 * gap or a hole, and to see a deleted tail.
 * @module
 */
import { logFolder, logKey, type TrailRef } from '../format/keys.js';
import { formatDateFolders } from '../format/time.js';
import type { ObjectSource } from '../sources/source.js';

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
  const [y, mo, d, h, mi] = [n(0, 4), n(4, 2), n(6, 2), n(9, 2), n(11, 2)];
  const t = Date.UTC(y, mo - 1, d, h, mi);
  const check = new Date(t);
  return check.getUTCMonth() === mo - 1 && check.getUTCDate() === d && h < 24 && mi < 60 ? t : undefined;
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

/** The log files of a trail region in storage, by delivery time, each with a "listed by a digest" mark. */
export class LogInventory {
  readonly #trail: TrailRef;
  #times = new Float64Array(1024);
  #u1 = new Float64Array(1024);
  #u2 = new Float64Array(1024);
  #listed = new Uint8Array(1024);
  // (Sorted by time, as listings are; a key is found by binary search on its minute.)
  #size = 0;
  readonly #matches: (key: string) => boolean;

  /** @param trail - the trail and region whose logs these are */
  constructor(trail: TrailRef) {
    this.#trail = trail;
    this.#matches = logKeyMatcher(trail);
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
   * where an earlier one stopped.
   * @param source - where to list
   * @param bucket - the bucket
   * @param from - earliest delivery time (ms) when the inventory is empty
   * @param to - latest delivery time (ms; Infinity for no limit)
   */
  async extend(source: ObjectSource, bucket: string, from: number, to: number): Promise<void> {
    const folder = logFolder(this.#trail);
    const last = this.#size > 0 ? this.#times[this.#size - 1]! : undefined;
    const since = last ?? from;
    // `FOLDER/YYYY/MM/DD` sorts just before every key of that day's folder.
    const startAfter = Number.isFinite(since) ? `${folder}${formatDateFolders(new Date(since))}` : undefined;
    for await (const { key } of source.list(bucket, folder, startAfter)) {
      if (!this.#matches(key)) continue;
      const time = logKeyTime(key);
      if (time === undefined || time < from || (last !== undefined && time <= this.#limit)) continue;
      if (time > to) break;
      this.#add(key, time);
    }
    this.#limit = Math.max(this.#limit, to);
  }

  /** The latest delivery time listed so far (everything up to it is held). */
  #limit = Number.NEGATIVE_INFINITY;

  #add(key: string, time: number): void {
    if (this.#size === this.#times.length) this.#grow();
    const i = this.#size++;
    const at = key.length - 24;
    const u1 = pack(key, at);
    this.#times[i] = time;
    this.#u1[i] = u1;
    this.#u2[i] = pack(key, at + 8);
  }

  #grow(): void {
    const n = this.#times.length * 2;
    const grow = <T extends Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.#times = grow(this.#times, (k) => new Float64Array(k));
    this.#u1 = grow(this.#u1, (k) => new Float64Array(k));
    this.#u2 = grow(this.#u2, (k) => new Float64Array(k));
    this.#listed = grow(this.#listed, (k) => new Uint8Array(k));
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
    return this.#times[i]!;
  }

  /**
   * The key of the i-th log.
   * @param i - position
   * @returns the key
   */
  keyAt(i: number): string {
    return logKey(this.#trail, new Date(this.#times[i]!), unpack(this.#u1[i]!) + unpack(this.#u2[i]!));
  }

  /**
   * Mark the log with this key as listed by a digest (keys of other shapes are ignored).
   * @param key - a key a digest lists
   */
  mark(key: string): void {
    if (!this.#matches(key)) return;
    const time = logKeyTime(key);
    if (time === undefined) return;
    const at = key.length - 24;
    const u1 = pack(key, at);
    const u2 = pack(key, at + 8);
    // Logs are held by time: the few of the same minute are compared by their unique part (no index to keep).
    for (let i = this.indexOf(time); i < this.#size && this.#times[i] === time; i++) {
      if (this.#u1[i] === u1 && this.#u2[i] === u2) this.#listed[i] = 1;
    }
  }

  /**
   * Whether a digest listed the i-th log.
   * @param i - position
   * @returns true when marked
   */
  listed(i: number): boolean {
    return this.#listed[i] === 1;
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
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#times[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
