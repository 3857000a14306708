/**
 * validate-logs on AWS: S3 as storage (reading and conditional writes), and the CloudTrail and
 * Organizations lookups a run online needs (public keys, the trail's bucket, its last digest
 * delivery, the organization id). The AWS SDK is imported only when first used.
 *
 * @example
 * ```ts
 * import { verifyTrail } from 'validate-logs';
 * import { S3Storage, listPublicKeysOnline } from 'validate-logs/aws';
 * const keys = await listPublicKeysOnline({ region: 'us-east-1' }, start, end);
 * const source = new S3Storage({ region: 'us-east-1' });
 * for await (const f of verifyTrail({ source, bucket: 'my-bucket', trail, keys, start, end })) console.log(f.code);
 * ```
 * @module
 */
export { S3Storage, type S3StorageOptions } from './sources/s3.js';
export { awsError, type AwsCredentials } from './sources/aws-errors.js';
export type { AwsHttpOptions } from './sources/http.js';
export {
  listPublicKeysOnline,
  describeTrail,
  latestDigestDelivery,
  organizationIdOnline,
  type AwsCallOptions,
  type TrailInfo,
} from './sources/cloudtrail.js';
