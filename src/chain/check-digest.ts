/**
 * One digest file, checked: format, location, times, account, algorithm, key and its validity
 * window, signature, and the link its successor records. A pure step over bytes already read and
 * keys already loaded; the walk does the reading and the key fetching.
 * @module
 */
import { isValidateLogsError, ValidateLogsError } from '../errors.js';
import { SIGNATURE_ALGORITHM, type PublicKeyInfo, type PublicKeySet } from '../crypto/keys.js';
import { stringToSign, verifyString } from '../crypto/signature.js';
import { parseDigest, type ParsedDigest } from '../format/digest.js';
import { digestKeyParts, s3Uri, type TrailRef } from '../format/keys.js';
import { DIGEST_PERIOD_MS, formatDigestTime } from '../format/time.js';
import type { Platform } from '../platform/platform.js';
import { constantTimeEqual } from '../utils.js';
import { finding, type Finding, type FindingCode } from './findings.js';
import { outcomeOf } from './outcomes.js';

/** Where a digest was found. */
export interface DigestRef {
  /** Its bucket. */
  bucket: string;
  /** Its key. */
  key: string;
}

/**
 * Slack on a digest's window: a digest covers one hour; a window longer than this past the hour
 * reaches back to sweep in older logs, the trace of a rewrite.
 */
export const DIGEST_WINDOW_SLACK_MS: number = 5 * 60_000;

/** What {@link checkDigest} needs besides the digest. */
export interface DigestContext {
  /** The trail and region whose chain this is. */
  trail: TrailRef;
  /** The region's keys (with any fetched for this digest already added). */
  keys: PublicKeySet;
  /** Whether the digest belongs to the backfill chain. */
  backfill: boolean;
  /** The newer digest whose link names this one, when the walk came here by a link. */
  linking?: ParsedDigest | undefined;
  /** The runtime (RSA); the default platform when omitted. */
  platform?: Platform | undefined;
}

/** The verdict on one digest. */
export interface DigestVerdict {
  /** The one finding about the digest. */
  finding: Finding;
  /**
   * Whether its signature verified: its logs are then checked, and its link followed, even
   * when the finding says something else is wrong with it (its link or its times).
   */
  signed: boolean;
  /** The parsed digest, when it could be parsed. */
  digest?: ParsedDigest;
  /** The signature that verified it. */
  signature?: string;
}

/** The end time written in a digest's key, in ms, or undefined when the key is not a digest key. */
export const digestKeyTime = (key: string): number | undefined => digestKeyParts(key)?.endTime.getTime();

/** `YYYY-MM-DDTHH:MM:SSZ` of a time in ms. */
export const iso = (ms: number): string => formatDigestTime(new Date(ms));

/**
 * The finding for a digest that could not be read or decoded.
 * @param ref - where it is
 * @param backfill - whether it belongs to the backfill chain
 * @param error - what went wrong
 * @param extra - more fields (the digest linking to it, the hour it covers)
 * @returns the finding
 * @throws the error itself when it says nothing about the digest
 */
export function digestErrorFinding(ref: DigestRef, backfill: boolean, error: unknown, extra: Partial<Finding> = {}): Finding {
  const outcome = error instanceof ValidateLogsError ? outcomeOf('digest', error) : undefined;
  if (!outcome) throw error;
  return finding(outcome.code, { ...digestBase(ref, backfill), message: outcome.message, ...extra });
}

function digestBase(ref: DigestRef, backfill: boolean): Pick<Finding, 'kind' | 'object' | 'bucket' | 'key' | 'backfill'> {
  return { kind: 'digest', object: s3Uri(ref.bucket, ref.key), bucket: ref.bucket, key: ref.key, backfill };
}

/**
 * Parse a digest's uncompressed bytes.
 * @param ref - where it was read
 * @param bytes - its uncompressed bytes
 * @param backfill - whether it belongs to the backfill chain
 * @param platform - the runtime (SHA-256)
 * @returns the parsed digest, or the finding that says why it is not one
 */
export function parseDigestObject(ref: DigestRef, bytes: Uint8Array, backfill: boolean, platform?: Platform): ParsedDigest | Finding {
  try {
    return parseDigest(bytes, s3Uri(ref.bucket, ref.key), platform);
  } catch (e) {
    return digestErrorFinding(ref, backfill, e);
  }
}

/**
 * Check one parsed digest: location, account, times, algorithm, key and its window, signature,
 * then the link its successor records and the order of the two.
 *
 * Times are judged from where the digest lies (the end time in its key), never from what it
 * claims: a retired key with back-dated fields fails.
 *
 * @param ref - where it was read
 * @param digest - the parsed digest
 * @param metadata - its S3 user metadata (or sidecar), when any
 * @param context - trail, keys, chain, and the digest linking to it
 * @returns the verdict
 */
export async function checkDigest(
  ref: DigestRef,
  digest: ParsedDigest,
  metadata: Record<string, string> | undefined,
  context: DigestContext,
): Promise<DigestVerdict> {
  const { trail, keys, backfill, linking } = context;
  const r = digest.record;
  const uri = s3Uri(ref.bucket, ref.key);
  const base = { ...digestBase(ref, backfill), startTime: r.digestStartTime, endTime: r.digestEndTime };
  const linkedFrom = linking ? { digest: s3Uri(linking.record.digestS3Bucket, linking.record.digestS3Object) } : {};
  const fail = (code: FindingCode, message: string, extra: Partial<Finding> = {}): DigestVerdict => ({
    finding: finding(code, { ...base, message, ...extra }),
    signed: false,
    digest,
  });

  if (backfill && metadata && metadata['backfill-generation-timestamp'] === undefined) {
    return fail('DIGEST_INVALID_FORMAT', 'invalid format: a backfill digest without backfill-generation-timestamp metadata');
  }
  if (r.digestS3Bucket !== ref.bucket || r.digestS3Object !== ref.key) {
    return fail('DIGEST_MOVED', 'has been moved from its original location', { expected: s3Uri(r.digestS3Bucket, r.digestS3Object), actual: uri });
  }
  if (r.awsAccountId !== trail.accountId) {
    return fail('DIGEST_ACCOUNT_MISMATCH', `names account ${r.awsAccountId}, but lies in the folder of account ${trail.accountId}`, {
      expected: trail.accountId,
      actual: r.awsAccountId,
    });
  }
  const algorithm = metadata?.['signature-algorithm'];
  for (const [where, value] of [['digestSignatureAlgorithm', r.digestSignatureAlgorithm], ['signature-algorithm metadata', algorithm]] as const) {
    if (value !== undefined && value !== SIGNATURE_ALGORITHM) {
      return fail('DIGEST_ALGORITHM_UNSUPPORTED', `unsupported signature algorithm ${JSON.stringify(value)} in its ${where}`, {
        expected: SIGNATURE_ALGORITHM,
        actual: value,
      });
    }
  }
  // Where it lies: the time in its key (the walk only reaches digests whose key parses).
  const placed = digestKeyTime(ref.key) ?? digest.endTime.getTime();
  // Several entries may share a fingerprint (one key, several windows): the one covering where it lies.
  const key = keys.find(r.digestPublicKeyFingerprint, new Date(placed));
  if (!key) {
    return fail('DIGEST_KEY_NOT_FOUND', `public key not found in region ${trail.homeRegion ?? trail.region} for fingerprint ${r.digestPublicKeyFingerprint}`, {
      expected: r.digestPublicKeyFingerprint,
    });
  }
  const signature = metadata?.signature ?? linking?.record.previousDigestSignature ?? undefined;
  if (signature === undefined) {
    return fail(
      'DIGEST_SIGNATURE_MISSING',
      'signature not found: no signature metadata (S3 x-amz-meta-signature or a .metadata.json sidecar) and no later digest links to it',
    );
  }
  let ok: boolean;
  try {
    ok = await verifyString(key, stringToSign(r, digest.sha256), signature, context.platform);
  } catch (e) {
    if (isValidateLogsError(e, 'SIGNATURE_INVALID')) return fail('DIGEST_SIGNATURE_INVALID', `signature verification failed: ${e.message}`);
    throw e;
  }
  if (!ok) return fail('DIGEST_SIGNATURE_INVALID', 'signature verification failed');
  if (!keyValidAt(key, placed)) {
    return fail(
      'DIGEST_KEY_NOT_VALID',
      `signed by key ${key.fingerprint}, valid from ${key.validFrom ? iso(key.validFrom.getTime()) : 'the start'} to ` +
        `${key.validTo ? iso(key.validTo.getTime()) : 'now'}, not at ${iso(placed)}, the time in the digest's name`,
      { expected: iso(placed) },
    );
  }
  if (linking && digest.endTime >= linking.endTime) {
    return fail('DIGEST_OUT_OF_ORDER', `ends at ${r.digestEndTime}, not before the digest that links to it (ends ${linking.record.digestEndTime})`, linkedFrom);
  }
  const signed = (f: Finding): DigestVerdict => ({ finding: f, signed: true, digest, signature });
  if (linking) {
    const hashLinked = constantTimeEqual((linking.record.previousDigestHashValue ?? '').toLowerCase(), digest.sha256);
    const sigLinked = constantTimeEqual((linking.record.previousDigestSignature ?? '').toLowerCase(), signature.toLowerCase());
    if (!hashLinked || !sigLinked) {
      return signed(
        finding('DIGEST_LINK_MISMATCH', {
          ...base,
          message:
            `correctly signed, but its ${!hashLinked ? 'SHA-256' : 'signature'}${!hashLinked && !sigLinked ? ' and signature' : ''} ` +
            `differ from what the next digest's link records: rewritten and re-signed after the next digest was written`,
          expected: hashLinked ? linking.record.previousDigestSignature! : linking.record.previousDigestHashValue!,
          actual: hashLinked ? signature : digest.sha256,
          ...linkedFrom,
        }),
      );
    }
  }
  const times = timeProblem(digest, placed);
  if (times) return signed(finding('DIGEST_TIME_INVALID', { ...base, message: `correctly signed, but ${times.message}`, expected: times.expected, actual: times.actual }));
  return signed(finding('DIGEST_VALID', { ...base, message: 'valid' }));
}

/** Signed just after its end time, with a key valid then (ListPublicKeys is asked over [start, end + 2 h]). */
function keyValidAt(key: PublicKeyInfo, at: number): boolean {
  return !((key.validFrom && key.validFrom.getTime() > at + 2 * DIGEST_PERIOD_MS) || (key.validTo && key.validTo.getTime() < at));
}

/**
 * What is wrong with a digest's times, if anything: a start after its end, an end other than the
 * time in its name, a window longer than the hour a digest covers, a start that does not follow
 * the end of the digest it links to (the time in that digest's name).
 */
function timeProblem(digest: ParsedDigest, placed: number): { message: string; expected: string; actual: string } | undefined {
  const r = digest.record;
  const start = digest.startTime.getTime();
  const end = digest.endTime.getTime();
  if (start > end) return { message: `its start ${r.digestStartTime} is after its end ${r.digestEndTime}`, expected: `a start before ${r.digestEndTime}`, actual: r.digestStartTime };
  if (end !== placed) return { message: `its end time ${r.digestEndTime} is not the time in its name (${iso(placed)})`, expected: iso(placed), actual: r.digestEndTime };
  if (end - start > DIGEST_PERIOD_MS + DIGEST_WINDOW_SLACK_MS) {
    return {
      message: `its window ${r.digestStartTime} to ${r.digestEndTime} is longer than the hour a digest covers: it reaches back to list older logs`,
      expected: `a start at or after ${iso(end - DIGEST_PERIOD_MS - DIGEST_WINDOW_SLACK_MS)}`,
      actual: r.digestStartTime,
    };
  }
  const previousEnd = r.previousDigestS3Object === null ? undefined : digestKeyTime(r.previousDigestS3Object);
  if (r.previousDigestS3Object !== null && previousEnd !== start) {
    return {
      message:
        previousEnd === undefined
          ? `it links to ${JSON.stringify(r.previousDigestS3Object)}, which is not a digest file name`
          : `its start ${r.digestStartTime} does not follow the end of the digest it links to (${iso(previousEnd)})`,
      expected: previousEnd === undefined ? 'a link to a digest file' : iso(previousEnd),
      actual: previousEnd === undefined ? r.previousDigestS3Object : r.digestStartTime,
    };
  }
  return undefined;
}
