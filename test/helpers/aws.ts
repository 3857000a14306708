// Real components on loopback for compatibility tests: an S3 server (s3rver), a CloudTrail
// JSON endpoint answering ListPublicKeys, and the real AWS CLI pointed at both.
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ListPublicKeysDocument } from './lib.js';
import type { Run } from './cli.js';
import { requireTool, type Requirement } from './tools.js';

export interface S3Server {
  url: string;
  /** s3rver's storage folder (objects are files there; their mtime is their LastModified). */
  dir: string;
  close: () => Promise<void>;
}

/** Start s3rver on a free loopback port, in a process of its own, with the given (empty) buckets. */
export async function startS3(buckets: string[]): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'vl-s3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', join(dirname(fileURLToPath(import.meta.url)), 's3rver-process.mjs'), dir, ...buckets], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
    child.once('error', reject);
  });
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      })),
  };
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** Store one object, with user metadata, by a plain unsigned PUT (s3rver accepts it). */
export async function putObject(url: string, bucket: string, key: string, body: Uint8Array, metadata: Record<string, string>): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) headers[`x-amz-meta-${k}`] = v;
  const r = await fetch(`${url}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`, { method: 'PUT', headers, body });
  if (!r.ok) throw new Error(`PUT ${key}: ${r.status} ${await r.text()}`);
}

/** Upload a local bucket copy, turning each `.metadata.json` sidecar into S3 user metadata. */
export async function uploadDir(s3: S3Server, bucket: string, dir: string): Promise<void> {
  for (const path of files(dir)) {
    if (path.endsWith('.metadata.json')) continue;
    const key = relative(dir, path).split(sep).join('/');
    let meta: Record<string, string> = {};
    try {
      meta = JSON.parse(readFileSync(path + '.metadata.json', 'utf8')) as Record<string, string>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await putObject(s3.url, bucket, key, readFileSync(path), meta);
  }
}

/** What the loopback AWS API answers. */
export interface ApiConfig {
  /** ListPublicKeys answer, one for every region or one per region. */
  keys: ListPublicKeysDocument | Record<string, ListPublicKeysDocument>;
  /** DescribeTrails answer: the trails. */
  trails?: Array<Record<string, unknown>>;
  /** GetTrailStatus LatestDigestDeliveryTime. */
  latestDigestDelivery?: Date;
  /** DescribeOrganization id. */
  organizationId?: string;
  /** Operations answered with AccessDeniedException. */
  deny?: string[];
}

/** A call the loopback API received. */
export interface ApiCall {
  op: string;
  region: string;
  body: Record<string, unknown>;
}

/**
 * CloudTrail's and Organizations' JSON 1.1 protocol on loopback: ListPublicKeys (`Value` as
 * base64 of the DER once, times as epoch seconds: what both the AWS CLI and the SDK read),
 * DescribeTrails, GetTrailStatus, DescribeOrganization. The region of a call is read from its
 * SigV4 credential scope.
 */
export async function startAwsApi(config: ApiConfig): Promise<{ url: string; calls: ApiCall[]; config: ApiConfig; close: () => Promise<void> }> {
  const calls: ApiCall[] = [];
  const epoch = (v: string | number): number => (typeof v === 'number' ? v : Math.floor(Date.parse(v) / 1000));
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      const region = /Credential=[^/]+\/\d+\/([a-z0-9-]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
      const body = parts.length ? (JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>) : {};
      calls.push({ op, region, body });
      const send = (status: number, payload: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(payload));
      };
      if (config.deny?.includes(op)) return send(400, { __type: 'AccessDeniedException', message: `User is not authorized to perform: ${op}` });
      const keys = 'PublicKeyList' in config.keys ? (config.keys as ListPublicKeysDocument) : (config.keys as Record<string, ListPublicKeysDocument>)[region] ?? { PublicKeyList: [] };
      switch (op) {
        case 'ListPublicKeys':
          return send(200, {
            PublicKeyList: keys.PublicKeyList.map((k) => ({ ...k, ValidityStartTime: epoch(k.ValidityStartTime), ValidityEndTime: Math.min(epoch(k.ValidityEndTime), 253402300799) })),
          });
        case 'DescribeTrails':
          return send(200, { trailList: config.trails ?? [] });
        case 'GetTrailStatus':
          return send(200, { IsLogging: true, ...(config.latestDigestDelivery && { LatestDigestDeliveryTime: config.latestDigestDelivery.getTime() / 1000 }) });
        case 'DescribeOrganization':
          return send(200, { Organization: { Id: config.organizationId } });
        default:
          return send(400, { __type: 'UnknownOperationException', message: op });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, calls, config, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A CloudTrail endpoint answering ListPublicKeys with one key list (see {@link startAwsApi}). */
export async function startCloudTrail(keys: ListPublicKeysDocument): Promise<{ url: string; calls: string[]; close: () => Promise<void> }> {
  const api = await startAwsApi({ keys });
  return {
    url: api.url,
    get calls() {
      return api.calls.map((c) => c.op);
    },
    close: api.close,
  };
}

/** Environment for this project's commands talking to the loopback servers with dummy credentials. */
export function loopbackEnv(apiUrl: string, region = 'us-east-1'): NodeJS.ProcessEnv {
  return {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_REGION: region,
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_CLOUDTRAIL: apiUrl,
    AWS_ENDPOINT_URL_ORGANIZATIONS: apiUrl,
  };
}

/** The AWS CLI the tests run: the one AWS_CLI names, else `aws` on PATH. */
const AWS_CLI = process.env.AWS_CLI || 'aws';

/** Where sitecustomize.py lives: the endpoint shim for an AWS CLI too old to read AWS_ENDPOINT_URL_S3. */
const ENDPOINT_SHIM = join(dirname(fileURLToPath(import.meta.url)), 'aws-endpoint-shim');

/**
 * Why an AWS CLI's version ignores AWS_ENDPOINT_URL_S3 (botocore 1.31+ in AWS CLI v1; AWS CLI
 * v2.13+ read it), or undefined when it reads it.
 */
function tooOld(version: string): string | undefined {
  const v1 = /aws-cli\/1\.\S+ .*botocore\/(\d+)\.(\d+)/.exec(version);
  if (v1) return +v1[1]! > 1 || +v1[2]! >= 31 ? undefined : `AWS CLI with botocore ${v1[1]}.${v1[2]} ignores AWS_ENDPOINT_URL_S3 (needs 1.31+)`;
  const v2 = /aws-cli\/2\.(\d+)/.exec(version);
  if (v2) return +v2[1]! >= 13 ? undefined : `AWS CLI 2.${v2[1]} ignores AWS_ENDPOINT_URL_S3 (needs 2.13+)`;
  return `unrecognised AWS CLI version: ${version}`;
}

/** The AWS CLI as the tests run it: the command, and what its environment needs added. */
interface AwsCli {
  command: string;
  /** PYTHONPATH with the endpoint shim, for a CLI too old to read AWS_ENDPOINT_URL_S3. */
  env: NodeJS.ProcessEnv;
  /** Why it cannot be used, or undefined. */
  unusable?: string;
  /** A validate-logs from before the AWS CLI's 2026 rewrite for backfill digests (see {@link awsSummaryStartDiffers}). */
  beforeBackfill?: boolean;
}

let resolved: AwsCli | undefined;

/**
 * Find the AWS CLI and how to point it at loopback servers. One that reads AWS_ENDPOINT_URL_S3
 * runs as it is. An older one that is a Python program (Debian 12's awscli 2.9, the one a bare
 * machine can install: PyPI may be out of reach) runs with test/helpers/aws-endpoint-shim on
 * PYTHONPATH, whose sitecustomize.py gives its clients the endpoints from the environment as a
 * newer botocore would (see that file): the validation itself is still the CLI's own code. It is
 * used only when it proves to have loaded into that CLI's Python.
 */
function awsCli(): AwsCli {
  if (resolved) return resolved;
  const r = spawnSync(AWS_CLI, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return (resolved = { command: AWS_CLI, env: {}, unusable: `the AWS CLI (${AWS_CLI}) is not installed` });
  const old = tooOld(`${r.stdout} ${r.stderr}`.trim());
  if (!old) return (resolved = { command: AWS_CLI, env: {} });
  // No __pycache__ written into the repository's shim folder.
  const env = { PYTHONPATH: [ENDPOINT_SHIM, process.env.PYTHONPATH].filter(Boolean).join(':'), PYTHONDONTWRITEBYTECODE: '1' };
  const probe = spawnSync(AWS_CLI, ['--version'], { encoding: 'utf8', env: { ...process.env, ...env, VALIDATE_LOGS_ENDPOINT_SHIM_PROBE: '1' } });
  const shimmed = /^endpoint shim: .*botocore\.session/m.test(probe.stderr ?? '');
  if (!shimmed) return (resolved = { command: AWS_CLI, env: {}, unusable: `${old}, and it is not a Python program the endpoint shim can load into` });
  return (resolved = { command: AWS_CLI, env, beforeBackfill: /^backfill digests: no$/m.test(probe.stderr) });
}

/**
 * Whether the reference's "Results found for START to END:" line may start elsewhere than ours.
 * Before the AWS CLI's 2026 rewrite of validate-logs for backfill digests (aws-cli pull requests
 * 10058 and 10059), it kept the start of the last valid digest after the requested start, even
 * when an older one starts exactly there (Debian 12's 2.9 does); since then, as this project, the
 * earliest. Every other byte of its output is still compared.
 */
export const awsSummaryStartDiffers = (): boolean => awsCli().beforeBackfill === true;

/**
 * Whether an AWS CLI that can be pointed at loopback servers is installed (see {@link awsCli}).
 * @returns undefined when usable, else why not
 */
export const awsCliUnusable = (): string | undefined => awsCli().unusable;

/** The AWS CLI compatibility tests' requirement: under CI=true a missing or unusable CLI fails them. */
export const awsCliRequirement = (): Requirement =>
  requireTool('the AWS CLI', awsCliUnusable(), 'AWS CLI v2.13+ or v1 with botocore 1.31+, or Debian\'s awscli (apt-get install awscli), which runs with the endpoint shim; AWS_CLI names another binary');

/** Run `aws cloudtrail validate-logs` against the loopback servers, with no real credentials or config. */
export function awsValidateLogs(args: string[], s3Url: string, cloudTrailUrl: string, region: string): Promise<Run> {
  const home = mkdtempSync(join(tmpdir(), 'vl-awscli-'));
  writeFileSync(join(home, 'config'), `[default]\nregion = ${region}\ns3 =\n    addressing_style = path\n`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    ...awsCli().env,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_ACCESS_KEY_ID: 'S3RVER', // the one key id s3rver accepts
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_DEFAULT_REGION: region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_S3: s3Url,
    AWS_ENDPOINT_URL_CLOUDTRAIL: cloudTrailUrl,
  };
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the servers live in this process and must keep answering.
    const child = spawn(awsCli().command, ['cloudtrail', 'validate-logs', ...args, '--region', region], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => {
      rmSync(home, { recursive: true, force: true });
      resolve({ status, stdout, stderr });
    });
  });
}

/** Set an object's LastModified in s3rver (its file's mtime), as if delivered at `at`. */
export function setLastModified(s3: S3Server, bucket: string, key: string, at: Date): void {
  utimesSync(join(s3.dir, bucket, `${key}._S3rver_object`), at, at);
}
