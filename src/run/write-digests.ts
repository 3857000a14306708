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

/** A log's hashing: its outcome, the error about it, or undefined when it is gone. */
type Hashed = HashOutcome | ValidateLogsError | undefined;

/** A listed log whose delivery time is known. */
type Timed = Listed & { deliveredAt: Date };

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
  const untimed = new Map<string, Map<string, Listed>>(); // by folder, by key
  for (const e of listed) {
    const r = results[e.task]![e.at];
    const modified = r && !(r instanceof Error) ? r.modified : undefined;
    if (modified !== undefined) {
      e.deliveredAt = new Date(modified);
      continue;
    }
    const folder = e.key.slice(0, e.key.lastIndexOf('/') + 1);
    let keys = untimed.get(folder);
    if (!keys) untimed.set(folder, (keys = new Map()));
    keys.set(e.key, e);
  }
  for (const [folder, wanted] of untimed) {
    for await (const o of storage.list(bucket, folder, undefined, { details: true })) {
      const e = wanted.get(o.key);
      if (!e) continue;
      if (o.unreadable !== undefined) throw unreadableLog(bucket, o);
      e.deliveredAt = deliveryTime(bucket, o);
    }
  }
  const limit = until.getTime();
  return listed.filter((e) => e.deliveredAt !== undefined && e.deliveredAt.getTime() < limit); // (none: gone since it was listed)
}

/** A hashed log as the generator takes it. */
function delivered(e: Timed, r: HashOutcome): DeliveredLog {
  return { key: e.key, deliveredAt: e.deliveredAt, sha256: r.sha256, newestEventTime: r.newestEventTime ?? null, oldestEventTime: r.oldestEventTime ?? null };
}

/**
 * Write the digests of every closed hour since the chain's newest digest (or start a chain at
 * the hour of the earliest log). Each log's delivery time is its storage modification time.
 * Running it again writes nothing new; after a crash it completes the work. Nothing is
 * written unless every log is hashed; the digests are then stored oldest first as they are
 * made, so a failure while making them (a signer's) leaves the chain's start, not a gap.
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
  const grouped = readsInGroups(storage, platform ?? defaultPlatform);
  // A first run (no chain yet) hashes every log, so each log's time comes from the thread that
  // reads it (the modification time of the descriptor it read), and the listing examines
  // nothing; a run that continues a chain lists the times first, to hash only the logs after
  // its head.
  const timesFromThreads = grouped && head === undefined;
  const generate = (logs: Iterable<DeliveredLog> | AsyncIterable<DeliveredLog>): AsyncGenerator<GeneratedDigest> =>
    generateDigests({ trail, bucket, logs, until, signer, ...(platform && { platform }), ...(head && { previous: head }) });
  // 1. List, hashing the logs in groups as the listing goes.
  const { hashing, listed: all } = await listAndHash(options, trail, bucket, until, head, timesFromThreads);
  const listed = timesFromThreads ? await timed(storage, bucket, all, await Promise.all(hashing), until) : all;
  listed.sort((a, b) => deliveryOrder(a as Timed, b as Timed));
  // Every log hashed before `until` is counted, and one that cannot be hashed fails the run
  // with nothing written (logs after the last whole hour too, though no digest takes them).
  const allHashed = (async (): Promise<number> => {
    const results = await Promise.all(hashing);
    let n = 0;
    for (const e of listed) {
      const r = results[e.task]![e.at];
      if (r instanceof Error) throw r;
      if (r) n++;
    }
    return n;
  })();
  allHashed.catch(() => undefined); // awaited below
  // 2. The digests: each as soon as the logs of its hour are hashed, while later ones still
  // are; or, when every log is hashed already (a first run), from an array, with no promise a log.
  let logs: DeliveredLog[] | AsyncIterable<DeliveredLog>;
  if (timesFromThreads) {
    await allHashed;
    const results = await Promise.all(hashing);
    logs = [];
    for (const e of listed) {
      const r = results[e.task]![e.at];
      if (r && !(r instanceof Error)) logs.push(delivered(e as Timed, r));
    }
  } else {
    logs = inDeliveryOrder(listed, hashing);
  }
  // 3. Each stored as it is made, oldest first, only where none is, and only once every log is
  // hashed. A failure after that (the signer's, another writer's digest) leaves the digests
  // already stored: the start of the chain, which a later run continues.
  const store = storer(options, bucket);
  let writing: Promise<unknown> = allHashed;
  try {
    for await (const d of generate(logs)) {
      writing = writing.then(() => store.put(d));
      writing.catch(() => undefined); // awaited below
    }
  } catch (e) {
    store.stop();
    await writing.catch(() => undefined);
    throw e;
  }
  await writing;
  const logsHashed = await allHashed;
  return { ...(head && { continued: head }), written: store.written, logsHashed };
}

/** The listed logs, in delivery order, as their hashing ends; the first that failed throws its error. */
async function* inDeliveryOrder(listed: readonly Listed[], hashing: ReadonlyArray<Promise<Hashed[]>>): AsyncGenerator<DeliveredLog> {
  const done: Hashed[][] = [];
  for (const e of listed) {
    const r = (done[e.task] ??= await hashing[e.task]!)[e.at];
    if (r instanceof Error) throw r;
    if (r) yield delivered(e as Timed, r);
  }
}

/** Stores digests, oldest first, each only where none is; after `stop`, no more. */
function storer(options: WriteDigestsOptions, bucket: string): { written: GeneratedDigest[]; put(d: GeneratedDigest): Promise<void>; stop(): void } {
  const written: GeneratedDigest[] = [];
  let stopped = false;
  return {
    written,
    async put(d: GeneratedDigest): Promise<void> {
      if (stopped) return;
      if (!(await options.storage.putIfAbsent(bucket, d.key, d.gzipped, d.metadata))) {
        throw new ValidateLogsError(
          'CHAIN_CONFLICT',
          `${s3Uri(bucket, d.key)} already exists: another writer is extending this chain; nothing was overwritten`,
        );
      }
      written.push(d);
      options.onDigest?.(d, true);
    },
    stop(): void {
      stopped = true;
    },
  };
}

/** The logs listed, and their hashing: `listed[i]` is the `at`-th answer of `hashing[task]`. */
interface ListedRun {
  listed: Listed[];
  hashing: Array<Promise<Hashed[]>>;
}

/**
 * List the trail's logs, hashing them in groups as the listing goes. When a pool reads the
 * files, the listing goes at the pace of the hashing: it waits while as many groups as can run
 * are in flight, so that the threads' answers (and the next work sent to them) are taken as
 * they come, not after a local listing of many thousand files (which runs on promises already
 * settled, and would hold this thread until it ends).
 * @throws ValidateLogsError `NOT_READABLE` about a log, or a folder that may hold logs, that
 *   cannot be read: a digest written without it would vouch for an incomplete hour
 */
async function listAndHash(
  options: WriteDigestsOptions,
  trail: TrailRef,
  bucket: string,
  until: Date,
  head: ChainHead | undefined,
  timesFromThreads: boolean,
): Promise<ListedRun> {
  const { storage, platform } = options;
  const resolved = platform ?? defaultPlatform;
  const grouped = readsInGroups(storage, resolved);
  const inFlight = objectsInFlight(storage, resolved, requirePositiveInteger(options.concurrency ?? 4, 'concurrency'));
  const groupsAtOnce = grouped ? 2 * Math.ceil(inFlight / OBJECT_GROUP) : inFlight;
  const limit = createLimiter(groupsAtOnce);
  const logTime = trailLogTime(trail);
  const hashing: Array<Promise<Hashed[]>> = [];
  const listed: Listed[] = [];
  let group: Listed[] = [];
  const flush = (): void => {
    if (group.length === 0) return;
    const these = group;
    group = [];
    const request = { gzip: true, eventTimes: true, ...(timesFromThreads && { modified: true }), ...(platform && { platform }) };
    const task = limit(() => hashObjects(storage, bucket, these.map((l) => l.key), request));
    task.catch(() => undefined); // awaited by the caller
    hashing.push(task);
  };
  for await (const o of storage.list(bucket, logFolder(trail), undefined, { details: !timesFromThreads })) {
    const isLog = logTime(o.key) !== undefined;
    if (o.unreadable !== undefined && (o.key.endsWith('/') || isLog)) throw unreadableLog(bucket, o);
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
    if (!grouped || group.length >= OBJECT_GROUP) {
      flush();
      if (grouped && hashing.length > groupsAtOnce) await hashing[hashing.length - 1 - groupsAtOnce]!.catch(() => undefined);
    }
  }
  flush();
  return { listed, hashing };
}
