// A record keeper must never lose or fork the chain: write-digests killed at random instants,
// and two writers at once, on a local copy.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants as fsConstants, existsSync, openSync, readFileSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VALIDATE, WRITE, node, sampleArgs } from './helpers/cli.js';
import { ROOT, copySample, loadJson, setDeliveryTimes } from './helpers/tamper.js';

const DIGESTS = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08';
const pinned = loadJson<{ digests: Array<{ key: string }> }>('sample-digests.json').digests.map((d) => d.key.split('/').pop()!);

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function logsOnly(): string {
  const { dir, cleanup } = copySample();
  cleanups.push(cleanup);
  rmSync(join(dir, 'AWSLogs', '111122223333', 'CloudTrail-Digest'), { recursive: true });
  setDeliveryTimes(dir);
  return dir;
}

const writeArgs = (dir: string): string[] => [
  WRITE, '--local-dir', dir, '--s3-bucket', 'sample-bucket', '--account-id', '111122223333', '--region', 'us-east-1',
  '--trail-name', 'sample-trail', '--private-key', join(ROOT, 'vectors', 'test-key.pem'), '--until', '2025-01-08T06:00:00Z',
];

/** Every digest present is byte-identical to the sample's (the output is deterministic), with its signature beside it. */
function assertIntact(dir: string): number {
  const folder = join(dir, DIGESTS);
  if (!existsSync(folder)) return 0;
  const names = readdirSync(folder).filter((n) => n.endsWith('.json.gz'));
  for (const n of names) {
    expect(pinned).toContain(n);
    expect(readFileSync(join(folder, n)).equals(readFileSync(join(ROOT, 'sample', 'bucket', DIGESTS, n)))).toBe(true);
    expect(readFileSync(join(folder, n + '.metadata.json'), 'utf8')).toBe(readFileSync(join(ROOT, 'sample', 'bucket', DIGESTS, n + '.metadata.json'), 'utf8'));
  }
  // The chain grows oldest first: what is there is a prefix of it, never a hole.
  expect([...names].sort()).toEqual(pinned.slice(0, names.length));
  return names.length;
}

describe('write-digests killed at random instants', () => {
  it('never leaves a torn or half-linked digest, the next run completes the chain, and kills do land mid-write', async () => {
    const seed = Number(process.env.KILL_SEED ?? Date.now() % 100000);
    let x = seed || 1;
    const rand = (): number => (x = (x * 48271) % 2147483647) / 2147483647;
    // How long a whole run takes here: kills land from before it starts writing to its end.
    const t0 = Date.now();
    expect((await node(WRITE, writeArgs(logsOnly()).slice(1))).status).toBe(0);
    const full = Date.now() - t0;
    const present = new Set<number>();
    // Delays seen to kill before the first write, and after the last: the writing lies between.
    let before = 0;
    let after = full * 2;
    let midWrite = 0;
    const round = async (n: number, delay: number): Promise<void> => {
      const dir = logsOnly();
      const child = spawn(process.execPath, writeArgs(dir), { stdio: 'ignore' });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      setTimeout(() => child.kill('SIGKILL'), delay);
      await exited;
      const why = `round ${n}, killed after ${delay} ms of a ${full} ms run (KILL_SEED=${seed})`;
      let digests: number;
      try {
        digests = assertIntact(dir);
      } catch (e) {
        throw new Error(`${why}: ${(e as Error).message}`);
      }
      present.add(digests);
      // What the kill interrupted, as found on disk: a digest half-written (its temporary file,
      // or its signature sidecar without it), or the chain between two digests.
      const folder = join(dir, DIGESTS);
      const names = existsSync(folder) ? readdirSync(folder) : [];
      const halfWritten = names.some(
        (n) => /\.json\.gz(\.metadata\.json)?\.tmp-\d+-[0-9a-f]{12}$/.test(n) || (n.endsWith('.json.gz.metadata.json') && !names.includes(n.slice(0, -'.metadata.json'.length))),
      );
      if (halfWritten || (digests > 0 && digests < pinned.length)) midWrite++;
      else if (digests === 0) before = Math.max(before, delay);
      else after = Math.min(after, delay);
      const next = await node(WRITE, writeArgs(dir).slice(1));
      expect(next.status, `${why}: ${next.stderr}`).toBe(0);
      expect(assertIntact(dir), why).toBe(pinned.length);
      const leftovers = readdirSync(folder).filter((n) => !n.endsWith('.json.gz') && !n.endsWith('.json.gz.metadata.json'));
      expect(leftovers, why).toEqual([]);
    };
    let n = 0;
    for (; n < 20; n++) await round(n, Math.floor(full * (0.3 + 0.8 * rand())));
    // Until a kill is seen to land mid-write: halve the interval between the latest kill that
    // came before any write and the earliest that came after the last (a few rounds at most).
    for (; midWrite === 0 && n < 60; n++) await round(n, Math.floor((before + after) / 2 + (rand() - 0.5) * 4));
    expect(midWrite, `no kill observed mid-write in ${n} rounds (KILL_SEED=${seed})`).toBeGreaterThan(0);
    const dir = logsOnly();
    expect((await node(WRITE, writeArgs(dir).slice(1))).status).toBe(0);
    expect((await node(VALIDATE, sampleArgs(dir))).status).toBe(0);
    console.log(`kill test (KILL_SEED=${seed}): ${n} rounds, ${midWrite} killed mid-write; digests present after the kills: ${[...present].sort().join(', ')}`);
  }, 300_000);
});

describe('two writers on one chain', () => {
  it('never fork it: one writes, the other writes nothing or is refused', async () => {
    for (let round = 0; round < 10; round++) {
      const dir = logsOnly();
      const [a, b] = await Promise.all([node(WRITE, writeArgs(dir).slice(1)), node(WRITE, writeArgs(dir).slice(1))]);
      for (const r of [a, b]) {
        expect([0, 2]).toContain(r.status);
        if (r.status === 2) expect(r.stderr).toMatch(/another writer .* is writing this chain|already exists: another writer/);
      }
      expect(a.status === 0 || b.status === 0).toBe(true);
      expect(assertIntact(dir)).toBe(6);
      expect((await node(VALIDATE, sampleArgs(dir))).status).toBe(0);
    }
  }, 120_000);
});

describe('write-digests on storage with a special file', () => {
  it('refuses a FIFO in place of a log with an error naming it, instead of hanging, and writes nothing', async () => {
    const dir = logsOnly();
    const key = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08/111122223333_CloudTrail_us-east-1_20250108T0200Z_FIFOFIFOFIFOFIFO.json.gz';
    const fifo = join(dir, key);
    execFileSync('mkfifo', [fifo]);
    const delivered = new Date('2025-01-08T02:00:00Z'); // inside the hours written
    utimesSync(fifo, delivered, delivered);
    const child = spawn(process.execPath, writeArgs(dir), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const hung = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(hung);
    try {
      closeSync(openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK)); // let go of a reader stuck on it, if any
    } catch {
      // no reader: nothing was stuck on it
    }
    expect(status, `exit status ${status} (null: killed after 20 s, the run hung on the FIFO): ${stderr}`).toBe(2);
    expect(stderr).toContain(`s3://sample-bucket/${key}`);
    expect(stderr).toMatch(/FIFO \(named pipe\), not a regular file.*no digest was written/);
    expect(assertIntact(dir)).toBe(0);
  }, 60_000);
});
