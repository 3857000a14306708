/**
 * Organization scale, as three steps of `validate-logs`: `plan` lists a bucket's digest chains
 * and writes a manifest of shards; `--manifest FILE --shard-index N` validates one shard (the
 * index from `AWS_BATCH_JOB_ARRAY_INDEX` or `JOB_COMPLETION_INDEX` when the flag is absent) and
 * writes its report; `merge` joins the reports into one report with a single run's findings,
 * summary and exit status.
 * @module
 */
import { stat } from 'node:fs/promises';
import { chainLevelCounts, mergeSummaries } from '../chain/report.js';
import { formatDigestTime } from '../format/time.js';
import { LocalDirectory } from '../sources/local.js';
import { S3Storage } from '../sources/s3.js';
import { SHARD_INDEX_VARIABLES, checkShardItem, formatManifest, parseManifest, planShards, type ShardItem } from '../scale/manifest.js';
import type { ChainResult } from '../scale/merge.js';
import { collectReports } from '../scale/collect.js';
import { discoverChains } from '../scale/plan.js';
import { runShardFromPlan, shardIndexFromEnv } from '../scale/run.js';
import { DocumentStore } from '../scale/store.js';
import { concurrencyFlag, defineCommand, packageVersion, threadsFlag, timeFlag, untilStopped, UsageError, write, type CommandIO, type Flags } from './io.js';
import { DocumentBuffer, failureDocument, type FailureState } from './json.js';
import { awsAccess, GLOBAL_HELP } from './global.js';
import { plural } from './words.js';
import { TextWriter } from './text.js';
import { checkRange, endTimeFlag, loadKeyFiles } from './plan.js';

/** The help text of `validate-logs plan`. */
export const PLAN_HELP: string = `Usage: validate-logs plan --s3-bucket BUCKET --start-time TIME [options]

Lists the digest chains of a bucket (every account, organization layout AWSLogs/o-ID/ACCOUNT/
and plain AWSLogs/ACCOUNT/, every region, every trail) and writes a manifest: JSON Lines, one
shard a line, each naming its account, region, trail, bucket, prefix and time window. Run each
shard with "validate-logs --manifest FILE --shard-index N", then "validate-logs merge".

  --s3-bucket NAME       The bucket (required).
  --s3-prefix PREFIX     The trails' S3 key prefix, if any.
  --local-dir DIR        Plan over a local copy of the bucket (DIR is the bucket root).
  --start-time TIME      Start of every chain's window (required).
  --end-time TIME        End of every chain's window (default: now; a later time is now).
  --shard-hours H        Cut each chain into windows of H hours (default: one shard per chain).
  --accounts LIST        Only these accounts (comma-separated).
  --regions LIST         Only these regions (comma-separated).
  --trails LIST          Only these trails; also finds trails that delivered only in the
                         middle of the window (by default a trail is found from its digests on
                         the first and last days of the window).
  --reports DEST         Where workers write their reports: a folder or s3://BUCKET/PREFIX/
                         (recorded in each line; a worker's --reports overrides it).
  --manifest DEST        Write the manifest here (a file or s3://BUCKET/KEY; default: stdout).
  --output text|json     text (default): the manifest on stdout unless --manifest; json: one
                         document on stdout: the plan id, counts, where the manifest went, and
                         its lines as "items" unless --manifest. On exit 2, stdout holds
                         nothing (text) or one document with "ok": false and an "error".
  --endpoint-url URL     An S3-compatible endpoint.   --profile NAME   An AWS profile.
  --help                 Show this help.          --version        Show the version.

${GLOBAL_HELP}`;

/** The help text of a shard run. */
export const SHARD_HELP: string = `Usage: validate-logs --manifest FILE --shard-index N [options]

Validates one shard of a plan and writes its JSON report (shard-NNNNNN.json in the reports
folder). Without --shard-index, N comes from ${SHARD_INDEX_VARIABLES.join(' or ')} (AWS Batch
array jobs, Kubernetes Indexed Jobs). Exit status 0 means the report was written, whatever it
found (the merge gives the verdict); 2 an error: run the shard again, it is idempotent.

  --manifest FILE        The manifest (a file or s3://BUCKET/KEY).
  --shard-index N        The line of the manifest, from 0.
  --reports DEST         Where to write the report (default: the manifest's; else stdout).
  --local-dir DIR        Read a local copy of the bucket (needs --public-keys).
  --public-keys FILE     Public keys ("aws cloudtrail list-public-keys" output). Repeatable.
                         Online, without it: ListPublicKeys in the shard's region.
  --concurrency N        Objects read from storage at once (default: 4 locally, 32 on S3).
  --threads N            Threads that inflate and hash log files (default: every available
                         core).
  --endpoint-url URL     An S3-compatible endpoint.   --profile NAME   An AWS profile.
  --help                 Show this help.          --version        Show the version.

${GLOBAL_HELP}`;

/** The help text of `validate-logs merge`. */
export const MERGE_HELP: string = `Usage: validate-logs merge [options] REPORT...

Merges shard reports (files, folders of them, or s3://BUCKET/PREFIX/) into one report: per
chain, the findings a single run would make (checking that adjacent shards join, and reporting a
digest deleted at a boundary or a hole across shards as a single run does), one summary, and a
single run's exit status: 0 all valid, 1 something INVALID or a chain with no digest, 2 a
missing, malformed or refused report (named on stderr). A report is refused when it is not what
its shard's run writes: its summary is not the count of its findings, a finding or an edge is
outside its window, its shard is not the plan's (edited, replayed, of another plan, bucket,
trail or window), shards ran with different settings, or it changed during the merge.

  --manifest FILE        The plan's manifest: names every shard whose report is missing,
                         and refuses a report whose shard is not its line (keep it where the
                         workers cannot write: without it, reports are only checked against
                         each other).
  --output text|json     text (default): the AWS CLI's lines per chain; json: one document,
                         built whole before it is written. On exit 2, stdout holds one document
                         claiming nothing ("findings" and "chains" empty, "ok": false, an "error").
  --verbose              Also print the valid digest and log files (text).
  --allow-empty          A chain with no digest in its window is no failure.
  --fail-on-gap          A gap in a chain is a failure.
  --endpoint-url URL     An S3-compatible endpoint.   --profile NAME   An AWS profile.
  --help                 Show this help.          --version        Show the version.

${GLOBAL_HELP}`;

/** How far the clock of the machine that planned may be ahead of a worker's. */
const PLAN_CLOCK_SKEW_MS = 5 * 60_000;


const list = (text: string | undefined): string[] | undefined => text?.split(',').map((s) => s.trim()).filter(Boolean);

function storeFor(flags: { 'endpoint-url'?: string; profile?: string }, io: CommandIO): DocumentStore {
  return new DocumentStore(awsAccess(flags, io));
}

async function requireDirectory(dir: string, flag: string): Promise<void> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new UsageError(`${flag} ${dir} is not a directory`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${flag} ${dir} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** The flags of `validate-logs plan`. */
export const PLAN_OPTIONS = {
  's3-bucket': { type: 'string' },
  's3-prefix': { type: 'string' },
  'local-dir': { type: 'string' },
  'start-time': { type: 'string' },
  'end-time': { type: 'string' },
  'shard-hours': { type: 'string' },
  accounts: { type: 'string' },
  regions: { type: 'string' },
  trails: { type: 'string' },
  reports: { type: 'string' },
  manifest: { type: 'string' },
  output: { type: 'string' },
  'endpoint-url': { type: 'string' },
  profile: { type: 'string' },
} as const;

/**
 * Run `validate-logs plan`.
 * @param argv - the arguments after `plan`
 * @param io - streams, environment and clock
 * @returns the exit status
 */
export const planCommand: (argv: string[], io?: CommandIO) => Promise<number> = defineCommand({
  name: 'validate-logs plan',
  help: PLAN_HELP,
  options: PLAN_OPTIONS,
  failed: failureDocument(),
  async run(flags, need, io) {
    const output = flags.output ?? 'text';
    if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, not ${JSON.stringify(output)}`);
    const bucket = need('s3-bucket');
    const start = timeFlag(need('start-time'), '--start-time');
    const { end, note } = endTimeFlag(flags['end-time'], io.now(), 'planning');
    checkRange(start, end, flags['end-time'] === undefined || note !== undefined);
    if (note) await write(io.stderr, `validate-logs plan: note: ${note}\n`);
    const hours = flags['shard-hours'];
    if (hours !== undefined && !/^[1-9]\d{0,5}$/.test(hours)) throw new UsageError(`--shard-hours must be a whole number of hours from 1, not ${JSON.stringify(hours)}`);
    const accounts = list(flags.accounts);
    for (const a of accounts ?? []) if (!/^\d{12}$/.test(a)) throw new UsageError(`--accounts: ${JSON.stringify(a)} is not a 12-digit account id`);
    const regions = list(flags.regions);
    for (const r of regions ?? []) if (!/^[a-z]{2}(?:-[a-z0-9]+)+-\d+$/.test(r)) throw new UsageError(`--regions: ${JSON.stringify(r)} is not an AWS region name`);
    const prefix = flags['s3-prefix']?.replace(/^\/+|\/+$/g, '') || undefined;
    const local = flags['local-dir'];
    if (local) await requireDirectory(local, '--local-dir');
    const source = local
      ? new LocalDirectory(local, { bucket })
      : new S3Storage(awsAccess(flags, io));
    const trails = list(flags.trails);
    const chains = await discoverChains({ source, bucket, start, end, ...(prefix && { prefix }), ...(accounts && { accounts }), ...(regions && { regions }), ...(trails && { trails }) });
    if (chains.length === 0) {
      throw new UsageError(`no digest chain found under ${prefix ? prefix + '/' : ''}AWSLogs/ in ${local ? 'the local copy' : `s3://${bucket}`}: check --s3-bucket, --s3-prefix, --accounts, --regions`);
    }
    const items = planShards(chains, start, end, { ...(hours && { shardHours: Number(hours) }), ...(flags.reports && { reports: flags.reports }) });
    if (flags.manifest) await storeFor(flags, io).write(flags.manifest, formatManifest(items));
    if (output === 'json') {
      const request = { bucket, ...(prefix && { prefix }), startTime: formatDigestTime(start), endTime: formatDigestTime(end), ...(hours && { shardHours: Number(hours) }) };
      const doc = { tool: 'validate-logs', version: packageVersion(), request, plan: items[0]!.plan, chains: chains.length, shards: items.length, manifest: flags.manifest ?? null, ...(!flags.manifest && { items }), ok: true };
      await write(io.stdout, JSON.stringify(doc) + '\n');
    } else if (!flags.manifest) {
      await write(io.stdout, formatManifest(items));
    }
    await write(io.stderr, `validate-logs plan: ${plural(chains.length, 'chain')}, ${plural(items.length, 'shard')}${flags.manifest ? `, manifest written to ${flags.manifest}` : ''}\n`);
    return 0;
  },
});

/** The flags of a shard run, `validate-logs --manifest FILE`. */
export const SHARD_OPTIONS = {
  manifest: { type: 'string' },
  'shard-index': { type: 'string' },
  reports: { type: 'string' },
  'local-dir': { type: 'string' },
  'public-keys': { type: 'string', multiple: true },
  concurrency: { type: 'string' },
  threads: { type: 'string' },
  'endpoint-url': { type: 'string' },
  profile: { type: 'string' },
} as const;

/**
 * Run one shard: `validate-logs --manifest FILE [--shard-index N]`.
 * @param argv - the arguments
 * @param io - streams, environment and clock
 * @returns the exit status: 0 when the report was written
 */
export const shardCommand: (argv: string[], io?: CommandIO) => Promise<number> = defineCommand({
  name: 'validate-logs',
  help: SHARD_HELP,
  options: SHARD_OPTIONS,
  async run(flags, need, io) {
    const manifest = need('manifest');
    let index: number | undefined;
    if (flags['shard-index'] !== undefined) {
      if (!/^\d{1,9}$/.test(flags['shard-index'])) throw new UsageError(`--shard-index must be a whole number from 0, not ${JSON.stringify(flags['shard-index'])}`);
      index = Number(flags['shard-index']);
    } else {
      try {
        index = shardIndexFromEnv(io.env);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    if (index === undefined) throw new UsageError(`--shard-index is required when neither ${SHARD_INDEX_VARIABLES.join(' nor ')} is set`);
    const concurrency = flags.concurrency === undefined ? undefined : concurrencyFlag(flags.concurrency);
    const platform = threadsFlag(flags.threads, true);
    const local = flags['local-dir'];
    if (local) await requireDirectory(local, '--local-dir');
    if (local && !flags['public-keys']) throw new UsageError('--public-keys FILE is required with --local-dir');
    const store = storeFor(flags, io);
    const line = await store.readLine(manifest, index);
    if (line === undefined) throw new UsageError(`${manifest} has no shard ${index}`);
    let item: ShardItem;
    try {
      item = checkShardItem(JSON.parse(line), `${manifest} line ${index + 1}`);
    } catch (e) {
      if (e instanceof SyntaxError) throw new UsageError(`${manifest} line ${index + 1} is not JSON: ${e.message}`);
      throw e;
    }
    if (item.index !== index) throw new UsageError(`${manifest} line ${index + 1} is shard ${item.index}, not ${index}: a malformed manifest`);
    // A window past the present (a manifest not made by plan, which ends it at now) would judge
    // the newest logs against digests not due yet; the shards' windows must abut, so no shard moves its own.
    if (Date.parse(item.chainEnd) > io.now().getTime() + PLAN_CLOCK_SKEW_MS) {
      throw new UsageError(`${manifest} line ${index + 1}: the chain's window ends at ${item.chainEnd}, in the future: make the manifest again with "validate-logs plan", which ends it at the present moment`);
    }
    const { report, written } = await runShardFromPlan({
      item,
      ...(local && { localDir: local }),
      ...(flags['public-keys'] && { keys: await loadKeyFiles(flags['public-keys']) }),
      ...awsAccess(flags, io),
      ...(concurrency !== undefined && { concurrency }),
      platform,
      ...(flags.reports && { reports: flags.reports }),
    });
    if (!written) await write(io.stdout, JSON.stringify(report) + '\n');
    const s = report.summary;
    const invalid = s.digests.invalid + s.backfillDigests.invalid + s.logs.invalid + s.objects.invalid;
    // What the counts of files cannot show is named too (a deleted tail, a loop).
    const chain = chainLevelCounts(s).map((c) => `, ${c.count} ${c.code}`).join('');
    await write(
      io.stderr,
      `validate-logs: shard ${index} of ${item.shards} (account ${item.accountId}, region ${item.region}, ${item.start} to ${item.end}): ` +
        `${plural(s.digests.valid + s.digests.invalid, 'digest')}, ${plural(s.logs.valid + s.logs.invalid, 'log file')}, ${invalid} INVALID${chain}${written ? `; report written to ${written}` : ''}\n`,
    );
    return 0;
  },
});

/**
 * Run `validate-logs merge`.
 * @param argv - the arguments after `merge`
 * @param io - streams, environment and clock
 * @returns the exit status
 */
export function mergeCommand(argv: string[], io?: CommandIO): Promise<number> {
  // Until the merge is done, a failure prints a document that claims nothing: no finding, no chain.
  const state: MergeState = { fields: { request: null, findings: [], chains: [] } };
  return defineCommand({
    name: 'validate-logs merge',
    help: MERGE_HELP,
    positionals: true,
    options: MERGE_OPTIONS,
    run: (flags, _need, io, args) => merge(flags, io, args, state),
    async failed(error, argv, io) {
      await state.document?.discard();
      await failureDocument(state)(error, argv, io);
    },
  })(argv, io);
}

/** The flags of `validate-logs merge`. */
export const MERGE_OPTIONS = {
  manifest: { type: 'string' },
  output: { type: 'string' },
  verbose: { type: 'boolean' },
  'allow-empty': { type: 'boolean' },
  'fail-on-gap': { type: 'boolean' },
  'endpoint-url': { type: 'string' },
  profile: { type: 'string' },
} as const;

/** How far a merge got: its JSON document, built whole before it is written. */
interface MergeState extends FailureState {
  document?: DocumentBuffer;
}

async function merge(flags: Flags<typeof MERGE_OPTIONS>, io: CommandIO, args: string[], state: MergeState): Promise<number> {
  const output = flags.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, not ${JSON.stringify(output)}`);
  if (args.length === 0) throw new UsageError('give the shard reports to merge: files, folders or s3://BUCKET/PREFIX/ (see --help)');
  const store = storeFor(flags, io);
  const manifest = flags.manifest ? parseManifest(await untilStopped(store.read(flags.manifest), io.signal), flags.manifest) : undefined;

  const { shards, chains } = await untilStopped(collectReports(store, args, manifest), io.signal);
  const out = (s: string): void => void io.stdout.write(s);
  const err = (s: string): void => void io.stderr.write(s);
  const first = shards[0]!;
  const doc = output === 'json' ? (state.document = new DocumentBuffer()) : undefined;
  if (doc) {
    const request = { plan: first.plan, shards: first.shards, startTime: first.chainStart, endTime: first.chainEnd };
    state.fields!.request = request;
    await doc.append(`{"tool":"validate-logs","version":${JSON.stringify(packageVersion())},"request":${JSON.stringify(request)},"findings":[`);
  }
  let firstFinding = true;
  const results: Array<Omit<ChainResult, 'findings'> & { ok: boolean }> = [];
  const chainOk = (r: ChainResult): boolean => r.summary.ok && (!r.empty || flags['allow-empty'] === true) && (r.summary.gaps === 0 || !flags['fail-on-gap']);
  const iterator = chains[Symbol.asyncIterator]();
  for (let next = await untilStopped(iterator.next(), io.signal); !next.done; next = await untilStopped(iterator.next(), io.signal)) {
    const result = next.value;
    const s = result.shard;
    if (doc) {
      for (const f of result.findings) {
        await doc.append(`${firstFinding ? '\n' : ',\n'}${JSON.stringify(f)}`);
        firstFinding = false;
      }
    } else {
      const text = new TextWriter(out, err, flags.verbose === true);
      out(`Account ${s.accountId}, region ${s.region}, trail ${s.trailName}:\n`);
      text.startup(`arn:aws:cloudtrail:${s.homeRegion}:${s.accountId}:trail/${s.trailName}`, s.chainStart, s.chainEnd);
      for (const f of result.findings) text.finding(f);
      text.summary(result.summary, s.chainStart, s.chainEnd, { failOnGap: flags['fail-on-gap'] === true });
      if (result.empty && !flags['allow-empty'] && result.summary.ok) err(`validate-logs: no digest files of this trail were found between ${s.chainStart} and ${s.chainEnd}; nothing was validated (--allow-empty to accept)\n`);
    }
    results.push({ shard: s, summary: result.summary, empty: result.empty, ok: chainOk(result) });
  }
  const ok = results.every((r) => r.ok);
  if (doc) {
    // One summary of counts across chains (each chain says its own time found).
    const { foundStart: _start, foundEnd: _end, ...total } = mergeSummaries(results.map((r) => r.summary));
    const tail = {
      summary: total,
      chains: results.map(({ shard: s, summary, empty, ok }) => ({
        accountId: s.accountId,
        region: s.region,
        trailName: s.trailName,
        homeRegion: s.homeRegion,
        bucket: s.bucket,
        ...(s.prefix !== undefined && { prefix: s.prefix }),
        ...(s.organizationId !== undefined && { organizationId: s.organizationId }),
        found: summary.foundStart && summary.foundEnd ? { startTime: summary.foundStart, endTime: summary.foundEnd } : null,
        summary: { digests: summary.digests, backfillDigests: summary.backfillDigests, logs: summary.logs, objects: summary.objects, gaps: summary.gaps, byCode: summary.byCode },
        empty,
        ok,
      })),
      empty: results.every((r) => r.empty),
      ok,
    };
    await doc.append(`${firstFinding ? '' : '\n'}],${JSON.stringify(tail).slice(1)}\n`);
    // The whole document is ready: from here on, standard output gets it, or (closed) nothing more.
    state.written = true;
    await doc.writeTo(io.stdout);
  }
  await write(io.stdout, '');
  return ok ? 0 : 1;
}

/**
 * `validate-logs` with its organization-scale steps: `plan ...`, `merge ...`, and
 * `--manifest FILE` (one shard); anything else is the single run.
 * @param single - the single-run command
 * @returns the command
 */
export function withScaleCommands(single: (argv: string[], io?: CommandIO) => Promise<number>): (argv: string[], io?: CommandIO) => Promise<number> {
  return (argv, io) => {
    if (argv[0] === 'plan') return planCommand(argv.slice(1), io);
    if (argv[0] === 'merge') return mergeCommand(argv.slice(1), io);
    if (argv.some((a) => a === '--manifest' || a.startsWith('--manifest='))) return shardCommand(argv, io);
    return single(argv, io);
  };
}
