/**
 * validate-logs: CloudTrail-compatible log file integrity. Generate hourly, signed, chained
 * digest files over your log files, and verify a chain from a local copy or from storage,
 * with findings as data.
 *
 * @example
 * ```ts
 * import { LocalDirectory, PublicKeySet, verifyTrail } from 'validate-logs';
 * const keys = PublicKeySet.fromListPublicKeys(await readFile('keys.json', 'utf8'));
 * const source = new LocalDirectory('./bucket-copy', { bucket: 'my-bucket' });
 * const trail = { accountId: '123456789012', region: 'us-east-1', trailName: 'main' };
 * for await (const f of verifyTrail({ source, bucket: 'my-bucket', trail, keys, start: new Date('2025-01-01') })) {
 *   if (f.severity === 'invalid') console.log(f.code, f.object);
 * }
 * ```
 * @module
 */
export { ValidateLogsError, isValidateLogsError, type ErrorCode } from './errors.js';
export { toHex, fromHex, constantTimeEqual } from './utils.js';
export { nativeEngine, nobleEngine, sha256, type HashEngine, type Sha256 } from './hash/engine.js';
export { toChunks, type ByteSource } from './hash/chunks.js';
export { gunzipInto, type GunzipOptions, type GunzipResult } from './hash/gunzip.js';
export { hashStream, readAll, type HashStreamOptions, type HashStreamResult } from './hash/hash-stream.js';
export {
  parseDigest,
  serializeDigest,
  type DigestRecord,
  type DigestLogFile,
  type ParsedDigest,
} from './format/digest.js';
export {
  checkTrailRef,
  digestFolder,
  logFolder,
  digestKey,
  logKey,
  parseDigestKey,
  parseLogKey,
  digestKeyParts,
  logKeyParts,
  parseTrailArn,
  s3Uri,
  type TrailRef,
  type ParsedDigestKey,
  type ParsedLogKey,
  type TrailArn,
} from './format/keys.js';
export {
  DIGEST_PERIOD_MS,
  formatDigestTime,
  formatKeyTime,
  parseDigestTime,
  parseKeyTime,
  parseUserTime,
  parseIsoOrEpoch,
  floorHour,
} from './format/time.js';
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
export {
  FINDING_CODES,
  FINDING_SEVERITY,
  finding,
  type Finding,
  type FindingCode,
  type ObjectKind,
  type Severity,
} from './chain/findings.js';
export {
  generateDigests,
  type ChainHead,
  type DeliveredLog,
  type GenerateOptions,
  type GeneratedDigest,
  type BackfillOptions,
} from './chain/generator.js';
export { verifyTrail, DEFAULT_CONCURRENCY, DEFAULT_MAX_DIGEST_BYTES, DEFAULT_MAX_LOG_BYTES, DEFAULT_TAIL_GRACE_MS, type VerifyOptions } from './chain/verifier.js';
export { listDigestKeys, listLogs, type DigestKeyLists, type DigestListOptions, type LogEntry } from './chain/listing.js';
export { LogInventory, logKeyMatcher, logKeyTime } from './chain/inventory.js';
export { Tally, type Count, type Summary } from './chain/report.js';
export { createLimiter } from './chain/limit.js';
export { keySegments, type ObjectSource, type ObjectSink, type FetchedObject, type ListedObject, type ListOptions } from './sources/source.js';
export { writeDigests, findChainHead, type WriteDigestsOptions, type WriteDigestsResult } from './run/write-digests.js';
export { EventTimeScanner } from './format/events.js';
export { findDuplicateKey, type DuplicateKey } from './format/json.js';
export { LocalDirectory, parseMetadata, METADATA_SUFFIX, type LocalDirectoryOptions } from './sources/local.js';
export { S3Storage, type S3StorageOptions } from './sources/s3.js';
export { awsError, type AwsCredentials } from './sources/aws-errors.js';
export { SavingSource } from './sources/saving.js';
export {
  listPublicKeysOnline,
  describeTrail,
  latestDigestDelivery,
  organizationIdOnline,
  type AwsCallOptions,
  type TrailInfo,
} from './sources/cloudtrail.js';
