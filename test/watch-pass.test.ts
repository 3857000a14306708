// One pass of `validate-logs watch`, and the loop, on a real trail in a local folder walked by
// the same region runner a run uses; the state store and the alert destinations are small
// in-memory stand-ins with real semantics; the alerts are the alert module's (test/helpers/watch-fakes.ts). What is proven: an
// alert goes out once across passes and restarts, an alert decided is never lost, silence and
// failing passes alert once and recover, a conflicting write sends nothing, a state of another
// trail or a forged checkpoint is refused, an invalid chain keeps its pin.
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makePlan, readSettings, type ValidateFlags } from '../src/cli/plan.js';
import { UsageError } from '../src/cli/io.js';
import { signCheckpoint } from '../src/checkpoint/checkpoint.js';
import { generateNoteSignerKey } from '../src/checkpoint/note.js';
import { ValidateLogsError } from '../src/errors.js';
import { digestKey } from '../src/format/keys.js';
import { MAX_ALERTS_PER_CODE, checkHistoryBehind, runPass, type PassContext, type PassSettings, type VerifyTrail } from '../src/watch/pass.js';
import { onceStatus, watchLoop } from '../src/watch/watcher.js';
import type { PassOutcome } from '../src/watch/pass.js';
import { writeHourlyChain } from './helpers/chains.js';
import { PublicKeySet, createSigner, logKey } from './helpers/lib.js';
import { ROOT } from './helpers/tamper.js';
import { MemoryStore, RecordingDestination } from './helpers/watch-fakes.js';

const BUCKET = 'watch-bucket';
const ACCOUNT = '111122223333';
const TRAIL = 'watched';
const ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/${TRAIL}`;
const T0 = Date.parse('2025-03-01T00:00:00Z');
const HOUR = 3_600_000;
const hour = (h: number): Date => new Date(T0 + h * HOUR);
const trail = { accountId: ACCOUNT, region: 'us-east-1', homeRegion: 'us-east-1', trailName: TRAIL };
const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
const scope = { trailArn: ARN, bucket: BUCKET, accountId: ACCOUNT };

let root: string;
let keysFile: string;
let clock: number;
let store: MemoryStore;
let hook: RecordingDestination;
let command: RecordingDestination;
let lines: string[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'watch-pass-'));
  keysFile = join(root, 'keys.json');
  writeFileSync(keysFile, JSON.stringify(new PublicKeySet([signer.publicKey]).toListPublicKeys()));
  clock = T0;
  store = new MemoryStore();
  hook = new RecordingDestination('webhook-1');
  command = new RecordingDestination('command-1');
  lines = [];
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Deliver the trail's first `hours` hours (the clock moves to 10 minutes after the last digest). */
async function deliver(hours: number): Promise<void> {
  await writeHourlyChain(join(root, 'bucket'), { bucket: BUCKET, trail, t0: T0, hours, signer });
  clock = hour(hours).getTime() + 10 * 60_000;
}

/** Replace the log of hour `h` with other bytes (its digest's hash no longer matches). */
function tamperLog(h: number): string {
  const key = logKey(trail, hour(h + 0.5), `L${String(h).padStart(15, '0')}`);
  writeFileSync(join(root, 'bucket', key), gzipSync('{"Records":[{"tampered":true}]}'));
  return `s3://${BUCKET}/${key}`;
}

/** The walk a watcher of this trail makes. */
async function verifier(): Promise<VerifyTrail> {
  const { regionVerifier } = await import('../src/watch/pass.js');
  const flags = { 'trail-arn': ARN, 'local-dir': join(root, 'bucket'), 's3-bucket': BUCKET, 'public-keys': [keysFile], 'start-time': hour(0).toISOString(), threads: '0' } as ValidateFlags;
  const io = { stdout: process.stdout, stderr: process.stderr, env: {}, now: () => new Date(clock) };
  const settings = readSettings(flags, (f) => String(flags[f]), io);
  const plan = await makePlan(flags, settings);
  return regionVerifier({ plan, settings, note: (n) => lines.push(`note: ${n}`) });
}

function settings(extra: Partial<PassSettings> = {}): PassSettings {
  return { scope, start: hour(0), overdueMs: 2 * HOUR, errorAfter: 3, ...extra };
}

async function context(extra: Partial<PassContext> = {}, s: Partial<PassSettings> = {}): Promise<PassContext> {
  return { store, destinations: [hook, command], verify: await verifier(), settings: settings(s), now: () => new Date(clock), say: (l) => lines.push(l), ...extra };
}

const codes = (d: RecordingDestination): string[] => d.received.map((a) => `${a.type} ${a.code}`);

describe('a pass', () => {
  it('verifies what arrived since the checkpoint, commits, records and publishes; a pass with nothing new verifies nothing again', async () => {
    await deliver(4);
    const first = await runPass(await context());
    expect(first.status).toBe('valid');
    expect(first.record!.chains[0]).toMatchObject({ region: 'us-east-1', digests: 4, logs: 4, invalid: 0, to: '2025-03-01T04:00:00Z' });
    expect(first.record!.chains[0]!.verified.map((d) => d.end)).toEqual(['2025-03-01T01:00:00Z', '2025-03-01T02:00:00Z', '2025-03-01T03:00:00Z', '2025-03-01T04:00:00Z']);
    expect(first.record!.chains[0]!.verified.every((d) => d.delivered !== undefined)).toBe(true);
    expect(first.record!.reportSha256).toMatch(/^[0-9a-f]{64}$/);
    const state = store.state();
    expect(state.passes).toBe(1);
    expect(state.checkpoint).toContain(`chain ${ARN} us-east-1 ${BUCKET} `);
    expect(store.checkpointNote).toBe(state.checkpoint);
    expect(state.ownKey).toMatch(/^PRIVATE\+KEY\+validate-logs-watch\/state\+/);
    expect(store.history.map((r) => r.pass)).toEqual([1]);
    expect(lines.some((l) => l.includes("signed by its own key"))).toBe(true);
    expect(hook.received).toEqual([]);

    clock += 5 * 60_000;
    const second = await runPass(await context());
    expect(second.status).toBe('valid');
    expect(second.record!.chains[0]).toMatchObject({ digests: 0, logs: 0, from: '2025-03-01T04:00:00Z', to: '2025-03-01T04:00:00Z' });
    expect(store.history.map((r) => r.pass)).toEqual([1, 2]);
    expect(lines.at(-1)).toMatch(/^pass 2: 0 new digests and 0 logs verified in 1 chain; no new alert$/);
  });

  it('a tampering in a new hour alerts once, to every destination; later passes and a restarted watcher do not repeat it; the invalid chain keeps its pin', async () => {
    await deliver(3);
    await runPass(await context());
    const pinned = store.state().checkpoint!.split('\n')[1];
    await deliver(6);
    const object = tamperLog(4);
    const found = await runPass(await context());
    expect(found.status).toBe('invalid');
    expect(onceStatus(found)).toBe(1);
    expect(codes(hook)).toEqual(['finding LOG_HASH_MISMATCH']);
    expect(codes(command)).toEqual(['finding LOG_HASH_MISMATCH']);
    expect(hook.received[0]).toMatchObject({ object, region: 'us-east-1', trail: ARN, account: ACCOUNT, severity: 'critical' });
    expect(hook.received[0]!.id).toBe(command.received[0]!.id);
    expect(store.state().checkpoint!.split('\n')[1]).toBe(pinned); // kept at its pin
    expect(store.state().outbox).toEqual([]);
    expect(store.state().sent.map((s) => s.id)).toEqual([hook.received[0]!.id]);

    // The next pass finds it again: no alert; nor after a restart (a new watcher on the same state).
    const again = await runPass(await context());
    expect(again.status).toBe('invalid');
    expect(again.record!.alerts).toEqual([]);
    const restarted = new RecordingDestination('webhook-1');
    await runPass(await context({ destinations: [restarted, command] }));
    expect(restarted.received).toEqual([]);
    expect(hook.received).toHaveLength(1);
    // New hours after it: counted once, still no repeat.
    await deliver(8);
    tamperLog(4);
    const later = await runPass(await context());
    expect(later.record!.chains[0]!.verified.map((d) => d.end)).toEqual(['2025-03-01T07:00:00Z', '2025-03-01T08:00:00Z']);
    expect(hook.received).toHaveLength(1);
    // Each digest counted once over the passes (the digest listing the bad log is itself valid).
    expect(store.state().chains['us-east-1']!.digests).toBe(3 + 3 + 2);
    expect(store.history.map((r) => r.chains[0]!.digests)).toEqual([3, 3, 0, 0, 2]);
  });

  it('an alert a destination cannot take stays in the outbox, and the next pass delivers it first; killed after the acknowledgement, it is sent again with the same id', async () => {
    await deliver(2);
    await runPass(await context());
    await deliver(4);
    tamperLog(3);
    hook.failing = true;
    const failed = await runPass(await context());
    expect(failed.undelivered).toBe(1);
    expect(onceStatus(failed)).toBe(2);
    expect(codes(command)).toEqual(['finding LOG_HASH_MISMATCH']);
    expect(store.state().outbox).toMatchObject([{ destinations: ['webhook-1'], attempts: 1 }]);
    expect(lines.some((l) => /not delivered to webhook-1: webhook-1 refused the alert; kept for the next pass/.test(l))).toBe(true);

    // The webhook is back, but the watcher dies right after it acknowledges: the state still has it pending.
    hook.failing = false;
    hook.afterReceive = () => {
      throw new Error('killed');
    };
    await expect(runPass(await context())).rejects.toThrow('killed');
    expect(store.state().outbox).toHaveLength(1);
    hook.afterReceive = undefined;
    const next = await runPass(await context());
    expect(next.undelivered).toBe(0);
    expect(hook.received.map((a) => a.id)).toEqual([command.received[0]!.id, command.received[0]!.id]); // the one repeat allowed: same id
    expect(command.received).toHaveLength(1);
    expect(store.state().outbox).toEqual([]);
    expect(store.state().sent.map((s) => s.type)).toEqual(['finding']);
  });

  it('silence longer than --overdue alerts once; digests again: recovered, once', async () => {
    await deliver(3);
    await runPass(await context());
    clock = hour(3).getTime() + 2 * HOUR + 60_000;
    const silent = await runPass(await context());
    expect(silent.status).toBe('valid');
    expect(codes(hook)).toEqual(['overdue CHAIN_OVERDUE']);
    expect(hook.received[0]).toMatchObject({ severity: 'critical', newestDigestEnd: '2025-03-01T03:00:00Z', object: `s3://${BUCKET}/AWSLogs/${ACCOUNT}/CloudTrail-Digest/us-east-1/` });
    clock += HOUR;
    await runPass(await context());
    expect(hook.received).toHaveLength(1);
    await deliver(7);
    await runPass(await context());
    expect(codes(hook)).toEqual(['overdue CHAIN_OVERDUE', 'recovered CHAIN_RECOVERED']);
    expect(hook.received[1]!.recovers).toBe(hook.received[0]!.id);
    await runPass(await context());
    expect(hook.received).toHaveLength(2);
    expect(store.state().chains['us-east-1']!.overdue).toBeUndefined();
  });

  it('a trail that cannot be read: one error alert at --error-after failed passes, then recovered at the first good pass', async () => {
    await deliver(2);
    await runPass(await context());
    const real = await verifier();
    let down = true;
    const flaky: VerifyTrail = (request, signal) => (down ? Promise.reject(new ValidateLogsError('SOURCE_ERROR', 'connect ECONNREFUSED 127.0.0.1:9')) : real(request, signal));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock += 60_000;
      statuses.push(onceStatus(await runPass(await context({ verify: flaky }))));
    }
    expect(statuses).toEqual([2, 2, 2, 2, 2]);
    expect(codes(hook)).toEqual(['error WATCH_ERROR']);
    expect(hook.received[0]).toMatchObject({ failures: 3, region: '', severity: 'warning' });
    expect(store.history.filter((r) => r.status === 'error')).toHaveLength(5);
    expect(store.state().failing).toMatchObject({ failures: 5 });
    down = false;
    const back = await runPass(await context({ verify: flaky }));
    expect(back.status).toBe('valid');
    expect(codes(hook)).toEqual(['error WATCH_ERROR', 'recovered WATCH_RECOVERED']);
    expect(hook.received[1]!.recovers).toBe(hook.received[0]!.id);
    expect(store.state().failing).toBeUndefined();
  });

  it('another watcher writing first: STATE_CONFLICT naming the state, nothing written, nothing sent', async () => {
    await deliver(2);
    await runPass(await context());
    await deliver(4);
    tamperLog(3);
    store.beforeSave = () => {
      store.beforeSave = undefined;
      store.version += 1; // the other watcher's write
    };
    const saves = store.saves;
    const error = await runPass(await context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidateLogsError);
    expect((error as ValidateLogsError).code).toBe('STATE_CONFLICT');
    expect((error as Error).message).toBe('another watcher wrote the state at memory://state/ first; nothing was written');
    expect(store.saves).toBe(saves);
    expect(hook.received).toEqual([]);
    expect(command.received).toEqual([]);
    expect(store.history.map((r) => r.pass)).toEqual([1]);
  });

  it('a state of another trail, bucket or prefix is refused, naming both', async () => {
    await deliver(2);
    await runPass(await context());
    const other = { ...scope, trailArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/other` };
    const e = await runPass(await context({}, { scope: other })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toContain(`belongs to trail ${ARN} in s3://${BUCKET}/`);
    expect((e as Error).message).toContain(`not trail ${other.trailArn}`);
    const prefixed = await runPass(await context({}, { scope: { ...scope, prefix: 'p' } })).catch((x: unknown) => x);
    expect((prefixed as Error).message).toContain('(prefix differs)');
  });

  it('a checkpoint in the state signed by another key is refused (STATE_INVALID); the state\'s own key opens it once when moving to --checkpoint-key', async () => {
    await deliver(2);
    await runPass(await context());
    const given = await generateNoteSignerKey('audit.example.com/watch');
    // --checkpoint-key given: the state's own key still opens the checkpoint it signed (a move to a
    // kept key), also after a pass that failed and so signed nothing.
    const failing: VerifyTrail = () => Promise.reject(new ValidateLogsError('SOURCE_ERROR', 'the bucket cannot be listed'));
    expect((await runPass(await context({ verify: failing }, { signer: given }))).status).toBe('error');
    expect(store.state().ownKey).toBeDefined();
    const moved = await runPass(await context({}, { signer: given }));
    expect(moved.status).toBe('valid');
    expect(store.state().ownKey).toBeUndefined();
    // Now signed by the given key only: a watcher with yet another key cannot open it.
    const stranger = await generateNoteSignerKey('someone.example/else');
    const e = await runPass(await context({}, { signer: stranger })).catch((x: unknown) => x);
    expect((e as ValidateLogsError).code).toBe('STATE_INVALID');
  });

  it('a flood of findings (a planted or tampered mass) sends at most 20 of a code and one count, once, and keeps the state small', async () => {
    await deliver(1);
    await runPass(await context());
    await deliver(27);
    for (let h = 1; h < 27; h++) tamperLog(h);
    const flood = await runPass(await context());
    expect(flood.status).toBe('invalid');
    const got = hook.received.map((a) => a.code);
    expect(got.filter((c) => c === 'LOG_HASH_MISMATCH')).toHaveLength(MAX_ALERTS_PER_CODE + 1);
    expect(hook.received.at(-1)!.message).toMatch(/^6 more LOG_HASH_MISMATCH findings in us-east-1 than the 20 alerted one by one/);
    expect(store.state().sent).toHaveLength(MAX_ALERTS_PER_CODE + 1);
    // The same findings again, from the same pin: nothing sent, nothing dripped out.
    await runPass(await context());
    await runPass(await context());
    expect(hook.received).toHaveLength(MAX_ALERTS_PER_CODE + 1);
  });

  it('a checkpoint in the state edited, or pinning a digest of another bucket, is refused (STATE_INVALID), even when signed by the key', async () => {
    const given = await generateNoteSignerKey('audit.example.com/watch');
    await deliver(2);
    await runPass(await context({}, { signer: given }));
    const good = store.state();
    store.doc = JSON.stringify({ ...good, checkpoint: good.checkpoint!.replace(/ [0-9a-f]{64}\n/, ` ${'0'.repeat(64)}\n`) });
    const edited = await runPass(await context({}, { signer: given })).catch((x: unknown) => x);
    expect((edited as ValidateLogsError).code).toBe('STATE_INVALID');
    const elsewhere = await signCheckpoint({ chains: [{ trailArn: ARN, region: 'us-east-1', bucket: 'another-bucket', key: digestKey(trail, hour(2)), endTime: '2025-03-01T02:00:00Z', sha256: 'a'.repeat(64) }], reportSha256: 'b'.repeat(64) }, [given]);
    store.doc = JSON.stringify({ ...good, checkpoint: elsewhere });
    const other = await runPass(await context({}, { signer: given })).catch((x: unknown) => x);
    expect((other as ValidateLogsError).code).toBe('STATE_INVALID');
    expect((other as Error).message).toContain('s3://another-bucket/');
    expect(hook.received).toEqual([]);
  });

  it('a state put back from an older copy, or begun again beside a history, is refused at the start: its passes would reuse the history\'s numbers', async () => {
    await deliver(2);
    await runPass(await context());
    const older = store.doc!;
    await runPass(await context());
    await runPass(await context());
    await expect(checkHistoryBehind(store, store.state(), new Date(clock))).resolves.toBeUndefined();
    store.doc = older; // put back
    const e = await checkHistoryBehind(store, store.state(), new Date(clock)).catch((x: unknown) => x);
    expect((e as ValidateLogsError).code).toBe('STATE_INVALID');
    expect((e as Error).message).toBe('the history at memory://state/ has pass 3, the state only 1 passes: the state was put back or begun again beside an older history; nothing was written (move the history aside to begin again)');
    const none = await checkHistoryBehind(store, { passes: 0 }, new Date(clock)).catch((x: unknown) => x);
    expect((none as ValidateLogsError).code).toBe('STATE_INVALID');
  });

  it('a rewrite of the pinned digest is CHECKPOINT_MISMATCH, a deleted tail CHECKPOINT_ROLLBACK: each alerted once', async () => {
    await deliver(3);
    await runPass(await context());
    const newest = join(root, 'bucket', digestKey(trail, hour(3)));
    const bytes = readFileSync(newest);
    unlinkSync(newest);
    clock += 60_000;
    await runPass(await context());
    expect(codes(hook)).toContain('finding CHECKPOINT_ROLLBACK');
    writeFileSync(newest, gzipSync('{"forged":true}'));
    await runPass(await context());
    expect(codes(hook)).toContain('finding CHECKPOINT_MISMATCH');
    const n = hook.received.length;
    await runPass(await context());
    expect(hook.received).toHaveLength(n);
    void bytes;
  });
});

describe('the loop', () => {
  const outcome = (status: PassOutcome['status']): PassOutcome => ({ status, undelivered: 0 });

  it('runs a pass every interval from the start of the last, at once after a long one, and stops with 0', async () => {
    const starts: number[] = [];
    const stop = new AbortController();
    const t0 = Date.now();
    const durations = [10, 250, 10, 10];
    const status = await watchLoop({
      intervalMs: 100,
      once: false,
      signal: stop.signal,
      now: () => new Date(),
      say: () => undefined,
      pass: async () => {
        starts.push(Date.now() - t0);
        await new Promise((r) => setTimeout(r, durations[starts.length - 1] ?? 10));
        if (starts.length === 4) stop.abort();
        return outcome('valid');
      },
    });
    expect(status).toBe(0);
    expect(starts).toHaveLength(4);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(95);
    expect(starts[1]! - starts[0]!).toBeLessThan(400);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(245); // the long pass: the next at once
    expect(starts[2]! - starts[1]!).toBeLessThan(600);
  });

  it('--once gives 0, 1 or 2; a stop while waiting ends with 0; a conflict ends the loop', async () => {
    const base = { intervalMs: 10, now: () => new Date(), say: () => undefined };
    expect(await watchLoop({ ...base, once: true, pass: async () => outcome('valid') })).toBe(0);
    expect(await watchLoop({ ...base, once: true, pass: async () => outcome('invalid') })).toBe(1);
    expect(await watchLoop({ ...base, once: true, pass: async () => outcome('error') })).toBe(2);
    expect(await watchLoop({ ...base, once: true, pass: async () => ({ status: 'valid', undelivered: 1 }) })).toBe(2);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    const t = Date.now();
    expect(await watchLoop({ ...base, intervalMs: 60_000, once: false, signal: stop.signal, pass: async () => outcome('valid') })).toBe(0);
    expect(Date.now() - t).toBeLessThan(1000);
    const said: string[] = [];
    let n = 0;
    const conflict = watchLoop({
      ...base,
      once: false,
      say: (l) => said.push(l),
      pass: async () => {
        if (++n === 1) throw new ValidateLogsError('SOURCE_ERROR', 'the state could not be read');
        throw new ValidateLogsError('STATE_CONFLICT', 'another watcher wrote the state at X first; nothing was written');
      },
    });
    await expect(conflict).rejects.toThrow('another watcher wrote the state');
    expect(said[0]).toBe('the pass failed: the state could not be read; trying again at the next interval');
  });
});
