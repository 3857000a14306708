// Straight from S3: the AWS SDK talking to an S3 server (s3rver) and to CloudTrail's and
// Organizations' JSON protocol, all on loopback.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalDirectory, PublicKeySet, createSigner, writeDigests, type ListPublicKeysDocument, type ObjectSource, type ObjectSink } from './helpers/lib.js';
import { VALIDATE, WRITE, node, sampleArgs } from './helpers/cli.js';
import { awsCliRequirement, awsValidateLogs, loopbackEnv, setLastModified, startAwsApi, startS3, uploadDir, type S3Server } from './helpers/aws.js';
import { ROOT, applyActions, copySample, setDeliveryTimes, tampering } from './helpers/tamper.js';

const t = tampering.trail;
const validateReport = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as object);
const sampleKeys = JSON.parse(readFileSync(join(ROOT, t.publicKeys), 'utf8')) as ListPublicKeysDocument;

interface Report {
  findings: Array<Record<string, unknown> & { code: string; key: string; severity: string; region?: string }>;
  summary: { digests: { valid: number; invalid: number }; logs: { valid: number; invalid: number } };
  regions: Array<{ region: string; ok: boolean; summary: { digests: { valid: number }; logs: { valid: number } } }>;
  evidence?: { localDir: string; publicKeys: string; objects: number };
  ok: boolean;
}

let api: Awaited<ReturnType<typeof startAwsApi>>;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  api = await startAwsApi({ keys: sampleKeys });
  env = loopbackEnv(api.url);
});
afterAll(async () => {
  await api?.close();
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  api.config.keys = sampleKeys;
  api.config.trails = [];
  delete api.config.latestDigestDelivery;
  delete api.config.organizationId;
  api.config.deny = [];
  api.calls.length = 0;
});

async function s3With(dir: string | undefined, bucket = t.bucket): Promise<S3Server> {
  const s3 = await startS3([bucket]);
  cleanups.push(() => s3.close());
  if (dir) await uploadDir(s3, bucket, dir);
  return s3;
}

function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'vl-online-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** validate-logs online: the sample's arguments without --local-dir and --public-keys. */
function onlineArgs(s3: S3Server, extra: string[] = []): string[] {
  return ['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--s3-bucket', t.bucket, '--endpoint-url', s3.url, ...extra];
}

const strip = (r: Report): unknown => r.findings;

describe('validate-logs straight from S3', () => {
  it.each(tampering.cases)('gives the same findings as from a local copy: $name', async (c) => {
    const { dir, cleanup } = copySample();
    cleanups.push(cleanup);
    applyActions(dir, c.actions);
    const s3 = await s3With(dir);
    const online = await node(VALIDATE, onlineArgs(s3, ['--output', 'json']), env);
    expect(online.stderr).toBe('');
    const local = await node(VALIDATE, sampleArgs(dir, ['--output', 'json']));
    expect(online.status).toBe(local.status);
    expect(online.status).toBe(c.exit);
    const o = JSON.parse(online.stdout) as Report;
    const l = JSON.parse(local.stdout) as Report;
    expect(strip(o)).toEqual(strip(l));
    expect(o.summary).toEqual(l.summary);
    // Keys came from ListPublicKeys over [start, end + 2 h], as the AWS CLI asks.
    const call = api.calls.find((x) => x.op === 'ListPublicKeys')!;
    expect(call.body).toEqual({ StartTime: Date.parse(t.start) / 1000, EndTime: Date.parse(t.end) / 1000 + 7200 });
  });

  it('finds the bucket with DescribeTrails when --s3-bucket is not given', async () => {
    const s3 = await s3With(join(ROOT, t.localDir));
    api.config.trails = [{ Name: 'sample-trail', TrailARN: t.trailArn, S3BucketName: t.bucket, HomeRegion: 'us-east-1', IsMultiRegionTrail: false, IsOrganizationTrail: false }];
    const args = onlineArgs(s3).filter((a, i, all) => a !== '--s3-bucket' && all[i - 1] !== '--s3-bucket');
    const r = await node(VALIDATE, args, env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(api.calls.map((c) => c.op)).toContain('DescribeTrails');
  });

  it('reports a deleted tail that GetTrailStatus reveals, though no late log shows it', async () => {
    const { dir, cleanup } = copySample();
    cleanups.push(cleanup);
    // The newest digest deleted: its logs (05:15, 05:45) are within the grace of the 05:00 digest.
    applyActions(dir, [{ op: 'delete', key: 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T060000Z.json.gz' }]);
    const s3 = await s3With(dir);
    api.config.latestDigestDelivery = new Date('2025-01-08T06:04:10Z');
    const r = await node(VALIDATE, onlineArgs(s3, ['--output', 'json']), env);
    const report = JSON.parse(r.stdout) as Report;
    const tail = report.findings.filter((f) => f.code === 'CHAIN_TAIL_MISSING');
    expect(tail.map((f) => f.key)).toEqual(['AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T050000Z.json.gz']);
    expect(String(tail[0]!.message)).toMatch(/GetTrailStatus/);
    expect(r.status).toBe(1);
  });

  it('names the missing permission when CloudTrail refuses', async () => {
    const s3 = await s3With(join(ROOT, t.localDir));
    api.config.deny = ['ListPublicKeys'];
    const r = await node(VALIDATE, onlineArgs(s3), env);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('validate-logs: error: AccessDenied: ListPublicKeys on us-east-1 was refused; the caller needs cloudtrail:ListPublicKeys');
    // As JSON: one complete document, valid against the schema, saying what stopped the run.
    const json = await node(VALIDATE, onlineArgs(s3, ['--output', 'json']), env);
    expect(json.status).toBe(2);
    const report = JSON.parse(json.stdout) as Report & { error?: { code: string; message: string } };
    expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true);
    expect(report.error?.message).toBe('AccessDenied: ListPublicKeys on us-east-1 was refused; the caller needs cloudtrail:ListPublicKeys');
    expect(report.error?.code).toMatch(/^[A-Z_]+$/);
    expect(report.ok).toBe(false);
  });

  it('saves evidence with --save-to that validates offline to the same findings', async () => {
    const { dir, cleanup } = copySample();
    cleanups.push(cleanup);
    applyActions(dir, tampering.cases.find((c) => c.name === 'a log injected into an hour that has a digest')!.actions);
    applyActions(dir, tampering.cases.find((c) => c.name === 'log deleted')!.actions);
    const s3 = await s3With(dir);
    const evidence = join(temp(), 'evidence');
    const online = await node(VALIDATE, onlineArgs(s3, ['--output', 'json', '--save-to', evidence]), env);
    const o = JSON.parse(online.stdout) as Report;
    expect(o.evidence?.objects).toBeGreaterThan(0);
    await s3.close(); // the network is gone: only the evidence remains
    const offline = await node(VALIDATE, ['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--s3-bucket', t.bucket, '--local-dir', o.evidence!.localDir, '--public-keys', o.evidence!.publicKeys, '--output', 'json'], {
      ...env,
      AWS_ENDPOINT_URL_CLOUDTRAIL: 'http://127.0.0.1:9',
    });
    const l = JSON.parse(offline.stdout) as Report;
    expect(strip(l)).toEqual(strip(o));
    expect(offline.status).toBe(online.status);
    expect(l.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['LOG_UNREFERENCED', 'LOG_NOT_FOUND']));
    expect(readdirSync(evidence)).toEqual(expect.arrayContaining(['public-keys.json', t.bucket]));
  });

  it('validates every region of a multi-region trail in one run, each with its own key', async () => {
    const bucket = 'multi-bucket';
    const root = temp();
    const keys: Record<string, ListPublicKeysDocument> = {};
    for (const [region, pem] of [['us-east-1', 'test-key.pem'], ['eu-west-1', 'test-key-2.pem']] as const) {
      const signer = await createSigner(readFileSync(join(ROOT, 'vectors', pem), 'utf8'));
      const logDir = join(root, `AWSLogs/111122223333/CloudTrail/${region}/2025/01/08`);
      const { mkdirSync, utimesSync } = await import('node:fs');
      mkdirSync(logDir, { recursive: true });
      const log = join(logDir, `111122223333_CloudTrail_${region}_20250108T0130Z_${region === 'us-east-1' ? 'AAAAAAAAAAAAAAAA' : 'BBBBBBBBBBBBBBBB'}.json.gz`);
      writeFileSync(log, gzipSync(`{"Records":[{"eventTime":"2025-01-08T01:29:00Z","awsRegion":"${region}"}]}`));
      utimesSync(log, new Date('2025-01-08T01:30:00Z'), new Date('2025-01-08T01:30:00Z'));
      await writeDigests({
        storage: new LocalDirectory(root, { bucket }),
        bucket,
        trail: { accountId: '111122223333', region, homeRegion: 'us-east-1', trailName: 'sample-trail' },
        signer,
        until: new Date('2025-01-08T03:00:00Z'),
      });
      keys[region] = new PublicKeySet([signer.publicKey]).toListPublicKeys();
    }
    api.config.keys = keys;
    const s3 = await s3With(root, bucket);
    const args = ['--trail-arn', t.trailArn, '--start-time', '2025-01-08T00:00:00Z', '--end-time', '2025-01-08T03:00:00Z', '--s3-bucket', bucket, '--endpoint-url', s3.url, '--regions', 'all'];
    const r = await node(VALIDATE, [...args, '--output', 'json'], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.regions.map((x) => [x.region, x.ok, x.summary.digests.valid, x.summary.logs.valid])).toEqual([
      ['eu-west-1', true, 2, 1],
      ['us-east-1', true, 2, 1],
    ]);
    expect(new Set(report.findings.map((f) => f.region))).toEqual(new Set(['eu-west-1', 'us-east-1']));
    expect(new Set(api.calls.filter((c) => c.op === 'ListPublicKeys').map((c) => c.region))).toEqual(new Set(['eu-west-1', 'us-east-1']));
    const text = await node(VALIDATE, args, env);
    expect(text.stdout).toMatch(/^Region eu-west-1:\nValidating log files for trail /);
    expect(text.stdout).toMatch(/\nRegion us-east-1:\nValidating log files for trail /);
    // One region's key missing: that region fails, the other still passes.
    api.config.keys = { 'us-east-1': keys['us-east-1']! };
    const partial = JSON.parse((await node(VALIDATE, [...args, '--output', 'json'], env)).stdout) as Report;
    expect(partial.regions.map((x) => [x.region, x.ok])).toEqual([
      ['eu-west-1', false],
      ['us-east-1', true],
    ]);
  });

  it('an organization trail: DescribeTrails says so, DescribeOrganization gives the id, --account-id picks the member', async () => {
    const bucket = 'org-bucket';
    const root = temp();
    const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
    await writeDigests({
      storage: new LocalDirectory(root, { bucket }),
      bucket,
      trail: { accountId: '222233334444', region: 'us-east-1', trailName: 'org-trail', organizationId: 'o-abcdef1234' },
      signer,
      until: new Date('2025-01-08T02:00:00Z'),
    });
    const s3 = await s3With(root, bucket);
    api.config.trails = [{ Name: 'org-trail', TrailARN: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail', S3BucketName: bucket, HomeRegion: 'us-east-1', IsOrganizationTrail: true }];
    api.config.organizationId = 'o-abcdef1234';
    const base = ['--trail-arn', 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail', '--start-time', '2025-01-08T00:00:00Z', '--end-time', '2025-01-08T02:00:00Z', '--endpoint-url', s3.url];
    const noAccount = await node(VALIDATE, base, env);
    expect(noAccount.status).toBe(2);
    expect(noAccount.stderr).toMatch(/Missing required parameter for organization trail: '--account-id'/);
    const r = await node(VALIDATE, [...base, '--account-id', '222233334444', '--verbose'], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('s3://org-bucket/AWSLogs/o-abcdef1234/222233334444/CloudTrail-Digest/us-east-1/');
    expect(api.calls.map((c) => c.op)).toEqual(expect.arrayContaining(['DescribeTrails', 'DescribeOrganization', 'ListPublicKeys']));
  });
});

describe('write-digests into S3', () => {
  async function logsOnS3(): Promise<S3Server> {
    const { dir, cleanup } = copySample();
    cleanups.push(cleanup);
    rmSync(join(dir, 'AWSLogs', '111122223333', 'CloudTrail-Digest'), { recursive: true });
    const s3 = await s3With(dir);
    setDeliveryTimes(dir);
    const { statSync } = await import('node:fs');
    const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
    for (const f of walk(dir)) setLastModified(s3, t.bucket, f.slice(dir.length + 1), statSync(f).mtime);
    return s3;
  }
  const writeArgs = (s3: S3Server, extra: string[] = []): string[] => [
    '--s3-bucket', t.bucket, '--account-id', '111122223333', '--region', 'us-east-1', '--trail-name', 'sample-trail',
    '--private-key', join(ROOT, 'vectors', 'test-key.pem'), '--endpoint-url', s3.url, '--until', '2025-01-08T06:00:00Z', ...extra,
  ];

  it('writes the same chain as into a local copy, with signatures in S3 metadata, and nothing twice', async () => {
    const s3 = await logsOnS3();
    const r = await node(WRITE, writeArgs(s3), env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Wrote 6 digest files \(10 log files hashed\), chain started/);
    const key = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T030000Z.json.gz';
    const head = await fetch(`${s3.url}/${t.bucket}/${key}`);
    expect(Buffer.from(await head.arrayBuffer()).equals(readFileSync(join(ROOT, t.localDir, key)))).toBe(true);
    expect(head.headers.get('x-amz-meta-signature')).toBe((JSON.parse(readFileSync(join(ROOT, t.localDir, key + '.metadata.json'), 'utf8')) as { signature: string }).signature);
    const again = await node(WRITE, writeArgs(s3), env);
    expect(again.stdout).toMatch(/^Nothing to write/);
    const v = await node(VALIDATE, onlineArgs(s3), env);
    expect(v.status).toBe(0);
  });

  const aws = awsCliRequirement();
  it.skipIf(aws.skip)('the AWS CLI validates the chain write-digests wrote into S3', async () => {
    aws.check();
    const s3 = await logsOnS3();
    expect((await node(WRITE, writeArgs(s3), env)).status).toBe(0);
    const r = await awsValidateLogs(['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--s3-bucket', t.bucket, '--verbose'], s3.url, api.url, 'us-east-1');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('6/6 digest files valid\n10/10 log files valid\n');
  });

  it('refuses to fork a chain when another writer got there first', async () => {
    // A storage where every write loses the race, as S3 answers 412 to If-None-Match: *.
    const { dir, cleanup } = copySample();
    cleanups.push(cleanup);
    rmSync(join(dir, 'AWSLogs', '111122223333', 'CloudTrail-Digest'), { recursive: true });
    setDeliveryTimes(dir);
    const inner = new LocalDirectory(dir, { bucket: t.bucket });
    const racing: ObjectSource & ObjectSink = {
      list: (b, p, s, o) => inner.list(b, p, s, o),
      get: (b, k, o) => inner.get(b, k, o),
      putIfAbsent: async () => false,
    };
    const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
    await expect(
      writeDigests({ storage: racing, bucket: t.bucket, trail: { accountId: '111122223333', region: 'us-east-1', trailName: 'sample-trail' }, signer, until: new Date('2025-01-08T06:00:00Z') }),
    ).rejects.toMatchObject({ code: 'CHAIN_CONFLICT', message: expect.stringMatching(/already exists: another writer is extending this chain; nothing was overwritten/) });
  });

  it('writes only once at a key even when the store ignores If-None-Match', async () => {
    const s3 = await startS3([t.bucket]);
    cleanups.push(() => s3.close());
    const { S3Storage } = await import('./helpers/lib.js');
    const storage = new S3Storage({ endpoint: s3.url, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    expect(await storage.putIfAbsent(t.bucket, 'a/b.json.gz', new Uint8Array([1]), { signature: 'one' })).toBe(true);
    expect(await storage.putIfAbsent(t.bucket, 'a/b.json.gz', new Uint8Array([2]), { signature: 'two' })).toBe(false);
    const got = await fetch(`${s3.url}/${t.bucket}/a/b.json.gz`);
    expect(got.headers.get('x-amz-meta-signature')).toBe('one');
  });
});

describe('S3 faults: retried where safe, never valid from a partial read, the run finishes', () => {
  const LOG = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08/111122223333_CloudTrail_us-east-1_20250108T0430Z_B5GsKzdAk2jmFCXv.json.gz';
  const DIGEST = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T030000Z.json.gz';
  async function behindProxy(): Promise<{ proxy: import('./helpers/proxy.js').Proxy; args: (extra?: string[]) => string[] }> {
    const { startProxy } = await import('./helpers/proxy.js');
    const s3 = await s3With(join(ROOT, t.localDir));
    const proxy = await startProxy(s3.url);
    cleanups.push(() => proxy.close());
    return { proxy, args: (extra = []) => ['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--s3-bucket', t.bucket, '--endpoint-url', proxy.url, '--output', 'json', ...extra] };
  }
  const get = (key: string) => (method: string, path: string) => method === 'GET' && path.endsWith(key);

  it.each([
    ['503 SlowDown twice', 'slowdown', 2],
    ['500 twice', 'internal', 2],
    ['a connection reset mid-body once', 'reset-mid-body', 1],
    ['a short body twice', 'short-body', 2],
  ] as const)('a log read through %s is retried and validates', async (_, fault, times) => {
    const { proxy, args } = await behindProxy();
    proxy.rules.push({ match: get(LOG), fault, times });
    const r = await node(VALIDATE, args(), env);
    expect(r.status, r.stderr).toBe(0);
    expect(proxy.rules[0]!.times).toBe(0);
    expect(proxy.seen.filter((x) => x.endsWith(LOG)).length).toBeGreaterThan(times);
  });

  it('a log whose body always ends early is LOG_UNREADABLE, never valid, and the rest is still checked', async () => {
    const { proxy, args } = await behindProxy();
    proxy.rules.push({ match: get(LOG), fault: 'short-body', times: Infinity });
    const r = await node(VALIDATE, args(), env);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.findings.filter((f) => f.severity !== 'valid').map((f) => [f.code, f.key])).toEqual([['LOG_UNREADABLE', LOG]]);
    expect(report.summary.logs).toEqual({ valid: 9, invalid: 1 });
  });

  it('a digest that always answers 500 is DIGEST_UNREADABLE and the walk goes on', async () => {
    const { proxy, args } = await behindProxy();
    proxy.rules.push({ match: get(DIGEST), fault: 'internal', times: Infinity });
    const r = await node(VALIDATE, args(), env);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.findings.filter((f) => f.severity !== 'valid').map((f) => [f.code, f.key])).toEqual([['DIGEST_UNREADABLE', DIGEST]]);
    expect(report.summary.digests).toEqual({ valid: 5, invalid: 1 });
  });
});

describe('a run stopped by a signal ends its JSON document', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s while S3 does not answer: exit 2 at once, the document complete with the error', async (sig) => {
    const { startProxy } = await import('./helpers/proxy.js');
    const { spawn } = await import('node:child_process');
    const s3 = await s3With(join(ROOT, t.localDir));
    const proxy = await startProxy(s3.url, 60_000);
    cleanups.push(() => proxy.close());
    const child = spawn(process.execPath, [VALIDATE, ...onlineArgs(s3, ['--output', 'json']).map((a) => (a === s3.url ? proxy.url : a))], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Once the document has begun and S3 has been asked (the answer will not come for a minute), stop the run.
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (stdout.includes('"findings":[')) resolve();
      });
    });
    while (proxy.seen.length === 0) await new Promise((r) => setTimeout(r, 20));
    const sent = Date.now();
    child.kill(sig);
    const status = await closed;
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(status).toBe(2);
    expect(stderr).toBe(`validate-logs: error: interrupted by ${sig}: the run stopped before its end\n`);
    const report = JSON.parse(stdout) as Report & { error?: { code: string; message: string } };
    expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true);
    expect(report.error).toEqual({ code: sig, message: `interrupted by ${sig}: the run stopped before its end` });
    expect(report.ok).toBe(false);
  });
});
