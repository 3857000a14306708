// A bucket of one's own logs for write-digests, as a user keeps it: log files under the trail's
// log folder with chosen names and modification times, the two commands run as child
// processes of the built dist, and what a run may leave behind looked for.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { VALIDATE, WRITE } from './cli.js';
import { ROOT } from './tamper.js';

export const BUCKET = 'own-bucket';
export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const TRAIL = 'own-trail';
export const KEY_A = join(ROOT, 'vectors', 'test-key.pem');
export const KEY_B = join(ROOT, 'vectors', 'test-key-2.pem');
export const HOUR = 3_600_000;
export const DIGEST_FOLDER = `AWSLogs/${ACCOUNT}/CloudTrail-Digest/${REGION}`;

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * Put a log file named as delivered at `named`, modified at `modified`; `unique` tells logs of
 * one minute apart.
 */
export function putLog(dir: string, named: Date, modified: Date, unique: number, account = ACCOUNT): string {
  const d = named;
  const day = `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
  const stamp = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
  const key = `AWSLogs/${account}/CloudTrail/${REGION}/${day}/${account}_CloudTrail_${REGION}_${stamp}_${('U' + pad(unique, 15)).slice(0, 16)}.json.gz`;
  const file = join(dir, key);
  mkdirSync(dirname(file), { recursive: true });
  const eventTime = named.toISOString().replace(/\.\d{3}Z$/, 'Z');
  writeFileSync(file, gzipSync(JSON.stringify({ Records: [{ eventTime, eventName: 'Put', n: unique }] })));
  utimesSync(file, modified, modified);
  return key;
}

/** The write-digests arguments for the own trail. */
export function writeArgs(dir: string, until: Date | string, extra: string[] = [], key = KEY_A): string[] {
  return [
    WRITE, '--local-dir', dir, '--s3-bucket', BUCKET, '--account-id', ACCOUNT, '--region', REGION, '--trail-name', TRAIL,
    '--private-key', key, '--until', typeof until === 'string' ? until : until.toISOString(), '--threads', '0', ...extra,
  ];
}

/** The validate-logs arguments for the own trail from `start` to `end`, with a key file. */
export function validateArgs(dir: string, start: Date, end: Date, keys: string, extra: string[] = []): string[] {
  return [
    VALIDATE, '--trail-arn', `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${TRAIL}`, '--start-time', start.toISOString(), '--end-time', end.toISOString(),
    '--local-dir', dir, '--s3-bucket', BUCKET, '--public-keys', keys, ...extra,
  ];
}

/** How a child process ended, and what it wrote. */
export interface Ended {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start `node ARGS`; `ended` settles when it has exited and its output is read. */
export function start(args: string[]): { child: ChildProcess; ended: Promise<Ended>; stdout: () => string } {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const ended = new Promise<Ended>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  return { child, ended, stdout: () => stdout };
}

/** Every file under `dir`, relative to it. */
export function files(dir: string, under = ''): string[] {
  const here = join(dir, under);
  if (!existsSync(here)) return [];
  return readdirSync(here, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(dir, join(under, e.name)) : [join(under, e.name)]));
}

/** What a run left that is no object: temporary files and writers' locks. */
export function leftovers(dir: string): string[] {
  return files(dir).filter((f) => /\.tmp-\d+(-[0-9a-f]{12})?$/.test(f) || f.endsWith('.write-digests.lock'));
}

/** The digest files of the own trail (paths from the bucket root), oldest first. */
export function digestFiles(dir: string): string[] {
  return files(dir, DIGEST_FOLDER).filter((f) => f.endsWith('.json.gz')).sort((a, b) => a.slice(-24).localeCompare(b.slice(-24)));
}

/** The end time in a digest file's name. */
export function digestEnd(file: string): string {
  const m = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.json\.gz$/.exec(file)!;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
}
