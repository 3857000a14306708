import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, mkdtempSync, openSync, readFileSync, rmSync, readdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, applyActions, copySample, setDeliveryTimes, tampering } from './helpers/tamper.js';
import { VALIDATE, WRITE, node, run, sampleArgs } from './helpers/cli.js';
import { keepHeapsSmall } from '../src/cli/io.js';

const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as object;
const validateReport = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
function sampleCopy(): string {
  const c = copySample();
  cleanups.push(c.cleanup);
  return c.dir;
}
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'vl-cli-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

interface Report {
  findings: Array<{ code: string; key: string; severity: string; object: string; message: string; kind: string; region?: string }>;
  summary: { digests: { valid: number; invalid: number }; logs: { valid: number; invalid: number } };
  regions: Array<{ region: string; empty: boolean; ok: boolean }>;
  ok: boolean;
  empty: boolean;
  found: { startTime: string; endTime: string } | null;
  request: { bucket: string };
}

describe('validate-logs on the sample and its tamperings', () => {
  it.each(tampering.cases)('$name: exit status, INVALID lines and JSON report', async (c) => {
    const dir = sampleCopy();
    applyActions(dir, c.actions);
    const text = await node(VALIDATE, sampleArgs(dir));
    expect(text.status).toBe(c.exit);
    const invalid = text.stderr.split('\n').filter((l) => l.includes('\tINVALID: '));
    expect(invalid.map((l) => l.split('\t')[1])).toEqual(c.findings.map((f) => `s3://sample-bucket/${f.key}`));
    const [dv, di] = c.summary.digests;
    const [lv, li] = c.summary.logs;
    expect(text.stdout).toContain(`${dv}/${dv + di} digest files valid${di ? `, ${di}/${dv + di} digest files INVALID` : ''}\n`);
    expect(text.stdout).toContain(`${lv}/${lv + li} log files valid${li ? `, ${li}/${lv + li} log files INVALID` : ''}\n`);

    const json = await node(VALIDATE, sampleArgs(dir, ['--output', 'json']));
    expect(json.status).toBe(c.exit);
    const report = JSON.parse(json.stdout) as Report;
    expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true);
    expect(report.findings.filter((f) => f.severity !== 'valid').map((f) => ({ code: f.code, key: f.key }))).toEqual(c.findings);
    expect([report.summary.digests.valid, report.summary.digests.invalid]).toEqual(c.summary.digests);
    expect([report.summary.logs.valid, report.summary.logs.invalid]).toEqual(c.summary.logs);
    expect(report.ok).toBe(c.exit === 0);
    expect(json.stderr).toBe('');
  });

  it.each(tampering.cases)('$name: the same report in the main thread (--threads 0), one thread and three', async (c) => {
    const dir = sampleCopy();
    applyActions(dir, c.actions);
    const reports = [];
    for (const threads of ['0', '1', '3']) {
      const r = await node(VALIDATE, sampleArgs(dir, ['--output', 'json', '--threads', threads]));
      expect(r.status, threads).toBe(c.exit);
      const { findings, summary, ok } = JSON.parse(r.stdout) as Report;
      reports.push({ findings, summary, ok });
    }
    expect(reports[1]).toEqual(reports[0]);
    expect(reports[2]).toEqual(reports[0]);
  });

  it('prints the AWS CLI summary, and valid lines only with --verbose', async () => {
    const dir = join(ROOT, 'sample', 'bucket');
    const quiet = await node(VALIDATE, sampleArgs(dir));
    expect(quiet.stdout).toBe(
      'Validating log files for trail arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail between 2025-01-08T00:00:00Z and 2025-01-08T06:00:00Z\n\n' +
        'Results requested for 2025-01-08T00:00:00Z to 2025-01-08T06:00:00Z\n' +
        'Results found for 2025-01-08T00:00:00Z to 2025-01-08T06:00:00Z:\n\n' +
        '6/6 digest files valid\n10/10 log files valid\n',
    );
    expect(quiet.stderr).toBe('');
    const verbose = await node(VALIDATE, sampleArgs(dir, ['--verbose']));
    const lines = verbose.stdout.split('\n');
    expect(lines.filter((l) => /^Digest file\ts3:\/\/sample-bucket\/.*\tvalid$/.test(l))).toHaveLength(6);
    expect(lines.filter((l) => /^Log file\ts3:\/\/sample-bucket\/.*\tvalid$/.test(l))).toHaveLength(10);
  });

  it('takes the bucket from the digests when --s3-bucket is omitted, and says so', async () => {
    const t = tampering.trail;
    const r = await node(VALIDATE, ['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--local-dir', join(ROOT, 'sample', 'bucket'), '--public-keys', join(ROOT, t.publicKeys)]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/note: --s3-bucket not given: validating as bucket "sample-bucket"/);
  });

  it('fails a range with no digest unless --allow-empty', async () => {
    const t = tampering.trail;
    const args = ['--trail-arn', t.trailArn, '--start-time', '2024-01-01', '--end-time', '2024-01-02', '--local-dir', join(ROOT, 'sample', 'bucket'), '--s3-bucket', t.bucket, '--public-keys', join(ROOT, t.publicKeys)];
    const r = await node(VALIDATE, args);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('No digests found\n');
    expect(r.stderr).toMatch(/no digest files of this trail were found/);
    expect((await node(VALIDATE, [...args, '--allow-empty'])).status).toBe(0);
    const json = JSON.parse((await node(VALIDATE, [...args, '--output', 'json'])).stdout) as Report;
    expect(json.empty).toBe(true);
    expect(json.ok).toBe(false);
    expect(json.found).toBeNull();
  });

  it('accepts ISO times with offsets and date-only times', async () => {
    const t = tampering.trail;
    const r = await node(VALIDATE, ['--trail-arn', t.trailArn, '--start-time', '2025-01-08T02:00:00+02:00', '--end-time', '2025-01-08', '--local-dir', join(ROOT, 'sample', 'bucket'), '--s3-bucket', t.bucket, '--public-keys', join(ROOT, t.publicKeys), '--allow-empty']);
    expect(r.stdout).toContain('between 2025-01-08T00:00:00Z and 2025-01-08T00:00:00Z');
    expect(r.status).toBe(0);
  });
});

describe('validate-logs usage and environment errors: exit 2, one line, no stack trace', () => {
  const t = tampering.trail;
  const sample = join(ROOT, 'sample', 'bucket');
  const keys = join(ROOT, t.publicKeys);
  const base = ['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--local-dir', sample, '--public-keys', keys];
  const cases: Array<[string, () => string[], RegExp]> = [
    ['no arguments', () => [], /--trail-arn is required/],
    ['an unknown flag', () => [...base, '--frobnicate'], /Unknown option '--frobnicate'/],
    ['a flag without its value', () => [...base, '--end-time'], /argument missing|--end-time/],
    ['a bad ARN', () => ['--trail-arn', 'arn:aws:s3:::x', ...base.slice(2)], /--trail-arn: "arn:aws:s3:::x" is not a trail ARN/],
    ['a bad start time', () => [...base.slice(0, 2), '--start-time', 'yesterday', ...base.slice(4)], /--start-time: "yesterday" is not an ISO 8601 time/],
    ['start after end', () => [...base, '--end-time', '2020-01-01'], /start-time must occur before end-time/],
    ['a bad --output', () => [...base, '--output', 'xml'], /--output must be text or json/],
    ['a bad --concurrency', () => [...base, '--concurrency', '0'], /--concurrency must be a whole number/],
    ['a bad --threads', () => [...base, '--threads', 'all'], /--threads must be a whole number from 0 to 1024, not "all"/],
    ['a missing directory', () => ['--trail-arn', t.trailArn, '--start-time', t.start, '--local-dir', '/nonexistent/dir', '--public-keys', keys], /--local-dir \/nonexistent\/dir cannot be read: ENOENT/],
    ['no key file', () => base.slice(0, 8), /--public-keys FILE is required/],
    ['an unreadable key file', () => [...base.slice(0, 8), '--public-keys', '/nonexistent/keys.json'], /cannot read --public-keys \/nonexistent\/keys.json: no such file/],
    ['a malformed key file', () => [...base.slice(0, 8), '--public-keys', join(ROOT, 'package.json')], /is not a usable key list: .*PublicKeyList/],
    ['no digests where they must be', () => [...base, '--region', 'eu-west-3'], /no digest files under AWSLogs\/111122223333\/CloudTrail-Digest\/eu-west-3\//],
    ['no AWS credentials online', () => ['--trail-arn', t.trailArn, '--start-time', t.start], /DescribeTrails on us-east-1: no AWS credentials were found/],
    ['--profile with --local-dir', () => [...base, '--profile', 'x'], /--profile and --endpoint-url are for S3/],
    ['--region with --regions', () => [...base, '--region', 'us-east-1', '--regions', 'all'], /--region and --regions cannot be used together/],
    ['a bad region in --regions', () => [...base, '--regions', 'us-east-1,Mars'], /"Mars" is not an AWS region name/],
  ];
  const noAws = { AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_SESSION_TOKEN: '' };
  it.each(cases)('%s', async (_, args, message) => {
    const r = await node(VALIDATE, args(), noAws);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^validate-logs: error: /);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--help explains every flag with examples; --version prints the version', async () => {
    const help = await node(VALIDATE, ['--help']);
    expect(help.status).toBe(0);
    for (const flag of ['--trail-arn', '--start-time', '--end-time', '--s3-bucket', '--s3-prefix', '--account-id', '--verbose', '--local-dir', '--public-keys', '--output', '--allow-empty', '--concurrency', '--threads', '--region', '--organization-id', '--no-progress']) {
      expect(help.stdout).toContain(flag);
    }
    expect(help.stdout).toMatch(/Examples:/);
    for (const code of ['LOG_DUPLICATE', 'LOG_MISPLACED', 'DIGEST_TIME_INVALID', 'DIGEST_UNREACHED', 'CHAIN_LOOP', 'CHAIN_EMPTY', 'OBJECT_UNEXPECTED', 'OBJECT_UNREADABLE']) expect(help.stdout).toContain(code);
    expect(help.stdout).toMatch(/"error" member says what stopped it/);
    const v = await node(VALIDATE, ['--version']);
    expect(v.stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });
});

describe("the validate-logs process's heaps", () => {
  it('are kept near their live data, unless node was started with a growing factor of its own', async () => {
    // Left as given: on node's command line, in either spelling, or in NODE_OPTIONS (this
    // process's own flags stay as they are: these calls set nothing).
    expect(keepHeapsSmall(['--heap-growing-percent=50'], '')).toBe(false);
    expect(keepHeapsSmall(['--heap_growing_percent', '50'], '')).toBe(false);
    expect(keepHeapsSmall([], '--max-old-space-size=100 --heap-growing-percent=20')).toBe(false);
    // Otherwise set, in a process of its own (the flags of this one are the test runner's).
    const io = pathToFileURL(join(ROOT, 'dist', 'cli', 'io.js')).href;
    const set = await run(process.execPath, ['--input-type=module', '-e', `import { keepHeapsSmall } from ${JSON.stringify(io)}; process.stdout.write(String(keepHeapsSmall([], '')));`]);
    expect(set).toMatchObject({ status: 0, stdout: 'true' });
  });
});

describe('write-digests', () => {
  function logsOnly(): string {
    const dir = sampleCopy();
    rmSync(join(dir, 'AWSLogs', '111122223333', 'CloudTrail-Digest'), { recursive: true });
    setDeliveryTimes(dir);
    return dir;
  }
  const args = (dir: string, extra: string[] = []): string[] => [
    '--local-dir', dir, '--s3-bucket', 'sample-bucket', '--account-id', '111122223333', '--region', 'us-east-1', '--trail-name', 'sample-trail',
    '--private-key', join(ROOT, 'vectors', 'test-key.pem'), ...extra,
  ];

  it("writes the sample's digests byte for byte with every pool size (event times included)", async () => {
    const digestFolder = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08';
    for (const threads of ['0', '1', '4']) {
      const dir = logsOnly();
      const r = await node(WRITE, args(dir, ['--until', '2025-01-08T06:00:00Z', '--threads', threads]));
      expect(r.status, r.stderr).toBe(0);
      const written = readdirSync(join(dir, digestFolder)).sort();
      expect(written).toEqual(readdirSync(join(ROOT, 'sample/bucket', digestFolder)).sort());
      for (const f of written) expect(readFileSync(join(dir, digestFolder, f)).equals(readFileSync(join(ROOT, 'sample/bucket', digestFolder, f))), `${threads}: ${f}`).toBe(true);
    }
    const bad = await node(WRITE, args(logsOnly(), ['--threads', '2000']));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--threads must be a whole number from 0 to 1024, not "2000"/);
  });

  it('writes the same digests as the sample, validates, and a second run writes nothing', async () => {
    const dir = logsOnly();
    const keysOut = join(tempDir(), 'keys.json');
    const first = await node(WRITE, args(dir, ['--until', '2025-01-08T06:00:00Z', '--public-keys-out', keysOut]));
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout.match(/^Wrote digest file\t/gm)).toHaveLength(6);
    expect(first.stdout).toMatch(/Wrote 6 digest files \(10 log files hashed\), chain started/);
    const digestDir = join(dir, 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08');
    for (const f of readdirSync(digestDir)) {
      expect(readFileSync(join(digestDir, f)).equals(readFileSync(join(ROOT, 'sample/bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08', f)))).toBe(true);
    }
    expect(JSON.parse(readFileSync(keysOut, 'utf8'))).toEqual(JSON.parse(readFileSync(join(ROOT, 'sample', 'public-keys.json'), 'utf8')));
    const again = await node(WRITE, args(dir, ['--until', '2025-01-08T06:30:00Z', '--public-keys-out', keysOut]));
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/^Nothing to write: the chain is complete up to 2025-01-08T06:00:00Z\./);
    const v = await node(VALIDATE, sampleArgs(dir, ['--public-keys', keysOut]));
    expect(v.status).toBe(0);
  });

  it('continues the chain after new logs arrive, with a rotated key recorded in the key file', async () => {
    const dir = logsOnly();
    const keysOut = join(tempDir(), 'keys.json');
    expect((await node(WRITE, args(dir, ['--until', '2025-01-08T03:00:00Z', '--public-keys-out', keysOut]))).status).toBe(0);
    const rotated = args(dir, ['--until', '2025-01-08T06:00:00Z', '--public-keys-out', keysOut]);
    rotated[rotated.indexOf('--private-key') + 1] = join(ROOT, 'vectors', 'test-key-2.pem');
    const second = await node(WRITE, rotated);
    expect(second.stdout).toMatch(/Wrote 3 digest files \(5 log files hashed\), chain continued/);
    const keys = JSON.parse(readFileSync(keysOut, 'utf8')) as { PublicKeyList: Array<{ ValidityStartTime: string; ValidityEndTime: string }> };
    expect(keys.PublicKeyList.map((k) => [k.ValidityStartTime, k.ValidityEndTime])).toEqual([
      ['2025-01-08T00:00:00Z', '2025-01-08T03:00:00Z'],
      ['2025-01-08T03:00:00Z', '9999-12-31T23:59:59Z'],
    ]);
    const v = await node(VALIDATE, [...sampleArgs(dir).slice(0, -2), '--public-keys', keysOut]);
    expect(v.stderr).toBe('');
    expect(v.status).toBe(0);
  });

  it('JSON output lists what was written', async () => {
    const dir = logsOnly();
    const r = await node(WRITE, args(dir, ['--until', '2025-01-08T02:00:00Z', '--output', 'json']));
    const doc = JSON.parse(r.stdout) as { written: Array<{ object: string; logFiles: number }>; logsHashed: number };
    expect(doc.written.map((w) => w.logFiles)).toEqual([2, 1]);
    expect(doc.logsHashed).toBe(3);
  });

  it.each([
    ['a missing flag', (d: string) => args(d).slice(0, 2).concat(args(d).slice(4)), /--s3-bucket is required/],
    ['a bad account', (d: string) => args(d).map((a) => (a === '111122223333' ? '123' : a)), /accountId must be 12 digits/],
    ['a missing key file', (d: string) => args(d).map((a) => (a.endsWith('test-key.pem') ? '/nonexistent.pem' : a)), /cannot read --private-key \/nonexistent.pem: no such file/],
    ['a public key given as private key', (d: string) => args(d).map((a) => (a.endsWith('test-key.pem') ? join(ROOT, 'sample', 'public-keys.json') : a)), /not a PEM private key/],
    ['a bad --until', (d: string) => args(d, ['--until', 'soon']), /--until: "soon" is not an ISO 8601 time/],
  ])('refuses %s with exit 2 and one line', async (_, make, message) => {
    const dir = logsOnly();
    const r = await node(WRITE, make(dir));
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('refuses to continue a chain whose newest digest lost its signature', async () => {
    const dir = logsOnly();
    expect((await node(WRITE, args(dir, ['--until', '2025-01-08T02:00:00Z']))).status).toBe(0);
    const digestDir = join(dir, 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08');
    for (const f of readdirSync(digestDir)) if (f.endsWith('.metadata.json')) unlinkSync(join(digestDir, f));
    const r = await node(WRITE, args(dir, ['--until', '2025-01-08T04:00:00Z']));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot continue the chain: its newest digest .* has no signature metadata/);
  });

  it('--help explains every flag', async () => {
    const help = await node(WRITE, ['--help']);
    expect(help.status).toBe(0);
    for (const flag of ['--local-dir', '--s3-bucket', '--s3-prefix', '--account-id', '--region', '--home-region', '--trail-name', '--private-key', '--public-keys-out', '--until', '--organization-id', '--output']) {
      expect(help.stdout).toContain(flag);
    }
  });
});

describe('prefixed, organization and multi-region trails', () => {
  it('write-digests and validate-logs agree on --s3-prefix, --organization-id and --home-region', async () => {
    const dir = tempDir();
    const { mkdirSync, utimesSync, writeFileSync } = await import('node:fs');
    const { gzipSync } = await import('node:zlib');
    const logDir = join(dir, 'audit/AWSLogs/o-abcdef1234/222233334444/CloudTrail/eu-west-1/2025/03/01');
    mkdirSync(logDir, { recursive: true });
    const file = join(logDir, '222233334444_CloudTrail_eu-west-1_20250301T1010Z_abcdefghij123456.json.gz');
    writeFileSync(file, gzipSync('{"Records":[]}'));
    utimesSync(file, new Date('2025-03-01T10:10:00Z'), new Date('2025-03-01T10:10:00Z'));
    const keys = join(dir, 'keys.json');
    const w = await node(WRITE, ['--local-dir', dir, '--s3-bucket', 'org-bucket', '--s3-prefix', 'audit', '--organization-id', 'o-abcdef1234', '--account-id', '222233334444', '--region', 'eu-west-1', '--home-region', 'us-east-1', '--trail-name', 'org_trail', '--private-key', join(ROOT, 'vectors', 'test-key.pem'), '--public-keys-out', keys, '--until', '2025-03-01T12:00:00Z']);
    expect(w.status, w.stderr).toBe(0);
    expect(w.stdout).toContain('s3://org-bucket/audit/AWSLogs/o-abcdef1234/222233334444/CloudTrail-Digest/eu-west-1/2025/03/01/222233334444_CloudTrail-Digest_eu-west-1_org_trail_us-east-1_20250301T110000Z.json.gz');
    const common = ['--trail-arn', 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org_trail', '--start-time', '2025-03-01T10:00:00Z', '--end-time', '2025-03-01T12:00:00Z', '--local-dir', dir, '--public-keys', keys, '--s3-bucket', 'org-bucket', '--s3-prefix', 'audit', '--account-id', '222233334444', '--region', 'eu-west-1'];
    const v = await node(VALIDATE, [...common, '--organization-id', 'o-abcdef1234', '--verbose']);
    expect(v.stderr).toBe('');
    expect(v.status).toBe(0);
    expect(v.stdout).toContain('2/2 digest files valid\n1/1 log files valid\n');
    const wrongRegion = await node(VALIDATE, [...common, '--organization-id', 'o-abcdef1234'].map((a) => (a === 'eu-west-1' ? 'eu-west-2' : a)));
    expect(wrongRegion.status).toBe(2);
    const noOrg = await node(VALIDATE, common);
    expect(noOrg.status).toBe(2);
    expect(noOrg.stderr).toMatch(/no digest files under audit\/AWSLogs\/222233334444\/CloudTrail-Digest\/eu-west-1\//);
  });
});

describe('gaps, the tail grace and the report schema', () => {
  it('the schema names exactly the library\'s finding codes', async () => {
    const { FINDING_CODES } = await import('./helpers/lib.js');
    const codes = (schema as { $defs: { code: { enum: string[] } } }).$defs.code.enum;
    expect([...codes].sort()).toEqual([...FINDING_CODES].sort());
  });

  it('a gap is reported, exits 0, and exits 1 with --fail-on-gap', async () => {
    const dir = sampleCopy();
    const { createSigner, generateDigests, LocalDirectory } = await import('./helpers/lib.js');
    const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
    const t = { accountId: '111122223333', region: 'us-east-1', trailName: 'gap-trail' };
    const store = new LocalDirectory(dir, { bucket: 'sample-bucket' });
    const H = 3_600_000;
    const t0 = Date.UTC(2025, 0, 8);
    for (const [from, until] of [[t0, t0 + 2 * H], [t0 + 4 * H, t0 + 6 * H]]) {
      for await (const d of generateDigests({ trail: t, bucket: 'sample-bucket', logs: [], from: new Date(from!), until: new Date(until!), signer })) {
        await store.putIfAbsent('sample-bucket', d.key, d.gzipped, d.metadata);
      }
    }
    const args = ['--trail-arn', 'arn:aws:cloudtrail:us-east-1:111122223333:trail/gap-trail', '--start-time', '2025-01-08T00:00:00Z', '--end-time', '2025-01-08T06:00:00Z', '--local-dir', dir, '--s3-bucket', 'sample-bucket', '--public-keys', join(ROOT, 'sample', 'public-keys.json')];
    const r = await node(VALIDATE, args);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('No log files were delivered by CloudTrail between 2025-01-08T02:00:00Z and 2025-01-08T04:00:00Z\n\n');
    expect(r.stdout).toContain('4/4 digest files valid');
    expect((await node(VALIDATE, [...args, '--fail-on-gap'])).status).toBe(1);
  });

  it('--tail-grace moves the line after which logs mean a deleted tail', async () => {
    const dir = sampleCopy();
    applyActions(dir, tampering.cases.find((c) => c.name.startsWith('the newest three'))!.actions);
    expect((await node(VALIDATE, sampleArgs(dir))).status).toBe(1);
    expect((await node(VALIDATE, sampleArgs(dir, ['--tail-grace', '3h']))).status).toBe(0);
    expect((await node(VALIDATE, sampleArgs(dir, ['--tail-grace', '150']))).status).toBe(1);
    const bad = await node(VALIDATE, sampleArgs(dir, ['--tail-grace', 'soon']));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--tail-grace must be a duration such as 2h/);
  });
});

describe('--regions all: a region with no digest in range is a notice', () => {
  const t = tampering.trail;
  const digestRoot = 'AWSLogs/111122223333/CloudTrail-Digest';
  /** The sample, plus eu-west-1 with digests only in 2024 and an empty eu-west-2 folder. */
  async function threeRegions(): Promise<string> {
    const dir = sampleCopy();
    const { mkdirSync } = await import('node:fs');
    const { createSigner, generateDigests, LocalDirectory } = await import('./helpers/lib.js');
    const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
    const store = new LocalDirectory(dir, { bucket: t.bucket });
    const trail = { accountId: '111122223333', region: 'eu-west-1', homeRegion: 'us-east-1', trailName: 'sample-trail' };
    for await (const d of generateDigests({ trail, bucket: t.bucket, logs: [], from: new Date('2024-03-01T00:00:00Z'), until: new Date('2024-03-01T02:00:00Z'), signer })) {
      await store.putIfAbsent(t.bucket, d.key, d.gzipped, d.metadata);
    }
    mkdirSync(join(dir, digestRoot, 'eu-west-2'));
    return dir;
  }

  it('reports CHAIN_EMPTY for each empty region, passes on the others, and validates against the schema', async () => {
    const dir = await threeRegions();
    const json = await node(VALIDATE, sampleArgs(dir, ['--regions', 'all', '--output', 'json']));
    expect(json.stderr).toBe('');
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout) as Report;
    expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true);
    expect(report.regions.map((r) => [r.region, r.empty, r.ok])).toEqual([
      ['eu-west-1', true, true],
      ['eu-west-2', true, true],
      ['us-east-1', false, true],
    ]);
    const notices = report.findings.filter((f) => f.code === 'CHAIN_EMPTY');
    expect(notices.map((f) => [f.region, f.kind, f.severity, f.object])).toEqual([
      ['eu-west-1', 'chain', 'notice', `s3://sample-bucket/${digestRoot}/eu-west-1/`],
      ['eu-west-2', 'chain', 'notice', `s3://sample-bucket/${digestRoot}/eu-west-2/`],
    ]);
    // Findings come region after region.
    expect(report.findings.map((f) => f.region)).toEqual([...report.findings.map((f) => f.region)].sort());
    expect(report.summary.digests).toEqual({ valid: 6, invalid: 0 });
    expect(report.ok).toBe(true);

    const text = await node(VALIDATE, sampleArgs(dir, ['--regions', 'all']));
    expect(text.status).toBe(0);
    expect(text.stderr).toBe(
      `Digest chain\ts3://sample-bucket/${digestRoot}/eu-west-1/\tNOTICE: no digest file of this trail in eu-west-1 between 2025-01-08T00:00:00Z and 2025-01-08T06:00:00Z\n\n` +
        `Digest chain\ts3://sample-bucket/${digestRoot}/eu-west-2/\tNOTICE: no digest file of this trail in eu-west-2 between 2025-01-08T00:00:00Z and 2025-01-08T06:00:00Z\n\n`,
    );
    expect(text.stdout).toMatch(/^Region eu-west-1:\nValidating log files for trail .*\n\nResults requested for .*\nNo digests found\nRegion eu-west-2:\n/);
    expect(text.stdout).toContain('Region us-east-1:\nValidating log files for trail arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail between 2025-01-08T00:00:00Z and 2025-01-08T06:00:00Z\n\n');
    expect(text.stdout).toMatch(/6\/6 digest files valid\n10\/10 log files valid\n$/);
  });

  it('fails when no region has a digest in range, unless --allow-empty; a named empty region fails as before', async () => {
    const dir = await threeRegions();
    const before = ['--start-time', '2024-06-01T00:00:00Z', '--end-time', '2024-06-02T00:00:00Z'];
    const args = sampleArgs(dir, ['--regions', 'all']).map((a, i, all) => (all[i - 1] === '--start-time' ? before[1]! : all[i - 1] === '--end-time' ? before[3]! : a));
    const r = await node(VALIDATE, args);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no digest files of this trail were found between 2024-06-01T00:00:00Z and 2024-06-02T00:00:00Z in eu-west-1, eu-west-2, us-east-1; nothing was validated \(--allow-empty to accept\)/);
    expect((await node(VALIDATE, [...args, '--allow-empty'])).status).toBe(0);
    // Named, not found: the user expected digests there.
    const named = await node(VALIDATE, sampleArgs(dir, ['--regions', 'us-east-1,eu-west-1', '--output', 'json']));
    expect(named.status).toBe(1);
    const report = JSON.parse(named.stdout) as Report;
    expect(report.regions.map((x) => [x.region, x.empty, x.ok])).toEqual([
      ['us-east-1', false, true],
      ['eu-west-1', true, false],
    ]);
    expect(report.findings.filter((f) => f.code === 'CHAIN_EMPTY')).toHaveLength(1);
  });
});

describe('--output json is one complete document on every exit', () => {
  const t = tampering.trail;
  interface Stopped extends Omit<Report, 'request'> {
    error?: { code: string; message: string };
    request: Report['request'] | null;
  }
  function parsed(stdout: string): Stopped {
    const report = JSON.parse(stdout) as Stopped;
    expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true);
    return report;
  }

  it('a usage error after the output began (a named region with no digest folder): exit 2, the findings so far, an error', async () => {
    const r = await node(VALIDATE, sampleArgs(join(ROOT, 'sample', 'bucket'), ['--regions', 'us-east-1,eu-west-3', '--output', 'json', '--concurrency', '1']));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^validate-logs: error: no digest files under AWSLogs\/111122223333\/CloudTrail-Digest\/eu-west-3\//);
    const report = parsed(r.stdout);
    expect(report.error).toEqual({ code: 'USAGE', message: expect.stringMatching(/^no digest files under .*eu-west-3\//) as unknown as string });
    expect(report.request?.bucket).toBe('sample-bucket');
    expect(report.ok).toBe(false);
    // What was found before the stop is in the document, and counted.
    const counted = report.summary.digests.valid + report.summary.digests.invalid + report.summary.logs.valid + report.summary.logs.invalid;
    expect(report.findings.filter((f) => f.code !== 'CHAIN_EMPTY')).toHaveLength(counted);
  });

  it.each([
    ['a bad time', ['--start-time', 'yesterday'], /--start-time: "yesterday" is not an ISO 8601 time/],
    ['an unknown flag', ['--frobnicate'], /Unknown option '--frobnicate'/],
    ['a missing directory', ['--local-dir', '/nonexistent/dir'], /--local-dir \/nonexistent\/dir cannot be read/],
  ])('a usage error before the output began (%s): exit 2, a document with no request and an error', async (_, extra, message) => {
    const args = ['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--local-dir', join(ROOT, 'sample', 'bucket'), '--public-keys', join(ROOT, t.publicKeys), '--output=json', ...extra];
    const r = await node(VALIDATE, args);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    const report = parsed(r.stdout);
    expect(report.request).toBeNull();
    expect(report.findings).toEqual([]);
    expect(report.error?.code).toBe('USAGE');
    expect(report.error?.message).toMatch(message);
    expect(report.ok).toBe(false);
  });

  it('standard output closed by its reader (EPIPE): the run stops with exit 2 and says so on stderr', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [VALIDATE, ...sampleArgs(join(ROOT, 'sample', 'bucket'), ['--output', 'json', '--verbose'])], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('validate-logs: error: standard output was closed (EPIPE): the run stopped before its end\n');
    expect(status).toBe(2);
  });
});

describe('validate-logs over a copy holding a special file', () => {
  it('reports a FIFO in place of the newest digest as unreadable, never hangs, and validates the rest (the bucket found from an older digest)', async () => {
    const dir = sampleCopy();
    const folder = join(dir, 'AWSLogs', '111122223333', 'CloudTrail-Digest', 'us-east-1', '2025', '01', '08');
    const newest = readdirSync(folder).filter((n) => n.endsWith('.json.gz')).sort().at(-1)!;
    const fifo = join(folder, newest);
    unlinkSync(fifo);
    execFileSync('mkfifo', [fifo]);
    const args = sampleArgs(dir, ['--output', 'json']);
    args.splice(args.indexOf('--s3-bucket'), 2); // the bucket comes from the digests
    let timer: NodeJS.Timeout | undefined;
    try {
      const r = await Promise.race([
        node(VALIDATE, args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('validate-logs still running after 30 s: it hangs on the FIFO')), 30_000);
        }),
      ]);
      expect(r.status, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout) as { findings: Array<{ code: string; key: string; message: string }>; summary: { digests: { valid: number; invalid: number } } };
      const unreadable = report.findings.filter((f) => f.code === 'DIGEST_UNREADABLE');
      expect(unreadable.map((f) => f.key.split('/').pop())).toEqual([newest]);
      expect(unreadable[0]!.message).toMatch(/FIFO \(named pipe\), not a regular file/);
      expect(report.summary.digests).toEqual({ valid: 5, invalid: 1 });
    } finally {
      clearTimeout(timer);
      try {
        closeSync(openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK)); // let go of a reader stuck on it, if any
      } catch {
        // no reader: nothing was stuck on it
      }
    }
  });
});
