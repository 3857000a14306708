/**
 * Finding the newest and oldest `eventTime` in a CloudTrail log while it streams past, with
 * no parsing and constant memory, for the digest's event time fields.
 * @module
 */

const PATTERN = Buffer.from('"eventTime":"');
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
  #carry: Buffer = Buffer.alloc(0);

  /**
   * Scan the next chunk of the log's content.
   * @param chunk - the bytes
   */
  update(chunk: Uint8Array): void {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#carry.length > 0) {
      this.#scan(Buffer.concat([this.#carry, buf.subarray(0, CARRY)]));
    }
    this.#scan(buf);
    this.#carry = Buffer.from(buf.subarray(Math.max(0, buf.length - CARRY)));
  }

  #scan(buf: Buffer): void {
    let at = buf.indexOf(PATTERN);
    while (at >= 0 && at + PATTERN.length + VALUE <= buf.length) {
      const v = buf.toString('latin1', at + PATTERN.length, at + PATTERN.length + VALUE);
      if (TIME_RE.test(v)) {
        if (this.newest === null || v > this.newest) this.newest = v;
        if (this.oldest === null || v < this.oldest) this.oldest = v;
      }
      at = buf.indexOf(PATTERN, at + 1);
    }
  }
}
