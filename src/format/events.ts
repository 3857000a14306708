/**
 * Finding the newest and oldest `eventTime` in a CloudTrail log while it streams past, with
 * no parsing and constant memory, for the digest's event time fields.
 * @module
 */

const PATTERN = new TextEncoder().encode('"eventTime":"');
const VALUE = 20; // YYYY-MM-DDTHH:MM:SSZ
/** A match: the pattern and its value. */
const MATCH = PATTERN.length + VALUE;
/** The pattern's one upper-case `T`, the byte searched for (it is rare in a log: one or two a record). */
const ANCHOR = PATTERN.indexOf(0x54);
/** In a time, what each byte must be: a digit (0) or the very byte. */
const SHAPE = Array.from('0000-00-00T00:00:00Z', (c) => (c === '0' ? 0 : c.charCodeAt(0)));
const latin1 = new TextDecoder('latin1');

/**
 * Scans chunks of a CloudTrail log (`{"Records":[{"eventTime":"..."}, ...]}`) for event times.
 * Logs of other shapes simply yield none.
 *
 * @example
 * ```ts
 * const scan = new EventTimeScanner();
 * await hashStream(body, { gzip: true, onContent: (c) => scan.update(c) });
 * scan.newest; // '2025-01-08T05:59:12Z' or null
 * ```
 */
export class EventTimeScanner {
  /** Newest event time seen, or null. */
  get newest(): string | null {
    return this.#newest && latin1.decode(this.#newest);
  }
  /** Oldest event time seen, or null. */
  get oldest(): string | null {
    return this.#oldest && latin1.decode(this.#oldest);
  }
  #newest: Uint8Array | null = null;
  #oldest: Uint8Array | null = null;
  /** The last bytes seen (fewer than a match), to find a match across two chunks. */
  #carry = new Uint8Array(0);

  /**
   * Scan the next chunk of the log's content. Bytes are compared as they are: no text is made.
   * @param chunk - the bytes
   */
  update(chunk: Uint8Array): void {
    if (this.#carry.length > 0) {
      // A match that starts in the previous chunks' last bytes and ends in this one.
      const joined = new Uint8Array(this.#carry.length + Math.min(chunk.length, MATCH - 1));
      joined.set(this.#carry);
      joined.set(chunk.subarray(0, joined.length - this.#carry.length), this.#carry.length);
      this.#scan(joined);
    }
    this.#scan(chunk);
    const keep = Math.min(MATCH - 1, this.#carry.length + chunk.length);
    const carry = new Uint8Array(keep);
    const fromChunk = Math.min(keep, chunk.length);
    carry.set(this.#carry.subarray(this.#carry.length - (keep - fromChunk)));
    carry.set(chunk.subarray(chunk.length - fromChunk), keep - fromChunk);
    this.#carry = carry;
  }

  #scan(bytes: Uint8Array): void {
    for (let t = bytes.indexOf(0x54, ANCHOR); t >= 0 && t - ANCHOR + MATCH <= bytes.length; t = bytes.indexOf(0x54, t + 1)) {
      const at = t - ANCHOR;
      let k = 0;
      while (k < PATTERN.length && bytes[at + k] === PATTERN[k]) k++;
      if (k < PATTERN.length) continue;
      const v = at + PATTERN.length;
      if (!isTime(bytes, v)) continue;
      if (this.#newest === null || compare(bytes, v, this.#newest) > 0) this.#newest = bytes.slice(v, v + VALUE);
      if (this.#oldest === null || compare(bytes, v, this.#oldest) < 0) this.#oldest = bytes.slice(v, v + VALUE);
    }
  }
}

/** Whether the bytes at `v` are a time of the form YYYY-MM-DDTHH:MM:SSZ. */
function isTime(bytes: Uint8Array, v: number): boolean {
  for (let i = 0; i < VALUE; i++) {
    const b = bytes[v + i]!;
    const want = SHAPE[i]!;
    if (want === 0 ? b < 0x30 || b > 0x39 : b !== want) return false;
  }
  return true;
}

/** The order of the time at `v` and `time` (same form: byte order is time order). */
function compare(bytes: Uint8Array, v: number, time: Uint8Array): number {
  for (let i = 0; i < VALUE; i++) {
    const d = bytes[v + i]! - time[i]!;
    if (d !== 0) return d;
  }
  return 0;
}
