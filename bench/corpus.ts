// Benchmark corpora, made with the project's own generator: CloudTrail-shaped gzip log files
// with delivery times, and the signed digest chain over them. Cached in .bench/ by parameters.
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { PublicKeySet, createSigner, logKey, type TrailRef } from '../dist/index.js';
import { LocalDirectory, writeDigests } from '../dist/node.js';

export const ROOT = join(dirname(new URL(import.meta.url).pathname), '..');
export const TRAIL: TrailRef = { accountId: '111122223333', region: 'us-east-1', trailName: 'bench-trail' };
export const BUCKET = 'bench-bucket';
export const ARN = 'arn:aws:cloudtrail:us-east-1:111122223333:trail/bench-trail';
export const START = Date.UTC(2025, 2, 1);
const HOUR = 3_600_000;

export interface Corpus {
  name: string;
  dir: string; // the bucket root
  keys: string; // list-public-keys JSON
  logs: string[]; // log keys
  uncompressedBytes: number;
  compressedBytes: number;
  start: string;
  end: string;
  writeMs: number; // write-digests over it, when it was made
}

/** A seeded PRNG (mulberry32). */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS = ['GetObject', 'PutObject', 'AssumeRole', 'DescribeInstances', 'ListBuckets', 'GetCallerIdentity', 'Decrypt', 'CreateLogStream'];
const SOURCES = ['s3.amazonaws.com', 'sts.amazonaws.com', 'ec2.amazonaws.com', 'kms.amazonaws.com', 'logs.amazonaws.com'];

/** CloudTrail-like records, about `bytes` of JSON in pieces of at most 4 MB (compresses like real logs). */
function* logContent(bytes: number, at: number, rand: () => number): Generator<Buffer> {
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  let parts: string[] = [];
  let piece = 0;
  let size = 12;
  yield Buffer.from('{"Records":[');
  let first = true;
  while (size < bytes) {
    const t = new Date(at - Math.floor(rand() * 300_000)).toISOString().slice(0, 19) + 'Z';
    const r =
      `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA${hex(16).toUpperCase()}:session-${hex(6)}",` +
      `"arn":"arn:aws:sts::111122223333:assumed-role/app-role/session-${hex(6)}","accountId":"111122223333","accessKeyId":"ASIA${hex(16).toUpperCase()}"},` +
      `"eventTime":"${t}","eventSource":"${SOURCES[Math.floor(rand() * SOURCES.length)]}","eventName":"${EVENTS[Math.floor(rand() * EVENTS.length)]}",` +
      `"awsRegion":"us-east-1","sourceIPAddress":"10.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}",` +
      `"userAgent":"aws-sdk-java/2.20.${Math.floor(rand() * 100)} Linux/5.10","requestParameters":{"bucketName":"data-${hex(4)}","key":"objects/${hex(24)}.parquet"},` +
      `"responseElements":null,"requestID":"${hex(16).toUpperCase()}","eventID":"${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}",` +
      `"readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333"}`;
    parts.push(first ? r : ',' + r);
    first = false;
    size += r.length + 1;
    piece += r.length + 1;
    if (piece >= 4 << 20) {
      yield Buffer.from(parts.join(''));
      parts = [];
      piece = 0;
    }
  }
  parts.push(']}');
  yield Buffer.from(parts.join(''));
}

/** Write one gzip log file from its content pieces; returns [uncompressed, compressed] sizes. */
async function writeLog(path: string, pieces: Iterable<Buffer>): Promise<[number, number]> {
  mkdirSync(dirname(path), { recursive: true });
  const gz = createGzip();
  const out = createWriteStream(path);
  const done = pipeline(gz, out);
  let size = 0;
  for (const piece of pieces) {
    size += piece.length;
    if (!gz.write(piece)) await once(gz, 'drain');
  }
  gz.end();
  await done;
  return [size, statSync(path).size];
}

/**
 * Make (or reuse) a corpus: `files` log files of about `fileBytes` uncompressed each, spread
 * evenly over `hours` hours, and the digest chain over them.
 */
export async function corpus(name: string, files: number, fileBytes: number, hours: number): Promise<Corpus> {
  const dir = join(ROOT, '.bench', `${name}-${files}x${fileBytes}-${hours}h`);
  const manifest = join(dir, 'corpus.json');
  if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8')) as Corpus;
  rmSync(dir, { recursive: true, force: true });
  const bucketDir = join(dir, 'bucket');
  const rand = prng(files * 7919 + fileBytes);
  const logs: string[] = [];
  let uncompressedBytes = 0;
  let compressedBytes = 0;
  const span = hours * HOUR;
  // Deliveries are evenly spread; two files are compressed at once (zlib runs off the main thread).
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < files; i++) {
    const at = START + Math.floor(((i + 0.5) / files) * span);
    const unique = Array.from({ length: 16 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(rand() * 62)]).join('');
    const key = logKey(TRAIL, new Date(at), unique);
    logs.push(key);
    const path = join(bucketDir, key);
    pending.push(
      writeLog(path, logContent(fileBytes, at, rand)).then(([u, z]) => {
        utimesSync(path, new Date(at), new Date(at));
        uncompressedBytes += u;
        compressedBytes += z;
      }),
    );
    if (pending.length >= 4) await pending.shift();
  }
  await Promise.all(pending);
  const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));
  const t0 = performance.now();
  await writeDigests({ storage: new LocalDirectory(bucketDir, { bucket: BUCKET }), bucket: BUCKET, trail: TRAIL, signer, until: new Date(START + span) });
  const writeMs = performance.now() - t0;
  const keys = join(dir, 'public-keys.json');
  writeFileSync(keys, JSON.stringify(new PublicKeySet([signer.publicKey]).toListPublicKeys()));
  const c: Corpus = {
    name,
    dir: bucketDir,
    keys,
    logs,
    uncompressedBytes,
    compressedBytes,
    start: new Date(START).toISOString(),
    end: new Date(START + span).toISOString(),
    writeMs,
  };
  writeFileSync(manifest, JSON.stringify(c));
  return c;
}
