#!/usr/bin/env node
/**
 * `validate-logs`: replay a trail's digest chain and report every digest and log file, with
 * the AWS CLI's flags and text output, a JSON report, and exit status 0 (all valid), 1
 * (something INVALID) or 2 (usage or environment error).
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { Tally } from '../chain/report.js';
import { listDigestKeys } from '../chain/listing.js';
import { DEFAULT_TAIL_GRACE_MS, verifyTrail } from '../chain/verifier.js';
import type { Finding } from '../chain/findings.js';
import { PublicKeySet } from '../crypto/keys.js';
import { ValidateLogsError } from '../errors.js';
import { parseDigest } from '../format/digest.js';
import { digestFolder, parseTrailArn, type TrailRef } from '../format/keys.js';
import { formatDigestTime } from '../format/time.js';
import { readAll } from '../hash/hash-stream.js';
import { LocalDirectory } from '../sources/local.js';
import type { ObjectSource } from '../sources/source.js';
import { defineCommand, packageVersion, runIfMain, timeFlag, UsageError, write, writeWithBackpressure, type CommandIO, type Flags } from './io.js';
import { Progress, progressWanted } from './progress.js';
import { TextWriter } from './text.js';

/** The help text of `validate-logs`. */
export const VALIDATE_HELP = `Usage: validate-logs --trail-arn ARN --start-time TIME [options]

Replays a CloudTrail (or write-digests) digest chain and checks every digest file and every
log file it lists: digests must be where they say, signed by a known key, and correctly
signed; log files must exist, be one well-formed gzip stream, and match their SHA-256.
The flags of "aws cloudtrail validate-logs" work the same here.

Required:
  --trail-arn ARN        The trail, arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME.
  --start-time TIME      Validate log files delivered on or after TIME (UTC ISO 8601:
                         2025-01-08T05:21:42Z, 2025-01-08, or with an offset like +02:00).
  --local-dir DIR        A local copy of the bucket: DIR is the bucket root, as
                         "aws s3 sync s3://BUCKET DIR" lays it out. Digest signatures are read
                         from "<digest>.metadata.json" beside each digest (the output of
                         "aws s3api head-object --query Metadata"), or else from the next
                         digest's previousDigestSignature.
  --public-keys FILE     The region's public keys: the JSON "aws cloudtrail list-public-keys"
                         prints (or write-digests --public-keys-out writes). Repeatable.

Options:
  --end-time TIME        ... and on or before TIME (default: now).
  --s3-bucket NAME       The bucket the digests must name (default: taken from the digests,
                         and said so on stderr).
  --s3-prefix PREFIX     The trail's S3 key prefix, if it has one.
  --account-id ID        The account whose logs to validate (default: the ARN's account;
                         needed for organization trails).
  --organization-id ID   For organization trails: the o-... id in the key path.
  --region REGION        The region whose chain to validate (default: the ARN's region).
  --verbose              Also print the valid digest and log files.
  --output text|json     text (default): the AWS CLI's lines and summary, INVALID lines on
                         stderr. json: one JSON document on stdout (see schema/report.schema.json).
  --allow-empty          Exit 0 when no digest is found in range (default: exit 1).
  --fail-on-gap          Exit 1 when the chain has a gap (logging or validation was stopped
                         and restarted; by default a gap is reported but is no failure).
  --tail-grace DURATION  Log files delivered this long after the newest digest, with no later
                         digest, mean the newest digests were deleted (default: 2h; 90m, 3h,
                         or minutes as a number).
  --concurrency N        Objects verified at once (default: 4).
  --no-progress          Never show the progress line (it shows only on a terminal).
  --help                 Show this help.
  --version              Show the version.

Exit status: 0 every digest and log in range is valid; 1 something is INVALID (or nothing
was found to validate); 2 a usage or environment error (the message says what to fix).

Examples:
  # Validate a local copy of a bucket, keys saved from the AWS CLI:
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
  verbose: { type: 'boolean' },
  'local-dir': { type: 'string' },
  'public-keys': { type: 'string', multiple: true },
  output: { type: 'string' },
  'allow-empty': { type: 'boolean' },
  'fail-on-gap': { type: 'boolean' },
  'tail-grace': { type: 'string' },
  concurrency: { type: 'string' },
  'no-progress': { type: 'boolean' },
} as const;

/** A duration flag: `2h`, `90m`, `45s`, or a number of minutes. */
function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(h|m|s)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} must be a duration such as 2h, 90m or 45s, not ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 's' ? 1000 : 60_000));
}

async function loadKeys(files: string[]): Promise<PublicKeySet> {
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

/** The bucket named by the newest digest of the trail in the local copy, if any. */
async function bucketFromDigests(source: ObjectSource, trail: TrailRef, start: Date, end: Date): Promise<string | undefined> {
  const { standard, backfill } = await listDigestKeys({ source, bucket: '', trail, start, end });
  const key = standard.at(-1) ?? backfill.at(-1);
  if (!key) return undefined;
  const obj = await source.get('', key);
  if (!obj) return undefined;
  try {
    return parseDigest(await readAll(obj.body, { gzip: true, maxBytes: 64 * 1024 * 1024, what: key }), key).record.digestS3Bucket;
  } catch (e) {
    if (e instanceof ValidateLogsError) return undefined; // reported as invalid by the walk itself
    throw e;
  }
}

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

async function run(flags: Flags<typeof OPTIONS>, need: (flag: keyof typeof OPTIONS) => string, io: CommandIO): Promise<number> {
  const arnText = need('trail-arn');
  let arn;
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
  const concurrency = flags.concurrency === undefined ? 4 : Number(flags.concurrency);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 1024) {
    throw new UsageError(`--concurrency must be a whole number from 1 to 1024, not ${JSON.stringify(flags.concurrency)}`);
  }
  const tailGraceMs = flags['tail-grace'] === undefined ? DEFAULT_TAIL_GRACE_MS : parseDuration(flags['tail-grace'], '--tail-grace');
  const dir = flags['local-dir'];
  if (!dir) {
    throw new UsageError('--local-dir is required: this version validates a local copy of the bucket (aws s3 sync s3://BUCKET DIR)');
  }
  try {
    if (!(await stat(dir)).isDirectory()) throw new UsageError(`--local-dir ${dir} is not a directory`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--local-dir ${dir} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const keyFiles = flags['public-keys'] ?? [];
  if (keyFiles.length === 0) {
    throw new UsageError(
      '--public-keys FILE is required with --local-dir: save the keys with "aws cloudtrail list-public-keys --start-time START > keys.json"',
    );
  }
  const keys = await loadKeys(keyFiles);
  const trail: TrailRef = {
    accountId: flags['account-id'] ?? arn.accountId,
    region: flags.region ?? arn.region,
    homeRegion: arn.region,
    trailName: arn.trailName,
    ...(flags['s3-prefix'] && { prefix: flags['s3-prefix'].replace(/^\/+|\/+$/g, '') }),
    ...(flags['organization-id'] && { organizationId: flags['organization-id'] }),
  };
  if (!/^\d{12}$/.test(trail.accountId)) throw new UsageError(`--account-id must be 12 digits, not ${JSON.stringify(trail.accountId)}`);
  if (trail.organizationId !== undefined && !/^o-[a-z0-9]{10,32}$/.test(trail.organizationId)) {
    throw new UsageError(`--organization-id must look like o-xxxxxxxxxx, not ${JSON.stringify(trail.organizationId)}`);
  }
  const anySource = new LocalDirectory(dir);
  const folder = digestFolder(trail);
  let sawFolder = false;
  for await (const _ of anySource.list('', folder)) {
    sawFolder = true;
    break;
  }
  if (!sawFolder) {
    throw new UsageError(
      `no digest files under ${folder} in ${dir}: check --local-dir (the bucket root), --s3-prefix, --account-id and --region`,
    );
  }
  let bucket = flags['s3-bucket'];
  const notes: string[] = [];
  if (!bucket) {
    bucket = await bucketFromDigests(anySource, trail, start, end);
    if (bucket) notes.push(`--s3-bucket not given: validating as bucket "${bucket}", the bucket the newest digest names`);
    else bucket = 'unknown-bucket';
  }
  const source = new LocalDirectory(dir, { bucket });

  const out = (s: string): void => void io.stdout.write(s);
  const progress = new Progress((s) => void io.stderr.write(s), !flags['no-progress'] && progressWanted(io.stderr, io.env));
  const err = (s: string): void => {
    progress.clear();
    io.stderr.write(s);
  };
  for (const n of notes) err(`validate-logs: note: ${n}\n`);
  const startText = formatDigestTime(start);
  const endText = formatDigestTime(end);
  const tally = new Tally(start, end);
  const text = output === 'text' ? new TextWriter(out, err, flags.verbose === true) : undefined;
  let firstFinding = true;
  if (text) text.startup(arnText, startText, endText);
  else {
    const request = {
      trailArn: arnText,
      startTime: startText,
      endTime: endText,
      bucket,
      ...(trail.prefix && { prefix: trail.prefix }),
      accountId: trail.accountId,
      region: trail.region,
      ...(trail.organizationId && { organizationId: trail.organizationId }),
      source: { type: 'local', path: dir },
    };
    out(`{"tool":"validate-logs","version":${JSON.stringify(packageVersion())},"request":${JSON.stringify(request)},"findings":[`);
  }
  const onFinding = async (f: Finding): Promise<void> => {
    tally.add(f);
    if (f.kind === 'digest') progress.digestsDone++;
    if (f.kind === 'log') {
      progress.objects++;
      progress.bytes += f.size ?? 0;
    }
    progress.tick();
    if (text) text.finding(f);
    else {
      await writeWithBackpressure(io.stdout, `${firstFinding ? '\n' : ',\n'}${JSON.stringify(f)}`);
      firstFinding = false;
    }
  };
  for await (const f of verifyTrail({
    source,
    bucket,
    trail,
    keys,
    start,
    end,
    concurrency,
    tailGraceMs,
    onListed: (n) => {
      progress.digestsTotal = n;
    },
  })) {
    await onFinding(f);
  }
  progress.clear();
  const summary = tally.summary();
  const empty = summary.digests.valid + summary.digests.invalid + summary.backfillDigests.valid + summary.backfillDigests.invalid === 0;
  const ok = summary.ok && (!empty || flags['allow-empty'] === true) && (summary.gaps === 0 || !flags['fail-on-gap']);
  if (text) {
    text.summary(summary, startText, endText);
    if (empty && !flags['allow-empty']) {
      err(`validate-logs: no digest files of this trail were found between ${startText} and ${endText}; nothing was validated (--allow-empty to accept)\n`);
    }
  } else {
    const found = summary.foundStart && summary.foundEnd ? { startTime: summary.foundStart, endTime: summary.foundEnd } : null;
    const { foundStart: _s, foundEnd: _e, ok: _ok, ...counts } = summary;
    out(`${firstFinding ? '' : '\n'}],"found":${JSON.stringify(found)},"summary":${JSON.stringify(counts)},"empty":${empty},"ok":${ok}}\n`);
  }
  await write(io.stdout, '');
  return ok ? 0 : 1;
}

runIfMain(import.meta.url, 'validate-logs', validateLogsCommand);
