// The watcher's state store, with real parts: a local folder on disk (planted links, FIFOs and
// folders; a child process killed with SIGKILL mid-save) and S3 through the AWS SDK against
// s3rver behind a proxy that gives PUT Amazon S3's conditional-write semantics.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidateLogsError } from '../src/errors.js';
import { openStateStore } from '../src/watch/store.js';
import type { PassRecord, StateStore, WatchState } from '../src/watch/types.js';
import { putObject, startS3, type S3Server } from './helpers/aws.js';
import { startConditionalS3, type ConditionalS3 } from './helpers/s3-conditional.js';
import { ROOT } from './helpers/tamper.js';

const mkfifo = (path: string): void => {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr.toString()}`);
};

function state(passes = 0, trailArn = 'arn:aws:cloudtrail:us-east-1:111122223333:trail/t'): WatchState {
  return {
    format: 'validate-logs-watch-state/1',
    scope: { trailArn, bucket: 'b', accountId: '111122223333' },
    start: '2026-12-01T00:00:00Z',
    passes,
    chains: { 'us-east-1': { region: 'us-east-1', newestEnd: '2026-12-01T05:00:00Z', digests: passes, logs: 2 * passes, findings: {} } },
    sent: [{ key: 'k', id: '0123456789abcdef0123456789abcdef', type: 'finding', sentAt: '2026-12-01T05:10:00Z' }],
    outbox: [],
  };
}

function record(pass: number, startedAt: string, extra: Partial<PassRecord> = {}): PassRecord {
  const ended = new Date(Date.parse(startedAt) + 2000).toISOString();
  return {
    format: 'validate-logs-watch-pass/1',
    pass,
    startedAt,
    endedAt: ended,
    status: 'valid',
    range: { start: '2026-12-01T00:00:00Z', end: startedAt },
    chains: [{ region: 'us-east-1', digests: 1, logs: 2, invalid: 0, notices: 0, byCode: {}, verified: [] }],
    alerts: [],
    ...extra,
  };
}

async function all(store: StateStore, from?: Date, to?: Date): Promise<PassRecord[]> {
  const out: PassRecord[] = [];
  for await (const r of store.readHistory(from, to)) out.push(r);
  return out;
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (e) {
    if (isValidateLogsError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'no error';
}

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'vl-store-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const folder = (): string => join(base, `s${++n}`);

describe('the local state store', () => {
  it('makes its folder, saves and loads a state; the version is the SHA-256 of the bytes', async () => {
    const dir = join(folder(), 'deep', 'er');
    const store = openStateStore(dir);
    expect(await store.load()).toBeUndefined();
    expect(existsSync(dir)).toBe(false); // reading makes nothing
    const tag = await store.save(state(1), undefined);
    expect(tag).toMatch(/^[0-9a-f]{64}$/);
    const loaded = await store.load();
    expect(loaded).toEqual({ state: state(1), tag });
    const tag2 = await store.save(state(2), tag);
    expect(tag2).not.toBe(tag);
    expect((await store.load())?.state.passes).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['state.json']); // no lock, no temporary file left
  });

  it('refuses a save made from a version that is no longer there', async () => {
    const dir = folder();
    const store = openStateStore(dir);
    const tag = await store.save(state(1), undefined);
    expect(await codeOf(store.save(state(9), undefined))).toMatch(/^STATE_CONFLICT: .*state in .*s\d+ first \(it exists now\); nothing was written/);
    await store.save(state(2), tag);
    expect(await codeOf(store.save(state(9), tag))).toMatch(/^STATE_CONFLICT: .*it changed since it was read/);
    expect((await store.load())?.state.passes).toBe(2);
  });

  it('lets exactly one of two watchers saving from the same version win, every time', async () => {
    const dir = folder();
    const a = openStateStore(dir);
    const b = openStateStore(dir);
    let tag = await a.save(state(0), undefined);
    for (let round = 1; round <= 20; round++) {
      const results = await Promise.allSettled([a.save(state(round), tag), b.save(state(100 + round), tag)]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(isValidateLogsError(lost[0]!.reason, 'STATE_CONFLICT')).toBe(true);
      const loaded = (await a.load())!;
      expect(loaded.tag).toBe((won[0] as PromiseFulfilledResult<string>).value);
      tag = loaded.tag;
    }
    // Racing first saves too: one creates the state, the other is told.
    const fresh = folder();
    const first = await Promise.allSettled([openStateStore(fresh).save(state(1), undefined), openStateStore(fresh).save(state(2), undefined)]);
    expect(first.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it("breaks the lock of a process that is gone, and an old lock of another host, but waits for a live one's", async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const dir = folder();
    const store = openStateStore(dir);
    const tag = await store.save(state(1), undefined);
    writeFileSync(join(dir, 'state.lock'), JSON.stringify({ pid: Number(dead), host: hostname(), since: new Date().toISOString() }) + '\n');
    const tag2 = await store.save(state(2), tag);
    expect(existsSync(join(dir, 'state.lock'))).toBe(false);
    writeFileSync(join(dir, 'state.lock'), JSON.stringify({ pid: 1, host: 'elsewhere', since: '2026-01-01T00:00:00Z' }) + '\n');
    const tag3 = await store.save(state(3), tag2);
    expect(existsSync(join(dir, 'state.lock'))).toBe(false);
    // A live holder (this very process, on this host, just now): the save waits for its release.
    writeFileSync(join(dir, 'state.lock'), JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }) + '\n');
    const saving = store.save(state(4), tag3);
    let done = false;
    void saving.then(() => (done = true), () => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(done).toBe(false);
    rmSync(join(dir, 'state.lock'));
    await saving;
    expect((await store.load())?.state.passes).toBe(4);
  });

  it('never leaves a torn state when the writer is killed with SIGKILL at any moment; the next save cleans up', async () => {
    const dir = folder();
    const script = join(base, 'saver.mjs');
    // A watcher that saves as fast as it can, each state larger than a page or two.
    writeFileSync(
      script,
      `import { openStateStore } from ${JSON.stringify(join(ROOT, 'dist/watch/store.js'))};
const store = openStateStore(process.argv[2]);
const base = JSON.parse(process.argv[3]);
const pass = JSON.parse(process.argv[4]);
const loaded = await store.load();
let tag = loaded?.tag;
let passes = loaded?.state.passes ?? 0;
// As a watcher restarts: the last committed pass's line is written if a kill lost it.
if (loaded?.state.lastPass) await store.appendHistory(loaded.state.lastPass);
for (let first = true; ; first = false) {
  passes++;
  const startedAt = new Date(Date.parse('2026-12-02T00:00:00Z') + passes * 1000).toISOString();
  const lastPass = { ...pass, pass: passes, startedAt, endedAt: startedAt };
  const sent = Array.from({ length: 40 + (passes % 60) }, (_, i) => ({ key: 'k' + i + 'x'.repeat(80), id: '0123456789abcdef0123456789abcdef', type: 'finding', sentAt: '2026-12-01T05:10:00Z' }));
  tag = await store.save({ ...base, passes, sent, lastPass }, tag);
  await store.appendHistory(lastPass);
  if (first) process.stdout.write('ready\\n'); // one pass committed: killed from now on at any moment
}
`,
    );
    const store = openStateStore(dir);
    let last = 0;
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, [script, dir, JSON.stringify(state(0)), JSON.stringify(record(1, '2026-12-02T00:00:00Z'))], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the saver exited with ${code} before its first pass`)));
      });
      await new Promise((resolve) => setTimeout(resolve, 30 + Math.random() * 200));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const loaded = await store.load(); // whole, or it would throw STATE_INVALID
      expect(loaded).toBeDefined();
      expect(loaded!.state.passes).toBeGreaterThanOrEqual(last);
      last = loaded!.state.passes;
      const history = await all(store); // a torn last line is skipped, never an error
      expect(history.map((r) => r.pass)).toEqual(history.map((_, i) => i + 1));
      expect(history.length).toBeGreaterThanOrEqual(last - 1); // the state is written before its pass's line
      expect(history.length).toBeLessThanOrEqual(last);
    }
    // The next save breaks the dead writer's lock and removes its temporary files.
    const loaded = (await store.load())!;
    await store.appendHistory(loaded.state.lastPass!);
    const next = record(loaded.state.passes + 1, new Date(Date.parse('2026-12-02T00:00:00Z') + (loaded.state.passes + 1) * 1000).toISOString());
    await store.save({ ...loaded.state, passes: loaded.state.passes + 1, lastPass: next }, loaded.tag);
    await store.appendHistory(next);
    expect((await all(store)).map((r) => r.pass)).toEqual(Array.from({ length: next.pass }, (_, i) => i + 1)); // no pass lost
    expect(readdirSync(dir).sort()).toEqual(['history', 'state.json']);
    const text = readFileSync(join(dir, 'history', '2026-12-02.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as PassRecord).pass)).toEqual((await all(store)).map((r) => r.pass));
  }, 60_000);

  it('refuses a link, FIFO or folder planted at each of its files, never following or blocking on it', async () => {
    const outside = join(base, 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'state.json'), JSON.stringify(state(7)));
    writeFileSync(join(outside, 'note'), 'untouched');
    const plants: [string, (p: string) => void][] = [
      ['a symbolic link', (p) => symlinkSync(join(outside, 'state.json'), p)],
      ['a FIFO', (p) => mkfifo(p)],
      ['a folder', (p) => mkdirSync(p)],
    ];
    for (const [kind, plant] of plants) {
      // state.json: not read.
      let dir = folder();
      mkdirSync(dir);
      plant(join(dir, 'state.json'));
      expect(await codeOf(openStateStore(dir).load())).toMatch(new RegExp(`^STATE_INVALID: .*state\\.json is ${kind}`));
      expect(await codeOf(openStateStore(dir).save(state(1), undefined))).toMatch(/^STATE_INVALID: .*state\.json/);
      // state.lock: not taken over.
      dir = folder();
      await openStateStore(dir).save(state(1), undefined);
      plant(join(dir, 'state.lock'));
      expect(await codeOf(openStateStore(dir).save(state(2), (await openStateStore(dir).load())!.tag))).toMatch(/^STATE_INVALID: .*state\.lock is .*not a watcher's lock/);
      // history/ and a day file in it.
      dir = folder();
      mkdirSync(dir);
      plant(join(dir, 'history'));
      expect(await codeOf(openStateStore(dir).appendHistory(record(1, '2026-12-02T00:00:00Z')))).toMatch(kind === 'a folder' ? /^no error/ : /^(OUTPUT_UNSAFE|STATE_INVALID): .*history/);
      if (kind !== 'a folder') expect(await codeOf(all(openStateStore(dir)))).toMatch(/^STATE_INVALID: .*history is /);
      dir = folder();
      mkdirSync(join(dir, 'history'), { recursive: true });
      plant(join(dir, 'history', '2026-12-02.jsonl'));
      expect(await codeOf(openStateStore(dir).appendHistory(record(1, '2026-12-02T00:00:00Z')))).toMatch(new RegExp(`^STATE_INVALID: .*2026-12-02\\.jsonl is ${kind}`));
      expect(await codeOf(all(openStateStore(dir)))).toMatch(new RegExp(`^STATE_INVALID: .*2026-12-02\\.jsonl is ${kind}`));
      // checkpoint.note: not written through.
      dir = folder();
      mkdirSync(dir);
      if (kind === 'a symbolic link') symlinkSync(join(outside, 'note'), join(dir, 'checkpoint.note'));
      else plant(join(dir, 'checkpoint.note'));
      expect(await codeOf(openStateStore(dir).publishCheckpoint('a note\n'))).toMatch(/^OUTPUT_UNSAFE: .*checkpoint\.note/);
      // The state folder itself.
      dir = folder();
      if (kind === 'a symbolic link') symlinkSync(outside, dir);
      else if (kind === 'a FIFO') mkfifo(dir);
      else writeFileSync(dir, 'a file');
      expect(await codeOf(openStateStore(dir).load())).toMatch(/^OUTPUT_UNSAFE: the state folder .* is (a symbolic link|a FIFO \(named pipe\)|a regular file), not a folder/);
      expect(await codeOf(openStateStore(dir).save(state(1), undefined))).toMatch(/^OUTPUT_UNSAFE/);
    }
    expect(readFileSync(join(outside, 'note'), 'utf8')).toBe('untouched');
    expect(JSON.parse(readFileSync(join(outside, 'state.json'), 'utf8'))).toEqual(state(7));
  });

  it('refuses a state.json that is not a state, naming the file and what is wrong; exposes the scope as stored', async () => {
    const cases: [string | Buffer, RegExp][] = [
      ['not json', /state\.json is not a watcher's state: is not JSON/],
      [Buffer.from([0xff, 0xfe, 0x00]), /is not UTF-8 text/],
      [JSON.stringify({ ...state(1), format: 'validate-logs-watch-state/2' }), /format is "validate-logs-watch-state\/2", not "validate-logs-watch-state\/1"/],
      [JSON.stringify({ ...state(1), passes: -1 }), /state\.passes is not a whole number/],
      [JSON.stringify({ ...state(1), scope: { bucket: 'b', accountId: '1' } }), /scope\.trailArn is missing/],
      [JSON.stringify({ ...state(1), chains: { 'us-east-1': { region: 'eu-west-1', digests: 0, logs: 0, findings: {} } } }), /chains\["us-east-1"\]\.region is not "us-east-1"/],
      [JSON.stringify({ ...state(1), sent: [{ key: 'k', id: 'i', type: 'finding', sentAt: 'yesterday' }] }), /sent\[0\]\.sentAt is not a UTC ISO 8601 time/],
      [JSON.stringify({ ...state(1), outbox: [{ alert: { id: 'x' }, destinations: [], attempts: 0 }] }), /outbox\[0\]\.alert\.key is missing/],
      [JSON.stringify({ ...state(1), lastPass: { ...record(1, '2026-12-02T00:00:00Z'), status: 'fine' } }), /lastPass\.status is not valid, invalid or error/],
      [JSON.stringify([1, 2]), /the document is not an object/],
    ];
    for (const [content, why] of cases) {
      const dir = folder();
      mkdirSync(dir);
      writeFileSync(join(dir, 'state.json'), content);
      const error = await codeOf(openStateStore(dir).load());
      expect(error).toMatch(/^STATE_INVALID: /);
      expect(error).toMatch(why);
    }
    // Huge: refused by its size, unread (a sparse file of 64 MiB + 1 byte).
    const dir = folder();
    mkdirSync(dir);
    writeFileSync(join(dir, 'state.json'), '');
    truncateSync(join(dir, 'state.json'), 64 * 1024 * 1024 + 1);
    expect(await codeOf(openStateStore(dir).load())).toMatch(/^STATE_INVALID: .*state\.json is larger than 67108864 bytes/);
    // Another trail's state loads: the scope is the watcher's to check.
    const other = folder();
    await openStateStore(other).save(state(3, 'arn:aws:cloudtrail:eu-west-1:444455556666:trail/other'), undefined);
    expect((await openStateStore(other).load())?.state.scope.trailArn).toBe('arn:aws:cloudtrail:eu-west-1:444455556666:trail/other');
    // A malformed state is refused before it is written.
    expect(await codeOf(openStateStore(folder()).save({ ...state(1), passes: 1.5 }, undefined))).toMatch(/^STATE_INVALID: refusing to write a malformed state/);
  });

  it('appends each pass once to its UTC day file, repairs a torn last line, reads ranges in pass order', async () => {
    const dir = folder();
    const store = openStateStore(dir);
    await store.appendHistory(record(1, '2026-12-01T23:58:00Z'));
    await store.appendHistory(record(2, '2026-12-02T00:03:00Z'));
    await store.appendHistory(record(2, '2026-12-02T00:03:00Z')); // again: not written twice
    expect(readdirSync(join(dir, 'history')).sort()).toEqual(['2026-12-01.jsonl', '2026-12-02.jsonl']);
    appendFileSync(join(dir, 'history', '2026-12-02.jsonl'), '{"format":"validate-logs-watch-pass/1","pass":3,"sta'); // a killed writer
    expect((await all(store)).map((r) => r.pass)).toEqual([1, 2]);
    await store.appendHistory(record(3, '2026-12-02T00:08:00Z'));
    await store.appendHistory(record(4, '2026-12-03T00:00:00Z'));
    expect(readFileSync(join(dir, 'history', '2026-12-02.jsonl'), 'utf8').split('\n').map((l) => (l ? (JSON.parse(l) as PassRecord).pass : ''))).toEqual([2, 3, '']);
    expect((await all(store)).map((r) => r.pass)).toEqual([1, 2, 3, 4]);
    expect((await all(store, new Date('2026-12-02T00:00:00Z'), new Date('2026-12-02T00:08:00Z'))).map((r) => r.pass)).toEqual([2]);
    expect((await all(store, new Date('2026-12-02T00:03:00Z'))).map((r) => r.pass)).toEqual([2, 3, 4]);
    // Only the days that can hold the range are read: a bad file on another day is not seen...
    writeFileSync(join(dir, 'history', '2026-11-30.jsonl'), 'garbage\n');
    writeFileSync(join(dir, 'history', 'notes.txt'), 'ignored');
    expect((await all(store, new Date('2026-12-01T00:00:00Z'), new Date('2026-12-04T00:00:00Z'))).map((r) => r.pass)).toEqual([1, 2, 3, 4]);
    // ...and one in range is an error naming the file and the line.
    writeFileSync(join(dir, 'history', '2026-11-30.jsonl'), JSON.stringify(record(9, '2026-11-30T01:00:00Z')) + '\n' + JSON.stringify({ ...record(10, '2026-11-30T02:00:00Z'), pass: 'ten' }) + '\n');
    expect(await codeOf(all(store))).toMatch(/^STATE_INVALID: .*2026-11-30\.jsonl line 2 is not a pass record: the record\.pass is not a whole number/);
    expect(await codeOf(store.appendHistory({ ...record(5, '2026-12-03T01:00:00Z'), startedAt: 'soon' }))).toMatch(/^STATE_INVALID: refusing to write a malformed pass record/);
    // A day file over its bound (a sparse 256 MiB + 1 byte) is refused by its size, unread.
    writeFileSync(join(dir, 'history', '2026-12-09.jsonl'), '');
    truncateSync(join(dir, 'history', '2026-12-09.jsonl'), 256 * 1024 * 1024 + 1);
    expect(await codeOf(all(store, new Date('2026-12-09T00:00:00Z')))).toMatch(/^STATE_INVALID: .*2026-12-09\.jsonl is larger than 268435456 bytes/);
    expect(await codeOf(store.appendHistory(record(99, '2026-12-09T01:00:00Z')))).toMatch(/^STATE_INVALID: .*2026-12-09\.jsonl is larger than 268435456 bytes; nothing was appended/);
    rmSync(join(dir, 'history', '2026-12-09.jsonl'));
    // Killed after a whole record but before its newline: the record is kept, and the next line starts on a line of its own.
    appendFileSync(join(dir, 'history', '2026-12-03.jsonl'), JSON.stringify(record(5, '2026-12-03T01:00:00Z')));
    expect((await all(store, new Date('2026-12-03T00:00:00Z'))).map((r) => r.pass)).toEqual([4, 5]);
    await store.appendHistory(record(5, '2026-12-03T01:00:00Z')); // the restart writes it again: not twice
    await store.appendHistory(record(6, '2026-12-03T02:00:00Z'));
    expect(readFileSync(join(dir, 'history', '2026-12-03.jsonl'), 'utf8').split('\n').map((l) => (l ? (JSON.parse(l) as PassRecord).pass : ''))).toEqual([4, 5, 6, '']);
  });

  it('writes checkpoint.note whole', async () => {
    const dir = folder();
    await openStateStore(dir).publishCheckpoint('note one\n');
    await openStateStore(dir).publishCheckpoint('note two\n');
    expect(readFileSync(join(dir, 'checkpoint.note'), 'utf8')).toBe('note two\n');
    expect(readdirSync(dir)).toEqual(['checkpoint.note']);
  });
});

describe('the S3 state store (the AWS SDK against s3rver behind a conditional-write proxy)', () => {
  let s3: S3Server;
  let proxy: ConditionalS3;
  const saved: Record<string, string | undefined> = {};
  beforeAll(async () => {
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) saved[k] = process.env[k];
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    process.env.AWS_REGION = 'us-east-1';
    s3 = await startS3(['state']);
    proxy = await startConditionalS3(s3.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await s3?.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const s3Store = (prefix: string): StateStore => openStateStore(`s3://state/${prefix}/`, { endpoint: proxy.url });

  it('the proxy: If-None-Match: * and If-Match as S3 has them, serialized per key', async () => {
    const url = `${proxy.url}/state/proxy/object`;
    const put = (headers: Record<string, string>, body: string): Promise<Response> => fetch(url, { method: 'PUT', headers, body });
    const first = await put({ 'if-none-match': '*' }, 'one');
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect((await put({ 'if-none-match': '*' }, 'two')).status).toBe(412);
    expect(await (await put({ 'if-match': '"0000"' }, 'two')).text()).toContain('<Code>PreconditionFailed</Code>');
    expect((await put({ 'if-match': etag }, 'two')).status).toBe(200);
    expect((await put({ 'if-match': etag }, 'three')).status).toBe(412); // the ETag changed
    expect((await fetch(`${proxy.url}/state/proxy/absent`, { method: 'PUT', headers: { 'if-match': etag }, body: 'x' })).status).toBe(412);
    expect(await (await fetch(url)).text()).toBe('two');
    // Two racing creations, the check held open: exactly one wins.
    proxy.holdMs = 100;
    try {
      const statuses = await Promise.all([1, 2, 3].map((i) => fetch(`${proxy.url}/state/proxy/race`, { method: 'PUT', headers: { 'if-none-match': '*' }, body: `w${i}` }).then((r) => r.status)));
      expect(statuses.sort()).toEqual([200, 412, 412]);
    } finally {
      proxy.holdMs = 0;
    }
    // An unconditional PUT passes untouched.
    expect((await put({}, 'four')).status).toBe(200);
    // Read after write: a GET right after a PUT's answer reads the whole object (s3rver alone can answer early).
    for (let i = 0; i < 30; i++) {
      const body = `${i}:`.padEnd(256 * 1024 + i, 'x');
      expect((await put({}, body)).status).toBe(200);
      expect((await (await fetch(url)).text()).length).toBe(body.length);
    }
  }, 30_000);

  it('saves, loads, and refuses a write from a stale ETag or a second first write', async () => {
    const store = s3Store('round');
    expect(await store.load()).toBeUndefined();
    const tag = await store.save(state(1), undefined);
    expect(await store.load()).toEqual({ state: state(1), tag });
    expect(await codeOf(store.save(state(2), undefined))).toMatch(/^STATE_CONFLICT: another watcher wrote the state at s3:\/\/state\/round\/state\.json first \(it exists now\)/);
    const tag2 = await store.save(state(2), tag);
    expect(await codeOf(store.save(state(3), tag))).toMatch(/^STATE_CONFLICT: .*its ETag is no longer/);
    expect((await store.load())?.tag).toBe(tag2);
    // The SDK sent the conditions (the proxy saw them).
    expect(proxy.puts.filter((p) => p.path === '/state/round/state.json').map((p) => `${p.condition.split(':')[0]} ${p.status}`)).toEqual([
      'If-None-Match 200',
      'If-None-Match 412',
      'If-Match 200',
      'If-Match 412',
    ]);
  });

  it('lets exactly one of two racing saves from one ETag win', async () => {
    const a = s3Store('race');
    const b = s3Store('race');
    let tag = await a.save(state(0), undefined);
    proxy.holdMs = 30;
    try {
      for (let round = 1; round <= 5; round++) {
        const results = await Promise.allSettled([a.save(state(round), tag), b.save(state(50 + round), tag)]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
        expect(isValidateLogsError(lost.reason, 'STATE_CONFLICT')).toBe(true);
        tag = (await a.load())!.tag;
      }
    } finally {
      proxy.holdMs = 0;
    }
  });

  it('appends the history once per pass, also when two appends race, and reads ranges', async () => {
    const store = s3Store('hist');
    await Promise.all([store.appendHistory(record(1, '2026-12-02T00:00:00Z')), s3Store('hist').appendHistory(record(2, '2026-12-02T00:05:00Z'))]);
    await store.appendHistory(record(2, '2026-12-02T00:05:00Z'));
    await store.appendHistory(record(3, '2026-12-03T00:00:00Z'));
    expect((await all(store)).map((r) => r.pass)).toEqual([1, 2, 3]);
    expect((await all(store, new Date('2026-12-02T00:01:00Z'), new Date('2026-12-03T00:00:00Z'))).map((r) => r.pass)).toEqual([2]);
    // A planted object whose name is not a day file is ignored; a malformed day object is refused.
    await putObject(s3.url, 'state', 'hist/history/2026-12-04.jsonl/x', Buffer.from('junk'), {});
    await putObject(s3.url, 'state', 'hist/history/2026-12-05.jsonl', Buffer.from('{"format":1}\n'), {});
    expect(await codeOf(all(store, new Date('2026-12-02T00:00:00Z'), new Date('2026-12-05T00:00:00Z')))).toBe('no error');
    expect(await codeOf(all(store))).toMatch(/^STATE_INVALID: s3:\/\/state\/hist\/history\/2026-12-05\.jsonl line 1 is not a pass record/);
    // A day object that ends in part of a line is never rewritten from (what follows the cut would be lost).
    const torn = JSON.stringify(record(1, '2026-12-06T00:00:00Z')) + '\n{"format":"validate-logs-wat';
    await putObject(s3.url, 'state', 'hist/history/2026-12-06.jsonl', Buffer.from(torn), {});
    expect(await codeOf(store.appendHistory(record(2, '2026-12-06T01:00:00Z')))).toMatch(/^STATE_INVALID: s3:\/\/state\/hist\/history\/2026-12-06\.jsonl ends in part of a line, which a watcher never writes; nothing was appended/);
    expect(await (await fetch(`${s3.url}/state/hist/history/2026-12-06.jsonl`)).text()).toBe(torn);
  }, 30_000);

  it('refuses a state object that is not a state', async () => {
    await putObject(s3.url, 'state', 'bad/state.json', Buffer.from('<html>not json</html>'), {});
    expect(await codeOf(s3Store('bad').load())).toMatch(/^STATE_INVALID: s3:\/\/state\/bad\/state\.json is not a watcher's state: is not JSON/);
    await putObject(s3.url, 'state', 'bad2/state.json', Buffer.from(JSON.stringify({ ...state(1), format: 'x' })), {});
    expect(await codeOf(s3Store('bad2').load())).toMatch(/^STATE_INVALID: .*format is "x"/);
  });

  it('publishes checkpoint.note', async () => {
    await s3Store('note').publishCheckpoint('a note\n');
    expect(await (await fetch(`${s3.url}/state/note/checkpoint.note`)).text()).toBe('a note\n');
  });
});
