/**
 * The extension check: does the chain whose newest digest is the new head lead back, link by
 * link, to exactly the digest an older checkpoint pinned? It is what a witness checks before
 * cosigning, and where an incremental run starts: what was verified up to the pinned digest
 * stays verified, as long as every link from the new head back to it holds.
 *
 * Each step reads the previous digest named by `previousDigestS3Bucket`/`previousDigestS3Object`
 * and checks that the SHA-256 of its uncompressed bytes is the link's `previousDigestHashValue`.
 * End times must strictly decrease along the way, so the walk always ends.
 * @module
 */
import { finding, type Finding } from '../chain/findings.js';
import { ValidateLogsError } from '../errors.js';
import { parseDigest, type ParsedDigest } from '../format/digest.js';
import { parseDigestKey, s3Uri } from '../format/keys.js';
import { formatDigestTime, parseDigestTime } from '../format/time.js';
import { readAll } from '../hash/hash-stream.js';
import type { ObjectSource } from '../sources/source.js';
import { constantTimeEqual } from '../utils.js';

/** Largest digest read (uncompressed), as the verifier's default. */
const MAX_DIGEST_BYTES = 64 * 1024 * 1024;

/** A digest pinned by a checkpoint. */
export interface PinnedDigest {
  /** Its bucket. */
  bucket: string;
  /** Its object key. */
  key: string;
  /** Lower-case hex SHA-256 of its uncompressed bytes. */
  sha256: string;
  /** Its `digestEndTime`; taken from the key when omitted. */
  endTime?: string;
}

/** A head to start from: a digest, and optionally the SHA-256 a newer checkpoint claims for it. */
export interface HeadDigest {
  /** Its bucket. */
  bucket: string;
  /** Its object key. */
  key: string;
  /** When given, its bytes must have this SHA-256. */
  sha256?: string;
}

/** Options of {@link checkExtension}. */
export interface ExtensionOptions {
  /** Where the digests are read. */
  source: ObjectSource;
  /** The digest the older checkpoint pinned. */
  pinned: PinnedDigest;
  /** The newest digest now (of the newer checkpoint, or found by a run). */
  head: HeadDigest;
  /** Largest digest read, uncompressed (default 64 MiB). */
  maxDigestBytes?: number;
}

/**
 * Why an extension check failed:
 * - `mismatch`: the pinned digest was reached but its bytes changed, the walk passed the
 *   pinned time (or reached the start of a chain) without meeting it, or the head is not what
 *   the newer checkpoint says: history was rewritten.
 * - `rollback`: the head ends before the pinned digest: the tail of the chain was deleted.
 * - `broken`: a link on the way does not hold: a digest it names is missing, unreadable or
 *   malformed, its SHA-256 is not the link's, or it does not end before the digest linking to it.
 */
export type ExtensionFailure = 'mismatch' | 'rollback' | 'broken';

/** The result of {@link checkExtension}. */
export type ExtensionResult =
  | {
      /** The head leads back to exactly the pinned digest. */
      ok: true;
      /** Links followed (0 when the head is the pinned digest). */
      steps: number;
      /** The head digest, parsed. */
      head: ParsedDigest;
    }
  | {
      /** It does not. */
      ok: false;
      /** Why. */
      reason: ExtensionFailure;
      /** `s3://` URI of the digest where it failed. */
      object: string;
      /** Bucket of that digest. */
      bucket: string;
      /** Key of that digest. */
      key: string;
      /** A sentence naming the digest and what was wrong. */
      message: string;
      /** The expected value (a hash, an end time), when there is one. */
      expected?: string;
      /** The value found, when there is one. */
      actual?: string;
      /** Links followed before it failed. */
      steps: number;
      /** Set when the digest where it failed does not exist (rather than being unreadable or different). */
      missing?: true;
    };

type Failure = Extract<ExtensionResult, { ok: false }>;

/** Read and parse one digest; a failure to read it is a failed step, not an exception. */
async function load(source: ObjectSource, bucket: string, key: string, maxBytes: number): Promise<ParsedDigest | { missing: true } | { error: string }> {
  const uri = s3Uri(bucket, key);
  try {
    const obj = await source.get(bucket, key);
    if (!obj) return { missing: true };
    return parseDigest(await readAll(obj.body, { gzip: true, maxBytes, what: uri }), uri);
  } catch (e) {
    if (e instanceof ValidateLogsError) return { error: e.message };
    throw e;
  }
}

/**
 * Check that the chain from `head` back reaches exactly the `pinned` digest.
 *
 * @param options - the source, the pinned digest, the head
 * @returns `ok` with the number of links followed, or the reason it failed and the digest where
 * @throws TypeError for a pinned SHA-256 that is not 64 hex digits
 * @throws ValidateLogsError `TIME_INVALID` or `KEY_FORMAT` when the pinned end time, or
 *   without it the pinned key, cannot be read (a parsed checkpoint always has them right).
 *   Every failure to read or parse a digest on the way is a result, not an exception; other
 *   storage errors propagate
 * @example
 * ```ts
 * const r = await checkExtension({ source, pinned: { bucket, key: old.key, sha256: old.sha256 }, head: { bucket, key: now.key } });
 * if (!r.ok) console.log(r.reason, r.object, r.message);
 * ```
 */
export async function checkExtension(options: ExtensionOptions): Promise<ExtensionResult> {
  const { source, pinned, head } = options;
  const maxBytes = options.maxDigestBytes ?? MAX_DIGEST_BYTES;
  if (!/^[0-9a-f]{64}$/i.test(pinned.sha256)) throw new TypeError('pinned.sha256 must be 64 hex digits');
  const pinnedEnd = pinned.endTime !== undefined ? parseDigestTime(pinned.endTime, 'pinned end time') : parseDigestKey(pinned.key).endTime;
  const pinnedUri = s3Uri(pinned.bucket, pinned.key);
  let steps = 0;
  const fail = (reason: ExtensionFailure, bucket: string, key: string, message: string, values: { expected?: string; actual?: string; missing?: true } = {}): Failure => ({
    ok: false,
    reason,
    object: s3Uri(bucket, key),
    bucket,
    key,
    message,
    ...values,
    steps,
  });

  const first = await load(source, head.bucket, head.key, maxBytes);
  const headUri = s3Uri(head.bucket, head.key);
  if ('missing' in first) return fail('broken', head.bucket, head.key, `the head digest ${headUri} is not found`, { missing: true });
  if ('error' in first) return fail('broken', head.bucket, head.key, `the head digest ${headUri} cannot be read: ${first.error}`);
  if (head.sha256 !== undefined && !constantTimeEqual(first.sha256, head.sha256.toLowerCase())) {
    return fail('mismatch', head.bucket, head.key, `the head digest ${headUri} is not the one the checkpoint names: its SHA-256 differs`, { expected: head.sha256, actual: first.sha256 });
  }
  if (first.endTime.getTime() < pinnedEnd.getTime()) {
    return fail('rollback', head.bucket, head.key, `the newest digest ${headUri} ends at ${first.record.digestEndTime}, before the pinned digest ${pinnedUri} (${formatDigestTime(pinnedEnd)}): the newer digests were deleted`, {
      expected: formatDigestTime(pinnedEnd),
      actual: first.record.digestEndTime,
    });
  }
  let current = first;
  let bucket = head.bucket;
  let key = head.key;
  for (;;) {
    const uri = s3Uri(bucket, key);
    if (bucket === pinned.bucket && key === pinned.key) {
      if (!constantTimeEqual(current.sha256, pinned.sha256.toLowerCase())) {
        return fail('mismatch', bucket, key, `the pinned digest ${uri} has changed: its SHA-256 is not the pinned one`, { expected: pinned.sha256.toLowerCase(), actual: current.sha256 });
      }
      return { ok: true, steps, head: first };
    }
    if (current.endTime.getTime() <= pinnedEnd.getTime()) {
      return fail('mismatch', bucket, key, `the chain passes the pinned time at ${uri} without reaching the pinned digest ${pinnedUri}: history was rewritten`, {
        expected: pinnedUri,
        actual: uri,
      });
    }
    const r = current.record;
    if (current.isStarting || r.previousDigestS3Bucket === null || r.previousDigestS3Object === null || r.previousDigestHashValue === null) {
      return fail('mismatch', bucket, key, `the chain starts at ${uri}, after the pinned digest ${pinnedUri}: the link to it is gone (a gap, or history rewritten)`, { expected: pinnedUri });
    }
    const prevBucket = r.previousDigestS3Bucket;
    const prevKey = r.previousDigestS3Object;
    const prevUri = s3Uri(prevBucket, prevKey);
    steps++;
    const prev = await load(source, prevBucket, prevKey, maxBytes);
    if ('missing' in prev) return fail('broken', prevBucket, prevKey, `${prevUri}, linked from ${uri}, is not found`, { missing: true });
    if ('error' in prev) return fail('broken', prevBucket, prevKey, `${prevUri}, linked from ${uri}, cannot be read: ${prev.error}`);
    if (!constantTimeEqual(prev.sha256, r.previousDigestHashValue.toLowerCase())) {
      // The pinned digest itself changed without relinking: name the rewrite, not only the link.
      const reason = prevBucket === pinned.bucket && prevKey === pinned.key ? 'mismatch' : 'broken';
      return fail(reason, prevBucket, prevKey, `${prevUri}: its SHA-256 is not the one ${uri} links to`, { expected: r.previousDigestHashValue.toLowerCase(), actual: prev.sha256 });
    }
    if (prev.endTime.getTime() >= current.endTime.getTime()) {
      return fail('broken', prevBucket, prevKey, `${prevUri} does not end before ${uri}, which links to it`, { expected: `before ${r.digestEndTime}`, actual: prev.record.digestEndTime });
    }
    current = prev;
    bucket = prevBucket;
    key = prevKey;
  }
}

/**
 * The findings of a failed extension check, for a run that starts from a checkpoint:
 * `CHECKPOINT_ROLLBACK` for a rollback, `CHECKPOINT_MISMATCH` for everything else (the chain
 * does not reach the pinned digest as it was). None for a success.
 * @param result - what {@link checkExtension} returned
 * @param pinned - the pinned digest
 * @param region - the chain's region, when known
 * @returns zero or one finding
 */
export function extensionFindings(result: ExtensionResult, pinned: PinnedDigest, region?: string): Finding[] {
  if (result.ok) return [];
  const pinnedUri = s3Uri(pinned.bucket, pinned.key);
  const common = {
    backfill: false,
    ...(region !== undefined && { region }),
    ...(result.expected !== undefined && { expected: result.expected }),
    ...(result.actual !== undefined && { actual: result.actual }),
  };
  if (result.reason === 'rollback') {
    // About the chain: its pinned digest is now beyond the newest one.
    return [finding('CHECKPOINT_ROLLBACK', { kind: 'chain', object: pinnedUri, bucket: pinned.bucket, key: pinned.key, message: result.message, digest: result.object, ...common })];
  }
  return [finding('CHECKPOINT_MISMATCH', { kind: 'digest', object: result.object, bucket: result.bucket, key: result.key, message: result.message, ...(result.object !== pinnedUri && { digest: pinnedUri }), ...common })];
}
