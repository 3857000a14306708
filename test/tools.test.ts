// The rule for tests that need an external program (test/helpers/tools.ts), and the endpoint shim
// that lets Debian's AWS CLI serve as the reference validator (test/helpers/aws-endpoint-shim).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ROOT } from './helpers/tamper.js';
import { requireTool } from './helpers/tools.js';

type Tools = typeof import('./helpers/tools.js');
type Aws = typeof import('./helpers/aws.js');

/** The helpers as a fresh import sees them with these environment variables. */
async function fresh<T>(module: string, env: Record<string, string | undefined>): Promise<T> {
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  vi.resetModules();
  return (await import(module)) as T;
}

const dirs: string[] = [];
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'vl-tools-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('a test that needs a missing program', () => {
  it('under CI=true it runs and fails, naming the program, why, and how to install it', async () => {
    const { requireTool, underCi } = await fresh<Tools>('./helpers/tools.js', { CI: 'true' });
    expect(underCi).toBe(true);
    const r = requireTool('frob', 'no frob on PATH', 'apt-get install frob');
    expect(r.skip).toBe(false);
    expect(() => r.check()).toThrow('CI=true: frob is needed by these tests and cannot be used: no frob on PATH. Install it: apt-get install frob');
  });

  it('CI=1 is CI too; CI=false, CI=0 and no CI are not', async () => {
    expect((await fresh<Tools>('./helpers/tools.js', { CI: '1' })).underCi).toBe(true);
    for (const ci of ['false', '0', '', undefined]) expect((await fresh<Tools>('./helpers/tools.js', { CI: ci })).underCi, String(ci)).toBe(false);
  });

  it('elsewhere it is skipped, and the reason is printed once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { requireTool } = await fresh<Tools>('./helpers/tools.js', { CI: undefined });
    expect(requireTool('frob', 'no frob on PATH', 'apt-get install frob').skip).toBe(true);
    expect(requireTool('frob', 'no frob on PATH', 'apt-get install frob').skip).toBe(true);
    expect(warn.mock.calls).toEqual([['SKIPPED (not under CI=true): frob is needed by these tests and cannot be used: no frob on PATH. Install it: apt-get install frob']]);
  });

  it('a program that is there is neither skipped nor failed', async () => {
    const { requireTool } = await fresh<Tools>('./helpers/tools.js', { CI: 'true' });
    const r = requireTool('frob', undefined, 'apt-get install frob');
    expect(r.skip).toBe(false);
    expect(() => r.check()).not.toThrow();
  });
});

const python = requireTool('python3', spawnSync('python3', ['--version']).status === 0 ? undefined : 'no python3 on PATH', 'apt-get install python3');

describe('the AWS CLI the tests use', () => {
  /** A stand-in `aws` that prints `version`, as a Python program or a shell script. */
  function fakeAws(version: string, asPython: boolean): string {
    const dir = scratch();
    const path = join(dir, 'aws');
    writeFileSync(path, asPython ? `#!/usr/bin/env python3\nimport sys\nprint(${JSON.stringify(version)})\n` : `#!/bin/sh\necho '${version}'\n`);
    chmodSync(path, 0o755);
    if (asPython) {
      // A package shaped as AWS CLI v2's vendored botocore, for the shim to find.
      mkdirSync(join(dir, 'awscli', 'botocore'), { recursive: true });
      writeFileSync(join(dir, 'awscli', '__init__.py'), '');
      writeFileSync(join(dir, 'awscli', 'botocore', '__init__.py'), '');
      writeFileSync(join(dir, 'awscli', 'botocore', 'session.py'), 'class Session:\n    def create_client(self, service_name, region_name=None, use_ssl=True, verify=None, endpoint_url=None, **kw):\n        return endpoint_url\n');
    }
    return path;
  }

  it('AWS_CLI chooses the binary; one that reads AWS_ENDPOINT_URL_S3 runs as it is', async () => {
    const { awsCliUnusable, awsSummaryStartDiffers } = await fresh<Aws>('./helpers/aws.js', { AWS_CLI: fakeAws('aws-cli/2.31.0 Python/3.13.0 Linux', false) });
    expect(awsCliUnusable()).toBeUndefined();
    expect(awsSummaryStartDiffers()).toBe(false);
  });

  it('an old one that is not a Python program is refused, saying why', async () => {
    const { awsCliUnusable } = await fresh<Aws>('./helpers/aws.js', { AWS_CLI: fakeAws('aws-cli/2.9.19 Python/3.11.2 Linux', false) });
    expect(awsCliUnusable()).toBe('AWS CLI 2.9 ignores AWS_ENDPOINT_URL_S3 (needs 2.13+), and it is not a Python program the endpoint shim can load into');
  });

  it.skipIf(python.skip)('an old Python one runs with the endpoint shim, which proves it loaded', async () => {
    python.check();
    const aws = fakeAws('aws-cli/2.9.19 Python/3.11.2 Linux', true);
    const { awsCliUnusable, awsSummaryStartDiffers } = await fresh<Aws>('./helpers/aws.js', { AWS_CLI: aws, PYTHONPATH: join(aws, '..') });
    expect(awsCliUnusable()).toBeUndefined();
    expect(awsSummaryStartDiffers()).toBe(false); // no awscli.customizations here: nothing to say about it
  });

  it('a missing one: says it is not installed', async () => {
    const { awsCliUnusable } = await fresh<Aws>('./helpers/aws.js', { AWS_CLI: join(scratch(), 'no-aws') });
    expect(awsCliUnusable()).toMatch(/^the AWS CLI \(.*no-aws\) is not installed$/);
  });
});

describe.skipIf(python.skip)('the endpoint shim (sitecustomize.py)', () => {
  const SHIM = join(ROOT, 'test', 'helpers', 'aws-endpoint-shim');
  /** What endpoint a client gets, in a Python whose botocore creates clients as `create_client(name, region, endpoint_url=...)`. */
  function endpoints(env: Record<string, string>): unknown {
    python.check();
    const dir = scratch();
    mkdirSync(join(dir, 'botocore'));
    writeFileSync(join(dir, 'botocore', '__init__.py'), '');
    writeFileSync(join(dir, 'botocore', 'session.py'), 'class Session:\n    def create_client(self, service_name, region_name=None, use_ssl=True, verify=None, endpoint_url=None, **kw):\n        return endpoint_url\n');
    const script = `import json, botocore.session as s
c = s.Session()
print(json.dumps([c.create_client('s3', 'us-east-1'), c.create_client('cloudtrail', region_name='us-east-1'), c.create_client('s3', 'us-east-1', endpoint_url='https://given'), c.create_client('organizations')]))`;
    const r = spawnSync('python3', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH, PYTHONPATH: `${SHIM}:${dir}`, PYTHONDONTWRITEBYTECODE: '1', ...env } });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout);
  }

  it('gives a client made without an endpoint the one AWS_ENDPOINT_URL_<SERVICE> names, else AWS_ENDPOINT_URL; a given one is kept', () => {
    expect(endpoints({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_CLOUDTRAIL: 'http://127.0.0.1:2' })).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2', 'https://given', null]);
    expect(endpoints({ AWS_ENDPOINT_URL: 'http://127.0.0.1:3' })).toEqual(['http://127.0.0.1:3', 'http://127.0.0.1:3', 'https://given', 'http://127.0.0.1:3']);
    expect(endpoints({})).toEqual([null, null, 'https://given', null]);
  });
});
