// The history's answer (historyCoverage) and `validate-logs history` run as a user runs it,
// over histories a simulated watcher wrote into a real state store: hourly digests not aligned
// to the hour and delivered some minutes after their end, passes every few minutes verifying
// what was delivered since the last.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyCoverage, type HistoryAnswer } from '../src/watch/history.js';
import { openStateStore } from '../src/watch/store.js';
import type { PassRecord, VerifiedDigest } from '../src/watch/types.js';
import { startS3, type S3Server } from './helpers/aws.js';
import { startConditionalS3 } from './helpers/s3-conditional.js';
import { ROOT } from './helpers/tamper.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();

interface Sim {
  regions: string[];
  /** First pass's start. */
  start: number;
  /** Last pass's start (inclusive). */
  end: number;
  intervalMs: number;
  /** Digests start at this offset past the hour. */
  offset: number;
  /** Delivery delay after a digest's end; undefined: delivery unknown. */
  delay: number | undefined;
  /** Passes not run (the watcher was down). */
  skip?: (start: number) => boolean;
  /** Digests never verified (deleted, or invalid). */
  lost?: (region: string, start: number) => boolean;
  /** Per pass: a status other than valid. */
  status?: (pass: number) => Pick<PassRecord, 'status' | 'error'> | undefined;
}

/** The pass records a watcher would have written. */
function simulate(sim: Sim): PassRecord[] {
  const out: PassRecord[] = [];
  const done = new Map(sim.regions.map((r) => [r, sim.start - 24 * HOUR + sim.offset])); // the first pass starts a day back
  let pass = 0;
  for (let t = sim.start; t <= sim.end; t += sim.intervalMs) {
    if (sim.skip?.(t)) continue;
    pass++;
    const chains = sim.regions.map((region) => {
      const verified: VerifiedDigest[] = [];
      let s = done.get(region)!;
      // Digests delivered by now (unknown delivery: assume 15 min after the end).
      while (s + HOUR + (sim.delay ?? 15 * MIN) <= t) {
        if (!sim.lost?.(region, s)) {
          const d: VerifiedDigest = { key: `${region}/${iso(s)}.json.gz`, start: iso(s), end: iso(s + HOUR) };
          if (sim.delay !== undefined) d.delivered = iso(s + HOUR + sim.delay);
          verified.push(d);
        }
        s += HOUR;
      }
      done.set(region, s);
      const status = sim.status?.(pass);
      const invalid = status?.status === 'invalid' ? 1 : 0;
      return { region, digests: verified.length, logs: 3 * verified.length, invalid, notices: 0, byCode: invalid ? { LOG_HASH_MISMATCH: 1 } : {}, verified };
    });
    const status = sim.status?.(pass);
    out.push({
      format: 'validate-logs-watch-pass/1',
      pass,
      startedAt: iso(t),
      endedAt: iso(t + 3000),
      status: status?.status ?? 'valid',
      ...(status?.error !== undefined && { error: status.error }),
      range: { start: iso(sim.start - 24 * HOUR), end: iso(t) },
      chains,
      alerts: status?.status === 'invalid' ? ['a1b2c3d4e5f60718293a4b5c6d7e8f90'] : [],
      intervalMs: sim.intervalMs,
    });
  }
  return out;
}

async function* iterate(records: PassRecord[]): AsyncIterable<PassRecord> {
  yield* records;
}

const base: Sim = { regions: ['eu-west-1', 'us-east-1'], start: T0, end: T0 + 12 * HOUR, intervalMs: 5 * MIN, offset: 21 * MIN + 42_000, delay: 10 * MIN };

describe('historyCoverage', () => {
  it('verifies every due hour of every chain, with when and how long after delivery; the newest hours are not yet due', async () => {
    const a = await historyCoverage(iterate(simulate(base)), { from: new Date(T0), to: new Date(T0 + 12 * HOUR + 10 * MIN) });
    expect(a.chains.map((c) => c.region)).toEqual(['eu-west-1', 'us-east-1']);
    // 13 hours (00:00 .. 12:00); 12:00 and 11:00 end less than 2 h before 12:10: not yet due.
    for (const c of a.chains) {
      expect(c.hours).toHaveLength(13);
      expect(c.hours.map((h) => h.status)).toEqual([...Array(11).fill('verified'), 'not-due', 'not-due']);
      // Hour 05:00-06:00 is closed by the digest 05:21:42-06:21:42, delivered 06:31:42, verified by the pass at 06:35 (ended 06:35:03).
      const h5 = c.hours[5]!;
      expect(h5).toMatchObject({ hour: '2026-12-01T05:00:00.000Z', status: 'verified', verifiedAt: '2026-12-01T06:35:03.000Z', digest: `${c.region}/2026-12-01T05:21:42.000Z.json.gz`, latencyFrom: 'delivered' });
      expect(h5.latencyMs).toBe(3 * MIN + 21_000);
      expect(c.worstLatencyMs).toBe(3 * MIN + 21_000);
    }
    expect(a.summary).toMatchObject({ passes: 145, passesWithFindings: 0, chains: 2, hoursExpected: 22, hoursVerified: 22, hoursMissing: 0, hoursNotDue: 4, verifiedWithin: 22, shareWithin: 1, longestGapMs: 0 });
    expect(a.gaps).toEqual([]);
    expect(a.findings).toEqual([]);
  });

  it('says an hour is missing when a digest covering it was never verified, and from what a latency counts when delivery is unknown', async () => {
    const lost = (region: string, s: number): boolean => region === 'us-east-1' && s === T0 + 3 * HOUR + base.offset;
    const a = await historyCoverage(iterate(simulate({ ...base, lost, delay: undefined })), { from: new Date(T0), to: new Date(T0 + 12 * HOUR) });
    const us = a.chains.find((c) => c.region === 'us-east-1')!;
    // The lost digest 03:21:42-04:21:42 leaves 03:00 and 04:00 uncovered.
    expect(us.hours.filter((h) => h.status === 'missing').map((h) => h.hour)).toEqual(['2026-12-01T03:00:00.000Z', '2026-12-01T04:00:00.000Z']);
    expect(us.missing).toBe(2);
    const h5 = us.hours[5]!;
    expect(h5.latencyFrom).toBe('end');
    expect(h5.latencyMs).toBe(Date.parse('2026-12-01T06:40:03Z') - Date.parse('2026-12-01T06:21:42Z')); // delivery assumed +15 min; counted from the end
    expect(a.summary.hoursMissing).toBe(2);
    // Expected: the due hours, and those verified before they were due (hour 10): 11 a chain.
    expect(a.summary).toMatchObject({ hoursExpected: 22, hoursVerified: 20, verifiedWithin: 20 });
    expect(a.summary.shareWithin).toBeCloseTo(20 / 22);
  });

  it('lists the gaps in the watching: before the first pass, between passes, after the last', async () => {
    const skip = (t: number): boolean => t > T0 + 3 * HOUR && t < T0 + 4 * HOUR + 30 * MIN;
    const records = simulate({ ...base, start: T0 + 30 * MIN, end: T0 + 8 * HOUR, skip });
    const a = await historyCoverage(iterate(records), { from: new Date(T0), to: new Date(T0 + 9 * HOUR) });
    expect(a.gaps).toEqual([
      { from: '2026-12-01T00:00:00.000Z', to: '2026-12-01T00:30:00.000Z', ms: 30 * MIN, where: 'before-first', before: 1 },
      { from: '2026-12-01T03:00:03.000Z', to: '2026-12-01T04:30:00.000Z', ms: 90 * MIN - 3000, where: 'between', after: 31, before: 32 },
      { from: '2026-12-01T08:00:03.000Z', to: '2026-12-01T09:00:00.000Z', ms: 60 * MIN - 3000, where: 'after-last', after: 74 },
    ]);
    expect(a.summary.longestGapMs).toBe(90 * MIN - 3000);
    // Hours whose digests arrived during the outage were verified late, not lost: the latency says so.
    const us = a.chains[1]!;
    expect(us.hours[2]).toMatchObject({ status: 'verified', verifiedAt: '2026-12-01T04:30:03.000Z' });
    expect(us.hours[2]!.latencyMs).toBeGreaterThan(HOUR);
    // A longer interval (passes run one at a time from a scheduler every hour) is no gap.
    const hourly = await historyCoverage(iterate(simulate({ ...base, intervalMs: HOUR })), { from: new Date(T0), to: new Date(T0 + 12 * HOUR), interval: HOUR });
    expect(hourly.gaps).toEqual([]);
    // No pass at all in the period: one gap, every due hour missing.
    const none = await historyCoverage(iterate([]), { from: new Date(T0), to: new Date(T0 + 6 * HOUR) });
    expect(none.gaps).toEqual([{ from: iso(T0), to: iso(T0 + 6 * HOUR), ms: 6 * HOUR, where: 'no-passes' }]);
    expect(none.chains).toEqual([]);
  });

  it('lists the passes that found something invalid or could not read the trail', async () => {
    const status = (pass: number): Pick<PassRecord, 'status' | 'error'> | undefined =>
      pass === 20 ? { status: 'invalid' } : pass === 30 ? { status: 'error', error: 'ListObjectsV2 on s3://b/ failed: ECONNREFUSED' } : undefined;
    const a = await historyCoverage(iterate(simulate({ ...base, status })), { from: new Date(T0), to: new Date(T0 + 12 * HOUR) });
    expect(a.findings).toEqual([
      { pass: 20, startedAt: iso(T0 + 95 * MIN), endedAt: iso(T0 + 95 * MIN + 3000), status: 'invalid', invalid: 2, notices: 0, byCode: { LOG_HASH_MISMATCH: 2 }, regions: ['eu-west-1', 'us-east-1'], alerts: ['a1b2c3d4e5f60718293a4b5c6d7e8f90'] },
      { pass: 30, startedAt: iso(T0 + 145 * MIN), endedAt: iso(T0 + 145 * MIN + 3000), status: 'error', error: 'ListObjectsV2 on s3://b/ failed: ECONNREFUSED', invalid: 0, notices: 0, byCode: {}, regions: [], alerts: [] },
    ]);
    expect(a.summary.passesWithFindings).toBe(2);
  });

  it('takes the period as given: hours from the one holding "from", "to" excluded, passes ending after "to" not counted', async () => {
    const records = simulate(base);
    const a = await historyCoverage(iterate(records), { from: new Date(T0 + 2 * HOUR + 17 * MIN), to: new Date(T0 + 6 * HOUR) });
    expect(a.chains[0]!.hours.map((h) => h.hour.slice(11, 16))).toEqual(['02:00', '03:00', '04:00', '05:00']);
    // Only passes that started in the period count as passes; 05:00 is not verified and ends less than 2 h before "to".
    expect(a.summary.passes).toBe(44); // 02:20 to 05:55
    expect(a.chains[0]!.hours.map((h) => h.status)).toEqual(['verified', 'verified', 'verified', 'not-due']);
    // As of 04:36, hour 03:00 (closed by the digest delivered 04:31:42, verified at 04:35:03) is verified; as of 04:35, not yet.
    const asOf = async (ms: number): Promise<string> => (await historyCoverage(iterate(records), { from: new Date(T0), to: new Date(ms), dueAfter: 0 })).chains[0]!.hours[3]!.status;
    expect(await asOf(T0 + 4 * HOUR + 36 * MIN)).toBe('verified');
    expect(await asOf(T0 + 4 * HOUR + 35 * MIN)).toBe('missing');
    await expect(historyCoverage(iterate(records), { from: new Date(T0), to: new Date(T0) })).rejects.toThrow(RangeError);
  });
});

/** Run the built CLI as a user runs it. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/cli/validate-logs.js'), 'history', ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('validate-logs history (the built CLI)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vl-history-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function stateWith(name: string, records: PassRecord[]): Promise<string> {
    const where = join(dir, name);
    const store = openStateStore(where);
    for (const r of records) await store.appendHistory(r);
    return where;
  }

  it('answers in text and in JSON, exit 0 when every due hour was verified', async () => {
    const state = await stateWith('good', simulate(base));
    const text = await cli(['--state', state, '--to', '2026-12-01T12:10:00Z']);
    expect(text.stderr).toBe('');
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(`History of ${state} from 2026-12-01T00:00:00.000Z to 2026-12-01T12:10:00.000Z: 145 passes, 2 chains.`);
    expect(text.stdout).toContain('Verified: 22 of 22 due hours (100.0 %), 22 within 2h00m of delivery (100.0 %); 0 missing, 4 not yet due.');
    expect(text.stdout).toContain('Watch gaps: none. Passes with findings: 0.');
    expect(text.stdout).toContain('  us-east-1  2026-12-01  11/11 verified, worst latency 3m, 2 not yet due');
    const json = await cli(['--state', state, '--to', '2026-12-01T12:10:00Z', '--output', 'json']);
    expect(json.status).toBe(0);
    const answer = JSON.parse(json.stdout) as HistoryAnswer;
    expect(answer).toEqual(await historyCoverage(iterate(simulate(base)), { from: new Date(T0), to: new Date(T0 + 12 * HOUR + 10 * MIN) }));
    expect(text.stdout).toContain('No state.json beside the history: the trail is not named');
    // With the watcher's state beside it, the answer names the trail (history lines do not).
    const scope = { trailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/audited', bucket: 'trail-bucket', accountId: '111122223333' };
    await openStateStore(state).save({ format: 'validate-logs-watch-state/1', scope, start: iso(T0), passes: 145, chains: {}, sent: [], outbox: [] }, undefined);
    const named = await cli(['--state', state, '--to', '2026-12-01T12:10:00Z']);
    expect(named.stdout).toContain('Trail arn:aws:cloudtrail:us-east-1:111122223333:trail/audited, bucket trail-bucket, account 111122223333 (the state\'s scope).');
    expect((JSON.parse((await cli(['--state', state, '--to', '2026-12-01T12:10:00Z', '--output', 'json'])).stdout) as HistoryAnswer).scope).toEqual(scope);
    // A watcher killed after committing a pass's state but before appending its line: the pass is counted from the state.
    const records = simulate({ ...base, end: T0 + 12 * HOUR + 5 * MIN });
    const lastPass = records.at(-1)!;
    expect(lastPass.pass).toBe(146);
    const loaded = (await openStateStore(state).load())!;
    await openStateStore(state).save({ ...loaded.state, passes: 146, lastPass }, loaded.tag);
    const withLast = JSON.parse((await cli(['--state', state, '--to', '2026-12-01T12:10:00Z', '--output', 'json'])).stdout) as HistoryAnswer;
    expect(withLast.summary.passes).toBe(146);
    expect(withLast.summary.lastPass).toEqual({ pass: 146, startedAt: '2026-12-01T12:05:00.000Z' });
  });

  it('exit 1 with the missing hours, the watch gaps and the passes with findings listed', async () => {
    const state = await stateWith('bad', simulate({
      ...base,
      lost: (region, s) => region === 'eu-west-1' && s === T0 + 3 * HOUR + base.offset,
      skip: (t) => t > T0 + 6 * HOUR && t < T0 + 7 * HOUR,
      status: (pass) => (pass === 10 ? { status: 'invalid' } : undefined),
    }));
    const r = await cli(['--state', state, '--from', '2026-12-01T00:00:00Z', '--to', '2026-12-01T12:00:00Z']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('Hours not verified (missing):\n  eu-west-1  2026-12-01T03:00Z to 2026-12-01T05:00Z  (2 hours)');
    expect(r.stdout).toContain('Watch gaps (no pass for more than twice the interval):\n  2026-12-01T06:00:03.000Z to 2026-12-01T07:00:00.000Z  (1h00m), between passes 73 and 74');
    expect(r.stdout).toContain('Passes with findings:\n  pass 10 at 2026-12-01T00:45:00.000Z: 2 INVALID, 0 notices (LOG_HASH_MISMATCH 2) in eu-west-1, us-east-1; alerts a1b2c3d4e5f60718293a4b5c6d7e8f90');
    // --interval overrides the recorded one: at 45 min, a one-hour stretch is no gap.
    const wide = await cli(['--state', state, '--to', '2026-12-01T12:00:00Z', '--interval', '45m', '--output', 'json']);
    expect((JSON.parse(wide.stdout) as HistoryAnswer).gaps).toEqual([]);
  });

  it('exit 2 for a bad flag or a history it cannot read, naming what was wrong', async () => {
    const state = await stateWith('flags', simulate({ ...base, end: T0 + HOUR }));
    const bad = await cli(['--state', state, '--from', 'yesterday-ish']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^validate-logs history: error: .*--from/);
    expect((await cli(['--state', state, '--from', '2026-12-02', '--to', '2026-12-01'])).stderr).toContain('--from (2026-12-02T00:00:00.000Z) must be before --to (2026-12-01T00:00:00.000Z)');
    expect((await cli(['--state', state, '--interval', 'often'])).stderr).toContain('--interval must be a duration such as 2h, 90m or 45s, not "often"');
    expect((await cli(['--state', state, '--output', 'yaml'])).status).toBe(2);
    expect((await cli([])).stderr).toContain('--state is required');
    // A forged first pass decades back does not make it answer hour by hour for decades.
    const forged = await stateWith('forged', [{ ...simulate({ ...base, end: T0 })[0]!, startedAt: '1971-01-01T00:00:00Z', endedAt: '1971-01-01T00:00:01Z' }]);
    const long = await cli(['--state', forged, '--to', '2026-12-01T00:00:00Z']);
    expect(long.status).toBe(2);
    expect(long.stderr).toContain('is longer than 1830 days: give --from and --to (the first pass in the history is 1971-01-01T00:00:00.000Z)');
    const future = await cli(['--state', state, '--to', '2999-01-01']);
    expect(future.stderr).toMatch(/^validate-logs history: --to 2999-01-01 is in the future: the answer is as of now, 20\d\d-/);
    expect(future.stdout).toMatch(/^History of .* to 20\d\d-.*: 13 passes/);
    const empty = await cli(['--state', join(dir, 'nothing-here')]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('holds no pass before');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(state, 'history', '2026-12-01.jsonl'), '{"format":"validate-logs-watch-pass/1"}\n');
    const broken = await cli(['--state', state, '--from', '2026-12-01', '--to', '2026-12-02']);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/2026-12-01\.jsonl line 1 is not a pass record: the record\.pass is not a whole number/);
  });

  it('reads a state in S3 with --endpoint-url', async () => {
    let s3: S3Server | undefined;
    try {
      s3 = await startS3(['audit']);
      const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        const proxy = await startConditionalS3(s3.url); // S3's semantics for the writes
        const store = openStateStore('s3://audit/trail-a/', { endpoint: proxy.url });
        for (const r of simulate({ ...base, end: T0 + 6 * HOUR })) await store.appendHistory(r);
        await proxy.close();
      } finally {
        for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
      }
      const r = await cli(['--state', 's3://audit/trail-a/', '--endpoint-url', s3.url, '--to', '2026-12-01T06:00:00Z', '--output', 'json'], env);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect((JSON.parse(r.stdout) as HistoryAnswer).summary).toMatchObject({ passes: 72, hoursExpected: 10, hoursVerified: 10, hoursMissing: 0 }); // 00:00 to 04:00; the pass that verified 05:00 ended after --to
      expect((await cli(['--state', join(dir, 'x'), '--endpoint-url', s3.url])).stderr).toContain('--profile, --endpoint-url and --region are for a state in S3');
    } finally {
      await s3?.close();
    }
  }, 60_000);
});
