/**
 * `validate-logs watch`: continuous assurance. A pass every interval (or one, `--once`)
 * verifies what the trail delivered since the state's signed checkpoint, through the same region
 * walks a run uses, alerts each new condition once (a finding, silence, a trail that cannot be
 * read, and their end), commits the state with a conditional write, appends the pass to the
 * history, and delivers its alerts. The pass itself is `../watch/pass.ts`; the loop
 * `../watch/watcher.ts`; this module reads the flags and wires the state store, the
 * destinations and the metrics.
 * @module
 */
import type { NoteSignerKey } from '../checkpoint/note.js';
import { ValidateLogsError } from '../errors.js';
import type { TrailRef } from '../format/keys.js';
import type { Platform } from '../platform/platform.js';
import { createDestinations } from '../watch/destinations.js';
import { emfLines, renderPrometheus, serveMetrics } from '../watch/metrics.js';
import { checkHistoryBehind, describeScope, isTrailFailure, regionVerifier, runPass, scopeMismatch, type PassOutcome, type PassSettings, type VerifyTrail } from '../watch/pass.js';
import { openStateStore } from '../watch/store.js';
import type { PassRecord, WatchScope, WatchState } from '../watch/types.js';
import { watchLoop } from '../watch/watcher.js';
import { signerKey } from './checkpoint-files.js';
import { GLOBAL_HELP } from './global.js';
import { defineCommand, processIO, threadsFlag, UsageError, untilStopped, write, type CommandIO, type Flags } from './io.js';
import { VALIDATE_OPTIONS, makePlan, parseDuration, readSettings, type Plan, type ValidateFlags } from './plan.js';
import { isSmallLocalRun } from './run-size.js';

/** The help text of `validate-logs watch`. */
export const WATCH_HELP: string = `Usage: validate-logs watch --trail-arn ARN --state DIR|s3://BUCKET/PREFIX/ [options]

Watches a trail: a pass every --interval verifies every digest and log file delivered since
the last pass, with the checks of a run (validate-logs --help), and alerts once for each new
problem. It keeps what it has verified in a state (a folder, or an S3 prefix) so that a
restarted watcher, or the next --once run, goes on where the last pass ended.

A pass, step by step:
  1. Read the state; a state of another trail, bucket, account or prefix is refused (exit 2).
  2. Deliver the alerts an interrupted pass left undelivered.
  3. Open the state's signed checkpoint: for each chain, the newest digest verified so far.
  4. Verify each chain from that digest up to now (the chain must still link back to it:
     a rewrite is CHECKPOINT_MISMATCH, its deletion CHECKPOINT_ROLLBACK); a chain never
     verified starts at --start-time.
  5. Decide the alerts, each once: every INVALID finding and gap not alerted before; silence
     (overdue); a trail that cannot be read (error); and the end of either (recovered).
  6. Write the state, only if no other watcher wrote it since step 1 (else exit 2: nothing
     was written); append the pass to the history; copy the checkpoint to checkpoint.note.
  7. Deliver the alerts, each to every destination; one kept until all have confirmed it.
A line on stderr says what each pass verified, the alerts it sent and when the next begins.

Required:
  --trail-arn ARN        The trail, arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME.
  --state LOCATION       Where the state is kept: a folder, or s3://BUCKET/PREFIX/ (every
                         write there is conditional, so two watchers never fork it). It holds
                         state.json (the chains' checkpoint, the alerts sent and pending),
                         history/YYYY-MM-DD.jsonl (one line per pass: validate-logs history)
                         and checkpoint.note (the checkpoint, for validate-logs --checkpoint).

The trail (as for a run; see validate-logs --help):
  --local-dir DIR, --s3-bucket NAME, --s3-prefix PREFIX, --account-id ID,
  --organization-id ID, --region REGION, --regions LIST|all, --public-keys FILE,
  --profile NAME, --endpoint-url URL, --concurrency N, --threads N, --tail-grace DURATION,
  --max-log-size SIZE. With --regions all, each pass lists the regions again.

Passes:
  --interval DURATION    Time from the start of a pass to the start of the next (default 5m;
                         2h, 90m, 45s). A pass that takes longer is followed at once.
  --once                 One pass, then exit (cron, a Kubernetes CronJob, an EventBridge
                         schedule).
  --start-time TIME      Where the first pass starts when the state is empty (default: 24 hours
                         before now). Later passes start where the last one ended.

Alerts (one JSON object each: {"type", "trail", "account", "region", "code", "severity",
"object", "message", "detectedAt", ...}; type is finding, overdue, error or recovered; see
docs/alerts.md):
  --alert-webhook URL    POST it (application/json, with a Slack/Teams "text" field),
                         retried with back-off. Repeatable.
  --alert-command CMD    Run CMD (with sh -c) with the alert on its standard input.
                         Repeatable.
  --alert-sns TOPIC_ARN  Publish it to an SNS topic. Repeatable.
  --alert-eventbridge BUS
                         Put it on an EventBridge bus (a name or ARN). Repeatable.
  --overdue DURATION     Alert (overdue) when a chain's newest verified digest ended longer
                         ago than this (default 2h): logging was stopped, or the newest
                         digests are being deleted. Recovered when digests verify again.
  --error-after N        Alert (error) after N passes in a row could not read the trail
                         (default 3). Recovered at the first good pass.
Without an alert flag, alerts are only written on stderr.

The state's checkpoint:
  --checkpoint-key FILE  The Ed25519 key that signs it (a note signer key, or an openssl PEM
                         key with --checkpoint-name). Without it, the first pass makes the
                         state's own key and keeps it in the state: the checkpoint then proves
                         no more than the state's own access control does.
  --checkpoint-name NAME The key's name (with a PEM key).

Metrics:
  --metrics-port N       Serve Prometheus metrics on http://127.0.0.1:N/metrics.
  --emf                  After each pass, print CloudWatch Embedded Metric Format lines on
                         standard output (for Lambda).

  --help                 Show this help.
  --version              Show the version.

Not for a watcher (refused, exit 2): --end-time (a pass ends now), --output and --save-to (a
pass's record is its history line), --checkpoint and --checkpoint-out (the state holds the
checkpoint; checkpoint.note is its copy).

${GLOBAL_HELP}
Exit status: with --once, 0 everything new verified and every alert delivered; 1 something
is INVALID; 2 the trail could not be read, an alert could not be delivered, another watcher
wrote the state first, or a usage error. Without --once, the watcher runs until SIGTERM or
SIGINT and then exits 0 within a few seconds (a verification under way is abandoned: the next
start redoes it; a state write or delivery under way is finished); it exits 2 when another
watcher wrote the state first, or on a usage error.

Examples:
  # Every 5 minutes, a local copy, alerts to a webhook, metrics for Prometheus:
  validate-logs watch --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \\
    --local-dir /srv/cloudtrail --public-keys keys.json --state /var/lib/validate-logs \\
    --alert-webhook https://hooks.slack.com/services/T000/B000/XXXX --metrics-port 9464

  # From cron (or a Kubernetes CronJob), one pass an hour, state in S3, alerts to SNS:
  0 * * * * validate-logs watch --once --regions all \\
    --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \\
    --state s3://audit-state/validate-logs/ \\
    --alert-sns arn:aws:sns:us-east-1:111122223333:cloudtrail-integrity

  # systemd: a service running "validate-logs watch ... --interval 5m" with Restart=always
  # (SIGTERM ends it cleanly), or a timer running --once. Lambda: the validate-logs/aws-lambda
  # handler runs a --once pass with --emf on an EventBridge schedule. See docs/watch-deploy.md.

  # The built-in sample, one pass:
  validate-logs watch --once \\
    --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail \\
    --local-dir sample/bucket --public-keys sample/public-keys.json \\
    --start-time 2025-01-08T00:00:00Z --state ./watch-state
`;

/** The flags of `validate-logs watch`. */
const WATCH_OPTIONS = {
  ...VALIDATE_OPTIONS,
  state: { type: 'string' },
  interval: { type: 'string' },
  once: { type: 'boolean' },
  overdue: { type: 'string' },
  'error-after': { type: 'string' },
  'alert-webhook': { type: 'string', multiple: true },
  'alert-command': { type: 'string', multiple: true },
  'alert-sns': { type: 'string', multiple: true },
  'alert-eventbridge': { type: 'string', multiple: true },
  'metrics-port': { type: 'string' },
  emf: { type: 'boolean' },
} as const;

type WatchFlags = Flags<typeof WATCH_OPTIONS>;

/** Flags of a run a watcher refuses, and why. */
const REFUSED: Readonly<Partial<Record<keyof WatchFlags, string>>> = {
  'end-time': 'a pass always verifies up to now',
  output: "a pass's record is its history line (validate-logs history --output json)",
  'save-to': 'a watcher keeps no evidence copy; run validate-logs --save-to over the range',
  checkpoint: 'the state holds the checkpoint each pass starts from',
  'checkpoint-out': 'each pass writes the checkpoint to the state, and a copy to checkpoint.note beside it',
  verbose: 'each pass says one line; the history holds every digest verified',
  'allow-empty': 'a chain with no digest is no failure for a watcher: silence is an overdue alert',
  'fail-on-gap': 'a gap is alerted (CHAIN_GAP) and never fails a pass',
  'timestamp-url': 'the state checkpoint is not time-stamped',
  'tsa-cert': 'the state checkpoint is not time-stamped',
  'checkpoint-public-key': "the state's checkpoint is opened with --checkpoint-key or the state's own key",
  'no-progress': 'a watcher shows no progress line',
};

/** Default time between the starts of two passes. */
const DEFAULT_INTERVAL = '5m';
/** Default silence before `overdue`. */
const DEFAULT_OVERDUE = '2h';
/** Default failed passes before `error`. */
const DEFAULT_ERROR_AFTER = 3;
/** Where a first pass starts by default: this long before now. */
const FIRST_PASS_MS = 24 * 3_600_000;

/**
 * Run `validate-logs watch`.
 * @param argv - the arguments after `watch`
 * @param io - streams, environment, clock and stop signal
 * @returns the exit status
 */
export function watchCommand(argv: string[], io: CommandIO = processIO()): Promise<number> {
  return defineCommand({ name: 'validate-logs watch', help: WATCH_HELP, options: WATCH_OPTIONS, run })(argv, io);
}

async function run(flags: WatchFlags, need: (flag: keyof WatchFlags & string) => string, io: CommandIO): Promise<number> {
  for (const [flag, why] of Object.entries(REFUSED)) {
    if (flags[flag as keyof WatchFlags] !== undefined) throw new UsageError(`--${flag} is not for a watcher: ${why}`);
  }
  const say = (line: string): void => void io.stderr.write(`validate-logs watch: ${line}\n`);
  const where = need('state');
  const once = flags.once === true;
  const intervalMs = positiveDuration(flags.interval ?? DEFAULT_INTERVAL, '--interval');
  const overdueMs = positiveDuration(flags.overdue ?? DEFAULT_OVERDUE, '--overdue');
  const errorAfter = countFlag(flags['error-after'], '--error-after', DEFAULT_ERROR_AFTER);
  const metricsPort = flags['metrics-port'] === undefined ? undefined : portFlag(flags['metrics-port']);
  if (flags['checkpoint-name'] !== undefined && flags['checkpoint-key'] === undefined) throw new UsageError('--checkpoint-name names the key --checkpoint-key gives: give --checkpoint-key');
  const signer: NoteSignerKey | undefined = flags['checkpoint-key'] === undefined ? undefined : await signerKey(flags['checkpoint-key'], flags['checkpoint-name'], { key: '--checkpoint-key', name: '--checkpoint-name' });
  const firstStart = new Date(io.now().getTime() - FIRST_PASS_MS);
  const validateFlags = flags as unknown as ValidateFlags;
  const settings = readSettings(validateFlags, need as (flag: keyof ValidateFlags & string) => string, io, flags['start-time'] === undefined ? firstStart : undefined);
  const store = openStateStore(where, {
    ...(flags['endpoint-url'] && { endpoint: flags['endpoint-url'] }),
    ...(flags.profile && { profile: flags.profile }),
    region: settings.arn.region,
    ...(io.http && { http: io.http }),
  });
  // The bucket the state names, for a local copy validated without --s3-bucket (else the one the digests name).
  const stored = await untilStopped(store.load(), io.signal);
  await untilStopped(checkHistoryBehind(store, stored?.state ?? { passes: 0 }, io.now()), io.signal);
  const first = flags['s3-bucket'] === undefined && flags['local-dir'] !== undefined && stored ? { ...validateFlags, 's3-bucket': stored.state.scope.bucket } : validateFlags;
  let plan: Plan | undefined;
  try {
    plan = await untilStopped(makePlan(first, settings), io.signal);
  } catch (e) {
    // A trail that cannot be read now, with a state to record it in: each pass tries again, and fails as a pass (counted towards --error-after).
    if (!stored || e instanceof UsageError || !isTrailFailure(e)) throw e;
    say(`note: the trail cannot be read now (${e.message}); each pass tries again`);
  }
  for (const n of [...(settings.notes ?? []), ...(plan?.notes ?? [])]) say(`note: ${n}`);
  const scope: WatchScope = plan ? scopeOf(settings.arnText, plan) : stored!.state.scope;
  const destinations = createDestinations({
    webhooks: flags['alert-webhook'] ?? [],
    commands: flags['alert-command'] ?? [],
    snsTopics: flags['alert-sns'] ?? [],
    eventBuses: flags['alert-eventbridge'] ?? [],
    ...(flags.profile && { profile: flags.profile }),
    region: settings.arn.region,
    ...(io.http && { http: io.http }),
    env: io.env,
  });
  const passSettings: PassSettings = { scope, start: settings.start, overdueMs, errorAfter, ...(!once && { intervalMs }), ...(signer && { signer }) };
  const note = (n: string): void => say(`note: ${n}`);
  // Planned once; again at each pass with --regions all (a region that begins to deliver is
  // watched from then on), or until a plan that failed at the start succeeds.
  const planPass = async (): Promise<Plan> => {
    if (plan && flags.regions !== 'all') return plan;
    const next = await makePlan(plan ? replanFlags(validateFlags, plan) : first, settings);
    const differs = scopeMismatch(scope, scopeOf(settings.arnText, next));
    if (differs) throw new ValidateLogsError('STATE_INVALID', `the trail is now in ${describeScope(scopeOf(settings.arnText, next))}, not the state's ${describeScope(scope)} (${differs} differs)`);
    return (plan = next);
  };
  // Over a local copy with the default --threads, each pass is judged as a validate-logs run is
  // (run-size.ts): a pass over a few small files (after the first, what arrived in an interval)
  // runs on the main thread alone, without starting the hashing threads.
  const localRoot = flags.threads === undefined ? flags['local-dir'] : undefined;
  const platformFor =
    localRoot === undefined
      ? undefined
      : (trails: readonly TrailRef[], start: Date, end: Date): Platform => (isSmallLocalRun({ root: localRoot, trails, start, end, tailGraceMs: settings.tailGraceMs }) ? threadsFlag('0') : settings.platform);
  const verify: VerifyTrail = async (request, signal) => regionVerifier({ plan: await planPass(), settings, note, ...(platformFor && { platformFor }) })(request, signal);
  let latest: { state: WatchState; record?: PassRecord } | undefined;
  const metrics = metricsPort === undefined ? undefined : await serveMetrics(metricsPort, () => (latest ? renderPrometheus(latest.state, latest.record) : '')).catch((e: unknown) => {
    throw new UsageError(`--metrics-port ${metricsPort}: cannot listen on 127.0.0.1 (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  });
  if (metrics) say(`metrics on http://127.0.0.1:${metrics.port}/metrics`);
  const what = plan ? `${plan.regions.join(', ')} of ${settings.arnText} (${plan.online ? `s3://${plan.bucket}` : plan.sourceInfo.path})` : `${settings.arnText} (s3://${scope.bucket})`;
  say(`watching ${what}, state at ${store.where}${once ? ', one pass' : `, a pass every ${flags.interval ?? DEFAULT_INTERVAL}`}; alerts to ${destinations.length > 0 ? destinations.map((d) => d.label).join(', ') : 'stderr only'}`);
  try {
    return await watchLoop({
      intervalMs,
      once,
      ...(io.signal && { signal: io.signal }),
      now: io.now,
      say,
      pass: (signal) => runPass({ store, destinations, verify, settings: passSettings, now: io.now, say, signal }),
      afterPass: async (outcome: PassOutcome) => {
        if (!outcome.state) return;
        latest = { state: outcome.state, ...(outcome.record && { record: outcome.record }) };
        if (flags.emf) await write(io.stdout, emfLines(outcome.state, outcome.record, io.now()).map((l) => `${l}\n`).join(''));
      },
    });
  } finally {
    await metrics?.close();
  }
}

/** The scope of a plan: what a state of it belongs to. */
function scopeOf(trailArn: string, plan: Plan): WatchScope {
  return {
    trailArn,
    bucket: plan.bucket,
    accountId: plan.trail.accountId,
    ...(plan.trail.prefix && { prefix: plan.trail.prefix }),
    ...(plan.trail.organizationId && { organizationId: plan.trail.organizationId }),
  };
}

/** The flags that plan a trail again as it was planned (the bucket, prefix and organization found), without asking CloudTrail again. */
function replanFlags(flags: ValidateFlags, plan: Plan): ValidateFlags {
  return {
    ...flags,
    's3-bucket': plan.bucket,
    ...(plan.trail.prefix && { 's3-prefix': plan.trail.prefix }),
    ...(plan.trail.organizationId && { 'organization-id': plan.trail.organizationId }),
  };
}

/** A duration flag that must be more than zero. */
function positiveDuration(text: string, flag: string): number {
  const ms = parseDuration(text, flag);
  if (ms <= 0) throw new UsageError(`${flag} must be longer than 0, not ${JSON.stringify(text)}`);
  return ms;
}

/** A whole number flag from 1 to 1000. */
function countFlag(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 1000) throw new UsageError(`${flag} must be a whole number from 1 to 1000, not ${JSON.stringify(text)}`);
  return n;
}

/** `--metrics-port`: a TCP port (0: any free one, said on stderr). */
function portFlag(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`--metrics-port must be a port number from 0 to 65535, not ${JSON.stringify(text)}`);
  return n;
}
