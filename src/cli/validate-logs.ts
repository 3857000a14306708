/**
 * `validate-logs`: replay a trail's digest chains and report every digest and log file, with
 * the AWS CLI's flags and text output, a JSON report, and exit status 0 (all valid), 1
 * (something INVALID) or 2 (usage or environment error, or the run stopped). Reads a local
 * copy of a bucket or S3 itself, one region or all of a multi-region trail's, and can save
 * what it verified as evidence that validates again offline.
 *
 * The command in three steps: plan (`plan.ts`: the flags, where, which regions and keys), run
 * the regions (`regions.ts`), report (`text.ts`, `json.ts`; merging and judging the regions'
 * results is the library's `judgeRegions`).
 * @module
 */
import { trailsInFolder } from '../chain/listing.js';
import { judgeRegions, type Judgement, type ReportPolicy } from '../chain/report.js';
import { PublicKeySet } from '../crypto/keys.js';
import { SavingSource } from '../sources/saving.js';
import { JsonReport, reportError, reportTailMembers, type EvidenceInfo, type ReportRequest } from './json.js';
import { defineCommand, packageVersion, processIO, runProgram, threadsFlag, untilStopped, write, type CommandIO } from './io.js';
import { VALIDATE_OPTIONS, makePlan, namedRegions, readSettings, trailOf, wantsJson, type Plan, type Settings, type ValidateFlags } from './plan.js';
import type { Platform } from '../platform/platform.js';
import { Progress, progressWanted } from './progress.js';
import { RegionRunner } from './regions.js';
import { isSmallLocalRun } from './run-size.js';
import { TextReport } from './text.js';
import { VALIDATE_HELP } from './validate-help.js';
import type { CheckpointPlan, WrittenCheckpoint } from './checkpoint-run.js';
import { plural } from './words.js';

/** What a failure must end properly: the output begun so far and the results so far. */
interface RunState {
  policy: ReportPolicy;
  json?: JsonReport;
  text?: TextReport;
  progress?: Progress;
  runner?: RegionRunner;
}

/**
 * Run `validate-logs` with the given arguments.
 * @param argv - the arguments (without node and script)
 * @param io - streams, environment, clock and stop signal
 * @returns the exit status
 */
export function validateLogsCommand(argv: string[], io: CommandIO = processIO()): Promise<number> {
  const state: RunState = { policy: {} };
  return defineCommand({
    name: 'validate-logs',
    help: VALIDATE_HELP,
    options: VALIDATE_OPTIONS,
    run: (flags, need, io) => run(flags, need, io, state),
    failed: (error, argv, io) => failed(error, argv, io, state),
    offline: reachesNoAws,
  })(argv, io);
}

/**
 * Whether a run's flags keep it off every AWS endpoint: a local copy with its public keys given,
 * no endpoint or profile, no time stamp authority and no `s3://` location anywhere (judged
 * conservatively: anything else counts as online).
 * @param flags - the parsed flags
 * @returns true for a run that reaches no AWS endpoint
 */
function reachesNoAws(flags: ValidateFlags): boolean {
  const values = Object.values(flags).flatMap((v) => (Array.isArray(v) ? v : [v]));
  return (
    flags['local-dir'] !== undefined &&
    (flags['public-keys']?.length ?? 0) > 0 &&
    flags['endpoint-url'] === undefined &&
    flags.profile === undefined &&
    flags['timestamp-url'] === undefined &&
    flags.regions === undefined &&
    !values.some((v) => typeof v === 'string' && /^s3:/i.test(v.trim()))
  );
}

async function run(flags: ValidateFlags, need: (flag: keyof typeof VALIDATE_OPTIONS) => string, io: CommandIO, state: RunState): Promise<number> {
  // The hashing threads start while the run reads its inputs and lists; over a local copy (and
  // unless --threads says how many), once the run is known to be large enough for them.
  const threadsLater = flags.threads === undefined && flags['local-dir'] !== undefined;
  if (!threadsLater) threadsFlag(flags.threads, true);
  // The checkpoint code (Ed25519, RFC 3161 with pkijs) is loaded only by runs that use it.
  const wantsCheckpoints = [flags.checkpoint, flags['checkpoint-out'], flags['timestamp-url']].some((f) => f !== undefined);
  const checkpointRun = wantsCheckpoints ? await import('./checkpoint-run.js') : undefined;
  const checkpoints: CheckpointPlan = checkpointRun ? await checkpointRun.readCheckpointFlags(flags) : { notes: [] };
  let settings = readSettings(flags, need, io, checkpoints.start);
  // Over a local copy, whether the run is large enough for the threads is known from the flags
  // and a look at its folders, before the plan is made (a large run's threads start at once).
  const localPlatform = threadsLater ? localRunPlatform(flags, settings) : undefined;
  // --report: where it goes is checked before the run; the document is made from the JSON report.
  const reporting = flags.report === undefined ? undefined : await import('./report.js');
  await reporting?.checkReportPath(flags.report!);
  const startedAt = io.now();
  state.policy = { allowEmpty: flags['allow-empty'] === true, failOnGap: flags['fail-on-gap'] === true };
  if (settings.output === 'json') state.json = new JsonReport(io.stdout, packageVersion());
  const plan = await untilStopped(makePlan(checkpoints.bucket === undefined ? flags : { ...flags, 's3-bucket': checkpoints.bucket }, settings), io.signal);
  checkpointRun?.scopeCheckpoint(checkpoints, plan);
  io.debug?.(`plan: ${JSON.stringify({ source: plan.sourceInfo, bucket: plan.bucket, trail: plan.trail, regions: plan.regions, keysGiven: plan.keys.size })}`);
  state.policy.emptyRegionsAllowed = plan.discovered;
  if (localPlatform) settings = { ...settings, platform: localPlatform };

  const saving = flags['save-to'] ? new SavingSource(plan.source, flags['save-to']) : undefined;
  await saving?.check(); // a planted public-keys.json link is refused before the run
  // With --debug, stderr is for its lines: no progress line between them.
  const progress = new Progress((s) => void io.stderr.write(s), !flags['no-progress'] && !io.debug && progressWanted(io.stderr, io.env));
  state.progress = progress;
  // stdout and stderr share the terminal: the progress line is erased before any line (the summary too).
  const out = (s: string): void => {
    progress.clear();
    io.stdout.write(s);
  };
  const err = (s: string): void => {
    progress.clear();
    io.stderr.write(s);
  };
  const note = (n: string): void => err(`validate-logs: note: ${n}\n`);
  for (const n of [...(settings.notes ?? []), ...plan.notes, ...checkpoints.notes]) note(n);

  const usedKeys = new PublicKeySet(plan.keys);
  const runner = new RegionRunner({
    plan,
    settings,
    source: saving ?? plan.source,
    usedKeys,
    progress,
    note,
    ...(io.signal && { signal: io.signal }),
    ...(checkpoints.pins && { pins: checkpoints.pins, startAtPins: flags['start-time'] === undefined }),
    keep: checkpoints.out !== undefined || reporting !== undefined,
  });
  state.runner = runner;
  let sink: JsonReport | TextReport;
  if (state.json) {
    await state.json.begin(request(settings, plan));
    sink = state.json;
  } else {
    sink = state.text = new TextReport(out, err, flags.verbose === true, { trailArn: settings.arnText, start: settings.startText, end: settings.endText, multi: plan.regions.length > 1, failOnGap: state.policy.failOnGap === true });
  }
  const judgement = judgeRegions(await untilStopped(runner.run(sink), io.signal), state.policy);
  progress.clear();

  let evidence: EvidenceInfo | undefined;
  if (saving) {
    await saving.complete();
    const dir = flags['save-to']!;
    const keysFile = await saving.writePublicKeys(JSON.stringify(usedKeys.toListPublicKeys(), null, 1) + '\n');
    evidence = { dir, localDir: saving.bucketDir(plan.bucket), publicKeys: keysFile, objects: saving.objects, bytes: saving.bytes };
  }

  let written: WrittenCheckpoint | undefined;
  if (checkpoints.out) {
    const run = { trailArn: settings.arnText, bucket: plan.bucket, regions: plan.regions, records: runner.records(), judgement };
    for (const n of await checkpointRun!.writeCheckpoint(checkpoints, run, flags['timestamp-url'], flags['tsa-cert'], (w) => (written = w))) note(n);
  }

  const extra = { ...(evidence && { evidence }), ...(reporting && { run: reporting.runInfo(startedAt, io.now(), usedKeys, written) }) };
  if (reporting) {
    const findings = runner.records().flatMap((r) => r.findings);
    await reporting.writeRunReport(flags.report!, { tool: 'validate-logs', version: packageVersion(), request: request(settings, plan), findings, ...reportTailMembers(judgement, extra) });
    note(`report written to ${flags.report}`);
  }
  if (state.json) await state.json.end(judgement, extra);
  else await textEpilogue(err, judgement, settings, plan, evidence);
  await write(io.stdout, '');
  return judgement.ok ? 0 : 1;
}

/**
 * The platform of a run over a local copy with the default `--threads`: none of the hashing
 * threads for a small run ({@link isSmallLocalRun}), where starting them costs more than they
 * save; otherwise the pool, its threads started as soon as that is known. A run over every
 * region (`--regions all`), or flags the plan will refuse, get the pool.
 */
function localRunPlatform(flags: ValidateFlags, settings: Settings): Platform {
  let small = false;
  try {
    const trail = trailOf(flags, settings.arn, flags['organization-id'], flags['s3-prefix']);
    const regions = flags.regions === 'all' ? [] : namedRegions(flags, settings.arn);
    small = regions.length > 0 && isSmallLocalRun({ root: flags['local-dir']!, trails: regions.map((region) => ({ ...trail, region })), start: settings.start, end: settings.end, tailGraceMs: settings.tailGraceMs });
  } catch {
    small = false;
  }
  return small ? threadsFlag('0') : threadsFlag(undefined, true);
}

/** The report's `request` member. */
function request(settings: Settings, plan: Plan): ReportRequest {
  return {
    trailArn: settings.arnText,
    startTime: settings.startText,
    endTime: settings.endText,
    bucket: plan.bucket,
    ...(plan.trail.prefix && { prefix: plan.trail.prefix }),
    accountId: plan.trail.accountId,
    region: plan.regions[0]!,
    regions: plan.regions,
    ...(plan.trail.organizationId && { organizationId: plan.trail.organizationId }),
    source: plan.sourceInfo,
  };
}

/** The lines on stderr after the text report: why an empty run fails, a missing-signature hint, where the evidence is. */
async function textEpilogue(err: (s: string) => void, judgement: Judgement, settings: Settings, plan: Plan, evidence: EvidenceInfo | undefined): Promise<void> {
  await emptyHints(err, judgement, settings, plan);
  if (plan.notes.length === 0 && !plan.online && (judgement.summary.byCode.DIGEST_SIGNATURE_MISSING ?? 0) > 0) {
    err("validate-logs: note: a digest without signature metadata cannot be verified; save each digest's metadata as <digest>.metadata.json (see docs/cli.md)\n");
  }
  if (evidence) {
    err(`validate-logs: evidence saved in ${evidence.dir} (${plural(evidence.objects, 'object')}, ${plural(evidence.bytes, 'byte')}); check it offline with --local-dir ${evidence.localDir} --public-keys ${evidence.publicKeys}\n`);
  }
}

/** Most other trails' names said in a hint. */
const MAX_TRAILS_NAMED = 10;

/**
 * What to say about regions with no digest of the trail in range. Only a region that fails for
 * that alone gets "--allow-empty to accept" (one that fails for a finding, such as a
 * rollback, does not pass with it); a region whose folder holds other trails' digests and none
 * of this trail's names them instead, failing or not: the trail name is likely mistyped.
 */
async function emptyHints(err: (s: string) => void, judgement: Judgement, settings: Settings, plan: Plan): Promise<void> {
  const failedAlone = new Set(judgement.regions.filter((r) => r.empty && !r.ok && r.summary.ok).map((r) => r.region));
  // Regions allowed to be empty are looked into only when the whole run is empty (--regions all may find many).
  const looked = judgement.regions.filter((r) => r.empty && (failedAlone.has(r.region) || (judgement.empty && r.summary.ok)));
  const acceptable: string[] = [];
  for (const r of looked) {
    const where = plan.regions.length > 1 ? ` in ${r.region}` : '';
    // A hint only: a listing that fails now is said, and leaves the plain line (the report is already out).
    const found = await trailsInFolder(plan.source, plan.bucket, { ...plan.trail, region: r.region }, settings.start).catch((e: unknown) => {
      err(`validate-logs: note: the digest folder${where} could not be listed for other trails' names: ${e instanceof Error ? e.message : String(e)}\n`);
      return undefined;
    });
    if (found && found.others.length > 0 && !found.own) {
      const names = found.others.slice(0, MAX_TRAILS_NAMED).map((n) => JSON.stringify(n)).join(', ') + (found.others.length > MAX_TRAILS_NAMED ? `, and ${found.others.length - MAX_TRAILS_NAMED} more` : '');
      err(
        `validate-logs: ${failedAlone.has(r.region) ? '' : 'note: '}no digest file of trail ${JSON.stringify(plan.trail.trailName)} was found${where} from ${settings.startText} on, ` +
          `but its digest folder holds digests of other trails: ${names}; check the trail name in --trail-arn\n`,
      );
    } else if (failedAlone.has(r.region)) acceptable.push(r.region);
  }
  if (acceptable.length > 0) {
    const where = plan.regions.length > 1 ? ` in ${acceptable.join(', ')}` : '';
    err(`validate-logs: no digest files of this trail were found between ${settings.startText} and ${settings.endText}${where}; nothing was validated (--allow-empty to accept)\n`);
  }
}

/**
 * Whatever stopped the run: the text report prints nothing more; the JSON document (begun,
 * or asked for) is ended with the findings and counts so far and an `error` member.
 */
async function failed(error: unknown, argv: string[], io: CommandIO, state: RunState): Promise<void> {
  state.progress?.clear();
  state.text?.close();
  if (!state.json) {
    if (!wantsJson(argv)) return;
    state.json = new JsonReport(io.stdout, packageVersion());
  }
  try {
    await state.json.end(judgeRegions(state.runner?.results() ?? [], state.policy), { error: reportError(error) });
  } catch (e) {
    if (!state.json.broken) throw e; // stdout is gone: the line on stderr is all that can be said
  }
}

/** Whether the arguments are for the organization-scale commands: `plan`, `merge`, or a shard's run (`--manifest`). */
const forScale = (argv: string[]): boolean => argv[0] === 'plan' || argv[0] === 'merge' || argv.some((a) => a === '--manifest' || a.startsWith('--manifest='));

// Subcommands are dispatched on the first argument: `validate-logs cosign ...`. Each is loaded
// only when asked for (the scale commands' modules too): a run loads what it uses.
const withSubcommands = async (argv: string[], io?: CommandIO): Promise<number> => {
  if (forScale(argv)) return (await import('./scale.js')).withScaleCommands(validateLogsCommand)(argv, io);
  if (argv[0] === 'cosign') return (await import('./cosign.js')).cosignCommand(argv.slice(1), io);
  if (argv[0] === 'watch') return (await import('./watch.js')).watchCommand(argv.slice(1), io);
  if (argv[0] === 'history') return (await import('./history.js')).historyCommand(argv.slice(1), io);
  if (argv[0] === 'report') return (await import('./report.js')).reportCommand(argv.slice(1), io);
  return validateLogsCommand(argv, io);
};

/**
 * Run the `validate-logs` program with this process's arguments: the package's bin
 * (`validate-logs-bin.ts`) loads this module for every run but `--version` or `--help` alone.
 */
export function main(): void {
  runProgram('validate-logs', withSubcommands, { stoppable: true, smallHeaps: true });
}
