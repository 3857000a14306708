/**
 * The contracts of `validate-logs watch`: the alert it sends, the state it keeps between passes,
 * the record each pass leaves in the history, and the two seams a pass talks to (where the
 * state is kept, where alerts go). Data only: every type here is plain JSON.
 * @module
 */

/** What an alert is about. */
export type AlertType = 'finding' | 'overdue' | 'error' | 'recovered';

/**
 * How urgent an alert is: `critical` for an INVALID finding, a rewrite or rollback, and silence
 * (`overdue`); `warning` for a notice (a gap in the chain) and a watcher that cannot read its
 * trail (`error`); `info` for `recovered`.
 */
export type AlertSeverity = 'critical' | 'warning' | 'info';

/** The code of an alert that is not about one finding. */
export type WatchCode = 'CHAIN_OVERDUE' | 'CHAIN_RECOVERED' | 'WATCH_ERROR' | 'WATCH_RECOVERED';

/**
 * One alert, as every destination receives it (one JSON object).
 */
export interface Alert {
  /**
   * Stable identifier: the first 32 hex digits of the SHA-256 of {@link Alert.key}. The same
   * condition always gets the same id, so a receiver can drop a repeat (sent twice only when the
   * watcher is killed between a destination's acknowledgement and the state write that records it).
   */
  id: string;
  /** What makes the alert unique: type, trail, region, code and object (and the episode, for overdue and error). */
  key: string;
  /** What the alert is about. */
  type: AlertType;
  /** The trail ARN. */
  trail: string;
  /** The account whose logs the chain holds. */
  account: string;
  /** The chain's region; empty for an alert about the whole watcher (`error` of the state itself). */
  region: string;
  /** The finding's code, or a {@link WatchCode}. */
  code: string;
  /** How urgent it is. */
  severity: AlertSeverity;
  /** The object: the finding's `s3://` URI, or the chain's digest folder. */
  object: string;
  /** One sentence saying what was found. */
  message: string;
  /** When the watcher found it (ISO 8601, UTC). */
  detectedAt: string;
  /** The finding's expected value, when it has one. */
  expected?: string;
  /** The finding's actual value, when it has one. */
  actual?: string;
  /** For `overdue` and `recovered`: the end time of the chain's newest verified digest. */
  newestDigestEnd?: string;
  /** For `error`: consecutive passes that failed. */
  failures?: number;
  /** For `recovered`: the id of the `overdue` or `error` alert whose condition ended. */
  recovers?: string;
  /** The tool that sent it: `validate-logs VERSION`. */
  tool: string;
}

/** The scope a state belongs to: a watcher refuses a state of another trail, bucket or account. */
export interface WatchScope {
  /** The trail ARN. */
  trailArn: string;
  /** The bucket. */
  bucket: string;
  /** The account folder. */
  accountId: string;
  /** The trail's key prefix, if any. */
  prefix?: string;
  /** The organization id, for an organization trail. */
  organizationId?: string;
}

/** What the watcher knows of one chain (one region of the trail). */
export interface ChainState {
  /** The chain's region. */
  region: string;
  /** End time of the newest digest verified valid (ISO 8601). */
  newestEnd?: string;
  /** Key of that digest. */
  newestKey?: string;
  /** When that digest was first verified. */
  verifiedAt?: string;
  /** Digest files verified valid, over every pass. */
  digests: number;
  /** Log files verified valid, over every pass. */
  logs: number;
  /** Findings by code in the newest pass (INVALID ones and notices). */
  findings: Record<string, number>;
  /** Set while the chain is overdue: since when, and the `overdue` alert's id. */
  overdue?: { since: string; alertId: string };
}

/** An alert one destination or more has not confirmed yet. */
export interface PendingAlert {
  /** The alert. */
  alert: Alert;
  /** The destinations ({@link AlertDestination.name}) still to confirm it. */
  destinations: string[];
  /** Failed attempts so far (over passes). */
  attempts: number;
}

/** An alert every destination confirmed. */
export interface SentAlert {
  /** {@link Alert.key}. */
  key: string;
  /** {@link Alert.id}. */
  id: string;
  /** {@link Alert.type}. */
  type: AlertType;
  /** When the last destination confirmed it. */
  sentAt: string;
}

/** The watcher's state between passes: one document, replaced whole by each conditional write. */
export interface WatchState {
  /** The document's format. */
  format: 'validate-logs-watch-state/1';
  /** What it belongs to. */
  scope: WatchScope;
  /** Where the first pass started (ISO 8601): the start of every chain no checkpoint pins yet. */
  start: string;
  /** The signed checkpoint (a C2SP signed note) pinning each chain's last verified head. */
  checkpoint?: string;
  /** Passes committed so far; the next pass is number `passes + 1`. */
  passes: number;
  /** Each chain, by region. */
  chains: Record<string, ChainState>;
  /** Alerts every destination confirmed, oldest first (the key is what "sent once" means). */
  sent: SentAlert[];
  /** Alerts decided but not yet confirmed by every destination: sent first by the next pass. */
  outbox: PendingAlert[];
  /** Set while passes fail: how many in a row, since when, the last error, and the `error` alert's id once sent. */
  failing?: { failures: number; since: string; message: string; alertId?: string };
  /** The newest pass's record (written to the history after the state: a restart writes it if missing). */
  lastPass?: PassRecord;
  /**
   * The state's own checkpoint key (a note signer key in text form), generated by the first pass
   * when no `--checkpoint-key` is given: a checkpoint then proves only as much as the state's
   * own access control.
   */
  ownKey?: string;
}

/** A digest a pass verified valid: the hour it covers and when it was delivered. */
export interface VerifiedDigest {
  /** The digest's key. */
  key: string;
  /** Its `digestStartTime`. */
  start: string;
  /** Its `digestEndTime`. */
  end: string;
  /** When storage says it was written (S3 LastModified, a file's mtime), when known. */
  delivered?: string;
}

/** One chain in a pass record. */
export interface PassChain {
  /** The region. */
  region: string;
  /** The pinned digest's end time the pass started from, when a checkpoint pinned one. */
  from?: string;
  /** The newest verified digest's end time after the pass. */
  to?: string;
  /** Digest files verified valid in this pass. */
  digests: number;
  /** Log files verified valid in this pass. */
  logs: number;
  /** INVALID findings in this pass. */
  invalid: number;
  /** Notices (gaps) in this pass. */
  notices: number;
  /** Findings by code (INVALID ones and notices). */
  byCode: Record<string, number>;
  /** Every digest verified valid in this pass. */
  verified: VerifiedDigest[];
}

/** One line of the history: what a pass did. */
export interface PassRecord {
  /** The line's format. */
  format: 'validate-logs-watch-pass/1';
  /** The pass's number (1, 2, ...). */
  pass: number;
  /** When it started (ISO 8601). */
  startedAt: string;
  /** When it ended. */
  endedAt: string;
  /** `valid`: everything new verified; `invalid`: a finding; `error`: the trail could not be read. */
  status: 'valid' | 'invalid' | 'error';
  /** For `error`: what failed. */
  error?: string;
  /** The time range the pass asked for (the oldest start of its chains, and its end). */
  range: { start: string; end: string };
  /** Each chain. */
  chains: PassChain[];
  /** The canonical SHA-256 of the pass's report (findings and summary), as a checkpoint's `report` line has it. */
  reportSha256?: string;
  /** The SHA-256 of the checkpoint note the pass wrote, when it wrote one. */
  checkpointSha256?: string;
  /** Ids of the alerts the pass decided. */
  alerts: string[];
  /** The watcher's interval between passes (ms); absent for a single pass (`--once`). */
  intervalMs?: number;
}

/** A stored state and the version a conditional write must match. */
export interface LoadedState {
  /** The state. */
  state: WatchState;
  /** An opaque version (an S3 ETag, a generation number). */
  tag: string;
}

/**
 * Where a watcher keeps its state and history: a local folder or an S3 prefix. Every write of
 * the state is conditional, so that two watchers can never fork it.
 */
export interface StateStore {
  /** The location as the user gave it, for messages. */
  readonly where: string;
  /**
   * Read the state.
   * @returns the state and its version, or undefined when none was ever written
   * @throws ValidateLogsError `STATE_INVALID` when the stored document is not a state (malformed,
   *   too large, a FIFO or a link where it should be), `SOURCE_ERROR` when it cannot be read
   */
  load(): Promise<LoadedState | undefined>;
  /**
   * Replace the state if it is still at version `tag` (undefined: only if none exists yet).
   * @param state - the new state
   * @param tag - the version it replaces
   * @returns the new version
   * @throws ValidateLogsError `STATE_CONFLICT` naming the location when another writer got there first
   */
  save(state: WatchState, tag: string | undefined): Promise<string>;
  /**
   * Append a pass to the history; a pass already there (by number) is not written twice.
   * @param record - the pass
   */
  appendHistory(record: PassRecord): Promise<void>;
  /**
   * The history, oldest first.
   * @param from - only passes that started at or after this
   * @param to - only passes that started before this
   */
  readHistory(from?: Date, to?: Date): AsyncIterable<PassRecord>;
  /**
   * Write `checkpoint.note` beside the state: a copy of the state's checkpoint for witnesses
   * and for `validate-logs --checkpoint` (the state's copy is the one the watcher trusts).
   * @param text - the signed note
   */
  publishCheckpoint(text: string): Promise<void>;
}

/** One place alerts go. */
export interface AlertDestination {
  /** A stable name for the outbox that holds no secret (a webhook's URL hashed). */
  readonly name: string;
  /** How messages name it (no secret: scheme and host of a URL, a topic ARN, a bus name). */
  readonly label: string;
  /**
   * Deliver one alert, retrying with back-off.
   * @param alert - the alert
   * @param signal - stops the retries
   * @throws ValidateLogsError `ALERT_FAILED` naming the destination and why, after the last try
   */
  send(alert: Alert, signal?: AbortSignal): Promise<void>;
}
