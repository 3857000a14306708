/**
 * Where a watcher keeps its state: a local folder or an S3 prefix, laid out the same way.
 *
 * - `state.json`: the {@link WatchState}, replaced whole by a conditional write (locally under
 *   an exclusive `state.lock`, the version being the SHA-256 of the bytes read; in S3 a PutObject
 *   with `If-Match` on the ETag read, or `If-None-Match: *` for the first write).
 * - `history/YYYY-MM-DD.jsonl`: one {@link PassRecord} a line, the file chosen by the UTC day
 *   of the pass's `startedAt`.
 * - `checkpoint.note`: a copy of the state's signed checkpoint.
 *
 * Everything read back is hostile: read as a regular file only (never through a link, never
 * blocking on a FIFO), bounded, and checked against the shape written before it is used
 * (`STATE_INVALID` naming the file and what is wrong). The scope a state belongs to is exposed
 * as it was read; refusing another trail's state is the watcher's check.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { LocalStateStore } from './store-local.js';
import { S3StateStore } from './store-s3.js';
import type { StateStoreOptions } from './state-format.js';
import type { StateStore } from './types.js';

export * from './state-format.js';

/**
 * Open the state store at a location.
 * @param where - a local folder (made when absent) or `s3://BUCKET/PREFIX/`
 * @param options - for S3: endpoint, profile, region, connection options
 * @returns the store (nothing is read or written until it is used)
 * @throws ValidateLogsError `STATE_INVALID` for an `s3://` location without a bucket
 */
export function openStateStore(where: string, options: StateStoreOptions = {}): StateStore {
  if (/^s3:\/\//i.test(where)) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(where);
    if (!m || m[1] === '') throw new ValidateLogsError('STATE_INVALID', `${where} is not an S3 location: use s3://BUCKET/PREFIX/`);
    const prefix = m[2]! === '' || m[2]!.endsWith('/') ? m[2]! : `${m[2]!}/`;
    return new S3StateStore(where, m[1]!, prefix, options);
  }
  return new LocalStateStore(where);
}
