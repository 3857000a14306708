/**
 * Where manifests and reports live: a local path, or `s3://BUCKET/KEY` (a whole object each).
 * Local files are written aside and renamed into place; an S3 object is one PUT: a reader never
 * sees half a report, and writing the same report again (a retried shard) replaces it whole.
 * @module
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidateLogsError } from '../errors.js';
import { readAll } from '../hash/hash-stream.js';
import { awsError } from '../sources/aws-errors.js';
import { sdkHttpConfig, traceRequests } from '../sources/http.js';
import { loadS3 } from '../sources/sdk.js';
import { S3Storage, type S3StorageOptions } from '../sources/s3.js';
import { openUserFile, readChunks, readWholeFile } from '../sources/local/read.js';
import { writeOutput } from '../sources/local/write.js';

/** Largest manifest or report read (a shard report of a busy chain-year is tens of MB). */
const MAX_DOCUMENT_BYTES = 2 * 1024 ** 3;

/** Bytes read at a time from a local manifest, looking for a line. */
const LINE_CHUNK = 64 * 1024;

/** Longest manifest line read. */
const MAX_LINE_CHARS = 64 * 1024;

/** A parsed `s3://BUCKET/KEY`. */
export interface S3Location {
  /** The bucket. */
  bucket: string;
  /** The key (or key prefix). */
  key: string;
}

/**
 * Parse `s3://BUCKET/KEY`; undefined for anything else (a local path).
 * @param where - the location
 * @returns bucket and key, or undefined
 */
export function s3Location(where: string): S3Location | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(where);
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}

/**
 * A location inside a folder or key prefix.
 * @param where - a local folder or `s3://BUCKET/PREFIX`
 * @param name - the name inside it
 * @returns the location
 */
export function within(where: string, name: string): string {
  return s3Location(where) ? `${where.replace(/\/+$/, '')}/${name}` : join(where, name);
}

/** Reads and writes whole documents at local paths and S3 locations. */
export class DocumentStore {
  readonly #options: S3StorageOptions;
  #s3: S3Storage | undefined;

  /** @param options - for S3 locations: region, endpoint, profile */
  constructor(options: S3StorageOptions = {}) {
    this.#options = options;
  }

  #storage(): S3Storage {
    this.#s3 ??= new S3Storage(this.#options);
    return this.#s3;
  }

  /**
   * Read a document.
   * @param where - a local path or `s3://BUCKET/KEY`
   * @returns its text
   * @throws ValidateLogsError `SOURCE_ERROR` naming the location when it is absent or unreadable
   */
  async read(where: string): Promise<string> {
    const s3 = s3Location(where);
    if (!s3) {
      const read = await readWholeFile(where, MAX_DOCUMENT_BYTES); // a regular file only: never a FIFO or a device
      if (!('bytes' in read)) throw new ValidateLogsError('SOURCE_ERROR', `cannot read ${where}: ${read.why}`);
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(read.bytes);
      } catch {
        throw new ValidateLogsError('SOURCE_ERROR', `cannot read ${where}: not UTF-8 text`);
      }
    }
    const obj = await this.#storage().get(s3.bucket, s3.key);
    if (!obj) throw new ValidateLogsError('SOURCE_ERROR', `cannot read ${where}: no such object`);
    return new TextDecoder('utf-8', { fatal: true }).decode(await readAll(obj.body, { maxBytes: MAX_DOCUMENT_BYTES, what: where }));
  }

  /**
   * One line of a document (JSON Lines), read only as far as that line: a worker of a large
   * manifest reads its own line, not the whole manifest.
   * @param where - a local path or `s3://BUCKET/KEY`
   * @param index - the line's position among the non-blank lines, from 0
   * @returns the line, or undefined when the document has fewer lines
   * @throws ValidateLogsError `SOURCE_ERROR` naming the location when it is absent or unreadable
   */
  async readLine(where: string, index: number): Promise<string | undefined> {
    const s3 = s3Location(where);
    let body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    if (s3) {
      const obj = await this.#storage().get(s3.bucket, s3.key);
      if (!obj) throw new ValidateLogsError('SOURCE_ERROR', `cannot read ${where}: no such object`);
      body = obj.body;
    } else {
      const file = await openUserFile(where); // a regular file only: never a FIFO or a device
      if (!('fd' in file)) throw new ValidateLogsError('SOURCE_ERROR', `cannot read ${where}: ${file.why}`);
      body = readChunks(file.fd, new Uint8Array(0), where, LINE_CHUNK);
    }
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let n = 0;
    let partial = '';
    try {
      for await (const chunk of body) {
        const lines = (partial + decoder.decode(chunk, { stream: true })).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          if (line.trim() === '') continue;
          if (n++ === index) return line;
        }
        if (partial.length > MAX_LINE_CHARS) throw new ValidateLogsError('SHARD_INVALID', `${where} line ${n + 1} is longer than ${MAX_LINE_CHARS} characters`);
      }
    } catch (e) {
      if (e instanceof ValidateLogsError) throw e;
      throw new ValidateLogsError('SOURCE_ERROR', `cannot read ${where}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    partial += decoder.decode();
    return partial.trim() !== '' && n === index ? partial : undefined;
  }

  /**
   * Write a document whole, replacing any at that location.
   * @param where - a local path or `s3://BUCKET/KEY`
   * @param text - the document
   * @throws ValidateLogsError `SOURCE_ERROR` naming the location when it cannot be written,
   *   `OUTPUT_UNSAFE` when a local path is a symbolic link, a FIFO or a folder
   */
  async write(where: string, text: string): Promise<void> {
    const s3 = s3Location(where);
    if (!s3) return writeLocal(where, text);
    const sdk = await loadS3();
    const o = this.#options;
    const client = traceRequests(
      new sdk.S3Client({
        region: o.region ?? process.env.AWS_REGION ?? 'us-east-1',
        followRegionRedirects: true,
        ...(o.endpoint && { endpoint: o.endpoint, forcePathStyle: true }),
        ...(o.profile && { profile: o.profile }),
        ...(o.credentials && { credentials: o.credentials }),
        ...sdkHttpConfig(o.http),
      }),
      o.http,
      'S3',
    );
    try {
      await client.send(new sdk.PutObjectCommand({ Bucket: s3.bucket, Key: s3.key, Body: text, ContentType: 'application/json' }));
    } catch (e) {
      throw awsError(e, 'PutObject', where);
    } finally {
      client.destroy();
    }
  }

  /**
   * The documents in a folder or under a key prefix whose names end in `suffix`, sorted.
   * @param where - a local folder or `s3://BUCKET/PREFIX`
   * @param suffix - the ending of the names wanted
   * @returns their locations
   */
  async list(where: string, suffix: string): Promise<string[]> {
    const s3 = s3Location(where);
    if (!s3) {
      let names: string[];
      try {
        names = await readdir(where);
      } catch (e) {
        throw new ValidateLogsError('SOURCE_ERROR', `cannot list ${where}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
      }
      return names.filter((n) => n.endsWith(suffix) && !n.startsWith('.')).sort().map((n) => join(where, n));
    }
    const prefix = s3.key === '' || s3.key.endsWith('/') ? s3.key : `${s3.key}/`;
    const out: string[] = [];
    for await (const { key } of this.#storage().list(s3.bucket, prefix)) if (key.endsWith(suffix)) out.push(`s3://${s3.bucket}/${key}`);
    return out;
  }
}

/** Write a local file aside, flush it, and rename it into place (making its folder; never through a link). */
async function writeLocal(path: string, text: string): Promise<void> {
  try {
    await writeOutput(path, text, true); // nothing half-written is left behind
  } catch (e) {
    if (e instanceof ValidateLogsError) throw e;
    throw new ValidateLogsError('SOURCE_ERROR', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
  }
}
