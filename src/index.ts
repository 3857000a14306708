/**
 * validate-logs: CloudTrail-compatible log file integrity. Generate hourly, signed, chained
 * digest files over your log files, and verify a chain from objects in any storage, with
 * findings as data. This entry is portable (no `node:` module; WebCrypto and Compression Streams
 * where Node's are absent): storage on a local disk is in `validate-logs/node`, S3 and the
 * CloudTrail API in `validate-logs/aws`. Checkpoints, signed notes and RFC 3161 time stamps are in
 * `validate-logs/checkpoint`, the sharding of an organization's chains in `validate-logs/scale`:
 * importing this entry loads neither (nor pkijs and asn1js, which only time stamps need).
 *
 * @example
 * ```ts
 * import { MemorySource, PublicKeySet, verifyTrail } from 'validate-logs';
 * const keys = PublicKeySet.fromListPublicKeys(keysJson);
 * const source = new MemorySource(objects, { bucket: 'my-bucket' });
 * const trail = { accountId: '123456789012', region: 'us-east-1', trailName: 'main' };
 * for await (const f of verifyTrail({ source, bucket: 'my-bucket', trail, keys, start: new Date('2025-01-01') })) {
 *   if (f.severity === 'invalid') console.log(f.code, f.object);
 * }
 * ```
 * @module
 */
export { ValidateLogsError, isValidateLogsError, type ErrorCode } from './errors.js';
export type { Platform, Sha256, RawInflater, WholeInflate, SigningKey, ThreadEvents, ThreadHandle, ThreadOptions } from './platform/platform.js';
export type { HashRequest, HashOutcome, HashFile, HashOffload, OffloadPlatform } from './hash/offload.js';
export { webPlatform } from './platform/web.js';
export type { ByteSource } from './hash/chunks.js';
export { hashStream, type HashStreamOptions, type HashStreamResult } from './hash/hash-stream.js';
export { parseDigest, serializeDigest, type DigestRecord, type DigestLogFile, type ParsedDigest } from './format/digest.js';
export {
  digestKey,
  logKey,
  parseDigestKey,
  parseLogKey,
  parseTrailArn,
  s3Uri,
  type TrailRef,
  type ParsedDigestKey,
  type ParsedLogKey,
  type TrailArn,
} from './format/keys.js';
export {
  SIGNATURE_ALGORITHM,
  MIN_RSA_BITS,
  OPEN_VALIDITY_END,
  PublicKeySet,
  createSigner,
  keyFingerprint,
  parsePublicKey,
  type PublicKeyInfo,
  type Signer,
  type ListPublicKeysDocument,
  type ListPublicKeysEntry,
} from './crypto/keys.js';
export { stringToSign, signString, verifyString } from './crypto/signature.js';
export { CHAIN_LEVEL_MEANING, FINDING_CODES, FINDING_SEVERITY, isChainLevel, type Finding, type FindingCode, type ObjectKind, type Severity } from './chain/findings.js';
export {
  generateDigests,
  type ChainHead,
  type DeliveredLog,
  type GenerateOptions,
  type GeneratedDigest,
  type BackfillOptions,
} from './chain/generator.js';
export { verifyTrail, verifyTrailPages } from './parallel/verify.js';
export { DEFAULT_CONCURRENCY, DEFAULT_MAX_DIGEST_BYTES, DEFAULT_MAX_LOG_BYTES, DEFAULT_TAIL_GRACE_MS, type VerifyOptions } from './chain/verifier.js';
export {
  Tally,
  chainLevelCounts,
  emptySummary,
  isEmptySummary,
  judgeRegions,
  mergeSummaries,
  type ChainLevelCount,
  type Count,
  type JudgedRegion,
  type Judgement,
  type RegionResult,
  type ReportPolicy,
  type Summary,
} from './chain/report.js';
export type { ChainEnd, ChainEnds, ChainLink, PinnedHead } from './chain/walk.js';
export type { CoverageMap } from './chain/coverage.js';
export type { ObjectSource, ObjectSink, FetchedObject, ListedObject, ListOptions } from './sources/source.js';
export { MemorySource, type MemoryRecord, type MemorySourceOptions } from './sources/memory.js';
