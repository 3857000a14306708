/**
 * Finding the newest and oldest `eventTime` in a CloudTrail log while it streams past, with
 * no parsing and constant memory, for the digest's event time fields.
 * @module
 */

const PATTERN = Uint8Array.from('"eventTime":"', (c) => c.charCodeAt(0));
const VALUE = 20; // YYYY-MM-DDTHH:MM:SSZ
const CARRY = PATTERN.length + VALUE - 1;
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

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
  newest: string | null = null;
  /** Oldest event time seen, or null. */
  oldest: string | null = null;
  #carry: Uint8Array = new Uint8Array(0);

  /**
   * Scan the next chunk of the log's content.
   * @param chunk - the bytes
   */
  update(chunk: Uint8Array): void {
    if (this.#carry.length > 0) {
      const joined = new Uint8Array(this.#carry.length + Math.min(CARRY, chunk.length));
      joined.set(this.#carry);
      joined.set(chunk.subarray(0, CARRY), this.#carry.length);
      this.#scan(joined);
    }
    this.#scan(chunk);
    this.#carry = chunk.slice(Math.max(0, chunk.length - CARRY));
  }

  #scan(buf: Uint8Array): void {
    const first = PATTERN[0]!;
    const last = buf.length - PATTERN.length - VALUE;
    for (let at = buf.indexOf(first); at >= 0 && at <= last; at = buf.indexOf(first, at + 1)) {
      let i = 1;
      while (i < PATTERN.length && buf[at + i] === PATTERN[i]) i++;
      if (i < PATTERN.length) continue;
      const v = String.fromCharCode(...buf.subarray(at + PATTERN.length, at + PATTERN.length + VALUE));
      if (TIME_RE.test(v)) {
        if (this.newest === null || v > this.newest) this.newest = v;
        if (this.oldest === null || v < this.oldest) this.oldest = v;
      }
    }
  }
}
