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
 *
 * {@link watchHandler} runs one pass of `validate-logs watch` on an EventBridge schedule and on
 * the S3 notifications of new digest files (through SQS), with its state in S3: see
 * docs/watch-deploy.md and deploy/watch/template.yaml.
 * @module
 */
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Finding } from './chain/findings.js';
import type { Summary } from './chain/report.js';
import { UsageError } from './cli/usage-error.js';
import { ValidateLogsError } from './errors.js';
import { parseDigestKey } from './format/keys.js';
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

/** The environment variable that holds the watch's flags: a JSON array of strings. */
export const WATCH_ARGS_VARIABLE = 'VALIDATE_LOGS_WATCH_ARGS';

/**
 * An EventBridge scheduled event (a rule's `rate(...)` or `cron(...)` schedule): one pass.
 */
export interface ScheduledEvent {
  /** Always `Scheduled Event`. */
  'detail-type': 'Scheduled Event';
  /** `aws.events`. */
  source?: string;
  /** When the schedule fired. */
  time?: string;
  /** The rule's ARN. */
  resources?: string[];
}

/** One SQS message of a batch; its body is an S3 event notification (a JSON text). */
export interface SqsRecord {
  /** The message's id: what {@link SqsBatchItemFailure.itemIdentifier} names. */
  messageId: string;
  /** The message's body. */
  body: string;
  /** `aws:sqs`. */
  eventSource?: string;
  /** The queue's ARN. */
  eventSourceARN?: string;
}

/** A batch of SQS messages, as the event source mapping delivers it. */
export interface SqsEvent {
  /** The messages. */
  Records: SqsRecord[];
}

/** What {@link watchHandler} accepts. */
export type WatchEvent = ScheduledEvent | SqsEvent;

/** The outcome of a pass that ran to its end: 0 everything new verified, 1 something INVALID (its alerts were sent by the pass). */
export interface WatchPassResult {
  /** The exit status of `validate-logs watch --once`: 0 or 1. */
  status: 0 | 1;
  /** True when the status is 0. */
  ok: boolean;
}

/** A message SQS must deliver again. */
export interface SqsBatchItemFailure {
  /** The message's id. */
  itemIdentifier: string;
}

/** What the handler returns for an SQS batch (the event source mapping reports batch item failures). */
export interface WatchQueueResult {
  /**
   * The messages to deliver again: when the pass ended with an error (exit status 2, a
   * `STATE_CONFLICT` among others), every message that called for it; otherwise none.
   */
  batchItemFailures: SqsBatchItemFailure[];
  /** The pass, when a message called for one (a digest key) and it ran to its end. */
  pass?: WatchPassResult;
}

/** The part of the Lambda context the handler reads. */
export interface WatchContext {
  /** The invocation's id. */
  awsRequestId?: string;
  /** Milliseconds left before the function's timeout. */
  getRemainingTimeInMillis?: () => number;
}

/** What a pass is given: the streams, environment, clock and stop signal of a command run. */
export interface WatchIO {
  /** Standard output: the function's log (EMF lines as they are). */
  stdout: NodeJS.WritableStream;
  /** Standard error: the function's log. */
  stderr: NodeJS.WritableStream & {
    /** Never a terminal in a function. */
    isTTY?: boolean;
    /** Its width, for a terminal. */
    columns?: number;
  };
  /** Environment variables. */
  env: NodeJS.ProcessEnv;
  /** The current time. */
  now: () => Date;
  /**
   * Aborted shortly before the function's timeout, as a SIGTERM would stop the command; the
   * invocation then ends as a pass with status 2 would (the pass did not reach its end).
   */
  signal?: AbortSignal;
}

/** Runs `validate-logs watch` with these arguments and returns its exit status. */
export type WatchRunner = (argv: string[], io: WatchIO) => Promise<number>;

/** Options of {@link createWatchHandler} (tests, S3-compatible stores). */
export interface WatchHandlerOptions {
  /** The command; by default `validate-logs watch`, loaded on the first pass. */
  run?: WatchRunner;
  /** Where {@link WATCH_ARGS_VARIABLE} is read, and the pass's environment (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** An S3-compatible endpoint: `--endpoint-url` for the pass, unless its flags give one. */
  endpoint?: string;
  /** Where the pass's standard output goes (default the process's: the function's log). */
  stdout?: NodeJS.WritableStream;
  /** Where the pass's standard error and the handler's own lines go (default the process's). */
  stderr?: NodeJS.WritableStream;
  /** The clock (default the system's). */
  now?: () => Date;
  /** How long before the function's timeout the pass is asked to stop (default 30 s). */
  stopMarginMs?: number;
}

/** The watch handler: a scheduled event gives a {@link WatchPassResult}, an SQS batch a {@link WatchQueueResult}. */
export interface WatchHandler {
  /**
   * One pass.
   * @param event - the schedule's event
   * @param context - the Lambda context
   * @returns the pass's status
   * @throws Error with the pass's last line on stderr when it ended with status 2
   */
  (event: ScheduledEvent, context?: WatchContext): Promise<WatchPassResult>;
  /**
   * One pass when a message names a digest key, none otherwise.
   * @param event - the SQS batch
   * @param context - the Lambda context
   * @returns the messages to deliver again, and the pass's status
   */
  (event: SqsEvent, context?: WatchContext): Promise<WatchQueueResult>;
}

/** Flags that have no place in a Lambda function, and why. */
const REFUSED_IN_LAMBDA: Record<string, string> = {
  '--interval': 'the schedule and the queue start the passes: each invocation runs one (--once)',
  '--metrics-port': 'a function serves no port: the metrics are the EMF lines of its log (--emf)',
  '--local-dir': "the trail is read from S3: a function's disk holds no trail",
  '--help': 'a function runs passes',
  '-h': 'a function runs passes',
  '--version': 'a function runs passes',
};

/** The values of a flag in an argument list, given as `--flag VALUE` or `--flag=VALUE`. */
function flagValues(args: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === flag) out.push(args[i + 1] ?? '');
    else if (a.startsWith(`${flag}=`)) out.push(a.slice(flag.length + 1));
  }
  return out;
}

/** Whether an argument list gives a flag (alone or `--flag=VALUE`). */
const hasFlag = (args: readonly string[], flag: string): boolean => args.some((a) => a === flag || a.startsWith(`${flag}=`));

/**
 * The watch's flags from {@link WATCH_ARGS_VARIABLE}, checked for a function: a JSON array of
 * strings, one `--state` and in S3 (a function's disk does not last), no `--interval`,
 * `--metrics-port` or `--local-dir`. Messages never repeat the variable's text (it may hold a
 * webhook's secret URL).
 * @param text - the variable's value
 * @returns the flags
 * @throws UsageError naming the variable and what is wrong
 */
export function parseWatchArgs(text: string | undefined): string[] {
  const fail = (why: string): never => {
    throw new UsageError(`${WATCH_ARGS_VARIABLE} ${why}`);
  };
  if (text === undefined || text.trim() === '') return fail('is not set: give the watch flags as a JSON array of strings, with "--state", "s3://BUCKET/PREFIX/"');
  let args: unknown;
  try {
    args = JSON.parse(text);
  } catch {
    return fail('is not JSON: give the watch flags as a JSON array of strings');
  }
  if (!Array.isArray(args)) return fail('is not a JSON array: give the watch flags as a JSON array of strings');
  const bad = args.findIndex((a) => typeof a !== 'string');
  if (bad >= 0) return fail(`holds something other than a string at index ${bad}: every flag and value is a JSON string`);
  const flags = args as string[];
  for (const [flag, why] of Object.entries(REFUSED_IN_LAMBDA)) if (hasFlag(flags, flag)) fail(`gives ${flag}, which a Lambda function cannot use: ${why}`);
  const states = flagValues(flags, '--state');
  if (states.length === 0) return fail('has no --state: the function keeps its state in S3 ("--state", "s3://BUCKET/PREFIX/")');
  if (states.length > 1) return fail('gives --state more than once');
  const state = states[0]!;
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/|$)/.test(state)) {
    fail(`has --state ${JSON.stringify(state.slice(0, 200))}, which is not s3://BUCKET/PREFIX/: a Lambda function's disk does not last from one invocation to the next`);
  }
  return flags;
}

/** The longest S3 key (bytes); anything longer in a notification is no key of a digest. */
const MAX_KEY = 1024;
/** The largest message body read (an SQS message holds at most 256 KiB; a direct invocation could give more). */
const MAX_BODY = 1024 * 1024;

/** What one SQS message asks for. */
type MessageVerdict = { kind: 'pass'; key: string } | { kind: 'none'; why: string } | { kind: 'malformed'; why: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether an S3 key names a CloudTrail digest file (the shape CloudTrail gives it, the folder and name agreeing). */
function isDigestKey(key: string): boolean {
  if (key.length > MAX_KEY || !key.includes('/CloudTrail-Digest/') || !key.endsWith('.json.gz')) return false;
  try {
    parseDigestKey(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Read one SQS message: an S3 event notification (directly, or in an SNS envelope) calls for a
 * pass when one of its keys is a digest key; the S3 test event and other keys call for none.
 */
function readMessage(body: unknown, envelope = true): MessageVerdict {
  if (typeof body !== 'string') return { kind: 'malformed', why: 'its body is not text' };
  if (body.length > MAX_BODY) return { kind: 'malformed', why: `its body is longer than ${MAX_BODY} characters` };
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return { kind: 'malformed', why: 'its body is not JSON' };
  }
  // S3 -> SNS -> SQS without raw delivery: the notification is the envelope's Message.
  if (envelope && isObject(doc) && doc.Type === 'Notification' && typeof doc.Message === 'string') return readMessage(doc.Message, false);
  if (!isObject(doc)) return { kind: 'malformed', why: 'its body is not a JSON object' };
  if (doc.Event === 's3:TestEvent') return { kind: 'none', why: 'the S3 test event' };
  if (!Array.isArray(doc.Records) || doc.Records.length === 0) return { kind: 'malformed', why: 'its body is not an S3 event notification (no Records)' };
  for (const [i, r] of doc.Records.entries()) {
    const key: unknown = isObject(r) && isObject(r.s3) && isObject(r.s3.object) ? r.s3.object.key : undefined;
    if (typeof key !== 'string') return { kind: 'malformed', why: `its record ${i} has no s3.object.key` };
    if (key.length > 3 * MAX_KEY) continue; // even encoded, longer than any S3 key
    let decoded: string;
    try {
      // Keys in S3 notifications are URL-encoded, spaces as '+'.
      decoded = decodeURIComponent(key.replace(/\+/g, '%20'));
    } catch {
      return { kind: 'malformed', why: `its record ${i} has a key that is not URL-encoded` };
    }
    if (isDigestKey(decoded)) return { kind: 'pass', key: decoded };
  }
  return { kind: 'none', why: 'no key of a digest file' };
}

/** A message's id as a log line may show it (bounded, quoted). */
const idText = (id: unknown): string => JSON.stringify(String(id).slice(0, 128));

/**
 * A stream that passes whole lines on to another, each in one write (an EMF line is one log
 * event), and remembers the last non-empty one.
 */
class LineStream extends Writable {
  last = '';
  #partial = '';
  /** Bytes of a character split between two writes wait for the rest. */
  readonly #decoder = new StringDecoder('utf8');
  readonly #target: NodeJS.WritableStream;

  constructor(target: NodeJS.WritableStream) {
    super({ decodeStrings: false });
    this.#target = target;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (e?: Error | null) => void): void {
    this.#partial += typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    const lines = this.#partial.split('\n');
    this.#partial = lines.pop()!;
    // A line that never ends is passed on in pieces rather than held in memory.
    if (this.#partial.length > MAX_BODY) {
      lines.push(this.#partial);
      this.#partial = '';
    }
    this.#emit(lines, done);
  }

  override _final(done: (e?: Error | null) => void): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    this.#emit(rest === '' ? [] : [rest], done);
  }

  #emit(lines: string[], done: (e?: Error | null) => void): void {
    for (const l of lines) if (l.trim() !== '') this.last = l.trim().slice(0, 2000);
    if (lines.length === 0) return done();
    let left = lines.length;
    let failed = false;
    for (const l of lines) {
      this.#target.write(`${l}\n`, (e) => {
        if (failed) return;
        if (e) {
          failed = true;
          return done(e);
        }
        if (--left === 0) done();
      });
    }
  }
}

/** Passes run one after another in this process: never two at once in one container. */
let queue: Promise<unknown> = Promise.resolve();

function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const mine = queue.then(work);
  queue = mine.catch(() => undefined);
  return mine;
}

const defaultRunner: WatchRunner = async (argv, io) => (await import('./cli/watch.js')).watchCommand(argv, io);

/**
 * A watch handler with fixed options: each invocation checks {@link WATCH_ARGS_VARIABLE}, then
 * runs `validate-logs watch ARGS --once --emf` when the event calls for a pass (a scheduled
 * event; an SQS batch holding the S3 notification of a digest key), one pass at a time.
 * An SQS message whose body cannot be read is logged (its id and why) and not retried: it
 * never will be readable, and the next scheduled pass covers what it may have announced.
 * @param options - the command, environment, endpoint and streams
 * @returns the handler
 */
export function createWatchHandler(options: WatchHandlerOptions = {}): WatchHandler {
  const run = options.run ?? defaultRunner;
  const stderr = options.stderr ?? process.stderr;
  const say = (line: string): void => void stderr.write(`validate-logs watch (Lambda): ${line}\n`);

  /** One pass: its exit status, and what to say if it is not 0 or 1 (its last line on stderr). */
  const pass = (args: string[], context: WatchContext | undefined, why: string): Promise<{ status: number; failure: string }> =>
    oneAtATime(async () => {
      const env = options.env ?? process.env;
      const argv = [...args];
      if (options.endpoint && !hasFlag(argv, '--endpoint-url')) argv.push('--endpoint-url', options.endpoint);
      for (const flag of ['--once', '--emf']) if (!hasFlag(argv, flag)) argv.push(flag);
      const out = new LineStream(options.stdout ?? process.stdout);
      const err = new LineStream(stderr);
      const controller = new AbortController();
      const left = context?.getRemainingTimeInMillis?.();
      const margin = options.stopMarginMs ?? 30_000;
      // The stop comes `margin` before the timeout, or half-way when less than twice that is left.
      const stopIn = left === undefined ? undefined : Math.max(0, left > 2 * margin ? left - margin : left / 2);
      const timer = stopIn === undefined ? undefined : setTimeout(() => void import('./cli/io.js').then((m) => controller.abort(new m.StopError('SIGTERM'))), stopIn);
      timer?.unref();
      say(`pass started (${why}${context?.awsRequestId ? `; request ${idText(context.awsRequestId)}` : ''})`);
      let status: number;
      try {
        status = await run(argv, { stdout: out, stderr: err, env, now: options.now ?? (() => new Date()), signal: controller.signal });
      } catch (e) {
        // An exception the command did not turn into a status: an error like status 2.
        const message = e instanceof Error ? e.message : String(e);
        err.write(`validate-logs watch: internal error: ${message.split('\n')[0]}\n`);
        if (e instanceof Error && e.stack) say(e.stack);
        status = 2;
      } finally {
        clearTimeout(timer);
      }
      await Promise.all([new Promise((r) => out.end(r)), new Promise((r) => err.end(r))]);
      say(`pass ended with status ${status}`);
      // Stopped for the timeout: whatever its status says, the pass did not verify everything new.
      if (controller.signal.aborted) {
        const before = Math.round((left! - stopIn!) / 1000);
        return { status: 2, failure: `validate-logs watch was stopped ${before} s before the function's timeout, before the end of its pass (it then ended with status ${status}); the next pass takes it up again` };
      }
      const failure = `validate-logs watch ended with status ${status}${err.last ? `: ${err.last}` : ' and said nothing on stderr'}`;
      return { status, failure };
    });

  const handler = async (event: WatchEvent, context?: WatchContext): Promise<WatchPassResult | WatchQueueResult> => {
    const args = parseWatchArgs((options.env ?? process.env)[WATCH_ARGS_VARIABLE]);
    if (isObject(event) && event['detail-type'] === 'Scheduled Event') {
      const { status, failure } = await pass(args, context, 'schedule');
      if (status === 0 || status === 1) return { status, ok: status === 0 };
      throw new Error(failure);
    }
    if (isObject(event) && Array.isArray(event.Records) && event.Records.every((r) => isObject(r) && typeof r.messageId === 'string')) {
      const asking: string[] = [];
      let key: string | undefined;
      for (const r of event.Records) {
        const verdict = readMessage(r.body);
        if (verdict.kind === 'pass') {
          asking.push(r.messageId);
          key ??= verdict.key;
        } else if (verdict.kind === 'malformed') {
          say(`SQS message ${idText(r.messageId)}: ${verdict.why}; not retried (it will never be readable; the next scheduled pass covers what it may have announced)`);
        }
      }
      if (asking.length === 0) return { batchItemFailures: [] };
      const { status, failure } = await pass(args, context, `${asking.length} message(s), the first for ${JSON.stringify(key)}`);
      if (status === 0 || status === 1) return { batchItemFailures: [], pass: { status, ok: status === 0 } };
      say(`${failure}; the ${asking.length} message(s) that called for the pass will be delivered again`);
      return { batchItemFailures: asking.map((itemIdentifier) => ({ itemIdentifier })) };
    }
    throw new Error('validate-logs watch (Lambda): the event is neither an EventBridge scheduled event ("detail-type": "Scheduled Event") nor an SQS batch (Records with messageId and body); no pass was run');
  };
  return handler as WatchHandler;
}

/**
 * Run one pass of `validate-logs watch` with the flags of {@link WATCH_ARGS_VARIABLE} (plus
 * `--once --emf`): on an EventBridge scheduled event, and on an SQS batch of S3 notifications
 * when one names a digest key. Exit 0 and 1 are returned (the pass sent its alerts); exit 2
 * throws for the schedule and returns every message that called for the pass as a batch item
 * failure for SQS, which delivers them again.
 * @param event - a scheduled event or an SQS batch
 * @param context - the Lambda context (its remaining time stops the pass in time)
 * @returns the pass's status, or the messages to deliver again
 */
export const watchHandler: WatchHandler = ((event: WatchEvent, context?: WatchContext) => (createWatchHandler() as (e: WatchEvent, c?: WatchContext) => Promise<unknown>)(event, context)) as WatchHandler;
