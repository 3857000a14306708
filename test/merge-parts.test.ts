// The merge never claims more than its parts, and every subcommand asked for JSON prints one
// complete document, whatever its exit: the built command as a user runs it, and an attacker
// holding the shard reports (findings deleted, summaries edited, reports dropped, replayed,
// truncated, taken from another plan or from a run with other settings).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LocalDirectory,
  PublicKeySet,
  createSigner,
  formatNoteSignerKey,
  formatNoteVerifierKey,
  generateNoteSignerKey,
  logKey,
  parseDigest,
  parseManifest,
  runShard,
  signCheckpoint,
  type ShardItem,
  type ShardReport,
} from './helpers/lib.js';
import { collectReports } from '../src/scale/collect.js';
import { DocumentStore } from '../src/scale/store.js';
import { VALIDATE, node, sampleArgs, type Run } from './helpers/cli.js';
import { ROOT, copySample, tampering } from './helpers/tamper.js';
import { writeHourlyChain } from './helpers/chains.js';

const BUCKET = 'org-bucket';
const ACCOUNT = '111111111111';
const REGIONS = ['eu-west-1', 'us-east-1'];
const TRAIL = 'org-trail';
const HOURS = 12;
const T0 = Date.parse('2025-01-08T00:00:00Z');
const START = '2025-01-08T00:00:00Z';
const END = '2025-01-08T12:00:00Z';
const hour = (h: number): Date => new Date(T0 + h * 3_600_000);
const trailOf = (region: string) => ({ accountId: ACCOUNT, region, homeRegion: 'us-east-1', trailName: TRAIL });
const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));

let work: string;
let root: string;
let keysFile: string;
let manifestFile: string;
let reports: string;
let items: ShardItem[];
let n = 0;

/** Two chains of 12 hours (one digest and one log an hour); the log of hour 5 of us-east-1 modified. */
async function buildBucket(): Promise<void> {
  for (const region of REGIONS) await writeHourlyChain(root, { bucket: BUCKET, trail: trailOf(region), t0: T0, hours: HOURS, signer });
  writeFileSync(join(root, logKey(trailOf('us-east-1'), hour(5.5), 'L000000000000005')), gzipSync('{"Records":[{"modified":true}]}'));
}

const shardFile = (dir: string, i: number): string => join(dir, `shard-${String(i).padStart(6, '0')}.json`);
const load = (dir: string, i: number): ShardReport => JSON.parse(readFileSync(shardFile(dir, i), 'utf8')) as ShardReport;
const save = (dir: string, i: number, r: unknown): void => writeFileSync(shardFile(dir, i), JSON.stringify(r) + '\n');

/** A copy of the honest reports, for an attacker to work on. */
function copyReports(): string {
  const dir = join(work, `attack-${n++}`);
  cpSync(reports, dir, { recursive: true });
  return dir;
}

const merge = (args: string[]): Promise<Run> => node(VALIDATE, ['merge', '--output', 'json', ...args]);

interface FailureDoc {
  tool: string;
  version: string;
  ok: boolean;
  error: { code: string; message: string };
  findings?: unknown[];
  chains?: unknown[];
  request?: unknown;
}

/** Exit 2, stdout one complete document claiming nothing, stderr one line naming what is wrong. */
function expectRefused(r: Run, code: string, message: RegExp): FailureDoc {
  expect(r.status, r.stderr).toBe(2);
  const doc = JSON.parse(r.stdout) as FailureDoc;
  expect(doc).toMatchObject({ tool: 'validate-logs', ok: false, findings: [], chains: [], error: { code } });
  expect(doc.error.message).toMatch(message);
  expect(r.stderr).toBe(`validate-logs merge: error: ${doc.error.message}\n`);
  expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
  return doc;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vl-merge-parts-'));
  root = join(work, 'bucket');
  await buildBucket();
  keysFile = join(work, 'keys.json');
  writeFileSync(keysFile, JSON.stringify(new PublicKeySet([signer.publicKey]).toListPublicKeys()));
  manifestFile = join(work, 'manifest.jsonl');
  reports = join(work, 'reports');
  const plan = await node(VALIDATE, ['plan', '--s3-bucket', BUCKET, '--local-dir', root, '--start-time', START, '--end-time', END, '--shard-hours', '4', '--manifest', manifestFile, '--reports', reports]);
  expect([plan.status, plan.stderr]).toEqual([0, `validate-logs plan: 2 chains, 6 shards, manifest written to ${manifestFile}\n`]);
  items = parseManifest(readFileSync(manifestFile, 'utf8'), manifestFile);
  for (const item of items) {
    const r = await node(VALIDATE, ['--manifest', manifestFile, '--shard-index', String(item.index), '--local-dir', root, '--public-keys', keysFile]);
    expect([r.status, r.stderr]).toEqual([0, expect.stringMatching(/report written to /)]);
  }
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the honest merge', () => {
  it('finds the modified log: exit 1, one document', async () => {
    for (const args of [[reports], ['--manifest', manifestFile, reports]]) {
      const r = await merge(args);
      expect([r.status, r.stderr]).toEqual([1, '']);
      const doc = JSON.parse(r.stdout) as { ok: boolean; summary: { logs: { invalid: number } }; chains: unknown[]; findings: Array<{ code: string }> };
      expect([doc.ok, doc.summary.logs.invalid, doc.chains.length]).toEqual([false, 1, 2]);
      expect(doc.findings.filter((f) => f.code === 'LOG_HASH_MISMATCH')).toHaveLength(1);
    }
  });
});

describe('a part whose findings and summary disagree is refused, naming it', () => {
  // Shard 4 is us-east-1 hours 4 to 8: it holds the modified log.
  const part = 4;
  const attacks: Array<[string, (r: ShardReport) => void, RegExp]> = [
    ['the invalid finding deleted, the summary kept', (r) => void (r.findings = r.findings.filter((f) => f.code !== 'LOG_HASH_MISMATCH')), /"summary\.logs\.invalid" is 1, its findings make it 0/],
    ['every finding deleted, the summary kept', (r) => void (r.findings = []), /its summary does not agree with its findings/],
    ['the verdict edited to valid', (r) => void (r.summary.ok = true), /"summary\.ok" is true, its findings make it false/],
    ['the counts edited', (r) => void ((r.summary.logs.invalid = 0), (r.summary.logs.valid += 1)), /"summary\.logs\.valid" is 4, its findings make it 3/],
    ['a code count edited', (r) => void (r.summary.byCode.LOG_HASH_MISMATCH = 0), /"summary\.byCode\.LOG_HASH_MISMATCH" is 0, its findings make it 1/],
    ['a code count dropped', (r) => void delete r.summary.byCode.LOG_HASH_MISMATCH, /"summary\.byCode\.LOG_HASH_MISMATCH" is absent, its findings make it 1/],
    ['the found window widened', (r) => void (r.summary.foundStart = START), /"summary\.foundStart" is "2025-01-08T00:00:00Z", its findings make it "2025-01-08T04:00:00Z"/],
    ['the summary removed', (r) => void delete (r as Partial<ShardReport>).summary, /"summary" must be an object/],
    ['a finding changed to valid', (r) => {
      const f = r.findings.find((x) => x.code === 'LOG_HASH_MISMATCH')!;
      Object.assign(f, { code: 'LOG_VALID', severity: 'valid' });
    }, /"summary\.logs\.valid" is 3, its findings make it 4/],
    ['the edge digest given another code', (r) => void (r.boundary.newest!.code = 'DIGEST_SIGNATURE_INVALID'), /"boundary\.newest" says .*_20250108T070000Z\.json\.gz is DIGEST_SIGNATURE_INVALID, its findings say DIGEST_VALID/],
    ['a finding copied from the next shard', (r) => {
      const next = load(reports, part + 1).findings.find((f) => f.code === 'DIGEST_VALID')!;
      r.findings.push(next);
      r.summary.digests.valid++;
      r.summary.byCode.DIGEST_VALID! += 1;
    }, /finding \d+ \(DIGEST_VALID .*_20250108T\d{2}0000Z\.json\.gz\) is about an hour another shard owns \(not 2025-01-08T04:00:00Z to 2025-01-08T08:00:00Z\)/],
    ['a finding with a hostile "digest"', (r) => void ((r.findings[1] as unknown as Record<string, unknown>).digest = 7), /finding 1 has a "digest" that is not a string/],
    ['a finding of an unknown kind', (r) => void ((r.findings[0] as unknown as Record<string, unknown>).kind = 'other'), /finding 0 \(\w+\) has the unknown kind "other"/],
  ];
  it.each(attacks)('%s', async (_what, attack, message) => {
    const dir = copyReports();
    const r = load(dir, part);
    attack(r);
    save(dir, part, r);
    for (const args of [[dir], ['--manifest', manifestFile, dir]]) {
      expectRefused(await merge(args), 'SHARD_INVALID', new RegExp(`shard-000004\\.json is not a validate-logs shard report: (?:its summary does not agree with its findings: )?${message.source}`));
    }
  });

  it('and the text output says the same, with nothing on stdout', async () => {
    const dir = copyReports();
    const r = load(dir, part);
    r.summary.ok = true;
    save(dir, part, r);
    const text = await node(VALIDATE, ['merge', dir]);
    expect([text.status, text.stdout]).toEqual([2, '']);
    expect(text.stderr).toMatch(/^validate-logs merge: error: .*shard-000004\.json is not a validate-logs shard report: its summary does not agree with its findings: "summary\.ok" is true/);
  });
});

describe('parts that are not the plan, or not all of it, are refused', () => {
  it('a region dropped: its shards are named missing', async () => {
    const dir = copyReports();
    for (const i of [3, 4, 5]) unlinkSync(shardFile(dir, i));
    expectRefused(await merge([dir]), 'SHARD_MISSING', /^no report for shard 3 of 6; no report for shard 4 of 6; no report for shard 5 of 6: run those shards again$/);
    expectRefused(await merge(['--manifest', manifestFile, dir]), 'SHARD_MISSING', /^no report for shard 3 \(account 111111111111, region us-east-1, trail org-trail, 2025-01-08T00:00:00Z to 2025-01-08T04:00:00Z\);/);
  });

  it('a region dropped and the other reports renumbered as a plan of 3: not the plan they name', async () => {
    const dir = copyReports();
    for (const i of [3, 4, 5]) unlinkSync(shardFile(dir, i));
    for (const i of [0, 1, 2]) {
      const r = load(dir, i);
      r.shard.shards = 3;
      save(dir, i, r);
    }
    expectRefused(await merge([dir]), 'SHARD_INVALID', /^the shards of the reports in .* are not the plan they name \(plan [0-9a-f]{16}\): a shard was edited, dropped or added, or taken from another plan \(or made by an earlier validate-logs, whose plan id also covered "reports": plan again\)$/);
    expectRefused(await merge(['--manifest', manifestFile, dir]), 'SHARD_INVALID', /shard-000000\.json is not a report of shard 0 of the manifest: its "shards" is 3, line 1 of the manifest says 6$/);
  });

  it('a report missing altogether', async () => {
    const dir = copyReports();
    unlinkSync(shardFile(dir, 1));
    expectRefused(await merge([dir]), 'SHARD_MISSING', /^no report for shard 1 of 6: run those shards again$/);
  });

  it('a report replayed: twice, or as the report of the next shard', async () => {
    const twice = copyReports();
    cpSync(shardFile(twice, 4), join(twice, 'shard-000044.json'));
    expectRefused(await merge([twice]), 'SHARD_INVALID', /shard-000044\.json and .*shard-000004\.json are both reports of shard 4$/);
    const asNext = copyReports();
    const r = load(asNext, 4);
    r.shard = load(asNext, 5).shard;
    save(asNext, 5, r);
    for (const args of [[asNext], ['--manifest', manifestFile, asNext]]) {
      expectRefused(await merge(args), 'SHARD_INVALID', /shard-000005\.json is not a validate-logs shard report: finding 0 \(\w+ .*\) is about an hour another shard owns/);
    }
  });

  it('a shard edited to another window, or another bucket, every field made to agree', async () => {
    // Another window: its findings no longer add up to its summary (found times clipped to the window).
    const window = copyReports();
    const w = load(window, 5);
    w.shard.end = w.shard.chainEnd = '2025-01-08T09:00:00Z';
    save(window, 5, w);
    for (const args of [[window], ['--manifest', manifestFile, window]]) {
      expectRefused(await merge(args), 'SHARD_INVALID', /shard-000005\.json is not a validate-logs shard report: its summary does not agree with its findings: "summary\.foundEnd"/);
    }
    // Another bucket: the report is consistent, but its shard is not the plan's.
    const bucket = copyReports();
    const b = load(bucket, 5);
    b.shard.bucket = 'other-bucket';
    b.shard.chain = b.shard.chain.replace(BUCKET, 'other-bucket');
    save(bucket, 5, b);
    expectRefused(await merge([bucket]), 'SHARD_INVALID', /are not the plan they name/);
    expectRefused(await merge(['--manifest', manifestFile, bucket]), 'SHARD_INVALID', /shard-000005\.json is not a report of shard 5 of the manifest: its "chain" is "other-bucket\/.*", line 6 of the manifest says "org-bucket\/.*"$/);
  });

  it('a report of another plan (another window)', async () => {
    const other = join(work, 'other-plan.jsonl');
    const otherReports = join(work, 'other-reports');
    const plan = await node(VALIDATE, ['plan', '--s3-bucket', BUCKET, '--local-dir', root, '--start-time', START, '--end-time', '2025-01-08T11:00:00Z', '--shard-hours', '4', '--manifest', other, '--reports', otherReports]);
    expect(plan.status).toBe(0);
    expect((await node(VALIDATE, ['--manifest', other, '--shard-index', '5', '--local-dir', root, '--public-keys', keysFile])).status).toBe(0);
    const dir = copyReports();
    cpSync(shardFile(otherReports, 5), shardFile(dir, 5));
    expectRefused(await merge([dir]), 'SHARD_INVALID', /belongs to plan [0-9a-f]{16}, not to plan [0-9a-f]{16}/);
    expectRefused(await merge(['--manifest', manifestFile, dir]), 'SHARD_INVALID', /shard-000005\.json is not a report of shard 5 of the manifest: its "plan" is "[0-9a-f]{16}", line 6 of the manifest says "[0-9a-f]{16}"$/);
  });

  it('a manifest edited by hand is not the plan it names', async () => {
    const edited = join(work, 'edited.jsonl');
    writeFileSync(edited, readFileSync(manifestFile, 'utf8').replace(/"end":"2025-01-08T12:00:00Z"/g, '"end":"2025-01-08T11:00:00Z"').replace(/"chainEnd":"2025-01-08T12:00:00Z"/g, '"chainEnd":"2025-01-08T11:00:00Z"'));
    const r = await merge(['--manifest', edited, reports]);
    expect(r.status).toBe(2);
    expect((JSON.parse(r.stdout) as FailureDoc).error.message).toMatch(/^the lines of .*edited\.jsonl are not the plan they name/);
  });

  it('a report truncated', async () => {
    const dir = copyReports();
    const text = readFileSync(shardFile(dir, 2), 'utf8');
    writeFileSync(shardFile(dir, 2), text.slice(0, text.indexOf('"findings":[') + 40));
    expectRefused(await merge([dir]), 'SHARD_INVALID', /shard-000002\.json is not JSON/);
  });

  it('a FIFO, a device, a folder or a file that is not UTF-8 in place of a report: refused at once, named', async () => {
    const planted: Array<[string, (path: string) => void, RegExp]> = [
      ['a FIFO', (p) => execFileSync('mkfifo', [p]), /shard-000001\.json: a FIFO \(named pipe\), not a regular file$/],
      ['a link to /dev/zero', (p) => symlinkSync('/dev/zero', p), /shard-000001\.json: a character device, not a regular file$/],
      ['a folder', (p) => mkdirSync(p), /shard-000001\.json: a folder, not a file$/],
      ['bytes that are not UTF-8', (p) => writeFileSync(p, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), /shard-000001\.json: not UTF-8 text$/],
    ];
    for (const [what, plant, message] of planted) {
      const dir = copyReports();
      unlinkSync(shardFile(dir, 1));
      plant(shardFile(dir, 1));
      const r = await merge([dir]);
      expect(r.status, what).toBe(2);
      expect((JSON.parse(r.stdout) as FailureDoc).error, what).toMatchObject({ code: 'SOURCE_ERROR', message: expect.stringMatching(new RegExp(`^cannot read .*${message.source}`)) });
    }
    // The manifest too.
    const fifo = join(work, 'manifest.fifo');
    execFileSync('mkfifo', [fifo]);
    expectRefused(await merge(['--manifest', fifo, reports]), 'SOURCE_ERROR', /^cannot read .*manifest\.fifo: a FIFO \(named pipe\), not a regular file$/);
  });

  it('a shard run with other settings (another tail grace) does not join the others', async () => {
    const dir = copyReports();
    const report = await runShard({ item: items[4]!, source: new LocalDirectory(root, { bucket: BUCKET }), keys: new PublicKeySet([signer.publicKey]), tailGraceMs: 3_600_000 });
    save(dir, 4, report);
    const r = await merge([dir]);
    // The second chain's parts do not fit: refused before the first chain is merged, nothing of it on stdout.
    expectRefused(r, 'SHARD_INVALID', /^shard 3 \(account 111111111111, region us-east-1, .*\) ran with a tail grace of 7200000 ms, shard 4 \(.*\) with 3600000 ms: run them with the same settings$/);
    const text = await node(VALIDATE, ['merge', dir]);
    expect([text.status, text.stdout]).toEqual([2, '']);
    expect(text.stderr).toMatch(/^validate-logs merge: error: shard 3 .* ran with a tail grace of 7200000 ms/);
  });

  it('shards that do not join (a bucket changed between their runs): refused before anything is printed', async () => {
    const dir = copyReports();
    const r = load(dir, 4);
    r.boundary.newest!.sha256 = '0'.repeat(64);
    save(dir, 4, r);
    const message = /^shard 4 \(.*\) and shard 5 \(.*\) do not join: .*_20250108T070000Z\.json\.gz is not what the link of .* records, yet it was found valid; the bucket changed between the two runs: run both shards again$/;
    expectRefused(await merge([dir]), 'SHARD_INVALID', message);
    const text = await node(VALIDATE, ['merge', dir]);
    expect([text.status, text.stdout]).toEqual([2, '']);
    expect(text.stderr.replace(/^validate-logs merge: error: /, '').trimEnd()).toMatch(message);
  });

  it('a report that changes while the merge reads it', async () => {
    const dir = copyReports();
    const store = new DocumentStore();
    let reads = 0;
    const changing = Object.assign(Object.create(store) as DocumentStore, {
      read: async (where: string): Promise<string> => {
        const text = await store.read(where);
        if (!where.endsWith('shard-000001.json') || reads++ === 0) return text;
        const r = JSON.parse(text) as ShardReport;
        r.shard.reports = 'elsewhere';
        return JSON.stringify(r);
      },
    });
    const { chains } = await collectReports(changing, [dir]);
    await expect((async () => {
      for await (const _ of chains) void _;
    })()).rejects.toThrow(/shard-000001\.json changed while the merge was reading the reports/);
  });
});

describe('one complete JSON document on stdout, whatever the exit', () => {
  const parse = (r: Run): { ok: boolean; error?: { code: string; message: string } } => {
    expect(r.stdout.endsWith('\n')).toBe(true);
    return JSON.parse(r.stdout) as { ok: boolean; error?: { code: string; message: string } };
  };

  it('merge: a usage error, an unreadable manifest', async () => {
    for (const [args, message] of [
      [[], /give the shard reports to merge/],
      [['--bogus', reports], /Unknown option '--bogus'/],
      [['--manifest', join(work, 'nowhere.jsonl'), reports], /cannot read .*nowhere\.jsonl: no such file/],
    ] as Array<[string[], RegExp]>) {
      const r = await merge(args);
      expect(r.status).toBe(2);
      const doc = parse(r) as FailureDoc;
      expect(doc).toMatchObject({ ok: false, request: null, findings: [], chains: [] });
      expect(doc.error.message).toMatch(message);
    }
  });

  it('plan: the plan as a document, or one saying why not', async () => {
    const args = ['plan', '--s3-bucket', BUCKET, '--local-dir', root, '--start-time', START, '--end-time', END, '--shard-hours', '4', '--output', 'json'];
    const ok = await node(VALIDATE, args);
    expect(ok.status).toBe(0);
    const doc = JSON.parse(ok.stdout) as { ok: boolean; plan: string; chains: number; shards: number; manifest: null; items: ShardItem[] };
    expect([doc.ok, doc.chains, doc.shards, doc.manifest, doc.plan]).toEqual([true, 2, 6, null, items[0]!.plan]);
    expect(doc.items).toEqual(items.map(({ reports: _r, ...i }) => i));
    const written = join(work, 'plan-json.jsonl');
    const withManifest = await node(VALIDATE, [...args, '--manifest', written]);
    expect(withManifest.status).toBe(0);
    expect(JSON.parse(withManifest.stdout)).toMatchObject({ ok: true, manifest: written, shards: 6 });
    expect((JSON.parse(withManifest.stdout) as { items?: unknown }).items).toBeUndefined();
    for (const [extra, code, message] of [
      [['--shard-hours', '0'], 'USAGE', /--shard-hours must be a whole number/],
      [['--local-dir', join(work, 'nowhere')], 'USAGE', /--local-dir .*nowhere cannot be read: ENOENT/],
      [['--accounts', '999999999999'], 'USAGE', /no digest chain found/],
      // The manifest cannot be written (a folder below a file): a failure after the listing.
      [['--manifest', join(keysFile, 'manifest.jsonl')], 'SOURCE_ERROR', /cannot write .*manifest\.jsonl/],
    ] as Array<[string[], string, RegExp]>) {
      const r = await node(VALIDATE, [...args, ...extra]);
      expect(r.status).toBe(2);
      const failed = parse(r);
      expect(failed).toMatchObject({ ok: false, error: { code } });
      expect(failed.error!.message).toMatch(message);
      expect(r.stderr).toBe(`validate-logs plan: error: ${failed.error!.message}\n`);
    }
    // Asked for text, a failed plan prints nothing on stdout.
    const text = await node(VALIDATE, ['plan', '--s3-bucket', BUCKET, '--local-dir', root, '--start-time', START, '--accounts', '999999999999']);
    expect([text.status, text.stdout]).toEqual([2, '']);
  });

  it('cosign: the cosigned checkpoint as a document, or one saying why not', async () => {
    const sample = copySample();
    try {
      const logNoteKey = await generateNoteSignerKey('example.com/log');
      const witnessFile = join(work, 'witness.key');
      writeFileSync(witnessFile, formatNoteSignerKey(await generateNoteSignerKey('example.com/witness')) + '\n');
      const folder = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08';
      const pin = (h: number) => {
        const key = `${folder}/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T0${h}0000Z.json.gz`;
        const d = parseDigest(new Uint8Array(gunzipSync(readFileSync(join(sample.dir, key)))));
        return { trailArn: tampering.trail.trailArn, region: 'us-east-1', bucket: tampering.trail.bucket, key, endTime: d.record.digestEndTime, sha256: d.sha256 };
      };
      const note = async (name: string, h: number): Promise<string> => {
        const path = join(work, name);
        writeFileSync(path, await signCheckpoint({ chains: [pin(h)], reportSha256: 'c'.repeat(64) }, [logNoteKey]));
        return path;
      };
      const older = await note('old.note', 4);
      const newer = await note('new.note', 6);
      const cosign = (extra: string[]): Promise<Run> =>
        node(VALIDATE, ['cosign', '--output', 'json', '--checkpoint-public-key', formatNoteVerifierKey(logNoteKey), '--key', witnessFile, '--local-dir', sample.dir, ...extra]);
      const ok = await cosign(['--checkpoint', newer, '--previous', older]);
      expect([ok.status, ok.stderr]).toEqual([0, '']);
      expect(JSON.parse(ok.stdout)).toMatchObject({ tool: 'validate-logs', ok: true, cosigned: newer, witness: expect.stringMatching(/^example\.com\/witness\+[0-9a-f]{8}$/), previous: older, chains: 1, links: 2 });
      // Refused (the new checkpoint is older than the previous one), a usage error, an unreadable file.
      for (const [extra, message] of [
        [['--checkpoint', older, '--previous', newer, '--out', join(work, 'rolled-back.note')], /^refused: /],
        [['--checkpoint', newer, '--output', 'json', '--bogus'], /Unknown option '--bogus'/],
        [['--checkpoint', join(work, 'nowhere.note')], /nowhere\.note/],
      ] as Array<[string[], RegExp]>) {
        const r = await cosign(extra);
        expect(r.status).toBe(2);
        const failed = parse(r);
        expect(failed).toMatchObject({ ok: false, error: { code: expect.any(String) } });
        expect(failed.error!.message).toMatch(message);
        expect(r.stderr).toBe(`validate-logs cosign: error: ${failed.error!.message}\n`);
      }
      expect(readdirSync(work)).not.toContain('rolled-back.note');
    } finally {
      sample.cleanup();
    }
  });

  it('validate-logs --output json: a run, a usage error, a missing folder', async () => {
    const run = await node(VALIDATE, sampleArgs(join(ROOT, 'sample', 'bucket'), ['--output', 'json']));
    expect(run.status).toBe(0);
    expect(parse(run).ok).toBe(true);
    for (const args of [sampleArgs(join(work, 'nowhere'), ['--output', 'json']), ['--output', 'json', '--start-time', 'yesterday-ish']]) {
      const r = await node(VALIDATE, args);
      expect(r.status).toBe(2);
      expect(parse(r)).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    }
  });
});

describe('a merge stopped from outside', () => {
  it('prints the document that claims nothing, with the signal as its error', async () => {
    const { mergeCommand } = await import('../src/cli/scale.js');
    const { StopError } = await import('../src/cli/io.js');
    const { PassThrough } = await import('node:stream');
    const stopped = new AbortController();
    stopped.abort(new StopError('SIGINT'));
    const [stdout, stderr] = [new PassThrough(), new PassThrough()];
    let [out, err] = ['', ''];
    stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const status = await mergeCommand(['--output', 'json', reports], { stdout, stderr, env: {}, now: () => new Date(), signal: stopped.signal });
    expect(status).toBe(2);
    expect(JSON.parse(out)).toMatchObject({ ok: false, findings: [], chains: [], error: { code: 'SIGINT' } });
    expect(err).toBe('validate-logs merge: error: interrupted by SIGINT: the run stopped before its end\n');
  });
});

describe('a merged document larger than what is kept in memory', () => {
  it('goes through a temporary file, and leaves none behind', async () => {
    const { DocumentBuffer } = await import('../src/cli/json.js');
    const { PassThrough } = await import('node:stream');
    const buffer = new DocumentBuffer();
    const tmp = mkdtempSync(join(tmpdir(), 'vl-buffer-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const line = `{"x":"${'é'.repeat(1000)}"}`;
      await buffer.append('[');
      for (let i = 0; i < 20_000; i++) await buffer.append(`${i ? ',' : ''}${line}`);
      await buffer.append(']');
      expect(readdirSync(tmp)).toEqual([]); // the file has no name while it is written
      const out = new PassThrough();
      let text = '';
      out.setEncoding('utf8').on('data', (d: string) => (text += d));
      await buffer.writeTo(out);
      out.end();
      expect(JSON.parse(text)).toHaveLength(20_000);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
