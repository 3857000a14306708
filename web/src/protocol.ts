/**
 * The messages between the page and its Worker. The page sends the run's files in groups
 * ({@link RunFiles}), then one {@link RunRequest}; the Worker answers with progress (findings in batches) and then exactly one `done` or `failed`.
 * Cancelling is terminating the Worker: it holds nothing that needs closing.
 * @module
 */
import type { Finding } from '../../src/chain/findings.js';
import type { Count, Summary } from '../../src/chain/report.js';
import type { FileLike } from './file-source.js';

/** A file of the picked folder with its path below the picked folder's parent. */
export interface PickedFile {
  /** `/`-separated path; the first segment is the picked folder. */
  path: string;
  /** The file. */
  file: FileLike;
}

/**
 * A file of a dropped folder that could not be opened when the run was sent (removed or changed
 * since the folder was listed): the Worker reads it as a file whose every read fails with
 * `unreadable`, so the run reports that object, not a stopped run.
 */
export interface UnopenedFile {
  /** `/`-separated path; the first segment is the picked folder. */
  path: string;
  /** Why it could not be opened (the browser's message). */
  unreadable: string;
}

/** A file as the page sends it: opened, or why it could not be. */
export type SentFile = PickedFile | UnopenedFile;

/** What to validate. */
export interface RunRequest {
  /** Message type. */
  type: 'run';
  /** The package version, for the report. */
  version: string;
  /** The picked folder's files under the bucket root (other files are not needed). */
  files: PickedFile[];
  /** Path of the bucket root, ending in `/`: a file's key is its path without it. */
  root: string;
  /** Key lists (`list-public-keys` output), by path or name. */
  keyFiles: PickedFile[];
  /** The trail's ARN, for the report. */
  trailArn: string;
  /** The trail region. */
  trail: { accountId: string; region: string; homeRegion: string; trailName: string; prefix?: string; organizationId?: string };
  /** The bucket the digests must name; when omitted, the bucket the newest digest names. */
  bucket?: string;
  /** Start of the range (ISO); with a checkpoint it may be omitted: the pinned digest's end. */
  startTime?: string;
  /** End of the range (ISO). */
  endTime: string;
  /** Objects verified at once. */
  concurrency?: number;
  /**
   * Hashing Workers started by the run's Worker, which read the picked files themselves (the
   * page: `navigator.hardwareConcurrency`); 0 or omitted: every file is hashed in the run's Worker.
   */
  workers?: number;
  /** A checkpoint an earlier run wrote, and the keys that must all have signed it. */
  checkpoint?: CheckpointInput;
}

/**
 * Files of the run, sent ahead of its {@link RunRequest} in groups: cloning a picked `File` into
 * a message costs the page's thread a moment each (Chromium asks for the file's size and time),
 * so the page sends a few at a time and gives its thread back between them. The Worker adds
 * them, in order, before the request's own `files`.
 */
export interface RunFiles {
  /** Message type. */
  type: 'files';
  /** The next files. */
  files: SentFile[];
}

/**
 * The request as the page sends it: its key lists may be files of a dropped folder that could
 * not be opened (the run then fails, naming the reason, as for a key list it cannot read).
 */
export type RunMessage = Omit<RunRequest, 'keyFiles'> & { keyFiles: SentFile[] };

/** Page to Worker: groups of files, then the request. */
export type PageMessage = RunFiles | RunMessage;

/** A checkpoint and its public keys, as picked on the page. */
export interface CheckpointInput {
  /** The checkpoint file (a signed note). */
  file: PickedFile;
  /** The keys that must all have signed it: at least one. */
  keys: CheckpointKeyInput[];
}

/**
 * A checkpoint public key: a file holding an Ed25519 public key in PEM (`openssl pkey -pubout`),
 * which needs the `name` it signs as, or note key text (`name+hexid+base64`), in a file or typed.
 */
export interface CheckpointKeyInput {
  /** The file's name, or the key text itself when typed. */
  path: string;
  /** The file; absent when the key text was typed (then it is `path`). */
  file?: FileLike;
  /** The key's name, for a PEM key. */
  name?: string;
}

/** What a verified checkpoint pins for the chosen chain, as the page shows it. */
export interface CheckpointPin {
  /** The checkpoint file's name. */
  file: string;
  /** The keys whose signatures verified (`name+hexid`). */
  signedBy: string[];
  /** The bucket of the pinned digest. */
  bucket: string;
  /** The pinned digest's object key. */
  key: string;
  /** Its end time. */
  endTime: string;
  /** The SHA-256 of its uncompressed bytes. */
  sha256: string;
}

/** Counters of a run under way. */
export interface Progress {
  /** Digests verified so far. */
  digestsDone: number;
  /** Digests listed in range so far. */
  digestsTotal: number;
  /** Log files verified so far. */
  logsDone: number;
  /** Stored bytes read so far. */
  bytesRead: number;
  /** Uncompressed bytes of the log files proven intact so far. */
  bytesVerified: number;
  /** Time since the run started, ms. */
  elapsedMs: number;
}

/** The request part of the JSON report (`schema/report.schema.json`): the command's. */
import type { ReportRequest } from '../../src/chain/report.js';
export type { ReportRequest };

/** The JSON report's counts (a {@link Summary} without its range and verdict). */
import type { ReportCounts, ReportTail } from '../../src/chain/report.js';

/** A summary's counts as the report writes them. */
export type Counts = ReportCounts;
export type { ReportTail };

/** The JSON report, as `validate-logs --output json` prints it. */
export interface Report extends ReportTail {
  /** Always `validate-logs`. */
  tool: 'validate-logs';
  /** Package version. */
  version: string;
  /** What was asked. */
  request: ReportRequest;
  /** Every finding, in report order. */
  findings: Finding[];
}

/** Worker to page. */
export type WorkerMessage =
  | { type: 'started'; request: ReportRequest; objects: number; checkpoint?: CheckpointPin }
  | { type: 'progress'; progress: Progress; findings: Finding[] }
  | { type: 'done'; progress: Progress; findings: Finding[]; tail: ReportTail }
  | { type: 'failed'; message: string; findings: Finding[] };

export type { Count, Summary, Finding };
