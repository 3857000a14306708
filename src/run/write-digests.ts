/**
 * Writing a trail's digests into storage: find the chain's newest digest, hash the log files
 * delivered since, generate the digests of every closed hour, and store each one atomically
 * without ever overwriting. Works on any storage that is both an {@link ObjectSource} and an
 * {@link ObjectSink}.
 * @module
 */
import { deliveryOrder, generateDigests, type ChainHead, type DeliveredLog, type GeneratedDigest } from '../chain/generator.js';
import type { Signer } from '../crypto/keys.js';
import { ValidateLogsError } from '../errors.js';
import { parseDigest } from '../format/digest.js';
import { checkTrailRef, digestFolder, digestKeyParts, logFolder, s3Uri, type TrailRef } from '../format/keys.js';
import { trailLogTime } from '../chain/inventory.js';
import { defaultPlatform } from '#platform';
import { hashObjects, OBJECT_GROUP, objectsInFlight, readsInGroups } from '../hash/hash-object.js';
import { readAll } from '../hash/hash-stream.js';
import type { HashOutcome, Platform } from '../platform/platform.js';
import type { ListedObject, ObjectSink, ObjectSource } from '../sources/source.js';
import { requireDate, requirePositiveInteger, requireString } from '../utils.js';
import { createLimiter } from '../chain/limit.js';
import { DEFAULT_MAX_DIGEST_BYTES } from '../chain/verifier.js';

/** Options of {@link writeDigests}. */
export interface WriteDigestsOptions {
  /** Storage holding the logs, where the digests go. */
  storage: ObjectSource & ObjectSink;
  /** The bucket. */
  bucket: string;
  /** The trail and region. */
  trail: TrailRef;
  /** Signs the new digests. */
  signer: Signer;
  /** Write digests for every hour that ends at or before this time. */
  until: Date;
  /** The runtime's SHA-256, inflater, gzip and RSA; the default platform when omitted. */
  platform?: Platform;
  /** Log files hashed at once (default 4). */
  concurrency?: number;
  /** Called after each digest is stored (or found already stored). */
  onDigest?: (digest: GeneratedDigest, written: boolean) => void;
}

/** What {@link writeDigests} did. */
export interface WriteDigestsResult {
  /** The chain head it continued, if any. */
  continued?: ChainHead;
  /** Digests newly stored. */
  written: GeneratedDigest[];
  /** Log files hashed. */
  logsHashed: number;
}

/**
 * The newest digest of a trail region's chain in storage, as a head to continue from.
 * @param storage - the storage
 * @param bucket - the bucket
 * @param trail - the trail and region
 * @param platform - the runtime's inflater and SHA-256; the default platform when omitted
 * @returns the head, or undefined when the trail has no digest yet
 * @throws ValidateLogsError `CHAIN_CONFLICT` when the newest digest cannot be continued
 */
export async function findChainHead(storage: ObjectSource, bucket: string, trail: TrailRef, platform?: Platform): Promise<ChainHead | undefined> {
  let newest: { key: string; end: Date } | undefined;
  for await (const { key } of storage.list(bucket, digestFolder(trail))) {
    const p = digestKeyParts(key);
    if (!p || p.backfill || p.trailName !== trail.trailName || p.homeRegion !== (trail.homeRegion ?? trail.region)) continue;
    if (!newest || p.endTime > newest.end) newest = { key, end: p.endTime };
  }
  if (!newest) return undefined;
  const uri = s3Uri(bucket, newest.key);
  const obj = await storage.get(bucket, newest.key, { metadata: true });
  if (!obj) throw new ValidateLogsError('CHAIN_CONFLICT', `${uri} was listed but cannot be read`);
  let digest;
  try {
    digest = parseDigest(await readAll(obj.body, { gzip: true, maxBytes: DEFAULT_MAX_DIGEST_BYTES, what: uri, ...(platform && { platform }) }), uri, platform);
  } catch (e) {
    throw new ValidateLogsError('CHAIN_CONFLICT', `cannot continue the chain: its newest digest is unreadable (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const signature = obj.metadata?.signature;
  if (!signature) {
    throw new ValidateLogsError('CHAIN_CONFLICT', `cannot continue the chain: its newest digest ${uri} has no signature metadata`);
  }
  return { bucket, key: newest.key, sha256: digest.sha256, signature, endTime: digest.endTime };
}

/** A listed log: its key, its delivery time once known, and where its hashing's answer is. */
interface Listed {
  key: string;
  deliveredAt: Date | undefined;
  task: number;
  at: number;
}

/** A listed log whose delivery time is known. */
type Timed = Listed & { deliveredAt: Date };

/** A log's hashing: its outcome, the error about it, or undefined when it is gone. */
type Hashed = HashOutcome | ValidateLogsError | undefined;

/** The error about a log (or a folder that may hold logs) listed as unreadable: no digest is written without it. */
function unreadableLog(bucket: string, o: ListedObject): ValidateLogsError {
  return new ValidateLogsError('NOT_READABLE', `${s3Uri(bucket, o.key)} cannot be read (${o.unreadable}); no digest was written`);
}

/**
 * A listed log's delivery time: its modification time.
 * @throws ValidateLogsError `SOURCE_ERROR` when storage gave none
 */
function deliveryTime(bucket: string, o: ListedObject): Date {
  if (!o.lastModified) throw new ValidateLogsError('SOURCE_ERROR', `${s3Uri(bucket, o.key)}: storage gave no modification time`);
  return o.lastModified;
}

/**
 * The logs delivered before `until`, each with its time: the time the thread that read it
 * gave, or, for a log it did not read (a link, one read on this thread, one that failed or is
 * gone), the time a listing with details gives now (each folder of such logs listed once). A
 * log from `until` on belongs to a later run, and a failure to read it (it may be being
 * written) is not this run's.
 */
async function timed(storage: ObjectSource, bucket: string, listed: readonly Listed[], results: readonly Hashed[][], until: Date): Promise<Listed[]> {
  const times = new Map<string, Date | undefined>();
  for (const e of listed) {
    const r = results[e.task]![e.at];
    const modified = r && !(r instanceof Error) ? r.modified : undefined;
    times.set(e.key, modified !== undefined ? new Date(modified) : undefined);
  }
  const untimed = new Map<string, Set<string>>(); // by folder
  for (const [key, at] of times) {
    if (at !== undefined) continue;
    const folder = key.slice(0, key.lastIndexOf('/') + 1);
    let keys = untimed.get(folder);
    if (!keys) untimed.set(folder, (keys = new Set()));
    keys.add(key);
  }
  for (const [folder, wanted] of untimed) {
    for await (const o of storage.list(bucket, folder, undefined, { details: true })) {
      if (!wanted.has(o.key)) continue;
      if (o.unreadable !== undefined) throw unreadableLog(bucket, o);
      times.set(o.key, deliveryTime(bucket, o));
    }
  }
  const out: Listed[] = [];
  for (const e of listed) {
    const at = times.get(e.key); // (none: gone since it was listed)
    if (at === undefined || at >= until) continue;
    out.push({ ...e, deliveredAt: at });
  }
  return out;
}

/**
 * Write the digests of every closed hour since the chain's newest digest (or start a chain at
 * the hour of the earliest log). Each log's delivery time is its storage modification time.
 * Running it again writes nothing new; after a crash it completes the work.
 *
 * @param options - storage, trail, signer and time limit
 * @returns what was written
 * @throws ValidateLogsError `CHAIN_CONFLICT` when the chain cannot be continued, `NOT_READABLE`
 *   when a log file (or a folder under the trail's log folder) cannot be read as a regular file
 *   (a FIFO, socket or device, a link not followed, permission denied), `SOURCE_ERROR` on
 *   storage failures
 */
export async function writeDigests(options: WriteDigestsOptions): Promise<WriteDigestsResult> {
  const trail = checkTrailRef(options.trail);
  const bucket = requireString(options.bucket, 'bucket');
  const until = requireDate(options.until, 'until');
  const { storage } = options;
  const release = storage.lock ? await storage.lock(bucket, digestFolder(trail)) : undefined;
  try {
    return await write(options, trail, bucket, until, options.platform);
  } finally {
    await release?.();
  }
}

async function write(options: WriteDigestsOptions, trail: TrailRef, bucket: string, until: Date, platform: Platform | undefined): Promise<WriteDigestsResult> {
  const { storage, signer } = options;
  const head = await findChainHead(storage, bucket, trail, platform);
  const resolved = platform ?? defaultPlatform;
  const grouped = readsInGroups(storage, resolved);
  // A first run (no chain yet) hashes every log, so each log's time comes from the thread that
  // reads it (the modification time of the descriptor it read), and the listing examines
  // nothing; a run that continues a chain lists the times first, to hash only the logs after
  // its head.
  const timesFromThreads = grouped && head === undefined;
  const inFlight = objectsInFlight(storage, resolved, requirePositiveInteger(options.concurrency ?? 4, 'concurrency'));
  const limit = createLimiter(grouped ? Math.ceil(inFlight / OBJECT_GROUP) : inFlight);
  // 1. List, hashing the logs in groups as the listing goes.
  const logTime = trailLogTime(trail);
  const hashing: Array<Promise<Hashed[]>> = [];
  let listed: Listed[] = [];
  let group: Listed[] = [];
  const flush = (): void => {
    if (group.length === 0) return;
    const these = group;
    group = [];
    const task = limit(() =>
      hashObjects(
        storage,
        bucket,
        these.map((l) => l.key),
        { gzip: true, eventTimes: true, ...(timesFromThreads && { modified: true }), ...(platform && { platform }) },
      ),
    );
    task.catch(() => undefined); // awaited below
    hashing.push(task);
  };
  for await (const o of storage.list(bucket, logFolder(trail), undefined, { details: !timesFromThreads })) {
    const isLog = logTime(o.key) !== undefined;
    if (o.unreadable !== undefined && (o.key.endsWith('/') || isLog)) {
      // A log, or a folder that may hold logs, that cannot be read: a digest written without
      // it would vouch for an incomplete hour.
      throw unreadableLog(bucket, o);
    }
    // Not a log file of this trail region as the validator tells them (another name, account or
    // region, a name whose time is not its folder's date): never vouched for; validation reports it.
    if (!isLog) continue;
    let deliveredAt: Date | undefined;
    if (!timesFromThreads) {
      deliveredAt = deliveryTime(bucket, o);
      if (head && deliveredAt < head.endTime) continue;
      if (deliveredAt >= until) continue;
    }
    const entry: Listed = { key: o.key, deliveredAt, task: hashing.length, at: group.length };
    group.push(entry);
    listed.push(entry);
    if (!grouped || group.length >= OBJECT_GROUP) flush();
  }
  flush();
  if (timesFromThreads) listed = await timed(storage, bucket, listed, await Promise.all(hashing), until);
  // 2. The digests, each as soon as the logs of its hour are hashed (while later ones still
  // are), kept until every log is: one that cannot be hashed fails the run with nothing written.
  listed.sort((a, b) => deliveryOrder(a as Timed, b as Timed));
  const done: Hashed[][] = [];
  async function* inDeliveryOrder(): AsyncGenerator<DeliveredLog> {
    for (const e of listed) {
      const r = (done[e.task] ??= await hashing[e.task]!)[e.at];
      if (r instanceof Error) throw r;
      // (none: deleted since it was listed)
      if (r) yield { key: e.key, deliveredAt: e.deliveredAt!, sha256: r.sha256, newestEventTime: r.newestEventTime ?? null, oldestEventTime: r.oldestEventTime ?? null };
    }
  }
  const generated: GeneratedDigest[] = [];
  for await (const d of generateDigests({ trail, bucket, logs: inDeliveryOrder(), until, signer, ...(platform && { platform }), ...(head && { previous: head }) })) generated.push(d);
  // Logs after the last whole hour were hashed too but no digest took them: one of them failing
  // still fails the run, and every log hashed before `until` is counted.
  const results = await Promise.all(hashing);
  let logsHashed = 0;
  for (const e of listed) {
    const r = results[e.task]![e.at];
    if (r instanceof Error) throw r;
    if (r) logsHashed++;
  }
  // 3. Write them, oldest first, each only where none is.
  const written: GeneratedDigest[] = [];
  for (const d of generated) {
    const ok = await storage.putIfAbsent(bucket, d.key, d.gzipped, d.metadata);
    if (!ok) {
      throw new ValidateLogsError(
        'CHAIN_CONFLICT',
        `${s3Uri(bucket, d.key)} already exists: another writer is extending this chain; nothing was overwritten`,
      );
    }
    written.push(d);
    options.onDigest?.(d, ok);
  }
  return { ...(head && { continued: head }), written, logsHashed };
}
