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
import { FileSource } from './file-source.js';
import type { Progress, ReportRequest, RunRequest, WorkerMessage } from './protocol.js';
import { Tally, judgeRegions, reportTail } from '../../src/chain/report.js';

/** Progress and findings go out at most this often. */
export const BATCH_MS = 100;

/** Bucket reported when no digest names one (nothing in range). */
const UNKNOWN_BUCKET = 'unknown-bucket';

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
    const start = parseUserTime(request.startTime, 'the start time');
    const end = parseUserTime(request.endTime, 'the end time');
    if (start > end) throw new RangeError('the start time must not be after the end time');
    const keys = new PublicKeySet();
    for (const k of request.keyFiles) keys.addAll(PublicKeySet.fromListPublicKeys(await k.file.text(), k.path));
    if (keys.size === 0) throw new RangeError('no public keys: pick the key list (public-keys.json, or what "aws cloudtrail list-public-keys" printed)');

    const trail: TrailRef = { ...request.trail };
    const files = request.files.filter((f) => f.path.startsWith(request.root)).map((f) => ({ key: f.path.slice(request.root.length), file: f.file }));
    const any = new FileSource(files, { onRead: (n) => void (progress.bytesRead += n) });
    const bucket = request.bucket || ((await bucketOfNewestDigest(any, trail, start, end)) ?? UNKNOWN_BUCKET);
    const source = any.as(bucket);
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
    post({ type: 'started', request: reportRequest, objects: source.size });

    const tally = new Tally(start, end);
    for await (const f of verifyTrail({
      source,
      bucket,
      trail,
      keys,
      start,
      end,
      ...(request.concurrency !== undefined && { concurrency: request.concurrency }),
      onListed: (n) => void (progress.digestsTotal += n),
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
