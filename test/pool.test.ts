// The parallel layer's pool of threads, run from the sources (its threads load the TypeScript
// thread module through tsx) and, in a process, as built: every answer equals hashing in the
// caller's thread, byte for byte and error for error; anything
// but a regular file is handed back; small objects travel in batches; an idle pool never keeps
// the process alive.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, HashOutcome, HashRequest } from '../src/index.js';
import type { PooledPlatform as Platform } from '../src/node.js';
import { createSigner, hashStream, logKey, parseTrailArn, PublicKeySet, verifyTrail } from '../src/index.js';
import { createNodePlatform, LocalDirectory, writeDigests } from '../src/node.js';
import { pseudoRandomBytes } from './helpers/bytes.js';
import { applyActions, copySample, ROOT, tampering } from './helpers/tamper.js';

interface Stats {
  batches: number;
  jobs: number;
  streams: number;
  started: number;
  digests: number;
}
const pooled = createNodePlatform({ threads: 2 });
const inThread = createNodePlatform({ threads: 0 });
const stats = (p: Platform): Stats => (p.offload as unknown as { stats: Stats }).stats;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pool-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** CloudTrail-like content with event times, `n` records. */
function records(n: number, seed: number): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = new Date(Date.UTC(2025, 0, 1) + ((i * 7919 + seed) % 86_400) * 1000).toISOString().slice(0, 19) + 'Z';
    parts.push(`{"eventTime":"${t}","eventID":"${(i * 2654435761 + seed).toString(16)}","n":${i}}`);
  }
  return Buffer.from(`{"Records":[${parts.join(',')}]}`);
}


type Answer = { ok: HashOutcome } | { error: { code: string; message: string } } | { fallback: true };
async function answer(work: () => Promise<HashOutcome | Error | undefined>): Promise<Answer> {
  try {
    const ok = await work();
    if (ok instanceof Error) throw ok;
    return ok ? { ok } : { fallback: true };
  } catch (e) {
    return { error: { code: (e as { code: string }).code, message: (e as Error).message } };
  }
}

/** One file through the pool. */
async function hashFile(platform: Platform, path: string, request: HashRequest): Promise<HashOutcome | Error | undefined> {
  const { what, ...shared } = request;
  const [r] = await platform.offload!.hashFiles([{ path, what }], shared);
  return r;
}

/** Objects worth hashing: valid ones of every size class, and every way a gzip stream goes wrong. */
function cases(): Array<[string, Buffer]> {
  const small = gzipSync(records(20, 1));
  const large = gzipSync(Buffer.concat([records(30_000, 2), Buffer.from(pseudoRandomBytes(600_000, 3))])); // stored > 256 KiB: streamed
  return [
    ['small', small],
    ['large', large],
    ['empty content', gzipSync(Buffer.alloc(0))],
    ['empty object', Buffer.alloc(0)],
    ['corrupt deflate', Buffer.concat([small.subarray(0, 12), Buffer.from([0xff, 0xff, 0xff]), small.subarray(15)])],
    ['data after the end', Buffer.concat([small, Buffer.from([0])])],
    ['a second member', Buffer.concat([small, small])],
    ['truncated in the trailer', small.subarray(0, small.length - 3)],
    ['truncated in the body', large.subarray(0, large.length >> 1)],
    ['bad CRC', Buffer.concat([small.subarray(0, small.length - 8), Buffer.from([1, 2, 3, 4]), small.subarray(small.length - 4)])],
    ['not gzip', Buffer.from('{"Records":[]}')],
  ];
}

describe('the pool answers as the caller thread does', () => {
  const request = (what: string, extra: Partial<HashRequest> = {}): HashRequest => ({ gzip: true, what, eventTimes: true, ...extra });

  it('for files read by a pool thread, valid or broken in every way', async () => {
    for (const [name, bytes] of cases()) {
      const path = join(dir, `${name}.json.gz`);
      writeFileSync(path, bytes);
      const want = await answer(() => hashStream(bytes, { ...request(name), platform: inThread }));
      const got = await answer(() => hashFile(pooled, path, request(name)));
      expect(got, name).toEqual(want);
    }
    // The cases are what they claim: the valid ones hash, the broken ones fail.
    const valid = await answer(() => hashFile(pooled, join(dir, 'large.json.gz'), request('large')));
    expect('ok' in valid && valid.ok.newestEventTime).toBe('2025-01-01T23:59:59Z');
    expect(await answer(() => hashFile(pooled, join(dir, 'data after the end.json.gz'), request('x')))).toMatchObject({ error: { code: 'GZIP_INVALID' } });
  });

  it('for bytes sent whole or in chunks, and for the size limit', async () => {
    for (const [name, bytes] of cases()) {
      // In 64 KiB chunks from an async source that reuses one buffer, as a network body may.
      const chunks = async function* (): AsyncGenerator<Uint8Array> {
        const buffer = new Uint8Array(64 * 1024);
        for (let i = 0; i < bytes.length; i += buffer.length) {
          const n = Math.min(buffer.length, bytes.length - i);
          buffer.set(bytes.subarray(i, i + n));
          yield buffer.subarray(0, n);
        }
      };
      const want = await answer(() => hashStream(bytes, { ...request(name), platform: inThread }));
      expect(await answer(() => pooled.offload!.hashBytes(chunks(), request(name))), name).toEqual(want);
      expect(await answer(() => hashStream(chunks(), { ...request(name), platform: pooled, sizeHint: bytes.length })), name).toEqual(want);
    }
    const large = cases()[1]![1];
    const limited = await answer(() => pooled.offload!.hashBytes(large, request('capped', { maxBytes: 1000 })));
    expect(limited).toEqual({ error: { code: 'SIZE_LIMIT', message: 'capped: inflates to more than the limit of 1000 bytes' } });
  });

  it('hands back whatever is no regular file, at once (a FIFO never blocks it)', async () => {
    const fifo = join(dir, 'fifo.json.gz');
    execFileSync('mkfifo', [fifo]);
    const target = join(dir, 'small.json.gz');
    writeFileSync(target, gzipSync(records(3, 4)));
    const link = join(dir, 'link.json.gz');
    symlinkSync(target, link);
    const folder = join(dir, 'folder.json.gz');
    mkdirSync(folder);
    for (const path of [fifo, link, folder, join(dir, 'absent.json.gz')]) {
      expect(await hashFile(pooled, path, request(path)), path).toBeUndefined();
    }
  });

  it('sends small objects many to a message, and a large one as a stream', async () => {
    const platform = createNodePlatform({ threads: 2 });
    const paths: string[] = [];
    for (let i = 0; i < 300; i++) {
      const path = join(dir, `many-${i}.json.gz`);
      writeFileSync(path, gzipSync(records(5, i)));
      paths.push(path);
    }
    const { what: _, ...shared } = request('');
    const results = await platform.offload!.hashFiles(paths.map((path) => ({ path, what: path })), shared);
    const want = await Promise.all(paths.map((p, i) => hashStream(gzipSync(records(5, i)), { ...request(p), platform: inThread })));
    expect(results).toEqual(want);
    const s = stats(platform);
    expect(s.jobs).toBe(300);
    expect(s.batches).toBeLessThanOrEqual(300 / 8);
    expect(s.started).toBeLessThanOrEqual(2);
    await platform.offload!.hashBytes(cases()[1]![1], request('large'));
    expect(stats(platform).streams).toBe(1);
  });

  it('reads the files of one batch from many folders (a batch sends their shared folder once)', async () => {
    // Siblings, a folder and its subfolder, folders that share a prefix of their names, and a name that looks like a folder.
    const folders = ['f', 'f/sub', 'f/sub/deeper', 'fx', 'f-x', 'g/f', 'g/fx/f'];
    const paths = folders.flatMap((f, i) => {
      mkdirSync(join(dir, 'mixed', f), { recursive: true });
      return [0, 1].map((j) => {
        const path = join(dir, 'mixed', f, j === 0 ? `log-${i}.json.gz` : 'f');
        writeFileSync(path, gzipSync(records(2, 100 + i * 2 + j)));
        return path;
      });
    });
    const order = [...paths.keys()].sort((a, b) => ((a * 7919) % paths.length) - ((b * 7919) % paths.length)); // the folders interleaved
    const { what: _, ...shared } = request('');
    const got = await pooled.offload!.hashFiles(order.map((i) => ({ path: paths[i]!, what: paths[i]! })), shared);
    const want = await Promise.all(order.map((i) => hashStream(readFileSync(paths[i]!), { ...request(paths[i]!), platform: inThread })));
    expect(got).toEqual(want);
  });

  it('streams several large files on one thread at once, each whole and alone', async () => {
    const one = createNodePlatform({ threads: 1 });
    const files = [0, 1, 2, 3].map((i) => {
      const path = join(dir, `large-${i}.json.gz`);
      writeFileSync(path, gzipSync(Buffer.concat([records(2_000 * (i + 1), 10 + i), Buffer.from(pseudoRandomBytes(2_000_000, 20 + i))])));
      return path;
    });
    const { what: _, ...shared } = request('');
    // The first file tells the pool that files here are large: then each is a batch of its own, two at a time on the thread.
    await one.offload!.hashFiles([{ path: files[0]!, what: 'first' }], shared);
    const got = await one.offload!.hashFiles(files.map((path) => ({ path, what: path })), shared);
    const want = await Promise.all(files.map((path) => answer(() => hashStream(readFileSync(path), { ...request(path), platform: inThread }))));
    expect(got.map((ok) => ({ ok }))).toEqual(want);
    expect(stats(one).started).toBe(1);
  });

  it('reads small files whole one after another, their content growing and shrinking, each answer its own', async () => {
    // Stored under 256 KiB (read whole, inflated in one call into the thread's kept buffer),
    // inflating to sizes on both sides of every doubling of that buffer, and beyond what it keeps.
    const one = createNodePlatform({ threads: 1 });
    const sizes = [30_000, 1_048_996, 40, 3_500_000, 65_536, 1_048_576, 9_000_000, 2_097_153, 100];
    const files = sizes.map((n, i) => {
      const path = join(dir, `whole-${i}.json.gz`);
      const content = Buffer.alloc(n, `{"eventTime":"2025-01-01T00:00:0${i}Z"}`);
      content.set(pseudoRandomBytes(Math.min(n, 2_000), 40 + i)); // each one different
      const stored = gzipSync(content);
      expect(stored.length, path).toBeLessThan(256 * 1024);
      writeFileSync(path, stored);
      return path;
    });
    const { what: _, ...shared } = request('');
    // One at a time and all at once: either way the same thread's buffer serves each in turn.
    const alone = [];
    for (const path of files) alone.push((await one.offload!.hashFiles([{ path, what: path }], shared))[0]);
    const together = await one.offload!.hashFiles(files.map((path) => ({ path, what: path })), shared);
    const want = await Promise.all(files.map((path) => hashStream(readFileSync(path), { ...request(path), platform: inThread })));
    expect(alone).toEqual(want);
    expect(together).toEqual(want);
    expect(want.map((w) => w.size)).toEqual(sizes);
    expect(stats(one).started).toBe(1);
  });

  it('fails a stream whose source fails, and goes on working', async () => {
    const broken = async function* (): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(300 * 1024);
      throw new Error('connection reset');
    };
    await expect(pooled.offload!.hashBytes(broken(), request('broken'))).rejects.toThrow('connection reset');
    const small = gzipSync(records(2, 9));
    expect(await pooled.offload!.hashBytes(small, request('after'))).toEqual(await hashStream(small, { ...request('after'), platform: inThread }));
  });
});

describe('the pool takes whole digests, and finds what the caller thread finds', () => {
  const t = tampering.trail;
  const { accountId, region, trailName } = parseTrailArn(t.trailArn);
  const keys = PublicKeySet.fromListPublicKeys(readFileSync(join(ROOT, t.publicKeys), 'utf8'));
  /** Every finding of a run over a local copy, on a platform. */
  async function findings(platform: Platform, dir: string): Promise<Finding[]> {
    const out: Finding[] = [];
    const source = new LocalDirectory(dir, { bucket: t.bucket });
    for await (const f of verifyTrail({ source, bucket: t.bucket, trail: { accountId, region, trailName }, keys, start: new Date(t.start), end: new Date(t.end), platform })) out.push(f);
    return out;
  }
  /** The logs of the sample the run found valid, by key. */
  const validLogs = (all: Finding[]): string[] => all.filter((f) => f.code === 'LOG_VALID').map((f) => f.key);

  it('on the sample and on every tampering of it: the same findings in the same order', async () => {
    const before = stats(pooled).digests;
    for (const c of [{ name: 'untouched', actions: [] }, ...tampering.cases]) {
      const { dir, cleanup } = copySample();
      try {
        applyActions(dir, c.actions);
        const want = await findings(inThread, dir);
        expect(await findings(pooled, dir), c.name).toEqual(want);
      } finally {
        cleanup();
      }
    }
    expect(stats(pooled).digests - before).toBeGreaterThan(tampering.cases.length);
  });

  it('from the sources, on threads of its own: a copy with every kind of log finding, the same as on the caller thread', async () => {
    const { dir, cleanup } = copySample();
    try {
      const valid = validLogs(await findings(inThread, dir));
      expect(valid.length).toBeGreaterThanOrEqual(7);
      const [modified, missing, linked, fifo, truncated, notGzip, large] = valid as [string, string, string, string, string, string, string];
      writeFileSync(join(dir, modified), gzipSync(Buffer.concat([gunzipSync(readFileSync(join(dir, modified))), Buffer.from(' ')])));
      rmSync(join(dir, missing));
      writeFileSync(join(dir, `${linked}.real`), readFileSync(join(dir, linked)));
      rmSync(join(dir, linked));
      symlinkSync(`${join(dir, linked)}.real`, join(dir, linked));
      rmSync(join(dir, fifo));
      execFileSync('mkfifo', [join(dir, fifo)]);
      const whole = readFileSync(join(dir, truncated));
      writeFileSync(join(dir, truncated), whole.subarray(0, whole.length - 9));
      writeFileSync(join(dir, notGzip), 'not gzip at all');
      writeFileSync(join(dir, large), gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20)));
      const fresh = createNodePlatform({ threads: 2 });
      const run = async (platform: Platform): Promise<Finding[]> => {
        const out: Finding[] = [];
        const source = new LocalDirectory(dir, { bucket: t.bucket });
        for await (const f of verifyTrail({ source, bucket: t.bucket, trail: { accountId, region, trailName }, keys, start: new Date(t.start), end: new Date(t.end), platform, maxLogBytes: 1024 * 1024 })) out.push(f);
        return out;
      };
      const want = await run(inThread);
      const got = await run(fresh);
      expect(got).toEqual(want);
      // The threads ran: they started, and took the digests whole (the logs were judged there).
      expect(stats(fresh).started).toBeGreaterThan(0);
      expect(stats(fresh).digests).toBeGreaterThan(0);
      const code = (key: string): string | undefined => got.find((f) => f.key === key && f.kind === 'log')?.code;
      expect([modified, missing, linked, fifo, truncated, notGzip, large].map(code)).toEqual(['LOG_HASH_MISMATCH', 'LOG_NOT_FOUND', 'LOG_VALID', 'LOG_UNREADABLE', 'LOG_INVALID_FORMAT', 'LOG_INVALID_FORMAT', 'LOG_TOO_LARGE']);
    } finally {
      cleanup();
    }
  });

  it('hands back a log that is a link, a FIFO or a folder: judged on the caller thread', async () => {
    const { dir, cleanup } = copySample();
    try {
      const valid = validLogs(await findings(inThread, dir));
      expect(valid.length).toBeGreaterThanOrEqual(3);
      const [linked, fifo, other] = valid as [string, string, string];
      // A link to a copy of the same bytes (inside the copy): the pool's threads never follow a link.
      writeFileSync(join(dir, `${linked}.real`), readFileSync(join(dir, linked)));
      rmSync(join(dir, linked));
      symlinkSync(`${join(dir, linked)}.real`, join(dir, linked));
      rmSync(join(dir, fifo));
      execFileSync('mkfifo', [join(dir, fifo)]);
      // A log the digest lists, swapped for a folder.
      rmSync(join(dir, other));
      mkdirSync(join(dir, other));
      const want = await findings(inThread, dir);
      const got = await findings(pooled, dir);
      expect(got).toEqual(want);
      const code = (key: string): string | undefined => got.find((f) => f.key === key && f.kind === 'log')?.code;
      expect([code(linked), code(fifo), code(other)]).toEqual(['LOG_VALID', 'LOG_UNREADABLE', 'LOG_NOT_FOUND']);
    } finally {
      cleanup();
    }
  });
});

describe('the pool reads whole digests itself, many at once on one thread', () => {
  const trail = { accountId: '111122223333', region: 'eu-west-1', trailName: 'many' };
  const bucket = 'many-bucket';
  const HOURS = 30;
  const hour = (h: number): Date => new Date(Date.UTC(2025, 5, 1) + h * 3_600_000);
  const oneThread = createNodePlatform({ threads: 1 });
  let root: string;
  let keys: PublicKeySet;
  let digestKeys: string[];
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pool-digests-'));
    for (let h = 0; h < HOURS; h++) {
      for (let j = 0; j < 3; j++) {
        const at = new Date(hour(h).getTime() + (j + 1) * 900_000);
        const path = join(root, logKey(trail, at, `H${String(h).padStart(3, "0")}J${j}abcdefghij`));
        mkdirSync(join(path, '..'), { recursive: true });
        writeFileSync(path, gzipSync(records(50 + h * 7 + j, h * 3 + j)));
        utimesSync(path, at, at);
      }
    }
    const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
    keys = new PublicKeySet([signer.publicKey]);
    await writeDigests({ storage: new LocalDirectory(root, { bucket }), bucket, trail, signer, until: hour(HOURS) });
    digestKeys = (readdirSync(root, { recursive: true }) as string[]).filter((k) => k.includes('CloudTrail-Digest') && k.endsWith('.json.gz')).sort();
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });
  async function findings(platform: Platform): Promise<Finding[]> {
    const out: Finding[] = [];
    const source = new LocalDirectory(root, { bucket });
    for await (const f of verifyTrail({ source, bucket, trail, keys, start: hour(0), end: hour(HOURS), platform })) out.push(f);
    return out;
  }

  it('each digest read is its own, whatever else the thread reads meanwhile', async () => {
    expect(digestKeys.length).toBeGreaterThanOrEqual(HOURS);
    const before = stats(oneThread).digests;
    const got = await findings(oneThread);
    expect(stats(oneThread).digests - before).toBeGreaterThanOrEqual(digestKeys.length);
    expect(got).toEqual(await findings(inThread));
    const codes = new Set(got.map((f) => f.code));
    expect([...codes].sort()).toEqual(['DIGEST_VALID', 'LOG_VALID']);
    expect(got.filter((f) => f.code === 'LOG_VALID')).toHaveLength(HOURS * 3);
  });

  it('leaves a digest or sidecar that is no plain file, or is malformed, to the caller thread: the same findings', async () => {
    const at = (i: number): string => join(root, digestKeys[i]!);
    const saved = new Map<string, Buffer>();
    const keep = (path: string): void => void saved.set(path, readFileSync(path));
    try {
      // A digest that is a link to its own bytes, a FIFO, a folder; a sidecar missing, a FIFO, malformed, too large; a digest not gzip.
      keep(at(2));
      renameSync(at(2), `${at(2)}.real`);
      symlinkSync(`${at(2)}.real`, at(2));
      keep(at(5));
      rmSync(at(5));
      execFileSync('mkfifo', [at(5)]);
      keep(at(8));
      rmSync(at(8));
      mkdirSync(at(8));
      keep(`${at(11)}.metadata.json`);
      rmSync(`${at(11)}.metadata.json`);
      keep(`${at(14)}.metadata.json`);
      rmSync(`${at(14)}.metadata.json`);
      execFileSync('mkfifo', [`${at(14)}.metadata.json`]);
      keep(`${at(17)}.metadata.json`);
      writeFileSync(`${at(17)}.metadata.json`, '{"signature": ');
      keep(`${at(20)}.metadata.json`);
      writeFileSync(`${at(20)}.metadata.json`, JSON.stringify({ signature: 'ab', pad: 'x'.repeat(70_000) }));
      keep(at(23));
      writeFileSync(at(23), gunzipSync(saved.get(at(23))!));
      const want = await findings(inThread);
      expect(await findings(oneThread)).toEqual(want);
      const code = (i: number): string | undefined => want.find((f) => f.kind === 'digest' && f.key === digestKeys[i])?.code;
      // A link inside the copy is followed by the copy (not by a thread); a missing sidecar's
      // signature is the one the next digest's link records.
      expect([2, 5, 8, 11, 14, 17, 20, 23].map(code)).toEqual([
        'DIGEST_VALID',
        'DIGEST_UNREADABLE',
        'DIGEST_NOT_FOUND',
        'DIGEST_VALID',
        'DIGEST_UNREADABLE',
        'DIGEST_INVALID_FORMAT',
        'DIGEST_INVALID_FORMAT',
        'DIGEST_INVALID_FORMAT',
      ]);
    } finally {
      for (const [path, bytes] of saved) {
        rmSync(path, { recursive: true, force: true });
        writeFileSync(path, bytes);
      }
      rmSync(`${at(2)}.real`, { force: true });
    }
  });
});

describe('write-digests on a first run takes each log\'s time from the thread that reads it', () => {
  const trail = { accountId: '111122223333', region: 'eu-west-1', trailName: 'times' };
  const bucket = 'times-bucket';
  const hour = (h: number): Date => new Date(Date.UTC(2025, 6, 1) + h * 3_600_000);
  /** A copy of 12 hours of logs, three an hour, each with its delivery time as its mtime. */
  function logs(): { root: string; keys: string[] } {
    const root = mkdtempSync(join(tmpdir(), 'pool-times-'));
    const keys: string[] = [];
    for (let h = 0; h < 12; h++) {
      for (let j = 0; j < 3; j++) {
        const at = new Date(hour(h).getTime() + (j + 1) * 900_000 + 123);
        const key = logKey(trail, at, `T${String(h).padStart(3, '0')}J${j}abcdefghij`);
        const path = join(root, key);
        mkdirSync(join(path, '..'), { recursive: true });
        writeFileSync(path, gzipSync(records(20 + h + j, h * 5 + j)));
        utimesSync(path, at, at);
        keys.push(key);
      }
    }
    return { root, keys };
  }
  /** Every digest file written, with its bytes and sidecar. */
  const written = (root: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const k of (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.includes('CloudTrail-Digest') && !f.endsWith('/')).sort()) {
      const path = join(root, k);
      try {
        out[k] = readFileSync(path).toString('base64');
      } catch {
        // a folder
      }
    }
    return out;
  };
  async function run(platform: Platform, root: string, until: Date): Promise<{ digests: Record<string, string>; logs: number } | { error: string }> {
    const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
    try {
      const r = await writeDigests({ storage: new LocalDirectory(root, { bucket }), bucket, trail, signer, until, platform });
      return { digests: written(root), logs: r.logsHashed };
    } catch (e) {
      return { error: `${(e as { code?: string }).code}: ${(e as Error).message}` };
    }
  }
  /** The same logs written by an in-thread run (times from the listing) and a pooled one (times from the threads). */
  async function both(prepare: (root: string, keys: string[]) => void, until: Date): Promise<[unknown, unknown]> {
    const a = logs();
    const b = logs();
    try {
      prepare(a.root, a.keys);
      prepare(b.root, b.keys);
      const oneThread = createNodePlatform({ threads: 1 });
      return [await run(inThread, a.root, until), await run(oneThread, b.root, until)];
    } finally {
      rmSync(a.root, { recursive: true, force: true });
      rmSync(b.root, { recursive: true, force: true });
    }
  }

  it('writes the same digests, byte for byte, as a run that lists the times', async () => {
    const [want, got] = await both(() => undefined, hour(12));
    expect(got).toEqual(want);
    expect(Object.keys((want as { digests: object }).digests).length).toBe(24); // 12 digests and their sidecars
    expect((want as { logs: number }).logs).toBe(36);
  });

  it('takes a log read on the caller thread (a link) at its listed time, and leaves out a log from `until` on, even one that does not read', async () => {
    const [want, got] = await both((root, keys) => {
      // A link to a copy of the same bytes and time: a thread does not follow it.
      const linked = join(root, keys[4]!);
      const at = hour(1);
      renameSync(linked, `${linked}.real`);
      symlinkSync(`${linked}.real`, linked);
      utimesSync(`${linked}.real`, at, at);
      // Delivered after `until`: one readable, one broken (still being written).
      for (const [i, bytes] of [[34, gzipSync(records(5, 1))], [35, Buffer.from([0x1f, 0x8b, 8])]] as const) {
        writeFileSync(join(root, keys[i]!), bytes);
        utimesSync(join(root, keys[i]!), hour(11.9), hour(11.9));
      }
    }, hour(11.5));
    expect(got).toEqual(want);
    expect((want as { logs: number }).logs).toBe(33 + 1); // hours 0..10 whole, and the first log of hour 11 (before 11:30); the link's copy is no log
  });

  it('takes the times of logs no thread read from one listing of their folder: a copy of links only', async () => {
    const [want, got] = await both((root, keys) => {
      for (const key of keys) {
        const path = join(root, key);
        const real = join(root, 'real', key.replaceAll('/', '_'));
        mkdirSync(join(root, 'real'), { recursive: true });
        renameSync(path, real);
        symlinkSync(real, path);
      }
    }, hour(12));
    expect(got).toEqual(want);
    expect((want as { logs: number }).logs).toBe(36);
  });

  it('fails as a run that lists the times does, on a log before `until` that does not read', async () => {
    const [want, got] = await both((root, keys) => {
      const path = join(root, keys[7]!);
      const at = hour(2.5);
      writeFileSync(path, Buffer.from('not gzip'));
      utimesSync(path, at, at);
    }, hour(12));
    expect(got).toEqual(want);
    expect((want as { error: string }).error).toMatch(/^GZIP_INVALID: /);
  });
});

describe('the pool in a process', () => {
  it('never keeps a process alive once idle', () => {
    const path = join(dir, 'alive.json.gz');
    writeFileSync(path, gzipSync(records(10, 5)));
    const script = `
      import { createNodePlatform } from ${JSON.stringify(join(ROOT, 'dist', 'node.js'))};
      const p = createNodePlatform({ threads: 3 });
      p.offload.warm(); // three threads, one of them never given work
      const [r] = await p.offload.hashFiles([{ path: ${JSON.stringify(path)}, what: 'x' }], { gzip: true });
      console.log(r.sha256);`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  // Node.js aborts the whole process when a thread is stopped while it makes a zlib stream
  // (the stream's native half is cleaned up before it was set up: "close before init"). A
  // process may exit, or be stopped, at any moment, with its threads idle or at work: a thread
  // must make no stream before it has work, and reuse the ones it made.
  it('makes no zlib stream in a thread before it has work, and reuses the ones it made', () => {
    const big = (i: number): Buffer => gzipSync(pseudoRandomBytes(300 * 1024, i), { level: 0 }); // read as a stream, not whole
    const sources: string[] = [];
    for (let i = 0; i < 24; i++) {
      const path = join(dir, `reuse-${i}.json.gz`);
      let bytes = i % 2 ? gzipSync(records(20, i)) : big(i);
      if (i === 9) bytes = Buffer.concat([bytes.subarray(0, 5000), Buffer.alloc(5000, 0xff), bytes.subarray(10_000)]); // corrupt deflate data
      writeFileSync(path, bytes);
      sources.push(path);
    }
    const script = `
      import { Worker } from 'node:worker_threads';
      const counted = ${JSON.stringify(`
        const zlib = require('node:zlib');
        const Real = zlib.InflateRaw;
        let made = 0;
        zlib.InflateRaw = class extends Real { constructor(o) { made++; super(o); } };
        require('node:module').syncBuiltinESMExports();
        const { parentPort } = require('node:worker_threads');
        parentPort.on('message', (m) => { if (m.t === 'count') parentPort.postMessage({ t: 'count', made }); });
        import(${JSON.stringify(new URL('dist/parallel/thread.js', `file://${ROOT}/`).href)}).then(() => parentPort.postMessage({ t: 'loaded' }));
      `)};
      const w = new Worker(counted, { eval: true, execArgv: [] });
      const next = (t) => new Promise((resolve) => { const on = (m) => { if (m.t === t) { w.off('message', on); resolve(m); } }; w.on('message', on); });
      await next('loaded');
      await new Promise((r) => setTimeout(r, 100));
      w.postMessage({ t: 'count' });
      const idle = (await next('count')).made;
      const sources = ${JSON.stringify(sources)};
      w.postMessage({ t: 'batch', id: 1, request: { gzip: true }, folder: '', sources });
      const done = await next('done');
      w.postMessage({ t: 'count' });
      const busy = (await next('count')).made;
      console.log(JSON.stringify({ idle, busy, done }));
      await w.terminate();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const { idle, busy, done } = JSON.parse(r.stdout) as { idle: number; busy: number; done: { sha256: Array<string | null>; unhashed: Array<{ i: number; error?: { code: string } }> } };
    expect(idle).toBe(0);
    // The whole-object inflater's stream, one for streaming, and one more after the corrupt object's was closed.
    expect(busy).toBeLessThanOrEqual(3);
    expect(done.unhashed).toEqual([{ i: 9, error: expect.objectContaining({ code: 'GZIP_INVALID' }) }]);
    expect(done.sha256.filter((h) => h !== null)).toHaveLength(23);
  });

  it('survives threads stopped at any moment, starting, idle or at work', () => {
    const path = join(dir, 'stopped.json.gz');
    writeFileSync(path, gzipSync(pseudoRandomBytes(2 * 1024 * 1024, 7), { level: 1 }));
    // Each process starts a pool, gives it work, and exits at a random moment (the pool's
    // threads are stopped with it, wherever they are).
    const script = `
      import { createNodePlatform } from ${JSON.stringify(join(ROOT, 'dist', 'node.js'))};
      const p = createNodePlatform({ threads: 2 });
      p.offload.warm();
      const files = Array.from({ length: 40 }, (_, i) => ({ path: ${JSON.stringify(path)}, what: 'f' + i }));
      void p.offload.hashFiles(files, { gzip: true });
      setTimeout(() => process.exit(0), Number(process.argv[1]));`;
    for (let i = 0; i < 24; i++) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, String((i * 37) % 150)], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status, r.stderr).toBe(0);
    }
  });

  it('refuses a pool size that is no whole number from 0 to 1024', () => {
    for (const threads of [-1, 1.5, 1025, Number.NaN]) expect(() => createNodePlatform({ threads })).toThrow(TypeError);
    expect(createNodePlatform({ threads: 0 }).offload).toBeUndefined();
  });
});
