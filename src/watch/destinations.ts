/**
 * Where `validate-logs watch` sends its alerts: webhooks (Slack, Teams, any HTTP receiver), a
 * command (the alert JSON on its stdin), an SNS topic and an EventBridge bus. Each destination
 * retries a failed delivery with exponential back-off and jitter, bounds every wait and every
 * byte it reads back, and names itself without its secret (a Slack webhook URL's path is its
 * credential: messages name only its scheme and host).
 *
 * Retries: a destination tries `retries + 1` times (default 5), waiting `backoffMs · 2^n`
 * (default 1 s, 2 s, 4 s, 8 s; at most 30 s) times a random factor in [0.5, 1] between tries.
 * The SDK clients make one attempt per try (their own retries off), so the two never multiply:
 * with the defaults a dead destination costs at most about 15 s of waiting plus 5 timeouts.
 * @module
 */
import { spawn } from 'node:child_process';
import { sha256Hex } from '../hash/sha256.js';
import { encodeUtf8 } from '../utils.js';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { UsageError } from '../cli/usage-error.js';
import { ValidateLogsError } from '../errors.js';
import { nameOf, statusOf } from '../sources/aws-errors.js';
import { sdkHttpConfig, tlsAgentOptions, traceRequests, type AwsHttpOptions } from '../sources/http.js';
import { loadEventBridge, loadSns } from '../sources/sdk.js';
import { alertText } from './alerts.js';
import type { Alert, AlertDestination } from './types.js';

/** Where alerts go, and how hard to try. */
export interface DestinationOptions {
  /** Webhook URLs (http or https): each alert is POSTed as JSON with a `text` field. */
  webhooks?: string[];
  /** Shell commands: each alert's JSON on stdin, exit 0 = delivered. */
  commands?: string[];
  /** SNS topic ARNs. */
  snsTopics?: string[];
  /** EventBridge bus names or ARNs. */
  eventBuses?: string[];
  /** An endpoint for SNS and EventBridge instead of AWS's (tests, a VPC endpoint). */
  endpoint?: string;
  /** A profile of the shared AWS config and credentials files. */
  profile?: string;
  /** The region of a bus given by name (a topic's and a bus ARN's region is in the ARN). */
  region?: string;
  /** How to connect: CA bundle, certificate checks, request tracing (webhooks and AWS). */
  http?: AwsHttpOptions;
  /** Tries after the first (default 4). */
  retries?: number;
  /** The first back-off (ms, default 1000), doubled after each try, at most 30 s. */
  backoffMs?: number;
  /** The environment of a command (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds one webhook or AWS request may take (default 10 000). */
  timeoutMs?: number;
  /** Milliseconds a command may run before its process group is killed (default 30 000). */
  commandTimeoutMs?: number;
  /** The longest `Retry-After` honoured (ms, default 60 000): a longer one is cut to this. */
  maxRetryAfterMs?: number;
}

/** The outcome of one try. */
type Try = { ok: true } | { ok: false; retry: boolean; reason: string; waitMs?: number };

/** The most bytes of a webhook's answer read (for the message); the rest is never read. */
export const WEBHOOK_BODY_MAX = 4096;
/** The most bytes of a command's stderr kept (its end, for the message). */
export const COMMAND_TAIL_MAX = 1024;

const sha16 = (text: string): string => sha256Hex(encodeUtf8(text)).slice(0, 16);
const printable = (text: string, max: number): string => {
  const clean = text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
};

/** Sleep, or stop at once when the signal fires. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const stop = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/** Tries, back-off and the error after the last try: the same for every destination. */
class Retrier {
  constructor(
    private readonly retries: number,
    private readonly backoffMs: number,
    private readonly maxRetryAfterMs: number,
  ) {}

  async run(label: string, alert: Alert, once: () => Promise<Try>, signal: AbortSignal | undefined): Promise<void> {
    let last: Extract<Try, { ok: false }> = { ok: false, retry: false, reason: 'not tried' };
    let tries = 0;
    for (let n = 0; n <= this.retries; n++) {
      if (signal?.aborted) break;
      tries++;
      const result = await once();
      if (result.ok) return;
      last = result;
      if (!result.retry || n === this.retries) break;
      const backoff = Math.min(30_000, this.backoffMs * 2 ** n) * (0.5 + Math.random() / 2);
      const wait = result.waitMs !== undefined ? Math.max(backoff, Math.min(result.waitMs, this.maxRetryAfterMs)) : backoff;
      try {
        await sleep(wait, signal);
      } catch {
        break;
      }
    }
    const stopped = signal?.aborted ? ' (stopped)' : '';
    throw new ValidateLogsError('ALERT_FAILED', `alert ${alert.id} to ${label} failed after ${tries} ${tries === 1 ? 'try' : 'tries'}${stopped}: ${last.reason}`, {
      transient: last.retry,
    });
  }
}

/**
 * The wait an HTTP `Retry-After` asks for: seconds, or an HTTP date.
 * @param value - the header
 * @param now - the time now (ms)
 * @returns milliseconds, or undefined when absent or malformed
 */
export function retryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A webhook's answer: its status, the `Retry-After` header, and the first bytes of its body. */
interface Answer {
  status: number;
  retryAfter?: string;
  body: string;
}

/**
 * POST a body, with one deadline over the whole exchange, no redirect followed, and at most
 * {@link WEBHOOK_BODY_MAX} bytes of the answer read (a receiver that answers without end, or
 * never, costs at most the deadline).
 */
function post(url: URL, body: string, timeoutMs: number, http: AwsHttpOptions | undefined, signal: AbortSignal | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'validate-logs' },
      ...(url.protocol === 'https:' && tlsAgentOptions(http)),
      ...(signal && { signal }),
    });
    let answer: Answer | undefined;
    let response: IncomingMessage | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      response?.destroy();
      req.destroy();
      if (answer) resolve(answer);
    };
    const timer = setTimeout(() => {
      if (answer) return finish(); // the status came: the body is not waited for
      req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    req.once('error', (e) => {
      clearTimeout(timer);
      if (answer) resolve(answer);
      else reject(e);
    });
    req.once('response', (res) => {
      response = res;
      const header = res.headers['retry-after'];
      answer = { status: res.statusCode ?? 0, body: '', ...(typeof header === 'string' && { retryAfter: header }) };
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= WEBHOOK_BODY_MAX) {
          answer!.body = Buffer.concat(chunks).subarray(0, WEBHOOK_BODY_MAX).toString('utf8');
          finish();
        }
      });
      res.once('end', () => {
        answer!.body = Buffer.concat(chunks).toString('utf8');
        finish();
      });
      res.once('error', () => finish());
    });
    req.end(body);
  });
}

/** The payload of a webhook: the alert, and `text` for Slack and Teams. */
export function webhookBody(alert: Alert): string {
  return JSON.stringify({ ...alert, text: alertText(alert) });
}

/**
 * A webhook's URL, checked: http or https only.
 * @param raw - the URL as given
 * @returns the URL
 * @throws UsageError for anything else (naming the flag, never the URL: its path may be a secret)
 */
function webhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError('--alert-webhook: not a URL (expected http:// or https://...)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--alert-webhook: ${url.protocol} URLs are not accepted, only http:// and https://`);
  return url;
}

/** A webhook destination. */
function webhook(raw: string, o: DestinationOptions, retrier: Retrier): AlertDestination {
  const url = webhookUrl(raw);
  const label = `${url.protocol}//${url.host}`;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const once = async (alert: Alert, signal: AbortSignal | undefined): Promise<Try> => {
    const started = performance.now();
    let answer: Answer;
    try {
      answer = await post(url, webhookBody(alert), timeoutMs, o.http, signal);
    } catch (e) {
      // Node's messages about a request name the host, never the path (nor the query).
      const reason = e instanceof Error ? printable(e.message, 200) : 'request failed';
      o.http?.onRequest?.(`webhook POST ${label} -> failed: ${reason} (${Math.round(performance.now() - started)} ms)`);
      return { ok: false, retry: true, reason };
    }
    const { status } = answer;
    o.http?.onRequest?.(`webhook POST ${label} -> ${status} (${Math.round(performance.now() - started)} ms)`);
    if (status >= 200 && status < 300) return { ok: true };
    const said = answer.body ? `: ${printable(answer.body, 200)}` : '';
    if (status >= 300 && status < 400) return { ok: false, retry: false, reason: `HTTP ${status}, a redirect (not followed)` };
    const retry = status === 408 || status === 429 || status >= 500;
    const wait = retryAfterMs(answer.retryAfter);
    return { ok: false, retry, reason: `HTTP ${status}${said}`, ...(wait !== undefined && { waitMs: wait }) };
  };
  return {
    name: `webhook:${sha16(raw)}`,
    label,
    send: (alert, signal) => retrier.run(label, alert, () => once(alert, signal), signal),
  };
}

/** The first word of a command that is not an environment assignment (`TOKEN=... cmd`): its label. */
function commandLabel(command: string): string {
  const words = command.trim().split(/\s+/);
  const word = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) ?? 'sh';
  return printable(word, 60);
}

/** Run a command once: the alert on its stdin; its output drained, the end of stderr kept. */
function runCommand(command: string, input: string, timeoutMs: number, env: NodeJS.ProcessEnv, signal: AbortSignal | undefined): Promise<Try> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
    let tail = Buffer.alloc(0);
    let why: string | undefined;
    const killGroup = (reason: string): void => {
      why ??= reason;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => killGroup(`killed after ${timeoutMs / 1000} s`), timeoutMs);
    const abort = (): void => killGroup('stopped');
    signal?.addEventListener('abort', abort, { once: true });
    child.stdout.resume(); // drained, never kept: a flood of output cannot block the command
    child.stderr.on('data', (chunk: Buffer) => {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > COMMAND_TAIL_MAX) tail = tail.subarray(tail.length - COMMAND_TAIL_MAX);
    });
    child.stdin.on('error', () => undefined); // a command that does not read its input
    child.stdin.end(input);
    let settled = false;
    const done = (code: number | null, sig: NodeJS.Signals | null, spawnError?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      // Whatever the command left behind in its group (a background job) goes with it.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // the group is gone already
        }
      }
      child.stdout.destroy();
      child.stderr.destroy();
      if (spawnError) return resolve({ ok: false, retry: true, reason: `could not start: ${printable(spawnError.message, 200)}` });
      if (code === 0 && !why) return resolve({ ok: true });
      const stderr = printable(tail.toString('utf8'), COMMAND_TAIL_MAX);
      const how = why ?? (sig ? `killed by ${sig}` : `exit status ${code}`);
      resolve({ ok: false, retry: why !== 'stopped', reason: `${how}${stderr ? `; stderr: ${stderr}` : ''}` });
    };
    child.once('error', (e) => done(null, null, e));
    // 'close' waits for the command's output to end; a command whose background job keeps the
    // pipes open is done at its exit, a moment later.
    child.once('close', (code, sig) => done(code, sig));
    child.once('exit', (code, sig) => setTimeout(() => done(code, sig), 200).unref());
  });
}

/** A command destination. */
function command(text: string, o: DestinationOptions, retrier: Retrier): AlertDestination {
  if (text.trim() === '') throw new UsageError('--alert-command: the command is empty');
  const label = `command ${commandLabel(text)}`;
  const timeoutMs = o.commandTimeoutMs ?? 30_000;
  const env = o.env ?? process.env;
  return {
    name: `command:${sha16(text)}`,
    label,
    send: (alert, signal) => retrier.run(label, alert, () => runCommand(text, `${JSON.stringify(alert)}\n`, timeoutMs, env, signal), signal),
  };
}

/** An SDK error as the outcome of a try: throttling, 5xx and broken connections are tried again. */
function sdkFailure(e: unknown, call: string): Try {
  const name = nameOf(e);
  const status = statusOf(e);
  const detail = printable(e instanceof Error ? e.message : String(e), 300);
  const retry =
    (status !== undefined && (status >= 500 || status === 429 || status === 408)) ||
    (status === undefined && !/Credential|Region is missing|Invalid/i.test(`${name} ${detail}`)) ||
    /Throttl|TooManyRequests|RequestLimitExceeded|Timeout|ECONNRESET|ECONNREFUSED|EPIPE|socket hang up/i.test(`${name} ${detail}`);
  return { ok: false, retry, reason: `${call}: ${name ? `${name}: ` : ''}${detail}${status !== undefined ? ` (HTTP ${status})` : ''}` };
}

/** The configuration of an SDK client: one attempt per try, our timeout, the user's TLS options. */
function sdkConfig(region: string | undefined, o: DestinationOptions): Record<string, unknown> {
  const timeout = o.timeoutMs ?? 10_000;
  const handler = sdkHttpConfig(o.http).requestHandler ?? {};
  return {
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeout, requestTimeout: timeout, ...handler },
    ...(region && { region }),
    ...(o.endpoint && { endpoint: o.endpoint }),
    ...(o.profile && { profile: o.profile }),
  };
}

const SNS_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc):sns:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):([A-Za-z0-9_-]{1,256}(\.fifo)?)$/;

/**
 * An SNS message's subject for an alert: printable ASCII, one line, at most 100 characters.
 * @param alert - the alert
 * @returns the subject
 */
export function snsSubject(alert: Alert): string {
  const text = `validate-logs ${alert.severity}: ${alert.code}${alert.region ? ` in ${alert.region}` : ''}`;
  const ascii = text.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > 100 ? ascii.slice(0, 100) : ascii;
}

/** Make a value on first use, once (an SDK client: its module is loaded only then). */
function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

/** The options of an SDK call that the stop signal can abort. */
const abortable = (signal: AbortSignal | undefined): { abortSignal?: AbortSignal } => (signal ? { abortSignal: signal } : {});

/** An SNS destination. */
function sns(arn: string, o: DestinationOptions, retrier: Retrier): AlertDestination {
  const m = SNS_ARN.exec(arn);
  if (!m) throw new UsageError(`--alert-sns: ${printable(arn, 120)} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:TOPIC)`);
  const region = m[2]!;
  const fifo = m[5] !== undefined;
  const client = lazy(async () => {
    const sdk = await loadSns();
    return { sdk, c: traceRequests(new sdk.SNSClient(sdkConfig(region, o)), o.http, 'SNS') };
  });
  const once = async (alert: Alert, signal: AbortSignal | undefined): Promise<Try> => {
    try {
      const { sdk, c } = await client();
      const publish = new sdk.PublishCommand({
        TopicArn: arn,
        Message: JSON.stringify(alert),
        Subject: snsSubject(alert),
        MessageAttributes: {
          type: { DataType: 'String', StringValue: alert.type },
          severity: { DataType: 'String', StringValue: alert.severity },
        },
        // A FIFO topic drops a repeat of the same alert id within its 5-minute window.
        ...(fifo && { MessageGroupId: 'validate-logs', MessageDeduplicationId: alert.id }),
      });
      await c.send(publish, abortable(signal));
      return { ok: true };
    } catch (e) {
      return sdkFailure(e, 'SNS Publish');
    }
  };
  return { name: `sns:${arn}`, label: arn, send: (alert, signal) => retrier.run(arn, alert, () => once(alert, signal), signal) };
}

const BUS_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc):events:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):event-bus\/([A-Za-z0-9._\-/]{1,256})$/;
const BUS_NAME = /^[A-Za-z0-9._\-/]{1,256}$/;

/** The EventBridge `DetailType` of an alert. */
export const detailType = (alert: Alert): string => `CloudTrail log integrity ${alert.type}`;

/** An EventBridge destination. */
function eventBus(bus: string, o: DestinationOptions, retrier: Retrier): AlertDestination {
  const arn = BUS_ARN.exec(bus);
  if (!arn && !BUS_NAME.test(bus)) throw new UsageError(`--alert-eventbridge: ${printable(bus, 120)} is not an event bus name or ARN`);
  const region = arn ? arn[2] : o.region;
  const label = `EventBridge ${bus}`;
  const client = lazy(async () => {
    const sdk = await loadEventBridge();
    return { sdk, c: traceRequests(new sdk.EventBridgeClient(sdkConfig(region, o)), o.http, 'EventBridge') };
  });
  const once = async (alert: Alert, signal: AbortSignal | undefined): Promise<Try> => {
    let out;
    try {
      const { sdk, c } = await client();
      const entry = { Source: 'validate-logs', DetailType: detailType(alert), Detail: JSON.stringify(alert), EventBusName: bus, Time: new Date(alert.detectedAt) };
      out = await c.send(new sdk.PutEventsCommand({ Entries: [entry] }), abortable(signal));
    } catch (e) {
      return sdkFailure(e, 'EventBridge PutEvents');
    }
    if (!out.FailedEntryCount) return { ok: true };
    const failed = out.Entries?.find((x) => x.ErrorCode) ?? {};
    const code = printable(failed.ErrorCode ?? 'unknown', 100);
    const retry = /Throttl|InternalFailure|InternalException|ServiceUnavailable/i.test(code);
    return { ok: false, retry, reason: `EventBridge PutEvents: the entry failed: ${code}${failed.ErrorMessage ? `: ${printable(failed.ErrorMessage, 200)}` : ''}` };
  };
  return { name: `eventbridge:${bus}`, label, send: (alert, signal) => retrier.run(label, alert, () => once(alert, signal), signal) };
}

/**
 * Every destination the options name, webhooks first, then commands, topics and buses. Nothing
 * is sent and no SDK is loaded until the first alert.
 * @param options - the destinations and how hard to try
 * @returns the destinations
 * @throws UsageError for a webhook that is not an http or https URL, an empty command, a
 *   malformed topic ARN or bus (a mistake in a flag, which the CLI reports with exit status 2)
 * @throws RangeError for negative retries or back-off
 */
export function createDestinations(options: DestinationOptions): AlertDestination[] {
  const retries = options.retries ?? 4;
  const backoffMs = options.backoffMs ?? 1000;
  if (!Number.isInteger(retries) || retries < 0) throw new RangeError('retries must be a whole number, 0 or more');
  if (!(backoffMs >= 0)) throw new RangeError('backoffMs must be 0 or more');
  const retrier = new Retrier(retries, backoffMs, options.maxRetryAfterMs ?? 60_000);
  return [
    ...(options.webhooks ?? []).map((u) => webhook(u, options, retrier)),
    ...(options.commands ?? []).map((c) => command(c, options, retrier)),
    ...(options.snsTopics ?? []).map((t) => sns(t, options, retrier)),
    ...(options.eventBuses ?? []).map((b) => eventBus(b, options, retrier)),
  ];
}
