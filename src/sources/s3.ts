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
import type { GetObjectCommand, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { IncomingMessage } from 'node:http';
import { ValidateLogsError } from '../errors.js';
import { awsError, nameOf, statusOf, type AwsCredentials } from './aws-errors.js';
import { sdkHttpConfig, traceRequests, type AwsHttpOptions } from './http.js';
import type { DirectGets, DirectRoute, SentRequest } from './s3-direct.js';
import { loadS3 } from './sdk.js';
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
  /**
   * Read objects with GETs signed and sent without the SDK's per-request machinery, once the
   * SDK has shown with one successful GetObject of a bucket how to reach it (default true;
   * anything unusual is still the SDK's: see `s3-direct`).
   */
  directGets?: boolean;
  /** How to connect: CA bundle, certificate checks, timeouts, a line per request ({@link AwsHttpOptions}). */
  http?: AwsHttpOptions;
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
  /** Per bucket: its route for direct GETs, null when the SDK's requests showed none to follow. */
  readonly #routes = new Map<string, { route: DirectRoute; gets: DirectGets } | null>();
  /** Direct GETs per client (its credentials and clock). */
  readonly #direct = new Map<S3Client, DirectGets>();

  /** @param options - region, endpoint, profile and retries */
  constructor(options: S3StorageOptions = {}) {
    this.#options = options;
  }

  #load(): Promise<Sdk> {
    this.#sdk ??= loadS3();
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
        ...sdkHttpConfig(o.http),
      };
      client = traceRequests(new sdk.S3Client(config), o.http, 'S3');
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
    const direct = this.#routes.get(bucket);
    if (direct) {
      const res = await direct.gets.get(direct.route, key);
      if (res) return fetched(res, where, options.metadata === true);
      // Anything but a 200: the SDK's request says what it is (and retries what may pass).
    }
    const command = new sdk.GetObjectCommand({ Bucket: bucket, Key: key });
    if (direct === undefined && this.#options.directGets !== false) this.#learn(command, client, bucket, key);
    let r;
    try {
      r = await client.send(command);
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

  /** Learn the bucket's route for direct GETs from this GetObject, as the SDK sends it, if it succeeds. */
  #learn(command: GetObjectCommand, client: S3Client, bucket: string, key: string): void {
    const learnFrom = async (sent: SentRequest): Promise<void> => {
      const { routeFrom, DirectGets } = await import('./s3-direct.js'); // (node:http and node:https, loaded only online)
      const route = routeFrom(sent, key);
      if (this.#routes.get(bucket) !== undefined) return;
      if (!route) {
        this.#routes.set(bucket, null);
        return;
      }
      let gets = this.#direct.get(client);
      if (!gets) {
        gets = new DirectGets(client.config.credentials, () => client.config.systemClockOffset ?? 0, DIRECT_SOCKETS, this.#options.http);
        this.#direct.set(client, gets);
      }
      this.#routes.set(bucket, { route, gets });
    };
    // In the innermost step: the request as sent, signed, for each attempt; learned from the one that succeeds.
    command.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        if ((out.response as { statusCode?: number }).statusCode === 200) await learnFrom(args.request as SentRequest).catch(() => undefined);
        return out;
      },
      { step: 'deserialize', priority: 'low', name: 'validateLogsLearnRoute' },
    );
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

/** Connections kept per host for direct GETs (the SDK's own handler keeps 50). */
const DIRECT_SOCKETS = 64;

/**
 * A Content-Length header's value, when it is one: a whole number of bytes, written plainly.
 * @param value - the header
 * @returns the length, or undefined for no header or anything else
 */
export function contentLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

/** A direct GET's 200 as a fetched object: its body checked against its length, its user metadata. */
function fetched(res: IncomingMessage, where: string, metadata: boolean): FetchedObject {
  const length = contentLength(res.headers['content-length']);
  const result: FetchedObject = { body: checkedBody(res, length, where) };
  if (length !== undefined) result.size = length;
  if (metadata) {
    result.metadata = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (name.startsWith('x-amz-meta-') && value !== undefined) result.metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return result;
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
