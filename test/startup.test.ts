// What the validate-logs command loads, run as a user runs it (the built bin in a fresh node
// process): a run over a local copy loads no AWS code, no time-stamp (ASN.1) code and none of the
// organization-scale commands, starts no hashing thread when it is small (a run, or a watch
// pass), and says exactly what it said before they were loaded lazily; --version and --help load
// none of the command.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHourlyChain } from './helpers/chains.js';
import { PublicKeySet, createSigner } from './helpers/lib.js';
import { writeResolveProbe } from './helpers/resolved.js';
import { run, sampleArgs, VALIDATE } from './helpers/cli.js';
import { ROOT } from './helpers/tamper.js';
import { compileCacheDir, useCompileCache } from '../src/cli/io.js';
import { isSmallLocalRun, SMALL_RUN_BYTES, SMALL_RUN_FILES } from '../src/cli/run-size.js';
import { digestFolder, logFolder, type TrailRef } from '../src/format/keys.js';

/** Counts the threads a process starts: each `worker_threads` Worker made adds a line to the file VL_WORKERS names. */
const WORKER_PROBE = `data:text/javascript,${encodeURIComponent(
  "import wt from 'node:worker_threads'; import { syncBuiltinESMExports } from 'node:module'; import { appendFileSync } from 'node:fs';" +
    'const Base = wt.Worker; wt.Worker = class extends Base { constructor(...a) { super(...a); appendFileSync(process.env.VL_WORKERS, "started\\n"); } }; syncBuiltinESMExports();',
)}`;

/** The AWS SDK and its Smithy runtime. */
const AWS_CODE = /\/node_modules\/@(aws-sdk|smithy|aws-crypto)\//;
/** The RFC 3161 time-stamp code and its ASN.1 helpers. */
const ASN1_CODE = /\/node_modules\/(pkijs|asn1js|pvtsutils|pvutils|bytestreamjs|@noble\/curves)\//;
/** The package's own online and organization-scale modules: the library's, or the program's files of them (`scale-HASH.js`). */
const ONLINE_OR_SCALE = /\/dist\/(scale\/|cli\/scale[.-]|sources\/(s3|s3-direct|sdk|cloudtrail|http)\.js|cli\/(s3|s3-direct|sdk|cloudtrail|http)-\w+\.js)/;
/** The package's own files. */
const PACKAGE_FILE = /\/dist\//;
/** The validate-logs command, which the program (its launcher, {@link VALIDATE}) loads for a run. */
const COMMAND = join(ROOT, 'dist', 'cli', 'validate-logs-command.js');

describe('what a validate-logs run loads', () => {
  let dir: string;
  let probeUrl: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vl-startup-'));
    probeUrl = writeResolveProbe(dir);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Run the built command with the probes: its output, the URLs the loader resolved and the threads it started. */
  async function probe(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string; urls: string[]; threads: number }> {
    const log = join(dir, `${name}.resolved`);
    const workers = join(dir, `${name}.workers`);
    writeFileSync(log, '');
    writeFileSync(workers, '');
    const r = await run(process.execPath, ['--import', probeUrl, '--import', WORKER_PROBE, VALIDATE, ...args], { VL_RESOLVED: log, VL_WORKERS: workers, NODE_OPTIONS: undefined, ...env });
    return { ...r, urls: readFileSync(log, 'utf8').split('\n').filter(Boolean), threads: readFileSync(workers, 'utf8').split('\n').filter(Boolean).length };
  }

  it('a run over a local copy loads no AWS SDK, no pkijs or asn1js, no S3 or CloudTrail code and no scale command, and says the same', async () => {
    const r = await probe('local', sampleArgs(join(ROOT, 'sample', 'bucket')));
    expect(r.status, r.stderr).toBe(0);
    // The probe saw the run: the launcher loaded the command, as one bundle and a few files it
    // shares with write-digests (no module of the library's own, which would be a second copy):
    // 21 files, where the modules one by one were 58.
    expect(r.urls).toContain(pathToFileURL(VALIDATE).href);
    expect(r.urls).toContain(pathToFileURL(COMMAND).href);
    const own = [...new Set(r.urls.filter((u) => PACKAGE_FILE.test(u)))];
    expect(own.filter((u) => !/\/dist\/cli\/(validate-logs|validate-logs-command|chunk-\w+)\.js$/.test(u))).toEqual([]);
    expect(own.length).toBeLessThan(25);
    expect(r.urls.filter((u) => AWS_CODE.test(u))).toEqual([]);
    expect(r.urls.filter((u) => ASN1_CODE.test(u))).toEqual([]);
    expect(r.urls.filter((u) => ONLINE_OR_SCALE.test(u))).toEqual([]);
    // What the run says is what it always said.
    expect(r.stdout).toBe(
      'Validating log files for trail arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail between 2025-01-08T00:00:00Z and 2025-01-08T06:00:00Z\n\n' +
        'Results requested for 2025-01-08T00:00:00Z to 2025-01-08T06:00:00Z\n' +
        'Results found for 2025-01-08T00:00:00Z to 2025-01-08T06:00:00Z:\n\n' +
        '6/6 digest files valid\n' +
        '10/10 log files valid\n',
    );
    expect(r.stderr).toBe('');
    // A dozen small logs: no hashing thread is started (each costs more than it would save).
    expect(r.threads).toBe(0);
    // With --threads the threads are the user's choice: started, and the same output.
    const threaded = await probe('threads', sampleArgs(join(ROOT, 'sample', 'bucket'), ['--threads', '2']));
    expect(threaded.threads).toBe(2);
    expect([threaded.status, threaded.stdout, threaded.stderr]).toEqual([0, r.stdout, r.stderr]);
  }, 60_000);

  it('a local run with more stored bytes than a small one starts the hashing threads, and says the same', async () => {
    const copy = join(dir, 'bucket');
    cpSync(join(ROOT, 'sample', 'bucket'), copy, { recursive: true });
    const small = await probe('small-copy', sampleArgs(copy));
    // The same run with more bytes in the day folders of the run's logs: an object no digest lists.
    const day = join(copy, logFolder({ accountId: '111122223333', region: 'us-east-1', trailName: 'sample-trail' }), '2025', '01', '08');
    expect(existsSync(day), day).toBe(true);
    writeFileSync(join(day, 'large.bin'), Buffer.alloc(SMALL_RUN_BYTES + 1));
    const large = await probe('large-copy', sampleArgs(copy));
    expect(small.threads).toBe(0);
    expect(large.threads).toBeGreaterThan(0);
    // With the threads or without: the same findings (the odd object is one in both).
    const threadless = await probe('large-threadless', sampleArgs(copy, ['--threads', '0']));
    expect(threadless.threads).toBe(0);
    expect([large.status, large.stdout, large.stderr]).toEqual([threadless.status, threadless.stdout, threadless.stderr]);
  }, 60_000);

  it('the scale commands are loaded when asked for: validate-logs plan --help', async () => {
    const r = await probe('plan', ['plan', '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: validate-logs plan/);
    expect(r.urls.some((u) => /\/dist\/cli\/scale-\w+\.js$/.test(u))).toBe(true);
  }, 60_000);

  it('a run that reaches no AWS endpoint reads AWS_CA_BUNDLE but parses no certificate of it; --ca-bundle and online runs still check each', async () => {
    const bad = join(dir, 'bad.pem');
    writeFileSync(bad, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const sample = sampleArgs(join(ROOT, 'sample', 'bucket'));
    const plain = await probe('ca-none', sample);
    // Offline: the environment's bundle is only read (a regular file holding PEM blocks), so the
    // run says exactly what it says without one.
    const viaEnv = await probe('ca-env', sample, { AWS_CA_BUNDLE: bad });
    expect(viaEnv.status, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout).toBe(plain.stdout);
    expect(viaEnv.stderr).toBe(plain.stderr);
    // Still refused, naming it: a bundle that is no regular file or holds no PEM certificate.
    for (const [file, why] of [[join(dir, 'absent.pem'), /no such file/], ['/dev/zero', /not a regular file/], [join(dir, 'ca-none.resolved'), /holds no PEM certificate/]] as const) {
      const r = await probe('ca-refused', sample, { AWS_CA_BUNDLE: file });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`AWS_CA_BUNDLE ${file}`);
      expect(r.stderr).toMatch(why);
    }
    // Given as a flag, or for a run that names anything online, every certificate is parsed first.
    const viaFlag = await probe('ca-flag', [...sample, '--ca-bundle', bad]);
    expect(viaFlag.status).toBe(2);
    expect(viaFlag.stderr).toMatch(/--ca-bundle .*certificate 1 of 1 is not a valid certificate/);
    for (const online of [['--endpoint-url', 'http://127.0.0.1:9'], ['--save-to', 's3://bucket/x/'], ['--profile', 'p']]) {
      const r = await probe('ca-online', [...sample, ...online], { AWS_CA_BUNDLE: bad });
      expect(r.status, online.join(' ')).toBe(2);
      expect(r.stderr, online.join(' ')).toMatch(/AWS_CA_BUNDLE .*certificate 1 of 1 is not a valid certificate/);
    }
  });

  it('watch --once over a local copy starts no hashing thread for a small pass, and says the same as with them', async () => {
    // Three hours of a trail up to the hour before now, one small log an hour: a pass over them is small.
    const hourMs = 3_600_000;
    const t0 = Math.floor(Date.now() / hourMs) * hourMs - 3 * hourMs;
    const trail: TrailRef = { accountId: '111122223333', region: 'us-east-1', trailName: 'watched' };
    const copy = join(dir, 'watched');
    const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
    await writeHourlyChain(copy, { bucket: 'watched-bucket', trail, t0, hours: 3, signer });
    const keys = join(dir, 'watched-keys.json');
    writeFileSync(keys, JSON.stringify(new PublicKeySet([signer.publicKey]).toListPublicKeys()));
    const pass = (name: string, extra: string[] = []): ReturnType<typeof probe> =>
      probe(name, [
        'watch', '--once', '--trail-arn', `arn:aws:cloudtrail:us-east-1:${trail.accountId}:trail/${trail.trailName}`, '--local-dir', copy, '--s3-bucket', 'watched-bucket',
        '--public-keys', keys, '--start-time', new Date(t0).toISOString(), '--state', join(dir, `${name}-state`), ...extra,
      ]);
    const alone = await pass('watch-small');
    expect(alone.status, alone.stderr).toBe(0);
    expect(alone.stderr).toMatch(/pass 1: 3 new digests and 3 logs verified in 1 chain; no new alert/);
    expect(alone.threads).toBe(0);
    // With --threads the threads are the user's choice: started, and the same pass.
    const threaded = await pass('watch-threads', ['--threads', '2']);
    expect(threaded.threads).toBe(2);
    const passLine = (stderr: string): string | undefined => /pass 1: .*/.exec(stderr)?.[0];
    expect([threaded.status, passLine(threaded.stderr)]).toEqual([alone.status, passLine(alone.stderr)]);
  }, 60_000);

  it('--version and --help alone load the launcher, not the command; with other flags the command answers them the same', async () => {
    const version = await probe('version', ['--version']);
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout).toBe(`${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
    // The launcher and the one file it shares with the command (the process's plumbing): no run code.
    const own = (r: { urls: string[] }): string[] => [...new Set(r.urls.filter((u) => PACKAGE_FILE.test(u)))];
    expect(own(version)).toContain(pathToFileURL(VALIDATE).href);
    expect(own(version).length).toBeLessThanOrEqual(2);
    expect(version.urls.filter((u) => AWS_CODE.test(u) || ASN1_CODE.test(u) || ONLINE_OR_SCALE.test(u))).toEqual([]);
    // --help adds the help text (and the global options' module it lists).
    const help = await probe('help', ['--help']);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: validate-logs --trail-arn ARN --start-time TIME \[options\]\n/);
    expect(own(help)).not.toContain(pathToFileURL(COMMAND).href);
    expect(own(help).length).toBeLessThanOrEqual(5);
    expect((await probe('help-short', ['-h'])).stdout).toBe(help.stdout);
    // The same flags among others are the command's: the same answers.
    const viaCommand = await probe('version-command', ['--version', '--no-progress']);
    expect(viaCommand.urls).toContain(pathToFileURL(COMMAND).href);
    expect([viaCommand.status, viaCommand.stdout, viaCommand.stderr]).toEqual([0, version.stdout, '']);
    const helpViaCommand = await probe('help-command', ['--help', '--no-progress']);
    expect([helpViaCommand.status, helpViaCommand.stdout, helpViaCommand.stderr]).toEqual([0, help.stdout, '']);
  }, 60_000);
});

describe('the module compile cache', () => {
  const uid = process.getuid?.() ?? 0;
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'vl-home-'));
    chmodSync(home, 0o700);
  });
  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it('goes in the user cache folder, made private, never in the shared temporary folder', () => {
    const dir = compileCacheDir({}, home, uid);
    expect(dir).toBe(join(home, '.cache', 'validate-logs', 'compile-cache'));
    expect(statSync(dir!).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, '.cache')).mode & 0o777).toBe(0o700);
    // XDG_CACHE_HOME within home is taken; one elsewhere (/tmp) is not.
    expect(compileCacheDir({ XDG_CACHE_HOME: join(home, 'xdg') }, home, uid)).toBe(join(home, 'xdg', 'validate-logs', 'compile-cache'));
    expect(compileCacheDir({ XDG_CACHE_HOME: tmpdir() }, home, uid)).toBe(dir);
  });

  it('is no cache where another user could write: a folder of another user, writable by others, or a link', () => {
    expect(compileCacheDir({}, home, uid + 1)).toBeUndefined();
    const open = mkdtempSync(join(tmpdir(), 'vl-home-'));
    try {
      mkdirSync(join(open, '.cache'), { mode: 0o700 });
      chmodSync(join(open, '.cache'), 0o777);
      expect(compileCacheDir({}, open, uid)).toBeUndefined();
      rmSync(join(open, '.cache'), { recursive: true });
      mkdirSync(join(open, 'elsewhere'));
      symlinkSync(join(open, 'elsewhere'), join(open, '.cache'));
      expect(compileCacheDir({}, open, uid)).toBeUndefined();
      expect(existsSync(join(open, 'elsewhere', 'validate-logs'))).toBe(false);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
    expect(compileCacheDir({}, 'relative/home', uid)).toBeUndefined();
  });

  it('is turned on only where the runtime has one, and never where the user set or turned off their own', () => {
    const has = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function';
    expect(useCompileCache({ NODE_DISABLE_COMPILE_CACHE: '1' })).toBe(false);
    expect(useCompileCache({ NODE_COMPILE_CACHE: join(home, 'mine') })).toBe(false);
    if (!has) expect(useCompileCache({ HOME: home })).toBe(false);
  });
});

describe('whether a local run is small enough to need no hashing thread', () => {
  const trail: TrailRef = { accountId: '111122223333', region: 'us-east-1', trailName: 't' };
  const start = new Date('2025-01-08T00:00:00Z');
  const end = new Date('2025-01-08T06:00:00Z');
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'vl-run-size-'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });
  /** Put `n` files of `size` bytes in a day folder of the trail's logs or digests. */
  const put = (folder: string, date: string, n: number, size: number, name = 'f'): void => {
    const d = join(root, folder, date);
    mkdirSync(d, { recursive: true });
    for (let i = 0; i < n; i++) writeFileSync(join(d, `${name}${i}`), Buffer.alloc(size));
  };
  const small = (over: Partial<{ trails: TrailRef[]; start: Date; end: Date; tailGraceMs: number }> = {}): boolean =>
    isSmallLocalRun({ root, trails: [trail], start, end, tailGraceMs: 2 * 3_600_000, ...over });

  it('counts the files and bytes of the day folders of the logs and digests, from an hour before the range to the tail after it', () => {
    expect(small()).toBe(true); // nothing there at all
    put(logFolder(trail), '2025/01/08', 100, 1000);
    put(digestFolder(trail), '2025/01/08', 6, 1000);
    expect(small()).toBe(true);
    // The day before (the hour before the start is in it) counts too: more files than a small run has.
    put(logFolder(trail), '2025/01/07', SMALL_RUN_FILES - 106 + 1, 10);
    expect(small()).toBe(false);
    // ... but not for a range that starts later in the day.
    expect(small({ start: new Date('2025-01-08T02:00:00Z') })).toBe(true);
    // Bytes: one large digest is enough.
    put(digestFolder(trail), '2025/01/09', 1, SMALL_RUN_BYTES, 'large');
    expect(small({ start: new Date('2025-01-08T02:00:00Z') })).toBe(true); // the 9th is after the tail
    expect(small({ start: new Date('2025-01-08T02:00:00Z'), end: new Date('2025-01-08T22:00:00Z') })).toBe(false);
  });

  it('every region counts; a long range, or a folder that cannot be read, is no small run', () => {
    const other = { ...trail, region: 'eu-west-1' };
    put(logFolder(other), '2025/01/08', 200, 10);
    expect(small({ start: new Date('2025-01-08T02:00:00Z') })).toBe(true);
    expect(small({ start: new Date('2025-01-08T02:00:00Z'), trails: [trail, other] })).toBe(false);
    expect(small({ start: new Date('2025-01-01T02:00:00Z'), end: new Date('2025-01-30T00:00:00Z'), trails: [{ ...trail, region: 'none-1' }] })).toBe(false);
    // A file where a day folder should be.
    mkdirSync(join(root, logFolder({ ...trail, region: 'odd-1' }), '2025', '01'), { recursive: true });
    writeFileSync(join(root, logFolder({ ...trail, region: 'odd-1' }), '2025', '01', '08'), '');
    expect(small({ trails: [{ ...trail, region: 'odd-1' }] })).toBe(false);
  });
});
