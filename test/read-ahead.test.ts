// Keeping a pool's threads busy while a run lists its logs: the walk cannot start before the
// trail's logs are listed (it counts and marks them), so the digests go to the pool's threads
// meanwhile, each one done making room for the next, up to eight a thread; and a folder of many
// files is listed a page at a time, the thread's other tasks (the threads' answers) running
// between two pages.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DigestJob, Offload } from '../src/chain/offload.js';
import type { ListedObject, ListOptions } from '../src/sources/source.js';
import { PublicKeySet, createSigner, verifyTrail, type Finding } from '../src/index.js';
import { LocalDirectory, createNodePlatform } from '../src/node.js';
import { writeHourlyChain } from './helpers/chains.js';
import { ROOT } from './helpers/tamper.js';

const BUCKET = 'ahead-bucket';
const TRAIL = { accountId: '111122223333', region: 'us-east-1', trailName: 'ahead' };
const T0 = Date.parse('2025-01-08T00:00:00Z');
const HOURS = 30;

let root: string;
let keys: PublicKeySet;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'read-ahead-'));
  const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
  keys = new PublicKeySet([signer.publicKey]);
  await writeHourlyChain(join(root, 'bucket'), { bucket: BUCKET, trail: TRAIL, t0: T0, hours: HOURS, signer });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A local copy whose log folder is listed only once `open` is called. */
class HeldLogs extends LocalDirectory {
  readonly #gate: Promise<void>;
  open!: () => void;
  constructor(dir: string) {
    super(dir, { bucket: BUCKET });
    this.#gate = new Promise((resolve) => (this.open = resolve));
  }
  override async *listPages(bucket: string, prefix: string, startAfter?: string, options?: ListOptions): AsyncGenerator<ListedObject[]> {
    if (prefix.includes('/CloudTrail/')) await this.#gate;
    yield* super.listPages(bucket, prefix, startAfter, options);
  }
}

const run = async (source: LocalDirectory, platform: ReturnType<typeof createNodePlatform>): Promise<Finding[]> => {
  const out: Finding[] = [];
  for await (const f of verifyTrail({ source, bucket: BUCKET, trail: TRAIL, keys, start: new Date(T0), end: new Date(T0 + HOURS * 3_600_000), platform })) out.push(f);
  return out;
};

describe('while the logs are listed, the pool is kept busy', () => {
  it('digests go to the threads as they finish, up to eight a thread (not only the eight read ahead of the walk), with the same findings', async () => {
    const pool = createNodePlatform({ threads: 2 });
    const taken: string[] = [];
    const real = pool.offload!;
    const counting: Offload = {
      threads: real.threads,
      capacity: real.capacity,
      warm: () => real.warm(),
      hashFiles: (files, request) => real.hashFiles(files, request),
      hashBytes: (source, request) => real.hashBytes(source, request),
      takeDigest: (job: DigestJob) => {
        taken.push(job.key);
        return real.takeDigest(job);
      },
    };
    const source = new HeldLogs(join(root, 'bucket'));
    const findings = run(source, { ...pool, offload: counting });
    // The reads begun go on while the log folder is held: 16 for 2 threads, and no more.
    for (let waited = 0; taken.length < 16 && waited < 20_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    expect(taken.length).toBe(16);
    expect(new Set(taken).size).toBe(16);
    source.open();
    const pooled = await findings;
    expect(new Set(taken).size).toBe(taken.length); // nothing read twice
    const alone = await run(new LocalDirectory(join(root, 'bucket'), { bucket: BUCKET }), createNodePlatform({ threads: 0 }));
    expect(pooled).toEqual(alone);
    expect(pooled.filter((f) => f.severity !== 'valid')).toEqual([]);
    expect(pooled.filter((f) => f.code === 'DIGEST_VALID')).toHaveLength(HOURS);
  }, 60_000);
});

describe('a folder of many files is listed a page at a time', () => {
  it("lets the thread's other tasks run between two pages", async () => {
    const dir = join(root, 'many');
    mkdirSync(join(dir, 'folder'), { recursive: true });
    for (let i = 0; i < 2500; i++) writeFileSync(join(dir, 'folder', `file-${String(i).padStart(5, '0')}`), '');
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const seen: Array<{ keys: number; turns: number }> = [];
    try {
      for await (const page of new LocalDirectory(dir).listPages('b', 'folder/')) seen.push({ keys: page.length, turns });
    } finally {
      ticking = false;
    }
    expect(seen.map((p) => p.keys)).toEqual([1000, 1000, 500]);
    // Each page after the first came in a later turn of the event loop than the one before it.
    expect(seen[1]!.turns).toBeGreaterThan(seen[0]!.turns);
    expect(seen[2]!.turns).toBeGreaterThan(seen[1]!.turns);
  });
});
