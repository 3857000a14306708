/**
 * Writing a trail's digests into storage: find the chain's newest digest, hash the log files
 * delivered since, generate the digests of every closed hour, and store each one atomically
 * without ever overwriting. Works on any storage that is both an {@link ObjectSource} and an
 * {@link ObjectSink}.
 * @module
 */
import { deliveryOrder, generateDigests, type ChainHead, type DeliveredLog, type GeneratedDigest } from '../chain/generator.js';
import type { PublicKeyInfo, Signer } from '../crypto/keys.js';
import { stringToSign, verifyString } from '../crypto/signature.js';
import { ValidateLogsError, isValidateLogsError } from '../errors.js';
import { parseDigest, type ParsedDigest } from '../format/digest.js';
import { checkTrailRef, digestFolder, digestKeyParts, logFolder, s3Uri, type ParsedDigestKey, type TrailRef } from '../format/keys.js';
import { DIGEST_PERIOD_MS, floorHour, formatDigestTime } from '../format/time.js';
import { trailLogTime } from '../chain/inventory.js';
import { LOG_WINDOW_MARGIN_MS } from '../chain/log-verdict.js';
import { defaultPlatform } from '#parallel';
import { hashObjects, OBJECT_GROUP, objectsInFlight, readsInGroups } from '../hash/hash-object.js';
import { readAll } from '../hash/hash-stream.js';
import type { HashOutcome } from '../hash/offload.js';
import type { Platform } from '../platform/platform.js';
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
  /** Write digests for every hour that ends at or before this time: not later than `now`. */
  until: Date;
  /** The current time (default: the clock's): only hours that have ended are written. */
  now?: Date;
  /** The runtime's SHA-256, inflater, gzip and RSA; the default platform when omitted. */
  platform?: Platform;
  /** Log files hashed at once (default 4). */
  concurrency?: number;
  /** Called after each digest is stored (or found already stored). */
  onDigest?: (digest: GeneratedDigest, written: boolean) => void;
  /**
   * Called once the chain's head is found, before anything is hashed: the head the run
   * continues (none: it starts a new chain), and, for a new chain, where other chains are in
   * the bucket (account, region and trail of each; looked for only when this callback is given).
   */
  onStart?: (start: { head?: ChainHead; otherChains: string[] }) => void;
  /**
   * Stops the run: no digest is stored after it aborts (one being stored is finished, so no
   * temporary file is left), the lock is released, and the promise rejects with its reason.
   */
  signal?: AbortSignal;
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
  const newest = (await chainDigests(storage, bucket, trail))[0];
  if (!newest) return undefined;
  const uri = s3Uri(bucket, newest.key);
  const read = await readDigest(storage, bucket, newest.key, platform);
  if (!read) throw new ValidateLogsError('CHAIN_CONFLICT', `${uri} was listed but cannot be read`);
  const { digest, signature } = read;
  if (!signature) {
    throw new ValidateLogsError('CHAIN_CONFLICT', `cannot continue the chain: its newest digest ${uri} has no signature metadata`);
  }
  return { bucket, key: newest.key, sha256: digest.sha256, signature, endTime: digest.endTime };
}

/** A trail region's standard digests as listed, newest first: key, the end time in its name, and its storage time when known. */
export type ChainListing = ReadonlyArray<{ key: string; end: Date; stored?: Date }>;

/**
 * A trail region's standard digests in storage (this trail's, not backfill), newest first, with
 * their storage times: one listing for {@link keyFirstUse} and {@link digestsStoredSince}.
 * @param storage - the storage
 * @param bucket - the bucket
 * @param trail - the trail and region
 * @returns the listing
 */
export function listChain(storage: ObjectSource, bucket: string, trail: TrailRef): Promise<ChainListing> {
  return chainDigests(storage, bucket, trail, true);
}

/**
 * The keys of a trail region's standard digests in storage (this trail's, not backfill), newest
 * first, with their storage times when `details` is set.
 */
async function chainDigests(storage: ObjectSource, bucket: string, trail: TrailRef, details = false): Promise<ChainListing> {
  const found: Array<ChainListing[number]> = [];
  for await (const { key, lastModified } of storage.list(bucket, digestFolder(trail), undefined, { details })) {
    const p = digestKeyParts(key);
    if (!p || p.backfill || p.trailName !== trail.trailName || p.homeRegion !== (trail.homeRegion ?? trail.region)) continue;
    found.push({ key, end: p.endTime, ...(lastModified && { stored: lastModified }) });
  }
  return found.sort((a, b) => b.end.getTime() - a.end.getTime());
}

/**
 * A digest read and parsed, with its signature metadata; undefined when it is gone.
 * @throws ValidateLogsError `CHAIN_CONFLICT` when its bytes are not a digest, the storage's errors
 */
async function readDigest(storage: ObjectSource, bucket: string, key: string, platform: Platform | undefined): Promise<{ digest: ParsedDigest; signature?: string } | undefined> {
  const uri = s3Uri(bucket, key);
  const obj = await storage.get(bucket, key, { metadata: true });
  if (!obj) return undefined;
  let digest;
  try {
    digest = parseDigest(await readAll(obj.body, { gzip: true, maxBytes: DEFAULT_MAX_DIGEST_BYTES, what: uri, ...(platform && { platform }) }), uri, platform);
  } catch (e) {
    throw new ValidateLogsError('CHAIN_CONFLICT', `cannot continue the chain: its newest digest is unreadable (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const signature = obj.metadata?.signature;
  return { digest, ...(signature !== undefined && { signature }) };
}

/** A digest read from storage: its key, the time in its name, its content and its signature metadata. */
export interface StoredDigest {
  /** Its object key. */
  key: string;
  /** The end time in its name (where a verifier judges its key's window). */
  end: Date;
  /** Its content. */
  digest: ParsedDigest;
  /** The signature metadata, if any. */
  signature?: string;
}

/**
 * When a key's use in a trail region's chain begins: the start of the oldest digest of the
 * newest run of digests it signed (walking back from the newest digest, or, when a key list
 * already records the key as valid from `from`, from the newest digest that starts at or
 * before `from`; the walk stops at a digest signed by another key, or one that cannot be
 * read). A key list that makes the key valid from then covers every digest of that run,
 * whichever run of `write-digests` wrote the list.
 * @param storage - the storage
 * @param bucket - the bucket
 * @param trail - the trail and region
 * @param key - the key (a digest counts as its only when its signature verifies with it)
 * @param options - `from`: the start of the key's window a key list already records;
 *   `platform`: the runtime's inflater and SHA-256; `listed`: the chain as listed (listed here
 *   when absent)
 * @returns the start of its oldest digest, `from` when the digest before `from` is another
 *   key's (or there is none), or undefined when the key signed no digest of the chain
 */
export async function keyFirstUse(
  storage: ObjectSource,
  bucket: string,
  trail: TrailRef,
  key: PublicKeyInfo,
  options: { from?: Date; platform?: Platform; listed?: ChainListing } = {},
): Promise<Date | undefined> {
  let oldest = options.from;
  const limit = (options.from?.getTime() ?? Infinity) + DIGEST_PERIOD_MS; // (from the digest that holds `from`)
  for (const listed of options.listed ?? (await chainDigests(storage, bucket, trail))) {
    if (listed.end.getTime() > limit) continue;
    const read = await readStored(storage, bucket, listed, options.platform);
    if (!read || !(await signedBy(read, key, options.platform))) break;
    oldest = read.digest.startTime;
  }
  return oldest;
}

/**
 * The chain's digests stored at or after `since` (every one when it is undefined, and every
 * one whose storage gives no time), newest first, each read and parsed; one that is gone or
 * cannot be read is skipped (validation reports it).
 * @param storage - the storage
 * @param bucket - the bucket
 * @param chain - the chain as {@link listChain} listed it
 * @param since - the earliest storage time wanted
 * @param platform - the runtime's inflater and SHA-256
 * @returns the digests
 * @throws ValidateLogsError `SOURCE_ERROR` when storage fails
 */
export async function* digestsStoredSince(storage: ObjectSource, bucket: string, chain: ChainListing, since: Date | undefined, platform?: Platform): AsyncGenerator<StoredDigest> {
  for (const listed of chain) {
    if (since && listed.stored && listed.stored < since) continue;
    const read = await readStored(storage, bucket, listed, platform);
    if (read) yield read;
  }
}

/**
 * A digest of the chain read and parsed; undefined when it is gone or cannot be read
 * (validation reports those, whatever a key list says).
 * @throws ValidateLogsError `SOURCE_ERROR` when storage fails: no key window from half a walk
 */
async function readStored(storage: ObjectSource, bucket: string, listed: { key: string; end: Date }, platform: Platform | undefined): Promise<StoredDigest | undefined> {
  try {
    const read = await readDigest(storage, bucket, listed.key, platform);
    return read && { key: listed.key, end: listed.end, ...read };
  } catch (e) {
    if (isValidateLogsError(e, 'SOURCE_ERROR')) throw e;
    return undefined;
  }
}

/**
 * Whether a digest names the key and its signature verifies with it: false for another key's,
 * a forged or an unsigned one.
 * @param stored - the digest
 * @param signer - the key
 * @param platform - the runtime's RSA
 * @returns whether the key signed it
 */
export async function signedBy(stored: StoredDigest, signer: PublicKeyInfo, platform?: Platform): Promise<boolean> {
  if (!stored.signature || stored.digest.record.digestPublicKeyFingerprint.toLowerCase() !== signer.fingerprint) return false;
  try {
    return await verifyString(signer, stringToSign(stored.digest.record, stored.digest.sha256), stored.signature, ...(platform ? [platform] : []));
  } catch {
    return false; // a signature that is no signature (validation reports it)
  }
}

/**
 * Other trails' (or accounts', regions') chains under the trail's `AWSLogs/` folder: a run that
 * starts a new chain beside them may have been given a mistyped account, region or trail name.
 * Looks in the trail's own digest folder for other trails, and, where the storage lists
 * folders, in every account's (and organization's accounts') digest folders.
 * @param storage - the storage
 * @param bucket - the bucket
 * @param trail - the trail and region
 * @param limit - the most named (default 5)
 * @returns each chain found as "account A, region R, trail T", in listing order
 */
export async function otherChains(storage: ObjectSource, bucket: string, trail: TrailRef, limit = 5): Promise<string[]> {
  const found: string[] = [];
  const own = digestFolder(trail);
  const describe = (p: ParsedDigestKey): string => `account ${p.accountId}${p.organizationId ? ` (${p.organizationId})` : ''}, region ${p.region}, trail ${p.trailName}`;
  /** The first digest in a folder that is not this trail's, named. */
  const firstOther = async (folder: string): Promise<string | undefined> => {
    for await (const { key } of storage.list(bucket, folder)) {
      const p = digestKeyParts(key);
      if (p && (folder !== own || p.trailName !== trail.trailName || p.homeRegion !== (trail.homeRegion ?? trail.region))) return describe(p);
    }
    return undefined;
  };
  const add = (what: string | undefined): boolean => (what !== undefined && found.push(what), found.length >= limit);
  if (add(await firstOther(own)) || !storage.folders) return found;
  const root = `${trail.prefix ? trail.prefix + '/' : ''}AWSLogs/`;
  const accounts: string[] = [];
  for await (const name of storage.folders(bucket, root)) {
    if (/^\d{12}$/.test(name)) accounts.push(`${root}${name}/`);
    else if (/^o-[a-z0-9]{10,32}$/.test(name)) for await (const inner of storage.folders(bucket, `${root}${name}/`)) if (/^\d{12}$/.test(inner)) accounts.push(`${root}${name}/${inner}/`);
  }
  for (const account of accounts) {
    for await (const region of storage.folders(bucket, `${account}CloudTrail-Digest/`)) {
      const folder = `${account}CloudTrail-Digest/${region}/`;
      if (folder !== own && add(await firstOther(folder))) return found;
    }
  }
  return found;
}

/** A listed log: its key, its delivery time once known, and where its hashing's answer is. */
interface Listed {
  key: string;
  /** The delivery time in its name (ms). */
  named: number;
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
 * The logs, each with its time: the time the thread that read it gave, or, for a log it did
 * not read (a link, one read on this thread, one that failed or is gone), the time a listing
 * with details gives now (each folder of such logs listed once); those gone are left out.
 */
async function timed(storage: ObjectSource, bucket: string, listed: readonly Listed[], results: readonly Hashed[][]): Promise<Timed[]> {
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
  return listed.filter((e): e is Timed => e.deliveredAt !== undefined); // (none: gone since it was listed)
}

/**
 * The hours a run writes, `[start, end)`: from the chain head's end (or, for a new chain, the
 * hour of the earliest log delivered before `until`, or the hour before `until` when there is
 * none), every whole hour that ends at or before `until`; as the generator makes them.
 */
function hoursWritten(head: ChainHead | undefined, earliest: Date | undefined, until: Date): { start: number; end: number } {
  const H = DIGEST_PERIOD_MS;
  const from = head ? head.endTime : earliest ? floorHour(earliest) : new Date(floorHour(until).getTime() - H);
  const start = Math.floor(from.getTime() / 1000) * 1000;
  return { start, end: start + Math.max(0, Math.floor((until.getTime() - start) / H)) * H };
}

/**
 * The refusal of a log the digests would list where validate-logs calls it `LOG_MISPLACED`, or
 * would leave out where it calls it `LOG_UNREFERENCED`, because its modification time (which
 * decides its digest) and the time in its name (which the verifier checks) disagree: one whose
 * name is outside the hour of the digest that lists it (with the verifier's margin), one
 * modified before the chain's newest digest ends but named after it (no digest will list it),
 * or one modified after the last hour written but named well inside the hours written.
 * @param bucket - the bucket
 * @param key - the log's key
 * @param named - the delivery time in its name (ms)
 * @param delivered - its modification time
 * @param hours - the hours the run writes
 * @returns the error naming the log, or undefined when the verifier will accept where it goes
 */
function misplaced(bucket: string, key: string, named: number, delivered: Date, hours: { start: number; end: number }): ValidateLogsError | undefined {
  const M = LOG_WINDOW_MARGIN_MS;
  const H = DIGEST_PERIOD_MS;
  const t = delivered.getTime();
  const { start, end } = hours;
  let why: string;
  if (t < start) {
    if (named <= start + M) return undefined;
    why = `it was modified before the chain's newest digest ends (${iso(start)}), so no later digest lists it, but its name says it was delivered after`;
  } else if (t >= end) {
    if (named >= end - M) return undefined;
    why = `it was modified after the last hour written (${iso(end)}), so no digest of this run lists it, but its name says it was delivered inside the hours written`;
  } else {
    const from = start + Math.floor((t - start) / H) * H;
    if (named >= from - M && named <= from + H + M) return undefined;
    why = `its modification time puts it in the digest of ${iso(from)} to ${iso(from + H)}, but the time in its name is outside that hour`;
  }
  return new ValidateLogsError(
    'TIME_INVALID',
    `${s3Uri(bucket, key)}: modified at ${iso(t)}, named ${iso(named)}: ${why}; validate-logs would not accept the digests, so none was written ` +
      '(set its modification time to its delivery time, or move it out of the log folders)',
  );
}

const iso = (ms: number): string => formatDigestTime(new Date(ms));

/** Rejects with the signal's reason as soon as it aborts (at once when it has), else settles as `work` does. */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** A hashed log as the generator takes it. */
function delivered(e: Timed, r: HashOutcome): DeliveredLog {
  return { key: e.key, deliveredAt: e.deliveredAt, sha256: r.sha256, newestEventTime: r.newestEventTime ?? null, oldestEventTime: r.oldestEventTime ?? null };
}

/**
 * Write the digests of every closed hour since the chain's newest digest (or start a chain at
 * the hour of the earliest log). Each log's delivery time is its storage modification time,
 * and the time in its name must agree with it as validate-logs checks. Running it again writes nothing new; after a crash it completes the work. Nothing is
 * written unless every log is hashed; the digests are then stored oldest first as they are
 * made, so a failure while making them (a signer's) leaves the chain's start, not a gap.
 *
 * @param options - storage, trail, signer and time limit
 * @returns what was written
 * @throws RangeError when `until` is after `now`; ValidateLogsError `CHAIN_CONFLICT` when the
 *   chain cannot be continued, `TIME_INVALID` when a log's modification time and the time in its
 *   name disagree (the log named; nothing is written), `NOT_READABLE`
 *   when a log file (or a folder under the trail's log folder) cannot be read as a regular file
 *   (a FIFO, socket or device, a link not followed, permission denied), `SOURCE_ERROR` on
 *   storage failures
 */
export async function writeDigests(options: WriteDigestsOptions): Promise<WriteDigestsResult> {
  const trail = checkTrailRef(options.trail);
  const bucket = requireString(options.bucket, 'bucket');
  const until = requireDate(options.until, 'until');
  const now = options.now === undefined ? new Date() : requireDate(options.now, 'now');
  if (until > now) throw new RangeError(`until (${until.toISOString()}) is after now (${now.toISOString()}): only hours that have ended can be written`);
  const { storage } = options;
  const release = storage.lock ? await storage.lock(bucket, digestFolder(trail)) : undefined;
  try {
    return await write(options, trail, bucket, until, options.platform);
  } finally {
    await release?.();
  }
}

async function write(options: WriteDigestsOptions, trail: TrailRef, bucket: string, until: Date, platform: Platform | undefined): Promise<WriteDigestsResult> {
  const { storage, signer, signal } = options;
  const head = await unlessAborted(findChainHead(storage, bucket, trail, platform), signal);
  options.onStart?.({ ...(head && { head }), otherChains: head || !options.onStart ? [] : await unlessAborted(otherChains(storage, bucket, trail), signal) });
  const grouped = readsInGroups(storage, platform ?? defaultPlatform);
  // A first run (no chain yet) hashes every log, so each log's time comes from the thread that
  // reads it (the modification time of the descriptor it read), and the listing examines
  // nothing; a run that continues a chain lists the times first, to hash only the logs after
  // its head.
  const timesFromThreads = grouped && head === undefined;
  const generate = (logs: Iterable<DeliveredLog> | AsyncIterable<DeliveredLog>): AsyncGenerator<GeneratedDigest> =>
    generateDigests({ trail, bucket, logs, until, signer, ...(platform && { platform }), ...(head && { previous: head }) });
  // 1. List, hashing the logs in groups as the listing goes.
  // A log whose modification time and name disagree fails the run before anything is written
  // (one before the head as the listing goes; the others once every log is timed).
  const { hashing, listed: all, beyond } = await listAndHash(options, trail, bucket, until, head, timesFromThreads);
  const times = timesFromThreads ? await unlessAborted(timed(storage, bucket, all, await unlessAborted(Promise.all(hashing), signal)), signal) : (all as Timed[]);
  const listed: Listed[] = times.filter((e) => e.deliveredAt < until);
  const hours = hoursWritten(head, listed.reduce<Date | undefined>((a, e) => (a === undefined || e.deliveredAt! < a ? e.deliveredAt : a), undefined), until);
  for (const e of [...times, ...beyond]) {
    const refused = misplaced(bucket, e.key, e.named, e.deliveredAt, hours);
    if (refused) throw refused;
  }
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
    await unlessAborted(allHashed, signal);
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
  // A stop (the signal) ends the wait for the next digest at once; the one being stored is finished.
  const store = storer(options, bucket);
  let writing: Promise<unknown> = allHashed;
  try {
    const digests = generate(logs);
    for (let next = await unlessAborted(digests.next(), signal); !next.done; next = await unlessAborted(digests.next(), signal)) {
      const d = next.value;
      writing = writing.then(() => store.put(d));
      writing.catch(() => undefined); // awaited below
    }
  } catch (e) {
    store.stop();
    await writing.catch(() => undefined);
    throw e;
  }
  await writing;
  options.signal?.throwIfAborted(); // (a stop during the last store: the caller says how far the chain is whole)
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
      options.signal?.throwIfAborted();
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
  /** Logs delivered from `until` on, when the listing gives times: a later run's, only checked. */
  beyond: Timed[];
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
  const hours = head && hoursWritten(head, undefined, until);
  const beyond: Timed[] = [];
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
    options.signal?.throwIfAborted();
    const named = logTime(o.key);
    if (o.unreadable !== undefined && (o.key.endsWith('/') || named !== undefined)) throw unreadableLog(bucket, o);
    // Not a log file of this trail region as the validator tells them (another name, account or
    // region, a name whose time is not its folder's date): never vouched for; validation reports it.
    if (named === undefined) continue;
    let deliveredAt: Date | undefined;
    if (!timesFromThreads) {
      deliveredAt = deliveryTime(bucket, o);
      if (hours && deliveredAt.getTime() < hours.start) {
        const refused = misplaced(bucket, o.key, named, deliveredAt, hours); // (one delivered before the head: named after it)
        if (refused) throw refused;
        continue;
      }
      if (deliveredAt >= until) {
        beyond.push({ key: o.key, named, deliveredAt, task: -1, at: -1 }); // (to check, not to hash)
        continue;
      }
    }
    const entry: Listed = { key: o.key, named, deliveredAt, task: hashing.length, at: group.length };
    group.push(entry);
    listed.push(entry);
    if (!grouped || group.length >= OBJECT_GROUP) {
      flush();
      if (grouped && hashing.length > groupsAtOnce) await hashing[hashing.length - 1 - groupsAtOnce]!.catch(() => undefined);
    }
  }
  flush();
  return { listed, hashing, beyond };
}
