/**
 * What `validate-logs` is asked to do, decided before anything is validated: the flags read
 * and checked, where the objects are (a local copy or S3, the bucket, the prefix), which
 * regions, which keys. Every mistake here is a usage error (exit 2) before any output.
 * @module
 */
import { stat } from 'node:fs/promises';
import { bucketOfNewestDigest } from '../chain/listing.js';
import { DEFAULT_TAIL_GRACE_MS } from '../chain/verifier.js';
import { PublicKeySet } from '../crypto/keys.js';
import { digestFolder, parseTrailArn, type TrailArn, type TrailRef } from '../format/keys.js';
import { formatDigestTime } from '../format/time.js';
import { LocalDirectory } from '../sources/local.js';
import type { AwsHttpOptions } from '../sources/http.js';
import type { ObjectSource } from '../sources/source.js';
import type { Platform } from '../platform/platform.js';
import { readFlagText } from './flag-file.js';
import { awsAccess } from './global.js';
import { concurrencyFlag, threadsFlag, timeFlag, UsageError, type CommandIO, type Flags } from './io.js';

/** The flags of `validate-logs`. */
export const VALIDATE_OPTIONS = {
  'trail-arn': { type: 'string' },
  'start-time': { type: 'string' },
  'end-time': { type: 'string' },
  's3-bucket': { type: 'string' },
  's3-prefix': { type: 'string' },
  'account-id': { type: 'string' },
  'organization-id': { type: 'string' },
  region: { type: 'string' },
  regions: { type: 'string' },
  verbose: { type: 'boolean' },
  'local-dir': { type: 'string' },
  'public-keys': { type: 'string', multiple: true },
  profile: { type: 'string' },
  'endpoint-url': { type: 'string' },
  'save-to': { type: 'string' },
  output: { type: 'string' },
  'allow-empty': { type: 'boolean' },
  'fail-on-gap': { type: 'boolean' },
  'tail-grace': { type: 'string' },
  concurrency: { type: 'string' },
  threads: { type: 'string' },
  'max-log-size': { type: 'string' },
  'no-progress': { type: 'boolean' },
  checkpoint: { type: 'string' },
  'checkpoint-public-key': { type: 'string', multiple: true },
  'checkpoint-out': { type: 'string' },
  'checkpoint-key': { type: 'string' },
  'checkpoint-name': { type: 'string' },
  'timestamp-url': { type: 'string' },
  'tsa-cert': { type: 'string' },
  report: { type: 'string' },
} as const;


/** The flags of `validate-logs`, parsed. */
export type ValidateFlags = Flags<typeof VALIDATE_OPTIONS>;

/** The flags read and checked: what to validate and how, before any storage is touched. */
export interface Settings {
  /** The trail ARN as given. */
  arnText: string;
  /** The trail ARN, parsed. */
  arn: TrailArn;
  /** Requested start. */
  start: Date;
  /** Requested end. */
  end: Date;
  /** `start` as the AWS CLI prints it. */
  startText: string;
  /** `end` as the AWS CLI prints it. */
  endText: string;
  /** The output format. */
  output: 'text' | 'json';
  /** Objects read from storage at once. */
  concurrency: number;
  /** The runtime, with the pool `--threads` asks for. */
  platform: Platform;
  /** Cap on a log's uncompressed size, when given. */
  maxLogBytes?: number;
  /** Logs this long after the newest digest mean a deleted tail. */
  tailGraceMs: number;
  /** Notes for stderr (an --end-time in the future, moved to now). */
  notes?: string[];
  /** How the AWS clients connect (the AWS CLI's global options). */
  http?: AwsHttpOptions;
}

/** True when the arguments ask for JSON output (read even when they do not parse). */
export function wantsJson(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === '--output=json' || (a === '--output' && argv[i + 1] === 'json'));
}

/**
 * Read and check the flags that need no storage.
 * @param flags - the parsed flags
 * @param need - returns a required flag or throws the usage error naming it
 * @param io - for the clock (the default end time)
 * @param defaultStart - the start when `--start-time` is not given (a checkpoint's oldest pinned end)
 * @returns the settings
 * @throws UsageError
 */
export function readSettings(flags: ValidateFlags, need: (flag: keyof typeof VALIDATE_OPTIONS) => string, io: CommandIO, defaultStart?: Date): Settings {
  const output = flags.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, not ${JSON.stringify(output)}`);
  const arnText = need('trail-arn');
  let arn: TrailArn;
  try {
    arn = parseTrailArn(arnText);
  } catch (e) {
    throw new UsageError(`--trail-arn: ${(e as Error).message}`);
  }
  // From a checkpoint, the run starts where it left off unless told otherwise.
  const fromCheckpoint = defaultStart !== undefined && flags['start-time'] === undefined;
  const start = fromCheckpoint ? defaultStart : timeFlag(need('start-time'), '--start-time');
  let { end, note } = endTimeFlag(flags['end-time'], io.now(), 'validating');
  if (fromCheckpoint && start > end) {
    // An end before the pinned digests still asks whether the chain reaches them: a rollback is a finding, not a usage error.
    note = `--end-time ${flags['end-time']} is before the end of the digests the checkpoint pins: validating at ${formatDigestTime(start)}, whether the chain still reaches them`;
    end = start;
  }
  checkRange(start, end, flags['end-time'] === undefined || note !== undefined);
  const local = flags['local-dir'];
  const concurrency = flags.concurrency === undefined ? (local ? 4 : 32) : concurrencyFlag(flags.concurrency);
  const platform = threadsFlag(flags.threads);
  const maxLogBytes = flags['max-log-size'] === undefined ? undefined : parseSize(flags['max-log-size'], '--max-log-size');
  const tailGraceMs = flags['tail-grace'] === undefined ? DEFAULT_TAIL_GRACE_MS : parseDuration(flags['tail-grace'], '--tail-grace');
  if (local && (flags.profile || flags['endpoint-url'])) throw new UsageError('--profile and --endpoint-url are for S3; a --local-dir run uses no AWS access');
  if (flags.region && flags.regions) throw new UsageError('--region and --regions cannot be used together');
  return {
    arnText,
    arn,
    start,
    end,
    startText: formatDigestTime(start),
    endText: formatDigestTime(end),
    output,
    concurrency,
    platform,
    ...(maxLogBytes !== undefined && { maxLogBytes }),
    tailGraceMs,
    ...(note !== undefined && { notes: [note] }),
    ...(io.http && { http: io.http }),
  };
}

/**
 * The end of a range from `--end-time`, or now when it is not given. An end in the future is
 * the present moment: no digest exists yet past now, so a later end would only judge the
 * newest log files against digests not due yet (and a year such as 9999 would name digest
 * keys no CloudTrail writes).
 * @param text - the flag's value, if given
 * @param now - the present moment
 * @param doing - what the command does up to the end, for the note: `validating`, `planning`
 * @returns the end, and the note to say on stderr when the end was moved to now
 * @throws UsageError when the value is not a time
 */
export function endTimeFlag(text: string | undefined, now: Date, doing: string): { end: Date; note?: string } {
  if (text === undefined) return { end: now };
  const end = timeFlag(text, '--end-time');
  if (end.getTime() <= now.getTime()) return { end };
  return { end: now, note: `--end-time ${text} is in the future: ${doing} up to now, ${formatDigestTime(now)} (no digest exists past the present moment)` };
}

/**
 * Check that a range starts before it ends.
 * @param start - its start
 * @param end - its end
 * @param endIsNow - the end is the present moment (no --end-time, or a later one moved to it)
 * @throws UsageError
 */
export function checkRange(start: Date, end: Date, endIsNow: boolean): void {
  if (start <= end) return;
  if (endIsNow) throw new UsageError(`--start-time ${formatDigestTime(start)} is in the future: nothing has been delivered yet`);
  throw new UsageError('Invalid time range specified: start-time must occur before end-time');
}

/**
 * Decide where to read, which regions and which keys: a local copy, or S3 (asking CloudTrail
 * for the bucket and prefix when not given).
 * @param flags - the parsed flags
 * @param settings - the checked flags
 * @returns the plan
 * @throws UsageError, or ValidateLogsError from CloudTrail or S3
 */
export function makePlan(flags: ValidateFlags, settings: Settings): Promise<Plan> {
  const local = flags['local-dir'];
  return local ? planLocal(flags, local, settings.arn, settings.start, settings.end) : planOnline(flags, settings);
}

/** A size flag: `4GiB`, `500MB`, `10GB`, `123` (bytes). */
function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/i.exec(text.trim());
  const unit = (m?.[2] ?? 'B').toLowerCase();
  const scale: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };
  const bytes = m ? Math.floor(Number(m[1]) * scale[unit]!) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new UsageError(`${flag} must be a size such as 4GiB, 500MB or a number of bytes, not ${JSON.stringify(text)}`);
  return bytes;
}

/**
 * A duration flag: `2h`, `90m`, `45s`, or a number of minutes.
 * @param text - the flag's value
 * @param flag - the flag's name, with dashes, for the message
 * @returns the duration in ms
 * @throws UsageError naming the flag
 */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(h|m|s)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} must be a duration such as 2h, 90m or 45s, not ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 's' ? 1000 : 60_000));
}

/**
 * Read `--public-keys` files (the output of "aws cloudtrail list-public-keys").
 * @param files - the files
 * @returns the keys
 * @throws UsageError naming the file that cannot be read or used
 */
export async function loadKeyFiles(files: string[]): Promise<PublicKeySet> {
  const keys = new PublicKeySet();
  for (const file of files) {
    const text = await readFlagText(file, '--public-keys', 'keyList');
    try {
      keys.addAll(PublicKeySet.fromListPublicKeys(text, file));
    } catch (e) {
      throw new UsageError(`--public-keys ${file} is not a usable key list: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return keys;
}

/** Everything decided before the walk: where, which regions, which keys. */
export interface Plan {
  /** The bucket the digests must name. */
  bucket: string;
  /** The trail, without a region. */
  trail: Omit<TrailRef, 'region'>;
  /** The regions to validate, one chain each. */
  regions: string[];
  /** True when the regions were found in storage (`--regions all`), not named. */
  discovered: boolean;
  /** Where the objects are read from. */
  source: ObjectSource;
  /** The keys given (`--public-keys`); empty online when CloudTrail is to be asked. */
  keys: PublicKeySet;
  /** True when reading S3 (and CloudTrail may be asked). */
  online: boolean;
  /** The AWS profile, online. */
  profile?: string;
  /** How the AWS clients connect, online. */
  http?: AwsHttpOptions;
  /** The report's `request.source`. */
  sourceInfo: Record<string, string>;
  /** Notes for stderr (a guessed bucket). */
  notes: string[];
}

async function planLocal(flags: ValidateFlags, dir: string, arn: TrailArn, start: Date, end: Date): Promise<Plan> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new UsageError(`--local-dir ${dir} is not a directory`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--local-dir ${dir} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const keyFiles = flags['public-keys'] ?? [];
  if (keyFiles.length === 0) {
    throw new UsageError('--public-keys FILE is required with --local-dir: save the keys with "aws cloudtrail list-public-keys --start-time START > keys.json"');
  }
  const keys = await loadKeyFiles(keyFiles);
  const trail = trailOf(flags, arn, flags['organization-id'], flags['s3-prefix']);
  const any = new LocalDirectory(dir);
  const regions = await regionsOf(flags, any, '', trail, arn);
  const notes: string[] = [];
  let bucket = flags['s3-bucket'];
  if (!bucket) {
    bucket = await bucketOfNewestDigest(any, { ...trail, region: regions[0]! }, start, end);
    if (bucket) notes.push(`--s3-bucket not given: validating as bucket "${bucket}", the bucket the newest digest names`);
    else bucket = 'unknown-bucket';
  }
  return { bucket, trail, regions, discovered: flags.regions === 'all', source: new LocalDirectory(dir, { bucket }), keys, online: false, sourceInfo: { type: 'local', path: dir }, notes };
}

async function planOnline(flags: ValidateFlags, settings: Settings): Promise<Plan> {
  const { arn, arnText, http } = settings;
  // The AWS code is loaded only by runs that go online.
  const [{ describeTrail, organizationIdOnline }, { S3Storage }, { loadS3 }] = await Promise.all([import('../sources/cloudtrail.js'), import('../sources/s3.js'), import('../sources/sdk.js')]);
  const profile = flags.profile;
  const call = { region: arn.region, ...(profile && { profile }), ...(http && { http }) };
  let bucket = flags['s3-bucket'];
  let prefix = flags['s3-prefix'];
  let organizationId = flags['organization-id'];
  if (!bucket) {
    const info = await describeTrail(call, arnText);
    bucket = info.bucket;
    prefix ??= info.prefix;
    if (info.organization && !organizationId) {
      if (!flags['account-id']) throw new UsageError("Missing required parameter for organization trail: '--account-id'");
      organizationId = await organizationIdOnline(call);
    }
  }
  const keys = flags['public-keys'] ? await loadKeyFiles(flags['public-keys']) : new PublicKeySet();
  void loadS3().catch(() => undefined); // load the S3 client while CloudTrail answers (S3Storage takes the same)
  const storage = new S3Storage({ region: arn.region, ...awsAccess(flags, settings) });
  const trail = trailOf(flags, arn, organizationId, prefix);
  const regions = await regionsOf(flags, storage, bucket, trail, arn);
  return {
    bucket,
    trail,
    regions,
    discovered: flags.regions === 'all',
    source: storage,
    keys,
    online: true,
    ...(profile && { profile }),
    ...(http && { http }),
    sourceInfo: { type: 's3', ...(flags['endpoint-url'] && { endpoint: flags['endpoint-url'] }) },
    notes: [],
  };
}

/**
 * The trail of the flags, without a region: the ARN's, with `--account-id`, the organization
 * and the key prefix.
 * @param flags - the parsed flags
 * @param arn - the parsed `--trail-arn`
 * @param organizationId - the organization id, if any
 * @param prefix - the S3 key prefix, if any
 * @returns the trail
 * @throws UsageError for a malformed account or organization id
 */
export function trailOf(flags: ValidateFlags, arn: TrailArn, organizationId: string | undefined, prefix: string | undefined): Omit<TrailRef, 'region'> {
  const trail = {
    accountId: flags['account-id'] ?? arn.accountId,
    homeRegion: arn.region,
    trailName: arn.trailName,
    ...(prefix && { prefix: prefix.replace(/^\/+|\/+$/g, '') }),
    ...(organizationId && { organizationId }),
  };
  if (!/^\d{12}$/.test(trail.accountId)) throw new UsageError(`--account-id must be 12 digits, not ${JSON.stringify(trail.accountId)}`);
  if (trail.organizationId !== undefined && !/^o-[a-z0-9]{10,32}$/.test(trail.organizationId)) {
    throw new UsageError(`--organization-id must look like o-xxxxxxxxxx, not ${JSON.stringify(trail.organizationId)}`);
  }
  return trail;
}

/** An AWS region name (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`). */
const REGION_NAME = /^[a-z]{2}(?:-[a-z0-9]+)+-\d+$/;

/** The regions to validate: named, or (`--regions all`) every region folder of the trail's digests. */
/**
 * The regions the flags name (`--regions` other than `all`, `--region`, else the ARN's), unchecked.
 * @param flags - the parsed flags
 * @param arn - the parsed `--trail-arn`
 * @returns the regions, each once
 */
export function namedRegions(flags: ValidateFlags, arn: TrailArn): string[] {
  return flags.regions ? [...new Set(flags.regions.split(',').map((r) => r.trim()).filter(Boolean))] : [flags.region ?? arn.region];
}

async function regionsOf(flags: ValidateFlags, source: ObjectSource, bucket: string, trail: Omit<TrailRef, 'region'>, arn: TrailArn): Promise<string[]> {
  const root = digestFolder({ ...trail, region: 'x' }).replace(/x\/$/, '');
  let regions: string[];
  if (flags.regions === 'all') {
    if (!source.folders) throw new UsageError('--regions all is not supported by this storage: list the regions');
    regions = [];
    for await (const r of source.folders(bucket, root)) if (REGION_NAME.test(r)) regions.push(r);
    if (regions.length === 0) throw new UsageError(`no digest files under ${root} in ${bucket || 'the local copy'}: check the bucket, --s3-prefix, --account-id`);
    return regions;
  }
  regions = namedRegions(flags, arn);
  for (const region of regions) {
    if (!REGION_NAME.test(region)) throw new UsageError(`${JSON.stringify(region)} is not an AWS region name`);
  }
  return regions;
}
