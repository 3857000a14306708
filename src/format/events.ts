/**
 * Finding the newest and oldest `eventTime` in a CloudTrail log while it streams past, with
 * no parsing and constant memory, for the digest's event time fields.
 * @module
 */

const PATTERN = '"eventTime":"';
const VALUE = 20; // YYYY-MM-DDTHH:MM:SSZ
const CARRY = PATTERN.length + VALUE - 1;
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** One character per byte (a single-byte encoding), so that positions in the text are positions in the bytes. */
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
  newest: string | null = null;
  /** Oldest event time seen, or null. */
  oldest: string | null = null;
  #carry = '';

  /**
   * Scan the next chunk of the log's content.
   * @param chunk - the bytes
   */
  update(chunk: Uint8Array): void {
    const text = latin1.decode(chunk);
    // A match across the previous chunk's end and this one's start.
    if (this.#carry.length > 0) this.#scan(this.#carry + text.slice(0, CARRY));
    this.#scan(text);
    // The last bytes seen, across chunks shorter than a match (or empty).
    this.#carry = text.length >= CARRY ? text.slice(text.length - CARRY) : (this.#carry + text).slice(-CARRY);
  }

  #scan(text: string): void {
    for (let at = text.indexOf(PATTERN); at >= 0 && at + PATTERN.length + VALUE <= text.length; at = text.indexOf(PATTERN, at + 1)) {
      const v = text.slice(at + PATTERN.length, at + PATTERN.length + VALUE);
      if (TIME_RE.test(v)) {
        if (this.newest === null || v > this.newest) this.newest = v;
        if (this.oldest === null || v < this.oldest) this.oldest = v;
      }
    }
  }
}
