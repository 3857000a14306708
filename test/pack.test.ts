// The package as a user installs it: `npm pack`, installed into an empty folder, both commands
// run with npx on real files.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './helpers/cli.js';
import { ROOT, tampering } from './helpers/tamper.js';

describe('the packed package, installed into an empty folder', () => {
  let work: string;
  let app: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'vl-pack-'));
    // --ignore-scripts: dist/ is already built by `npm test`, and other test files are using it.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], {}, ROOT);
    expect(packed.status, packed.stderr).toBe(0);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
    app = join(work, 'app');
    cpSync(join(ROOT, 'sample'), join(work, 'sample-copy'), { recursive: true });
    writeFileSync(join(work, 'package.json'), '{}');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
    const installed = await run('npm', ['install', '--no-audit', '--no-fund', join(work, tarball)], {}, app);
    expect(installed.status, installed.stderr).toBe(0);
  }, 180_000);
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('ships only what a user needs', async () => {
    const listed = await run('tar', ['-tzf', join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!)]);
    const files = listed.stdout.split('\n').filter(Boolean);
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/cli/validate-logs.js');
    expect(files).toContain('package/schema/report.schema.json');
    // The README's links: the docs pages and the security policy travel with it (docs/api/ does not).
    for (const page of ['docs/cli.md', 'docs/library.md', 'docs/checkpoints.md', 'SECURITY.md']) expect(files).toContain(`package/${page}`);
    expect(files.some((f) => f.startsWith('package/docs/api/'))).toBe(false);
    expect(files.some((f) => f.startsWith('package/test/') || f.startsWith('package/src/') || f.includes('test-key'))).toBe(false);
  });

  it('npx validate-logs --help and npx write-digests --help work', async () => {
    const v = await run('npx', ['--no-install', 'validate-logs', '--help'], {}, app);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^Usage: validate-logs/);
    const w = await run('npx', ['--no-install', 'write-digests', '--help'], {}, app);
    expect(w.status).toBe(0);
    expect(w.stdout).toMatch(/^Usage: write-digests/);
  });

  it('npx validate-logs validates the sample that ships in the package', async () => {
    const sample = join(app, 'node_modules', 'validate-logs', 'sample');
    const t = tampering.trail;
    const r = await run('npx', ['--no-install', 'validate-logs', '--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--local-dir', join(sample, 'bucket'), '--public-keys', join(sample, 'public-keys.json'), '--s3-bucket', t.bucket], {}, app);
    // npm itself may warn about this machine's npm configuration; the command prints nothing.
    expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn'))).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('6/6 digest files valid\n10/10 log files valid\n');
  });

  it('npx write-digests writes a chain that npx validate-logs accepts', async () => {
    const dir = join(work, 'own-logs');
    const logDir = join(dir, 'AWSLogs/111122223333/CloudTrail/eu-west-1/2025/03/01');
    mkdirSync(logDir, { recursive: true });
    const file = join(logDir, '111122223333_CloudTrail_eu-west-1_20250301T1010Z_abcdefghij123456.json.gz');
    writeFileSync(file, gzipSync('{"Records":[{"eventTime":"2025-03-01T10:09:00Z"}]}'));
    utimesSync(file, new Date('2025-03-01T10:10:00Z'), new Date('2025-03-01T10:10:00Z'));
    const keys = join(work, 'keys.json');
    const w = await run('npx', ['--no-install', 'write-digests', '--local-dir', dir, '--s3-bucket', 'own', '--account-id', '111122223333', '--region', 'eu-west-1', '--trail-name', 'app', '--private-key', join(ROOT, 'vectors', 'test-key.pem'), '--public-keys-out', keys, '--until', '2025-03-01T12:00:00Z'], {}, app);
    expect(w.status, w.stderr).toBe(0);
    const v = await run('npx', ['--no-install', 'validate-logs', '--trail-arn', 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/app', '--start-time', '2025-03-01', '--end-time', '2025-03-01T12:00:00Z', '--local-dir', dir, '--public-keys', keys, '--s3-bucket', 'own', '--verbose'], {}, app);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toContain('2/2 digest files valid\n1/1 log files valid\n');
  });

  it('the library imports as ESM with types', async () => {
    writeFileSync(
      join(app, 'check.mjs'),
      "import { verifyTrail, generateDigests, PublicKeySet, MemorySource } from 'validate-logs';\n" +
        "import { LocalDirectory, nodePlatform } from 'validate-logs/node';\n" +
        "import { S3Storage } from 'validate-logs/aws';\n" +
        'console.log(typeof verifyTrail, typeof generateDigests, typeof PublicKeySet, typeof MemorySource, typeof LocalDirectory, nodePlatform.name, typeof S3Storage);\n',
    );
    const r = await run(process.execPath, ['check.mjs'], {}, app);
    expect(r.stdout.trim(), r.stderr).toBe('function function function function function node function');
    writeFileSync(join(app, 'lambda.mjs'), "import { handler, mergeHandler } from 'validate-logs/aws-lambda';\nconsole.log(typeof handler, typeof mergeHandler);\n");
    expect((await run(process.execPath, ['lambda.mjs'], {}, app)).stdout.trim()).toBe('function function');
  });

  it('loads the AWS SDK only when it goes online: a local run works without it', async () => {
    rmSync(join(app, 'node_modules', '@aws-sdk'), { recursive: true, force: true });
    const sample = join(app, 'node_modules', 'validate-logs', 'sample');
    const t = tampering.trail;
    const r = await run('npx', ['--no-install', 'validate-logs', '--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--local-dir', join(sample, 'bucket'), '--public-keys', join(sample, 'public-keys.json'), '--s3-bucket', t.bucket], {}, app);
    expect(r.status).toBe(0);
    writeFileSync(join(app, 'lazy.mjs'), "import * as lib from 'validate-logs/aws';\nconsole.log(typeof lib.S3Storage);\n");
    expect((await run(process.execPath, ['lazy.mjs'], {}, app)).stdout.trim()).toBe('function');
  });
});
