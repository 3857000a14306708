/**
 * One validation run, as the Worker does it: the picked files become a source, the key files a
 * key set, and the library's chain walk does the rest. Findings and progress go out through
 * `post` in batches (at most every {@link BATCH_MS} ms), then one `done` or `failed`.
 * Independent of the Worker itself, so it runs (and is tested) anywhere.
 * @module
 */
import type { Finding } from '../../src/chain/findings.js';
import { bucketOfNewestDigest } from '../../src/chain/listing.js';
import { verifyTrail } from '../../src/chain/verifier.js';
import { PublicKeySet } from '../../src/crypto/keys.js';
import type { TrailRef } from '../../src/format/keys.js';
import { formatDigestTime, parseUserTime } from '../../src/format/time.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { MAX_NOTE_BYTES, noteKeyLabel, noteVerifierKeyFromPem, parseNoteVerifierKey, type NoteVerifierKey } from '../../src/checkpoint/note.js';
import { FileSource, type FileLike } from './file-source.js';
import type { CheckpointInput, CheckpointKeyInput, CheckpointPin, Progress, ReportRequest, RunRequest, WorkerMessage } from './protocol.js';
import { Tally, judgeRegions, reportTail } from '../../src/chain/report.js';
import { createWebPlatform } from '../../src/parallel/web.js';
import type { PooledPlatform } from '../../src/chain/offload.js';

/** Progress and findings go out at most this often. */
export const BATCH_MS = 100;

/** Bucket reported when no digest names one (nothing in range). */
const UNKNOWN_BUCKET = 'unknown-bucket';

/** A checkpoint that cannot be used: nothing runs. */
export class CheckpointRefused extends Error {
  override name = 'CheckpointRefused';
}

async function bytesOf(file: FileLike): Promise<Uint8Array> {
  return new Uint8Array(await new Response(file.stream()).arrayBuffer());
}

/** A checkpoint public key as picked: a PEM file with the name it signs as, or note key text. */
async function checkpointKey(k: CheckpointKeyInput): Promise<NoteVerifierKey> {
  if (k.file && k.file.size > MAX_NOTE_BYTES) throw new CheckpointRefused(`the checkpoint public key ${k.path} is ${k.file.size} bytes: not a key`);
  const text = k.file ? await k.file.text() : k.path;
  if (text.includes('-----BEGIN')) {
    if (!k.name) throw new CheckpointRefused(`the checkpoint public key ${k.path} is a PEM key: give the name it signs as`);
    return noteVerifierKeyFromPem(text, k.name, k.path);
  }
  const key = parseNoteVerifierKey(text);
  if (k.name && k.name !== key.name) throw new CheckpointRefused(`the checkpoint public key ${k.path} is named ${key.name}, not ${k.name}`);
  return key;
}

/**
 * Verify a picked checkpoint (every key must have signed it: the library's `openCheckpoint`)
 * and find the chain it pins for the chosen trail and region.
 * @param input - the checkpoint and its keys
 * @param trailArn - the trail ARN of the run
 * @param region - the region of the run
 * @returns what it pins for that chain
 * @throws CheckpointRefused naming the key or what is wrong
 */
export async function openPickedCheckpoint(input: CheckpointInput, trailArn: string, region: string): Promise<CheckpointPin> {
  const what = input.file.path;
  try {
    if (input.keys.length === 0) throw new CheckpointRefused(`${what}: give the public key(s) that must all have signed it`);
    if (input.file.file.size > MAX_NOTE_BYTES) throw new CheckpointRefused(`${what} is ${input.file.file.size} bytes, more than a checkpoint can be`);
    const keys = await Promise.all(input.keys.map(checkpointKey));
    const { note, checkpoint } = await openCheckpoint(await bytesOf(input.file.file), keys, what);
    const chain = checkpoint.chains.find((c) => c.trailArn === trailArn && c.region === region);
    if (!chain) {
      const pinned = checkpoint.chains.map((c) => `${c.trailArn} ${c.region}`).join(', ');
      throw new CheckpointRefused(`${what} pins no chain of ${trailArn} in ${region} (it pins ${pinned})`);
    }
    return { file: what, signedBy: note.verified.map(noteKeyLabel), key: chain.key, endTime: chain.endTime, sha256: chain.sha256, bucket: chain.bucket };
  } catch (e) {
    throw new CheckpointRefused(`the checkpoint is refused: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The URL of the hashing Workers' module, beside this one (`scripts/build-web.mjs` builds both). */
const HASH_WORKER = 'hash-worker.js';

/**
 * The platform of a run: with `workers` hashing Workers reading the picked files themselves
 * (on the page), else everything on this thread; logs hashed through WebCrypto where they fit.
 */
function webPlatformOf(source: FileSource, workers: number, onRead: (n: number) => void): PooledPlatform {
  if (workers <= 0) return createWebPlatform();
  return createWebPlatform({
    workers: {
      count: workers,
      module: new URL(HASH_WORKER, import.meta.url),
      file: (path) => {
        const f = source.file(path);
        return typeof Blob !== 'undefined' && f instanceof Blob ? f : undefined;
      },
      onRead,
    },
  });
}

const clock = (): number => (typeof performance === 'undefined' ? Date.now() : performance.now());

/**
 * Validate a picked folder.
 * @param request - what to validate
 * @param post - where messages go
 * @returns when the run has ended (after its `done` or `failed`)
 */
export async function runValidation(request: RunRequest, post: (message: WorkerMessage) => void): Promise<void> {
  const began = clock();
  const progress: Progress = { digestsDone: 0, digestsTotal: 0, logsDone: 0, bytesRead: 0, bytesVerified: 0, elapsedMs: 0 };
  let batch: Finding[] = [];
  let lastPost = began;
  const take = (): Finding[] => {
    const out = batch;
    batch = [];
    return out;
  };
  try {
    const pin = request.checkpoint && (await openPickedCheckpoint(request.checkpoint, request.trailArn, request.trail.region));
    // From a checkpoint, the run starts where it left off unless told otherwise.
    const start = pin && !request.startTime ? new Date(pin.endTime) : parseUserTime(request.startTime ?? '', 'the start time');
    let end = parseUserTime(request.endTime, 'the end time');
    // From a checkpoint, an end before the pinned digest (the folder's newest digest, once the
    // tail is deleted) still asks whether the chain reaches it: a rollback is a finding, as with validate-logs.
    if (pin && !request.startTime && start > end) end = start;
    if (start > end) throw new RangeError('the start time must not be after the end time');
    const keys = new PublicKeySet();
    for (const k of request.keyFiles) keys.addAll(PublicKeySet.fromListPublicKeys(await k.file.text(), k.path));
    if (keys.size === 0) throw new RangeError('no public keys: pick the key list (public-keys.json, or what "aws cloudtrail list-public-keys" printed)');

    const trail: TrailRef = { ...request.trail };
    const files = request.files.filter((f) => f.path.startsWith(request.root)).map((f) => ({ key: f.path.slice(request.root.length), file: f.file }));
    const onRead = (n: number): void => void (progress.bytesRead += n);
    const workers = request.workers ?? 0;
    const any = new FileSource(files, { onRead, files: workers > 0 });
    // No digest in range names the bucket (a rollback leaves none): the checkpoint's pin does.
    const bucket = request.bucket || ((await bucketOfNewestDigest(any, trail, start, end)) ?? pin?.bucket ?? UNKNOWN_BUCKET);
    if (pin && pin.bucket !== bucket) throw new CheckpointRefused(`the checkpoint is refused: it pins the ${request.trail.region} chain in bucket ${pin.bucket}, not in ${bucket}, the bucket validated`);
    const source = any.as(bucket);
    const platform = webPlatformOf(source, workers, onRead);
    const reportRequest: ReportRequest = {
      trailArn: request.trailArn,
      startTime: formatDigestTime(start),
      endTime: formatDigestTime(end),
      bucket,
      ...(trail.prefix && { prefix: trail.prefix }),
      accountId: trail.accountId,
      region: trail.region,
      regions: [trail.region],
      ...(trail.organizationId && { organizationId: trail.organizationId }),
      source: { type: 'local', path: request.root.replace(/\/$/, '') },
    };
    post({ type: 'started', request: reportRequest, objects: source.size, ...(pin && { checkpoint: pin }) });

    const tally = new Tally(start, end);
    for await (const f of verifyTrail({
      source,
      bucket,
      trail,
      keys,
      start,
      end,
      platform,
      ...(request.concurrency !== undefined && { concurrency: request.concurrency }),
      onListed: (n) => void (progress.digestsTotal += n),
      ...(pin && { pinned: { key: pin.key, sha256: pin.sha256 } }),
    })) {
      tally.add(f);
      if (f.kind === 'digest') progress.digestsDone++;
      else if (f.kind === 'log') {
        progress.logsDone++;
        progress.bytesVerified += f.size ?? 0;
      }
      batch.push(f);
      const now = clock();
      if (now - lastPost >= BATCH_MS) {
        lastPost = now;
        progress.elapsedMs = now - began;
        post({ type: 'progress', progress: { ...progress }, findings: take() });
      }
    }
    progress.elapsedMs = clock() - began;
    post({ type: 'done', progress: { ...progress }, findings: take(), tail: reportTail(judgeRegions([{ region: trail.region, summary: tally.summary() }], {})) });
  } catch (e) {
    post({ type: 'failed', message: e instanceof Error ? e.message : String(e), findings: take() });
  }
}
