// `validate-logs watch` as a user runs it: the built CLI in a child process, a trail delivered
// hour by hour (log files first, then the digest that lists them) into a local folder or into
// s3rver, alerts to a webhook receiver on loopback and to a command, the state in a folder or in
// S3 behind a proxy that gives s3rver S3's conditional writes. Nothing leaves 127.0.0.1.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestKey } from '../src/format/keys.js';
import type { HistoryAnswer } from '../src/watch/history.js';
import { openStateStore } from '../src/watch/store.js';
import type { Alert, PassRecord, WatchState } from '../src/watch/types.js';
import { putObject, startS3, type S3Server } from './helpers/aws.js';
import { startAwsRecorder, type PutEvents, type SnsPublish } from './helpers/aws-recorder.js';
import { startProxy } from './helpers/proxy.js';
import { writeHourlyChain } from './helpers/chains.js';
import { VALIDATE, run, type Run } from './helpers/cli.js';
import { PublicKeySet, createSigner, logKey } from './helpers/lib.js';
import { startConditionalS3, type ConditionalS3 } from './helpers/s3-conditional.js';
import { ROOT } from './helpers/tamper.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const BUCKET = 'watched-bucket';
const STATE_BUCKET = 'watch-state';
const ACCOUNT = '111122223333';
const TRAIL = 'watched';
const ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/${TRAIL}`;
const HOUR = 3_600_000;
const HOURS = 8;
const trail = { accountId: ACCOUNT, region: 'us-east-1', homeRegion: 'us-east-1', trailName: TRAIL };
/** A Prometheus text-format parser (an independent implementation: what a scraper reads). */
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Array<{ name: string; metrics: Array<{ value?: string; labels?: Record<string, string> }> }>;
const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
/** The trail's hours end on the hour before now: its newest digest is less than an hour old. */
const T0 = Math.floor(Date.now() / HOUR) * HOUR - HOURS * HOUR;
const hour = (h: number): Date => new Date(T0 + h * HOUR);
/** The hours whose log is tampered in the full chain. */
const TAMPERED = [5];

let work: string;
let full: string;
let keysFile: string;
let s3: S3Server;
let conditional: ConditionalS3;
let hook: WebhookReceiver;
let n = 0;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'watch-cli-'));
  full = join(work, 'full');
  keysFile = join(work, 'keys.json');
  writeFileSync(keysFile, JSON.stringify(new PublicKeySet([signer.publicKey]).toListPublicKeys()));
  await writeHourlyChain(full, { bucket: BUCKET, trail, t0: T0, hours: HOURS, signer });
  for (const h of TAMPERED) writeFileSync(join(full, logOf(h)), gzipSync('{"Records":[{"tampered":true}]}'));
  [s3, hook] = await Promise.all([startS3([BUCKET, STATE_BUCKET]), startWebhookReceiver()]);
  conditional = await startConditionalS3(s3.url);
}, 60_000);

afterAll(async () => {
  await Promise.all([conditional?.close(), hook?.close()]);
  await s3?.close();
  rmSync(work, { recursive: true, force: true });
});

const logOf = (h: number): string => logKey(trail, hour(h + 0.5), `L${String(h).padStart(15, '0')}`);

/** The files of hour h as CloudTrail delivers them: the log first, then the digest that lists it (its signature beside it). */
function hourFiles(h: number): string[] {
  const digest = digestKey(trail, hour(h + 1));
  return [logOf(h), `${digest}.metadata.json`, digest];
}

/** Deliver hours [from, to) into a local copy. */
function deliverLocal(dir: string, from: number, to: number): void {
  for (let h = from; h < to; h++) {
    for (const key of hourFiles(h)) {
      mkdirSync(dirname(join(dir, key)), { recursive: true });
      copyFileSync(join(full, key), join(dir, key));
    }
  }
}

/** Deliver hours [from, to) into s3rver (the signature as the digest's user metadata). */
async function deliverS3(from: number, to: number): Promise<void> {
  for (let h = from; h < to; h++) {
    const [log, meta, digest] = hourFiles(h) as [string, string, string];
    await putObject(s3.url, BUCKET, log, readFileSync(join(full, log)), {});
    await putObject(s3.url, BUCKET, digest, readFileSync(join(full, digest)), JSON.parse(readFileSync(join(full, meta), 'utf8')) as Record<string, string>);
  }
}

/** A fresh folder for one test. */
function fresh(): string {
  const dir = join(work, `t${++n}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The trail's flags (a local copy); --overdue is long enough that the oldest hours delivered are not silence. */
const localArgs = (dir: string, overdue = '12h'): string[] => ['watch', '--overdue', overdue, '--trail-arn', ARN, '--local-dir', join(dir, 'bucket'), '--s3-bucket', BUCKET, '--public-keys', keysFile, '--start-time', hour(0).toISOString(), '--threads', '0'];
const s3Args = (endpoint: string): string[] => ['watch', '--overdue', '12h', '--trail-arn', ARN, '--s3-bucket', BUCKET, '--endpoint-url', endpoint, '--public-keys', keysFile, '--start-time', hour(0).toISOString(), '--threads', '0'];
const AWS_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };

/** One `--once` pass. */
const once = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> => run(process.execPath, [VALIDATE, ...args, '--once'], { ...AWS_ENV, ...env }, ROOT, 60_000);

/** A watcher running in the background. */
interface Watcher {
  child: ChildProcess;
  stderr: () => string;
  /** Wait until stderr matches (the n-th match with `times`). */
  waitFor: (re: RegExp, timeoutMs?: number, times?: number) => Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function startWatcher(args: string[], env: NodeJS.ProcessEnv = {}): Watcher {
  const child = spawn(process.execPath, [VALIDATE, ...args], { cwd: ROOT, env: { ...process.env, ...AWS_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  const waitFor = async (re: RegExp, timeoutMs = 20_000, times = 1): Promise<void> => {
    const until = Date.now() + timeoutMs;
    const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
    while ((err.match(g)?.length ?? 0) < times) {
      if (Date.now() > until) throw new Error(`no ${re} on stderr within ${timeoutMs} ms:\n${err}`);
      if (child.exitCode !== null) throw new Error(`the watcher exited (${child.exitCode}) before ${re}:\n${err}`);
      await sleep(50);
    }
  };
  return { child, stderr: () => err, waitFor, exited };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const stateOf = (dir: string): WatchState => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as WatchState;
function historyOf(dir: string): PassRecord[] {
  const folder = join(dir, 'history');
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .sort()
    .flatMap((f) => readFileSync(join(folder, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as PassRecord);
}
const hookAlerts = (from = 0): Alert[] => hook.received.slice(from).map((r) => JSON.parse(r.body) as Alert);
const commandAlerts = (file: string): Alert[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Alert) : []);
/** An --alert-command that appends the alert (one line) to a file. */
const appendTo = (file: string): string => `cat >> '${file}'; echo >> '${file}'`;

describe('validate-logs watch, a trail delivered hour by hour into a local folder', () => {
  it('a tampering in a newly delivered hour alerts within one interval, exactly once, to the webhook and the command; SIGTERM exits 0 with the state whole', async () => {
    const dir = fresh();
    const state = join(dir, 'state');
    const alerts = join(dir, 'alerts.jsonl');
    const before = hook.received.length;
    deliverLocal(join(dir, 'bucket'), 0, 3);
    let tamperedAt = 0;
    const w = startWatcher([...localArgs(dir), '--state', state, '--interval', '1s', '--alert-webhook', `${hook.url}/hooks/secret-path-XYZ`, '--alert-command', appendTo(alerts)]);
    try {
      await w.waitFor(/pass 1: 3 new digests and 3 logs verified/);
      for (let h = 3; h < HOURS; h++) {
        deliverLocal(join(dir, 'bucket'), h, h + 1);
        const delivered = Date.now();
        if (h === 5) tamperedAt = delivered;
        await w.waitFor(/pass \d+: 1 new digest and /, 10_000, h - 2);
        if (h === 5) expect(hookAlerts(before)).toHaveLength(1); // sent by the pass that verified the hour
      }
      await w.waitFor(/pass \d+: 0 new digests/, 10_000, 3);
      const sent = hookAlerts(before);
      expect(sent.map((a) => `${a.type} ${a.code} ${a.object}`)).toEqual([`finding LOG_HASH_MISMATCH s3://${BUCKET}/${logOf(5)}`]);
      expect(commandAlerts(alerts).map((a) => a.id)).toEqual([sent[0]!.id]);
      expect(hook.received.at(-1)!.path).toBe('/hooks/secret-path-XYZ');
      expect(w.stderr()).not.toContain('secret-path-XYZ');
      expect(readFileSync(join(state, 'state.json'), 'utf8')).not.toContain('secret-path-XYZ');
      // SIGTERM between passes or mid-pass: exit 0 within a few seconds, the state whole.
      const t = Date.now();
      w.child.kill('SIGTERM');
      const end = await w.exited;
      expect(end.code).toBe(0);
      expect(end.at - t).toBeLessThan(5000);
    } finally {
      w.child.kill('SIGKILL');
    }
    const s = stateOf(state);
    expect(s.outbox).toEqual([]);
    expect(s.sent).toHaveLength(1);
    // Every delivered hour's digest is in the history, verified once.
    const verified = historyOf(state).flatMap((r) => r.chains.flatMap((c) => c.verified.map((d) => d.end)));
    expect(verified).toEqual(Array.from({ length: HOURS }, (_, h) => hour(h + 1).toISOString().replace('.000Z', 'Z')));
    expect(historyOf(state).map((r) => r.pass)).toEqual(Array.from({ length: s.passes }, (_, i) => i + 1));
    // Within one interval: the pass that alerted began no later than the first pass begun after the tampered hour arrived.
    const firstAfter = historyOf(state).find((r) => Date.parse(r.startedAt) >= tamperedAt)!;
    const alerting = historyOf(state).find((r) => r.alerts.includes(s.sent[0]!.id))!;
    expect(alerting.pass).toBeLessThanOrEqual(firstAfter.pass);
    expect(Date.parse(firstAfter.startedAt) - tamperedAt).toBeLessThanOrEqual(1500);
    // validate-logs history agrees with the passes run: each hour verified by the pass that verified its digest.
    const asked = await run(process.execPath, [VALIDATE, 'history', '--state', state, '--from', hour(0).toISOString(), '--output', 'json'], {}, ROOT, 60_000);
    expect(asked.status, asked.stderr).toBe(1); // a pass found the tampering
    const answer = JSON.parse(asked.stdout) as HistoryAnswer;
    expect(answer.summary.passes).toBe(s.passes);
    expect(answer.summary.passesWithFindings).toBe(historyOf(state).filter((r) => r.status !== 'valid').length);
    const byEnd = new Map(historyOf(state).flatMap((r) => r.chains.flatMap((c) => c.verified.map((d) => [d.end, r.pass] as const))));
    const chain = answer.chains.find((c) => c.region === 'us-east-1')!;
    for (let h = 0; h < HOURS; h++) {
      const covered = chain.hours.find((x) => Date.parse(x.hour) === hour(h).getTime())!;
      expect(covered, `hour ${h}`).toMatchObject({ status: 'verified', pass: byEnd.get(hour(h + 1).toISOString().replace('.000Z', 'Z')) });
    }
  }, 120_000);

  it('--regions all: a region that begins to deliver while the watcher runs is watched from its next pass', async () => {
    const dir = fresh();
    deliverLocal(join(dir, 'bucket'), 0, 2);
    const w = startWatcher([...localArgs(dir), '--regions', 'all', '--state', join(dir, 'state'), '--interval', '1s']);
    try {
      await w.waitFor(/pass 1: 2 new digests and 2 logs verified in 1 chain;/);
      await writeHourlyChain(join(dir, 'bucket'), { bucket: BUCKET, trail: { ...trail, region: 'eu-west-1' }, t0: T0, hours: 3, signer });
      await w.waitFor(/pass \d+: 3 new digests and 3 logs verified in 2 chains;/);
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
    } finally {
      w.child.kill('SIGKILL');
    }
    expect(Object.keys(stateOf(join(dir, 'state')).chains).sort()).toEqual(['eu-west-1', 'us-east-1']);
  }, 60_000);

  it('kill -9 at random moments, then a restart: no digest skipped, no alert lost, a repeat only of an alert a receiver acknowledged before the state recorded it', async () => {
    const dir = fresh();
    const state = join(dir, 'state');
    const before = hook.received.length;
    const killedAt: number[] = [];
    let delivered = 0;
    const args = [...localArgs(dir), '--state', state, '--interval', '1s', '--alert-webhook', hook.url];
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    while (delivered < HOURS) {
      const w = startWatcher(args);
      deliverLocal(join(dir, 'bucket'), delivered, delivered + 1);
      delivered++;
      await sleep(200 + random() * 1500);
      w.child.kill('SIGKILL');
      killedAt.push((await w.exited).at);
    }
    // A last watcher runs until everything is verified and delivered.
    const w = startWatcher(args);
    await w.waitFor(/pass \d+: 0 new digests and 0 logs verified in 1 chain, something INVALID; no new alert$/m, 30_000);
    w.child.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
    const verified = new Set(historyOf(state).flatMap((r) => r.chains.flatMap((c) => c.verified.map((d) => d.end))));
    expect([...verified].sort()).toEqual(Array.from({ length: HOURS }, (_, h) => hour(h + 1).toISOString().replace('.000Z', 'Z')));
    const s = stateOf(state);
    expect(s.outbox).toEqual([]);
    const got = hookAlerts(before);
    const ids = new Set(got.map((a) => a.id));
    // No alert lost: the tampering, alerted; every alert the state says it sent was received.
    expect(got.some((a) => a.code === 'LOG_HASH_MISMATCH' && a.object.endsWith(logOf(5)))).toBe(true);
    for (const sent of s.sent) expect(ids.has(sent.id)).toBe(true);
    // A repeat only with the same id, and only across a kill: between two receipts of one alert,
    // the watcher that sent the first was killed before it recorded the acknowledgement.
    for (const a of got) expect(s.sent.filter((x) => x.id === a.id)).toHaveLength(1);
    const receipts = hook.received.slice(before).map((r) => ({ id: (JSON.parse(r.body) as Alert).id, at: r.at }));
    for (const id of ids) {
      const times = receipts.filter((r) => r.id === id).map((r) => r.at);
      for (let i = 1; i < times.length; i++) expect(killedAt.some((k) => k >= times[i - 1]! && k <= times[i]!), `alert ${id} repeated without a kill between`).toBe(true);
    }
    expect(receipts.length - ids.size).toBeLessThanOrEqual(killedAt.length);
  }, 180_000);
});

describe('validate-logs watch, stopped while delivering', () => {
  it('SIGTERM while a webhook hangs: the delivery is given a few seconds, exit 0, and the alert stays in the outbox for the next start', async () => {
    const dir = fresh();
    const state = join(dir, 'state');
    deliverLocal(join(dir, 'bucket'), 0, 5);
    expect((await once([...localArgs(dir), '--state', state])).status).toBe(0);
    deliverLocal(join(dir, 'bucket'), 5, 6); // hour 5's log is tampered
    const before = hook.received.length;
    hook.script({ kind: 'hang' });
    const w = startWatcher([...localArgs(dir), '--state', state, '--interval', '1s', '--alert-webhook', hook.url]);
    while (hook.received.length === before) await sleep(20); // the alert is being delivered
    const t = Date.now();
    w.child.kill('SIGTERM');
    const end = await w.exited;
    expect(end.code).toBe(0);
    expect(end.at - t).toBeLessThan(6000);
    expect(stateOf(state).outbox.map((p) => p.alert.code)).toEqual(['LOG_HASH_MISMATCH']);
    const again = await once([...localArgs(dir), '--state', state, '--alert-webhook', hook.url]);
    expect(again.status).toBe(1);
    expect(stateOf(state).outbox).toEqual([]);
    const got = hookAlerts(before);
    expect(got).toHaveLength(2); // the hung request, and the delivery confirmed: the same alert
    expect(got[1]!.id).toBe(got[0]!.id);
  }, 60_000);
});

describe('validate-logs watch --once', () => {
  it('silence longer than --overdue: one overdue; digests again: recovered', async () => {
    const dir = fresh();
    const state = join(dir, 'state');
    const alerts = join(dir, 'alerts.jsonl');
    const args = [...localArgs(dir, '150m'), '--state', state, '--alert-command', appendTo(alerts)];
    deliverLocal(join(dir, 'bucket'), 0, 4); // the newest digest ended 4 hours ago
    const r1 = await once(args);
    expect(r1.stderr).toContain('pass 1: 4 new digests and 4 logs verified in 1 chain; 1 new alert');
    expect(r1.status).toBe(0);
    expect((await once(args)).stderr).toContain('no new alert');
    deliverLocal(join(dir, 'bucket'), 4, 5); // still 3 hours old: still overdue, nothing said
    expect((await once(args)).stderr).toContain('1 new digest and 1 log verified in 1 chain; no new alert');
    deliverLocal(join(dir, 'bucket'), 5, 7); // less than 2 hours old (hour 5's log is tampered)
    const back = await once(args);
    expect(back.status).toBe(1);
    const got = commandAlerts(alerts);
    expect(got.map((a) => `${a.type} ${a.code}`)).toEqual(['overdue CHAIN_OVERDUE', 'finding LOG_HASH_MISMATCH', 'recovered CHAIN_RECOVERED']);
    expect(got[0]!.newestDigestEnd).toBe(hour(4).toISOString().replace('.000Z', 'Z'));
    expect(got[2]!.recovers).toBe(got[0]!.id);
  }, 120_000);

  it('alerts to SNS and EventBridge through the SDK (a loopback endpoint records them), and --emf prints one metric line a chain', async () => {
    const dir = fresh();
    deliverLocal(join(dir, 'bucket'), 0, 6); // hour 5's log is tampered
    const aws = await startAwsRecorder();
    try {
      const topic = `arn:aws:sns:us-east-1:${ACCOUNT}:integrity`;
      const r = await once([...localArgs(dir), '--state', join(dir, 'state'), '--alert-sns', topic, '--alert-eventbridge', 'integrity-bus', '--emf'], { AWS_ENDPOINT_URL_SNS: aws.url, AWS_ENDPOINT_URL_EVENTBRIDGE: aws.url });
      expect(r.status, r.stderr).toBe(1);
      const sns = aws.requests.filter((q): q is SnsPublish => q.service === 'sns');
      const events = aws.requests.filter((q): q is PutEvents => q.service === 'events');
      expect(sns.map((q) => q.topicArn)).toEqual([topic]);
      expect(JSON.parse(sns[0]!.message)).toMatchObject({ type: 'finding', code: 'LOG_HASH_MISMATCH', object: `s3://${BUCKET}/${logOf(5)}`, trail: ARN });
      expect(events.flatMap((q) => q.entries.map((e) => e.EventBusName))).toEqual(['integrity-bus']);
      expect(JSON.parse(events[0]!.entries[0]!.Detail!)).toMatchObject({ id: JSON.parse(sns[0]!.message).id });
      const emf = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { _aws: { CloudWatchMetrics: unknown[] }; region?: string });
      expect(emf).toHaveLength(1);
      expect(emf[0]!._aws.CloudWatchMetrics.length).toBeGreaterThan(0);
    } finally {
      await aws.close();
    }
  }, 60_000);

  it('refuses the flags of a run that make no sense for a watcher, a state of another trail, and a missing --state', async () => {
    const dir = fresh();
    const state = join(dir, 'state');
    deliverLocal(join(dir, 'bucket'), 0, 1);
    for (const [flag, value, why] of [
      ['--end-time', '2025-01-01', 'a pass always verifies up to now'],
      ['--output', 'json', 'history'],
      ['--save-to', dir, 'evidence'],
      ['--checkpoint', 'x.note', 'the state holds the checkpoint'],
      ['--checkpoint-out', 'x.note', 'checkpoint.note'],
    ] as const) {
      const r = await once([...localArgs(dir), '--state', state, flag, value]);
      expect(r.status, flag).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^validate-logs watch: error: ${flag} is not for a watcher: .*${why}`, 'm'));
    }
    // A FIFO as the checkpoint key, a link planted as the state document: refused, nothing read through them.
    execFileSync('mkfifo', [join(dir, 'key.fifo')]);
    const fifo = await once([...localArgs(dir), '--state', state, '--checkpoint-key', join(dir, 'key.fifo')]);
    expect(fifo.status).toBe(2);
    expect(fifo.stderr).toMatch(/--checkpoint-key .*key\.fifo/);
    mkdirSync(join(dir, 'planted'));
    writeFileSync(join(dir, 'elsewhere.json'), '{}');
    symlinkSync(join(dir, 'elsewhere.json'), join(dir, 'planted', 'state.json'));
    const planted = await once([...localArgs(dir), '--state', join(dir, 'planted')]);
    expect(planted.status).toBe(2);
    expect(planted.stderr).toContain('state.json');
    expect(readFileSync(join(dir, 'elsewhere.json'), 'utf8')).toBe('{}');
    const help = await once([...localArgs(dir), '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: validate-logs watch --trail-arn ARN --state/);
    for (const flag of ['--state', '--interval', '--once', '--start-time', '--overdue', '--error-after', '--alert-webhook', '--alert-command', '--alert-sns', '--alert-eventbridge', '--metrics-port', '--emf', '--checkpoint-key', '--checkpoint-name']) {
      expect(help.stdout, flag).toContain(`  ${flag}`);
    }
    for (const flag of ['--local-dir DIR', '--regions LIST|all', '--public-keys FILE', '--tail-grace DURATION']) expect(help.stdout, flag).toContain(flag);
    expect(Math.max(...help.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
    const busy = await startWebhookReceiver(); // a port already taken
    const taken = await once([...localArgs(dir), '--state', state, '--metrics-port', new URL(busy.url).port]);
    await busy.close();
    expect(taken.status).toBe(2);
    expect(taken.stderr).toContain('cannot listen on 127.0.0.1 (EADDRINUSE)');
    const missing = await once(localArgs(dir));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--state is required');
    expect((await once([...localArgs(dir), '--state', state])).status).toBe(0);
    const other = await once([...localArgs(dir).map((a) => (a === ARN ? `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/other` : a)), '--state', state]);
    expect(other.status).toBe(2);
    expect(other.stderr).toContain(`belongs to trail ${ARN}`);
    expect(other.stderr).toContain('(trailArn differs)');
    // A state put back from an older copy: refused at the start, nothing written.
    const older = readFileSync(join(state, 'state.json'));
    expect((await once([...localArgs(dir), '--state', state])).status).toBe(0);
    writeFileSync(join(state, 'state.json'), older);
    const back = await once([...localArgs(dir), '--state', state]);
    expect(back.status).toBe(2);
    expect(back.stderr).toMatch(/has pass 2, the state only 1 passes: the state was put back/);
    expect(readFileSync(join(state, 'state.json')).equals(older)).toBe(true);
  }, 120_000);
});

describe('validate-logs watch on S3', () => {
  it('the trail in s3rver: S3 unreachable for several passes sends one error, then recovered', async () => {
    const dir = fresh();
    const alerts = join(dir, 'alerts.jsonl');
    const where = join(dir, 'state');
    await deliverS3(0, 3);
    const good = [...s3Args(conditional.url), '--state', where, '--error-after', '2', '--alert-command', appendTo(alerts)];
    const first = await once(good);
    expect(first.stderr).toContain('pass 1: 3 new digests and 3 logs verified');
    expect(first.status).toBe(0);
    // The trail's endpoint closed:
    const closed = 'http://127.0.0.1:9';
    const down = [...s3Args(closed), '--state', where, '--error-after', '3', '--alert-command', appendTo(alerts), '--cli-connect-timeout', '1'];
    const runs: Run[] = [];
    // A pass that cannot list the trail; then, with --regions all, a watcher that cannot even
    // list the regions at its start: each is a failed pass all the same.
    runs.push(await once(down, { AWS_MAX_ATTEMPTS: '1' }));
    for (let i = 0; i < 2; i++) runs.push(await once([...down, '--regions', 'all'], { AWS_MAX_ATTEMPTS: '1' }));
    expect(runs.map((r) => r.status)).toEqual([2, 2, 2]);
    expect(runs[1]!.stderr).toContain('note: the trail cannot be read now');
    expect(runs[2]!.stderr).toMatch(/pass 4: the trail could not be read: .*; 1 new alert/);
    await deliverS3(3, 4);
    const back = await once(good);
    expect(back.stderr).toContain('pass 5: 1 new digest and 1 log verified');
    expect(commandAlerts(alerts).map((a) => `${a.type} ${a.code}`)).toEqual(['error WATCH_ERROR', 'recovered WATCH_RECOVERED']);
    expect(commandAlerts(alerts)[0]!.failures).toBe(3);
  }, 180_000);

  it('two watchers on one S3 state: the loser exits 2 saying so, and writes nothing', async () => {
    await deliverS3(0, 3);
    const where = `s3://${STATE_BUCKET}/race/`;
    const args = [...s3Args(conditional.url), '--state', where];
    expect((await once(args)).status).toBe(0);
    conditional.holdMs = 1500;
    try {
      const [a, b] = await Promise.all([once(args), once(args)]);
      const statuses = [a.status, b.status].sort();
      expect(statuses).toEqual([0, 2]);
      const loser = a.status === 2 ? a : b;
      expect(loser.stderr).toContain(`validate-logs watch: error: another watcher wrote the state at ${where} first; nothing was written`);
    } finally {
      conditional.holdMs = 0;
    }
    expect(conditional.puts.some((p) => p.status === 412)).toBe(true);
    // One pass 2 in the history: the winner's.
    Object.assign(process.env, AWS_ENV);
    const store = openStateStore(where, { endpoint: conditional.url, region: 'us-east-1' });
    const passes: number[] = [];
    for await (const r of store.readHistory()) passes.push(r.pass);
    expect(passes).toEqual([1, 2]);
    expect((await store.load())!.state.passes).toBe(2);
  }, 120_000);

  it('SIGTERM in the middle of a verification: exit 0 within a few seconds, the state as the last pass left it', async () => {
    const dir = fresh();
    const state = join(dir, 'state');
    await deliverS3(0, 4);
    const slow = await startProxy(s3.url, 0);
    try {
      const args = [...s3Args(slow.url), '--state', state];
      expect((await once(args)).status).toBe(0);
      const before = readFileSync(join(state, 'state.json'));
      slow.latencyMs = 400; // each request to the trail's S3 now takes 0.4 s: a pass takes seconds
      const w = startWatcher([...args, '--interval', '1s']);
      await w.waitFor(/watching us-east-1/);
      const seen = slow.seen.length;
      while (slow.seen.length === seen) await sleep(20); // the pass is reading the trail
      const t = Date.now();
      w.child.kill('SIGTERM');
      const end = await w.exited;
      expect(end.code).toBe(0);
      expect(end.at - t).toBeLessThan(3000);
      expect(w.stderr()).not.toMatch(/pass 2:/);
      expect(readFileSync(join(state, 'state.json')).equals(before)).toBe(true);
      expect(historyOf(state).map((r) => r.pass)).toEqual([1]);
    } finally {
      await slow.close();
    }
  }, 120_000);

  it('serves /metrics between passes, in the Prometheus text format', async () => {
    const dir = fresh();
    deliverLocal(join(dir, 'bucket'), 0, 2);
    const w = startWatcher([...localArgs(dir), '--state', join(dir, 'state'), '--interval', '1s', '--metrics-port', '0']);
    try {
      await w.waitFor(/metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
      await w.waitFor(/pass 1:/);
      const port = /127\.0\.0\.1:(\d+)\/metrics/.exec(w.stderr())![1];
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const families = parsePrometheus(text);
      expect(families.length).toBeGreaterThan(3);
      const names = families.map((f) => f.name).join(' ');
      expect(names).toMatch(/digest/);
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
    } finally {
      w.child.kill('SIGKILL');
    }
  }, 60_000);
});

