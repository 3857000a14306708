// What the validate-logs command loads, run as a user runs it (the built bin in a fresh node
// process): a run over a local copy loads no AWS code, no time-stamp (ASN.1) code and none of the
// organization-scale commands, and says exactly what it said before they were loaded lazily.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeResolveProbe } from './helpers/resolved.js';
import { run, sampleArgs, VALIDATE } from './helpers/cli.js';
import { ROOT } from './helpers/tamper.js';
import { compileCacheDir, useCompileCache } from '../src/cli/io.js';

/** The AWS SDK and its Smithy runtime. */
const AWS_CODE = /\/node_modules\/@(aws-sdk|smithy|aws-crypto)\//;
/** The RFC 3161 time-stamp code and its ASN.1 helpers. */
const ASN1_CODE = /\/node_modules\/(pkijs|asn1js|pvtsutils|pvutils|bytestreamjs|@noble\/curves)\//;
/** The package's own online and organization-scale modules. */
const ONLINE_OR_SCALE = /\/dist\/(scale\/|cli\/scale\.js|sources\/(s3|s3-direct|sdk|cloudtrail|http)\.js)/;

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

  /** Run the built command with the probe: its output, and the URLs the loader resolved. */
  async function probe(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string; urls: string[] }> {
    const log = join(dir, `${name}.resolved`);
    writeFileSync(log, '');
    const r = await run(process.execPath, ['--import', probeUrl, VALIDATE, ...args], { VL_RESOLVED: log, NODE_OPTIONS: undefined, ...env });
    return { ...r, urls: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  }

  it('a run over a local copy loads no AWS SDK, no pkijs or asn1js, no S3 or CloudTrail code and no scale command, and says the same', async () => {
    const r = await probe('local', sampleArgs(join(ROOT, 'sample', 'bucket')));
    expect(r.status, r.stderr).toBe(0);
    // The probe saw the run: the command and the chain walk were loaded.
    expect(r.urls).toContain(pathToFileURL(VALIDATE).href);
    expect(r.urls.some((u) => u.includes('/dist/chain/verifier.js'))).toBe(true);
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
  }, 60_000);

  it('the scale commands are loaded when asked for: validate-logs plan --help', async () => {
    const r = await probe('plan', ['plan', '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: validate-logs plan/);
    expect(r.urls.some((u) => u.endsWith('/dist/cli/scale.js'))).toBe(true);
  }, 60_000);

  it('--version loads no AWS SDK, no ASN.1 code and no scale command', async () => {
    const r = await probe('version', ['--version']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
    expect(r.urls.filter((u) => AWS_CODE.test(u) || ASN1_CODE.test(u) || ONLINE_OR_SCALE.test(u))).toEqual([]);
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
