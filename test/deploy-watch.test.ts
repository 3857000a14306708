// `validate-logs watch` deployed: the Lambda handler (with an injected command: which events run
// a pass, with which flags, what each exit status becomes, one pass at a time, and the checks of
// its configuration), the CloudFormation template (it parses, a supported Node.js runtime, one
// watcher, and IAM that grants what the code calls on the resources named and nothing wider,
// checked by cfn-lint too), the Kubernetes CronJob and the systemd units (`systemd-analyze
// verify` and its security score).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, type Tags } from 'yaml';
import { createWatchHandler, parseWatchArgs, WATCH_ARGS_VARIABLE, type SqsEvent, type WatchIO, type WatchRunner } from '../src/aws-lambda.js';
import { digestKey, logKey } from '../src/format/keys.js';
import { ROOT } from './helpers/tamper.js';
import { requireTool } from './helpers/tools.js';

const TRAIL = 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail';
const ARGS = ['--trail-arn', TRAIL, '--state', 's3://watch-state/prod/'];
const DIGEST = digestKey({ accountId: '111122223333', region: 'eu-west-1', trailName: 'org-trail', homeRegion: 'us-east-1', prefix: 'audit logs' }, new Date('2026-12-06T02:00:00Z'));
const LOG = logKey({ accountId: '111122223333', region: 'eu-west-1', trailName: 'org-trail' }, new Date('2026-12-06T02:05:00Z'), 'abcdefghijklmnop');
const SCHEDULED = { 'detail-type': 'Scheduled Event' as const, source: 'aws.events', time: '2026-12-06T03:00:00Z', resources: ['arn:aws:events:us-east-1:111122223333:rule/watch'] };

/** The key as S3 puts it in a notification: URL-encoded, spaces as '+'. */
const encoded = (key: string): string => encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
const notification = (...keys: string[]): string =>
  JSON.stringify({ Records: keys.map((key) => ({ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'trail-bucket' }, object: { key: encoded(key), size: 512 } } })) });
const sqs = (...bodies: string[]): SqsEvent => ({ Records: bodies.map((body, i) => ({ messageId: `m${i + 1}`, body, eventSource: 'aws:sqs' })) });
const TEST_EVENT = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-12-06T02:00:00Z', Bucket: 'trail-bucket', RequestId: 'R', HostId: 'H' });

/** A recording command: each call's arguments, what it writes, and the status it returns. */
function recorder(behaviour: (argv: string[], io: WatchIO, call: number) => Promise<number> | number = () => 0) {
  const calls: string[][] = [];
  const run: WatchRunner = async (argv, io) => {
    calls.push(argv);
    return behaviour(argv, io, calls.length);
  };
  return { calls, run };
}

/** A stream that keeps what is written to it. */
function sink(): PassThrough & { text: () => string } {
  const s = new PassThrough();
  let text = '';
  s.setEncoding('utf8').on('data', (d: string) => (text += d));
  return Object.assign(s, { text: () => text });
}

function handlerWith(behaviour?: Parameters<typeof recorder>[0], args: unknown = ARGS) {
  const { calls, run } = recorder(behaviour);
  const stdout = sink();
  const stderr = sink();
  const env = { [WATCH_ARGS_VARIABLE]: typeof args === 'string' ? args : JSON.stringify(args), SOMETHING: 'else' };
  const handler = createWatchHandler({ run, env, stdout, stderr });
  return { handler, calls, stdout, stderr, env };
}

describe('the Lambda watch handler', () => {
  it('a scheduled event runs one pass with --once --emf appended, in the configured environment, and returns its status', async () => {
    let seen: WatchIO | undefined;
    const h = handlerWith((_argv, io) => {
      seen = io;
      return 0;
    });
    expect(await h.handler(SCHEDULED, { awsRequestId: 'req-1' })).toEqual({ status: 0, ok: true });
    expect(h.calls).toEqual([[...ARGS, '--once', '--emf']]);
    expect(seen!.env).toBe(h.env);
    expect(h.stderr.text().split('\n')).toEqual(['validate-logs watch (Lambda): pass started (schedule; request "req-1")', 'validate-logs watch (Lambda): pass ended with status 0', '']);
    const h1 = handlerWith(() => 1);
    expect(await h1.handler(SCHEDULED)).toEqual({ status: 1, ok: false });
  });

  it('the EMF lines reach the log as they are, one write per line, even when written in pieces', async () => {
    const emf = [JSON.stringify({ _aws: { Timestamp: 1, CloudWatchMetrics: [] }, region: 'us-east-1' }), JSON.stringify({ _aws: { Timestamp: 2, CloudWatchMetrics: [] }, region: 'eu-west-1' })];
    const h = handlerWith(async (_argv, io) => {
      const all = emf.join('\n') + '\n';
      for (const piece of [all.slice(0, 7), all.slice(7, 60), all.slice(60)]) io.stdout.write(piece);
      return 0;
    });
    const writes: string[] = [];
    h.stdout.write = ((chunk: string, cb?: (e?: Error | null) => void) => {
      writes.push(chunk);
      cb?.();
      return true;
    }) as typeof h.stdout.write;
    await h.handler(SCHEDULED);
    expect(writes).toEqual(emf.map((l) => `${l}\n`));
    // Bytes, a character split between two writes.
    const bytes = handlerWith(async (_argv, io) => {
      const line = Buffer.from('{"trail":"é-trail"}\n');
      io.stdout.write(line.subarray(0, 11));
      io.stdout.write(line.subarray(11));
      return 0;
    });
    await bytes.handler(SCHEDULED);
    expect(bytes.stdout.text()).toBe('{"trail":"é-trail"}\n');
  });

  it('an endpoint (an S3-compatible store) becomes --endpoint-url unless the flags give one; flags already there are not repeated', async () => {
    const { calls, run } = recorder();
    const env = { [WATCH_ARGS_VARIABLE]: JSON.stringify(ARGS) };
    await createWatchHandler({ run, env, endpoint: 'http://127.0.0.1:4568', stderr: sink() })(SCHEDULED);
    expect(calls[0]).toEqual([...ARGS, '--endpoint-url', 'http://127.0.0.1:4568', '--once', '--emf']);
    const given = [...ARGS, '--endpoint-url=http://127.0.0.1:9', '--emf'];
    await createWatchHandler({ run, env: { [WATCH_ARGS_VARIABLE]: JSON.stringify(given) }, endpoint: 'http://127.0.0.1:4568', stderr: sink() })(SCHEDULED);
    expect(calls[1]).toEqual([...given, '--once']);
  });

  it('an SQS batch runs one pass when a message names a digest key (URL-encoded, directly or in an SNS envelope)', async () => {
    const h = handlerWith();
    expect(await h.handler(sqs(notification(LOG), notification(LOG, DIGEST), notification(DIGEST)))).toEqual({ batchItemFailures: [], pass: { status: 0, ok: true } });
    expect(h.calls).toEqual([[...ARGS, '--once', '--emf']]);
    expect(h.stderr.text()).toContain(`the first for ${JSON.stringify(DIGEST)}`);
    const envelope = JSON.stringify({ Type: 'Notification', MessageId: 'x', TopicArn: 'arn:aws:sns:us-east-1:111122223333:t', Message: notification(DIGEST) });
    expect(await h.handler(sqs(envelope))).toEqual({ batchItemFailures: [], pass: { status: 0, ok: true } });
    expect(h.calls).toHaveLength(2);
  });

  it('log keys, keys that only look like digests, and the S3 test event run no pass', async () => {
    const h = handlerWith();
    const lookalikes = [
      DIGEST.replace('.json.gz', '.json'), // not gzip-named
      DIGEST.replace('CloudTrail-Digest/eu-west-1', 'CloudTrail-Digest/us-west-2'), // the folder and the name disagree
      `notes/CloudTrail-Digest/readme.json.gz`,
      `${'a/'.repeat(600)}${DIGEST}`, // longer than any S3 key
    ];
    expect(await h.handler(sqs(notification(LOG), TEST_EVENT, notification(...lookalikes)))).toEqual({ batchItemFailures: [] });
    expect(h.calls).toEqual([]);
  });

  it('a malformed message is logged with its id and why, and neither retried nor run; the others still count', async () => {
    const h = handlerWith();
    const malformed = ['not json {', '[1,2]', '{"Records":[]}', '{"Records":[{"s3":{"object":{}}}]}', JSON.stringify({ Records: [{ s3: { object: { key: 'AWSLogs/%E0%A4%A/x' } } }] }), 'x'.repeat(1024 * 1024 + 1)];
    const result = await h.handler(sqs(...malformed));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(h.calls).toEqual([]);
    const lines = h.stderr.text().trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/SQS message "m1": its body is not JSON; not retried/),
      expect.stringMatching(/SQS message "m2": its body is not a JSON object; not retried/),
      expect.stringMatching(/SQS message "m3": its body is not an S3 event notification \(no Records\); not retried/),
      expect.stringMatching(/SQS message "m4": its record 0 has no s3.object.key; not retried/),
      expect.stringMatching(/SQS message "m5": its record 0 has a key that is not URL-encoded; not retried/),
      expect.stringMatching(/SQS message "m6": its body is longer than 1048576 characters; not retried/),
    ]);
    // Beside a digest notification, the pass runs once and only the digest's message would be retried.
    const failing = handlerWith(() => 2);
    expect(await failing.handler(sqs('not json', notification(DIGEST), notification(LOG)))).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
  });

  it('exit 2 (a STATE_CONFLICT) returns every message that called for the pass as a batch item failure, so that SQS delivers them again', async () => {
    const h = handlerWith(async (_argv, io) => {
      io.stderr.write('validate-logs watch: error: STATE_CONFLICT: s3://watch-state/prod/state.json was written by another watcher (pass 42) first\n');
      return 2;
    });
    expect(await h.handler(sqs(notification(DIGEST), notification(DIGEST), TEST_EVENT))).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }] });
    expect(h.stderr.text()).toContain('STATE_CONFLICT: s3://watch-state/prod/state.json was written by another watcher');
    expect(h.stderr.text()).toContain('validate-logs watch ended with status 2: validate-logs watch: error: STATE_CONFLICT');
  });

  it('exit 2 on the schedule throws an Error naming the pass\'s last line on stderr; so does a command that throws', async () => {
    const h = handlerWith(async (_argv, io) => {
      io.stderr.write('a first line\nvalidate-logs watch: error: ACCESS_DENIED: ListObjectsV2 s3://trail-bucket/AWSLogs/: Access Denied\n\n');
      return 2;
    });
    await expect(h.handler(SCHEDULED)).rejects.toThrow(/^validate-logs watch ended with status 2: validate-logs watch: error: ACCESS_DENIED: ListObjectsV2 s3:\/\/trail-bucket\/AWSLogs\/: Access Denied$/);
    const thrower = handlerWith(() => {
      throw new Error('boom\nat somewhere');
    });
    await expect(thrower.handler(SCHEDULED)).rejects.toThrow(/^validate-logs watch ended with status 2: validate-logs watch: internal error: boom$/);
    const silent = handlerWith(() => 2);
    await expect(silent.handler(SCHEDULED)).rejects.toThrow('validate-logs watch ended with status 2 and said nothing on stderr');
    const odd = handlerWith(() => 130);
    await expect(odd.handler(SCHEDULED)).rejects.toThrow('ended with status 130');
  });

  it('two events at once: the second pass starts only when the first has ended', async () => {
    let running = 0;
    let most = 0;
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = handlerWith(async (_argv, _io, call) => {
      running++;
      most = Math.max(most, running);
      order.push(`start ${call}`);
      if (call === 1) await gate;
      order.push(`end ${call}`);
      running--;
      return call === 1 ? 1 : 0;
    });
    const first = h.handler(SCHEDULED);
    const second = h.handler(sqs(notification(DIGEST)));
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual(['start 1']);
    release();
    expect(await first).toEqual({ status: 1, ok: false });
    expect(await second).toEqual({ batchItemFailures: [], pass: { status: 0, ok: true } });
    expect([order, most]).toEqual([['start 1', 'end 1', 'start 2', 'end 2'], 1]);
    // A pass that failed does not stop the next one.
    const after = handlerWith(async (_argv, _io, call) => {
      if (call === 1) throw new Error('first');
      return 0;
    });
    const [a, b] = await Promise.allSettled([after.handler(SCHEDULED), after.handler(SCHEDULED)]);
    expect([a.status, b]).toEqual(['rejected', { status: 'fulfilled', value: { status: 0, ok: true } }]);
  });

  it('the pass is asked to stop (as by SIGTERM) before the function times out; a stopped pass is no success, whatever its status', async () => {
    // As the watch does with --once: a stop abandons the walk and exits 0, nothing written.
    const stopped: WatchRunner = (_argv, io) =>
      new Promise<number>((resolve) => io.signal!.addEventListener('abort', () => resolve((io.signal!.reason as { code?: string }).code === 'SIGTERM' ? 0 : 3)));
    const env = { [WATCH_ARGS_VARIABLE]: JSON.stringify(ARGS) };
    const started = Date.now();
    const handler = createWatchHandler({ run: stopped, env, stderr: sink(), stopMarginMs: 200 });
    await expect(handler(SCHEDULED, { getRemainingTimeInMillis: () => 600 })).rejects.toThrow(
      /^validate-logs watch was stopped 0 s before the function's timeout, before the end of its pass \(it then ended with status 0\); the next pass takes it up again$/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(Date.now() - started).toBeLessThan(5000);
    const stderr = sink();
    const queued = createWatchHandler({ run: stopped, env, stderr, stopMarginMs: 2000 });
    expect(await queued(sqs(notification(DIGEST)), { getRemainingTimeInMillis: () => 1000 })).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(stderr.text()).toContain('stopped 1 s before the function\'s timeout'); // half-way when less than twice the margin is left
    // With time enough, no stop: the pass's own status stands.
    const quick = createWatchHandler({ run: async () => 1, env, stderr: sink() });
    expect(await quick(SCHEDULED, { getRemainingTimeInMillis: () => 900_000 })).toEqual({ status: 1, ok: false });
  });

  it('nothing in an event reaches the command: its flags come from the configuration only', async () => {
    const h = handlerWith();
    const forged = { ...SCHEDULED, detail: { args: ['--state', '/tmp/x'], state: 's3://attacker/p/' }, argv: ['--alert-webhook', 'http://attacker.example/'] };
    await h.handler(forged);
    const batch = sqs(notification(DIGEST));
    (batch.Records[0] as unknown as Record<string, unknown>).messageAttributes = { args: { stringValue: '--local-dir /' } };
    await h.handler(batch);
    expect(h.calls).toEqual([
      [...ARGS, '--once', '--emf'],
      [...ARGS, '--once', '--emf'],
    ]);
  });

  it("a hostile message id cannot forge log lines, and output without line ends is passed on in bounded pieces", async () => {
    const h = handlerWith(async (_argv, io) => {
      const chunk = 'x'.repeat(256 * 1024);
      for (let i = 0; i < 12; i++) io.stdout.write(chunk); // 3 MiB, no line end
      io.stderr.write(`${'e'.repeat(100_000)}\n`);
      return 2;
    });
    const writes: number[] = [];
    h.stdout.write = ((chunk: string, cb?: (e?: Error | null) => void) => {
      writes.push(chunk.length);
      cb?.();
      return true;
    }) as typeof h.stdout.write;
    const id = `m1"\nvalidate-logs watch (Lambda): pass ended with status 0\n${'z'.repeat(10_000)}`;
    const result = await h.handler({ Records: [{ messageId: id, body: 'not json' }] });
    expect(result).toEqual({ batchItemFailures: [] });
    const lines = h.stderr.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(400);
    expect(lines[0]).toMatch(/^validate-logs watch \(Lambda\): SQS message "m1\\"\\nvalidate-logs watch/);
    // A pass whose last stderr line is huge: the error holds a bounded part of it.
    const e = await h.handler(SCHEDULED).then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(e!.message.length).toBeLessThan(2100);
    expect(writes.reduce((a, b) => a + b, 0)).toBe(3 * 1024 * 1024 + writes.length); // every byte, each piece ended as a line
    expect(Math.max(...writes)).toBeLessThanOrEqual(1024 * 1024 + 256 * 1024 + 1);
  });

  it('the other handlers do not load the watch: the module imports it only when a pass runs', () => {
    const source = readFileSync(join(ROOT, 'src', 'aws-lambda.ts'), 'utf8');
    const staticImports = [...source.matchAll(/^import (?!type ).* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(staticImports.filter((s) => s!.startsWith('./cli/'))).toEqual(['./cli/usage-error.js']);
    expect(source).toContain("await import('./cli/watch.js')");
  });

  it('anything else than a scheduled event or an SQS batch is refused, and nothing runs', async () => {
    const h = handlerWith();
    for (const event of [{}, { 'detail-type': 'Object Created' }, { Records: [{ body: '{}' }] }, null]) {
      await expect(h.handler(event as never)).rejects.toThrow(/neither an EventBridge scheduled event .* nor an SQS batch/);
    }
    expect(h.calls).toEqual([]);
  });
});

describe(`${WATCH_ARGS_VARIABLE}`, () => {
  const secret = 'https://hooks.slack.com/services/T000/B000/SECRETxyz';
  const refused: Array<[string, unknown, RegExp]> = [
    ['unset', undefined, /VALIDATE_LOGS_WATCH_ARGS is not set: give the watch flags as a JSON array of strings/],
    ['not JSON', `["--alert-webhook","${secret}"`, /VALIDATE_LOGS_WATCH_ARGS is not JSON/],
    ['not an array', JSON.stringify({ state: 's3://b/p/', webhook: secret }), /VALIDATE_LOGS_WATCH_ARGS is not a JSON array/],
    ['not strings', JSON.stringify(['--state', 's3://watch-state/p/', '--error-after', 3]), /VALIDATE_LOGS_WATCH_ARGS holds something other than a string at index 3/],
    ['no --state', JSON.stringify(['--trail-arn', TRAIL, '--alert-webhook', secret]), /VALIDATE_LOGS_WATCH_ARGS has no --state: the function keeps its state in S3/],
    ['a local --state', JSON.stringify([...ARGS.slice(0, 2), '--state', '/tmp/state']), /VALIDATE_LOGS_WATCH_ARGS has --state "\/tmp\/state", which is not s3:\/\/BUCKET\/PREFIX\/: a Lambda function's disk does not last/],
    ['an --state=s3 without a bucket', JSON.stringify(['--state=s3:///p/']), /has --state "s3:\/\/\/p\/", which is not s3:\/\/BUCKET\/PREFIX\//],
    ['two --state', JSON.stringify([...ARGS, '--state=s3://other-bucket/p/']), /gives --state more than once/],
    ['--interval', JSON.stringify([...ARGS, '--interval', '5m']), /gives --interval, which a Lambda function cannot use: the schedule and the queue start the passes/],
    ['--interval=', JSON.stringify([...ARGS, '--interval=5m']), /gives --interval/],
    ['--metrics-port', JSON.stringify([...ARGS, '--metrics-port', '9464']), /gives --metrics-port, which a Lambda function cannot use: a function serves no port/],
    ['--local-dir', JSON.stringify([...ARGS, '--local-dir', '/mnt/trail']), /gives --local-dir, which a Lambda function cannot use/],
    ['--help', JSON.stringify([...ARGS, '--help']), /gives --help/],
    ['-h', JSON.stringify([...ARGS, '-h']), /gives -h/],
  ];
  for (const [what, value, message] of refused) {
    it(`${what}: an error naming the variable and what is wrong, never its secrets, and no pass`, async () => {
      expect(() => parseWatchArgs(value as string | undefined)).toThrow(message);
      const h = handlerWith(undefined, value);
      if (value === undefined) delete (h.env as Record<string, unknown>)[WATCH_ARGS_VARIABLE];
      for (const event of [SCHEDULED, sqs(notification(DIGEST))]) {
        const e = await h.handler(event as never).then(
          () => undefined,
          (x: unknown) => x as Error,
        );
        expect(e?.message).toMatch(message);
        expect(e?.message).not.toContain('SECRET');
        expect(e?.message).not.toContain('hooks.slack.com');
      }
      expect(h.calls).toEqual([]);
    });
  }

  it('accepts the flags of a watcher in S3 as they are', () => {
    const flags = [...ARGS, '--regions', 'us-east-1,eu-west-1', '--alert-sns', 'arn:aws:sns:us-east-1:111122223333:alerts', '--overdue', '3h', '--once'];
    expect(parseWatchArgs(JSON.stringify(flags))).toEqual(flags);
    expect(parseWatchArgs(JSON.stringify(['--state=s3://watch-state']))).toEqual(['--state=s3://watch-state']);
  });
});

// ---------------------------------------------------------------------------------------------
// The CloudFormation (SAM) template.

const TEMPLATE = join(ROOT, 'deploy', 'watch', 'template.yaml');

/** CloudFormation's short forms (!Ref, !Sub, ...) read as their long forms ({ Ref: ... }, { 'Fn::Sub': ... }). */
const CFN_TAGS: Tags = ['Ref', 'Sub', 'GetAtt', 'If', 'Not', 'Equals', 'Join', 'Select', 'Split', 'And', 'Or'].flatMap((name) => {
  const key = name === 'Ref' ? 'Ref' : `Fn::${name}`;
  const value = (v: unknown): unknown => ({ [key]: name === 'GetAtt' && typeof v === 'string' ? v.split('.') : v });
  return [
    { tag: `!${name}`, resolve: (s: string) => value(s) },
    { tag: `!${name}`, collection: 'seq' as const, resolve: (seq: { toJSON: () => unknown }) => value(seq.toJSON()) },
    { tag: `!${name}`, collection: 'map' as const, resolve: (map: { toJSON: () => unknown }) => value(map.toJSON()) },
  ];
}) as Tags;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Template {
  Transform?: string;
  Parameters: Record<string, { Default?: string | number; AllowedPattern?: string; AllowedValues?: unknown[] }>;
  Conditions: Record<string, Json>;
  Resources: Record<string, { Type: string; Properties: Record<string, Json> }>;
  Outputs: Record<string, Json>;
}

const template = (): Template => parseYaml(readFileSync(TEMPLATE, 'utf8'), { customTags: CFN_TAGS }) as Template;

/**
 * The template as CloudFormation would resolve it for these parameters: Ref, Sub, If, Not,
 * Equals; a resource's attribute stays `<Name.Attribute>`, a resource's Ref `<Name>`; the
 * statements an If drops (AWS::NoValue) are gone.
 */
function resolve(t: Template, given: Record<string, string>): Template {
  const params: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': 'us-east-1', 'AWS::AccountId': '111122223333', 'AWS::StackName': 'vlw' };
  for (const [name, p] of Object.entries(t.Parameters)) {
    const v = given[name] ?? (p.Default === undefined ? undefined : String(p.Default));
    if (v === undefined) throw new Error(`parameter ${name} has no value`);
    if (p.AllowedPattern) expect(v, `${name} against its AllowedPattern`).toMatch(new RegExp(p.AllowedPattern));
    params[name] = v;
  }
  const NO_VALUE = Symbol('NoValue');
  const conditions: Record<string, boolean> = {};
  const ev = (v: Json, vars: Record<string, string> = {}): Json | typeof NO_VALUE => {
    if (Array.isArray(v)) return v.map((x) => ev(x, vars)).filter((x): x is Json => x !== NO_VALUE);
    if (v === null || typeof v !== 'object') return v;
    const [k] = Object.keys(v);
    const arg = v[k!]!;
    if (k === 'Ref') {
      const name = arg as string;
      if (name === 'AWS::NoValue') return NO_VALUE;
      return params[name] ?? (t.Resources[name] ? `<${name}>` : fail(`Ref to unknown ${name}`));
    }
    if (k === 'Fn::GetAtt') {
      const [res, att] = arg as string[];
      if (!t.Resources[res!]) fail(`GetAtt of unknown ${res}`);
      return `<${res}.${att}>`;
    }
    if (k === 'Fn::Sub') {
      const [text, extra] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, Json>]);
      const local = Object.fromEntries(Object.entries(extra).map(([n, x]) => [n, ev(x, vars) as string]));
      return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => local[name] ?? params[name] ?? (t.Resources[name] ? `<${name}>` : fail(`Sub of unknown ${name}`)));
    }
    if (k === 'Fn::If') {
      const [cond, yes, no] = arg as [string, Json, Json];
      if (!(cond in conditions)) fail(`unknown condition ${cond}`);
      return ev(conditions[cond] ? yes : no, vars);
    }
    if (k === 'Fn::Equals') {
      const [a, b] = (arg as Json[]).map((x) => ev(x, vars));
      return a === b;
    }
    if (k === 'Fn::Not') return !(ev((arg as Json[])[0]!, vars) as boolean);
    if (k?.startsWith('Fn::')) fail(`${k} is not evaluated here`);
    const out: Record<string, Json> = {};
    for (const [key, x] of Object.entries(v)) {
      const r = ev(x, vars);
      if (r !== NO_VALUE) out[key] = r;
    }
    return out;
  };
  const fail = (why: string): never => {
    throw new Error(`template: ${why}`);
  };
  for (const [name, c] of Object.entries(t.Conditions)) conditions[name] = ev(c) as boolean;
  return { ...t, Resources: ev(t.Resources as unknown as Json) as unknown as Template['Resources'], Outputs: ev(t.Outputs as Json) as Template['Outputs'] };
}

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
  Principal?: Json;
}
const list = (x: string | string[]): string[] => (Array.isArray(x) ? x : [x]);

/** The role's statements as "action on resource (condition)" lines, sorted. */
function grants(t: Template): string[] {
  const roles = Object.values(t.Resources).filter((r) => r.Type === 'AWS::IAM::Role');
  expect(roles).toHaveLength(1);
  const policies = roles[0]!.Properties.Policies as unknown as Array<{ PolicyDocument: { Statement: Statement[] } }>;
  expect(roles[0]!.Properties.ManagedPolicyArns).toBeUndefined();
  return policies
    .flatMap((p) => p.PolicyDocument.Statement)
    .flatMap((s) => {
      expect(s.Effect).toBe('Allow');
      const cond = s.Condition ? ` if ${JSON.stringify(s.Condition)}` : '';
      return list(s.Action).flatMap((a) => list(s.Resource).map((r) => `${a} on ${r}${cond}`));
    })
    .sort();
}

const REQUIRED = { TrailArn: TRAIL, TrailBucket: 'trail-bucket', StateBucket: 'watch-state' };
const EVERYTHING = {
  ...REQUIRED,
  TrailPrefix: 'audit logs',
  TrailBucketOwner: '444455556666',
  TrailKmsKeyArn: 'arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  OrganizationId: 'o-abcdefghij',
  StatePrefix: 'watch/prod/',
  AlertTopicArn: 'arn:aws:sns:us-east-1:111122223333:cloudtrail-alerts',
  AlertEventBusArn: 'arn:aws:events:us-east-1:111122223333:event-bus/security',
  ExtraWatchArgs: '"--regions","us-east-1,eu-west-1","--overdue","3h"',
};

describe('deploy/watch/template.yaml', () => {
  it('parses, and runs the function on a supported Node.js runtime, one at a time, with the memory and time of the other functions', () => {
    const t = template();
    expect(t.Transform).toBe('AWS::Serverless-2016-10-31');
    const fn = t.Resources.Function!;
    expect(fn.Type).toBe('AWS::Serverless::Function');
    // Supported Lambda Node.js runtimes (the package needs ^20.19.0 || >=22.12.0; nodejs20.x ends in 2026).
    expect(['nodejs22.x', 'nodejs24.x']).toContain(fn.Properties.Runtime);
    expect(fn.Properties.Runtime).toBe('nodejs24.x'); // as deploy/Dockerfile and the Step Functions functions
    expect(readFileSync(TEMPLATE, 'utf8')).toMatch(/# Node\.js 24: an LTS line/);
    expect(fn.Properties).toMatchObject({ Handler: 'index.watchHandler', MemorySize: 2048, Timeout: 900, ReservedConcurrentExecutions: 1, CodeUri: 'function/' });
    expect(fn.Properties.Policies).toBeUndefined(); // the role is given: SAM attaches nothing of its own
    expect(readFileSync(join(ROOT, 'deploy', 'watch', 'function', 'index.mjs'), 'utf8')).toContain("export { watchHandler } from 'validate-logs/aws-lambda';");
  });

  it('a schedule and an SQS queue (with a dead-letter queue) start the passes; batch item failures are reported; S3 of the trail bucket only may send', () => {
    const t = resolve(template(), EVERYTHING);
    const events = t.Resources.Function!.Properties.Events as Record<string, { Type: string; Properties: Record<string, Json> }>;
    expect(events.Schedule).toEqual({ Type: 'Schedule', Properties: { Schedule: 'rate(5 minutes)' } });
    expect(events.Digests).toEqual({
      Type: 'SQS',
      Properties: { Queue: '<DigestQueue.Arn>', BatchSize: 100, MaximumBatchingWindowInSeconds: 60, FunctionResponseTypes: ['ReportBatchItemFailures'] },
    });
    const queue = t.Resources.DigestQueue!.Properties;
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: '<DeadLetterQueue.Arn>', maxReceiveCount: 5 });
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * 900); // Lambda's advice: 6 x the function's timeout
    expect(t.Resources.DeadLetterQueue!.Type).toBe('AWS::SQS::Queue');
    const policy = t.Resources.DigestQueuePolicy!.Properties as unknown as { Queues: string[]; PolicyDocument: { Statement: Statement[] } };
    expect(policy.Queues).toEqual(['<DigestQueue>']);
    expect(policy.PolicyDocument.Statement).toEqual([
      {
        Sid: 'TrailBucketNotifications',
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: '<DigestQueue.Arn>',
        Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::trail-bucket' }, StringEquals: { 'aws:SourceAccount': '444455556666' } },
      },
    ]);
    expect(resolve(template(), REQUIRED).Resources.DigestQueuePolicy!.Properties).toMatchObject({
      PolicyDocument: { Statement: [{ Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' } } }] },
    });
    expect(Object.keys(t.Outputs)).toEqual(expect.arrayContaining(['FunctionName', 'QueueArn']));
  });

  it('who watches the watcher: alarms when it fails, stops being invoked, or leaves messages in the dead-letter queue, to the alert topic', () => {
    const alarms = (t: Template) =>
      Object.fromEntries(
        Object.entries(t.Resources)
          .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
          .map(([name, r]) => [name, r.Properties as { MetricName: string; Dimensions: Array<{ Value: string }>; ComparisonOperator: string; TreatMissingData: string; AlarmActions?: string[] }]),
      );
    const withTopic = alarms(resolve(template(), EVERYTHING));
    expect(Object.fromEntries(Object.entries(withTopic).map(([n, a]) => [n, [a.MetricName, a.Dimensions[0]!.Value, a.ComparisonOperator, a.TreatMissingData, a.AlarmActions]]))).toEqual({
      FailingAlarm: ['Errors', '<Function>', 'GreaterThanOrEqualToThreshold', 'notBreaching', [EVERYTHING.AlertTopicArn]],
      // No invocation at all is silence too: missing data breaches.
      SilentAlarm: ['Invocations', '<Function>', 'LessThanThreshold', 'breaching', [EVERYTHING.AlertTopicArn]],
      DeadLetterAlarm: ['ApproximateNumberOfMessagesVisible', '<DeadLetterQueue.QueueName>', 'GreaterThanOrEqualToThreshold', 'notBreaching', [EVERYTHING.AlertTopicArn]],
    });
    for (const a of Object.values(alarms(resolve(template(), REQUIRED)))) expect(a.AlarmActions).toBeUndefined();
  });

  it("the function's VALIDATE_LOGS_WATCH_ARGS, for every option, is what the handler accepts", () => {
    for (const [given, wanted] of [
      [REQUIRED, ['--trail-arn', TRAIL, '--state', 's3://watch-state/validate-logs-watch/']],
      [
        EVERYTHING,
        ['--trail-arn', TRAIL, '--state', 's3://watch-state/watch/prod/', '--organization-id', 'o-abcdefghij', '--alert-sns', EVERYTHING.AlertTopicArn, '--alert-eventbridge', EVERYTHING.AlertEventBusArn, '--regions', 'us-east-1,eu-west-1', '--overdue', '3h'],
      ],
    ] as const) {
      const env = (resolve(template(), given).Resources.Function!.Properties.Environment as { Variables: Record<string, string> }).Variables;
      expect(Object.keys(env)).toEqual([WATCH_ARGS_VARIABLE]);
      expect(parseWatchArgs(env[WATCH_ARGS_VARIABLE])).toEqual(wanted);
    }
  });

  it('the role grants what the watch calls, on the resources named and nothing wider', () => {
    const minimal = grants(resolve(template(), REQUIRED));
    expect(minimal).toEqual(
      [
        'logs:CreateLogStream on <LogGroup.Arn>',
        'logs:PutLogEvents on <LogGroup.Arn>',
        `s3:ListBucket on arn:aws:s3:::trail-bucket if {"StringLikeIfExists":{"s3:prefix":"AWSLogs/*"}}`,
        's3:GetObject on arn:aws:s3:::trail-bucket/AWSLogs/*',
        `s3:ListBucket on arn:aws:s3:::watch-state if {"StringLikeIfExists":{"s3:prefix":"validate-logs-watch/*"}}`,
        's3:GetObject on arn:aws:s3:::watch-state/validate-logs-watch/*',
        's3:PutObject on arn:aws:s3:::watch-state/validate-logs-watch/*',
        'cloudtrail:ListPublicKeys on *',
        'cloudtrail:DescribeTrails on *',
        `cloudtrail:GetTrailStatus on ${TRAIL}`,
        'sqs:ReceiveMessage on <DigestQueue.Arn>',
        'sqs:DeleteMessage on <DigestQueue.Arn>',
        'sqs:GetQueueAttributes on <DigestQueue.Arn>',
      ].sort(),
    );
    const all = grants(resolve(template(), EVERYTHING));
    expect(all.filter((g) => !minimal.includes(g))).toEqual(
      [
        `s3:ListBucket on arn:aws:s3:::trail-bucket if {"StringLikeIfExists":{"s3:prefix":"audit logs/AWSLogs/*"}}`,
        's3:GetObject on arn:aws:s3:::trail-bucket/audit logs/AWSLogs/*',
        `kms:Decrypt on ${EVERYTHING.TrailKmsKeyArn}`,
        `s3:ListBucket on arn:aws:s3:::watch-state if {"StringLikeIfExists":{"s3:prefix":"watch/prod/*"}}`,
        's3:GetObject on arn:aws:s3:::watch-state/watch/prod/*',
        's3:PutObject on arn:aws:s3:::watch-state/watch/prod/*',
        `sns:Publish on ${EVERYTHING.AlertTopicArn}`,
        `events:PutEvents on ${EVERYTHING.AlertEventBusArn}`,
      ].sort(),
    );
    // "*" only for the two CloudTrail calls that have no resource-level permissions.
    expect(all.filter((g) => / on \*/.test(g))).toEqual(['cloudtrail:DescribeTrails on *', 'cloudtrail:ListPublicKeys on *']);
  });

  it('every AWS call in the code the watch runs is granted (read from the sources: the S3 and CloudTrail sources, the document store, src/watch/)', () => {
    /** The IAM action each SDK command needs. */
    const ACTION: Record<string, string | undefined> = {
      ListObjectsV2: 's3:ListBucket',
      HeadBucket: 's3:ListBucket',
      GetObject: 's3:GetObject',
      HeadObject: 's3:GetObject',
      PutObject: 's3:PutObject',
      ListPublicKeys: 'cloudtrail:ListPublicKeys',
      DescribeTrails: 'cloudtrail:DescribeTrails',
      GetTrailStatus: 'cloudtrail:GetTrailStatus',
      Publish: 'sns:Publish',
      PutEvents: 'events:PutEvents',
      // Called only for an organization trail without --organization-id: the template gives it (OrganizationId).
      DescribeOrganization: undefined,
    };
    const files = ['src/sources/s3.ts', 'src/sources/cloudtrail.ts', 'src/scale/store.ts', ...readdirSync(join(ROOT, 'src', 'watch')).filter((f) => f.endsWith('.ts')).map((f) => `src/watch/${f}`)];
    const commands = new Set(files.flatMap((f) => [...readFileSync(join(ROOT, f), 'utf8').matchAll(/new (?:\w+\.)?(\w+)Command\(/g)].map((m) => m[1]!)));
    expect([...commands]).toEqual(expect.arrayContaining(['ListObjectsV2', 'GetObject', 'PutObject', 'ListPublicKeys', 'DescribeTrails', 'GetTrailStatus']));
    const granted = new Set(grants(resolve(template(), EVERYTHING)).map((g) => g.split(' ')[0]));
    for (const c of commands) {
      expect(Object.keys(ACTION), `${c}: which IAM action does it need? Add it to this table and grant it in the template`).toContain(c);
      if (ACTION[c]) expect(granted, `${c} needs ${ACTION[c]}`).toContain(ACTION[c]);
    }
  });

  it('the policy docs/watch-deploy.md gives for the CronJob and the systemd units is the role of the template, less what only a function needs', () => {
    const page = readFileSync(join(ROOT, 'docs', 'watch-deploy.md'), 'utf8');
    const blocks = [...page.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((m) => JSON.parse(m[1]!) as { Statement: Statement[] });
    expect(blocks).toHaveLength(1);
    const documented = blocks[0]!.Statement.flatMap((st) => list(st.Action).flatMap((a) => list(st.Resource).map((r) => `${a} on ${r}${st.Condition ? ` if ${JSON.stringify(st.Condition)}` : ''}`))).sort();
    const fromTemplate = grants(resolve(template(), { ...REQUIRED, TrailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/TRAIL', AlertTopicArn: 'arn:aws:sns:us-east-1:111122223333:cloudtrail-alerts' }))
      .filter((g) => !/^(logs|sqs):/.test(g))
      .map((g) => g.replace(':::trail-bucket', ':::TRAIL-BUCKET').replace(':::watch-state', ':::STATE-BUCKET'))
      .sort();
    expect(documented).toEqual(fromTemplate);
  });

  const cfnLint = requireTool('cfn-lint', spawnSync('cfn-lint', ['--version']).status === 0 ? undefined : 'no cfn-lint on PATH', 'pip install cfn-lint');
  it.skipIf(cfnLint.skip)('passes cfn-lint, and the SAM transform adds no role or policy of its own', () => {
    cfnLint.check();
    const lint = spawnSync('cfn-lint', [TEMPLATE], { encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
    // The SAM translator cfn-lint ships, as CloudFormation runs it (CodeUri as `aws cloudformation package` leaves it).
    const script = `
import json, sys
from cfnlint.decode import decode
from samtranslator.translator.transform import transform
t, errors = decode(sys.argv[1])
t = json.loads(json.dumps(t, default=str))
t['Resources']['Function']['Properties']['CodeUri'] = 's3://artifacts/function.zip'
class Policies:
    def load(self): return {}
out = transform(t, {}, Policies())
print(json.dumps({k: {'Type': v['Type'], 'Properties': v.get('Properties', {})} for k, v in out['Resources'].items()}))
`;
    const sam = spawnSync('python3', ['-c', script, TEMPLATE], { encoding: 'utf8', env: { ...process.env, AWS_DEFAULT_REGION: 'us-east-1' } });
    expect(sam.stderr).toBe('');
    const resources = JSON.parse(sam.stdout) as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    expect(Object.fromEntries(Object.entries(resources).map(([k, v]) => [k, v.Type]))).toEqual({
      LogGroup: 'AWS::Logs::LogGroup',
      DeadLetterQueue: 'AWS::SQS::Queue',
      DigestQueue: 'AWS::SQS::Queue',
      DigestQueuePolicy: 'AWS::SQS::QueuePolicy',
      Role: 'AWS::IAM::Role',
      Function: 'AWS::Lambda::Function',
      FunctionEventInvokeConfig: 'AWS::Lambda::EventInvokeConfig',
      FunctionDigests: 'AWS::Lambda::EventSourceMapping',
      FunctionSchedule: 'AWS::Events::Rule',
      FunctionSchedulePermission: 'AWS::Lambda::Permission',
      FailingAlarm: 'AWS::CloudWatch::Alarm',
      SilentAlarm: 'AWS::CloudWatch::Alarm',
      DeadLetterAlarm: 'AWS::CloudWatch::Alarm',
    });
    expect(resources.FunctionDigests!.Properties).toMatchObject({ FunctionResponseTypes: ['ReportBatchItemFailures'], BatchSize: 100 });
    expect(resources.FunctionEventInvokeConfig!.Properties).toMatchObject({ MaximumRetryAttempts: 0 });
    expect(resources.Function!.Properties).toMatchObject({ Runtime: 'nodejs24.x', ReservedConcurrentExecutions: 1, Role: { 'Fn::GetAtt': ['Role', 'Arn'] } });
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes and systemd.

describe('deploy/kubernetes/watch-cronjob.yaml', () => {
  it('a CronJob every 5 minutes, never two at once, runs watch --once with its state in S3, as a non-root user on a read-only root', () => {
    const job = parseYaml(readFileSync(join(ROOT, 'deploy', 'kubernetes', 'watch-cronjob.yaml'), 'utf8')) as {
      apiVersion: string;
      kind: string;
      spec: {
        schedule: string;
        concurrencyPolicy: string;
        jobTemplate: { spec: { backoffLimit: number; template: { spec: { restartPolicy: string; securityContext: Record<string, unknown>; containers: Array<Record<string, unknown> & { args: string[] }> } } } };
      };
    };
    expect([job.apiVersion, job.kind, job.spec.schedule, job.spec.concurrencyPolicy]).toEqual(['batch/v1', 'CronJob', '*/5 * * * *', 'Forbid']);
    const pod = job.spec.jobTemplate.spec.template.spec;
    expect(job.spec.jobTemplate.spec.backoffLimit).toBe(0); // the next schedule is the retry
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0]!;
    expect(c.args.slice(0, 2)).toEqual(['watch', '--once']);
    expect(c.args[c.args.indexOf('--state') + 1]).toMatch(/^s3:\/\/[^/]+\/.+\/$/);
    expect(c.args).not.toContain('--interval');
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(c.resources).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } });
    // The image deploy/Dockerfile builds runs as "node" (uid 1000 in the node images) with the command as its entry point.
    const dockerfile = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["validate-logs"\]$/m);
  });
});

/** A systemd unit file: each section's settings, a repeated setting keeping every value. */
function unit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section: Record<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = out[head[1]!] = {};
      continue;
    }
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!m || !section) throw new Error(`not a unit file line: ${line}`);
    (section[m[1]!] ??= []).push(m[2]!);
  }
  return out;
}

describe('deploy/systemd', () => {
  const dir = join(ROOT, 'deploy', 'systemd');
  const read = (name: string) => unit(readFileSync(join(dir, name), 'utf8'));
  const HARDENING = {
    DynamicUser: ['yes'],
    StateDirectory: ['validate-logs-watch'],
    ProtectSystem: ['strict'],
    ProtectHome: ['yes'],
    PrivateTmp: ['yes'],
    PrivateDevices: ['yes'],
    NoNewPrivileges: ['yes'],
    CapabilityBoundingSet: [''],
    RestrictAddressFamilies: ['AF_INET AF_INET6 AF_UNIX'],
    UMask: ['0077'],
  };

  it('the timer starts a oneshot watch --once every 5 minutes, its state in the state directory unless the environment file says s3://', () => {
    const service = read('validate-logs-watch.service');
    const timer = read('validate-logs-watch.timer');
    // The state directory's real path: /var/lib/validate-logs-watch is a link to it (DynamicUser), and the watch never follows a link into its state folder.
    expect(service.Service).toMatchObject({ Type: ['oneshot'], ...HARDENING, Environment: ['WATCH_STATE=%S/private/validate-logs-watch'], EnvironmentFile: ['/etc/validate-logs/watch.env'] });
    expect(service.Service!.ExecStart).toEqual(['validate-logs watch --once --state ${WATCH_STATE} $WATCH_ARGS']);
    expect(service.Service!.MemoryDenyWriteExecute).toBeUndefined(); // V8 writes machine code
    expect(timer.Timer).toMatchObject({ OnCalendar: ['*:0/5'], Unit: ['validate-logs-watch.service'] });
    expect(timer.Install).toEqual({ WantedBy: ['timers.target'] });
  });

  it('the long-running alternative: watch --interval 5m, restarted on failure, stopped by SIGTERM, hardened the same way', () => {
    const daemon = read('validate-logs-watch-daemon.service');
    expect(daemon.Service).toMatchObject({ ...HARDENING, Environment: ['WATCH_STATE=%S/private/validate-logs-watch'], Restart: ['on-failure'], KillSignal: ['SIGTERM'] });
    expect(daemon.Service!.ExecStart).toEqual(['validate-logs watch --interval 5m --metrics-port 9464 --state ${WATCH_STATE} $WATCH_ARGS']);
    expect(daemon.Unit!.Conflicts).toEqual(['validate-logs-watch.timer validate-logs-watch.service']);
  });

  const analyze = requireTool('systemd-analyze', spawnSync('systemd-analyze', ['--version']).status === 0 ? undefined : 'no systemd-analyze on PATH', 'apt-get install systemd (Debian): only its systemd-analyze is used');
  it.skipIf(analyze.skip)('systemd-analyze verify finds nothing wrong, and rates their exposure "OK" (below 2)', () => {
    analyze.check();
    // verify checks that the command exists: the units name it as systemd finds it (/usr/local/bin,
    // /usr/bin), so a copy names a stand-in that does.
    const work = mkdtempSync(join(tmpdir(), 'vl-systemd-'));
    try {
      const program = join(work, 'validate-logs');
      writeFileSync(program, '#!/bin/sh\nexit 0\n');
      chmodSync(program, 0o755);
      const names = readdirSync(dir).sort();
      expect(names).toEqual(['validate-logs-watch-daemon.service', 'validate-logs-watch.service', 'validate-logs-watch.timer']);
      for (const n of names) writeFileSync(join(work, n), readFileSync(join(dir, n), 'utf8').replace(/^ExecStart=validate-logs /m, `ExecStart=${program} `));
      const verify = spawnSync('systemd-analyze', ['verify', '--man=no', ...names.map((n) => join(work, n))], { encoding: 'utf8', cwd: work });
      expect(verify.stderr + verify.stdout).toBe('');
      expect(verify.status).toBe(0);
      for (const n of names.filter((x) => x.endsWith('.service'))) {
        const security = spawnSync('systemd-analyze', ['security', '--offline=yes', join(work, n)], { encoding: 'utf8', cwd: work });
        const level = /Overall exposure level for \S+: (\d+\.\d+) (\w+)/.exec(security.stdout);
        expect(level, security.stdout + security.stderr).not.toBeNull();
        expect([Number(level![1]) < 2, level![2]], `${n}: ${level![0]}`).toEqual([true, 'OK']);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
