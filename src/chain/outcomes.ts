/**
 * The one table that turns the errors met while reading and decoding an object into findings
 * about that object. An error not in the table is not about the object (a bug, or storage that
 * cannot be listed at all) and stops the run.
 * @module
 */
import type { ErrorCode, ValidateLogsError } from '../errors.js';
import { READ_ATTEMPTS } from './schedule.js';
import type { FindingCode } from './findings.js';

/** What a failed read of an object says about it: its finding's code and message. */
export interface Outcome {
  /** The finding's code. */
  code: FindingCode;
  /** The finding's message. */
  message: string;
}

const unread = (e: ValidateLogsError): string =>
  e.transient ? `not verified: reading it failed ${READ_ATTEMPTS} times (${e.message})` : `not verified: ${e.message}`;

type Row = [FindingCode, (e: ValidateLogsError) => string];

const TABLE: Readonly<Record<'digest' | 'log', Partial<Record<ErrorCode, Row>>>> = {
  digest: {
    UNSAFE_KEY: ['DIGEST_NOT_FOUND', (e) => `not found (${e.message})`],
    GZIP_INVALID: ['DIGEST_INVALID_FORMAT', (e) => `invalid format: ${e.message}`],
    SIZE_LIMIT: ['DIGEST_INVALID_FORMAT', (e) => `invalid format: ${e.message}`],
    METADATA_INVALID: ['DIGEST_INVALID_FORMAT', (e) => `invalid format: ${e.message}`],
    DIGEST_FORMAT: ['DIGEST_INVALID_FORMAT', (e) => `invalid format: ${e.message}`],
    SIGNATURE_INVALID: ['DIGEST_SIGNATURE_INVALID', (e) => `signature verification failed: ${e.message}`],
    NOT_READABLE: ['DIGEST_UNREADABLE', unread],
    SOURCE_ERROR: ['DIGEST_UNREADABLE', unread],
  },
  log: {
    UNSAFE_KEY: ['LOG_NOT_FOUND', (e) => `not found (${e.message})`],
    GZIP_INVALID: ['LOG_INVALID_FORMAT', (e) => `invalid format: ${e.message}`],
    SIZE_LIMIT: ['LOG_TOO_LARGE', (e) => `not verified: ${e.message} (the limit; --max-log-size)`],
    NOT_READABLE: ['LOG_UNREADABLE', unread],
    SOURCE_ERROR: ['LOG_UNREADABLE', unread],
  },
};

/**
 * The finding an error means for the object being read.
 * @param kind - a digest or a log
 * @param error - the error
 * @returns its code and message, or undefined when the error is not about the object
 */
export function outcomeOf(kind: 'digest' | 'log', error: ValidateLogsError): Outcome | undefined {
  // A transient error reaches here only once its retries are spent.
  const row = TABLE[kind][error.code] ?? (error.transient ? TABLE[kind].SOURCE_ERROR : undefined);
  return row && { code: row[0], message: row[1](error) };
}
