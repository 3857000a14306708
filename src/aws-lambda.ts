/**
 * AWS Lambda handlers for AWS Step Functions (Distributed Map over a manifest in S3):
 * {@link handler} validates one manifest item and writes its report to S3; {@link mergeHandler}
 * merges the reports into one report in S3 and says whether the organization's chains are all
 * valid. Deploy with a two-line module:
 *
 * ```js
 * // index.mjs
 * export { handler, mergeHandler } from 'validate-logs/aws-lambda';
 * ```
 *
 * Deploy both functions on the `nodejs24.x` runtime (Node.js 24, an LTS line supported until
 * April 2028; the package needs Node.js ^20.19.0 or >=22.12.0), with 2048 MB and the 15-minute
 * timeout.
 *
 * Public keys come from ListPublicKeys in each shard's region (the function's role needs
 * `cloudtrail:ListPublicKeys`, `s3:ListBucket`, `s3:GetObject` on the trail bucket, and
 * `s3:PutObject` where reports go).
 * @module
 */
import type { Finding } from './chain/findings.js';
import type { Summary } from './chain/report.js';
import { ValidateLogsError } from './errors.js';
import { collectReports } from './scale/collect.js';
import { checkShardItem, parseManifest, type ShardItem } from './scale/manifest.js';
import { runShardFromPlan } from './scale/run.js';
import { DocumentStore, s3Location, within } from './scale/store.js';

/** A manifest line with where its report goes, as an ItemSelector can give it. */
export interface WrappedShardEvent {
  /** The manifest line. */
  item: ShardItem;
  /** Where to write the report: `s3://BUCKET/PREFIX/`. */
  reports?: string;
}

/** A Distributed Map item: the manifest line itself, or `{ item, reports }`. */
export type ShardEvent = ShardItem | WrappedShardEvent;

/** What {@link handler} returns to the state machine (small: the report itself is in S3). */
export interface ShardResult {
  /** The shard's index in the manifest. */
  index: number;
  /** Where its report was written. */
  report: string;
  /** Digest and log files found INVALID in the shard (the merge gives the verdict). */
  invalid: number;
}

/** The merge step's input. */
export interface MergeEvent {
  /** Where the shard reports are: `s3://BUCKET/PREFIX/`. */
  reports: string;
  /** The manifest, to name missing shards fully. */
  manifest?: string;
  /** Where to write the merged report; `merged.json` under the reports' prefix by default. */
  output?: string;
  /** A chain with no digest is no failure. */
  allowEmpty?: boolean;
  /** A gap in a chain is a failure. */
  failOnGap?: boolean;
}

/** What {@link mergeHandler} returns. */
export interface MergeResult {
  /** True when every chain passes. */
  ok: boolean;
  /** The exit status a single run would give: 0 or 1. */
  status: number;
  /** Chains merged. */
  chains: number;
  /** Chains that fail. */
  failed: number;
  /** Where the merged report was written. */
  report: string;
}

/** Options of the handler factories (tests and S3-compatible stores). */
export interface HandlerOptions {
  /** An S3-compatible endpoint for every S3 call. */
  endpoint?: string;
  /** Where reports go when neither the event nor the manifest says. */
  reports?: string;
}

const fromEnv = (): HandlerOptions => ({
  ...(process.env.VALIDATE_LOGS_REPORTS && { reports: process.env.VALIDATE_LOGS_REPORTS }),
});

/**
 * A shard handler with fixed options.
 * @param options - endpoint and default reports location
 * @returns the handler
 */
export function createShardHandler(options: HandlerOptions = {}): (event: ShardEvent) => Promise<ShardResult> {
  return async (event) => {
    const wrapped = typeof event === 'object' && event !== null && 'item' in event;
    const item = checkShardItem(wrapped ? event.item : event, 'the Map item');
    const reports = (wrapped ? event.reports : undefined) ?? item.reports ?? options.reports;
    if (!reports || !s3Location(reports)) {
      throw new ValidateLogsError('SHARD_INVALID', `shard ${item.index}: no s3://BUCKET/PREFIX/ to write its report to (the manifest's "reports", the event's, or VALIDATE_LOGS_REPORTS)`);
    }
    const { report, written } = await runShardFromPlan({ item, reports, ...(options.endpoint && { endpoint: options.endpoint }) });
    const s = report.summary;
    return { index: item.index, report: written!, invalid: s.digests.invalid + s.backfillDigests.invalid + s.logs.invalid };
  };
}

/**
 * A merge handler with fixed options.
 * @param options - endpoint
 * @returns the handler
 */
export function createMergeHandler(options: HandlerOptions = {}): (event: MergeEvent) => Promise<MergeResult> {
  return async (event) => {
    if (typeof event?.reports !== 'string' || !s3Location(event.reports)) throw new ValidateLogsError('SHARD_INVALID', 'the merge event needs "reports": "s3://BUCKET/PREFIX/"');
    const store = new DocumentStore(options.endpoint ? { endpoint: options.endpoint } : {});
    const manifest = event.manifest ? parseManifest(await store.read(event.manifest), event.manifest) : undefined;
    const { shards, chains } = await collectReports(store, [event.reports], manifest);
    const results: Array<{ chain: ShardItem; summary: Summary; empty: boolean; ok: boolean; findings: Finding[] }> = [];
    for await (const r of chains) {
      const ok = r.summary.ok && (!r.empty || event.allowEmpty === true) && (r.summary.gaps === 0 || event.failOnGap !== true);
      // The merged document keeps what is not valid: the valid objects are counted in the summaries.
      results.push({ chain: r.shard, summary: r.summary, empty: r.empty, ok, findings: r.findings.filter((f) => f.severity !== 'valid') });
    }
    const ok = results.every((r) => r.ok);
    const output = event.output ?? within(event.reports, 'merged.json');
    const first = shards[0]!;
    await store.write(
      output,
      JSON.stringify({
        tool: 'validate-logs',
        kind: 'merged',
        request: { plan: first.plan, shards: first.shards, startTime: first.chainStart, endTime: first.chainEnd },
        chains: results.map((r) => ({
          accountId: r.chain.accountId,
          region: r.chain.region,
          trailName: r.chain.trailName,
          homeRegion: r.chain.homeRegion,
          bucket: r.chain.bucket,
          summary: r.summary,
          empty: r.empty,
          ok: r.ok,
          findings: r.findings,
        })),
        ok,
      }) + '\n',
    );
    return { ok, status: ok ? 0 : 1, chains: results.length, failed: results.filter((r) => !r.ok).length, report: output };
  };
}

/**
 * Validate one shard (a Distributed Map item) and write its report to S3. Throws on storage
 * or CloudTrail failures, so that Step Functions retries the item.
 * @param event - the manifest line, or `{ item, reports }`
 * @returns the shard's index, its report's location and its INVALID count
 */
export const handler: (event: ShardEvent) => Promise<ShardResult> = (event) => createShardHandler(fromEnv())(event);

/**
 * Merge the shard reports under a prefix into one report in S3.
 * @param event - where the reports are, and the merge's options
 * @returns whether every chain passes, and where the merged report is
 */
export const mergeHandler: (event: MergeEvent) => Promise<MergeResult> = (event) => createMergeHandler(fromEnv())(event);
