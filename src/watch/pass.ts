/**
 * One pass of `validate-logs watch`, in the order a reader follows it:
 *
 * 1. {@link loadState}: read the state (or begin one), refusing a state of another scope;
 * 2. {@link deliverOutbox}: alerts an interrupted pass decided but did not deliver go first;
 * 3. {@link statePins}: open the state's checkpoint with its key, each pinned chain's digest;
 * 4. verify from the pins up to now, through the same region walks a run uses
 *    ({@link regionVerifier});
 * 5. {@link advanceChains}: each chain's newly verified digests, counts and findings;
 *    {@link choosePins}: the next checkpoint, by the rules of `--checkpoint-out`;
 * 6. {@link decideAlerts}: findings not alerted yet, silence (`overdue`), failing passes
 *    (`error`), and their end (`recovered`);
 * 7. commit the state with a conditional write, then append the pass to the history, publish
 *    `checkpoint.note`, and deliver the outbox, destination by destination.
 *
 * An alert decided is never lost: it is in the outbox of the state committed before any
 * destination hears of it, and leaves the outbox only once every destination confirmed it.
 * @module
 */
import { choosePins, type FinishedRun, type RunPin } from '../cli/checkpoint-run.js';
import { Progress } from '../cli/progress.js';
import { RegionRunner, type RegionRecord, type RegionSink } from '../cli/regions.js';
import type { Plan, Settings } from '../cli/plan.js';
import { StopError, UsageError } from '../cli/io.js';
import { openCheckpoint, signCheckpoint, type CheckpointChain } from '../checkpoint/checkpoint.js';
import { formatNoteSignerKey, generateNoteSignerKey, noteKeyLabel, parseNoteSignerKey, type NoteSignerKey } from '../checkpoint/note.js';
import { reportSha256 } from '../checkpoint/report-hash.js';
import { judgeRegions, type Judgement } from '../chain/report.js';
import { PublicKeySet } from '../crypto/keys.js';
import { ValidateLogsError } from '../errors.js';
import { digestFolder, s3Uri, type TrailRef } from '../format/keys.js';
import { formatDigestTime } from '../format/time.js';
import { sha256Hex } from '../hash/sha256.js';
import type { Platform } from '../platform/platform.js';
import type { ListedObject, ListOptions, ObjectSource } from '../sources/source.js';
import { encodeUtf8 } from '../utils.js';
import { alertSeverity, alertText, errorAlert, findingAlert, isAlerting, joinKey, makeAlert, overdueAlert, recoveredAlert } from './alerts.js';
import type { Alert, AlertDestination, ChainState, PassChain, PassRecord, StateStore, VerifiedDigest, WatchScope, WatchState } from './types.js';

/** The name the state's own checkpoint key signs with. */
export const OWN_KEY_NAME = 'validate-logs-watch/state';

/** Findings of one code in one chain alerted one by one in a pass; the rest are one alert that counts them. */
export const MAX_ALERTS_PER_CODE = 20;

/** What the trail's walk of one pass found. */
export interface TrailVerification {
  /** The regions walked, in order. */
  regions: readonly string[];
  /** Each region's findings and chain ends, in the same order. */
  records: readonly RegionRecord[];
  /** The judgement of the regions (a region with no digest is no failure: silence is `overdue`). */
  judgement: Judgement;
  /** When each digest listed was delivered (its storage time), by key. */
  delivered: ReadonlyMap<string, Date>;
}

/** What a pass asks the walk: each pinned region from its pin, every other region from `start`, up to `end`. */
export interface VerifyRequest {
  /** Where a region no checkpoint pins starts. */
  start: Date;
  /** The end of the range: now. */
  end: Date;
  /** The digests the state's checkpoint pins, by region. */
  pins: ReadonlyMap<string, RunPin>;
}

/**
 * Walk the trail for a pass.
 * @param request - the range and the pins
 * @param signal - abandons the walk
 * @returns what the walk found
 * @throws whatever the source throws when the trail cannot be read
 */
export type VerifyTrail = (request: VerifyRequest, signal?: AbortSignal) => Promise<TrailVerification>;

/** The watcher's settings, read from its flags. */
export interface PassSettings {
  /** The trail, bucket and account folder the state belongs to. */
  scope: WatchScope;
  /** Where a first pass starts (the state's `start` when it is begun). */
  start: Date;
  /** Silence longer than this (in digest time) is `overdue`. */
  overdueMs: number;
  /** Consecutive failed passes before an `error` alert. */
  errorAfter: number;
  /** The interval between passes, recorded in each pass (absent with `--once`). */
  intervalMs?: number;
  /** `--checkpoint-key`: the key that signs the state's checkpoint (else the state's own key). */
  signer?: NoteSignerKey;
}

/** What a pass works with. */
export interface PassContext {
  /** Where the state and history are. */
  store: StateStore;
  /** Where alerts go. */
  destinations: readonly AlertDestination[];
  /** Walks the trail. */
  verify: VerifyTrail;
  /** The settings. */
  settings: PassSettings;
  /** The clock. */
  now: () => Date;
  /** Writes one line on stderr (without the command's prefix). */
  say: (line: string) => void;
  /** Stops the pass: a walk in progress is abandoned, a commit or delivery in progress finished. */
  signal?: AbortSignal;
  /** How long a delivery in progress may go on once the pass is stopped (default 3 s). */
  graceMs?: number;
}

/** How a pass ended. */
export interface PassOutcome {
  /** `stopped`: abandoned before its commit (nothing written). */
  status: PassRecord['status'] | 'stopped';
  /** The pass's record, once committed. */
  record?: PassRecord;
  /** The state after the pass. */
  state?: WatchState;
  /** Alerts still in the outbox (a destination failed after its retries). */
  undelivered: number;
}

/** A state and the version its next conditional write must match. */
interface Held {
  state: WatchState;
  tag: string | undefined;
}

/**
 * Run one pass: verify what arrived since the state's checkpoint, alert once, commit, record.
 * @param ctx - what the pass works with
 * @returns how it ended
 * @throws UsageError for a state of another scope; ValidateLogsError `STATE_CONFLICT` (another
 *   watcher wrote first; nothing written), `STATE_INVALID`, or the store's errors
 */
export async function runPass(ctx: PassContext): Promise<PassOutcome> {
  const startedAt = ctx.now();
  let held = await loadState(ctx.store, ctx.settings);
  await recordLastPass(ctx.store, held.state);
  held = await deliverOutbox(ctx, held);
  const signer = await stateSigner(held.state, ctx.settings.signer);
  const pins = await statePins(held.state, signer, ctx.store.where);
  const end = ctx.now();
  const request: VerifyRequest = { start: new Date(held.state.start), end, pins: toRunPins(pins.mine) };
  let verification: TrailVerification | undefined;
  let failure: string | undefined;
  try {
    verification = await ctx.verify(request, ctx.signal);
  } catch (e) {
    if (stoppedBy(e, ctx.signal)) return { status: 'stopped', state: held.state, undelivered: held.state.outbox.length };
    if (!isTrailFailure(e)) throw e;
    failure = e instanceof Error ? e.message : String(e);
  }
  if (ctx.signal?.aborted) return { status: 'stopped', state: held.state, undelivered: held.state.outbox.length };
  const next = structuredClone(held.state);
  next.passes += 1;
  if (!ctx.settings.signer && !next.ownKey) {
    next.ownKey = formatNoteSignerKey(signer);
    ctx.say(`the state's checkpoints are signed by its own key (${noteKeyLabel(signer)}), kept in the state: they prove the chains as far as the state's own access control (give --checkpoint-key for a key kept elsewhere)`);
  }
  const record: PassRecord = {
    format: 'validate-logs-watch-pass/1',
    pass: next.passes,
    startedAt: startedAt.toISOString(),
    endedAt: startedAt.toISOString(),
    status: 'error',
    range: { start: request.start.toISOString(), end: end.toISOString() },
    chains: [],
    alerts: [],
    ...(ctx.settings.intervalMs !== undefined && { intervalMs: ctx.settings.intervalMs }),
  };
  let alerts: Alert[];
  if (verification) {
    record.chains = advanceChains(next, verification, pins.mine, end);
    record.status = verification.judgement.ok ? 'valid' : 'invalid';
    const from = verification.regions.map((r) => (request.pins.get(r)?.endTime ?? request.start).getTime());
    if (from.length > 0) record.range.start = new Date(Math.min(...from)).toISOString();
    const findings = verification.records.flatMap((r) => r.findings);
    record.reportSha256 = reportSha256({ findings, summary: verification.judgement.summary });
    const run: FinishedRun = { trailArn: next.scope.trailArn, bucket: next.scope.bucket, regions: verification.regions, records: verification.records, judgement: verification.judgement };
    const choice = choosePins([...pins.mine.values()], run);
    if (choice.chains.length > 0) {
      next.checkpoint = await signCheckpoint({ chains: choice.chains, reportSha256: record.reportSha256 }, [signer]);
      record.checkpointSha256 = sha256Hex(encodeUtf8(next.checkpoint));
    }
    alerts = decideAlerts(next, { verification, pins: pins.mine, now: end }, ctx.settings);
  } else {
    record.error = failure!;
    alerts = decideAlerts(next, { failure: failure!, now: end }, ctx.settings);
  }
  // Moving to --checkpoint-key: the own key goes once no checkpoint it signed is left to open.
  if (ctx.settings.signer && (next.checkpoint === undefined || record.checkpointSha256 !== undefined)) delete next.ownKey;
  record.alerts = alerts.map((a) => a.id);
  record.endedAt = ctx.now().toISOString();
  next.lastPass = record;
  queueAlerts(next, alerts, ctx.destinations, record.endedAt);
  held = { state: next, tag: await commit(ctx.store, next, held.tag) };
  for (const a of alerts) ctx.say(`alert: ${alertText(a)}`);
  await ctx.store.appendHistory(record);
  if (next.checkpoint !== undefined && record.checkpointSha256 !== undefined) await ctx.store.publishCheckpoint(next.checkpoint);
  held = await deliverOutbox(ctx, held);
  ctx.say(passLine(record, alerts.length, held.state.outbox.length));
  return { status: record.status, record, state: held.state, undelivered: held.state.outbox.length };
}

/**
 * Read the state, or begin one: a state of another trail, bucket, account folder or prefix is
 * refused, naming both.
 * @param store - where it is
 * @param settings - the watcher's scope and first start
 * @returns the state and its version (undefined: none stored yet)
 * @throws UsageError for a state of another scope
 */
export async function loadState(store: StateStore, settings: PassSettings): Promise<Held> {
  const loaded = await store.load();
  if (!loaded) return { state: newState(settings), tag: undefined };
  const mismatch = scopeMismatch(loaded.state.scope, settings.scope);
  if (mismatch) throw new UsageError(`the state at ${store.where} belongs to ${describeScope(loaded.state.scope)}, not ${describeScope(settings.scope)} (${mismatch} differs): give another --state`);
  return { state: loaded.state, tag: loaded.tag };
}

/** A state no pass has written yet. */
function newState(settings: PassSettings): WatchState {
  return { format: 'validate-logs-watch-state/1', scope: settings.scope, start: settings.start.toISOString(), passes: 0, chains: {}, sent: [], outbox: [] };
}

/**
 * Which part of two scopes differs, if any.
 * @param stored - the state's scope
 * @param mine - the watcher's
 * @returns the differing field's name, or undefined when they are the same
 */
export function scopeMismatch(stored: WatchScope, mine: WatchScope): string | undefined {
  const fields = ['trailArn', 'bucket', 'accountId', 'prefix', 'organizationId'] as const;
  return fields.find((f) => (stored[f] ?? '') !== (mine[f] ?? ''));
}

/**
 * A scope in words.
 * @param s - the scope
 * @returns `trail ARN in s3://BUCKET/PREFIX/ (account ID)`
 */
export function describeScope(s: WatchScope): string {
  return `trail ${s.trailArn} in s3://${s.bucket}/${s.prefix ? `${s.prefix}/` : ''} (account ${s.accountId}${s.organizationId ? `, organization ${s.organizationId}` : ''})`;
}

/**
 * Refuse a state that is behind its own history: one put back from an older copy, or begun
 * again beside the history of another. Its passes would reuse numbers the history has (and the
 * history, which keeps a pass once, would drop their lines). Read at a watcher's start, from the
 * state's last pass on (or the last two days).
 * @param store - where the state and history are
 * @param state - the state read (`{ passes: 0 }` when there is none)
 * @param now - the present moment
 * @throws ValidateLogsError `STATE_INVALID` naming the newest pass of the history and the state's count
 */
export async function checkHistoryBehind(store: StateStore, state: Pick<WatchState, 'passes' | 'lastPass'>, now: Date): Promise<void> {
  const since = state.lastPass ? new Date(state.lastPass.startedAt) : new Date(now.getTime() - 2 * 24 * 3_600_000);
  let newest = 0;
  for await (const r of store.readHistory(since)) newest = Math.max(newest, r.pass);
  if (newest > state.passes) {
    throw new ValidateLogsError('STATE_INVALID', `the history at ${store.where} has pass ${newest}, the state only ${state.passes} passes: the state was put back or begun again beside an older history; nothing was written (move the history aside to begin again)`);
  }
}

/** A restart writes the state's last pass to the history when an interrupted pass did not (the history skips a pass it has). */
async function recordLastPass(store: StateStore, state: WatchState): Promise<void> {
  if (state.lastPass) await store.appendHistory(state.lastPass);
}

/** The key that signs the next checkpoint: `--checkpoint-key`, or the state's own key (made now if it has none). */
async function stateSigner(state: WatchState, given: NoteSignerKey | undefined): Promise<NoteSignerKey> {
  if (given) return given;
  if (state.ownKey === undefined) return generateNoteSignerKey(OWN_KEY_NAME);
  try {
    return await parseNoteSignerKey(state.ownKey);
  } catch (e) {
    throw new ValidateLogsError('STATE_INVALID', `the state's own checkpoint key is not a key: ${(e as Error).message}`, { cause: e });
  }
}

/** The chains the state's checkpoint pins, by region. */
interface StatePins {
  mine: Map<string, CheckpointChain>;
}

/**
 * Open the state's checkpoint with the key that signs it (or, moving from the state's own key to
 * `--checkpoint-key`, with the own key), and take the pins of the state's scope.
 * @param state - the state
 * @param signer - the key that signs the state's checkpoints
 * @param where - the state's location, for messages
 * @returns each pinned chain, by region
 * @throws ValidateLogsError `STATE_INVALID` when the checkpoint is not signed by the key, or
 *   pins a chain outside the state's scope
 */
export async function statePins(state: WatchState, signer: NoteSignerKey, where: string): Promise<StatePins> {
  const mine = new Map<string, CheckpointChain>();
  if (state.checkpoint === undefined) return { mine };
  const keys = [signer];
  if (state.ownKey !== undefined && formatNoteSignerKey(signer) !== state.ownKey) keys.push(await stateSigner(state, undefined));
  let chains: readonly CheckpointChain[] | undefined;
  let why = '';
  for (const key of keys) {
    try {
      chains = (await openCheckpoint(state.checkpoint, [key], `the checkpoint of the state at ${where}`)).checkpoint.chains;
      break;
    } catch (e) {
      if (!(e instanceof ValidateLogsError)) throw e;
      why = e.message;
    }
  }
  if (!chains) throw new ValidateLogsError('STATE_INVALID', `${why} (the key that signs it: ${noteKeyLabel(signer)})`);
  for (const c of chains) {
    const folder = digestFolder({ ...trailOfScope(state.scope), region: c.region });
    if (c.trailArn !== state.scope.trailArn || c.bucket !== state.scope.bucket || !c.key.startsWith(folder)) {
      throw new ValidateLogsError('STATE_INVALID', `the checkpoint of the state at ${where} pins ${s3Uri(c.bucket, c.key)}, outside the state's chains (s3://${state.scope.bucket}/${folder})`);
    }
    mine.set(c.region, c);
  }
  return { mine };
}

/** The checkpoint's pins as the region walks take them. */
function toRunPins(chains: ReadonlyMap<string, CheckpointChain>): Map<string, RunPin> {
  return new Map([...chains].map(([region, c]) => [region, { key: c.key, sha256: c.sha256, endTime: new Date(c.endTime), bucket: c.bucket }]));
}

/** The trail of a scope, as key paths name it (without a region). */
function trailOfScope(scope: WatchScope): { accountId: string; trailName: string; homeRegion: string; prefix?: string; organizationId?: string } {
  const [, , , homeRegion = '', , resource = ''] = scope.trailArn.split(':');
  return {
    accountId: scope.accountId,
    homeRegion,
    trailName: resource.replace(/^trail\//, ''),
    ...(scope.prefix && { prefix: scope.prefix }),
    ...(scope.organizationId && { organizationId: scope.organizationId }),
  };
}

/** The `s3://` URI of a chain's digest folder (the object of its `overdue` alerts). */
function chainFolder(scope: WatchScope, region: string): string {
  return s3Uri(scope.bucket, digestFolder({ ...trailOfScope(scope), region }));
}

/**
 * Take a walk's results into the state's chains: each chain's digests verified valid that are
 * newer than any verified before (a chain kept at its pin is walked again: what it verified
 * already is not counted twice), the logs they list, its findings by code.
 * @param state - the state, changed in place
 * @param v - what the walk found
 * @param pins - the pins the walk started from, by region
 * @param now - when the pass verified
 * @returns the pass's chains
 */
export function advanceChains(state: WatchState, v: TrailVerification, pins: ReadonlyMap<string, CheckpointChain>, now: Date): PassChain[] {
  return v.regions.map((region, i) => {
    const findings = v.records[i]!.findings;
    const chain: ChainState = (state.chains[region] ??= { region, digests: 0, logs: 0, findings: {} });
    const old = chain.newestEnd === undefined ? Number.NEGATIVE_INFINITY : Date.parse(chain.newestEnd);
    const pinKey = pins.get(region)?.key;
    const verified: VerifiedDigest[] = [];
    const uris = new Set<string>();
    const byCode: Record<string, number> = {};
    let invalid = 0;
    let notices = 0;
    for (const f of findings) {
      if (f.severity === 'invalid') invalid++;
      if (f.severity === 'notice') notices++;
      if (f.severity !== 'valid') byCode[f.code] = (byCode[f.code] ?? 0) + 1;
      if (f.code !== 'DIGEST_VALID' || f.backfill || f.key === pinKey || f.endTime === undefined || Date.parse(f.endTime) <= old) continue;
      const delivered = v.delivered.get(f.key);
      verified.push({ key: f.key, start: f.startTime ?? f.endTime, end: f.endTime, ...(delivered && { delivered: delivered.toISOString() }) });
      uris.add(f.object);
    }
    verified.sort((a, b) => Date.parse(a.end) - Date.parse(b.end));
    const logs = findings.filter((f) => f.code === 'LOG_VALID' && f.digest !== undefined && uris.has(f.digest)).length;
    const newest = verified.at(-1);
    if (newest) Object.assign(chain, { newestEnd: newest.end, newestKey: newest.key, verifiedAt: now.toISOString() });
    chain.digests += verified.length;
    chain.logs += logs;
    chain.findings = byCode;
    const pin = pins.get(region);
    return {
      region,
      ...(pin && { from: pin.endTime }),
      ...(chain.newestEnd !== undefined && { to: chain.newestEnd }),
      digests: verified.length,
      logs,
      invalid,
      notices,
      byCode,
      verified,
    };
  });
}

/** What a pass found, for {@link decideAlerts}. */
export type PassFindings = { now: Date } & ({ verification: TrailVerification; pins: ReadonlyMap<string, CheckpointChain> } | { failure: string });

/**
 * Decide the pass's alerts, each once: every alerting finding whose key was never alerted;
 * `overdue` once for a chain whose newest verified digest ended more than `overdueMs` before
 * now, `recovered` once when it no longer is; `error` once at `errorAfter` consecutive failed
 * passes, `recovered` at the first good pass after it. The state's chains and `failing` are
 * updated in place (the alerts are queued by the caller).
 * @param state - the state after the walk (changed in place)
 * @param found - what the pass found, or why it failed
 * @param settings - the thresholds
 * @returns the new alerts
 */
export function decideAlerts(state: WatchState, found: PassFindings, settings: PassSettings): Alert[] {
  const known = new Set([...state.sent.map((s) => s.key), ...state.outbox.map((p) => p.alert.key)]);
  const out: Alert[] = [];
  const { scope } = state;
  const now = found.now;
  const add = (alert: Alert): Alert | undefined => {
    if (known.has(alert.key)) return undefined;
    known.add(alert.key);
    out.push(alert);
    return alert;
  };
  const root = s3Uri(scope.bucket, digestFolder({ ...trailOfScope(scope), region: 'REGION' }).replace(/REGION\/$/, ''));
  if ('failure' in found) {
    const failing = (state.failing ??= { failures: 0, since: now.toISOString(), message: found.failure });
    failing.failures += 1;
    failing.message = found.failure;
    if (failing.failures >= settings.errorAfter && failing.alertId === undefined) {
      const alert = add(errorAlert(scope, '', root, failing, now));
      if (alert) failing.alertId = alert.id;
    }
    return out;
  }
  if (state.failing) {
    const { alertId } = state.failing;
    if (alertId !== undefined) add(recoveredAlert({ ...errorAlert(scope, '', root, state.failing, now), id: alertId }, now));
    delete state.failing;
  }
  const { verification } = found;
  verification.regions.forEach((region, i) => {
    const counted = new Map<string, number>();
    const more = new Map<string, number>();
    for (const f of verification.records[i]!.findings) {
      if (!isAlerting(f)) continue;
      // The first findings of a code in walk order (newest first) alert one by one, known or
      // not: a chain walked again from the same pin finds the same ones first, so a flood of
      // findings is neither sent again nor dripped out a few at a time, and the state keeps
      // a bounded number of keys.
      const n = (counted.get(f.code) ?? 0) + 1;
      counted.set(f.code, n);
      if (n <= MAX_ALERTS_PER_CODE) add(findingAlert({ ...f, region }, scope, now));
      else more.set(f.code, (more.get(f.code) ?? 0) + 1);
    }
    const folder = chainFolder(scope, region);
    const from = found.pins.get(region)?.key ?? `start ${state.start}`;
    for (const [code, n] of more) {
      // Once for each count beyond the cap, from the same pin: said again only when it changes.
      add(
        makeAlert({
          key: joinKey(['finding', scope.trailArn, region, code, folder, 'more', from, String(n)]),
          type: 'finding',
          trail: scope.trailArn,
          account: scope.accountId,
          region,
          code,
          severity: alertSeverity(code),
          object: folder,
          message: `${n} more ${code} findings in ${region} than the ${MAX_ALERTS_PER_CODE} alerted one by one (run validate-logs over the range for every one)`,
          detectedAt: now.toISOString(),
        }),
      );
    }
  });
  for (const region of Object.keys(state.chains).sort()) overdue(state, state.chains[region]!, now, settings.overdueMs, add);
  return out;
}

/** `overdue` for a chain silent longer than `overdueMs` (a chain never verified: since the state's start), `recovered` once it is not. */
function overdue(state: WatchState, chain: ChainState, now: Date, overdueMs: number, add: (alert: Alert) => Alert | undefined): void {
  const silent = now.getTime() - Date.parse(chain.newestEnd ?? state.start) > overdueMs;
  const folder = chainFolder(state.scope, chain.region);
  if (silent && !chain.overdue) {
    const alert = add(overdueAlert(state.scope, chain.region, folder, chain.newestEnd, now));
    if (alert) chain.overdue = { since: now.toISOString(), alertId: alert.id };
  } else if (!silent && chain.overdue) {
    const ended = { ...overdueAlert(state.scope, chain.region, folder, undefined, now), id: chain.overdue.alertId };
    add(recoveredAlert(ended, now, chain.newestEnd));
    delete chain.overdue;
  }
}

/** Put the pass's alerts in the outbox, for every destination (with none, they are said on stderr only, and known as sent). */
function queueAlerts(state: WatchState, alerts: readonly Alert[], destinations: readonly AlertDestination[], at: string): void {
  for (const alert of alerts) {
    if (destinations.length === 0) state.sent.push({ key: alert.key, id: alert.id, type: alert.type, sentAt: at });
    else state.outbox.push({ alert, destinations: destinations.map((d) => d.name), attempts: 0 });
  }
}

/**
 * Replace the state if no other watcher wrote it since it was read.
 * @param store - where it is
 * @param state - the new state
 * @param tag - the version read
 * @returns the new version
 * @throws ValidateLogsError `STATE_CONFLICT`: another watcher wrote first, nothing was written
 */
async function commit(store: StateStore, state: WatchState, tag: string | undefined): Promise<string> {
  try {
    return await store.save(state, tag);
  } catch (e) {
    if (e instanceof ValidateLogsError && e.code === 'STATE_CONFLICT') {
      throw new ValidateLogsError('STATE_CONFLICT', `another watcher wrote the state at ${store.where} first; nothing was written`, { cause: e });
    }
    throw e;
  }
}

/**
 * Deliver the outbox, oldest alert first, destination by destination; the state is saved after
 * each confirmation, so that a watcher killed now repeats at most the one delivery it was
 * making (with the same alert id). A destination that fails after its retries is not tried
 * again in this pass; its alerts stay in the outbox for the next.
 * @param ctx - the pass
 * @param held - the state and its version
 * @returns the state and version after delivery
 */
export async function deliverOutbox(ctx: PassContext, held: Held): Promise<Held> {
  if (held.state.outbox.length === 0) return held;
  const byName = new Map(ctx.destinations.map((d) => [d.name, d]));
  const down = new Set<string>();
  const grace = graceSignal(ctx.signal, ctx.graceMs ?? 3000);
  let { state, tag } = held;
  for (const id of state.outbox.map((p) => p.alert.id)) {
    for (;;) {
      const pending = state.outbox.find((p) => p.alert.id === id);
      const name = pending?.destinations.find((n) => !down.has(n));
      if (!pending || name === undefined) break;
      const next = structuredClone(state);
      const mine = next.outbox.find((p) => p.alert.id === id)!;
      const destination = byName.get(name);
      if (!destination) {
        ctx.say(`alert ${id} was to go to a destination no longer given (${name}): dropped for it`);
      } else {
        try {
          await destination.send(pending.alert, grace);
        } catch (e) {
          if (!(e instanceof ValidateLogsError) && !(e instanceof Error && e.name === 'AbortError')) throw e;
          down.add(name);
          mine.attempts += 1;
          ctx.say(`alert ${id} not delivered to ${destination.label}: ${e.message}; kept for the next pass`);
          state = next;
          continue;
        }
      }
      mine.destinations = mine.destinations.filter((n) => n !== name);
      if (mine.destinations.length === 0) {
        next.outbox = next.outbox.filter((p) => p.alert.id !== id);
        next.sent.push({ key: mine.alert.key, id, type: mine.alert.type, sentAt: ctx.now().toISOString() });
      }
      tag = await commit(ctx.store, next, tag);
      state = next;
    }
  }
  // Failed attempts are counted in the state too (nothing else changed: one more write).
  if (down.size > 0) tag = await commit(ctx.store, state, tag);
  return { state, tag };
}

/** A signal that aborts `ms` after `signal` does: a delivery under way is finished, within bounds. */
function graceSignal(signal: AbortSignal | undefined, ms: number): AbortSignal | undefined {
  if (!signal) return undefined;
  const c = new AbortController();
  const later = (): void => void setTimeout(() => c.abort(signal.reason), ms).unref();
  if (signal.aborted) later();
  else signal.addEventListener('abort', later, { once: true });
  return c.signal;
}

/** Whether an error is the pass being stopped. */
function stoppedBy(e: unknown, signal: AbortSignal | undefined): boolean {
  return e instanceof StopError || (signal?.aborted === true && (e === signal.reason || (e instanceof Error && e.name === 'AbortError')));
}

/**
 * Whether an error means the trail could not be read (a failed pass, counted towards `error`),
 * rather than a defect: a data or storage error, a usage error of the trail's place (its folder
 * gone), an AWS SDK or network error.
 * @param e - the error
 * @returns true for a failed pass
 */
export function isTrailFailure(e: unknown): e is Error {
  if (e instanceof ValidateLogsError || e instanceof UsageError) return true;
  if (!(e instanceof Error)) return false;
  return '$metadata' in e || typeof (e as NodeJS.ErrnoException).code === 'string' || e.name === 'TimeoutError';
}

/** The line a pass says on stderr. */
function passLine(record: PassRecord, alerts: number, undelivered: number): string {
  const digests = record.chains.reduce((n, c) => n + c.digests, 0);
  const logs = record.chains.reduce((n, c) => n + c.logs, 0);
  const what =
    record.status === 'error'
      ? `the trail could not be read: ${record.error}`
      : `${digests} new digest${digests === 1 ? '' : 's'} and ${logs} log${logs === 1 ? '' : 's'} verified in ${record.chains.length} chain${record.chains.length === 1 ? '' : 's'}${record.status === 'invalid' ? ', something INVALID' : ''}`;
  const sent = alerts === 0 ? 'no new alert' : `${alerts} new alert${alerts === 1 ? '' : 's'}`;
  return `pass ${record.pass}: ${what}; ${sent}${undelivered > 0 ? `, ${undelivered} not delivered yet` : ''}`;
}

/** What {@link regionVerifier} needs: the plan and settings of a run, and a place for notes. */
export interface RegionVerifierOptions {
  /** The plan (where, which regions, which keys). */
  plan: Plan;
  /** The run's settings; `start` and `end` are each pass's. */
  settings: Settings;
  /** Writes a note on stderr. */
  note: (text: string) => void;
  /**
   * Optional: the platform of a pass, from the trail's regions it walks and its range (a local
   * copy's small pass runs without the hashing threads); the settings' platform otherwise.
   */
  platformFor?: (trails: readonly TrailRef[], start: Date, end: Date) => Platform;
}

/**
 * The trail's walk as `validate-logs` runs it (the same {@link RegionRunner}): each pinned region
 * from its pin (and it must link back to it), every other from the state's start, up to now; each
 * digest listing's storage times kept.
 * @param options - the plan and settings
 * @returns the walk
 */
export function regionVerifier(options: RegionVerifierOptions): VerifyTrail {
  return async (request, signal) => {
    const { plan } = options;
    const regions = [...plan.regions];
    for (const region of request.pins.keys()) if (plan.discovered && !regions.includes(region)) regions.push(region);
    if (plan.discovered) regions.sort();
    const platform = options.platformFor?.(regions.map((region) => ({ ...plan.trail, region })), request.start, request.end) ?? options.settings.platform;
    const settings: Settings = { ...options.settings, start: request.start, end: request.end, startText: formatDigestTime(request.start), endText: formatDigestTime(request.end), platform };
    const recorder = recordDeliveries(plan.source);
    const runner = new RegionRunner({
      plan: { ...plan, regions },
      settings,
      source: recorder.source,
      usedKeys: new PublicKeySet(plan.keys),
      progress: new Progress(() => undefined, false),
      note: options.note,
      ...(signal && { signal }),
      pins: request.pins,
      startAtPins: true,
      keep: true,
    });
    const results = await runner.run(QUIET);
    return { regions, records: runner.records(), judgement: judgeRegions(results, { allowEmpty: true, emptyRegionsAllowed: true }), delivered: recorder.delivered };
  };
}

/** A sink that writes nothing: the pass reads the records. */
const QUIET: RegionSink = { wants: () => false, finding: () => undefined, regionEnd: () => undefined };

/** Digest folders, as the walk lists them. */
const DIGEST_FOLDER = /\/CloudTrail-Digest\//;

/**
 * A source that keeps the storage time of every digest it lists (listing digests with details:
 * S3's listing has them anyway; a local copy's are its files' times).
 * @param inner - the source
 * @returns the source, and the times by key
 */
export function recordDeliveries(inner: ObjectSource): { source: ObjectSource; delivered: Map<string, Date> } {
  const delivered = new Map<string, Date>();
  const keep = (o: ListedObject): ListedObject => {
    if (o.lastModified) delivered.set(o.key, o.lastModified);
    return o;
  };
  const detailed = (prefix: string, options: ListOptions | undefined): ListOptions | undefined => (DIGEST_FOLDER.test(prefix) ? { ...options, details: true } : options);
  const source: ObjectSource = {
    async *list(bucket, prefix, startAfter, options) {
      for await (const o of inner.list(bucket, prefix, startAfter, detailed(prefix, options))) yield keep(o);
    },
    get: (bucket, key, options) => inner.get(bucket, key, options),
  };
  if (inner.listPages) {
    const pages = inner.listPages.bind(inner);
    source.listPages = async function* (bucket, prefix, startAfter, options) {
      for await (const page of pages(bucket, prefix, startAfter, detailed(prefix, options))) yield page.map(keep);
    };
  }
  if (inner.files) source.files = inner.files.bind(inner);
  if (inner.fileRoot) source.fileRoot = inner.fileRoot.bind(inner);
  if (inner.folders) source.folders = inner.folders.bind(inner);
  return { source, delivered };
}
