/**
 * AWS SDK errors turned into messages a user can act on: the call, the object, and for a
 * refusal the IAM permission that is missing; for missing credentials, where they come from.
 * @module
 */
import { ValidateLogsError } from '../errors.js';

/** Explicit AWS credentials (instead of the SDK's default chain). */
export interface AwsCredentials {
  /** The access key id. */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
  /** The session token of temporary credentials. */
  sessionToken?: string;
}

/** The IAM permission each call needs. */
const PERMISSION: Record<string, string> = {
  ListObjectsV2: 's3:ListBucket',
  HeadBucket: 's3:ListBucket',
  GetObject: 's3:GetObject (and kms:Decrypt on the bucket key for SSE-KMS buckets)',
  HeadObject: 's3:GetObject',
  PutObject: 's3:PutObject',
  ListPublicKeys: 'cloudtrail:ListPublicKeys',
  DescribeTrails: 'cloudtrail:DescribeTrails',
  GetTrailStatus: 'cloudtrail:GetTrailStatus',
  DescribeOrganization: 'organizations:DescribeOrganization',
};

interface AwsError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * The HTTP status of an SDK error, if any.
 * @param e - the error
 * @returns the status
 */
export const statusOf = (e: unknown): number | undefined => (e as AwsError | undefined)?.$metadata?.httpStatusCode;

/**
 * The name (error code) of an SDK error.
 * @param e - the error
 * @returns the name, or ''
 */
export const nameOf = (e: unknown): string => (e as AwsError | undefined)?.name ?? (e as AwsError | undefined)?.Code ?? '';

/**
 * Turn an SDK error into a {@link ValidateLogsError} `SOURCE_ERROR` naming the call and object.
 * @param e - the SDK error
 * @param call - the API operation
 * @param where - the object or region it was about
 * @returns the error to throw
 */
export function awsError(e: unknown, call: string, where: string): ValidateLogsError {
  const name = nameOf(e);
  const status = statusOf(e);
  const detail = (e as AwsError | undefined)?.message ?? String(e);
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || status === 403) {
    return new ValidateLogsError('SOURCE_ERROR', `AccessDenied: ${call} on ${where} was refused; the caller needs ${PERMISSION[call] ?? 'permission for ' + call}`, { cause: e });
  }
  if (name === 'CredentialsProviderError') {
    return new ValidateLogsError(
      'SOURCE_ERROR',
      `${call} on ${where}: no AWS credentials were found: set AWS_PROFILE or pass --profile, set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or validate a local copy with --local-dir`,
      { cause: e },
    );
  }
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'ExpiredToken' || name === 'UnrecognizedClientException') {
    return new ValidateLogsError('SOURCE_ERROR', `${call} on ${where}: the AWS credentials were refused (${name}); check the profile or the environment`, { cause: e });
  }
  if (name === 'NoSuchBucket') return new ValidateLogsError('SOURCE_ERROR', `${call} on ${where}: the bucket does not exist`, { cause: e });
  // Throttling, server errors and broken connections are worth another try (after the SDK's own).
  const transient = (status !== undefined && status >= 500) || /SlowDown|Throttl|Timeout|ECONNRESET|EPIPE|socket hang up|NetworkingError/i.test(`${name} ${detail}`);
  return new ValidateLogsError('SOURCE_ERROR', `${call} on ${where} failed: ${name ? name + ': ' : ''}${detail}`, { cause: e, transient });
}
