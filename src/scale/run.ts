/**
 * Running a shard where it is deployed (a command, a container, a Lambda function): the source
 * (a local copy or S3), the keys (given, or ListPublicKeys in the shard's region), the run, and
 * its report written whole where the plan says. Shared by the CLI and the Lambda handler.
 * @module
 */
import type { Platform } from '../platform/platform.js';
import { PublicKeySet } from '../crypto/keys.js';
import { ValidateLogsError } from '../errors.js';
import { DIGEST_PERIOD_MS } from '../format/time.js';
import { listPublicKeysOnline } from '../sources/cloudtrail.js';
import { LocalDirectory } from '../sources/local.js';
import { S3Storage } from '../sources/s3.js';
import type { ObjectSource } from '../sources/source.js';
import type { AwsHttpOptions } from '../sources/http.js';
import { SHARD_INDEX_VARIABLES, type ShardItem } from './manifest.js';
import { runShard, type ShardReport } from './shard.js';
import { DocumentStore, within } from './store.js';

/** Options of {@link runShardFromPlan}. */
export interface PlannedShardOptions {
  /** The shard. */
  item: ShardItem;
  /** Validate a local copy of the bucket (the bucket root) instead of S3. */
  localDir?: string;
  /** Public keys; without them (online only), ListPublicKeys in the shard's region. */
  keys?: PublicKeySet;
  /** An S3-compatible endpoint. */
  endpoint?: string;
  /** A profile of the shared AWS config files. */
  profile?: string;
  /** How to connect to AWS: CA bundle, certificate checks, timeouts, a line per request. */
  http?: AwsHttpOptions;
  /** Objects read from storage at once (default: 4 for a local copy, 32 on S3). */
  concurrency?: number;
  /** The runtime (its hashing pool); the default platform when omitted. */
  platform?: Platform;
  /** Where to write the report (a folder or `s3://BUCKET/PREFIX`); the plan's by default; none: not written. */
  reports?: string;
}

/** What {@link runShardFromPlan} did. */
export interface PlannedShardResult {
  /** The shard's report. */
  report: ShardReport;
  /** Where it was written, when it was. */
  written?: string;
}

/**
 * The report's name inside the reports folder: the same for every attempt at a shard, so a
 * retried shard replaces its report.
 * @param item - the shard
 * @returns the name
 */
export function reportName(item: ShardItem): string {
  return `shard-${String(item.index).padStart(6, '0')}.json`;
}

/**
 * The shard index from the engine's environment: the first of {@link SHARD_INDEX_VARIABLES} set.
 * @param env - the environment
 * @returns the index, or undefined when no variable is set
 * @throws RangeError when the variable is not a whole number
 */
export function shardIndexFromEnv(env: Record<string, string | undefined>): number | undefined {
  for (const name of SHARD_INDEX_VARIABLES) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (!/^\d{1,9}$/.test(v)) throw new RangeError(`${name} must be a whole number, not ${JSON.stringify(v)}`);
    return Number(v);
  }
  return undefined;
}

/**
 * Validate a planned shard and write its report (when there is somewhere to write it).
 * Idempotent: run again, it writes the same report to the same place.
 *
 * @param o - the shard, where to read, keys, where to write
 * @returns the report and where it was written
 * @throws ValidateLogsError when storage or CloudTrail fails (nothing is written then)
 */
export async function runShardFromPlan(o: PlannedShardOptions): Promise<PlannedShardResult> {
  const { item } = o;
  const access = { ...(o.endpoint && { endpoint: o.endpoint }), ...(o.profile && { profile: o.profile }), ...(o.http && { http: o.http }) };
  const source: ObjectSource = o.localDir
    ? new LocalDirectory(o.localDir, { bucket: item.bucket })
    : new S3Storage({ region: item.region, ...access });
  if (o.localDir && !o.keys) throw new ValidateLogsError('KEY_LIST_INVALID', 'a shard of a local copy needs public keys (--public-keys)');
  const call = { region: item.region, ...(o.profile && { profile: o.profile }), ...(o.http && { http: o.http }) };
  const online = !o.keys;
  const keys = o.keys ?? (await listPublicKeysOnline(call, new Date(item.start), new Date(Date.parse(item.end) + 2 * DIGEST_PERIOD_MS)));
  const report = await runShard({
    item,
    source,
    keys: new PublicKeySet(keys),
    concurrency: o.concurrency ?? (o.localDir ? 4 : 32),
    ...(o.platform && { platform: o.platform }),
    ...(online && { fetchKeys: (from: Date, to: Date) => listPublicKeysOnline(call, from, to) }),
  });
  const dest = o.reports ?? item.reports;
  if (dest === undefined) return { report };
  const where = within(dest, reportName(item));
  await new DocumentStore({ region: item.region, ...access }).write(where, JSON.stringify(report) + '\n');
  return { report, written: where };
}
