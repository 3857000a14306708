/**
 * Counting findings into the summary the AWS CLI prints (and the JSON report carries).
 * @module
 */
import type { Finding, FindingCode } from './findings.js';

/** Valid and invalid counts of one kind of object. */
export interface Count {
  /** Objects proven intact. */
  valid: number;
  /** Objects not proven intact. */
  invalid: number;
}

/** The summary of a run. */
export interface Summary {
  /** Digest files of the standard chain. */
  digests: Count;
  /** Digest files of the backfill chain. */
  backfillDigests: Count;
  /** Log files. */
  logs: Count;
  /** Number of `CHAIN_GAP` findings. */
  gaps: number;
  /** Findings per code. */
  byCode: Partial<Record<FindingCode, number>>;
  /** Earliest start of a valid digest, clipped to the requested start (ISO), as the AWS CLI reports it. */
  foundStart?: string;
  /** Latest end of a valid digest, clipped to the requested end. */
  foundEnd?: string;
  /** True when no finding is invalid. */
  ok: boolean;
}

/**
 * Accumulates findings into a {@link Summary}.
 *
 * @example
 * ```ts
 * const tally = new Tally(start, end);
 * for await (const f of verifyTrail(opts)) tally.add(f);
 * tally.summary().ok;
 * ```
 */
export class Tally {
  readonly #start: number;
  readonly #end: number;
  readonly #s: Summary = {
    digests: { valid: 0, invalid: 0 },
    backfillDigests: { valid: 0, invalid: 0 },
    logs: { valid: 0, invalid: 0 },
    gaps: 0,
    byCode: {},
    ok: true,
  };
  #foundStart: number | undefined;
  #foundEnd: number | undefined;

  /**
   * @param start - the requested start
   * @param end - the requested end
   */
  constructor(start: Date, end: Date) {
    this.#start = start.getTime();
    this.#end = end.getTime();
  }

  /**
   * Count one finding.
   * @param f - the finding
   */
  add(f: Finding): void {
    const s = this.#s;
    s.byCode[f.code] = (s.byCode[f.code] ?? 0) + 1;
    if (f.severity === 'invalid') s.ok = false;
    if (f.kind === 'chain') {
      if (f.code === 'CHAIN_GAP') s.gaps++;
      return;
    }
    const count = f.kind === 'log' ? s.logs : f.backfill ? s.backfillDigests : s.digests;
    if (f.severity === 'valid') count.valid++;
    else if (f.severity === 'invalid') count.invalid++;
    if (f.code === 'DIGEST_VALID' && f.startTime && f.endTime) {
      const a = Math.max(Date.parse(f.startTime), this.#start);
      const b = Math.min(Date.parse(f.endTime), this.#end);
      if (this.#foundStart === undefined || a < this.#foundStart) this.#foundStart = a;
      if (this.#foundEnd === undefined || b > this.#foundEnd) this.#foundEnd = b;
    }
  }

  /** @returns the summary so far (a copy) */
  summary(): Summary {
    const s = structuredClone(this.#s);
    if (this.#foundStart !== undefined) s.foundStart = new Date(this.#foundStart).toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (this.#foundEnd !== undefined) s.foundEnd = new Date(this.#foundEnd).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return s;
  }
}
