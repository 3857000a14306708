// Property: random sequences of write-digests runs on one bucket (logs added between runs, odd
// times at hour edges, runs with and without the key file, key rotations, runs stopped by
// SIGINT or SIGKILL at random instants) end with a chain validate-logs accepts in full, and
// every run either exits 0, is stopped (leaving nothing half-written once the next run has
// swept), or refuses a log whose times disagree, naming it, with nothing written.
// Real child processes of the built dist. fast-check prints the seed and the counterexample on
// failure; FC_SEED and FC_RUNS replay (WRITER_RUNS sets the number of sequences).
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HOUR, KEY_A, KEY_B, digestFiles, leftovers, putLog, start, validateArgs, writeArgs, type Ended } from './helpers/own-logs.js';

const T0 = new Date('2025-04-01T00:00:00Z');
const MINUTE = 60_000;

/** One run of the sequence, and the logs that arrive before it. */
interface Step {
  /** Minutes the clock moves on before the run (0: the same --until again). */
  advance: number;
  /** Logs that arrive meanwhile, each at a fraction of the interval, modified `skew` minutes after its name (at most 3: within the margin). */
  logs: Array<{ at: number; skew: number }>;
  /** A log whose times disagree: modified hours after its name, or named in an hour already written. */
  odd: 'none' | 'late' | 'old-name';
  key: 'A' | 'B';
  keyFile: boolean;
  stop: 'none' | 'SIGINT' | 'SIGKILL';
  /** When the stop lands, in ms: after the start, or, for an odd delay, after the run's first output (its first digest stored). */
  delay: number;
}

const step: fc.Arbitrary<Step> = fc.record({
  advance: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 59 }), fc.integer({ min: 60, max: 60 * 30 })),
  logs: fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), skew: fc.integer({ min: 0, max: 3 }) }), { maxLength: 4 }),
  odd: fc.constantFrom('none', 'none', 'none', 'late', 'old-name'),
  key: fc.constantFrom('A', 'B'),
  keyFile: fc.boolean(),
  stop: fc.constantFrom('none', 'none', 'SIGINT', 'SIGKILL'),
  delay: fc.integer({ min: 0, max: 900 }),
});

const runs = Number(process.env.WRITER_RUNS ?? process.env.FC_RUNS ?? 6);
const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

/**
 * Run write-digests, stopping it with `stop` `delay` ms after its start, or, for an odd delay,
 * `delay % 20` ms after its first output (so that stops land while digests are being stored,
 * not only while node starts).
 */
async function runWriter(args: string[], stop: Step['stop'], delay: number): Promise<Ended> {
  const run = start(args);
  if (stop === 'none') return run.ended;
  let timer: NodeJS.Timeout | undefined;
  const kill = (after: number): void => void (timer = setTimeout(() => run.child.kill(stop), after));
  if (delay % 2 === 0) kill(delay);
  else run.child.stdout!.once('data', () => kill(delay % 20));
  const ended = await run.ended;
  clearTimeout(timer);
  return ended;
}

/** The key list's fingerprints' count, or 0 without one. */
function keysIn(file: string): number {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { PublicKeyList: unknown[] }).PublicKeyList.length;
  } catch {
    return 0;
  }
}

/** What the runs came to, over every sequence: printed at the end, to see what was exercised. */
const seen = new Map<string, number>();
const count = (what: string): void => void seen.set(what, (seen.get(what) ?? 0) + 1);

async function sequence(steps: Step[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vl-wprop-'));
  const keyDir = mkdtempSync(join(tmpdir(), 'vl-wprop-keys-'));
  const keys = join(keyDir, 'keys.json');
  try {
    let now = T0.getTime() + 10 * MINUTE;
    let unique = 0;
    let odd: string[] = []; // planted logs whose times disagree, not yet removed
    // Keys whose current use a run has recorded in the key file (an open window). A run given
    // the file with another key may close their windows, and a closed window is never reopened
    // by a later run of another key: a key that signs again must be recorded again.
    const inFile = new Set<string>();
    /** A run given the key file with key `k` ended: 0 leaves only k's window open; a stopped one may have closed others'. */
    const keyFileRun = (k: 'A' | 'B', status: number | null): void => {
      for (const other of [...inFile]) if (other !== k) inFile.delete(other);
      if (status === 0) inFile.add(k);
    };
    let lastKey: 'A' | 'B' | undefined;
    const log: string[] = [];
    const pem = (k: 'A' | 'B'): string => (k === 'A' ? KEY_A : KEY_B);
    for (const s of steps) {
      const from = now;
      now += s.advance * MINUTE;
      for (const l of s.logs) {
        const named = Math.floor((from + l.at * (now - from)) / MINUTE) * MINUTE;
        putLog(dir, new Date(named), new Date(named + l.skew * MINUTE), ++unique);
      }
      if (s.odd === 'late') {
        odd.push(putLog(dir, new Date(now - 3 * HOUR), new Date(now - MINUTE), ++unique));
      } else if (s.odd === 'old-name' && now - T0.getTime() > 2 * HOUR) {
        odd.push(putLog(dir, new Date(T0.getTime() + 30 * MINUTE), new Date(now - 2 * MINUTE), ++unique));
      }
      // A rotation away from a key that no run recorded yet: record it first, as its owner must.
      if (lastKey && s.key !== lastKey && !inFile.has(lastKey)) {
        const r = await runWriter(writeArgs(dir, new Date(from), ['--public-keys-out', keys], pem(lastKey)), 'none', 0);
        log.push(`record key ${lastKey} until ${new Date(from).toISOString()}: ${r.status} ${r.stderr.trim()}`);
        if (r.status === 2 && odd.length > 0) {
          for (const k of odd) unlinkSync(join(dir, k));
          odd = [];
          const again = await runWriter(writeArgs(dir, new Date(from), ['--public-keys-out', keys], pem(lastKey)), 'none', 0);
          expect(again.status, again.stderr).toBe(0);
        } else expect(r.status, `${log.join('\n')}`).toBe(0);
        expect(r.stderr, log.join('\n')).not.toMatch(/warning/); // every digest so far vouched for
        keyFileRun(lastKey, 0);
      }
      const before = digestFiles(dir);
      const keysBefore = keysIn(keys);
      const r = await runWriter(writeArgs(dir, new Date(now), s.keyFile ? ['--public-keys-out', keys] : [], pem(s.key)), s.stop, s.delay);
      log.push(`${JSON.stringify(s)} until ${new Date(now).toISOString()}: status ${r.status} signal ${r.signal} ${r.stderr.trim()}`);
      const why = log.join('\n');
      count(r.status === null ? `killed by ${r.signal}` : r.status === 130 ? `stopped cleanly after storing ${/(\d+) digest/.exec(r.stderr)?.[1] === '0' ? 'none' : 'some'}` : `exit ${r.status}`);
      if (lastKey && s.key !== lastKey) count('key rotated');
      lastKey = s.key;
      if (s.keyFile) keyFileRun(s.key, r.status);
      if (r.status === null) continue; // killed (by SIGKILL, or by SIGINT before it could stop cleanly): the next run sweeps
      expect(leftovers(dir), why).toEqual([]);
      if (r.status === 0) {
        if (s.keyFile) {
          expect(readdirSync(keyDir), why).toEqual(['keys.json']); // what a killed run left beside it swept
          expect(r.stderr, why).not.toMatch(/warning/); // every digest so far vouched for
        }
        continue;
      }
      if (r.status === 130) {
        const m = /^write-digests: interrupted; (\d+) digests? stored, (the chain is whole up to \S+|no chain yet|nothing was changed) \(interrupted by SIGINT.*\n$/.exec(r.stderr);
        expect(m, why).not.toBeNull();
        const after = digestFiles(dir);
        expect(after.slice(0, before.length), why).toEqual(before);
        expect(after.length - before.length, why).toBe(Number(m![1]));
        continue;
      }
      // Refused: only for a planted log, named, with nothing written.
      expect(r.status, why).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), why).toHaveLength(1);
      expect(odd.some((k) => r.stderr.includes(k)), why).toBe(true);
      expect(r.stderr, why).toMatch(/none was written/);
      expect(digestFiles(dir), why).toEqual(before);
      expect(keysIn(keys), why).toBe(keysBefore);
      for (const k of odd) unlinkSync(join(dir, k)); // as the log's owner would
      odd = [];
    }
    for (const k of odd) unlinkSync(join(dir, k));
    // The last run, recorded in the key file and not stopped, completes the chain; validate-logs accepts all of it.
    const key = lastKey ?? 'A';
    const last = await runWriter(writeArgs(dir, new Date(now), ['--public-keys-out', keys], pem(key)), 'none', 0);
    log.push(`last run with key ${key}: ${last.status} ${last.stderr.trim()}`);
    expect(last.status, log.join('\n')).toBe(0);
    expect(last.stderr, log.join('\n')).not.toMatch(/warning/);
    expect(leftovers(dir), log.join('\n')).toEqual([]);
    expect(readdirSync(keyDir), log.join('\n')).toEqual(['keys.json']);
    // No hour has ended since the first log: no chain yet, and nothing for validate-logs to accept.
    if (digestFiles(dir).length === 0) {
      expect(last.stdout, log.join('\n')).toMatch(/^Nothing to write/m);
      count('no chain yet');
      return;
    }
    count('validated');
    const v = start(validateArgs(dir, T0, new Date(now), keys, ['--output', 'json']));
    const report = await v.ended;
    const findings = (JSON.parse(report.stdout) as { findings: Array<{ code: string; severity: string; object: string; message: string }> }).findings;
    expect(findings.filter((f) => f.severity !== 'valid'), log.join('\n')).toEqual([]); // not even a gap
    expect(report.status, `${log.join('\n')}\n${report.stderr}`).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  }
}

describe('write-digests run after run', () => {
  it('stopped, refused or not, ends with a chain validate-logs accepts in full, never a half-written one', async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 5 }), sequence), { numRuns: runs, ...seed });
    console.log(`write-digests runs: ${[...seen].map(([what, n]) => `${n} ${what}`).join(', ')}`);
  }, 240_000);
});
