/**
 * `validate-logs history`: what a watcher's history says about a period. For each chain and
 * hour, whether it was verified, when, and how long after its digest's delivery; the passes
 * that found something; and the gaps in the watching itself (see `src/watch/history.ts`).
 * Exit status 0 when every due hour was verified and no pass found anything invalid, 1
 * otherwise, 2 for a usage or read error.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { historyCoverage, MAX_PERIOD_MS, type ChainCoverage, type HistoryAnswer, type HourStatus } from '../watch/history.js';
import { openStateStore } from '../watch/store.js';
import type { PassRecord } from '../watch/types.js';
import { defineCommand, timeFlag, UsageError, write, type CommandIO, type Flags } from './io.js';
import { awsAccess, GLOBAL_HELP } from './global.js';
import { parseDuration } from './plan.js';
import { plural } from './words.js';

/** The help text of `validate-logs history`. */
export const HISTORY_HELP: string = `Usage: validate-logs history --state DIR|s3://BUCKET/PREFIX/ [--from TIME] [--to TIME]
                            [--output text|json] [--interval DURATION] [options]

Answers the auditor's question from the history "validate-logs watch" keeps: for each chain
(region) and each hour of the period, was it verified, when, and how long after its digest
was delivered; which passes found something invalid or could not read the trail; and the
gaps in the watching itself (stretches with no pass for more than twice the interval).

An hour is verified when the digests the passes verified cover it whole. It is not yet due
while its end is less than 2 hours before --to (a digest covers about an hour and CloudTrail
delivers it within the next); after that, not verified is missing.

Required:
  --state LOCATION       The watcher's state: a local folder, or s3://BUCKET/PREFIX/.

Options:
  --from TIME            The period's start (UTC ISO 8601: 2026-12-01T00:00:00Z, 2026-12-01,
                         or with an offset; default: the first pass in the history).
  --to TIME              The period's end, exclusive (default: now; a time in the future is
                         now, said on stderr).
  --interval DURATION    The watcher's interval between passes, such as 5m, 1h or 90s: a
                         stretch with no pass for more than twice it is a watch gap (default:
                         the interval each pass recorded, else 5m; give it for passes run
                         one at a time with "watch --once" from a scheduler).
  --output text|json     text (default): a summary, a line per chain and day, the hours not
                         verified, the watch gaps and the passes with findings. json: one
                         document (its shape: docs/history.md).
  --profile NAME         S3 only: a profile of the shared AWS config and credentials files.
  --endpoint-url URL     S3 only: an S3-compatible endpoint instead of Amazon S3.
  --region REGION        S3 only: the region for requests (default: AWS_REGION, else
                         us-east-1; a bucket elsewhere is followed).
  --help                 Show this help.
  --version              Show the version.

Exit status: 0 every due hour of every chain was verified and no pass of the period found
anything invalid; 1 otherwise; 2 a usage error, or the history cannot be read (a file that is
not what the watcher wrote is named, with its line).

Example (the last 30 days, as an auditor's evidence):
  validate-logs history --state s3://audit-state/trail-a/ --from 2026-11-01 --to 2026-12-01 \\
    --output json > 2026-11-coverage.json

${GLOBAL_HELP}`;

/** The flags of `validate-logs history`. */
export const HISTORY_OPTIONS = {
  state: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  interval: { type: 'string' },
  output: { type: 'string' },
  profile: { type: 'string' },
  'endpoint-url': { type: 'string' },
  region: { type: 'string' },
} as const;

/** How far before the period passes are read: a pass before it may have verified its first hour. */
const LOOK_BEHIND_MS = 24 * 3_600_000;

/**
 * Run `validate-logs history` with the given arguments (those after `history`).
 * @param argv - the arguments
 * @param io - streams, environment, clock and stop signal
 * @returns the exit status
 */
export const historyCommand: (argv: string[], io?: CommandIO) => Promise<number> = defineCommand({
  name: 'validate-logs history',
  help: HISTORY_HELP,
  options: HISTORY_OPTIONS,
  run,
});

async function run(flags: Flags<typeof HISTORY_OPTIONS>, need: (flag: keyof typeof HISTORY_OPTIONS) => string, io: CommandIO): Promise<number> {
  const output = flags.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, not ${JSON.stringify(output)}`);
  const where = need('state');
  const local = !/^s3:\/\//i.test(where);
  if (local && (flags.profile || flags['endpoint-url'] || flags.region)) throw new UsageError('--profile, --endpoint-url and --region are for a state in S3; --state names a local folder');
  let interval: number | undefined;
  if (flags.interval !== undefined) {
    interval = parseDuration(flags.interval, '--interval');
    if (interval < 1000) throw new UsageError(`--interval must be at least 1s, not ${JSON.stringify(flags.interval)}`);
  }
  const now = io.now();
  let to = flags.to !== undefined ? timeFlag(flags.to, '--to') : now;
  if (to.getTime() > now.getTime()) {
    await write(io.stderr, `validate-logs history: --to ${flags.to} is in the future: the answer is as of now, ${now.toISOString()} (no pass has run past the present moment)\n`);
    to = now;
  }
  let from = flags.from !== undefined ? timeFlag(flags.from, '--from') : undefined;
  if (from && from.getTime() >= to.getTime()) throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);

  const store = openStateStore(where, { ...awsAccess(flags, io), ...(flags.region && { region: flags.region }) });
  if (!from) {
    for await (const r of store.readHistory(undefined, to)) {
      from = new Date(r.startedAt);
      break;
    }
    if (!from) throw new ValidateLogsError('STATE_INVALID', `${where} holds no pass before ${to.toISOString()}: no history to answer from (is it the --state of a watcher?)`);
  }
  if (to.getTime() - from.getTime() > MAX_PERIOD_MS) {
    throw new UsageError(`the period from ${from.toISOString()} to ${to.toISOString()} is longer than ${MAX_PERIOD_MS / 86_400_000} days: give --from and --to${flags.from === undefined ? ' (the first pass in the history is ' + from.toISOString() + ')' : ''}`);
  }
  const state = (await store.load())?.state;
  const scope = state?.scope;
  io.debug?.(`reading the history of ${where} from ${from.toISOString()} to ${to.toISOString()}`);
  const records = withLastPass(store.readHistory(new Date(from.getTime() - LOOK_BEHIND_MS), to), state?.lastPass, to);
  const coverage = await historyCoverage(records, { from, to, ...(interval !== undefined && { interval }) });
  const { format, ...rest } = coverage;
  const answer: HistoryAnswer = scope ? { format, scope, ...rest } : coverage;
  const failed = answer.summary.hoursMissing > 0 || answer.findings.some((f) => f.status === 'invalid');
  await write(io.stdout, output === 'json' ? JSON.stringify(answer, null, 2) + '\n' : historyText(answer, where));
  return failed ? 1 : 0;
}

/**
 * The history's records, and then the state's newest pass when the history lacks it: a watcher
 * commits its state before it appends the pass's line, so a watcher killed in between (and not
 * restarted yet) left that pass only in the state.
 */
async function* withLastPass(records: AsyncIterable<PassRecord>, last: PassRecord | undefined, to: Date): AsyncIterable<PassRecord> {
  let seen = false;
  for await (const r of records) {
    if (r.pass === last?.pass) seen = true;
    yield r;
  }
  if (last && !seen && Date.parse(last.startedAt) < to.getTime()) yield last;
}

/**
 * A duration for people: `1h05m`, `45m`, `30s`.
 * @param ms - the duration
 * @returns the text
 */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

const percent = (share: number): string => `${(Math.floor(share * 1000) / 10).toFixed(1)} %`;

/** Consecutive hours of one status, as `FROM to TO (N hours)`. */
function runs(chain: ChainCoverage, status: HourStatus): string[] {
  const out: string[] = [];
  let start: string | undefined;
  let count = 0;
  const flush = (endHour: string): void => {
    if (start === undefined) return;
    const shown = (t: string): string => t.slice(0, 16) + 'Z';
    out.push(`${chain.region}  ${shown(start)} to ${shown(endHour)}  (${plural(count, 'hour')})`);
    start = undefined;
    count = 0;
  };
  for (const h of chain.hours) {
    if (h.status === status) {
      start ??= h.hour;
      count++;
    } else flush(h.hour);
  }
  if (start !== undefined) flush(new Date(Date.parse(chain.hours.at(-1)!.hour) + 3_600_000).toISOString());
  return out;
}

/**
 * The text report of a history answer.
 * @param a - the answer
 * @param where - the state location, for the title
 * @returns the text
 */
export function historyText(a: HistoryAnswer, where: string): string {
  const s = a.summary;
  const lines: string[] = [];
  lines.push(`History of ${where} from ${a.from} to ${a.to}: ${plural(s.passes, 'pass', 'passes')}, ${plural(s.chains, 'chain')}.`);
  const sc = a.scope;
  lines.push(
    sc
      ? `Trail ${sc.trailArn}, bucket ${sc.bucket}${sc.prefix ? `, prefix ${sc.prefix}` : ''}, account ${sc.accountId}${sc.organizationId ? `, organization ${sc.organizationId}` : ''} (the state's scope).`
      : 'No state.json beside the history: the trail is not named (the history lines do not name it).',
  );
  lines.push(
    s.hoursExpected === 0
      ? `Verified: no hour is due yet${s.hoursNotDue > 0 ? ` (${plural(s.hoursNotDue, 'hour')} not yet due)` : ''}.`
      : `Verified: ${s.hoursVerified} of ${plural(s.hoursExpected, 'due hour')} (${percent(s.hoursVerified / s.hoursExpected)}), ${s.verifiedWithin} within ${formatDuration(s.withinMs)} of delivery (${percent(s.shareWithin ?? 0)}); ${s.hoursMissing} missing, ${s.hoursNotDue} not yet due.`,
  );
  lines.push(`Watch gaps: ${a.gaps.length === 0 ? 'none' : `${a.gaps.length}, the longest ${formatDuration(s.longestGapMs)}`}. Passes with findings: ${s.passesWithFindings}.`);

  if (a.chains.length > 0) {
    lines.push('', 'Per chain and day (UTC): hours verified of due, worst latency after delivery');
    for (const c of a.chains) {
      const days = new Map<string, { verified: number; due: number; notDue: number; worst?: number; estimated: boolean }>();
      for (const h of c.hours) {
        const day = h.hour.slice(0, 10);
        let d = days.get(day);
        if (!d) days.set(day, (d = { verified: 0, due: 0, notDue: 0, estimated: false }));
        if (h.status === 'not-due') d.notDue++;
        else d.due++;
        if (h.status === 'verified') {
          d.verified++;
          d.worst = Math.max(d.worst ?? 0, h.latencyMs!);
          if (h.latencyFrom === 'end') d.estimated = true;
        }
      }
      for (const [day, d] of days) {
        const worst = d.worst === undefined ? '' : `, worst latency ${formatDuration(d.worst)}${d.estimated ? ' (from digest end times: delivery unknown)' : ''}`;
        lines.push(`  ${c.region}  ${day}  ${d.verified}/${d.due} verified${worst}${d.notDue > 0 ? `, ${d.notDue} not yet due` : ''}`);
      }
    }
  }
  const missing = a.chains.flatMap((c) => runs(c, 'missing'));
  if (missing.length > 0) lines.push('', 'Hours not verified (missing):', ...missing.map((l) => `  ${l}`));
  if (a.gaps.length > 0) {
    lines.push('', 'Watch gaps (no pass for more than twice the interval):');
    for (const g of a.gaps) {
      const around = g.where === 'no-passes' ? 'no pass in the period' : g.where === 'before-first' ? `before pass ${g.before}` : g.where === 'after-last' ? `after pass ${g.after}` : `between passes ${g.after} and ${g.before}`;
      lines.push(`  ${g.from} to ${g.to}  (${formatDuration(g.ms)}), ${around}`);
    }
  }
  if (a.findings.length > 0) {
    lines.push('', 'Passes with findings:');
    for (const f of a.findings) {
      const codes = Object.entries(f.byCode).map(([code, n]) => `${code} ${n}`).join(', ');
      const what = f.status === 'error' ? `error: ${f.error ?? 'the trail could not be read'}` : `${f.invalid} INVALID, ${plural(f.notices, 'notice')}${codes ? ` (${codes})` : ''}${f.regions.length ? ` in ${f.regions.join(', ')}` : ''}`;
      lines.push(`  pass ${f.pass} at ${f.startedAt}: ${what}${f.alerts.length ? `; alerts ${f.alerts.join(', ')}` : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}
