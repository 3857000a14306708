// Real components on loopback for compatibility tests: an S3 server (s3rver), a CloudTrail
// JSON endpoint answering ListPublicKeys, and the real AWS CLI pointed at both.
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import S3rver from 's3rver';
import type { ListPublicKeysDocument } from '../../src/index.js';
import type { Run } from './cli.js';

export interface S3Server {
  url: string;
  close: () => Promise<void>;
}

/** Start s3rver on a free loopback port with the given (empty) buckets. */
export async function startS3(buckets: string[]): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'vl-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, resetOnClose: true, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = await server.run();
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
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

/**
 * A CloudTrail JSON 1.1 endpoint answering ListPublicKeys with a key list (`Value` as base64 of
 * the DER once, times as epoch seconds: what the AWS CLI reads).
 */
export async function startCloudTrail(keys: ListPublicKeysDocument): Promise<{ url: string; calls: string[]; close: () => Promise<void> }> {
  const calls: string[] = [];
  const epoch = (v: string | number): number => (typeof v === 'number' ? v : Math.floor(Date.parse(v) / 1000));
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      calls.push(op);
      const body =
        op === 'ListPublicKeys'
          ? { PublicKeyList: keys.PublicKeyList.map((k) => ({ ...k, ValidityStartTime: epoch(k.ValidityStartTime), ValidityEndTime: Math.min(epoch(k.ValidityEndTime), 253402300799) })) }
          : undefined;
      res.writeHead(body ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body ?? { __type: 'UnknownOperationException', message: op }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, calls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * Whether an AWS CLI that can be pointed at loopback servers is installed: it must honour
 * AWS_ENDPOINT_URL_S3 (botocore 1.31+ in AWS CLI v1; AWS CLI v2.13+).
 * @returns undefined when usable, else why not
 */
export function awsCliUnusable(): string | undefined {
  const r = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'the AWS CLI (aws) is not installed';
  const text = `${r.stdout} ${r.stderr}`;
  const v1 = /aws-cli\/1\.\S+ .*botocore\/(\d+)\.(\d+)/.exec(text);
  if (v1) return +v1[1]! > 1 || +v1[2]! >= 31 ? undefined : `AWS CLI with botocore ${v1[1]}.${v1[2]} ignores AWS_ENDPOINT_URL_S3 (needs 1.31+)`;
  const v2 = /aws-cli\/2\.(\d+)/.exec(text);
  if (v2) return +v2[1]! >= 13 ? undefined : `AWS CLI 2.${v2[1]} ignores AWS_ENDPOINT_URL_S3 (needs 2.13+)`;
  return `unrecognised AWS CLI version: ${text.trim()}`;
}

/** Run `aws cloudtrail validate-logs` against the loopback servers, with no real credentials or config. */
export function awsValidateLogs(args: string[], s3Url: string, cloudTrailUrl: string, region: string): Promise<Run> {
  const home = mkdtempSync(join(tmpdir(), 'vl-awscli-'));
  writeFileSync(join(home, 'config'), `[default]\nregion = ${region}\ns3 =\n    addressing_style = path\n`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
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
    const child = spawn('aws', ['cloudtrail', 'validate-logs', ...args, '--region', region], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
