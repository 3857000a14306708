/**
 * What the CloudTrail and Organizations APIs tell a verifier online: a region's public keys
 * (ListPublicKeys), where a trail delivers (DescribeTrails), when it last delivered a digest
 * (GetTrailStatus), and the organization id for organization trails (DescribeOrganization).
 * The SDK clients are imported lazily. Endpoints follow the SDK's usual configuration,
 * including `AWS_ENDPOINT_URL_CLOUDTRAIL` and `AWS_ENDPOINT_URL_ORGANIZATIONS`.
 * @module
 */
import { PublicKeySet, parsePublicKey } from '../crypto/keys.js';
import { ValidateLogsError } from '../errors.js';
import { awsError, type AwsCredentials } from './aws-errors.js';
import { sdkHttpConfig, traceRequests, type AwsHttpOptions, type SdkHandlerOptions } from './http.js';
import { loadCloudTrail, loadOrganizations } from './sdk.js';

/** Options shared by the calls of this module. */
export interface AwsCallOptions {
  /** The region to ask. */
  region: string;
  /** A named profile of the shared AWS config and credentials files. */
  profile?: string;
  /** Explicit credentials, instead of the SDK's default chain. */
  credentials?: AwsCredentials;
  /** How to connect: CA bundle, certificate checks, timeouts, a line per request ({@link AwsHttpOptions}). */
  http?: AwsHttpOptions;
}

/** Where and how a trail delivers, from DescribeTrails. */
export interface TrailInfo {
  /** The bucket. */
  bucket: string;
  /** The key prefix, if any. */
  prefix?: string;
  /** The trail's home region. */
  homeRegion: string;
  /** Whether it logs every region. */
  multiRegion: boolean;
  /** Whether it is an organization trail. */
  organization: boolean;
}

type Credentials = NonNullable<AwsCallOptions['credentials']>;

function clientConfig(o: AwsCallOptions): { region: string; maxAttempts: number; profile?: string; credentials?: Credentials; requestHandler?: SdkHandlerOptions } {
  const config: { region: string; maxAttempts: number; profile?: string; credentials?: Credentials } = { region: o.region, maxAttempts: 5, ...sdkHttpConfig(o.http) };
  if (o.profile) config.profile = o.profile;
  if (o.credentials) config.credentials = o.credentials;
  return config;
}

/**
 * A region's CloudTrail public keys valid in [start, end] (ListPublicKeys, all pages). Each
 * key's fingerprint is checked against the MD5 of its bytes.
 *
 * @param o - region and credentials
 * @param start - start of the window
 * @param end - end of the window
 * @returns the keys
 * @throws ValidateLogsError `SOURCE_ERROR` when the call fails, `KEY_INVALID` for a malformed key
 */
export async function listPublicKeysOnline(o: AwsCallOptions, start: Date, end: Date): Promise<PublicKeySet> {
  const sdk = await loadCloudTrail();
  const client = traceRequests(new sdk.CloudTrailClient(clientConfig(o)), o.http, 'CloudTrail');
  const keys = new PublicKeySet();
  let token: string | undefined;
  try {
    do {
      let page;
      try {
        page = await client.send(new sdk.ListPublicKeysCommand({ StartTime: start, EndTime: end, ...(token && { NextToken: token }) }));
      } catch (e) {
        throw awsError(e, 'ListPublicKeys', o.region);
      }
      for (const k of page.PublicKeyList ?? []) {
        if (!k.Value) continue;
        const key = parsePublicKey(k.Value, {
          what: `ListPublicKeys key ${k.Fingerprint ?? ''} in ${o.region}`,
          ...(k.ValidityStartTime && { validFrom: k.ValidityStartTime }),
          ...(k.ValidityEndTime && { validTo: k.ValidityEndTime }),
        });
        if (k.Fingerprint && k.Fingerprint.toLowerCase() !== key.fingerprint) {
          throw new ValidateLogsError('KEY_INVALID', `ListPublicKeys in ${o.region}: fingerprint ${k.Fingerprint} is not the MD5 of its key (${key.fingerprint})`);
        }
        keys.add(key);
      }
      token = page.NextToken;
    } while (token);
  } finally {
    client.destroy();
  }
  return keys;
}

/**
 * Where a trail delivers (DescribeTrails with its ARN, asked in its home region).
 * @param o - region and credentials
 * @param trailArn - the trail ARN
 * @returns the trail's bucket, prefix and kind
 * @throws ValidateLogsError `SOURCE_ERROR` when the call fails or the trail is unknown
 */
export async function describeTrail(o: AwsCallOptions, trailArn: string): Promise<TrailInfo> {
  const sdk = await loadCloudTrail();
  const client = traceRequests(new sdk.CloudTrailClient(clientConfig(o)), o.http, 'CloudTrail');
  try {
    let r;
    try {
      r = await client.send(new sdk.DescribeTrailsCommand({ trailNameList: [trailArn], includeShadowTrails: true }));
    } catch (e) {
      throw awsError(e, 'DescribeTrails', o.region);
    }
    const t = (r.trailList ?? []).find((x) => x.TrailARN === trailArn) ?? r.trailList?.[0];
    if (!t?.S3BucketName) {
      throw new ValidateLogsError('SOURCE_ERROR', `DescribeTrails in ${o.region} does not know trail ${trailArn}: check the ARN, or pass --s3-bucket`);
    }
    return {
      bucket: t.S3BucketName,
      ...(t.S3KeyPrefix && { prefix: t.S3KeyPrefix }),
      homeRegion: t.HomeRegion ?? o.region,
      multiRegion: t.IsMultiRegionTrail === true,
      organization: t.IsOrganizationTrail === true,
    };
  } finally {
    client.destroy();
  }
}

/**
 * When the trail last delivered a digest file (GetTrailStatus), if it says.
 * @param o - region and credentials
 * @param trailArn - the trail ARN
 * @returns the time, or undefined
 * @throws ValidateLogsError `SOURCE_ERROR` when the call fails
 */
export async function latestDigestDelivery(o: AwsCallOptions, trailArn: string): Promise<Date | undefined> {
  const sdk = await loadCloudTrail();
  const client = traceRequests(new sdk.CloudTrailClient(clientConfig(o)), o.http, 'CloudTrail');
  try {
    const r = await client.send(new sdk.GetTrailStatusCommand({ Name: trailArn }));
    return r.LatestDigestDeliveryTime;
  } catch (e) {
    throw awsError(e, 'GetTrailStatus', o.region);
  } finally {
    client.destroy();
  }
}

/**
 * The caller's organization id (DescribeOrganization), for organization trails' key paths.
 * @param o - region and credentials
 * @returns the `o-...` id
 * @throws ValidateLogsError `SOURCE_ERROR` when the call fails
 */
export async function organizationIdOnline(o: AwsCallOptions): Promise<string> {
  const sdk = await loadOrganizations();
  const client = traceRequests(new sdk.OrganizationsClient(clientConfig(o)), o.http, 'Organizations');
  try {
    const r = await client.send(new sdk.DescribeOrganizationCommand({}));
    const id = r.Organization?.Id;
    if (!id) throw new ValidateLogsError('SOURCE_ERROR', 'DescribeOrganization returned no organization id: pass --organization-id');
    return id;
  } catch (e) {
    if (e instanceof ValidateLogsError) throw e;
    throw awsError(e, 'DescribeOrganization', o.region);
  } finally {
    client.destroy();
  }
}
