/**
 * The page: pick or drop a folder, choose what to check, run it in a Worker, show the result.
 * Only the page's own files are ever fetched; the picked files are read by the Worker.
 * @module
 */
import { FINDING_CODES, FINDING_SEVERITY, type Finding, type Severity } from '../../src/chain/findings.js';
import { chainLevelCounts } from '../../src/chain/report.js';
import { checkJsonReport } from '../../src/report/document.js';
import { renderReportHtml } from '../../src/report/html.js';
import { parseUserTime, formatDigestTime } from '../../src/format/time.js';
import { commandLine } from './command.js';
import { discoverInSlices, trailArnOf, type Discovery, type FoundTrail } from './discover.js';
import { droppedFiles, openDropped, openInOrder, type DroppedFile, type EntryLike } from './folder.js';
import type { CheckpointInput, CheckpointPin, PickedFile, Progress, Report, ReportRequest, RunFiles, RunMessage, SentFile, WorkerMessage } from './protocol.js';
import { HOUR_STATES, timeline, type HourState } from './timeline.js';
import { afterFrame, inSlices, SLICE_MS, yieldToPage } from './slices.js';

declare const __VERSION__: string;

/** Most finding rows drawn at once; the filters narrow the rest. */
const MAX_ROWS = 500;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};

/** A file of the picked folder: picked through the file input (a `File`), or dropped (an entry, opened when a run needs it). */
type Picked = PickedFile | DroppedFile;

const isDropped = (f: Picked): f is DroppedFile => 'entry' in f;

/** The page's state between events. */
const state: {
  picked: Picked[];
  extraKeys: PickedFile[];
  found?: Discovery | undefined;
  worker?: Worker | undefined;
  report?: Report | undefined;
  command?: string | undefined;
  checkpoint?: File | undefined;
  checkpointKeys: File[];
} = { picked: [], extraKeys: [], checkpointKeys: [] };

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

function showError(message: string | undefined): void {
  const e = $('error');
  e.hidden = message === undefined;
  e.textContent = message ?? '';
}

// ---- picking -------------------------------------------------------------------------------

function optionLabel(t: FoundTrail): string {
  const n = `${t.digests} digest${t.digests === 1 ? '' : 's'}${t.backfillDigests ? ` + ${t.backfillDigests} backfill` : ''}`;
  return `${t.trailName} · account ${t.accountId} · ${t.region} · ${n} · ${t.startTime} to ${t.endTime} (${t.root.replace(/\/$/, '')})`;
}

/** Picks so far: a pick still being looked through gives way to a newer one. */
let picks = 0;

/**
 * Take a picked folder's files: look through them (a slice at a time: a folder of many thousand
 * files never holds the page's thread for long), then offer the trails found.
 */
async function picked(files: Picked[]): Promise<void> {
  const pick = ++picks;
  const stopped = (): boolean => pick !== picks;
  state.picked = files;
  state.found = undefined;
  $('setup').hidden = true;
  $('found').textContent = `Looking through ${files.length} files…`;
  const found = await discoverInSlices(files, stopped);
  if (!found || stopped()) return;
  state.found = found;
  $('found').textContent =
    found.trails.length === 0
      ? `${found.folder || 'The folder'}: ${found.files} files, and no CloudTrail digest file among them. Pick the bucket copy (it holds AWSLogs/) or the evidence folder.`
      : `${found.folder}: ${found.files} files; ${found.trails.length} trail region${found.trails.length === 1 ? '' : 's'} with digests; ${found.keyFiles.length} key list${found.keyFiles.length === 1 ? '' : 's'}.`;
  const select = $<HTMLSelectElement>('trail');
  select.replaceChildren(...found.trails.map((t, i) => el('option', { value: String(i) }, optionLabel(t))));
  const list = $('keyfile-list');
  list.replaceChildren(
    ...[...found.keyFiles.map((p) => ({ path: p, id: `k${p}` })), ...state.extraKeys.map((k) => ({ path: k.path, id: `x${k.path}` }))].map(({ path, id }, i) => {
      const p = el('p');
      const box = el('input', { type: 'checkbox', id: `keyfile-${i}`, 'data-key': id });
      box.checked = true;
      p.append(box, el('label', { for: `keyfile-${i}` }, path));
      return p;
    }),
  );
  if (list.childElementCount === 0) list.append(el('p', {}, 'None found in the folder: pick the key list above.'));
  $('setup').hidden = found.trails.length === 0;
  trailChosen();
}

/** The files of the folder input, with their paths, taken a slice at a time (then {@link picked}). */
async function pickedList(list: FileList | null): Promise<void> {
  const pick = ++picks;
  const files: PickedFile[] = [];
  $('setup').hidden = true;
  $('found').textContent = `Reading ${list?.length ?? 0} files…`;
  if (!(await inSlices(list ?? [], (file) => files.push({ path: file.webkitRelativePath || file.name, file }), { stopped: () => pick !== picks }))) return;
  if (pick === picks) await picked(files);
}

/**
 * A dropped folder: listed a batch of entries at a time (no long task however many files it
 * holds, where the file input's list is built in one), its files opened only when a run needs
 * them; then {@link picked}.
 */
async function pickedDrop(entries: EntryLike[]): Promise<void> {
  const pick = ++picks;
  $('setup').hidden = true;
  $('found').textContent = 'Reading the dropped folder…';
  try {
    const files = await droppedFiles(entries, () => pick !== picks);
    if (files && pick === picks) await picked(files);
  } catch (err) {
    if (pick === picks) showError(`The dropped folder could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function trailChosen(): void {
  const t = state.found?.trails[Number($<HTMLSelectElement>('trail').value)];
  if (!t) return;
  // From a checkpoint, the run starts at the digest it pins unless a start is given.
  $<HTMLInputElement>('start').value = state.checkpoint ? '' : t.startTime;
  $<HTMLInputElement>('end').value = t.endTime;
}

// ---- the checkpoint ------------------------------------------------------------------------

function checkpointChosen(file: File | undefined): void {
  state.checkpoint = file;
  const startBox = $<HTMLInputElement>('start');
  startBox.required = file === undefined;
  $('start-hint').hidden = file === undefined;
  const t = state.found?.trails[Number($<HTMLSelectElement>('trail').value)];
  if (file && startBox.value === t?.startTime) startBox.value = '';
  else if (!file && startBox.value === '' && t) startBox.value = t.startTime;
}

/** One name field per checkpoint key file: a PEM key does not carry the name it signs as. */
function checkpointKeysChosen(files: File[]): void {
  state.checkpointKeys = files;
  $('checkpoint-key-list').replaceChildren(
    ...files.map((f, i) => {
      const p = el('p');
      p.append(
        el('label', { for: `checkpoint-key-name-${i}` }, `Name that ${f.name} signs as (for a PEM key; a note key file carries its own)`),
        el('input', { type: 'text', id: `checkpoint-key-name-${i}`, autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. audit.example.com/daily' }),
      );
      return p;
    }),
  );
}

/** The checkpoint and its keys as the form holds them, or why they cannot be used. */
function checkpointInput(): CheckpointInput | string | undefined {
  const file = state.checkpoint;
  const typed = $<HTMLTextAreaElement>('checkpoint-key-text').value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (!file) return state.checkpointKeys.length > 0 || typed.length > 0 ? 'Checkpoint public keys are chosen but no checkpoint file: pick it, or remove the keys.' : undefined;
  const keys = [
    ...state.checkpointKeys.map((f, i) => {
      const name = $<HTMLInputElement>(`checkpoint-key-name-${i}`).value.trim();
      return { path: f.name, file: f, ...(name && { name }) };
    }),
    ...typed.map((text) => ({ path: text })),
  ];
  if (keys.length === 0) return `Give the public key(s) that must have signed the checkpoint ${file.name}.`;
  return { file: { path: file.name, file }, keys };
}

// ---- running -------------------------------------------------------------------------------

function running(on: boolean): void {
  $<HTMLButtonElement>('run').disabled = on;
  $<HTMLButtonElement>('cancel').disabled = !on;
  document.body.dataset.state = on ? 'running' : (state.report ? 'done' : 'idle');
}

/** The progress drawn at most this often, ms: each drawing is a frame's style, layout and paint. */
const PROGRESS_MS = 250;

/**
 * The progress of a run under way, drawn at most every {@link PROGRESS_MS} (the Worker reports it
 * every 100 ms): the latest is drawn when the time comes; nothing once the run has ended.
 */
function progressDrawer(running: () => boolean): { update(p: Progress, objects: number): void; stop(): void } {
  let latest: { p: Progress; objects: number } | undefined;
  let drawnAt = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const draw = (): void => {
    timer = undefined;
    if (!latest || !running()) return;
    drawnAt = performance.now();
    showProgress(latest.p, latest.objects);
    latest = undefined;
  };
  return {
    update(p, objects) {
      latest = { p, objects };
      if (timer !== undefined) return;
      const wait = drawnAt + PROGRESS_MS - performance.now();
      if (wait <= 0) draw();
      else timer = setTimeout(draw, wait);
    },
    stop() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      latest = undefined;
    },
  };
}

function showProgress(p: Progress, objects: number): void {
  const bar = $<HTMLProgressElement>('bar');
  const done = p.digestsDone + p.logsDone;
  bar.max = Math.max(1, objects);
  bar.value = Math.min(done, objects);
  const rate = (bytes: number): string => (p.elapsedMs > 0 ? bytes / 1e6 / (p.elapsedMs / 1000) : 0).toFixed(1);
  $('status').textContent =
    `${p.digestsDone} of ${p.digestsTotal} digest files and ${p.logsDone} log files checked: ` +
    `${mb(p.bytesRead)} MB read (${rate(p.bytesRead)} MB/s), ${mb(p.bytesVerified)} MB of logs hashed (${rate(p.bytesVerified)} MB/s)`;
}

/**
 * Hashing Workers a run starts: one per logical processor the browser reports (at least one;
 * `?workers=N` in the page's address overrides it, for tests and measurements).
 */
function hashWorkers(): number {
  const asked = Number(new URLSearchParams(location.search).get('workers') ?? NaN);
  if (Number.isInteger(asked) && asked >= 0 && asked <= 64) return asked;
  return Math.max(1, Math.min(64, navigator.hardwareConcurrency || 1));
}

function start(event: SubmitEvent): void {
  event.preventDefault();
  showError(undefined);
  const found = state.found;
  const t = found?.trails[Number($<HTMLSelectElement>('trail').value)];
  if (!found || !t) return showError('Pick a folder that holds digest files first.');
  const checkpoint = checkpointInput();
  if (typeof checkpoint === 'string') return showError(checkpoint);
  let startTime: string | undefined;
  let endTime: string;
  try {
    const from = $<HTMLInputElement>('start').value.trim();
    startTime = from === '' && checkpoint ? undefined : formatDigestTime(parseUserTime(from, 'From'));
    endTime = formatDigestTime(parseUserTime($<HTMLInputElement>('end').value, 'To'));
  } catch (e) {
    return showError((e as Error).message);
  }
  if (startTime !== undefined && startTime > endTime) return showError('"From" must not be after "To".');
  const chosen = new Set([...document.querySelectorAll<HTMLInputElement>('#keyfile-list input:checked')].map((b) => b.dataset.key));
  // The folder's key lists chosen, in the order they are offered (sorted by path), however the
  // folder came (their files are found by sendRun, in its pass over the folder), and any picked apart.
  const folderKeys = found.keyFiles.filter((p) => chosen.has(`k${p}`));
  const extraKeys = state.extraKeys.filter((k) => chosen.has(`x${k.path}`));
  if (folderKeys.length + extraKeys.length === 0) return showError('Choose a key list: the folder\'s public-keys.json, or what "aws cloudtrail list-public-keys" printed.');
  const bucket = $<HTMLInputElement>('bucket').value.trim();
  const trailArn = trailArnOf(t);
  const request: RunMessage = {
    type: 'run',
    version: __VERSION__,
    files: [], // sent ahead, in groups (sendRun)
    root: t.root,
    keyFiles: [], // opened and sent by sendRun
    trailArn,
    trail: {
      accountId: t.accountId,
      region: t.region,
      homeRegion: t.homeRegion,
      trailName: t.trailName,
      ...(t.prefix !== undefined && { prefix: t.prefix }),
      ...(t.organizationId !== undefined && { organizationId: t.organizationId }),
    },
    ...(bucket && { bucket }),
    ...(startTime !== undefined && { startTime }),
    endTime,
    ...(checkpoint && { checkpoint }),
    workers: hashWorkers(),
  };

  state.report = undefined;
  $('result').hidden = true;
  $('progress').hidden = false;
  const findings: Finding[] = [];
  let reportRequest: ReportRequest | undefined;
  let pin: CheckpointPin | undefined;
  let objects = 0;
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'validate-logs' });
  state.worker = worker;
  running(true);
  $('status').textContent = 'Starting…';
  const progress = progressDrawer(() => state.worker === worker);
  const stop = (): void => {
    progress.stop();
    // The run has ended: its Workers are ended in a task of their own (ending them takes the
    // page's thread a moment), not in the one that draws the verdict. Cancel ends them at once.
    setTimeout(() => worker.terminate(), 0);
    if (state.worker === worker) state.worker = undefined;
    running(false);
  };
  worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
    const m = e.data;
    if (m.type === 'started') {
      reportRequest = m.request;
      objects = m.objects;
      pin = m.checkpoint;
      return;
    }
    for (const f of m.findings) findings.push(f);
    if (m.type === 'progress') return progress.update(m.progress, objects);
    stop();
    if (m.type === 'failed') {
      $('status').textContent = 'Stopped.';
      return showError(`The check could not run: ${m.message}`);
    }
    showProgress(m.progress, objects);
    const bar = $<HTMLProgressElement>('bar');
    bar.value = bar.max;
    $('status').textContent += `, in ${(m.progress.elapsedMs / 1000).toFixed(1)} s. Done.`;
    state.report = { tool: 'validate-logs', version: request.version, request: reportRequest!, findings, ...m.tail };
    state.command = commandLine({
      trailArn,
      ...(startTime !== undefined && { startTime }),
      endTime: reportRequest!.endTime, // the end validated (a checkpoint may move it)
      root: t.root,
      bucket: reportRequest!.bucket,
      keyFiles: [...folderKeys, ...extraKeys.map((k) => k.path)],
      accountId: t.accountId,
      region: t.region,
      ...(t.prefix !== undefined && { prefix: t.prefix }),
      ...(t.organizationId !== undefined && { organizationId: t.organizationId }),
      ...(checkpoint && { checkpoint: { file: checkpoint.file.path, keys: checkpoint.keys.map((k) => ({ path: k.path, ...(k.name && { name: k.name }) })) } }),
    });
    running(false);
    void showResult(state.report, pin);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    stop();
    showError(`The check stopped: ${e.message || 'the worker could not start'}`);
  };
  void sendRun(worker, state.picked, request, folderKeys, extraKeys);
}

/** Files a {@link RunFiles} message carries: each costs the page's thread a moment to clone. */
const FILES_PER_MESSAGE = 2;

/**
 * Files of a dropped folder a {@link RunFiles} message carries: opened through its entry, a
 * `File` already holds its size and time, so cloning it asks the browser nothing (400 took
 * 2-3 ms here, against 140-320 ms for the file input's).
 */
const DROPPED_PER_MESSAGE = 64;

/** A file as it is sent to the run: a dropped one opened first (or the reason it could not be). */
const sendable = async (f: Picked): Promise<SentFile> => (isDropped(f) ? asSent(f, await openDropped(f)) : f);

const asSent = (f: DroppedFile, file: File | Error): SentFile => (file instanceof Error ? { path: f.path, unreadable: file.message || file.name } : { path: f.path, file });

/**
 * Send a run to its Worker: the files under the bucket root in groups, a slice of the page's
 * thread at a time (a dropped folder's opened as they are sent), then the request with its key
 * lists. Nothing more is sent once the run is cancelled. Nothing of it runs in the task of the
 * click: the folder's files (tens of thousands, maybe) are sorted out a slice at a time too.
 * @param folderKeys - paths of the folder's key lists chosen, in order
 * @param extraKeys - key lists picked apart from the folder
 */
async function sendRun(worker: Worker, picked: readonly Picked[], request: RunMessage, folderKeys: readonly string[], extraKeys: readonly PickedFile[]): Promise<void> {
  const stopped = (): boolean => state.worker !== worker;
  await yieldToPage();
  const under: Picked[] = [];
  const wanted = new Set(folderKeys);
  const keyByPath = new Map<string, Picked>();
  const sorted = await inSlices(
    picked,
    (f) => {
      if (f.path.startsWith(request.root)) under.push(f);
      if (wanted.has(f.path)) keyByPath.set(f.path, f);
    },
    { stopped },
  );
  if (!sorted || stopped()) return;
  // (A pick is either dropped or through the file input, never both.)
  const taken = under.some(isDropped) ? await sendDropped(worker, under.filter(isDropped), stopped) : await sendPicked(worker, under as PickedFile[], stopped);
  if (!taken || stopped()) return;
  const keys = [...folderKeys.filter((p) => keyByPath.has(p)).map((p) => keyByPath.get(p)!), ...extraKeys];
  const keyFiles = await Promise.all(keys.map(sendable));
  if (stopped()) return;
  worker.postMessage({ ...request, keyFiles } satisfies RunMessage);
}

/** The file input's files under the bucket root, {@link FILES_PER_MESSAGE} a message; false when stopped. */
async function sendPicked(worker: Worker, under: readonly PickedFile[], stopped: () => boolean): Promise<boolean> {
  let group: PickedFile[] = [];
  const send = (): void => {
    worker.postMessage({ type: 'files', files: group } satisfies RunFiles);
    group = [];
  };
  const taken = await inSlices(
    under,
    (f) => {
      group.push(f);
      if (group.length === FILES_PER_MESSAGE) send();
    },
    { check: FILES_PER_MESSAGE, stopped },
  );
  if (taken && group.length > 0) send();
  return taken;
}

/** A dropped folder's files under the bucket root, opened a few at once, {@link DROPPED_PER_MESSAGE} a message; false when stopped. */
async function sendDropped(worker: Worker, under: readonly DroppedFile[], stopped: () => boolean): Promise<boolean> {
  const opener = openInOrder(under);
  let group: SentFile[] = [];
  let until = performance.now() + SLICE_MS;
  for (let i = 0, p = opener.next(); p; i++, p = opener.next()) {
    group.push(asSent(under[i]!, await p));
    if (stopped()) return false;
    if (group.length === DROPPED_PER_MESSAGE) {
      worker.postMessage({ type: 'files', files: group } satisfies RunFiles);
      group = [];
    }
    if (performance.now() >= until) {
      await yieldToPage();
      if (stopped()) return false;
      until = performance.now() + SLICE_MS;
    }
  }
  if (group.length > 0) worker.postMessage({ type: 'files', files: group } satisfies RunFiles);
  return true;
}

function cancel(): void {
  if (!state.worker) return;
  state.worker.terminate();
  state.worker = undefined;
  running(false);
  $('status').textContent = 'Cancelled: nothing was concluded.';
  $<HTMLButtonElement>('run').focus();
}

// ---- the result ----------------------------------------------------------------------------

function count(label: string, valid: number, invalid: number): HTMLElement {
  const total = valid + invalid;
  const p = el('p', { 'data-count': label });
  p.append(el('strong', {}, `${valid}/${total}`), ` ${label} valid`);
  if (invalid > 0) p.append(', ', el('strong', { class: 'bad' }, `${invalid}/${total}`), ` ${label} INVALID`);
  return p;
}

/**
 * Show a run's result: the verdict, the summary and the command at once (the verdict takes the
 * focus), then, each in a task of its own after a frame has drawn the part before ({@link
 * afterFrame}), the hours, the filters, and the findings (a year of hours, a hundred thousand
 * findings to tally, hundreds of rows: none of them built with the verdict or in the task
 * that lays out another part). The findings table's `data-drawn` is `true` once all of it is in.
 */
async function showResult(r: Report, pin: CheckpointPin | undefined): Promise<void> {
  $('findings').dataset.drawn = 'false';
  $('result').hidden = false;
  const verdict = $('verdict');
  verdict.dataset.ok = String(r.ok);
  const invalid = r.findings.filter((f) => f.severity === 'invalid').length;
  // An empty range is "nothing to validate" only when no finding fails it (a rollback leaves no digest in range).
  verdict.textContent = r.ok
    ? 'Valid: every digest and log file in range is intact.'
    : r.empty && invalid === 0
      ? 'Nothing to validate: no digest file of this trail in range.'
      : `INVALID: ${invalid} finding${invalid === 1 ? '' : 's'} below.`;
  const s = r.summary;
  const summary = $('summary');
  summary.replaceChildren(
    el('p', {}, `Results requested for ${r.request.startTime} to ${r.request.endTime}; found for ${r.found ? `${r.found.startTime} to ${r.found.endTime}` : 'no valid digest'}. Bucket ${r.request.bucket}, trail ${r.request.trailArn}, region ${r.request.region}.`),
    count('digest files', s.digests.valid, s.digests.invalid),
    ...(s.backfillDigests.valid + s.backfillDigests.invalid > 0 ? [count('backfill digest files', s.backfillDigests.valid, s.backfillDigests.invalid)] : []),
    count('log files', s.logs.valid, s.logs.invalid),
    ...(s.objects.invalid > 0 ? [count('other objects', s.objects.valid, s.objects.invalid)] : []),
    ...(s.gaps > 0 ? [el('p', { 'data-count': 'gaps' }, `${s.gaps} gap${s.gaps === 1 ? '' : 's'} in the chain (logging stopped and restarted).`)] : []),
    // What the counts of valid files cannot show: each chain-level finding the verdict rests on.
    ...chainLevelCounts(s).map((c) => {
      const p = el('p', { 'data-chain': c.code });
      p.append(el('strong', { class: 'bad' }, `${c.count} ${c.code}`), ` INVALID: ${c.meaning}`);
      return p;
    }),
  );
  summary.dataset.summary = JSON.stringify(s);
  const info = $('checkpoint-info');
  info.hidden = pin === undefined;
  info.textContent = pin
    ? `From checkpoint ${pin.file}, signed by ${pin.signedBy.join(', ')}: it pins s3://${pin.bucket}/${pin.key} (ending ${pin.endTime}, SHA-256 ${pin.sha256}); ` +
      (r.findings.some((f) => f.code === 'CHECKPOINT_MISMATCH' || f.code === 'CHECKPOINT_ROLLBACK')
        ? 'the chain does NOT lead back to it: see the CHECKPOINT findings.'
        : 'the chain leads back to it, and what it vouched for was not read again.')
    : '';
  $<HTMLTextAreaElement>('command').value = state.command ?? '';
  // The focus lays the page out at once: before the hours and rows are in it.
  $('timeline').replaceChildren();
  $('findings').querySelector('tbody')!.replaceChildren();
  verdict.focus();
  await afterFrame();
  if (state.report !== r) return; // another run has begun

  const hours = timeline(r.findings, new Date(r.request.startTime), new Date(r.request.endTime));
  $('timeline').replaceChildren(
    ...hours.map((h) => {
      const text = `${h.start.slice(0, 13).replace('T', ' ')}:00 UTC, ${HOUR_STATES[h.state]}${h.problems ? ` (${h.problems} finding${h.problems === 1 ? '' : 's'})` : ''}`;
      // Hours that need a look are tab stops (a year of valid hours would be thousands of them).
      const li = el('li', { 'data-state': h.state, 'data-hour': h.start, title: text, 'aria-label': text, ...(h.state !== 'valid' && h.state !== 'none' && { tabindex: '0' }) });
      if (h.digest) li.dataset.digest = h.digest;
      return li;
    }),
  );
  const day = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
  $('axis').textContent = `${day(hours[0]!.start)} to ${day(r.request.endTime)}: ${hours.length} hour${hours.length === 1 ? '' : 's'}, oldest first`;
  const tally = new Map<HourState, number>();
  for (const h of hours) tally.set(h.state, (tally.get(h.state) ?? 0) + 1);
  $('legend').replaceChildren(
    ...(Object.keys(HOUR_STATES) as HourState[]).filter((k) => tally.has(k)).map((k) => {
      const li = el('li');
      li.append(el('span', { class: 'swatch', 'data-state': k, 'aria-hidden': 'true' }), ` ${tally.get(k)} ${HOUR_STATES[k]}`);
      return li;
    }),
  );

  await afterFrame();
  if (state.report !== r) return;

  // The codes and severities present, in one pass over what may be a hundred thousand findings.
  const presentCodes = new Set<string>();
  const presentSeverities = new Set<Severity>();
  for (const f of r.findings) {
    presentCodes.add(f.code);
    presentSeverities.add(f.severity);
  }
  const codes = FINDING_CODES.filter((c) => presentCodes.has(c));
  const severities = (['invalid', 'notice', 'valid'] as Severity[]).filter((v) => presentSeverities.has(v));
  $('f-code').replaceChildren(el('option', { value: '' }, 'all codes'), ...codes.map((c) => el('option', { value: c }, `${c} (${FINDING_SEVERITY[c]})`)));
  $('f-severity').replaceChildren(el('option', { value: '' }, 'all'), ...severities.map((v) => el('option', { value: v }, v)));
  $<HTMLSelectElement>('f-severity').value = severities.includes('invalid') ? 'invalid' : '';
  $<HTMLInputElement>('f-object').value = '';
  await afterFrame();
  if (state.report !== r) return;
  showFindings();
}

/**
 * Finding rows added a frame: the frame lays out every row added, about half a millisecond each
 * on a quiet machine, several times that on a loaded one (the first 25 at once, with the filters,
 * made a frame of 90 ms there).
 */
const ROWS_PER_FRAME = 10;

/** Drawings of the findings table so far: a newer one (a filter changed) stops an older one. */
let drawings = 0;

/**
 * Draw the findings that match the filters (up to {@link MAX_ROWS}): the first few at once, the
 * rest a slice at a time, so that building and laying out hundreds of rows never holds the
 * page's thread for long. The table's `data-drawn` is `true` once every row is in.
 */
function showFindings(): void {
  const r = state.report;
  if (!r) return;
  const drawing = ++drawings;
  const severity = $<HTMLSelectElement>('f-severity').value;
  const code = $<HTMLSelectElement>('f-code').value;
  const object = $<HTMLInputElement>('f-object').value.trim().toLowerCase();
  const shown: Finding[] = [];
  let matched = 0;
  for (const f of r.findings) {
    if ((severity && f.severity !== severity) || (code && f.code !== code) || (object && !f.object.toLowerCase().includes(object))) continue;
    matched++;
    if (shown.length < MAX_ROWS) shown.push(f);
  }
  const row = (f: Finding): HTMLTableRowElement => {
    const tr = el('tr', { 'data-code': f.code, 'data-severity': f.severity, 'data-object': f.object });
    tr.append(
      el('td', { class: `sev-${f.severity}` }, f.severity),
      el('td', {}, f.code),
      el('td', { class: 'object' }, f.object),
      el('td', { class: 'value' }, f.expected ?? ''),
      el('td', { class: 'value' }, f.actual ?? ''),
      el('td', {}, f.message),
    );
    return tr;
  };
  const table = $('findings');
  const body = table.querySelector('tbody')!;
  table.dataset.drawn = 'false';
  body.replaceChildren(...shown.slice(0, ROWS_PER_FRAME).map(row));
  $('shown').textContent =
    matched > shown.length ? `Showing ${shown.length} of ${matched} matching findings (of ${r.findings.length}); narrow the filters to see the rest.` : `${matched} of ${r.findings.length} findings shown.`;
  const rest = shown.slice(ROWS_PER_FRAME);
  const done = (): void => void (table.dataset.drawn = 'true');
  if (rest.length === 0) return done();
  const groups: Finding[][] = [];
  for (let i = 0; i < rest.length; i += ROWS_PER_FRAME) groups.push(rest.slice(i, i + ROWS_PER_FRAME));
  void (async () => {
    await afterFrame();
    if (drawing !== drawings) return;
    // A group a frame, never more: the frame lays out the rows its script added, which costs far
    // more than building them, so a time budget for the script alone would let a frame take
    // dozens of rows and lay them out in one long task. Each group is built in a task of its own
    // after a frame, not in the frame's callback: the next frame lays it out in another task.
    for (const g of groups) {
      body.append(...g.map(row));
      await afterFrame();
      if (drawing !== drawings) return;
    }
    done();
  })();
}

/** Offer the report as a file: the JSON report, or the auditor's HTML report made from it (the renderer `validate-logs report` uses). */
function download(kind: 'json' | 'html'): void {
  const r = state.report;
  if (!r) return;
  const body = kind === 'json' ? JSON.stringify(r, null, 1) + '\n' : renderReportHtml(checkJsonReport(JSON.parse(JSON.stringify(r))));
  const url = URL.createObjectURL(new Blob([body], { type: kind === 'json' ? 'application/json' : 'text/html' }));
  const a = el('a', { href: url, download: `validate-logs-${r.request.trailArn.split('/').pop()}-${r.request.region}-${r.request.startTime.replaceAll(':', '')}.${kind}` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function copyCommand(): Promise<void> {
  const box = $<HTMLTextAreaElement>('command');
  box.select();
  try {
    await navigator.clipboard.writeText(box.value);
    $('shown').textContent = 'The command is copied.';
  } catch {
    // The clipboard needs permission the page may not have; the text is selected for Ctrl+C.
    $('shown').textContent = 'The command is selected: press Ctrl+C (or ⌘C) to copy it.';
  }
}

// ---- wiring --------------------------------------------------------------------------------

function init(): void {
  $<HTMLInputElement>('folder').addEventListener('change', (e) => void pickedList((e.target as HTMLInputElement).files));
  $<HTMLInputElement>('keys').addEventListener('change', (e) => {
    state.extraKeys = [...((e.target as HTMLInputElement).files ?? [])].map((file) => ({ path: file.name, file }));
    if (state.picked.length > 0) void picked(state.picked); // offered beside the folder's own key lists
    else $('found').textContent = `${state.extraKeys.length} key list${state.extraKeys.length === 1 ? '' : 's'} chosen; now pick the folder.`;
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    // The entries are taken now: the drop's items are gone once its event has been handled.
    const entries = [...(e.dataTransfer?.items ?? [])].map((i) => i.webkitGetAsEntry()).filter((x): x is FileSystemEntry => x !== null);
    if (entries.length > 0) void pickedDrop(entries as unknown as EntryLike[]);
  });
  $('trail').addEventListener('change', trailChosen);
  $<HTMLInputElement>('checkpoint').addEventListener('change', (e) => checkpointChosen((e.target as HTMLInputElement).files?.[0]));
  $<HTMLInputElement>('checkpoint-keys').addEventListener('change', (e) => checkpointKeysChosen([...((e.target as HTMLInputElement).files ?? [])]));
  $<HTMLFormElement>('form').addEventListener('submit', start);
  $('cancel').addEventListener('click', cancel);
  for (const id of ['f-severity', 'f-code']) $(id).addEventListener('change', showFindings);
  $('f-object').addEventListener('input', showFindings);
  $('download').addEventListener('click', () => download('json'));
  $('download-html').addEventListener('click', () => download('html'));
  $('copy').addEventListener('click', () => void copyCommand());
  document.body.dataset.state = 'idle';
}

init();
