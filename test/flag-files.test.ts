// Every file a flag names is hostile input, as a user meets it (the built commands, child
// processes with a time limit: a hang fails the test instead of hanging the suite): a FIFO,
// /dev/zero, a folder, a missing file, a file over its bound, a link to a FIFO and a link to
// nothing are each one clear line and exit 2, for every flag of every subcommand that reads a file.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG_FILE_BOUNDS } from '../src/cli/flag-file.js';
import { VALIDATE, WRITE, run, type Run } from './helpers/cli.js';
import { opensslEd25519 } from './helpers/ed25519.js';
import { noteSignerKeyFromPem, signCheckpoint } from './helpers/lib.js';
import { ROOT, tampering } from './helpers/tamper.js';

const t = tampering.trail;
const SAMPLE = join(ROOT, t.localDir);
const KEYS = join(ROOT, t.publicKeys);
/** Longer than any of these runs takes; a run that blocks on a FIFO or reads /dev/zero without end is killed at it. */
const TIME_LIMIT_MS = 20_000;
let work: string;

/** Run a built command; killed (status null) when it outlives the time limit. */
const runBounded = (script: string, args: string[]): Promise<Run> => run(process.execPath, [script, ...args], {}, work, TIME_LIMIT_MS);

/** A hostile file at `path` (made by the variant), and what the command must say about it. */
interface Variant {
  name: string;
  /** Make the hostile file at `path`; or return another path to give (a device itself). */
  make(path: string, bound: number): unknown;
  why: (bound: number) => RegExp;
}
const VARIANTS: Variant[] = [
  { name: 'a FIFO', make: (p) => execFileSync('mkfifo', [p]), why: () => /a FIFO \(named pipe\), not a regular file/ },
  { name: '/dev/zero', make: () => '/dev/zero', why: () => /a character device, not a regular file/ },
  { name: 'a link to /dev/zero', make: (p) => symlinkSync('/dev/zero', p), why: () => /a character device, not a regular file/ },
  { name: 'a folder', make: (p) => mkdirSync(p), why: () => /a folder, not a file/ },
  { name: 'a missing file', make: () => undefined, why: () => /no such file/ },
  { name: 'a link to a FIFO', make: (p) => (execFileSync('mkfifo', [`${p}.fifo`]), symlinkSync(`${p}.fifo`, p)), why: () => /a FIFO \(named pipe\), not a regular file/ },
  { name: 'a link to nothing', make: (p) => symlinkSync(`${p}.nowhere`, p), why: () => /a symbolic link to nothing/ },
  {
    name: 'a file over its bound',
    make: (p, bound) => (writeFileSync(p, ''), truncateSync(p, bound + 1)), // sparse: costs no disk
    why: (bound) => new RegExp(`larger than ${bound} bytes`),
  },
];

/** A flag that names a file: the command line with the hostile path in it, and how the error names it. */
interface FlagCase {
  flag: string;
  script: string;
  args: (hostile: string) => string[];
  /** The words before the path in the error: `cannot read --flag PATH`, or `cannot read PATH`. */
  label: string | undefined;
  /** The bound in bytes; undefined when a file over it is not part of the case (a streamed manifest). */
  bound: number | undefined;
  /** The variants left out, and why. */
  skip?: string[];
  /** A hostile path the command derives (FILE.tsr) rather than the one given. */
  at?: (dir: string) => string;
  /** A file the command also writes: anything but a regular file there may be refused as an output first. */
  output?: boolean;
}

/** The good files the cases need beside the hostile one, made once. */
const f = { cp: '', logPub: '', logPem: '', witnessPem: '', manifest: '', cert: '' };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vl-flag-files-'));
  ({ pem: f.logPem, pub: f.logPub } = opensslEd25519(work, 'log'));
  f.witnessPem = opensslEd25519(work, 'witness').pem;
  const key = await noteSignerKeyFromPem(readFileSync(f.logPem, 'utf8'), 'example.com/log');
  f.cp = join(work, 'good.note');
  const digest = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T030000Z.json.gz';
  writeFileSync(f.cp, await signCheckpoint({ chains: [{ trailArn: t.trailArn, region: 'us-east-1', bucket: t.bucket, key: digest, endTime: '2025-01-08T03:00:00Z', sha256: 'a'.repeat(64) }], reportSha256: 'b'.repeat(64) }, [key]));
  f.cert = join(work, 'tsa.pem');
  writeFileSync(f.cert, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  f.manifest = join(work, 'manifest.jsonl');
  const plan = await runBounded(VALIDATE, ['plan', '--s3-bucket', t.bucket, '--local-dir', SAMPLE, '--start-time', t.start, '--end-time', t.end, '--manifest', f.manifest]);
  expect(plan.status, plan.stderr).toBe(0);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const local = ['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--local-dir', SAMPLE, '--s3-bucket', t.bucket];
const logKey = (): string => `example.com/log=${f.logPub}`;
const B = FLAG_FILE_BOUNDS;
const write = (extra: string[]): string[] => ['--s3-bucket', t.bucket, '--account-id', '111122223333', '--region', 'us-east-1', '--trail-name', 'sample-trail', '--local-dir', join(work, 'nowhere'), ...extra];

/** An empty bucket beside the hostile file: each run its own (writers of one chain take turns). */
function emptyBucket(hostile: string): string {
  const dir = join(dirname(hostile), 'bucket');
  mkdirSync(dir, { recursive: true });
  return dir;
}

const CASES: FlagCase[] = [
  { flag: 'validate-logs --public-keys', script: VALIDATE, args: (h) => [...local, '--public-keys', h], label: '--public-keys', bound: B.keyList },
  { flag: 'validate-logs --checkpoint', script: VALIDATE, args: (h) => [...local, '--public-keys', KEYS, '--checkpoint', h, '--checkpoint-public-key', logKey()], label: '--checkpoint', bound: B.checkpoint },
  { flag: 'validate-logs --checkpoint-public-key NAME=FILE', script: VALIDATE, args: (h) => [...local, '--public-keys', KEYS, '--checkpoint', f.cp, '--checkpoint-public-key', `example.com/log=${h}`], label: '--checkpoint-public-key', bound: B.key },
  { flag: 'validate-logs --checkpoint-public-key FILE', script: VALIDATE, args: (h) => [...local, '--public-keys', KEYS, '--checkpoint', f.cp, '--checkpoint-public-key', h], label: '--checkpoint-public-key', bound: B.key },
  { flag: 'validate-logs --checkpoint-key', script: VALIDATE, args: (h) => [...local, '--public-keys', KEYS, '--checkpoint-out', join(work, 'out.note'), '--checkpoint-key', h, '--checkpoint-name', 'example.com/log'], label: '--checkpoint-key', bound: B.key },
  {
    flag: 'validate-logs --tsa-cert',
    script: VALIDATE,
    args: (h) => [...local, '--public-keys', KEYS, '--checkpoint-out', join(work, 'out.note'), '--checkpoint-key', f.logPem, '--checkpoint-name', 'example.com/log', '--timestamp-url', 'http://127.0.0.1:1/', '--tsa-cert', h],
    label: '--tsa-cert',
    bound: B.certificate,
  },
  {
    flag: 'validate-logs --checkpoint FILE with FILE.tsr',
    script: VALIDATE,
    args: (h) => [...local, '--public-keys', KEYS, '--checkpoint', h.replace(/\.tsr$/, ''), '--checkpoint-public-key', logKey(), '--tsa-cert', f.cert],
    at: (dir) => {
      copyFileSync(f.cp, join(dir, 'cp.note'));
      return join(dir, 'cp.note.tsr');
    },
    label: 'the time stamp of --checkpoint',
    bound: B.timestamp,
  },
  { flag: 'cosign --checkpoint', script: VALIDATE, args: (h) => ['cosign', '--checkpoint', h, '--checkpoint-public-key', logKey(), '--key', f.witnessPem, '--name', 'example.com/witness'], label: '--checkpoint', bound: B.checkpoint },
  {
    flag: 'cosign --previous',
    script: VALIDATE,
    args: (h) => ['cosign', '--checkpoint', f.cp, '--previous', h, '--checkpoint-public-key', logKey(), '--key', f.witnessPem, '--name', 'example.com/witness', '--local-dir', SAMPLE],
    label: '--previous',
    bound: B.checkpoint,
  },
  { flag: 'cosign --checkpoint-public-key', script: VALIDATE, args: (h) => ['cosign', '--checkpoint', f.cp, '--checkpoint-public-key', `example.com/log=${h}`, '--key', f.witnessPem, '--name', 'example.com/witness'], label: '--checkpoint-public-key', bound: B.key },
  { flag: 'cosign --key', script: VALIDATE, args: (h) => ['cosign', '--checkpoint', f.cp, '--checkpoint-public-key', logKey(), '--key', h, '--name', 'example.com/witness'], label: '--key', bound: B.key },
  { flag: 'write-digests --private-key', script: WRITE, args: (h) => write(['--private-key', h]), label: '--private-key', bound: B.key },
  {
    flag: 'write-digests --public-keys-out (an existing file is read)',
    script: WRITE,
    args: (h) => ['--s3-bucket', t.bucket, '--account-id', '111122223333', '--region', 'us-east-1', '--trail-name', 'sample-trail', '--local-dir', emptyBucket(h), '--private-key', join(ROOT, 'vectors', 'test-key.pem'), '--public-keys-out', h],
    label: '--public-keys-out',
    bound: B.keyList,
    skip: ['a missing file'], // a new file: written, not read
    output: true,
  },
  { flag: 'validate-logs --manifest (a shard)', script: VALIDATE, args: (h) => ['--manifest', h, '--shard-index', '0', '--public-keys', KEYS, '--local-dir', SAMPLE], label: undefined, bound: undefined },
  { flag: 'merge --manifest', script: VALIDATE, args: (h) => ['merge', '--manifest', h, join(work, 'reports')], label: undefined, bound: undefined },
  { flag: 'merge REPORT', script: VALIDATE, args: (h) => ['merge', h], label: undefined, bound: undefined, skip: ['a folder'] }, // a folder of reports is a folder to list
];

describe('every file a flag names is hostile', () => {
  for (const c of CASES) {
    it(`${c.flag}: each hostile file is one clear line and exit 2, never a hang or a read without end`, async () => {
      // (A derived path, FILE.tsr, cannot be /dev/zero itself: a link to it stands there instead.)
      const variants = VARIANTS.filter((v) => !c.skip?.includes(v.name) && (c.bound !== undefined || v.name !== 'a file over its bound') && !(c.at && v.name === '/dev/zero'));
      const results = await Promise.all(
        variants.map(async (v) => {
          const dir = mkdtempSync(join(work, 'case-'));
          const made = c.at ? c.at(dir) : join(dir, 'hostile');
          const given = v.make(made, c.bound ?? 0);
          const path = typeof given === 'string' ? given : made;
          return { v, path, r: await runBounded(c.script, c.args(path)) };
        }),
      );
      for (const { v, path, r } of results) {
        const what = `${c.flag} as ${v.name}: ${r.stderr}`;
        expect(r.status, what).toBe(2); // null: killed at the time limit (a hang)
        const lines = r.stderr.trim().split('\n');
        expect(lines, what).toHaveLength(1);
        // An output is refused before it is read when it is no regular file (a link, a FIFO, a device, a folder).
        if (c.output && lines[0]!.includes(`${c.label}: refusing to write ${path}: `)) continue;
        expect(lines[0], what).toContain(`cannot read ${c.label ? `${c.label} ` : ''}${path}: `);
        expect(lines[0], what).toMatch(v.why(c.bound ?? 0));
      }
    });
  }

  it('a link given as a flag value is followed to a regular file (a user may point at a link)', async () => {
    const link = join(work, 'keys-link.json');
    symlinkSync(KEYS, link);
    const r = await runBounded(VALIDATE, [...local, '--public-keys', link]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('the bounds are documented in --help', async () => {
    const help = (await runBounded(VALIDATE, ['--help'])).stdout;
    expect(help).toMatch(/Files named by flags/);
    for (const words of ['--public-keys: 16 MiB', '--checkpoint: 1 MiB', '--tsa-cert: 1 MiB', 'key files: 64 KiB']) expect(help).toContain(words);
  });
});
