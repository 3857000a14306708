/**
 * Amazon S3 (or an S3-compatible store) as a source and sink, on the AWS SDK for JavaScript v3.
 * The SDK is imported lazily, on first use, so users of local copies never load it.
 *
 * Credentials come from the SDK's default chain (environment, shared config and `profile`,
 * SSO, instance roles); throttling and 5xx answers are retried by the SDK with backoff. Each
 * bucket is read through a client of its own region, found with HeadBucket (which answers
 * cross-account, where GetBucketLocation does not).
 * @module
 */
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { ValidateLogsError } from '../errors.js';
import { awsError, nameOf, statusOf, type AwsCredentials } from './aws-errors.js';
import { keySegments, type FetchedObject, type ListedObject, type ObjectSink, type ObjectSource } from './source.js';

/** Options of {@link S3Storage}. */
export interface S3StorageOptions {
  /** Region for requests (default: the SDK's, else us-east-1); each bucket's own region is found with HeadBucket unless `endpoint` is set. */
  region?: string;
  /** An S3-compatible endpoint (path-style addressing is used with it). */
  endpoint?: string;
  /** A named profile of the shared AWS config and credentials files. */
  profile?: string;
  /** Attempts per request, retries included (default 5). */
  maxAttempts?: number;
  /** Explicit credentials, instead of the SDK's default chain. */
  credentials?: AwsCredentials;
}

type Sdk = typeof import('@aws-sdk/client-s3');

/**
 * S3 buckets as an {@link ObjectSource} and {@link ObjectSink}.
 *
 * @example
 * ```ts
 * const s3 = new S3Storage({ region: 'us-east-1' });
 * for await (const f of verifyTrail({ source: s3, bucket: 'my-trail-bucket', trail, keys, start })) { ... }
 * ```
 */
export class S3Storage implements ObjectSource, ObjectSink {
  readonly #options: S3StorageOptions;
  #sdk: Promise<Sdk> | undefined;
  readonly #clients = new Map<string, S3Client>();
  readonly #bucketRegions = new Map<string, Promise<string>>();

  /** @param options - region, endpoint, profile and retries */
  constructor(options: S3StorageOptions = {}) {
    this.#options = options;
  }

  #load(): Promise<Sdk> {
    this.#sdk ??= import('@aws-sdk/client-s3');
    return this.#sdk;
  }

  async #clientFor(region: string): Promise<S3Client> {
    let client = this.#clients.get(region);
    if (!client) {
      const sdk = await this.#load();
      const o = this.#options;
      const config: S3ClientConfig = {
        region,
        maxAttempts: o.maxAttempts ?? 5,
        followRegionRedirects: true,
        ...(o.endpoint && { endpoint: o.endpoint, forcePathStyle: true }),
        ...(o.profile && { profile: o.profile }),
        ...(o.credentials && { credentials: o.credentials }),
      };
      client = new sdk.S3Client(config);
      this.#clients.set(region, client);
    }
    return client;
  }

  #defaultRegion(): string {
    return this.#options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  }

  /** The client for a bucket's region (HeadBucket tells it; an endpoint override keeps the configured region). */
  async #client(bucket: string): Promise<S3Client> {
    if (this.#options.endpoint) return this.#clientFor(this.#defaultRegion());
    let region = this.#bucketRegions.get(bucket);
    if (!region) {
      region = (async () => {
        const sdk = await this.#load();
        const client = await this.#clientFor(this.#defaultRegion());
        try {
          const r = await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
          return r.BucketRegion ?? this.#defaultRegion();
        } catch (e) {
          if (nameOf(e) === 'NotFound' || statusOf(e) === 404) throw awsError({ name: 'NoSuchBucket' }, 'HeadBucket', `s3://${bucket}`);
          throw awsError(e, 'HeadBucket', `s3://${bucket}`);
        }
      })();
      region.catch(() => this.#bucketRegions.delete(bucket));
      this.#bucketRegions.set(bucket, region);
    }
    return this.#clientFor(await region);
  }

  async *list(bucket: string, prefix: string, startAfter?: string): AsyncGenerator<ListedObject> {
    for await (const page of this.listPages(bucket, prefix, startAfter)) yield* page;
  }

  /**
   * {@link S3Storage.list} in pages, as ListObjectsV2 returns them (up to 1000 keys each).
   * @param bucket - the bucket
   * @param prefix - key prefix
   * @param startAfter - only keys greater than this
   * @throws ValidateLogsError (`ACCESS_DENIED`, `SOURCE_ERROR`, ...) naming ListObjectsV2 and the prefix
   */
  async *listPages(bucket: string, prefix: string, startAfter?: string): AsyncGenerator<ListedObject[]> {
    const sdk = await this.#load();
    const client = await this.#client(bucket);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
          }),
        );
      } catch (e) {
        throw awsError(e, 'ListObjectsV2', `s3://${bucket}/${prefix}`);
      }
      const listed: ListedObject[] = [];
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        listed.push({ key: o.Key, ...(o.Size !== undefined && { size: o.Size }), ...(o.LastModified && { lastModified: o.LastModified }) });
      }
      if (listed.length > 0) yield listed;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * The folders directly under `prefix`, found by skipping from one folder to the next with
   * StartAfter (one request each): this works on every S3-compatible store, some of which
   * mishandle delimiter listings of deep trees.
   */
  async *folders(bucket: string, prefix: string): AsyncGenerator<string> {
    const sdk = await this.#load();
    const client = await this.#client(bucket);
    let after: string | undefined;
    for (;;) {
      let page;
      try {
        page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1, ...(after && { StartAfter: after }) }));
      } catch (e) {
        throw awsError(e, 'ListObjectsV2', `s3://${bucket}/${prefix}`);
      }
      const key = page.Contents?.[0]?.Key;
      if (key === undefined) return;
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) {
        after = key; // an object directly under the prefix, not a folder
        continue;
      }
      const folder = rest.slice(0, slash);
      yield folder;
      // '0' sorts just after '/': skip every key of this folder.
      after = `${prefix}${folder}0`;
    }
  }

  async get(bucket: string, key: string, options: { metadata?: boolean } = {}): Promise<FetchedObject | undefined> {
    const sdk = await this.#load();
    const client = await this.#client(bucket);
    const where = `s3://${bucket}/${key}`;
    keySegments(key);
    let r;
    try {
      r = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
      if (nameOf(e) === 'NoSuchKey' || statusOf(e) === 404) return undefined;
      throw awsError(e, 'GetObject', where);
    }
    if (!r.Body) throw new ValidateLogsError('SOURCE_ERROR', `GetObject on ${where} returned no body`);
    const result: FetchedObject = { body: checkedBody(r.Body as AsyncIterable<Uint8Array>, r.ContentLength, where) };
    if (r.ContentLength !== undefined) result.size = r.ContentLength;
    if (options.metadata) result.metadata = { ...(r.Metadata ?? {}) };
    return result;
  }

  async putIfAbsent(bucket: string, key: string, body: Uint8Array, metadata: Record<string, string>): Promise<boolean> {
    const sdk = await this.#load();
    const client = await this.#client(bucket);
    const where = `s3://${bucket}/${key}`;
    keySegments(key);
    // A store that ignores If-None-Match still must not be overwritten: look first.
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
      return false;
    } catch (e) {
      if (!(nameOf(e) === 'NotFound' || statusOf(e) === 404)) throw awsError(e, 'HeadObject', where);
    }
    try {
      // S3 conditional write: fails with 412 if any object exists at the key, so two writers
      // can never overwrite a digest or fork a chain.
      await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata, IfNoneMatch: '*', ContentType: 'application/json' }));
      return true;
    } catch (e) {
      if (statusOf(e) === 412 || nameOf(e) === 'PreconditionFailed' || statusOf(e) === 409) return false;
      throw awsError(e, 'PutObject', where);
    }
  }
}

/** The body, checked to be exactly as long as S3 said: a body that ends early is an error, never data. */
async function* checkedBody(body: AsyncIterable<Uint8Array>, length: number | undefined, where: string): AsyncGenerator<Uint8Array> {
  let seen = 0;
  try {
    for await (const chunk of body) {
      seen += chunk.byteLength;
      yield chunk;
    }
  } catch (e) {
    throw new ValidateLogsError('SOURCE_ERROR', `GetObject on ${where}: the connection failed after ${seen} bytes (${e instanceof Error ? e.message : String(e)})`, { cause: e, transient: true });
  }
  if (length !== undefined && seen !== length) {
    throw new ValidateLogsError('SOURCE_ERROR', `GetObject on ${where}: the body ended after ${seen} of ${length} bytes`, { transient: true });
  }
}
