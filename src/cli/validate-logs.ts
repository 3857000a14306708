#!/usr/bin/env node
/**
 * `validate-logs`: replay a trail's digest chains and report every digest and log file, with
 * the AWS CLI's flags and text output, a JSON report, and exit status 0 (all valid), 1
 * (something INVALID) or 2 (usage or environment error). Reads a local copy of a bucket or S3
 * itself, one region or all of a multi-region trail's, and can save what it verified as
 * evidence that validates again offline.
 * @module
 */
import { readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Tally, type Summary } from '../chain/report.js';
import { bucketOfNewestDigest } from '../chain/listing.js';
import { DEFAULT_TAIL_GRACE_MS, verifyTrail } from '../chain/verifier.js';
import type { Finding } from '../chain/findings.js';
import { PublicKeySet, type PublicKeyInfo } from '../crypto/keys.js';
import { ValidateLogsError } from '../errors.js';
import { digestFolder, parseTrailArn, type TrailArn, type TrailRef } from '../format/keys.js';
import { formatDigestTime } from '../format/time.js';
import { describeTrail, latestDigestDelivery, listPublicKeysOnline, organizationIdOnline } from '../sources/cloudtrail.js';
import { LocalDirectory } from '../sources/local.js';
import { S3Storage } from '../sources/s3.js';
import { SavingSource } from '../sources/saving.js';
import type { ObjectSource } from '../sources/source.js';
import { defineCommand, packageVersion, runIfMain, timeFlag, UsageError, write, writeWithBackpressure, type CommandIO, type Flags } from './io.js';
import { Progress, progressWanted } from './progress.js';
import { TextWriter } from './text.js';

/** The help text of `validate-logs`. */
export const VALIDATE_HELP = `Usage: validate-logs --trail-arn ARN --start-time TIME [options]

Replays a CloudTrail (or write-digests) digest chain and checks every digest file and every
log file it lists: digests must be where they say, signed by a known key, correctly signed and
linked; log files must exist, be one well-formed gzip stream, and match their SHA-256. It also
finds log files no digest lists, every digest of a hole, and a deleted tail of the chain.
The flags of "aws cloudtrail validate-logs" work the same here.

It reads S3 directly (credentials from the usual AWS chain: environment, --profile, SSO,
instance roles), or a local copy of the bucket with --local-dir (no AWS access at all).

Required:
  --trail-arn ARN        The trail, arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME.
  --start-time TIME      Validate log files delivered on or after TIME (UTC ISO 8601:
                         2025-01-08T05:21:42Z, 2025-01-08, or with an offset like +02:00).

Where the files are:
  --s3-bucket NAME       The bucket (default online: from DescribeTrails; with --local-dir:
                         the bucket the digests name, said on stderr).
  --s3-prefix PREFIX     The trail's S3 key prefix, if it has one (default online: from
                         DescribeTrails).
  --local-dir DIR        Validate a local copy: DIR is the bucket root, as
                         "aws s3 sync s3://BUCKET DIR" lays it out. Digest signatures are read
                         from "<digest>.metadata.json" beside each digest (the output of
                         "aws s3api head-object --query Metadata"), or else from the next
                         digest's previousDigestSignature. Needs --public-keys.
  --account-id ID        The account whose logs to validate (default: the ARN's account;
                         needed for organization trails).
  --organization-id ID   For organization trails: the o-... id in the key path (default
                         online: from DescribeOrganization).
  --region REGION        The region whose chain to validate (default: the ARN's region).
  --regions LIST         Several regions of a multi-region trail at once, concurrently:
                         "all" (every region with digests) or a comma-separated list.

Keys:
  --public-keys FILE     Public keys: the JSON "aws cloudtrail list-public-keys" prints (or
                         write-digests --public-keys-out writes). Repeatable. Online, without
                         it, each region's keys come from CloudTrail's ListPublicKeys.

AWS access (online only):
  --profile NAME         A profile of the shared AWS config and credentials files.
  --endpoint-url URL     An S3-compatible endpoint instead of Amazon S3.

Output and checks:
  --verbose              Also print the valid digest and log files.
  --output text|json     text (default): the AWS CLI's lines and summary, INVALID lines on
                         stderr. json: one JSON document on stdout (see schema/report.schema.json).
  --save-to DIR          Keep everything verified (digests with .metadata.json, logs) and the
                         keys used in DIR, so that "--local-dir DIR/BUCKET --public-keys
                         DIR/public-keys.json" gives the same result later, offline.
  --allow-empty          Exit 0 when no digest is found in range (default: exit 1).
  --fail-on-gap          Exit 1 when the chain has a gap (logging or validation was stopped
                         and restarted; by default a gap is reported but is no failure).
  --tail-grace DURATION  Log files delivered this long after the newest digest, with no later
                         digest, mean the newest digests were deleted (default: 2h; 90m, 3h,
                         or minutes as a number).
  --max-log-size SIZE    Verify no log that inflates past SIZE (default 4GiB; 500MB, 10GiB,
                         or bytes): such a log (a gzip bomb) is reported LOG_TOO_LARGE.
  --concurrency N        Objects verified at once (default: 4 for a local copy, 32 online).
  --no-progress          Never show the progress line (it shows only on a terminal).
  --help                 Show this help.
  --version              Show the version.

Exit status: 0 every digest and log in range is valid; 1 something is INVALID (or nothing
was found to validate); 2 a usage or environment error (the message says what to fix).

Examples:
  # Straight from S3, every region of a multi-region trail, keys from CloudTrail:
  validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \\
    --start-time 2025-01-01 --end-time 2025-02-01 --regions all

  # ... and keep the evidence, then check it again offline later:
  validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \\
    --start-time 2025-01-01 --end-time 2025-02-01 --save-to ./evidence
  validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \\
    --start-time 2025-01-01 --end-time 2025-02-01 \\
    --local-dir ./evidence/my-trail-bucket --public-keys ./evidence/public-keys.json

  # A local copy of a bucket, keys saved from the AWS CLI:
  aws cloudtrail list-public-keys --start-time 2025-01-01 > keys.json
  validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \\
    --start-time 2025-01-01 --local-dir ./bucket-copy --public-keys keys.json --verbose

  # The built-in sample, as JSON:
  validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail \\
    --start-time 2025-01-08T00:00:00Z --end-time 2025-01-08T06:00:00Z \\
    --local-dir sample/bucket --public-keys sample/public-keys.json --output json
`;

const OPTIONS = {
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
  'max-log-size': { type: 'string' },
  'no-progress': { type: 'boolean' },
} as const;

/**
 * Run `validate-logs` with the given arguments.
 * @param argv - the arguments (without node and script)
 * @param io - streams, environment and clock
 * @returns the exit status
 */
export const validateLogsCommand: (argv: string[], io?: CommandIO) => Promise<number> = defineCommand({
  name: 'validate-logs',
  help: VALIDATE_HELP,
  options: OPTIONS,
  run,
});

/** A size flag: `4GiB`, `500MB`, `10GB`, `123` (bytes). */
function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/i.exec(text.trim());
  const unit = (m?.[2] ?? 'B').toLowerCase();
  const scale: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };
  const bytes = m ? Math.floor(Number(m[1]) * scale[unit]!) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new UsageError(`${flag} must be a size such as 4GiB, 500MB or a number of bytes, not ${JSON.stringify(text)}`);
  return bytes;
}

/** A duration flag: `2h`, `90m`, `45s`, or a number of minutes. */
function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(h|m|s)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} must be a duration such as 2h, 90m or 45s, not ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 's' ? 1000 : 60_000));
}

async function loadKeyFiles(files: string[]): Promise<PublicKeySet> {
  const keys = new PublicKeySet();
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --public-keys ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    try {
      keys.addAll(PublicKeySet.fromListPublicKeys(text, file));
    } catch (e) {
      throw new UsageError(`--public-keys ${file} is not a usable key list: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return keys;
}

/** Everything decided before the walk: where, which regions, which keys. */
interface Plan {
  bucket: string;
  trail: Omit<TrailRef, 'region'>;
  regions: string[];
  source: ObjectSource;
  keys: PublicKeySet;
  online: boolean;
  profile?: string;
  sourceInfo: Record<string, string>;
  notes: string[];
}

async function planLocal(flags: Flags<typeof OPTIONS>, dir: string, arn: TrailArn, start: Date, end: Date): Promise<Plan> {
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
  return { bucket, trail, regions, source: new LocalDirectory(dir, { bucket }), keys, online: false, sourceInfo: { type: 'local', path: dir }, notes };
}

async function planOnline(flags: Flags<typeof OPTIONS>, arn: TrailArn, arnText: string): Promise<Plan> {
  const profile = flags.profile;
  const call = { region: arn.region, ...(profile && { profile }) };
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
  void import('@aws-sdk/client-s3').catch(() => undefined); // load the S3 client while CloudTrail answers (S3Storage loads it again, from the cache)
  const storage = new S3Storage({
    region: arn.region,
    ...(flags['endpoint-url'] && { endpoint: flags['endpoint-url'] }),
    ...(profile && { profile }),
  });
  const trail = trailOf(flags, arn, organizationId, prefix);
  const regions = await regionsOf(flags, storage, bucket, trail, arn);
  return {
    bucket,
    trail,
    regions,
    source: storage,
    keys,
    online: true,
    ...(profile && { profile }),
    sourceInfo: { type: 's3', ...(flags['endpoint-url'] && { endpoint: flags['endpoint-url'] }) },
    notes: [],
  };
}

function trailOf(flags: Flags<typeof OPTIONS>, arn: TrailArn, organizationId: string | undefined, prefix: string | undefined): Omit<TrailRef, 'region'> {
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

/** The regions to validate; each must have a digest folder. */
async function regionsOf(flags: Flags<typeof OPTIONS>, source: ObjectSource, bucket: string, trail: Omit<TrailRef, 'region'>, arn: TrailArn): Promise<string[]> {
  if (flags.region && flags.regions) throw new UsageError('--region and --regions cannot be used together');
  const root = digestFolder({ ...trail, region: 'x' }).replace(/x\/$/, '');
  let regions: string[];
  if (flags.regions === 'all') {
    if (!source.folders) throw new UsageError('--regions all is not supported by this storage: list the regions');
    regions = [];
    for await (const r of source.folders(bucket, root)) if (/^[a-z]{2}(?:-[a-z0-9]+)+-\d+$/.test(r)) regions.push(r);
    if (regions.length === 0) throw new UsageError(`no digest files under ${root} in ${bucket || 'the local copy'}: check the bucket, --s3-prefix, --account-id`);
    return regions;
  }
  regions = flags.regions ? flags.regions.split(',').map((r) => r.trim()).filter(Boolean) : [flags.region ?? arn.region];
  for (const region of regions) {
    if (!/^[a-z]{2}(?:-[a-z0-9]+)+-\d+$/.test(region)) throw new UsageError(`${JSON.stringify(region)} is not an AWS region name`);
  }
  return regions;
}

/**
 * When a region's walk found no digest in range: is there any digest of that region at all?
 * None means the wrong place (exit 2); some means only none in range (exit 1).
 */
async function requireDigestFolder(source: ObjectSource, bucket: string, trail: TrailRef, where: string): Promise<void> {
  const folder = digestFolder(trail);
  for await (const _ of source.list(bucket, folder)) return;
  throw new UsageError(`no digest files under ${folder} in ${where}: check --local-dir (the bucket root), --s3-bucket, --s3-prefix, --account-id and --region`);
}

async function run(flags: Flags<typeof OPTIONS>, need: (flag: keyof typeof OPTIONS) => string, io: CommandIO): Promise<number> {
  const arnText = need('trail-arn');
  let arn: TrailArn;
  try {
    arn = parseTrailArn(arnText);
  } catch (e) {
    throw new UsageError(`--trail-arn: ${(e as Error).message}`);
  }
  const start = timeFlag(need('start-time'), '--start-time');
  const end = flags['end-time'] ? timeFlag(flags['end-time'], '--end-time') : io.now();
  if (start > end) throw new UsageError('Invalid time range specified: start-time must occur before end-time');
  const output = flags.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, not ${JSON.stringify(output)}`);
  const local = flags['local-dir'];
  const concurrency = flags.concurrency === undefined ? (local ? 4 : 32) : Number(flags.concurrency);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 1024) {
    throw new UsageError(`--concurrency must be a whole number from 1 to 1024, not ${JSON.stringify(flags.concurrency)}`);
  }
  const maxLogBytes = flags['max-log-size'] === undefined ? undefined : parseSize(flags['max-log-size'], '--max-log-size');
  const tailGraceMs = flags['tail-grace'] === undefined ? DEFAULT_TAIL_GRACE_MS : parseDuration(flags['tail-grace'], '--tail-grace');
  if (local && (flags.profile || flags['endpoint-url'])) throw new UsageError('--profile and --endpoint-url are for S3; a --local-dir run uses no AWS access');

  const plan = local ? await planLocal(flags, local, arn, start, end) : await planOnline(flags, arn, arnText);
  const saving = flags['save-to'] ? new SavingSource(plan.source, flags['save-to']) : undefined;
  const source = saving ?? plan.source;
  const usedKeys = new PublicKeySet(plan.keys);
  const call = (region: string): { region: string; profile?: string } => ({ region, ...(plan.profile && { profile: plan.profile }) });
  const fetchKeys = plan.online
    ? async (region: string, from: Date, to: Date): Promise<Iterable<PublicKeyInfo>> => {
        const got = await listPublicKeysOnline(call(region), from, to);
        usedKeys.addAll(got);
        return got;
      }
    : undefined;

  const out = (s: string): void => void io.stdout.write(s);
  const progress = new Progress((s) => void io.stderr.write(s), !flags['no-progress'] && progressWanted(io.stderr, io.env));
  const err = (s: string): void => {
    progress.clear();
    io.stderr.write(s);
  };
  for (const n of plan.notes) err(`validate-logs: note: ${n}\n`);
  const startText = formatDigestTime(start);
  const endText = formatDigestTime(end);
  const multi = plan.regions.length > 1;

  /** Validate one region, handing each finding to `emit`. */
  const validateRegion = async (region: string, emit: (f: Finding) => Promise<void>): Promise<Summary> => {
    const trail: TrailRef = { ...plan.trail, region };
    // The region's keys (as the AWS CLI asks: over [start, end + 2 h]) and the trail's status, at once.
    const [fetched, latest] = await Promise.all([
      fetchKeys && plan.keys.size === 0 ? fetchKeys(region, start, new Date(end.getTime() + 2 * 3_600_000)) : [],
      plan.online && region === arn.region
        ? latestDigestDelivery(call(region), arnText).catch((e: unknown) => {
            if (!(e instanceof ValidateLogsError)) throw e;
            err(`validate-logs: note: the deleted-tail check uses log files only: ${e.message}\n`);
            return undefined;
          })
        : undefined,
    ]);
    const keys = new PublicKeySet(plan.keys).addAll(fetched);
    const tally = new Tally(start, end);
    let seen = 0;
    for await (const f of verifyTrail({
      source,
      bucket: plan.bucket,
      trail,
      keys,
      start,
      end,
      concurrency,
      tailGraceMs,
      ...(maxLogBytes !== undefined && { maxLogBytes }),
      ...(fetchKeys && plan.keys.size === 0 && { fetchKeys: (a: Date, b: Date) => fetchKeys(region, a, b) }),
      ...(latest && { latestDigestDelivery: latest }),
      onListed: (n) => {
        progress.digestsTotal += n;
      },
    })) {
      tally.add(f);
      if (f.kind === 'digest') progress.digestsDone++;
      if (f.kind === 'log') {
        progress.objects++;
        progress.bytes += f.size ?? 0;
      }
      progress.tick();
      seen++;
      await emit(f);
    }
    // Checked only now, off the common path: nothing found at all means a wrong place, not an empty range.
    if (seen === 0) await requireDigestFolder(plan.source, plan.bucket, trail, plan.online ? `s3://${plan.bucket}` : 'the local copy');
    return tally.summary();
  };

  // One region streams its findings as they come; several run at once and print in order.
  const results: Array<{ region: string; summary: Summary; findings: Finding[] }> = [];
  let firstFinding = true;
  const jsonFinding = async (f: Finding): Promise<void> => {
    await writeWithBackpressure(io.stdout, `${firstFinding ? '\n' : ',\n'}${JSON.stringify(f)}`);
    firstFinding = false;
  };
  const request = {
    trailArn: arnText,
    startTime: startText,
    endTime: endText,
    bucket: plan.bucket,
    ...(plan.trail.prefix && { prefix: plan.trail.prefix }),
    accountId: plan.trail.accountId,
    region: plan.regions[0]!,
    regions: plan.regions,
    ...(plan.trail.organizationId && { organizationId: plan.trail.organizationId }),
    source: plan.sourceInfo,
  };
  if (output === 'json') out(`{"tool":"validate-logs","version":${JSON.stringify(packageVersion())},"request":${JSON.stringify(request)},"findings":[`);

  const textFor = (): TextWriter => new TextWriter(out, err, flags.verbose === true);
  if (!multi) {
    const text = output === 'text' ? textFor() : undefined;
    // The first line waits for the first result, so that a run that cannot start prints only its error.
    let started = false;
    const begin = (): void => {
      if (!started && text) text.startup(arnText, startText, endText);
      started = true;
    };
    const region = plan.regions[0]!;
    const summary = await validateRegion(region, async (f) => {
      begin();
      return text ? text.finding(f) : jsonFinding(f);
    });
    begin();
    text?.summary(summary, startText, endText);
    results.push({ region, summary, findings: [] });
  } else {
    const done = await Promise.all(
      plan.regions.map(async (region) => {
        const findings: Finding[] = [];
        const summary = await validateRegion(region, async (f) => void findings.push(f));
        return { region, summary, findings };
      }),
    );
    for (const r of done) {
      results.push(r);
      if (output === 'json') {
        for (const f of r.findings) await jsonFinding(f);
        continue;
      }
      const text = textFor();
      out(`Region ${r.region}:\n`);
      text.startup(arnText, startText, endText);
      for (const f of r.findings) text.finding(f);
      text.summary(r.summary, startText, endText);
    }
  }
  progress.clear();

  const isEmpty = (s: Summary): boolean => s.digests.valid + s.digests.invalid + s.backfillDigests.valid + s.backfillDigests.invalid === 0;
  const regionOk = (s: Summary): boolean => s.ok && (!isEmpty(s) || flags['allow-empty'] === true) && (s.gaps === 0 || !flags['fail-on-gap']);
  const ok = results.every((r) => regionOk(r.summary));
  const emptyRegions = results.filter((r) => isEmpty(r.summary)).map((r) => r.region);

  let evidence: { dir: string; localDir: string; publicKeys: string; objects: number; bytes: number } | undefined;
  if (saving) {
    await saving.complete();
    const keysFile = join(flags['save-to']!, 'public-keys.json');
    await mkdir(flags['save-to']!, { recursive: true });
    await writeFile(keysFile, JSON.stringify(usedKeys.toListPublicKeys(), null, 1) + '\n');
    evidence = { dir: flags['save-to']!, localDir: saving.bucketDir(plan.bucket), publicKeys: keysFile, objects: saving.objects, bytes: saving.bytes };
  }

  if (output === 'text') {
    if (emptyRegions.length > 0 && !flags['allow-empty']) {
      err(`validate-logs: no digest files of this trail were found between ${startText} and ${endText}${multi ? ` in ${emptyRegions.join(', ')}` : ''}; nothing was validated (--allow-empty to accept)\n`);
    }
    if (plan.notes.length === 0 && !plan.online && results.some((r) => (r.summary.byCode.DIGEST_SIGNATURE_MISSING ?? 0) > 0)) {
      err('validate-logs: note: a digest without signature metadata cannot be verified; save each digest\'s metadata as <digest>.metadata.json (see the README)\n');
    }
    if (evidence) {
      err(`validate-logs: evidence saved in ${evidence.dir} (${evidence.objects} objects, ${evidence.bytes} bytes); check it offline with --local-dir ${evidence.localDir} --public-keys ${evidence.publicKeys}\n`);
    }
  } else {
    const merged = new Tally(start, end).summary();
    for (const { summary: s } of results) {
      for (const k of ['digests', 'backfillDigests', 'logs'] as const) {
        merged[k].valid += s[k].valid;
        merged[k].invalid += s[k].invalid;
      }
      merged.gaps += s.gaps;
      for (const [code, n] of Object.entries(s.byCode)) merged.byCode[code as keyof Summary['byCode']] = (merged.byCode[code as keyof Summary['byCode']] ?? 0) + (n ?? 0);
    }
    const found = (s: Summary): { startTime: string; endTime: string } | null =>
      s.foundStart && s.foundEnd ? { startTime: s.foundStart, endTime: s.foundEnd } : null;
    const starts = results.map((r) => r.summary.foundStart).filter((x): x is string => !!x).sort();
    const ends = results.map((r) => r.summary.foundEnd).filter((x): x is string => !!x).sort();
    const counts = (s: Summary): Omit<Summary, 'foundStart' | 'foundEnd' | 'ok'> => ({ digests: s.digests, backfillDigests: s.backfillDigests, logs: s.logs, gaps: s.gaps, byCode: s.byCode });
    const tail = {
      found: starts.length > 0 ? { startTime: starts[0]!, endTime: ends.at(-1)! } : null,
      summary: counts(merged),
      regions: results.map((r) => ({ region: r.region, found: found(r.summary), summary: counts(r.summary), empty: isEmpty(r.summary), ok: regionOk(r.summary) })),
      ...(evidence && { evidence }),
      empty: emptyRegions.length === results.length,
      ok,
    };
    const text = JSON.stringify(tail);
    out(`${firstFinding ? '' : '\n'}],${text.slice(1)}\n`);
  }
  await write(io.stdout, '');
  return ok ? 0 : 1;
}

runIfMain(import.meta.url, 'validate-logs', validateLogsCommand);
