// Organization scale: plan shards, run each as its own process (as AWS Batch and Kubernetes
// run them) or through the Lambda handler, merge, and get what single runs over each chain get.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  LocalDirectory,
  PublicKeySet,
  SHARD_INDEX_VARIABLES,
  createSigner,
  cutWindow,
  emptySummary,
  digestKey,
  generateDigests,
  sha256,
  toHex,
  logKey,
  checkShardReport,
  mergeChain,
  ownership,
  parseManifest,
  planShards,
  runShard,
  type Finding,
  type ShardItem,
  type ShardReport,
} from './helpers/lib.js';
import { createMergeHandler, createShardHandler } from '../src/aws-lambda.js';
import { VALIDATE, node, type Run } from './helpers/cli.js';
import { loopbackEnv, startAwsApi, startS3, uploadDir, type S3Server } from './helpers/aws.js';
import { ROOT } from './helpers/tamper.js';
import { writeHourlyChain } from './helpers/chains.js';

const BUCKET = 'org-bucket';
const REPORTS_BUCKET = 'scale-reports';
const ORG = 'o-abcdef1234';
const TRAIL = 'org-trail';
const ACCOUNTS = ['111111111111', '222222222222', '333333333333'];
const REGIONS = ['us-east-1', 'eu-west-1'];
const SHARD_HOURS = 12;
const HOURS = 36;
const T0 = Date.parse('2025-01-08T00:00:00Z');
const START = '2025-01-08T00:00:00Z';
const END = '2025-01-09T12:00:00Z';
const hour = (h: number): Date => new Date(T0 + h * 3_600_000);
const trailOf = (accountId: string, region: string) => ({ accountId, region, homeRegion: 'us-east-1', trailName: TRAIL, organizationId: ORG });
const dkey = (accountId: string, region: string, h: number): string => digestKey(trailOf(accountId, region), hour(h));

/** The tamperings, each on a shard boundary (shards of 12 h: boundaries at hours 12 and 24). */
const TAMPER: Record<string, (root: string) => void | Promise<void>> = {
  // The digest ending exactly at the boundary deleted.
  // Objects planted in date folders that several shards list: each reported once.
  '111111111111/us-east-1': (root) => {
    unlinkSync(join(root, dkey('111111111111', 'us-east-1', 12)));
    writeFileSync(join(root, dkey('111111111111', 'us-east-1', 12), '..', 'planted.txt'), 'not a digest');
    writeFileSync(join(root, logKey(trailOf('111111111111', 'us-east-1'), hour(12.5), 'L000000000000012'), '..', 'planted.json'), '{}');
  },
  // A hole across two shards: hours 22 to 26.
  '111111111111/eu-west-1': (root) => {
    for (let h = 22; h <= 26; h++) unlinkSync(join(root, dkey('111111111111', 'eu-west-1', h)));
  },
  // The log listed by the boundary digest modified.
  '222222222222/us-east-1': (root) => writeFileSync(join(root, logKey(trailOf('222222222222', 'us-east-1'), hour(11.5), 'L000000000000011')), gzipSync('{"Records":[{"eventTime":"2025-01-08T11:29:00Z","modified":true}]}')),
  // A deleted tail reaching back into the middle shard: the last shard has no digest at all.
  '222222222222/eu-west-1': (root) => {
    for (let h = 23; h <= HOURS; h++) unlinkSync(join(root, dkey('222222222222', 'eu-west-1', h)));
  },
  // A log injected at the boundary minute; the digests on either side of the boundary without
  // signature metadata (as in a copy made with "aws s3 sync"): each is vouched for by its successor.
  '333333333333/us-east-1': (root) => {
    const key = logKey(trailOf('333333333333', 'us-east-1'), hour(12), 'INJECTED00000000');
    writeFileSync(join(root, key), gzipSync('{"Records":[]}'));
    for (const h of [11, 12]) unlinkSync(join(root, `${dkey('333333333333', 'us-east-1', h)}.metadata.json`));
  },
  // Logging stopped after hour 9 and restarted at hour 13: a gap across the boundary at hour 12,
  // the new chain starting with a starting digest (as CloudTrail starts one).
  '333333333333/eu-west-1': async (root) => {
    const trail = trailOf('333333333333', 'eu-west-1');
    for (let h = 10; h <= HOURS; h++) {
      unlinkSync(join(root, dkey(trail.accountId, trail.region, h)));
      unlinkSync(join(root, `${dkey(trail.accountId, trail.region, h)}.metadata.json`));
    }
    const logs = Array.from({ length: HOURS - 13 }, (_, i) => {
      const at = hour(13 + i + 0.5);
      const key = logKey(trail, at, `L${String(13 + i).padStart(15, '0')}`);
      return { key, deliveredAt: at, sha256: toHex(sha256(new Uint8Array(gunzipSync(readFileSync(join(root, key)))))) };
    });
    for await (const d of generateDigests({ trail, bucket: BUCKET, logs, until: hour(HOURS), from: hour(13), signer })) {
      writeFileSync(join(root, d.key), d.gzipped);
      writeFileSync(join(root, `${d.key}.metadata.json`), JSON.stringify(d.metadata));
    }
  },
};

let work: string;
let root: string;
let keysFile: string;
const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));

/** An organization bucket: 3 accounts, 2 regions, a 36-hour chain each (one digest and one log an hour). */
async function buildBucket(): Promise<void> {
  for (const accountId of ACCOUNTS) {
    for (const region of REGIONS) {
      await writeHourlyChain(root, { bucket: BUCKET, trail: trailOf(accountId, region), t0: T0, hours: HOURS, signer });
      await TAMPER[`${accountId}/${region}`]?.(root);
    }
  }
}

interface Report {
  findings: Finding[];
  regions?: Array<{ region: string; summary: Record<string, unknown>; found: unknown; ok: boolean; empty: boolean }>;
  chains?: Array<{ accountId: string; region: string; summary: Record<string, unknown>; found: unknown; ok: boolean; empty: boolean }>;
  ok: boolean;
}

/** Run tasks two at a time (the machine has two cores). */
async function twoAtATime<T>(tasks: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

const sortFindings = (fs: Finding[]): Finding[] => [...fs].sort((a, b) => `${a.object} ${a.code} ${a.digest ?? ''}`.localeCompare(`${b.object} ${b.code} ${b.digest ?? ''}`));
const chainFindings = (fs: Finding[], accountId: string, region: string): Finding[] => sortFindings(fs.filter((f) => f.region === region && f.object.includes(`/${accountId}/`)));

/** Single runs, one per account (both regions at once): the reference. */
const single: Record<string, { status: number | null; report: Report }> = {};

function expectSameAsSingleRuns(merged: Report, status: number | null, valid = true, accounts = ACCOUNTS): void {
  for (const accountId of accounts) {
    const one = single[accountId]!;
    for (const region of REGIONS) {
      const ours = chainFindings(merged.findings, accountId, region);
      const theirs = chainFindings(one.report.findings, accountId, region).filter((f) => valid || f.severity !== 'valid');
      expect(ours, `${accountId} ${region}`).toEqual(theirs);
      if (merged.chains) {
        const c = merged.chains.find((x) => x.accountId === accountId && x.region === region)!;
        const r = one.report.regions!.find((x) => x.region === region)!;
        expect([c.summary, c.found]).toEqual([r.summary, r.found]);
        expect([c.ok, c.empty]).toEqual([r.ok, r.empty]);
      }
    }
  }
  expect(status).toBe(Math.max(...accounts.map((a) => single[a]!.status!)));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vl-scale-'));
  root = join(work, 'bucket');
  await buildBucket();
  keysFile = join(work, 'keys.json');
  writeFileSync(keysFile, JSON.stringify(new PublicKeySet([signer.publicKey]).toListPublicKeys()));
  const runs = await twoAtATime(
    ACCOUNTS.map((accountId) => () =>
      node(VALIDATE, [
        '--trail-arn', `arn:aws:cloudtrail:us-east-1:999999999999:trail/${TRAIL}`, '--account-id', accountId, '--organization-id', ORG,
        '--start-time', START, '--end-time', END, '--local-dir', root, '--s3-bucket', BUCKET, '--public-keys', keysFile,
        '--regions', REGIONS.join(','), '--output', 'json',
      ]),
    ),
  );
  ACCOUNTS.forEach((a, i) => (single[a] = { status: runs[i]!.status, report: JSON.parse(runs[i]!.stdout) as Report }));
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the single runs the shards are compared with', () => {
  it('see every tampering at the boundaries', () => {
    const codes = (a: string, r: string): string[] => chainFindings(single[a]!.report.findings, a, r).filter((f) => f.severity === 'invalid').map((f) => `${f.code} ${f.key.split('/').pop()}`);
    expect(codes('111111111111', 'us-east-1')).toEqual([`DIGEST_NOT_FOUND ${dkey('111111111111', 'us-east-1', 12).split('/').pop()}`, 'OBJECT_UNEXPECTED planted.txt', 'OBJECT_UNEXPECTED planted.json']);
    expect(codes('111111111111', 'eu-west-1')).toHaveLength(5);
    expect(codes('222222222222', 'us-east-1')).toEqual([expect.stringMatching(/^LOG_HASH_MISMATCH .*_20250108T1130Z_/)]);
    // A deleted tail: each log after the newest digest whose digest was due (its hour and the
    // 2-hour grace before the end of the range, hour 36: hours 22 to 33) or delivered more than
    // the grace after it (hours 34 and 35, what shows the tail deleted) is unreferenced.
    expect(codes('222222222222', 'eu-west-1')).toEqual([
      expect.stringMatching(/^CHAIN_TAIL_MISSING .*_20250108T220000Z\.json\.gz$/),
      ...Array.from({ length: 14 }, (_, i) => `LOG_UNREFERENCED ${logKey(trailOf('222222222222', 'eu-west-1'), hour(22 + i + 0.5), `L${String(22 + i).padStart(15, '0')}`).split('/').pop()}`),
    ]);
    expect(codes('333333333333', 'us-east-1')).toEqual([expect.stringMatching(/^LOG_UNREFERENCED .*_20250108T1200Z_INJECTED/)]);
    // The logs delivered in the gap (hours 9 to 13): no digest vouches for them.
    expect(codes('333333333333', 'eu-west-1')).toEqual(
      [9, 10, 11, 12].map((h) => `LOG_UNREFERENCED ${logKey(trailOf('333333333333', 'eu-west-1'), hour(h + 0.5), `L${String(h).padStart(15, '0')}`).split('/').pop()}`),
    );
    expect(chainFindings(single['333333333333']!.report.findings, '333333333333', 'eu-west-1').filter((f) => f.code === 'CHAIN_GAP')).toEqual([
      expect.objectContaining({ key: dkey('333333333333', 'eu-west-1', 14), startTime: '2025-01-08T09:00:00Z', endTime: '2025-01-08T13:00:00Z', logs: 4 }),
    ]);
    expect(single['333333333333']!.status).toBe(1);
  });
});

describe('plan, run each shard as a process, merge: a local copy', () => {
  let manifestFile: string;
  let reports: string;
  let items: ShardItem[];

  beforeAll(async () => {
    manifestFile = join(work, 'manifest.jsonl');
    reports = join(work, 'reports');
    const plan = await node(VALIDATE, ['plan', '--s3-bucket', BUCKET, '--local-dir', root, '--start-time', START, '--end-time', END, '--shard-hours', String(SHARD_HOURS), '--manifest', manifestFile, '--reports', reports]);
    expect(plan.stderr).toBe('validate-logs plan: 6 chains, 18 shards, manifest written to ' + manifestFile + '\n');
    expect(plan.status).toBe(0);
    items = parseManifest(readFileSync(manifestFile, 'utf8'), manifestFile);
    // Each shard its own process, its index from the engine's variable (Batch's for some, Kubernetes' for the others).
    const runs = await twoAtATime(
      items.map((item) => () =>
        node(VALIDATE, ['--manifest', manifestFile, '--local-dir', root, '--public-keys', keysFile], { [SHARD_INDEX_VARIABLES[item.index % 2]!]: String(item.index) }),
      ),
    );
    for (const r of runs) expect([r.status, r.stderr]).toEqual([0, expect.stringMatching(/report written to /)]);
    // The shard that sees the deleted tail says so beside its counts.
    expect(runs.filter((r) => /^validate-logs: shard \d+ .*account 222222222222, region eu-west-1.*, 1 CHAIN_TAIL_MISSING; report written to /.test(r.stderr))).toHaveLength(1);
  }, 300_000);

  it('lists every account, region and window of the organization', () => {
    expect(items.map((i) => `${i.accountId} ${i.region} ${i.start} ${i.end} ${i.part}/${i.parts}`)).toEqual(
      ACCOUNTS.flatMap((a) =>
        ['eu-west-1', 'us-east-1'].flatMap((r) => [0, 1, 2].map((p) => `${a} ${r} ${hour(p * SHARD_HOURS).toISOString().slice(0, 19)}Z ${hour((p + 1) * SHARD_HOURS).toISOString().slice(0, 19)}Z ${p}/3`)),
      ),
    );
    expect(items[0]).toMatchObject({ bucket: BUCKET, organizationId: ORG, trailName: TRAIL, homeRegion: 'us-east-1', digestFolder: `AWSLogs/${ORG}/111111111111/CloudTrail-Digest/eu-west-1/`, reports });
  });

  it('merges to the findings, summaries and exit status of single runs over each chain', async () => {
    const r = await node(VALIDATE, ['merge', '--output', 'json', '--manifest', manifestFile, reports]);
    expect(r.stderr).toBe('');
    expectSameAsSingleRuns(JSON.parse(r.stdout) as Report, r.status);
    expect(r.status).toBe(1);
  });

  it('gives the text output per chain', async () => {
    const r = await node(VALIDATE, ['merge', reports]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^Account 111111111111, region eu-west-1, trail org-trail:\nValidating log files for trail arn:aws:cloudtrail:us-east-1:111111111111:trail\/org-trail between 2025-01-08T00:00:00Z and 2025-01-09T12:00:00Z\n/);
    expect(r.stdout).toContain('31/36 digest files valid, 5/36 digest files INVALID');
    expect(r.stderr).toContain('INVALID: not found');
  });

  it('reruns a shard to the same report, and a failed run writes nothing', async () => {
    const file = join(reports, 'shard-000004.json');
    const before = readFileSync(file, 'utf8');
    const again = await node(VALIDATE, ['--manifest', manifestFile, '--shard-index', '4', '--local-dir', root, '--public-keys', keysFile]);
    expect(again.status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(before);
    unlinkSync(file);
    const failed = await node(VALIDATE, ['--manifest', manifestFile, '--shard-index', '4', '--local-dir', join(work, 'nowhere'), '--public-keys', keysFile]);
    expect(failed.status).toBe(2);
    expect(readdirSync(reports).filter((n) => !n.startsWith('shard-'))).toEqual([]);
    // Without it, the merge names the missing shard and stops.
    const merge = await node(VALIDATE, ['merge', '--manifest', manifestFile, reports]);
    expect(merge.status).toBe(2);
    expect(merge.stderr).toBe(
      'validate-logs merge: error: no report for shard 4 (account 111111111111, region us-east-1, trail org-trail, 2025-01-08T12:00:00Z to 2025-01-09T00:00:00Z): run those shards again\n',
    );
    const retried = await node(VALIDATE, ['--manifest', manifestFile, '--local-dir', root, '--public-keys', keysFile], { JOB_COMPLETION_INDEX: '4' });
    expect(retried.status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('refuses reports that do not join (a bucket changed between runs)', () => {
    const load = (i: number): ShardReport => JSON.parse(readFileSync(join(reports, `shard-${String(i).padStart(6, '0')}.json`), 'utf8')) as ShardReport;
    const parts = [9, 10, 11].map(load); // 222222222222 us-east-1
    expect(mergeChain(parts).summary.ok).toBe(false);
    const changed = structuredClone(parts);
    changed[0]!.boundary.newest!.sha256 = '0'.repeat(64);
    expect(() => mergeChain(changed)).toThrow(/do not join: .* the bucket changed between the two runs/);
    expect(() => mergeChain([parts[0]!, parts[2]!])).toThrow(/no report for shard 10 of 18 \(part 2 of 3/);
  });
});

describe('hostile manifests and reports', () => {
  const items = (): ShardItem[] => planShards([{ bucket: BUCKET, trail: trailOf('111111111111', 'us-east-1') }], new Date(START), new Date(END), { shardHours: SHARD_HOURS });
  const line = (i: ShardItem): string => JSON.stringify(i);

  it('refuses a manifest line that is not a shard of a plan, naming the line and the field', () => {
    const good = items();
    expect(parseManifest(good.map(line).join('\n'), 'm.jsonl')).toEqual(good);
    const cases: Array<[string, RegExp]> = [
      ['{"v":1', /m\.jsonl line 1 is not JSON/],
      [line({ ...good[0]!, v: 2 }), /line 1 .*"v" must be 1/],
      [line({ ...good[0]!, end: '2030-01-01T00:00:00Z' }), /line 1 .*inside the chain's window/],
      [line({ ...good[0]!, region: '../../etc' }), /line 1 .*"region" and "homeRegion" must be AWS region names/],
      [line({ ...good[0]!, digestFolder: 'AWSLogs/999999999999/CloudTrail-Digest/us-east-1/' }), /line 1 .*not where this trail delivers/],
      [line({ ...good[0]!, chain: 'other' }), /line 1 .*"chain" does not name/],
      [line({ ...good[0]!, index: 1 }), /line 1: index 1 of 3/],
    ];
    for (const [text, message] of cases) expect(() => parseManifest([text, ...good.slice(1).map(line)].join('\n'), 'm.jsonl')).toThrow(message);
  });

  it('refuses a shard report with an unknown code, a wrong severity or no boundary', () => {
    const report = { tool: 'validate-logs', kind: 'shard', shard: items()[0], findings: [], summary: emptySummary(), boundary: { logMinutes: [] } };
    expect(checkShardReport(report, 'r.json')).toBe(report);
    const finding = { code: 'LOG_VALID', severity: 'valid', kind: 'log', object: 's3://b/k', bucket: 'b', key: 'k', message: 'valid' };
    expect(() => checkShardReport({ ...report, findings: [{ ...finding, code: 'LOG_FINE' }] }, 'r.json')).toThrow(/r\.json .*finding 0 has no known code/);
    expect(() => checkShardReport({ ...report, findings: [{ ...finding, severity: 'invalid' }] }, 'r.json')).toThrow(/finding 0 \(LOG_VALID\) has the wrong severity/);
    expect(() => checkShardReport({ ...report, boundary: { logMinutes: [[-1, 2]] } }, 'r.json')).toThrow(/"logMinutes" must hold/);
    expect(() => checkShardReport({ ...report, boundary: { logMinutes: [], newest: { key: '../x' } } }, 'r.json')).toThrow(/"boundary.newest" must name a digest key/);
    const coverage = { signed: [[0, 3_600_000]], accounted: [], gaps: [], end: 3_600_000, tailGraceMs: 7_200_000 };
    const log = logKey(trailOf('111111111111', 'us-east-1'), hour(0.5), 'L000000000000000');
    expect(checkShardReport({ ...report, boundary: { logMinutes: [], coverage, unlisted: [log] } }, 'r.json')).toBeTruthy();
    expect(() => checkShardReport({ ...report, boundary: { logMinutes: [], unlisted: [log.replace('111111111111_', '222222222222_')] } }, 'r.json')).toThrow(/"boundary.unlisted" must hold log keys of the shard's trail/);
    expect(() => checkShardReport({ ...report, boundary: { logMinutes: [], coverage: { ...coverage, gaps: [[5, 1]] } } }, 'r.json')).toThrow(/"boundary.coverage" must hold/);
  });

  it('merge names a report that is not one and exits 2', async () => {
    const dir = join(work, 'bad-reports');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'shard-000000.json'), '{"tool":"validate-logs"');
    const r = await node(VALIDATE, ['merge', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^validate-logs merge: error: .*shard-000000\.json is not JSON/);
  });
});

describe('ownership and windows', () => {
  it('a shard reads the log files of the digests it owns, not those of the digests past its end', async () => {
    const item = planShards([{ bucket: BUCKET, trail: trailOf('222222222222', 'us-east-1') }], new Date(START), new Date(END), { shardHours: SHARD_HOURS })[1]!;
    const dir = new LocalDirectory(root, { bucket: BUCKET });
    const read: string[] = [];
    const source = { list: dir.list.bind(dir), get: (b: string, k: string, o?: { metadata?: boolean }) => (read.push(k), dir.get(b, k, o)) };
    const report = await runShard({ item, source, keys: new PublicKeySet([signer.publicKey]) });
    const logs = read.filter((k) => k.includes('/CloudTrail/'));
    expect(report.findings.filter((f) => f.kind === 'log').map((f) => f.key).sort()).toEqual([...logs].sort());
    expect(logs).toHaveLength(SHARD_HOURS);
    expect(report.summary.digests.valid).toBe(SHARD_HOURS);
  });

  it('cuts a window on hour multiples and gives each object to one shard', () => {
    const w = cutWindow(new Date('2025-01-08T05:21:42Z'), new Date('2025-01-09T03:00:00Z'), 12);
    expect(w.map(([a, b]) => [a.toISOString(), b.toISOString()])).toEqual([
      ['2025-01-08T05:21:42.000Z', '2025-01-08T17:00:00.000Z'],
      ['2025-01-08T17:00:00.000Z', '2025-01-09T03:00:00.000Z'],
    ]);
    const shards = [0, 1].map((part) => ({ part, parts: 2, start: part ? '2025-01-08T17:00:00Z' : '2025-01-08T05:21:42Z', end: part ? '2025-01-09T03:00:00Z' : '2025-01-08T17:00:00Z' }) as ShardItem);
    const own = shards.map(ownership);
    for (const t of [Date.parse('2025-01-08T00:00:00Z'), Date.parse('2025-01-08T16:59:59Z'), Date.parse('2025-01-08T17:00:00Z'), Date.parse('2025-01-09T04:00:00Z')]) {
      expect(own.filter((o) => o.digest(t))).toHaveLength(1);
      if (t <= Date.parse('2025-01-09T03:00:00Z')) expect(own.filter((o) => o.log(t))).toHaveLength(1);
    }
  });
});

describe('plan, run, merge on S3, and through the Lambda handler', () => {
  let s3: S3Server;
  let api: Awaited<ReturnType<typeof startAwsApi>>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    s3 = await startS3([BUCKET, REPORTS_BUCKET]);
    await uploadDir(s3, BUCKET, root);
    api = await startAwsApi({ keys: new PublicKeySet([signer.publicKey]).toListPublicKeys() });
    env = loopbackEnv(api.url);
  }, 300_000);
  afterAll(async () => {
    await api?.close();
    await s3?.close();
  });

  it('runs each shard from a manifest in S3, reports to S3, and merges from the prefix', async () => {
    // Two of the accounts (the Lambda test below takes all): the hole, the boundary digest, the tail, the modified log.
    const accounts = ACCOUNTS.slice(0, 2);
    const manifest = `s3://${REPORTS_BUCKET}/plan/manifest.jsonl`;
    const plan = await node(VALIDATE, ['plan', '--s3-bucket', BUCKET, '--endpoint-url', s3.url, '--accounts', accounts.join(','), '--start-time', START, '--end-time', END, '--shard-hours', String(SHARD_HOURS), '--manifest', manifest, '--reports', `s3://${REPORTS_BUCKET}/run/`], env);
    expect([plan.status, plan.stderr]).toEqual([0, `validate-logs plan: 4 chains, 12 shards, manifest written to ${manifest}\n`]);
    const runs: Run[] = await twoAtATime(
      Array.from({ length: 12 }, (_, i) => () => node(VALIDATE, ['--manifest', manifest, '--endpoint-url', s3.url, '--concurrency', '8'], { ...env, AWS_BATCH_JOB_ARRAY_INDEX: String(i) })),
    );
    for (const r of runs) expect([r.status, r.stderr]).toEqual([0, expect.stringMatching(/report written to s3:\/\/scale-reports\/run\/shard-0000\d\d\.json\n$/)]);
    const merged = await node(VALIDATE, ['merge', '--output', 'json', '--endpoint-url', s3.url, `s3://${REPORTS_BUCKET}/run/`], env);
    expect(merged.stderr).toBe('');
    expectSameAsSingleRuns(JSON.parse(merged.stdout) as Report, merged.status, true, accounts);
  }, 300_000);

  it('the Lambda handler, once per manifest item, then the merge handler', async () => {
    const items = parseManifest(readFileSync(join(work, 'manifest.jsonl'), 'utf8'), 'manifest').map(({ reports: _r, ...item }) => item as ShardItem);
    const saved = { ...process.env };
    Object.assign(process.env, env, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    try {
      const shard = createShardHandler({ endpoint: s3.url });
      const results = [];
      for (const item of items) results.push(await shard({ item, reports: `s3://${REPORTS_BUCKET}/lambda/` }));
      expect(results.map((r) => r.report)).toEqual(items.map((i) => `s3://${REPORTS_BUCKET}/lambda/shard-${String(i.index).padStart(6, '0')}.json`));
      const merge = await createMergeHandler({ endpoint: s3.url })({ reports: `s3://${REPORTS_BUCKET}/lambda/` });
      // Every chain fails: the gap of 333333333333 eu-west-1 holds logs no digest vouches for.
      expect(ACCOUNTS.flatMap((a) => single[a]!.report.regions!).filter((r) => !r.ok)).toHaveLength(6);
      expect(merge).toEqual({ ok: false, status: 1, chains: 6, failed: 6, report: `s3://${REPORTS_BUCKET}/lambda/merged.json` });
      const doc = JSON.parse(await (await fetch(`${s3.url}/${REPORTS_BUCKET}/lambda/merged.json`)).text()) as { chains: Array<{ findings: Finding[] }> };
      expectSameAsSingleRuns({ findings: doc.chains.flatMap((c) => c.findings), ok: false }, merge.status, false);
      // A second merge ignores the merged document beside the reports.
      expect((await createMergeHandler({ endpoint: s3.url })({ reports: `s3://${REPORTS_BUCKET}/lambda/` })).chains).toBe(6);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }, 300_000);
});

describe('deploy files', () => {
  const deploy = join(ROOT, 'deploy');
  it('the Step Functions state machine passes asl-validator and maps the manifest in S3 over the Lambda handler', async () => {
    const validator = createRequire(import.meta.url)('asl-validator') as (d: unknown) => { isValid: boolean; errorsText: (s?: string) => string };
    const definition = JSON.parse(readFileSync(join(deploy, 'step-functions', 'state-machine.asl.json'), 'utf8')) as { States: Record<string, Record<string, unknown>> };
    const result = validator(definition);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
    const map = Object.values(definition.States).find((s) => s.Type === 'Map') as { ItemReader: { ReaderConfig: { InputType: string } }; ItemProcessor: { ProcessorConfig: { Mode: string } } };
    expect(map.ItemReader.ReaderConfig.InputType).toBe('JSONL');
    expect(map.ItemProcessor.ProcessorConfig.Mode).toBe('DISTRIBUTED');
  });

  it('the Kubernetes Indexed Job and the AWS Batch job parse and use the index variables the CLI reads', () => {
    const job = parseYaml(readFileSync(join(deploy, 'kubernetes', 'indexed-job.yaml'), 'utf8')) as {
      kind: string;
      spec: { completionMode: string; template: { spec: { containers: Array<{ args: string[]; env: Array<{ name: string }> }> } } };
    };
    expect([job.kind, job.spec.completionMode]).toEqual(['Job', 'Indexed']);
    const container = job.spec.template.spec.containers[0]!;
    expect(container.args).toContain('--manifest');
    expect(container.args).not.toContain('--shard-index');
    expect(container.env.map((e) => e.name)).toContain('JOB_COMPLETION_INDEX');
    const batch = parseYaml(readFileSync(join(deploy, 'aws-batch', 'job.yaml'), 'utf8')) as {
      Metadata: { ShardIndexVariable: string };
      Resources: Record<string, { Type: string; Properties: { ContainerProperties?: { Command: string[] } } }>;
    };
    const definition = Object.values(batch.Resources).find((r) => r.Type === 'AWS::Batch::JobDefinition')!;
    expect(definition.Properties.ContainerProperties!.Command).toContain('--manifest');
    expect(definition.Properties.ContainerProperties!.Command).not.toContain('--shard-index');
    expect(SHARD_INDEX_VARIABLES).toEqual([batch.Metadata.ShardIndexVariable, 'JOB_COMPLETION_INDEX']);
  });

  it('the container and the Lambda functions run Node.js 24, which the engines field admits, and say so', () => {
    const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe('^20.19.0 || >=22.12.0'); // what @noble/*, pkijs and asn1js need
    const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM \S+/gm)).toEqual(['FROM node:24-slim', 'FROM node:24-slim']);
    expect(dockerfile).toMatch(/^# Node\.js 24: an LTS line/m);
    const comment = (JSON.parse(readFileSync(join(deploy, 'step-functions', 'state-machine.asl.json'), 'utf8')) as { Comment: string }).Comment;
    expect(comment).toContain('on the nodejs24.x runtime');
    expect(readFileSync(join(ROOT, 'src', 'aws-lambda.ts'), 'utf8')).toContain('on the `nodejs24.x` runtime');
    // No deployment file still names an older line.
    const named = [dockerfile, comment, readFileSync(join(deploy, 'aws-batch', 'job.yaml'), 'utf8'), ...readdirSync(join(deploy, 'kubernetes')).map((f) => readFileSync(join(deploy, 'kubernetes', f), 'utf8'))]
      .flatMap((text) => text.match(/node(?:js)?[:\s]?(?:1\d|2[0-3])\b|Node\.js (?:1\d|2[0-3])\b/gi) ?? []);
    expect(named).toEqual([]);
  });
});
