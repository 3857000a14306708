/**
 * The alerts of `validate-logs watch`, built from what a pass found: their keys (what "sent
 * once" means), their ids (what a receiver drops a repeat by), their severity, and the one line
 * a person reads in Slack or Teams.
 * @module
 */
import { sha256Hex } from '../hash/sha256.js';
import { encodeUtf8 } from '../utils.js';
import { createRequire } from 'node:module';
import { FINDING_SEVERITY, type Finding, type FindingCode } from '../chain/findings.js';
import type { Alert, AlertSeverity, AlertType, WatchCode, WatchScope } from './types.js';

let version: string | undefined;

/**
 * The tool an alert names: `validate-logs VERSION`, the version read from the package's own
 * package.json (as the CLI reads it, without loading the CLI).
 * @returns the tool's name and version
 */
export function alertTool(): string {
  if (version === undefined) {
    const require = createRequire(import.meta.url);
    version = (require('../../package.json') as { version: string }).version;
  }
  return `validate-logs ${version}`;
}

/**
 * The first 32 hex digits of the SHA-256 of a key: an alert's id.
 * @param key - the alert's key
 * @returns the id
 */
export function alertId(key: string): string {
  return sha256Hex(encodeUtf8(key)).slice(0, 32);
}

/**
 * Build an alert: its id from its key, and the tool that sends it.
 * @param fields - every field but `id` and `tool`
 * @returns the alert
 */
export function makeAlert(fields: Omit<Alert, 'id' | 'tool'>): Alert {
  return { id: alertId(fields.key), ...fields, tool: alertTool() };
}

/**
 * Join the parts of a key with `|`, each `\` and `|` inside a part escaped by a `\`, so that two
 * different lists of parts never give the same key (a region or object name holding `|` cannot
 * make one alert's key another's).
 * @param parts - the parts
 * @returns the key
 */
export function joinKey(parts: readonly string[]): string {
  return parts.map((p) => p.replace(/[\\|]/g, (c) => `\\${c}`)).join('|');
}

/**
 * The keys of the four alert types. A finding is keyed by where and what it is; an `overdue` by
 * the end time of the newest digest verified when it began (a later silence, after digests came
 * back, alerts again); an `error` by the time the failing began; a `recovered` by the id of the
 * alert whose condition it ends.
 */
export const alertKey = {
  /**
   * @param trail - the trail ARN
   * @param region - the chain's region
   * @param code - the finding's code
   * @param object - the finding's object
   * @returns `finding|trail|region|code|object`
   */
  finding: (trail: string, region: string, code: string, object: string): string => joinKey(['finding', trail, region, code, object]),
  /**
   * @param trail - the trail ARN
   * @param region - the chain's region
   * @param newestEnd - the end time of the chain's newest verified digest ('' when none was ever verified)
   * @returns `overdue|trail|region|CHAIN_OVERDUE|newestEnd`
   */
  overdue: (trail: string, region: string, newestEnd: string): string => joinKey(['overdue', trail, region, 'CHAIN_OVERDUE', newestEnd]),
  /**
   * @param trail - the trail ARN
   * @param region - the region that cannot be read ('' for the whole watcher)
   * @param since - when the failing began (ISO 8601)
   * @returns `error|trail|region|WATCH_ERROR|since`
   */
  error: (trail: string, region: string, since: string): string => joinKey(['error', trail, region, 'WATCH_ERROR', since]),
  /**
   * @param trail - the trail ARN
   * @param region - the region
   * @param code - `CHAIN_RECOVERED` or `WATCH_RECOVERED`
   * @param recovers - the id of the alert it ends
   * @returns `recovered|trail|region|code|recovers`
   */
  recovered: (trail: string, region: string, code: WatchCode, recovers: string): string => joinKey(['recovered', trail, region, code, recovers]),
} as const;

/** The severity of the codes that are not findings. */
const WATCH_SEVERITY: Readonly<Record<WatchCode, AlertSeverity>> = Object.freeze({
  CHAIN_OVERDUE: 'critical',
  WATCH_ERROR: 'warning',
  CHAIN_RECOVERED: 'info',
  WATCH_RECOVERED: 'info',
});

/**
 * How urgent an alert of a code is: every INVALID finding (a checkpoint's mismatch or rollback
 * among them) and silence are `critical`; a gap in the chain and a watcher that cannot read its
 * trail are `warning`; a recovery is `info`. A code this version does not know is `critical`
 * (an alert is never played down by being new).
 * @param code - a finding code or a {@link WatchCode}
 * @returns the severity
 */
export function alertSeverity(code: string): AlertSeverity {
  if (Object.hasOwn(WATCH_SEVERITY, code)) return WATCH_SEVERITY[code as WatchCode];
  if (!Object.hasOwn(FINDING_SEVERITY, code)) return 'critical';
  const severity = FINDING_SEVERITY[code as FindingCode];
  return severity === 'invalid' ? 'critical' : severity === 'notice' ? 'warning' : 'info';
}

/**
 * Whether a finding is worth an alert: every INVALID one and a gap in the chain; never a valid
 * object, nor a region with no digest in range (`CHAIN_EMPTY`: a quiet region, which silence,
 * `overdue`, covers).
 * @param f - the finding
 * @returns whether it alerts
 */
export function isAlerting(f: Pick<Finding, 'code'>): boolean {
  return Object.hasOwn(FINDING_SEVERITY, f.code) && (FINDING_SEVERITY[f.code] === 'invalid' || f.code === 'CHAIN_GAP');
}

/**
 * The alert of one finding.
 * @param f - the finding (an alerting one: {@link isAlerting})
 * @param scope - the watcher's scope (the trail and account)
 * @param detectedAt - when the pass found it
 * @returns the alert
 * @throws RangeError for a finding that never alerts
 */
export function findingAlert(f: Finding, scope: WatchScope, detectedAt: Date): Alert {
  if (!isAlerting(f)) throw new RangeError(`${f.code} is not an alerting finding`);
  const region = f.region ?? '';
  return makeAlert({
    key: alertKey.finding(scope.trailArn, region, f.code, f.object),
    type: 'finding',
    trail: scope.trailArn,
    account: scope.accountId,
    region,
    code: f.code,
    severity: alertSeverity(f.code),
    object: f.object,
    message: f.message,
    detectedAt: detectedAt.toISOString(),
    ...(f.expected !== undefined && { expected: f.expected }),
    ...(f.actual !== undefined && { actual: f.actual }),
  });
}

/**
 * The alert of a silent chain: its newest verified digest ended longer ago than allowed.
 * @param scope - the watcher's scope
 * @param region - the chain's region
 * @param folder - the chain's digest folder (`s3://BUCKET/.../CloudTrail-Digest/REGION/`)
 * @param newestEnd - the end time of the chain's newest verified digest (undefined: none ever)
 * @param detectedAt - when the pass found it
 * @returns the alert
 */
export function overdueAlert(scope: WatchScope, region: string, folder: string, newestEnd: string | undefined, detectedAt: Date): Alert {
  const since = newestEnd === undefined ? 'no digest was ever verified' : `the newest verified digest ended at ${newestEnd}`;
  return makeAlert({
    key: alertKey.overdue(scope.trailArn, region, newestEnd ?? ''),
    type: 'overdue',
    trail: scope.trailArn,
    account: scope.accountId,
    region,
    code: 'CHAIN_OVERDUE',
    severity: alertSeverity('CHAIN_OVERDUE'),
    object: folder,
    message: `No new digest in ${region}: ${since}; logging may have been stopped, or the newest digests deleted`,
    detectedAt: detectedAt.toISOString(),
    ...(newestEnd !== undefined && { newestDigestEnd: newestEnd }),
  });
}

/**
 * The alert of a watcher that could not read its trail for several passes in a row.
 * @param scope - the watcher's scope
 * @param region - the region that fails ('' for the whole watcher)
 * @param object - what could not be read (a digest folder, the bucket)
 * @param failing - how many passes failed, since when, and the last error
 * @param detectedAt - when the pass gave up
 * @returns the alert
 */
export function errorAlert(scope: WatchScope, region: string, object: string, failing: { failures: number; since: string; message: string }, detectedAt: Date): Alert {
  return makeAlert({
    key: alertKey.error(scope.trailArn, region, failing.since),
    type: 'error',
    trail: scope.trailArn,
    account: scope.accountId,
    region,
    code: 'WATCH_ERROR',
    severity: alertSeverity('WATCH_ERROR'),
    object,
    message: `The watcher could not read the trail for ${failing.failures} passes in a row since ${failing.since}: ${failing.message}`,
    detectedAt: detectedAt.toISOString(),
    failures: failing.failures,
  });
}

/**
 * The alert that ends an `overdue` or an `error`: digests flow again, or the trail can be read.
 * @param ended - the alert whose condition ended
 * @param detectedAt - when the pass saw it end
 * @param newestEnd - for an ended `overdue`: the end time of the digest that ended it
 * @returns the alert
 */
export function recoveredAlert(ended: Alert, detectedAt: Date, newestEnd?: string): Alert {
  const code: WatchCode = ended.type === 'error' ? 'WATCH_RECOVERED' : 'CHAIN_RECOVERED';
  const what = ended.type === 'error' ? 'The watcher reads the trail again' : `Digests arrive again in ${ended.region}`;
  return makeAlert({
    key: alertKey.recovered(ended.trail, ended.region, code, ended.id),
    type: 'recovered',
    trail: ended.trail,
    account: ended.account,
    region: ended.region,
    code,
    severity: alertSeverity(code),
    object: ended.object,
    message: `${what} (ends alert ${ended.id}, ${ended.code})`,
    detectedAt: detectedAt.toISOString(),
    recovers: ended.id,
    ...(newestEnd !== undefined && { newestDigestEnd: newestEnd }),
  });
}

/** The longest line {@link alertText} gives, in UTF-16 code units. */
export const ALERT_TEXT_MAX = 1000;

/** What each alert type is called in {@link alertText}. */
const TYPE_WORD: Readonly<Record<AlertType, string>> = { finding: 'finding', overdue: 'overdue', error: 'error', recovered: 'recovered' };

/**
 * One line for people (a Slack or Teams `text`): severity, code, where, the object, and the
 * message. Everything in it but the words of this function comes from storage, so it is made
 * harmless: control characters and line breaks become spaces, unpaired surrogates U+FFFD,
 * `&`, `<` and `>` are escaped as Slack requires (no `<!channel>` ping, no `<url|link>`), the
 * object is shown as code with any backtick in it replaced (so no formatting or link of a key
 * name renders), and the line is cut at {@link ALERT_TEXT_MAX} characters.
 * @param alert - the alert
 * @returns the line
 */
export function alertText(alert: Alert): string {
  const where = alert.region ? ` in ${alert.region}` : '';
  const object = alert.object ? ` \`${alert.object.replace(/`/g, "'")}\`` : '';
  const plain = `[${alert.severity.toUpperCase()}] ${alert.code} (${TYPE_WORD[alert.type] ?? 'alert'})${where}:${object} ${alert.message}`;
  const clean = plain
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  let out = '';
  for (const ch of clean) {
    const piece = ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch;
    if (out.length + piece.length > ALERT_TEXT_MAX - 1) return `${out}…`;
    out += piece;
  }
  return out;
}
