/**
 * A watcher's state under an S3 prefix ({@link S3StateStore}), through the AWS SDK.
 *
 * Every write of `state.json` is a conditional PutObject: `If-Match` with the ETag read, or
 * `If-None-Match: *` when there was none, so two watchers can never fork the state: S3 answers
 * the loser 412 PreconditionFailed (or 409 ConditionalRequestConflict while a racing write is
 * in flight), a `STATE_CONFLICT` naming the location. A history day object is read, extended by
 * one line and written back the same way (a few tries when another write got in between); one
 * that does not end in a newline, or is empty, was not written by a watcher (or was read in
 * part) and is never rewritten: the lines after the cut would be lost.
 * Every object read is bounded and checked like a local file.
 * @module
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { ValidateLogsError } from '../errors.js';
import { awsError, nameOf, statusOf } from '../sources/aws-errors.js';
import { sdkHttpConfig, traceRequests } from '../sources/http.js';
import { loadS3 } from '../sources/sdk.js';
import * as layout from './state-format.js';
import type { LoadedState, PassRecord, StateStore, WatchState } from './types.js';

/** Tries of a history append when other writes keep getting in between. */
const APPEND_TRIES = 5;

/** An object read: its bytes and ETag. */
interface Read {
  bytes: Uint8Array;
  etag: string;
}

/** Whether an SDK error is a failed condition (412, or 409 while another conditional write is in flight). */
function conditionFailed(e: unknown): boolean {
  const name = nameOf(e);
  const status = statusOf(e);
  return status === 412 || name === 'PreconditionFailed' || status === 409 || name === 'ConditionalRequestConflict';
}

/** The state of a watcher under an S3 prefix (see the module). */
export class S3StateStore implements StateStore {
  /** The location as the user gave it. */
  readonly where: string;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #options: layout.StateStoreOptions;
  #client: Promise<S3Client> | undefined;

  /**
   * @param where - the location as the user gave it
   * @param bucket - the bucket
   * @param prefix - the key prefix ('' or ending in `/`)
   * @param options - endpoint, profile, region, connection options
   */
  constructor(where: string, bucket: string, prefix: string, options: layout.StateStoreOptions) {
    this.where = where;
    this.#bucket = bucket;
    this.#prefix = prefix;
    this.#options = options;
  }

  #s3(): Promise<S3Client> {
    this.#client ??= loadS3().then((sdk) => {
      const o = this.#options;
      return traceRequests(
        new sdk.S3Client({
          region: o.region ?? process.env.AWS_REGION ?? 'us-east-1',
          followRegionRedirects: true,
          ...(o.endpoint && { endpoint: o.endpoint, forcePathStyle: true }),
          ...(o.profile && { profile: o.profile }),
          ...sdkHttpConfig(o.http),
        }),
        o.http,
        'S3',
      );
    });
    return this.#client;
  }

  #uri(key: string): string {
    return `s3://${this.#bucket}/${key}`;
  }

  /** Read an object whole, at most `maxBytes`; undefined when absent. */
  async #get(key: string, maxBytes: number): Promise<Read | undefined> {
    const sdk = await loadS3();
    const client = await this.#s3();
    let r;
    try {
      r = await client.send(new sdk.GetObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (e) {
      if (nameOf(e) === 'NoSuchKey' || statusOf(e) === 404) return undefined;
      throw awsError(e, 'GetObject', this.#uri(key));
    }
    const body = r.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
    const tooLarge = (): ValidateLogsError => new ValidateLogsError('STATE_INVALID', `${this.#uri(key)} is larger than ${maxBytes} bytes; it was not read`);
    if (r.ContentLength !== undefined && r.ContentLength > maxBytes) {
      body?.destroy?.();
      throw tooLarge();
    }
    if (!body || !r.ETag) throw new ValidateLogsError('SOURCE_ERROR', `GetObject on ${this.#uri(key)} returned no body or no ETag`);
    const parts: Uint8Array[] = [];
    let size = 0;
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        if (size > maxBytes) {
          body.destroy?.();
          throw tooLarge();
        }
        parts.push(chunk);
      }
    } catch (e) {
      throw e instanceof ValidateLogsError ? e : awsError(e, 'GetObject', this.#uri(key));
    }
    return { bytes: Buffer.concat(parts, size), etag: r.ETag };
  }

  /** PutObject, conditional when `etag` is given (`null`: only if absent); the new ETag, or undefined when the condition failed. */
  async #put(key: string, body: string, etag: string | null | undefined, contentType: string): Promise<string | undefined> {
    const sdk = await loadS3();
    const client = await this.#s3();
    try {
      const r = await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ...(etag === null ? { IfNoneMatch: '*' } : etag !== undefined ? { IfMatch: etag } : {}),
        }),
      );
      return r.ETag ?? '';
    } catch (e) {
      // S3 answers If-Match on an absent key 404 NoSuchKey: the state was removed meanwhile.
      if (etag !== undefined && (conditionFailed(e) || (etag !== null && (nameOf(e) === 'NoSuchKey' || statusOf(e) === 404)))) return undefined;
      throw awsError(e, 'PutObject', this.#uri(key));
    }
  }

  /**
   * Read the state.
   * @returns the state and its ETag, or undefined when there is none
   * @throws ValidateLogsError `STATE_INVALID` when it is not a state, `SOURCE_ERROR` when S3 fails
   */
  async load(): Promise<LoadedState | undefined> {
    const key = this.#prefix + layout.STATE_NAME;
    const read = await this.#get(key, layout.MAX_STATE_BYTES);
    if (!read) return undefined;
    return { state: layout.parseState(read.bytes, this.#uri(key)), tag: read.etag };
  }

  /**
   * Replace the state if its ETag is still `tag` (only if absent when `tag` is undefined).
   * @param state - the new state
   * @param tag - the ETag read
   * @returns the new ETag
   * @throws ValidateLogsError `STATE_CONFLICT` naming the location when another writer got there first
   */
  async save(state: WatchState, tag: string | undefined): Promise<string> {
    layout.checkStateDocument(state, this.where);
    const key = this.#prefix + layout.STATE_NAME;
    const etag = await this.#put(key, JSON.stringify(state) + '\n', tag ?? null, 'application/json');
    if (etag === undefined) {
      throw new ValidateLogsError(
        'STATE_CONFLICT',
        `another watcher wrote the state at ${this.#uri(key)} first (${tag === undefined ? 'it exists now' : 'its ETag is no longer ' + tag}); nothing was written`,
      );
    }
    return etag;
  }

  /**
   * Append a pass to its day object, once: read, add the line, write back if unchanged.
   * @param record - the pass
   * @throws ValidateLogsError `STATE_CONFLICT` when other writes kept getting in between
   */
  async appendHistory(record: PassRecord): Promise<void> {
    layout.checkPassRecord(record, this.where);
    const key = `${this.#prefix}${layout.HISTORY_FOLDER}/${layout.dayFileName(record.startedAt)}`;
    const line = JSON.stringify(record) + '\n';
    for (let attempt = 0; attempt < APPEND_TRIES; attempt++) {
      const read = await this.#get(key, layout.MAX_HISTORY_FILE_BYTES);
      let before = '';
      if (read) {
        const { records, tail } = layout.parseDayFile(read.bytes, this.#uri(key));
        if (tail !== 'none' || read.bytes.length === 0) {
          // Never written so: every write of it is whole lines. Not rewritten from what may be a
          // partial read (the lines after it would be lost); read again, then refused.
          if (attempt + 1 < APPEND_TRIES) {
            await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
            continue;
          }
          throw new ValidateLogsError('STATE_INVALID', `${this.#uri(key)} ${read.bytes.length === 0 ? 'is empty' : 'ends in part of a line'}, which a watcher never writes; nothing was appended (restore it, or remove it to start the day afresh)`);
        }
        if (records.some((r) => r.pass === record.pass)) return;
        before = Buffer.from(read.bytes).toString('utf8');
      }
      if (Buffer.byteLength(before) + Buffer.byteLength(line) > layout.MAX_HISTORY_FILE_BYTES) {
        throw new ValidateLogsError('STATE_INVALID', `${this.#uri(key)} would grow beyond ${layout.MAX_HISTORY_FILE_BYTES} bytes; nothing was appended`);
      }
      if ((await this.#put(key, before + line, read ? read.etag : null, 'application/x-ndjson')) !== undefined) return;
      await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * (0.5 + Math.random())));
    }
    throw new ValidateLogsError('STATE_CONFLICT', `other writes kept changing ${this.#uri(key)}: pass ${record.pass} was not appended after ${APPEND_TRIES} tries`);
  }

  /**
   * The passes that started in `[from, to)`, oldest first, each once.
   * @param from - the earliest start wanted
   * @param to - the end (exclusive)
   * @returns the records
   */
  async *readHistory(from?: Date, to?: Date): AsyncIterable<PassRecord> {
    const sdk = await loadS3();
    const client = await this.#s3();
    const folder = `${this.#prefix}${layout.HISTORY_FOLDER}/`;
    const names: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.#bucket, Prefix: folder, ...(token && { ContinuationToken: token }) }));
      } catch (e) {
        throw awsError(e, 'ListObjectsV2', this.#uri(folder));
      }
      for (const o of page.Contents ?? []) {
        const name = o.Key?.slice(folder.length) ?? '';
        if (o.Key?.startsWith(folder) && layout.DAY_FILE_RE.test(name)) names.push(name);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const seen = new Set<number>();
    for (const name of layout.daysInRange(names, from, to)) {
      const read = await this.#get(folder + name, layout.MAX_HISTORY_FILE_BYTES);
      if (read) yield* layout.newRecords(read.bytes, this.#uri(folder + name), seen, from, to);
    }
  }

  /**
   * Write `checkpoint.note` (one PUT).
   * @param text - the signed note
   */
  async publishCheckpoint(text: string): Promise<void> {
    if (Buffer.byteLength(text) > layout.MAX_CHECKPOINT_BYTES) throw new ValidateLogsError('STATE_INVALID', `refusing to write a checkpoint of more than ${layout.MAX_CHECKPOINT_BYTES} bytes to ${this.where}`);
    await this.#put(this.#prefix + layout.CHECKPOINT_NAME, text, undefined, 'text/plain; charset=utf-8');
  }
}
