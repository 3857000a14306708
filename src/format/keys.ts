/**
 * S3 object keys exactly as CloudTrail names them, built and parsed back.
 *
 *     [prefix/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
 *         ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE16.json.gz
 *     [prefix/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/
 *         ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHMMSSZ[_backfill].json.gz
 *
 * The date folders and the time in a digest key are the digest's end time.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { formatDateFolders, formatKeyTime, parseKeyTime } from './time.js';

/** Where one region's chain of one trail lives. */
export interface TrailRef {
  /** Account whose logs these are (12 digits). */
  accountId: string;
  /** Region that delivered the files (each region has its own chain and keys). */
  region: string;
  /** Region where the trail was created; the same as `region` when omitted. */
  homeRegion?: string;
  /** Trail name (the last part of the trail ARN). */
  trailName: string;
  /** S3 key prefix of the trail, without a trailing `/`; none when omitted. */
  prefix?: string;
  /** Organization id (`o-...`) for organization trails. */
  organizationId?: string;
}

const ACCOUNT_RE = /^\d{12}$/;
const REGION_RE = /^[a-z]{2}(?:-[a-z0-9]+)+-\d+$/;
const ORG_RE = /^o-[a-z0-9]{10,32}$/;
const TRAIL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const UNIQUE_RE = /^[A-Za-z0-9]{16}$/;

/**
 * Check a {@link TrailRef}'s fields (API misuse otherwise).
 * @param t - the trail
 * @returns the same trail
 * @throws TypeError when a field has the wrong shape
 */
export function checkTrailRef(t: TrailRef): TrailRef {
  if (!ACCOUNT_RE.test(t.accountId)) throw new TypeError(`accountId must be 12 digits, got ${JSON.stringify(t.accountId)}`);
  if (!REGION_RE.test(t.region)) throw new TypeError(`region must be an AWS region name, got ${JSON.stringify(t.region)}`);
  if (t.homeRegion !== undefined && !REGION_RE.test(t.homeRegion)) {
    throw new TypeError(`homeRegion must be an AWS region name, got ${JSON.stringify(t.homeRegion)}`);
  }
  if (!TRAIL_RE.test(t.trailName)) throw new TypeError(`trailName is not a valid trail name: ${JSON.stringify(t.trailName)}`);
  if (t.organizationId !== undefined && !ORG_RE.test(t.organizationId)) {
    throw new TypeError(`organizationId must look like o-xxxxxxxxxx, got ${JSON.stringify(t.organizationId)}`);
  }
  if (t.prefix !== undefined && (t.prefix === '' || t.prefix.startsWith('/') || t.prefix.endsWith('/'))) {
    throw new TypeError(`prefix must be non-empty and have no leading or trailing '/', got ${JSON.stringify(t.prefix)}`);
  }
  return t;
}

function accountRoot(t: TrailRef): string {
  return `${t.prefix ? t.prefix + '/' : ''}AWSLogs/${t.organizationId ? t.organizationId + '/' : ''}${t.accountId}/`;
}

/**
 * The folder (ending in `/`) under which a region's digest files of an account are delivered.
 * @param t - the trail (only prefix, organization, account and region are used)
 * @returns the key prefix
 */
export function digestFolder(t: TrailRef): string {
  return `${accountRoot(t)}CloudTrail-Digest/${t.region}/`;
}

/**
 * The folder (ending in `/`) under which a region's log files of an account are delivered.
 * @param t - the trail (only prefix, organization, account and region are used)
 * @returns the key prefix
 */
export function logFolder(t: TrailRef): string {
  return `${accountRoot(t)}CloudTrail/${t.region}/`;
}

/**
 * The key of a trail's digest file that ends at `endTime`.
 * @param t - the trail
 * @param endTime - the digest's end time (seconds are kept, milliseconds dropped)
 * @param backfill - whether it is a backfill digest (`_backfill` before `.json.gz`)
 * @returns the S3 key
 * @example
 * ```ts
 * digestKey({ accountId: '123456789012', region: 'us-east-1', trailName: 't' }, new Date('2025-01-08T05:00:00Z'));
 * // 'AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2025/01/08/123456789012_CloudTrail-Digest_us-east-1_t_us-east-1_20250108T050000Z.json.gz'
 * ```
 */
export function digestKey(t: TrailRef, endTime: Date, backfill = false): string {
  return (
    `${digestFolder(t)}${formatDateFolders(endTime)}/` +
    `${t.accountId}_CloudTrail-Digest_${t.region}_${t.trailName}_${t.homeRegion ?? t.region}_` +
    `${formatKeyTime(endTime)}${backfill ? '_backfill' : ''}.json.gz`
  );
}

/**
 * The key CloudTrail gives a log file delivered at `deliveryTime`.
 * @param t - the trail (only prefix, organization, account and region are used)
 * @param deliveryTime - when the file was delivered (minutes precision in the name)
 * @param unique - the 16-character alphanumeric unique part
 * @returns the S3 key
 * @throws TypeError when `unique` is not 16 alphanumerics
 */
export function logKey(t: TrailRef, deliveryTime: Date, unique: string): string {
  if (!UNIQUE_RE.test(unique)) throw new TypeError(`unique must be 16 letters or digits, got ${JSON.stringify(unique)}`);
  const minute = formatKeyTime(deliveryTime).slice(0, 13) + 'Z';
  return `${logFolder(t)}${formatDateFolders(deliveryTime)}/${t.accountId}_CloudTrail_${t.region}_${minute}_${unique}.json.gz`;
}

/** The parts of a digest key. */
export interface ParsedDigestKey extends Required<Pick<TrailRef, 'accountId' | 'region' | 'homeRegion' | 'trailName'>> {
  /** Key prefix before `AWSLogs/`, if any. */
  prefix?: string;
  /** Organization id, if an organization trail. */
  organizationId?: string;
  /** End time from the key. */
  endTime: Date;
  /** Whether the key names a backfill digest. */
  backfill: boolean;
}

const DIGEST_KEY_RE =
  /^(?:(.+)\/)?AWSLogs\/(?:(o-[a-z0-9]{10,32})\/)?(\d{12})\/CloudTrail-Digest\/([a-z0-9-]+)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{12})_CloudTrail-Digest_([a-z0-9-]+)_(.+)_([a-z0-9-]+)_(\d{8}T\d{6}Z)(_backfill)?\.json\.gz$/;

/**
 * Parse a digest key back into its parts; the folder and file name must agree.
 * @param key - the S3 key
 * @returns its parts
 * @throws ValidateLogsError `KEY_FORMAT` when it is not a CloudTrail digest key
 */
export function parseDigestKey(key: string): ParsedDigestKey {
  const m = DIGEST_KEY_RE.exec(key);
  const fail = (why: string): never => {
    throw new ValidateLogsError('KEY_FORMAT', `${JSON.stringify(key)} is not a CloudTrail digest key: ${why}`);
  };
  if (!m) return fail('it does not have the digest key shape');
  const [, prefix, org, acct, region, y, mo, d, acct2, region2, trail, home, time, backfill] = m as unknown as string[];
  if (acct !== acct2) fail('the account in the folder and in the file name differ');
  if (region !== region2) fail('the region in the folder and in the file name differ');
  const endTime = parseKeyTime(time!, `end time of ${key}`);
  if (formatDateFolders(endTime) !== `${y}/${mo}/${d}`) fail('the date folders do not match the end time');
  return {
    ...(prefix !== undefined && { prefix }),
    ...(org !== undefined && { organizationId: org }),
    accountId: acct!,
    region: region!,
    trailName: trail!,
    homeRegion: home!,
    endTime,
    backfill: backfill !== undefined,
  };
}

/** The parts of a log file key. */
export interface ParsedLogKey {
  /** Key prefix before `AWSLogs/`, if any. */
  prefix?: string;
  /** Organization id, if an organization trail. */
  organizationId?: string;
  /** Account. */
  accountId: string;
  /** Region that delivered the file. */
  region: string;
  /** Delivery time from the name (minute precision). */
  deliveryTime: Date;
  /** The 16-character unique part. */
  unique: string;
}

const LOG_KEY_RE =
  /^(?:(.+)\/)?AWSLogs\/(?:(o-[a-z0-9]{10,32})\/)?(\d{12})\/CloudTrail\/([a-z0-9-]+)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_([A-Za-z0-9]{16})\.json\.gz$/;

/**
 * Parse a log file key back into its parts.
 * @param key - the S3 key
 * @returns its parts
 * @throws ValidateLogsError `KEY_FORMAT` when it is not a CloudTrail log file key
 */
export function parseLogKey(key: string): ParsedLogKey {
  const m = LOG_KEY_RE.exec(key);
  if (!m || m[3] !== m[8] || m[4] !== m[9]) {
    throw new ValidateLogsError('KEY_FORMAT', `${JSON.stringify(key)} is not a CloudTrail log file key`);
  }
  const [, prefix, org, acct, region, , , , , , time, unique] = m as unknown as string[];
  return {
    ...(prefix !== undefined && { prefix }),
    ...(org !== undefined && { organizationId: org }),
    accountId: acct!,
    region: region!,
    deliveryTime: parseKeyTime(time!, `delivery time of ${key}`),
    unique: unique!,
  };
}

/**
 * {@link parseDigestKey}, or undefined for a key that is not a digest key (any other object
 * in a digest folder).
 * @param key - the S3 key
 * @returns its parts, or undefined
 */
export function digestKeyParts(key: string): ParsedDigestKey | undefined {
  return DIGEST_KEY_RE.test(key) ? orUndefined(() => parseDigestKey(key)) : undefined;
}

/**
 * {@link parseLogKey}, or undefined for a key that is not a CloudTrail log file key.
 * @param key - the S3 key
 * @returns its parts, or undefined
 */
export function logKeyParts(key: string): ParsedLogKey | undefined {
  return LOG_KEY_RE.test(key) ? orUndefined(() => parseLogKey(key)) : undefined;
}

function orUndefined<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    // Only "not such a key" means undefined; anything else is a bug and is thrown.
    if (e instanceof ValidateLogsError && (e.code === 'KEY_FORMAT' || e.code === 'TIME_INVALID')) return undefined;
    throw e;
  }
}

/** The parts of a trail ARN. */
export interface TrailArn {
  /** `aws`, `aws-cn`, `aws-us-gov`, ... */
  partition: string;
  /** The trail's home region. */
  region: string;
  /** The account that owns the trail. */
  accountId: string;
  /** The trail's name. */
  trailName: string;
}

const ARN_RE = /^arn:([a-z0-9-]+):cloudtrail:([a-z0-9-]+):(\d{12}):trail\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;

/**
 * Parse `arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`.
 * @param arn - the trail ARN
 * @returns its parts
 * @throws ValidateLogsError `KEY_FORMAT` when it is not a trail ARN
 */
export function parseTrailArn(arn: string): TrailArn {
  const m = ARN_RE.exec(arn);
  if (!m) {
    throw new ValidateLogsError(
      'KEY_FORMAT',
      `${JSON.stringify(arn)} is not a trail ARN (expected arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME)`,
    );
  }
  return { partition: m[1]!, region: m[2]!, accountId: m[3]!, trailName: m[4]! };
}

/**
 * `s3://BUCKET/KEY`, the way findings and the AWS CLI name an object.
 * @param bucket - bucket name
 * @param key - object key
 * @returns the URI
 */
export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
