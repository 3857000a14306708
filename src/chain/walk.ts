/**
 * The chain walk: replays one chain of a trail region (standard or backfill) the way the AWS CLI
 * does, newest first, following each digest's link to the previous one and jumping to the next
 * older listed digest when a link is missing or invalid. Each digest is read (ahead of the walk),
 * checked ({@link checkDigest}) and its logs checked ({@link checkLog}) concurrently; findings
 * leave in walk order. With a pool that takes whole digests of a local copy, a digest goes to a
 * thread ahead of the walk, which reads and parses it and checks its logs there; what it found
 * counts only once the walk reaches the digest and its signature verifies. Beyond the AWS CLI
 * it reports every digest of a hole, a gap between segments with its logs, a loop of links, and
 * logs listed twice; and it records what each digest vouched for, for the coverage step.
 * @module
 */
import { checkExtension, type PinnedDigest } from '../checkpoint/extend.js';
import type { PublicKeyInfo, PublicKeySet } from '../crypto/keys.js';
import { parsedDigestFrom, type DigestRecord, type ParsedDigest } from '../format/digest.js';
import { digestKey, s3Uri, type TrailRef } from '../format/keys.js';
import { DIGEST_PERIOD_MS } from '../format/time.js';
import type { CheckedDigest, PooledPlatform } from './offload.js';
import { readAll } from '../hash/hash-stream.js';
import type { ObjectSource } from '../sources/source.js';
import { checkDigest, digestErrorFinding, digestKeyTime, iso, parseDigestObject, type DigestRef, type DigestVerdict } from './check-digest.js';
import { checkLog } from './check-log.js';
import { validLogFinding, type LogContext } from './log-verdict.js';
import { finding, type Finding } from './findings.js';
import type { LogInventory } from './inventory.js';
import { logKeyMatcher } from './inventory.js';
import { attempt, type Attempt, type OrderedFindings } from './schedule.js';

/** Digests read ahead of the walk. */
const PREFETCH = 8;
/**
 * Digests read ahead, for each thread of a pool that takes whole digests, before the walk can
 * start (while the logs are still being listed): enough to keep the threads busy meanwhile.
 */
const EARLY_PER_THREAD = 8;
/** Findings of a digest checked whole that are queued together. */
const PAGE = 256;

/**
 * A digest as read: its uncompressed bytes and metadata, or undefined when absent; with a pool
 * that takes whole digests, what the pool found (absent when the pool left it to this thread:
 * it is then read and checked here).
 */
export type DigestRead = Attempt<{ bytes: Uint8Array; metadata: Record<string, string> | undefined; checked?: CheckedDigest } | undefined>;

/**
 * The run's fixed inputs, shared by the walk of each chain and the coverage step: where to read,
 * what to trust, the range, and where findings go. Set once by the verifier and never
 * reassigned; `keys` gains keys fetched online, `inventory` is marked and `findings` queued
 * through their own methods. A chain's walk keeps its own state apart ({@link walkChain}).
 */
export interface WalkContext {
  /** Where objects are read. */
  source: ObjectSource;
  /** The bucket. */
  bucket: string;
  /** The trail and region. */
  trail: TrailRef;
  /** The region's keys; keys fetched during the walk are added. */
  keys: PublicKeySet;
  /** Fetches keys for a window when a fingerprint is unknown (online). */
  fetchKeys?: ((from: Date, to: Date) => Promise<Iterable<PublicKeyInfo>>) | undefined;
  /** Start of the range, in ms. */
  start: number;
  /** The runtime: SHA-256, inflate, RSA, timers. */
  platform: PooledPlatform;
  /** Cap on a digest's uncompressed size. */
  maxDigestBytes: number;
  /** Cap on a log's uncompressed size. */
  maxLogBytes: number;
  /** Stops the walk. */
  signal?: AbortSignal | undefined;
  /** The trail region's logs in storage, marked as digests list them. */
  inventory: LogInventory;
  /** Whether the inventory was listed (log counts are then given). */
  counting: boolean;
  /** Findings in walk order. */
  findings: OrderedFindings;
  /** Runs log checks at the set concurrency. */
  limited: <T>(task: () => Promise<T>) => Promise<T>;
  /**
   * The local copy's folder, when the platform's pool takes whole digests and reads their logs
   * there (`Offload.takeDigest`); otherwise each log is read through `source`.
   */
  fileRoot?: string | undefined;
  /** A digest of the standard chain pinned by a checkpoint, which the walk must reach. */
  pinned?: PinnedHead | undefined;
}

/** A digest pinned by a checkpoint: where it is and the SHA-256 of its uncompressed bytes. */
export interface PinnedHead {
  /** Its key (in the trail's bucket). */
  key: string;
  /** Lower-case hex SHA-256 of its uncompressed bytes. */
  sha256: string;
}

/** One end of a walked chain: a digest whose signature verified. */
export interface ChainEnd {
  /** Its key. */
  key: string;
  /** Its `digestEndTime`. */
  endTime: string;
  /** Lower-case hex SHA-256 of its uncompressed bytes. */
  sha256: string;
  /** Its signature (hex). */
  signature: string;
  /** Its link to the previous digest (null for a starting digest). */
  previous: ChainLink | null;
}

/** A digest's link to the previous one, as it records it. */
export interface ChainLink {
  /** The previous digest's bucket. */
  bucket: string;
  /** The previous digest's key. */
  key: string;
  /** Lower-case hex SHA-256 of the previous digest's uncompressed bytes. */
  sha256: string;
  /** The previous digest's signature (lower-case hex). */
  signature: string;
}

/** The ends of the standard chain as walked: for checkpoints and shard boundaries. */
export interface ChainEnds {
  /** The newest digest whose signature verified. */
  newest?: ChainEnd;
  /** The oldest digest whose signature verified. */
  oldest?: ChainEnd;
}

/**
 * A chain end from a parsed digest.
 * @param key - its key
 * @param digest - the digest
 * @param signature - its signature
 * @returns the end
 */
export function chainEnd(key: string, digest: ParsedDigest, signature: string): ChainEnd {
  const r = digest.record;
  return {
    key,
    endTime: r.digestEndTime,
    sha256: digest.sha256,
    signature,
    previous: digest.isStarting
      ? null
      : { bucket: r.previousDigestS3Bucket!, key: r.previousDigestS3Object!, sha256: r.previousDigestHashValue!.toLowerCase(), signature: r.previousDigestSignature!.toLowerCase() },
  };
}

/** What the walks found out, for the coverage step. */
export interface WalkRecord {
  /** `s3://` URIs of every digest the walks reached. */
  visited: Set<string>;
  /** Windows of digests whose signature verified (their logs were checked and marked). */
  signed: Array<[number, number]>;
  /** Windows accounted for by a finding about their digest (an invalid or missing digest). */
  accounted: Array<[number, number]>;
  /** Gaps between segments of a chain: no digest covers them. */
  gaps: Array<[number, number]>;
  /** The newest standard digest whose signature verified. */
  newest?: { key: string; digest: ParsedDigest; signature: string };
  /** The oldest standard digest whose signature verified. */
  oldest?: { key: string; digest: ParsedDigest; signature: string };
  /** Whether the walk reached the pinned digest (with its bytes unchanged or not). */
  pinnedReached?: boolean;
}

/** A new, empty {@link WalkRecord}. */
export const newWalkRecord = (): WalkRecord => ({ visited: new Set(), signed: [], accounted: [], gaps: [] });

/**
 * Reads digests for the walk, retrying transient failures, and reads ahead the next few listed
 * ones: a chain's links nearly always lead to the next older listed digest.
 */
export class DigestReader {
  readonly #ctx: WalkContext;
  readonly #early = new Map<string, Promise<DigestRead>>();
  /** Digests the walk has read: never read ahead again (the walk follows links, so the prefetch position may lag behind it). */
  readonly #taken = new Set<string>();
  readonly #fetchedWindows = new Set<string>();
  /** What the pool found about the logs of digests it checked. */
  readonly #checked = new WeakMap<ParsedDigest, CheckedDigest>();
  /** Digests read ahead: enough to keep every thread of a pool that takes whole digests busy. */
  readonly #depth: number;
  /** Digests read ahead before the walk starts, at most (the depth without such a pool). */
  readonly #earlyMost: number;

  /** @param ctx - the walk's context */
  constructor(ctx: WalkContext) {
    this.#ctx = ctx;
    const pool = ctx.fileRoot !== undefined ? ctx.platform.offload : undefined;
    this.#depth = pool ? Math.max(PREFETCH, 2 * pool.threads) : PREFETCH;
    this.#earlyMost = pool ? Math.max(this.#depth, EARLY_PER_THREAD * pool.threads) : this.#depth;
  }

  /**
   * What the pool found about the logs a digest lists, when it took the digest whole.
   * @param digest - a digest {@link DigestReader.load} gave
   * @returns the checked entries; undefined when its logs are to be read one by one
   */
  checked(digest: ParsedDigest): CheckedDigest | undefined {
    return this.#checked.get(digest);
  }

  /**
   * Read a digest (a read started ahead is taken over).
   * @param ref - where it is
   * @param backfill - whether it belongs to the backfill chain
   * @returns the read, or a rejection that is not about the digest
   */
  read(ref: DigestRef, backfill = false): Promise<DigestRead> {
    const id = s3Uri(ref.bucket, ref.key);
    this.#taken.add(id);
    const early = this.#early.get(id);
    if (early) {
      this.#early.delete(id);
      return early;
    }
    return this.#read(ref, backfill);
  }

  /**
   * Start reading the listed digests from position `idx` down (at most {@link PREFETCH}, or
   * two for each thread of a pool that takes whole digests).
   * @param listed - the chain's listed keys, oldest first
   * @param idx - the next position the walk will take
   * @param backfill - whether this is the backfill chain
   */
  prefetch(listed: readonly string[], idx: number, backfill = false): void {
    for (let i = idx; i >= 0 && i > idx - this.#depth; i--) this.#readEarly(listed[i]!, backfill);
    // Forget what the walk has passed (a link that jumped over it).
    for (const id of this.#early.keys()) if (this.#early.size > Math.max(this.#depth * 2, this.#earlyMost)) this.#early.delete(id);
  }

  /**
   * Before the walk can start (the logs are still being listed), go on reading ahead as the
   * reads begun by {@link DigestReader.prefetch} end: each one done starts the next older
   * listed digest, so that a pool's threads never wait for the listing, up to eight digests
   * a thread in all. Without a pool that takes whole digests, nothing more is read.
   * @param listed - the chain's listed keys, oldest first (prefetched from the newest)
   * @param until - settles when the walk may start: no read is begun after it
   */
  readAheadUntil(listed: readonly string[], until: Promise<unknown>): void {
    if (this.#earlyMost <= this.#depth) return;
    let open = true;
    until.then(
      () => (open = false),
      () => (open = false),
    );
    let next = listed.length - 1 - this.#depth;
    const more = (): void => {
      if (!open || next < 0 || this.#early.size >= this.#earlyMost) return;
      const p = this.#readEarly(listed[next--]!, false);
      p?.then(more, more);
    };
    for (const p of [...this.#early.values()]) p.then(more, more);
  }

  /** Begin reading a digest ahead of the walk, unless it was begun or taken: the read begun. */
  #readEarly(key: string, backfill: boolean): Promise<DigestRead> | undefined {
    const id = s3Uri(this.#ctx.bucket, key);
    if (this.#early.has(id) || this.#taken.has(id)) return undefined;
    const p = this.#read({ bucket: this.#ctx.bucket, key }, backfill);
    p.catch(() => undefined); // reported when (if) it is used
    this.#early.set(id, p);
    return p;
  }

  async #read(ref: DigestRef, backfill: boolean): Promise<DigestRead> {
    const pooled = await this.#pooled(ref, backfill);
    if (pooled) return { ok: true, value: { bytes: pooled.bytes, metadata: pooled.metadata, checked: pooled } };
    const { source, maxDigestBytes } = this.#ctx;
    const uri = s3Uri(ref.bucket, ref.key);
    return attempt(async () => {
      const obj = await source.get(ref.bucket, ref.key, { metadata: true });
      if (!obj) return undefined;
      const sizeHint = obj.size;
      const bytes = await readAll(obj.body, { gzip: true, maxBytes: maxDigestBytes, what: uri, platform: this.#ctx.platform, ...(sizeHint !== undefined && { sizeHint }) });
      return { bytes, metadata: obj.metadata };
    }, this.#ctx.platform);
  }

  /**
   * Hand a digest of a local copy whole to the pool, when it takes whole digests: it is read
   * and checked there while the walk goes on (ahead of its signature: what the pool found
   * counts only once the signature verifies). Undefined when the pool left it to this thread
   * (which then reads it and says what is wrong) or failed.
   */
  async #pooled(ref: DigestRef, backfill: boolean): Promise<CheckedDigest | undefined> {
    const { fileRoot, platform, trail, maxLogBytes, maxDigestBytes, pinned } = this.#ctx;
    if (fileRoot === undefined || !platform.offload) return undefined;
    // A pinned digest's logs were verified when it was pinned: it is only parsed.
    const check = backfill || pinned?.key !== ref.key;
    try {
      const done = await platform.offload.takeDigest({ bucket: ref.bucket, key: ref.key, backfill, trail, root: fileRoot, maxDigestBytes, maxBytes: maxLogBytes, check });
      return done.parsed ? done : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Read and check a digest: the one step from a key to a verdict.
   * @param ref - where it is
   * @param backfill - whether it belongs to the backfill chain
   * @param linking - the newer digest whose link leads here
   * @param extra - fields for a "not found" finding (the digest linking to it, its hour)
   * @returns the verdict; `found` is false when the object does not exist
   */
  async load(ref: DigestRef, backfill: boolean, linking: ParsedDigest | undefined, extra: Partial<Finding> = {}): Promise<DigestVerdict & { found: boolean }> {
    const base = { kind: 'digest' as const, object: s3Uri(ref.bucket, ref.key), bucket: ref.bucket, key: ref.key, backfill };
    let read: DigestRead;
    try {
      read = await this.read(ref, backfill);
    } catch (e) {
      return { finding: digestErrorFinding(ref, backfill, e), signed: false, found: true };
    }
    if (!read.ok) return { finding: digestErrorFinding(ref, backfill, read.error), signed: false, found: true };
    if (!read.value) return { finding: finding('DIGEST_NOT_FOUND', { ...base, message: 'not found', ...extra }), signed: false, found: false };
    const { bytes, checked } = read.value;
    let parsed: ParsedDigest | Finding;
    if (checked) {
      parsed = parsedDigestFrom(bytes, checked.sha256, checked.header, s3Uri(ref.bucket, ref.key), this.#ctx.platform);
      if (checked.checked) this.#checked.set(parsed, checked);
    } else {
      parsed = parseDigestObject(ref, bytes, backfill, this.#ctx.platform);
    }
    if (!('record' in parsed)) return { finding: parsed, signed: false, found: true };
    await this.#ensureKey(parsed, read.value.metadata, backfill);
    const verdict = await checkDigest(ref, parsed, read.value.metadata, { trail: this.#ctx.trail, keys: this.#ctx.keys, backfill, linking, platform: this.#ctx.platform });
    return { ...verdict, found: true };
  }

  /** Online: fetch the keys of the digest's time when its fingerprint is unknown (once per window). */
  async #ensureKey(d: ParsedDigest, metadata: Record<string, string> | undefined, backfill: boolean): Promise<void> {
    const { keys, fetchKeys } = this.#ctx;
    if (!fetchKeys || keys.find(d.record.digestPublicKeyFingerprint)) return;
    const generated = metadata?.['backfill-generation-timestamp'];
    const around = backfill && generated && !Number.isNaN(Date.parse(generated)) ? Date.parse(generated) : d.endTime.getTime();
    const [from, to] = backfill ? [around - DIGEST_PERIOD_MS, around + DIGEST_PERIOD_MS] : [around - DIGEST_PERIOD_MS, around + 2 * DIGEST_PERIOD_MS];
    const window = `${from}/${to}`;
    if (this.#fetchedWindows.has(window)) return;
    this.#fetchedWindows.add(window);
    keys.addAll(await fetchKeys(new Date(from), new Date(to)));
  }
}

/**
 * Queues the findings of a digest a pool thread checked whole, in pages. Its loop is a small
 * function of its own: the JIT compiles a hot loop with the function around it, and the walk
 * is a large one.
 */
class CheckedQueue {
  #i = 0;
  #o = 0;
  #f = 0;
  #b = 0;
  #page: Finding[] = [];
  readonly #checked: CheckedDigest;
  readonly #bucket: string;
  readonly #listedAgain: (logBucket: string, key: string) => Finding | undefined;
  readonly #context: LogContext;
  readonly #ctx: WalkContext;
  readonly #record: DigestRecord;

  constructor(checked: CheckedDigest, bucket: string, listedAgain: (logBucket: string, key: string) => Finding | undefined, context: LogContext, ctx: WalkContext, record: DigestRecord) {
    this.#checked = checked;
    this.#bucket = bucket;
    this.#listedAgain = listedAgain;
    this.#context = context;
    this.#ctx = ctx;
    this.#record = record;
  }

  /**
   * Queue findings until the window is full or every entry is queued.
   * @returns true when every entry is queued
   */
  run(): boolean {
    const { keys, foreign, sizes, findings: found, back } = this.#checked;
    const { findings, limited, source } = this.#ctx;
    for (; this.#i < keys.length; ) {
      const i = this.#i++;
      const key = keys[i]!;
      const logBucket = this.#o < foreign.length && foreign[this.#o]![0] === i ? foreign[this.#o++]![1] : this.#bucket;
      const verdict = this.#f < found.length && found[this.#f]![0] === i ? found[this.#f++]![1] : undefined;
      const handed = this.#b < back.length && back[this.#b]![0] === i ? back[this.#b++]![1] : undefined;
      const duplicate = this.#listedAgain(logBucket, key);
      if (duplicate) {
        this.#page.push(duplicate);
      } else if (verdict) {
        this.#page.push(verdict);
      } else if (!handed && sizes[i]! >= 0) {
        this.#page.push(validLogFinding(logBucket, key, this.#context, sizes[i]!));
      } else {
        const log = handed ?? this.#record.logFiles[i]!;
        this.#flush();
        const context = this.#context;
        findings.push(limited(() => checkLog(log, context, source)));
      }
      if (this.#page.length >= PAGE) this.#flush();
      if (findings.full) return false; // (only when the window is full, not for every log)
    }
    this.#flush();
    return true;
  }

  #flush(): void {
    if (this.#page.length === 0) return;
    this.#ctx.findings.pushGroup(Promise.resolve(this.#page), this.#page.length);
    this.#page = [];
  }
}

/**
 * Walk one chain, newest listed digest first, and queue its findings: from each digest to the
 * next, one {@link visitDigest} step at a time, until the walk leaves the range or the chain ends.
 * @param ctx - the walk's context
 * @param reader - reads and checks digests
 * @param listed - the chain's listed keys in range, oldest first
 * @param backfill - whether this is the backfill chain
 * @param record - what the walk found out, added to
 * @yields pages of findings, in walk order, as the window fills
 */
export async function* walkChain(ctx: WalkContext, reader: DigestReader, listed: readonly string[], backfill: boolean, record: WalkRecord): AsyncGenerator<Finding[]> {
  const { walk, first } = startChain(ctx, reader, listed, backfill, record);
  let step = first;
  while (step && ctx.start <= walk.lastStart) {
    ctx.signal?.throwIfAborted();
    step = yield* visitDigest(walk, step);
  }
}

/**
 * One chain's walk: what it walks, fixed for the walk, and where it is. Each mutable field has
 * one writer; the {@link WalkRecord} it adds to has one writer per field too: `visited`
 * {@link visitDigest}, `pinnedReached` {@link checkPin}, `accounted` {@link skipInvalid} and
 * {@link reportHole}, `signed`, `newest` and `oldest` {@link recordSigned}, `gaps` {@link recordGap}.
 */
interface ChainWalk {
  /** The run's fixed inputs: source, keys, platform, range, inventory and where findings go. */
  readonly ctx: WalkContext;
  /** Reads and checks digests. */
  readonly reader: DigestReader;
  /** The chain's listed keys in range, oldest first. */
  readonly listed: readonly string[];
  /** Where each listed key is in `listed`: links lead past `idx` (which moves on jumps only), and reading ahead goes on from the digest the walk is at. */
  readonly position: ReadonlyMap<string, number>;
  /** Whether this is the backfill chain. */
  readonly backfill: boolean;
  /** Whether a key is a log file name of the trail. */
  readonly matches: (key: string) => boolean;
  /** What the walk found out, added to. */
  readonly record: WalkRecord;
  /** The next listed position a jump looks at, counting down. Written by {@link takeOlder} only. */
  idx: number;
  /**
   * The start of the last digest walked whose signature verified (the newest listed digest's key
   * time before any did): the walk stops once it is before the range. Written by
   * {@link followPrevious} only (and set by {@link startChain}).
   */
  lastStart: number;
}

/** Where the walk goes next: a digest, and the newer digest whose link (or jump) led to it. */
interface Step {
  /** The digest to visit. */
  ref: DigestRef;
  /** The newer digest whose link (or jump, when its link is unusable) led here; undefined after a jump from a starting digest, a loop or an out-of-order digest. */
  successor: ParsedDigest | undefined;
}

/** A read digest's verdict; `found` is false when the object does not exist. */
type Loaded = DigestVerdict & { found: boolean };

/** The walk of a chain, and its first step: the newest listed digest. */
function startChain(ctx: WalkContext, reader: DigestReader, listed: readonly string[], backfill: boolean, record: WalkRecord): { walk: ChainWalk; first: Step | undefined } {
  const position = new Map<string, number>();
  listed.forEach((k, i) => position.set(k, i));
  const walk: ChainWalk = { ctx, reader, listed, position, backfill, matches: logKeyMatcher(ctx.trail), record, idx: listed.length - 1, lastStart: 0 };
  const newest = takeOlder(walk, undefined);
  walk.lastStart = newest ? digestKeyTime(newest.key)! : 0;
  return { walk, first: newest && { ref: newest, successor: undefined } };
}

/**
 * Take the next listed digest older than `before` (ms), as the AWS CLI's `_get_last_digest`:
 * where the walk jumps when a link cannot be followed.
 */
function takeOlder(walk: ChainWalk, before: number | undefined): DigestRef | undefined {
  while (walk.idx >= 0) {
    const k = walk.listed[walk.idx--]!;
    if (before === undefined || (digestKeyTime(k) ?? Number.POSITIVE_INFINITY) < before) return { bucket: walk.ctx.bucket, key: k };
  }
  return undefined;
}

/** The key time of the next listed digest older than `before` (ms), without taking it. */
function peekOlder(walk: ChainWalk, before: number): number | undefined {
  for (let i = walk.idx; i >= 0; i--) {
    const t = digestKeyTime(walk.listed[i]!);
    if (t !== undefined && t < before) return t;
  }
  return undefined;
}

/** The logs delivered between two times, as a finding's `logs` field, when the logs were listed. */
function logCount(walk: ChainWalk, from: number, to: number): { logs?: number } {
  return walk.ctx.counting ? { logs: walk.ctx.inventory.count(from, to) } : {};
}

/**
 * One step of the walk: a digest already walked ends in a loop; otherwise it is read and checked,
 * held to the checkpoint's pin, and either skipped (invalid or missing) or trusted: its logs are
 * checked and its link followed.
 * @returns where to go next; undefined when the walk of this chain is over
 */
async function* visitDigest(walk: ChainWalk, { ref, successor }: Step): AsyncGenerator<Finding[], Step | undefined> {
  const { findings } = walk.ctx;
  const uri = s3Uri(ref.bucket, ref.key);
  if (walk.record.visited.has(uri)) return reportLoop(walk, uri, successor);
  walk.record.visited.add(uri);
  const refTime = digestKeyTime(ref.key);
  const jumpFrom = refTime ?? walk.lastStart;
  const linking = successor && links(successor, ref) ? successor : undefined;
  const verdict = await readDigest(walk, ref, refTime, linking);
  const pin = checkPin(walk, ref, verdict);
  if (pin === 'changed') return undefined;
  const d = verdict.digest;
  let next: Step | undefined;
  if (!verdict.signed || !d || verdict.signature === undefined) {
    next = skipInvalid(walk, refTime, jumpFrom, verdict, linking);
  } else {
    recordSigned(walk, ref.key, d, verdict.signature);
    yield* checkListedLogs(walk, ref, d, pin === 'same');
    next = followPrevious(walk, ref, d, jumpFrom);
  }
  yield* due(findings);
  return next;
}

/**
 * A link back to a digest already walked: follow it no further (a `CHAIN_LOOP` about the digest
 * whose link it is), go on with the next listed digest ending at or before the last start
 * walked: none is skipped.
 */
function reportLoop(walk: ChainWalk, uri: string, successor: ParsedDigest | undefined): Step | undefined {
  if (successor) {
    const { digestS3Bucket: bucket, digestS3Object: key } = successor.record;
    walk.ctx.findings.push(
      finding('CHAIN_LOOP', {
        kind: 'chain',
        object: s3Uri(bucket, key),
        bucket,
        key,
        message: `its link leads back to ${uri}, a digest already walked: the links form a loop`,
        backfill: walk.backfill,
        expected: 'a link to an older digest not yet walked',
        actual: uri,
      }),
    );
  }
  const next = takeOlder(walk, walk.lastStart + 1);
  return next && { ref: next, successor: undefined };
}

/**
 * Read and check a digest (with the newer digest that links to it, if any), reading ahead the
 * listed digests below it, and queue the finding about it.
 */
async function readDigest(walk: ChainWalk, ref: DigestRef, refTime: number | undefined, linking: ParsedDigest | undefined): Promise<Loaded> {
  const { reader, listed, position, backfill } = walk;
  const hour = refTime === undefined ? {} : { endTime: iso(refTime), ...logCount(walk, refTime - DIGEST_PERIOD_MS, refTime) };
  const loading = reader.load(ref, backfill, linking, linking ? { digest: s3Uri(linking.record.digestS3Bucket, linking.record.digestS3Object), ...hour } : hour);
  reader.prefetch(listed, Math.min(walk.idx, (position.get(ref.key) ?? walk.idx + 1) - 1), backfill);
  const verdict = await loading;
  walk.ctx.findings.push(verdict.finding);
  return verdict;
}

/**
 * Hold a digest of the standard chain to the checkpoint's pin: `none` when it is not the pinned
 * digest, `same` when it is, with the pinned bytes, `changed` (a `CHECKPOINT_MISMATCH` queued;
 * the walk stops) when it is gone or its bytes differ.
 */
function checkPin(walk: ChainWalk, ref: DigestRef, verdict: Loaded): 'none' | 'same' | 'changed' {
  const pinned = !walk.backfill && walk.ctx.pinned?.key === ref.key ? walk.ctx.pinned : undefined;
  if (!pinned) return 'none';
  walk.record.pinnedReached = true;
  const d = verdict.digest;
  if (d && d.sha256 === pinned.sha256.toLowerCase()) return 'same';
  walk.ctx.findings.push(checkpointMismatch(ref, !verdict.found ? 'the digest the checkpoint pins is gone' : `the digest the checkpoint pins has changed`, pinned.sha256, d?.sha256));
  return 'changed';
}

/**
 * A digest that is missing or whose signature does not verify: its hour is accounted for by the
 * finding about it (with every digest of a hole behind a missing one), and the walk jumps to the
 * next older listed digest.
 */
function skipInvalid(walk: ChainWalk, refTime: number | undefined, jumpFrom: number, verdict: Loaded, linking: ParsedDigest | undefined): Step | undefined {
  const d = verdict.digest;
  const window: [number, number] | undefined = d ? [d.startTime.getTime(), d.endTime.getTime()] : refTime !== undefined ? [refTime - DIGEST_PERIOD_MS, refTime] : undefined;
  if (window) walk.record.accounted.push(window);
  if (!verdict.found && linking && refTime !== undefined) reportHole(walk, refTime);
  const next = takeOlder(walk, jumpFrom);
  // An invalid digest is no link, but its previousDigestSignature may still be the
  // signature of the digest jumped to: a signature proves itself when it verifies.
  return next && { ref: next, successor: verdict.finding.code === 'DIGEST_OUT_OF_ORDER' ? undefined : d };
}

/** A hole behind a missing digest that a link leads to: every hourly digest between it and the next older listed one, each `DIGEST_NOT_FOUND`. */
function reportHole(walk: ChainWalk, refTime: number): void {
  const { ctx, backfill } = walk;
  const { bucket, trail, findings } = ctx;
  const older = peekOlder(walk, refTime);
  if (older === undefined) return;
  for (let t = refTime - DIGEST_PERIOD_MS; t > older + DIGEST_PERIOD_MS / 2 && t > ctx.start; t -= DIGEST_PERIOD_MS) {
    const key = digestKey(trail, new Date(t), backfill);
    walk.record.accounted.push([t - DIGEST_PERIOD_MS, t]);
    findings.push(
      finding('DIGEST_NOT_FOUND', {
        kind: 'digest',
        object: s3Uri(bucket, key),
        bucket,
        key,
        message: `not found (one digest per hour: missing between ${iso(older)} and ${iso(refTime)})`,
        backfill,
        endTime: iso(t),
        ...logCount(walk, t - DIGEST_PERIOD_MS, t),
      }),
    );
  }
}

/** A digest whose signature verified: its window is signed for, and it may be the standard chain's newest or oldest end. */
function recordSigned(walk: ChainWalk, key: string, d: ParsedDigest, signature: string): void {
  const { record } = walk;
  record.signed.push([d.startTime.getTime(), d.endTime.getTime()]);
  if (walk.backfill) return;
  const end = { key, digest: d, signature };
  if (!record.newest || d.endTime > record.newest.digest.endTime) record.newest = end;
  if (!record.oldest || d.endTime < record.oldest.digest.endTime) record.oldest = end;
}

/**
 * Check the logs a digest whose signature verified lists, and queue their findings (a log listed
 * again is a `LOG_DUPLICATE` instead). A pinned digest's logs were verified when it was pinned
 * and are only marked in the inventory; a digest a pool thread checked whole has its findings
 * queued from what the thread found.
 */
async function* checkListedLogs(walk: ChainWalk, ref: DigestRef, d: ParsedDigest, pinned: boolean): AsyncGenerator<Finding[]> {
  const { ctx, reader, backfill } = walk;
  const { bucket, inventory, findings } = ctx;
  const uri = s3Uri(ref.bucket, ref.key);
  const r = d.record;
  const logContext: LogContext = {
    trail: ctx.trail,
    digest: uri,
    digestBucket: ref.bucket,
    window: [d.startTime.getTime(), d.endTime.getTime()],
    backfill,
    platform: ctx.platform,
    maxBytes: ctx.maxLogBytes,
    matches: walk.matches,
  };
  const listedAgain = duplicateCheck(walk, uri);
  if (pinned) {
    // Verified when it was pinned, and its bytes are the same: what it lists is not read again.
    for (const log of r.logFiles) if (log.s3Bucket === bucket) inventory.mark(log.s3Object);
  }
  const checked = pinned ? undefined : reader.checked(d);
  if (checked) {
    // Checked whole on a pool thread: a valid log is only its size here, and only a log
    // handed back is read on this thread.
    const queue = new CheckedQueue(checked, bucket, listedAgain, logContext, ctx, r);
    while (!queue.run()) yield* due(findings);
  } else if (!pinned) {
    for (const log of r.logFiles) {
      findings.push(listedAgain(log.s3Bucket, log.s3Object) ?? ctx.limited(() => checkLog(log, logContext, ctx.source)));
      if (findings.full) yield* due(findings); // (only when the window is full, not for every log)
    }
  }
  yield* due(findings);
}

/**
 * For one digest's logs: the finding for a listing of a log that is one too many (twice in the
 * digest, or listed by another digest of the chain), or undefined; marks the inventory.
 */
function duplicateCheck(walk: ChainWalk, uri: string): (logBucket: string, key: string) => Finding | undefined {
  const { backfill } = walk;
  const { bucket, inventory } = walk.ctx;
  const chain = backfill ? 2 : 1;
  // While every key so far was a first listing of a log held here, none was listed twice in
  // this digest (its first listing would have marked it), so the keys are only kept in a list;
  // the set to look them up in is made at the first key that is not (nearly never): no hashing
  // of a thousand keys a digest.
  let before: string[] | undefined = [];
  let here: Set<string> | undefined;
  return (logBucket, key) => {
    if (logBucket !== bucket) return undefined;
    let twice: boolean;
    if (before !== undefined) {
      const mark = inventory.mark(key, chain);
      if (mark === 'first') {
        before.push(key);
        return undefined;
      }
      here = new Set(before);
      before = undefined;
      twice = here.has(key); // (then `mark` is 'again', and marked nothing)
      here.add(key);
      if (!twice && mark !== 'again') return undefined;
    } else {
      twice = here!.has(key);
      here!.add(key);
      if (!twice && inventory.mark(key, chain) !== 'again') return undefined;
    }
    return finding('LOG_DUPLICATE', {
      kind: 'log',
      object: s3Uri(logBucket, key),
      bucket: logBucket,
      key,
      message: `listed again (${twice ? 'twice in this digest' : 'another digest of this chain lists it too'}): a log file is delivered, and listed, once`,
      backfill,
      digest: uri,
    });
  };
}

/**
 * From a digest whose signature verified to the one its link names; from a starting digest, a
 * jump to the next older listed digest, with the gap between them recorded.
 */
function followPrevious(walk: ChainWalk, ref: DigestRef, d: ParsedDigest, jumpFrom: number): Step | undefined {
  walk.lastStart = d.startTime.getTime();
  const r = d.record;
  if (!d.isStarting) return { ref: { bucket: r.previousDigestS3Bucket!, key: r.previousDigestS3Object! }, successor: d };
  const older = takeOlder(walk, jumpFrom);
  if (!older) return undefined;
  recordGap(walk, ref, d, older);
  return { ref: older, successor: undefined };
}

/** A chain that restarts at a starting digest: the time from the next older listed digest to it is a gap (`CHAIN_GAP`, with the logs delivered in it). */
function recordGap(walk: ChainWalk, ref: DigestRef, d: ParsedDigest, older: DigestRef): void {
  const { ctx, record } = walk;
  const olderEnd = digestKeyTime(older.key)!;
  const start = d.startTime.getTime();
  const logs = ctx.counting ? ctx.inventory.count(olderEnd, start) : 0;
  record.gaps.push([olderEnd, start]);
  ctx.findings.push(
    finding('CHAIN_GAP', {
      kind: 'chain',
      object: s3Uri(ref.bucket, ref.key),
      bucket: ref.bucket,
      key: ref.key,
      message: gapMessage(iso(olderEnd), d.record.digestStartTime, logs),
      backfill: walk.backfill,
      startTime: iso(olderEnd),
      endTime: d.record.digestStartTime,
      ...logCount(walk, olderEnd, start),
    }),
  );
}

/** The findings due (beyond the window) as one page, when there are any. */
async function* due(findings: OrderedFindings): AsyncGenerator<Finding[]> {
  const page = await findings.takePage();
  if (page.length > 0) yield page;
}

/**
 * The message of a `CHAIN_GAP`: no digest covers the time between two segments of a chain.
 * @param from - the end of the older segment
 * @param to - the start of the newer one (its starting digest's `digestStartTime`)
 * @param logs - the log files delivered in between
 * @returns the message
 */
export function gapMessage(from: string, to: string, logs: number): string {
  return logs === 0
    ? `No log files were delivered by CloudTrail between ${from} and ${to}: the chain restarts at this starting digest`
    : `No digest covers ${from} to ${to} (the chain restarts at this starting digest), yet ${logs} log file${logs === 1 ? ' was' : 's were'} delivered then: no digest vouches for ${logs === 1 ? 'it' : 'them'}`;
}

/**
 * The finding for a chain that does not reach the digest a checkpoint pins, or reaches it changed.
 * @param ref - the pinned digest
 * @param why - what happened
 * @param expected - the pinned SHA-256
 * @param actual - what was found, if anything
 * @returns the finding
 */
export function checkpointMismatch(ref: DigestRef, why: string, expected: string, actual?: string): Finding {
  return finding('CHECKPOINT_MISMATCH', {
    kind: 'chain',
    object: s3Uri(ref.bucket, ref.key),
    bucket: ref.bucket,
    key: ref.key,
    message: `${why}: history was rewritten from this digest or before, after a checkpoint was taken`,
    backfill: false,
    expected,
    ...(actual !== undefined && { actual }),
  });
}

/**
 * When the walk did not meet the digest a checkpoint pins: what that says. A range that holds
 * the pinned digest must have reached it: `CHECKPOINT_ROLLBACK` when no listed digest ends at or
 * after it (the newest digests deleted, the pinned one included), `CHECKPOINT_MISMATCH` when
 * some do. A range that does not hold it is no evidence either way, so the link is checked
 * outside the range, reading digests only (their hash links, from a digest whose signature
 * verified or from the pinned hash itself; no log):
 * - range after the pinned digest: from the oldest digest verified in range back, link by link,
 *   to exactly the pinned digest ({@link checkExtension}); with no digest in range, only that
 *   the pinned digest is still there with its bytes;
 * - range before it: from the pinned digest, with its pinned bytes, back to the newest digest
 *   verified in range.
 *
 * A pinned digest that is gone is `CHECKPOINT_ROLLBACK` when nothing in range follows it, a
 * changed one or a broken link `CHECKPOINT_MISMATCH`; a range that does not hold the pinned digest
 * on an untouched chain gives nothing.
 * @param ctx - the walk's context (with `pinned`)
 * @param record - what the walk of the standard chain found
 * @param listed - the standard chain's listed keys in range
 * @param listedTo - the newest key time the listing covers, in ms (the range's end + 1 h)
 * @returns zero or one finding
 */
export async function pinFindings(ctx: WalkContext, record: WalkRecord, listed: readonly string[], listedTo: number): Promise<Finding[]> {
  const pin = ctx.pinned;
  if (!pin || record.pinnedReached) return [];
  const missed: MissedPin = { ctx, record, pin, ref: { bucket: ctx.bucket, key: pin.key }, end: digestKeyTime(pin.key) ?? Number.NEGATIVE_INFINITY };
  if (missed.end >= ctx.start && missed.end <= listedTo) return [pinMissedInRange(missed, listed)];
  const before = missed.end > listedTo;
  if (!before && !record.oldest && listed.length > 0) {
    return [checkpointMismatch(missed.ref, 'no digest in range whose signature verifies leads back to the digest the checkpoint pins', pin.sha256)];
  }
  return linkToPin(missed, before);
}

/** A pinned digest the walk of the standard chain did not meet, and what the walk found. */
interface MissedPin {
  /** The walk's context. */
  ctx: WalkContext;
  /** What the walk found. */
  record: WalkRecord;
  /** The pin. */
  pin: PinnedHead;
  /** Where the pinned digest is. */
  ref: DigestRef;
  /** Its key time, in ms (-Infinity when its key is not a digest key). */
  end: number;
}

/** The range holds the pinned digest, yet the walk did not reach it: the chain was cut above it, or everything from it on was deleted. */
function pinMissedInRange(missed: MissedPin, listed: readonly string[]): Finding {
  return listed.some((k) => (digestKeyTime(k) ?? 0) >= missed.end)
    ? checkpointMismatch(missed.ref, 'the chain from the newest digest does not lead back to the digest the checkpoint pins', missed.pin.sha256)
    : pinRolledBack(missed, `no digest from ${iso(missed.end)} on, the end of the digest a checkpoint pins`);
}

/**
 * The range does not hold the pinned digest: check, reading digests only, that the chain links
 * to it outside the range. After the pin: from the oldest digest verified in range (or the pin
 * itself, when the range has none) back to the pin. Before it: from the pin, with its pinned
 * bytes, back to the newest digest verified in range (or to itself).
 */
async function linkToPin(missed: MissedPin, before: boolean): Promise<Finding[]> {
  const { ctx, record, pin, ref } = missed;
  const pinned: PinnedDigest = { ...ref, sha256: pin.sha256 };
  const inRange = before ? record.newest : record.oldest;
  const verified: PinnedDigest | undefined = inRange && { bucket: ctx.bucket, key: inRange.key, sha256: inRange.digest.sha256, endTime: inRange.digest.record.digestEndTime };
  const r = await checkExtension({
    source: ctx.source,
    pinned: before ? (verified ?? pinned) : pinned,
    head: before ? pinned : (verified ?? pinned),
    maxDigestBytes: ctx.maxDigestBytes,
  });
  if (r.ok) return [];
  // The pinned digest gone, and nothing in range after it: the tail was deleted.
  if (r.missing && r.key === pin.key && (before || !record.oldest)) return [pinRolledBack(missed, 'the digest the checkpoint pins is gone, and no digest in range follows it')];
  const why = r.key === pin.key && r.reason === 'mismatch' ? 'the digest the checkpoint pins has changed' : 'the chain does not lead back to the digest the checkpoint pins';
  return [checkpointMismatch(ref, `${why} (${r.message})`, pin.sha256, r.key === pin.key ? r.actual : undefined)];
}

/** A `CHECKPOINT_ROLLBACK`: the newest digests, the pinned one included, were deleted. */
function pinRolledBack(missed: MissedPin, why: string): Finding {
  const { ref, record } = missed;
  return finding('CHECKPOINT_ROLLBACK', {
    kind: 'chain',
    object: s3Uri(ref.bucket, ref.key),
    bucket: ref.bucket,
    key: ref.key,
    message: `${why}: the newest digests, the pinned one included, were deleted`,
    backfill: false,
    expected: `a digest ending at or after ${iso(missed.end)}`,
    actual: record.newest ? record.newest.digest.record.digestEndTime : 'none',
  });
}

function links(next: ParsedDigest, ref: DigestRef): boolean {
  return next.record.previousDigestS3Bucket === ref.bucket && next.record.previousDigestS3Object === ref.key;
}
