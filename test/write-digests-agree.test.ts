// What write-digests exits 0 on, validate-logs accepts in full; what it cannot write soundly it
// refuses, naming the reason and the object, with nothing half-written. The commands run as a
// user runs them: child processes of the built dist on a local copy.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { node } from './helpers/cli.js';
import { LocalDirectory, createSigner, writeDigests } from './helpers/lib.js';
import {
  ACCOUNT, BUCKET, DIGEST_FOLDER, HOUR, KEY_A, KEY_B, digestEnd, digestFiles, files, leftovers, putLog, start, validateArgs, writeArgs,
} from './helpers/own-logs.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'vl-agree-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const T0 = new Date('2025-02-03T00:00:00Z');
const at = (hours: number, minutes = 0): Date => new Date(T0.getTime() + hours * HOUR + minutes * 60_000);

/** A bucket with a log in each of the first `hours` hours, named and modified at ten past. */
function bucket(hours: number): string {
  const dir = tempDir();
  for (let h = 0; h < hours; h++) putLog(dir, at(h, 10), at(h, 10), h);
  return dir;
}

/** Run `node ARGS` (the script first). */
const write = (args: string[]): ReturnType<typeof node> => node(args[0]!, args.slice(1));

/** validate-logs accepts every digest and log from T0 to `end`. */
async function expectAccepted(dir: string, end: Date, keys: string): Promise<void> {
  const v = await write(validateArgs(dir, T0, end, keys));
  expect(v.stderr).toBe('');
  expect(v.stdout).not.toMatch(/INVALID|not valid|NOT_VALID/i);
  expect(v.status, v.stdout).toBe(0);
}

/**
 * A bucket of `hours` hours where key A signs hour 0 and B hour 1, each run given the key file
 * (A retired at 1), then A signs again up to the hour before the last and B the last, neither
 * run given the file: A's return is recorded by no run of A.
 */
async function retiredKeyReturns(hours: number): Promise<{ dir: string; keys: string }> {
  const dir = bucket(hours);
  const keys = join(tempDir(), 'keys.json');
  expect((await write(writeArgs(dir, at(1), ['--public-keys-out', keys]))).status).toBe(0);
  expect((await write(writeArgs(dir, at(2), ['--public-keys-out', keys], KEY_B))).status).toBe(0);
  expect((await write(writeArgs(dir, at(hours - 1)))).status).toBe(0);
  expect((await write(writeArgs(dir, at(hours), [], KEY_B))).status).toBe(0);
  return { dir, keys };
}

type KeyList = { PublicKeyList: Array<{ ValidityStartTime: string; ValidityEndTime: string }> };
/** The validity windows in a key file, oldest first. */
const windows = (keys: string): string[][] =>
  (JSON.parse(readFileSync(keys, 'utf8')) as KeyList).PublicKeyList.map((k) => [k.ValidityStartTime, k.ValidityEndTime]).sort((x, y) => x[0]!.localeCompare(y[0]!));

describe("the key file's window comes from the chain", () => {
  it.each([
    ['a later run with it that writes more', 6, at(6), /^Wrote 3 digest files/m],
    ['a later run with it that writes nothing', 3, at(3, 30), /^Nothing to write/m],
  ])('a first run without --public-keys-out, %s: the window starts at the oldest digest', async (_, hours, until, said) => {
    const dir = bucket(hours);
    const keys = join(tempDir(), 'keys.json');
    expect((await write(writeArgs(dir, at(3)))).status).toBe(0);
    const second = await write(writeArgs(dir, until, ['--public-keys-out', keys]));
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(said);
    expect(windows(keys)).toEqual([['2025-02-03T00:00:00Z', '9999-12-31T23:59:59Z']]);
    await expectAccepted(dir, at(hours), keys);
  });

  it('a key file whose window starts too late (an older run wrote it) is corrected; a right one is left byte for byte', async () => {
    const dir = bucket(4);
    const keys = join(tempDir(), 'keys.json');
    expect((await write(writeArgs(dir, at(2)))).status).toBe(0);
    expect((await write(writeArgs(dir, at(4), ['--public-keys-out', keys]))).status).toBe(0);
    // As the earlier version wrote it: valid from the second run's first digest.
    writeFileSync(keys, readFileSync(keys, 'utf8').replace('2025-02-03T00:00:00Z', '2025-02-03T02:00:00Z'));
    expect((await write(writeArgs(dir, at(4), ['--public-keys-out', keys]))).status).toBe(0);
    expect(windows(keys)).toEqual([['2025-02-03T00:00:00Z', '9999-12-31T23:59:59Z']]);
    const right = readFileSync(keys);
    expect((await write(writeArgs(dir, at(4, 30), ['--public-keys-out', keys]))).status).toBe(0);
    expect(readFileSync(keys).equals(right)).toBe(true);
    await expectAccepted(dir, at(4), keys);
  });

  it("a digest planted before the key's first, naming the key but not signed by it, does not widen the window", async () => {
    const dir = bucket(3);
    const keys = join(tempDir(), 'keys.json');
    expect((await write(writeArgs(dir, at(3)))).status).toBe(0);
    const folder = join(dir, DIGEST_FOLDER, '2025/02/03');
    const first = digestFiles(dir)[0]!;
    const record = JSON.parse(gunzipSync(readFileSync(join(dir, first))).toString('utf8')) as Record<string, unknown>;
    const name = first.split('/').pop()!.replace('20250203T010000Z', '20250203T000000Z');
    const forged = { ...record, digestStartTime: '2025-02-02T23:00:00Z', digestEndTime: '2025-02-03T00:00:00Z', digestS3Object: `${DIGEST_FOLDER}/2025/02/03/${name}` };
    writeFileSync(join(folder, name), gzipSync(JSON.stringify(forged)));
    writeFileSync(join(folder, `${name}.metadata.json`), readFileSync(join(dir, `${first}.metadata.json`)));
    expect((await write(writeArgs(dir, at(3), ['--public-keys-out', keys]))).status).toBe(0);
    expect(windows(keys)).toEqual([['2025-02-03T00:00:00Z', '9999-12-31T23:59:59Z']]);
  });

  it('a rotation after runs without the key file, and back to the first key: every digest is covered', async () => {
    const dir = bucket(9);
    const keys = join(tempDir(), 'keys.json');
    expect((await write(writeArgs(dir, at(2), ['--public-keys-out', keys]))).status).toBe(0); // A 0-2
    expect((await write(writeArgs(dir, at(4), [], KEY_B))).status).toBe(0); // B 2-4, no key file
    expect((await write(writeArgs(dir, at(6), ['--public-keys-out', keys], KEY_B))).status).toBe(0); // B 4-6
    expect(windows(keys)).toEqual([
      ['2025-02-03T00:00:00Z', '2025-02-03T02:00:00Z'],
      ['2025-02-03T02:00:00Z', '9999-12-31T23:59:59Z'],
    ]);
    expect((await write(writeArgs(dir, at(9), ['--public-keys-out', keys]))).status).toBe(0); // A again 6-9
    expect(windows(keys)).toEqual([
      ['2025-02-03T00:00:00Z', '2025-02-03T02:00:00Z'],
      ['2025-02-03T02:00:00Z', '2025-02-03T06:00:00Z'],
      ['2025-02-03T06:00:00Z', '9999-12-31T23:59:59Z'],
    ]);
    await expectAccepted(dir, at(9), keys);
  });

  it("a retired key that signs again is not made valid by another key's later run: validate-logs names its digest", async () => {
    const { dir, keys } = await retiredKeyReturns(4); // A again 2-3, B 3-4
    const last = await write(writeArgs(dir, at(4, 30), ['--public-keys-out', keys, '--output', 'json'], KEY_B));
    expect(last.status, last.stderr).toBe(0);
    // Neither run with the file saw A's return as the chain's newest: A's window stays closed.
    expect(windows(keys)).toEqual([
      ['2025-02-03T00:00:00Z', '2025-02-03T01:00:00Z'],
      ['2025-02-03T01:00:00Z', '9999-12-31T23:59:59Z'],
    ]);
    // The run says so, naming the digest, the key, its window and what validate-logs will report.
    const said = new RegExp(
      `^write-digests: warning: s3://${BUCKET}/${DIGEST_FOLDER}/2025/02/03/\\S+_20250203T030000Z\\.json\\.gz is signed by key [0-9a-f]{32}, which ${keys.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ` +
        `makes valid only from 2025-02-03T00:00:00Z to 2025-02-03T01:00:00Z: validate-logs with this file will report it \\(DIGEST_KEY_NOT_VALID\\); ` +
        `a key's turn is recorded only by a run of that key given --public-keys-out while its digests are the chain's newest\\n$`,
    );
    expect(last.stderr).toMatch(said);
    expect((JSON.parse(last.stdout) as { warnings: string[] }).warnings).toEqual([last.stderr.replace('write-digests: warning: ', '').trimEnd()]);
    const v = await write(validateArgs(dir, T0, at(4), keys, ['--output', 'json']));
    expect(v.status).toBe(1);
    const bad = (JSON.parse(v.stdout) as { findings: Array<{ code: string; severity: string; key: string; message: string }> }).findings.filter((f) => f.severity !== 'valid');
    expect(bad.map((f) => [f.code, f.key.split('_').pop()])).toEqual([['DIGEST_KEY_NOT_VALID', '20250203T030000Z.json.gz']]);
    expect(bad[0]!.message).toMatch(/valid from 2025-02-03T00:00:00Z to 2025-02-03T01:00:00Z, not at 2025-02-03T03:00:00Z/);
    // Said once: the file's time marks the check (its bytes untouched), and a later run checks
    // only digests stored since (less a margin of 15 minutes for clocks): as an hour later.
    const bytes = readFileSync(keys);
    const ago = (hours: number): Date => new Date(Date.now() - hours * HOUR);
    for (const f of digestFiles(dir)) utimesSync(join(dir, f), ago(3), ago(3));
    utimesSync(keys, ago(2), ago(2));
    const again = await write(writeArgs(dir, at(4, 40), ['--public-keys-out', keys], KEY_B));
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    expect(readFileSync(keys).equals(bytes)).toBe(true);
    expect(statSync(keys).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it('a run given the key file names the digests of a key the file does not hold, once per key', async () => {
    const dir = bucket(3);
    const keys = join(tempDir(), 'keys.json');
    expect((await write(writeArgs(dir, at(2), [], KEY_B))).status).toBe(0); // B 0-2, never recorded
    const r = await write(writeArgs(dir, at(3), ['--public-keys-out', keys])); // A 2-3
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^write-digests: warning: 2 digests, from s3:\/\/\S+_20250203T010000Z\.json\.gz to s3:\/\/\S+_20250203T020000Z\.json\.gz, are named key [0-9a-f]{32}, which \S+ does not hold: validate-logs with this file will report them \(DIGEST_KEY_NOT_FOUND\)/);
    expect(windows(keys)).toEqual([['2025-02-03T02:00:00Z', '9999-12-31T23:59:59Z']]);
  });

  it("a digest naming a key with control characters for a fingerprint is named in one line, the fingerprint quoted", async () => {
    const dir = bucket(3);
    const keys = join(tempDir(), 'keys.json');
    expect((await write(writeArgs(dir, at(2), [], KEY_B))).status).toBe(0); // B 0-2, never recorded
    const first = join(dir, digestFiles(dir)[0]!);
    const record = JSON.parse(gunzipSync(readFileSync(first)).toString('utf8')) as Record<string, unknown>;
    writeFileSync(first, gzipSync(JSON.stringify({ ...record, digestPublicKeyFingerprint: '\u001b]0;owned\u0007\nwrite-digests: all fine' })));
    const r = await write(writeArgs(dir, at(3), ['--public-keys-out', keys])); // A 2-3
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(lines.map((l) => /named key (\S+?|".*?"), which/.exec(l)?.[1])).toEqual([expect.stringMatching(/^[0-9a-f]{32}$/), '"\\u001b]0;owned\\u0007\\nwrite-digests: all fine"']);
  });

  it("a retired key's digests with a signature that does not verify or none, and a FIFO or links among the digests, are left to validate-logs, never a stop", async () => {
    const { dir, keys } = await retiredKeyReturns(5); // A again 2-4, B 4-5
    const [, , third, fourth] = digestFiles(dir);
    const sidecar = join(dir, `${third!}.metadata.json`);
    const meta = JSON.parse(readFileSync(sidecar, 'utf8')) as { signature: string };
    writeFileSync(sidecar, JSON.stringify({ signature: (meta.signature[0] === '0' ? '1' : '0') + meta.signature.slice(1) })); // A's 03:00: not A's signature
    rmSync(join(dir, `${fourth!}.metadata.json`)); // A's 04:00: unsigned
    const planted = (hhmm: string): string => join(dir, DIGEST_FOLDER, '2025/02/03', `${ACCOUNT}_CloudTrail-Digest_us-east-1_own-trail_us-east-1_20250203T${hhmm}00Z.json.gz`);
    execFileSync('mkfifo', [planted('0130')]);
    symlinkSync('/dev/zero', planted('0140'));
    symlinkSync(join(dir, 'nothing-here'), planted('0150'));
    const r = await write(writeArgs(dir, at(5, 30), ['--public-keys-out', keys], KEY_B));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const v = await write(validateArgs(dir, T0, at(5), keys, ['--output', 'json']));
    const bad = (JSON.parse(v.stdout) as { findings: Array<{ code: string; severity: string; key: string }> }).findings.filter((f) => f.severity === 'invalid');
    expect(bad.map((f) => f.code)).toEqual(expect.arrayContaining(['DIGEST_SIGNATURE_INVALID']));
    expect(v.status).toBe(1);
  });

  it("a retired key's return recorded while it is the newest gets a new window, and the key it returned over is closed at its own start", async () => {
    const dir = bucket(3);
    const keys = join(tempDir(), 'keys.json');
    // B recorded before any hour ended, then A: B retired at 00:12 with no digest signed.
    expect((await write(writeArgs(dir, at(0, 11), ['--public-keys-out', keys], KEY_B))).status).toBe(0);
    expect((await write(writeArgs(dir, at(0, 12), ['--public-keys-out', keys]))).status).toBe(0);
    expect((await write(writeArgs(dir, at(1, 12), [], KEY_B))).status).toBe(0); // B signs 0-1, no key file
    const recorded = await write(writeArgs(dir, at(1, 12), ['--public-keys-out', keys], KEY_B)); // its use recorded
    expect(recorded.status, recorded.stderr).toBe(0);
    expect(windows(keys)).toEqual([
      ['2025-02-03T00:00:00Z', '9999-12-31T23:59:59Z'], // B again, from its first digest
      ['2025-02-03T00:11:00Z', '2025-02-03T00:12:00Z'], // B before
      ['2025-02-03T00:12:00Z', '2025-02-03T00:12:00Z'], // A, which signed nothing since B's return began
    ]);
    expect((await write(writeArgs(dir, at(2, 12)))).status).toBe(0); // A signs 1-2, no key file
    const last = await write(writeArgs(dir, at(2, 12), ['--public-keys-out', keys]));
    expect(last.status, last.stderr).toBe(0);
    expect(windows(keys)).toEqual([
      ['2025-02-03T00:00:00Z', '2025-02-03T01:00:00Z'], // B closed where A's digests begin
      ['2025-02-03T00:11:00Z', '2025-02-03T00:12:00Z'],
      ['2025-02-03T00:12:00Z', '2025-02-03T00:12:00Z'],
      ['2025-02-03T01:00:00Z', '9999-12-31T23:59:59Z'], // A
    ]);
    await expectAccepted(dir, at(2), keys);
  });

  it("a new key recorded by a run whose --until is before the chain's end is valid from the chain's end, not before", async () => {
    const dir = bucket(3);
    const keys = join(tempDir(), 'keys.json');
    expect((await write(writeArgs(dir, at(3), ['--public-keys-out', keys]))).status).toBe(0); // A 0-3
    const early = await write(writeArgs(dir, at(1, 30), ['--public-keys-out', keys], KEY_B)); // nothing to write
    expect(early.status, early.stderr).toBe(0);
    expect(windows(keys)).toEqual([
      ['2025-02-03T00:00:00Z', '2025-02-03T03:00:00Z'],
      ['2025-02-03T03:00:00Z', '9999-12-31T23:59:59Z'],
    ]);
    await expectAccepted(dir, at(3), keys);
  });
});

describe('only closed hours are written', () => {
  it.each([
    ['far in the future', '2030-01-01'],
    ['an hour from now', new Date(Date.now() + HOUR).toISOString()],
    ['a minute from now', new Date(Date.now() + 60_000).toISOString()],
  ])('refuses --until %s with exit 2, one line naming the flag, and writes nothing', async (_, until) => {
    const dir = bucket(2);
    const r = await write(writeArgs(dir, until));
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--until .* is in the future .*only hours that have ended can be written/);
    expect(digestFiles(dir)).toEqual([]);
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('only closed hours are written, through the library too', () => {
  it('writeDigests refuses an until after now (a RangeError), and writes nothing', async () => {
    const dir = bucket(2);
    const signer = await createSigner(readFileSync(KEY_A, 'utf8'));
    const options = { storage: new LocalDirectory(dir, { bucket: BUCKET }), bucket: BUCKET, trail: { accountId: ACCOUNT, region: 'us-east-1', trailName: 'own-trail' }, signer };
    await expect(writeDigests({ ...options, until: at(3), now: at(2, 59) })).rejects.toThrow(RangeError);
    await expect(writeDigests({ ...options, until: new Date(Date.now() + 60_000) })).rejects.toThrow(/only hours that have ended can be written/);
    expect(digestFiles(dir)).toEqual([]);
    expect((await writeDigests({ ...options, until: at(2), now: at(2) })).written).toHaveLength(2);
  });
});

describe('a log whose modification time and name disagree', () => {
  const refused = async (dir: string, until: Date, key: string, before: string[]): Promise<void> => {
    const r = await write(writeArgs(dir, until));
    expect(r.status, r.stdout).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`s3://${BUCKET}/${key}`);
    expect(r.stderr).toMatch(/no digest was written|none was written/);
    expect(files(dir)).toEqual(before); // nothing written, nothing left
  };

  it.each([
    ['modified three hours after its name', 0, 10, 3 * 60 + 10],
    ['modified 70 minutes after its name', 1, 10, 140],
    ['modified an hour before its name', 3, 30, 2 * 60 + 30],
  ])('on a first run (%s) fails the run naming it, with nothing written', async (_, h, named, modified) => {
    const dir = bucket(5);
    const key = putLog(dir, at(h, named), at(0, modified), 99);
    await refused(dir, at(5), key, files(dir));
  });

  it('is accepted within the margin validate-logs allows (named 4 minutes before its hour, or 4 after it)', async () => {
    const dir = bucket(4);
    putLog(dir, at(1, -4), at(1, 1), 98);
    putLog(dir, at(3, 4), at(2, 59), 99);
    const keys = join(tempDir(), 'keys.json');
    const r = await write(writeArgs(dir, at(4), ['--public-keys-out', keys]));
    expect(r.status, r.stderr).toBe(0);
    await expectAccepted(dir, at(4), keys);
  });

  it.each([
    ['added after its hour was written (an old name, a new modification time)', (dir: string) => putLog(dir, at(1, 20), at(3, 20), 99)],
    ['modified before the newest digest ends, named after it (no digest would ever list it)', (dir: string) => putLog(dir, at(3, 30), at(1, 30), 99)],
    ['modified after the hours written, named inside them', (dir: string) => putLog(dir, at(3, 30), at(5, 5), 99)],
  ])('when continuing a chain (%s) fails the run naming it, with nothing written', async (_, plant) => {
    const dir = bucket(5);
    expect((await write(writeArgs(dir, at(2)))).status).toBe(0);
    const key = plant(dir);
    await refused(dir, at(5), key, files(dir));
  });
});

describe('write-digests stopped by a signal', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('on %s stores no more, leaves no temporary file, says how far the chain is whole, and exits %i', async (signal, code) => {
    // A long run: a log in the first hour, then a year of (empty) hours to write.
    const dir = bucket(1);
    const until = at(24 * 365);
    const keys = join(tempDir(), 'keys.json');
    const run = start(writeArgs(dir, until, ['--public-keys-out', keys]));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (run.stdout().split('\n').length > 20) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    run.child.kill(signal);
    const r = await run.ended;
    expect(r.status, r.stderr).toBe(code);
    const m = /^write-digests: interrupted; (\d+) digests? stored, the chain is whole up to (\S+) \(interrupted by SIG(INT|TERM).*\n$/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const stored = digestFiles(dir);
    expect(stored.length).toBe(Number(m![1]));
    expect(stored.length).toBeLessThan(24 * 365);
    expect(digestEnd(stored.at(-1)!)).toBe(m![2]);
    expect(leftovers(dir)).toEqual([]);
    const sidecars = files(dir, DIGEST_FOLDER).filter((f) => f.endsWith('.metadata.json'));
    expect(sidecars.sort()).toEqual(stored.map((f) => `${f}.metadata.json`).sort());
    // What is stored is a whole chain, and the next run completes it.
    const whole = new Date(m![2]!);
    const again = await write(writeArgs(dir, at(30), ['--public-keys-out', keys]));
    expect(again.status, again.stderr).toBe(0);
    await expectAccepted(dir, new Date(Math.max(whole.getTime(), at(30).getTime())), keys);
  }, 60_000);
});

describe('write-digests --output json stopped by a signal', () => {
  it('prints one document: not ok, the signal, every digest stored, and how far the chain is whole', async () => {
    const dir = bucket(1);
    const run = start(writeArgs(dir, at(24 * 365), ['--output', 'json']));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (digestFiles(dir).length > 20) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    run.child.kill('SIGINT');
    const r = await run.ended;
    expect(r.status, r.stderr).toBe(130);
    const doc = JSON.parse(run.stdout()) as { tool: string; ok: boolean; interrupted: string; stored: string[]; wholeUpTo: string };
    expect(doc).toMatchObject({ tool: 'write-digests', ok: false, interrupted: 'SIGINT' });
    const stored = digestFiles(dir);
    expect(doc.stored).toHaveLength(stored.length);
    expect(doc.wholeUpTo).toBe(digestEnd(stored.at(-1)!));
    expect(leftovers(dir)).toEqual([]);
  }, 60_000);
});

describe('what a killed run leaves', () => {
  it('validate-logs is not fooled by it nor chokes on it, and the next run removes it', async () => {
    const dir = bucket(3);
    const keys = join(tempDir(), 'keys.json');
    expect((await write(writeArgs(dir, at(2), ['--public-keys-out', keys]))).status).toBe(0);
    // As a SIGKILL leaves them: a process that is gone, its temporary files and its lock.
    const gone = start(['-e', '0']);
    const pid = gone.child.pid!;
    await gone.ended;
    const folder = join(dir, DIGEST_FOLDER, '2025/02/03');
    const next = `${ACCOUNT}_CloudTrail-Digest_us-east-1_own-trail_us-east-1_20250203T030000Z.json.gz`;
    const planted = [
      `${next}.tmp-${pid}-0123456789ab`,
      `${next}.metadata.json.tmp-${pid}-0123456789ab`,
      '.write-digests.lock',
    ];
    writeFileSync(join(folder, planted[0]!), 'half a digest');
    writeFileSync(join(folder, planted[1]!), '{"signature":');
    writeFileSync(join(dir, DIGEST_FOLDER, planted[2]!), JSON.stringify({ pid, host: hostname(), since: at(2).toISOString() }) + '\n');
    writeFileSync(`${keys}.tmp-${pid}-0123456789ab`, '{"PublicKeyList":[');
    const v = await write(validateArgs(dir, T0, at(2), keys, ['--output', 'json']));
    expect(v.status, v.stderr).toBe(0);
    const report = JSON.parse(v.stdout) as { findings: Array<{ severity: string }> };
    expect(report.findings.filter((f) => f.severity !== 'valid')).toEqual([]);
    const again = await write(writeArgs(dir, at(3), ['--public-keys-out', keys]));
    expect(again.status, again.stderr).toBe(0);
    expect(leftovers(dir)).toEqual([]);
    expect(readdirSync(dirname(keys))).toEqual(['keys.json']);
    await expectAccepted(dir, at(3), keys);
  });
});

describe('a run that starts a new chain beside other chains', () => {
  it('says so on stderr (a mistyped --account-id), and says nothing on a first run or when continuing', async () => {
    const dir = bucket(2);
    const first = await write(writeArgs(dir, at(2)));
    expect(first.status).toBe(0);
    expect(first.stderr).toBe('');
    const again = await write(writeArgs(dir, at(3)));
    expect(again.stderr).toBe('');
    const typo = writeArgs(dir, at(3)).map((a) => (a === ACCOUNT ? '111122223334' : a));
    const r = await write(typo);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^write-digests: note: no chain of trail own-trail for account 111122223334 in region us-east-1 here: starting a new one, though other chains are under the bucket \(account 111122223333, region us-east-1, trail own-trail\); check --account-id/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    const otherTrail = writeArgs(dir, at(3)).map((a) => (a === 'own-trail' ? 'own-trial' : a));
    expect((await write(otherTrail)).stderr).toMatch(/other chains are under the bucket \(account 111122223333, region us-east-1, trail own-trail/);
  });
});

describe('a key file that cannot be updated stops the run before any digest is written', () => {
  it.each<[string, (path: string) => void, RegExp]>([
    ['a FIFO', (p) => execFileSync('mkfifo', [p]), /--public-keys-out: refusing to write .*: it is a FIFO/],
    ['a folder', (p) => mkdirSync(p), /--public-keys-out: refusing to write .*: it is a folder/],
    ['a symbolic link', (p) => symlinkSync(join(tmpdir(), 'elsewhere.json'), p), /--public-keys-out: refusing to write .*: it is a symbolic link/],
    ['a file that is no key list', (p) => writeFileSync(p, '{"not":"keys"}'), /exists but is not a key list; not touching it/],
  ])('--public-keys-out is %s: exit 2 naming it, and the bucket unchanged', async (_, plant, message) => {
    const dir = bucket(4);
    const keys = join(tempDir(), 'keys.json');
    plant(keys);
    const before = files(dir);
    const r = await write(writeArgs(dir, at(4), ['--public-keys-out', keys]));
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(files(dir)).toEqual(before); // no digest written
  });
});

describe('write-digests --output json: one complete document on every exit', () => {
  it.each<[string, (dir: string, keys: string) => string[]]>([
    ['a future --until', (dir) => writeArgs(dir, new Date(Date.now() + 2 * HOUR), ['--output', 'json'])],
    ['a FIFO as --public-keys-out', (dir, keys) => (execFileSync('mkfifo', [keys]), writeArgs(dir, at(4), ['--output', 'json', '--public-keys-out', keys]))],
    ['an unknown flag', (dir) => writeArgs(dir, at(4), ['--output', 'json', '--no-such-flag'])],
  ])('%s: exit 2, stdout one document saying why, nothing written', async (_, args) => {
    const dir = bucket(4);
    const before = files(dir);
    const r = await write(args(dir, join(tempDir(), 'keys.json')));
    expect(r.status, r.stderr).toBe(2);
    const doc = JSON.parse(r.stdout) as { tool: string; ok: boolean; error: { code: string; message: string } };
    expect(doc).toMatchObject({ tool: 'write-digests', ok: false });
    expect(r.stderr).toContain(doc.error.message);
    expect(files(dir)).toEqual(before);
  });

  it('a run that succeeds prints its document whole', async () => {
    const r = await write(writeArgs(bucket(3), at(3), ['--output', 'json']));
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { written: unknown[] }).written).toHaveLength(3);
  });
});
