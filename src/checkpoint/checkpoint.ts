/**
 * The checkpoint body: what a validation run pins, as the text of a signed note. For each
 * chain it validated, the newest digest (where it is, when it ends, the SHA-256 of its
 * uncompressed bytes); then the SHA-256 of the run's report. A later run, or a witness,
 * checks that the chain it sees still leads back to exactly these digests.
 *
 * Grammar (ABNF, RFC 5234; every line ends in LF, fields are separated by one space):
 *
 * ```
 * checkpoint = header 1*chain report
 * header     = "validate-logs checkpoint v1" LF
 * chain      = "chain" SP trail-arn SP region SP bucket SP key SP end-time SP sha256 LF
 * report     = "report" SP sha256 LF
 * trail-arn  = "arn:" partition ":cloudtrail:" region ":" 12DIGIT ":trail/" trail-name
 * region     = 2LOWER 1*("-" 1*(LOWER / DIGIT)) "-" 1*DIGIT        ; us-east-1
 * bucket     = an S3 bucket name: 3 to 63 of a-z 0-9 . -
 * key        = the digest's object key: a CloudTrail digest key (not a backfill one) of the
 *              ARN's trail and of `region`, naming `end-time`, with no space or control character
 * end-time   = the digest's digestEndTime, YYYY-MM-DDTHH:MM:SSZ
 * sha256     = 64(DIGIT / %x61-66)                                ; lower-case hex
 * ```
 *
 * Chains appear sorted by trail ARN, then region (code-unit order), at most once each, so one
 * set of chains has exactly one body.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import type { ParsedDigest } from '../format/digest.js';
import { parseDigestKey, parseTrailArn } from '../format/keys.js';
import { formatDigestTime, parseDigestTime } from '../format/time.js';
import { encodeUtf8 } from '../utils.js';
import { signNote, verifyNote, type NoteOptions, type NoteSignerKey, type NoteVerifierKey, type SignedNote, type VerifiedNote } from './note.js';

/** The first line of a checkpoint body: the format and its version. */
export const CHECKPOINT_HEADER: string = 'validate-logs checkpoint v1';

/** The newest digest of one validated chain, as a checkpoint pins it. */
export interface CheckpointChain {
  /** The trail, `arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`. */
  readonly trailArn: string;
  /** The region whose chain this is. */
  readonly region: string;
  /** The bucket of the newest digest. */
  readonly bucket: string;
  /** The object key of the newest digest. */
  readonly key: string;
  /** Its `digestEndTime`, `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly endTime: string;
  /** Lower-case hex SHA-256 of its uncompressed bytes. */
  readonly sha256: string;
}

/** A checkpoint body. */
export interface Checkpoint {
  /** One entry per validated chain. */
  readonly chains: readonly CheckpointChain[];
  /** Lower-case hex SHA-256 of the run's report ({@link reportSha256}). */
  readonly reportSha256: string;
}

const SHA_RE = /^[0-9a-f]{64}$/;
const REGION_RE = /^[a-z]{2}(?:-[a-z0-9]+)+-\d+$/;
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const FIELD_RE = /^[^\s\p{Cc}]+$/u;

function fail(what: string, why: string, cause?: unknown): never {
  throw new ValidateLogsError('CHECKPOINT_FORMAT', `${what}: ${why}`, cause === undefined ? {} : { cause });
}

/** Check one chain entry; `where` names it in messages. */
function checkChain(c: CheckpointChain, where: string): void {
  let arn;
  try {
    arn = parseTrailArn(c.trailArn);
  } catch (e) {
    fail(where, `the trail ARN ${JSON.stringify(c.trailArn)} is not a trail ARN`, e);
  }
  if (!FIELD_RE.test(c.trailArn)) fail(where, 'the trail ARN contains a space or a control character');
  if (!REGION_RE.test(c.region)) fail(where, `${JSON.stringify(c.region)} is not a region name`);
  if (!BUCKET_RE.test(c.bucket)) fail(where, `${JSON.stringify(c.bucket)} is not a bucket name`);
  if (!FIELD_RE.test(c.key) || encodeUtf8(c.key).length > 1024) fail(where, 'the key is empty, longer than 1024 bytes, or contains a space or a control character');
  let key;
  try {
    key = parseDigestKey(c.key);
  } catch (e) {
    fail(where, `${JSON.stringify(c.key)} is not a digest key`, e);
  }
  if (key.backfill) fail(where, `${c.key} is a backfill digest; a checkpoint pins the newest digest of the standard chain`);
  if (key.region !== c.region) fail(where, `the key is of region ${key.region}, not ${c.region}`);
  if (key.trailName !== arn.trailName) fail(where, `the key is of trail ${key.trailName}, not ${arn.trailName}`);
  let end: Date;
  try {
    end = parseDigestTime(c.endTime, 'end time');
  } catch (e) {
    fail(where, `the end time ${JSON.stringify(c.endTime)} is not of the form YYYY-MM-DDTHH:MM:SSZ`, e);
  }
  if (formatDigestTime(end) !== c.endTime) fail(where, `the end time ${JSON.stringify(c.endTime)} is not canonical`);
  if (end.getTime() !== key.endTime.getTime()) fail(where, `the end time ${c.endTime} is not the one the key names (${formatDigestTime(key.endTime)})`);
  if (!SHA_RE.test(c.sha256)) fail(where, 'the SHA-256 is not 64 lower-case hex digits');
}

const order = (a: CheckpointChain, b: CheckpointChain): number =>
  a.trailArn < b.trailArn ? -1 : a.trailArn > b.trailArn ? 1 : a.region < b.region ? -1 : a.region > b.region ? 1 : 0;

/**
 * Write a checkpoint body (the text a note signs). Chains are sorted; each is checked.
 * @param checkpoint - the chains and the report's hash
 * @returns the body, ending in a newline
 * @throws ValidateLogsError `CHECKPOINT_FORMAT` naming the field that cannot be written (a
 *   key with a space, a chain given twice, no chain)
 * @example
 * ```ts
 * const body = formatCheckpoint({ chains: [checkpointChain(arn, 'us-east-1', 'bucket', newest)], reportSha256: reportSha256(report) });
 * ```
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const chains = [...checkpoint.chains].sort(order);
  if (chains.length === 0) fail('checkpoint', 'it has no chain');
  chains.forEach((c, i) => {
    checkChain(c, `checkpoint chain ${c.trailArn} ${c.region}`);
    if (i > 0 && order(chains[i - 1]!, c) === 0) fail('checkpoint', `chain ${c.trailArn} ${c.region} is given twice`);
  });
  if (!SHA_RE.test(checkpoint.reportSha256)) fail('checkpoint', 'the report SHA-256 is not 64 lower-case hex digits');
  const lines = chains.map((c) => `chain ${c.trailArn} ${c.region} ${c.bucket} ${c.key} ${c.endTime} ${c.sha256}\n`);
  return `${CHECKPOINT_HEADER}\n${lines.join('')}report ${checkpoint.reportSha256}\n`;
}

/**
 * Parse a checkpoint body strictly (see the grammar in this module's description): the
 * header, at least one chain line, sorted and without repeats, a report line, nothing else.
 * @param text - the body (the text of a verified note)
 * @param what - what it is, for messages (a file name)
 * @returns the checkpoint
 * @throws ValidateLogsError `CHECKPOINT_FORMAT` naming the line and what is wrong
 */
export function parseCheckpoint(text: string, what = 'checkpoint'): Checkpoint {
  if (!text.endsWith('\n')) fail(what, 'it does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== CHECKPOINT_HEADER) fail(what, `line 1 is not "${CHECKPOINT_HEADER}"`);
  const last = lines.at(-1)!;
  const report = /^report ([0-9a-f]{64})$/.exec(last);
  if (lines.length < 3 || !report) fail(what, `the last line (${lines.length}) is not "report" and a lower-case SHA-256`);
  const chains = lines.slice(1, -1).map((line, i): CheckpointChain => {
    const where = `${what} line ${i + 2}`;
    const f = line.split(' ');
    if (f[0] !== 'chain' || f.length !== 7) fail(where, 'not "chain" and six fields separated by single spaces');
    const [, trailArn, region, bucket, key, endTime, sha] = f as [string, string, string, string, string, string, string];
    const c = { trailArn, region, bucket, key, endTime, sha256: sha };
    checkChain(c, where);
    return c;
  });
  chains.forEach((c, i) => {
    if (i > 0 && order(chains[i - 1]!, c) >= 0) fail(`${what} line ${i + 2}`, 'chains are not sorted by trail ARN and region, or one is given twice');
  });
  return { chains, reportSha256: report![1]! };
}

/**
 * The checkpoint entry of a chain from its newest digest.
 * @param trailArn - the trail's ARN
 * @param region - the chain's region
 * @param bucket - where the digest was read
 * @param digest - the newest digest, parsed
 * @returns the entry (its key is the digest's own `digestS3Object`)
 */
export function checkpointChain(trailArn: string, region: string, bucket: string, digest: ParsedDigest): CheckpointChain {
  return { trailArn, region, bucket, key: digest.record.digestS3Object, endTime: digest.record.digestEndTime, sha256: digest.sha256 };
}

/**
 * Sign a checkpoint: its body as the text of a signed note.
 * @param checkpoint - the checkpoint, or a note already holding one (to add signatures to it)
 * @param signers - the keys that sign
 * @param options - the platform that signs
 * @returns the signed note text, to be written atomically
 * @throws ValidateLogsError `CHECKPOINT_FORMAT` when the checkpoint cannot be written
 */
export function signCheckpoint(checkpoint: Checkpoint | SignedNote, signers: readonly NoteSignerKey[], options: NoteOptions = {}): Promise<string> {
  return signNote('chains' in checkpoint ? formatCheckpoint(checkpoint) : checkpoint, signers, options);
}

/** A checkpoint read from its signed note. */
export interface OpenedCheckpoint {
  /** The note, with the signatures that verified. */
  readonly note: VerifiedNote;
  /** Its body. */
  readonly checkpoint: Checkpoint;
}

/**
 * Read a checkpoint file: verify the note against every given key, then parse its body.
 * @param note - the file's bytes (or text)
 * @param keys - the keys that must all have signed it
 * @param what - what it is, for messages (a file name)
 * @param options - the platform that verifies
 * @returns the verified note and the checkpoint
 * @throws ValidateLogsError `NOTE_FORMAT`, `NOTE_UNVERIFIED` (naming the key) or `CHECKPOINT_FORMAT`
 */
export async function openCheckpoint(note: Uint8Array | string, keys: readonly NoteVerifierKey[], what = 'checkpoint', options: NoteOptions = {}): Promise<OpenedCheckpoint> {
  const verified = await verifyNote(note, keys, what, options);
  return { note: verified, checkpoint: parseCheckpoint(verified.text, what) };
}
