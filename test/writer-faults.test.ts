// A record keeper must never lose or fork the chain: write-digests killed at random instants,
// and two writers at once, on a local copy.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
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
  it('never leaves a torn or half-linked digest, and the next run completes the chain', async () => {
    const seed = Number(process.env.KILL_SEED ?? Date.now() % 100000);
    let x = seed || 1;
    const rand = (): number => (x = (x * 48271) % 2147483647) / 2147483647;
    // How long a whole run takes here: kills land from before it starts writing to its end.
    const t0 = Date.now();
    expect((await node(WRITE, writeArgs(logsOnly()).slice(1))).status).toBe(0);
    const full = Date.now() - t0;
    const partial = new Set<number>();
    for (let round = 0; round < 20; round++) {
      const dir = logsOnly();
      const delay = Math.floor(full * (0.3 + 0.8 * rand()));
      const child = spawn(process.execPath, writeArgs(dir), { stdio: 'ignore' });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      setTimeout(() => child.kill('SIGKILL'), delay);
      await exited;
      const why = `round ${round}, killed after ${delay} ms of a ${full} ms run (KILL_SEED=${seed})`;
      try {
        partial.add(assertIntact(dir));
      } catch (e) {
        throw new Error(`${why}: ${(e as Error).message}`);
      }
      const next = await node(WRITE, writeArgs(dir).slice(1));
      expect(next.status, `${why}: ${next.stderr}`).toBe(0);
      expect(assertIntact(dir), why).toBe(6);
      const leftovers = readdirSync(join(dir, DIGESTS)).filter((n) => !n.endsWith('.json.gz') && !n.endsWith('.json.gz.metadata.json'));
      expect(leftovers, why).toEqual([]);
    }
    const dir = logsOnly();
    expect((await node(WRITE, writeArgs(dir).slice(1))).status).toBe(0);
    expect((await node(VALIDATE, sampleArgs(dir))).status).toBe(0);
    console.log(`kill test (KILL_SEED=${seed}): digests present after the kills: ${[...partial].sort().join(', ')}`);
  }, 180_000);
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
