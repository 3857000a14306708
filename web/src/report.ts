/**
 * The JSON report's verdict and counts from a run's {@link Summary}, as `validate-logs
 * --output json` writes them (`schema/report.schema.json`), for one region.
 *
 * The command builds the same tail inline (src/cli/validate-logs.ts); once report building
 * is a pure function of the core, this file gives way to it.
 * @module
 */
import type { Summary } from '../../src/chain/report.js';
import type { Counts, ReportTail } from './protocol.js';

/** Options that change the verdict, as the command's flags do. */
export interface VerdictOptions {
  /** `--allow-empty`: no digest in range is no failure. */
  allowEmpty?: boolean;
  /** `--fail-on-gap`: a gap is a failure. */
  failOnGap?: boolean;
}

/**
 * Whether a region's summary says no digest was found in range.
 * @param s - the summary
 * @returns true when it counted no digest
 */
export function isEmpty(s: Summary): boolean {
  return s.digests.valid + s.digests.invalid + s.backfillDigests.valid + s.backfillDigests.invalid === 0;
}

/**
 * The report's tail for one region.
 * @param region - the region
 * @param s - its summary
 * @param options - verdict options
 * @returns `found`, `summary`, `regions`, `empty` and `ok`
 */
export function reportTail(region: string, s: Summary, options: VerdictOptions = {}): ReportTail {
  const empty = isEmpty(s);
  const ok = s.ok && (!empty || options.allowEmpty === true) && (s.gaps === 0 || options.failOnGap !== true);
  const found = s.foundStart && s.foundEnd ? { startTime: s.foundStart, endTime: s.foundEnd } : null;
  const counts: Counts = { digests: s.digests, backfillDigests: s.backfillDigests, logs: s.logs, gaps: s.gaps, byCode: s.byCode };
  return { found, summary: counts, regions: [{ region, found, summary: counts, empty, ok }], empty, ok };
}
