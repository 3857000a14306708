/**
 * The HTML report: one self-contained document an auditor can file, made from a run's JSON
 * report and nothing else (not the clock: the time it ran comes from the report), so that the
 * same JSON report always gives the same bytes. Styles inline, no script, no request outside
 * the file (a Content-Security-Policy says so to the browser too), the figure as inline SVG with
 * patterns and letters besides colours, A4 and Letter print rules. Every string that came from
 * storage (object keys, messages, expected and actual values) is escaped, stripped of
 * direction overrides and control characters (shown as visible marks), and bounded.
 * @module
 */
import { FINDING_SEVERITY, type Finding, type FindingCode } from '../chain/findings.js';
import type { ChainCoverage, HistoryAnswer, HourStatus } from '../watch/history.js';
import { historyAnswerSha256, invalidCodes, jsonReportSha256, type JsonReportDocument, type ReportRegion } from './document.js';
import { EN, type ControlFacts, type PeriodFacts, type ReportStrings } from './strings.js';
import { MAX_HOURS, timeline, type Hour, type HourState } from './timeline.js';

/** Most characters of one string from storage shown; the rest is said as a count. */
export const MAX_TEXT_CHARS: number = 512;
/** Most findings listed one by one (every one is counted by code). */
export const MAX_FINDINGS_LISTED: number = 500;
/** Most keys listed. */
export const MAX_KEYS_LISTED: number = 100;

/** The colours of a state: text on its tint, and the fill of the figure's cells. */
export interface StateColours {
  /** Text colour (on `background`: at least 4.5:1). */
  text: string;
  /** The tint behind the text (badges, legend). */
  background: string;
  /** The cell's fill in the figure. */
  fill: string;
}

/** Colours of each hour state and of the verdicts; text on background is WCAG AA (4.5:1) or better. */
export const STATE_COLOURS: Readonly<Record<HourState | 'verdictValid' | 'verdictInvalid', StateColours>> = Object.freeze({
  valid: { text: '#14532d', background: '#dcfce7', fill: '#4ade80' },
  invalid: { text: '#7f1d1d', background: '#fee2e2', fill: '#dc2626' },
  missing: { text: '#7c2d12', background: '#ffedd5', fill: '#fb923c' },
  rewritten: { text: '#581c87', background: '#f3e8ff', fill: '#a855f7' },
  gap: { text: '#1e3a8a', background: '#dbeafe', fill: '#93c5fd' },
  tail: { text: '#713f12', background: '#fef9c3', fill: '#facc15' },
  none: { text: '#374151', background: '#f3f4f6', fill: '#ffffff' },
  verdictValid: { text: '#14532d', background: '#dcfce7', fill: '#4ade80' },
  verdictInvalid: { text: '#7f1d1d', background: '#fee2e2', fill: '#dc2626' },
});

/** The order states are listed in (problems first). */
const STATE_ORDER: readonly HourState[] = ['invalid', 'missing', 'rewritten', 'tail', 'gap', 'none', 'valid'];

const MARKS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\ufff9-\ufffb]/gu;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A string from storage made safe to show: bounded to `max` characters (the rest said as a
 * count), invisible and direction-changing characters replaced by a visible `‹U+XXXX›`, lone
 * surrogates by U+FFFD, then HTML-escaped (`& < > " '`), so it can go in text or an attribute.
 * @param value - the string (anything else is shown as its JSON)
 * @param max - the most characters kept
 * @returns HTML text
 */
export function escapeText(value: unknown, max: number = MAX_TEXT_CHARS): string {
  let s = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  let more = '';
  if (s.length > max) {
    more = ` … (${(s.length - max).toLocaleString('en-US')} more characters)`;
    s = s.slice(0, max);
  }
  s = s.replace(LONE_SURROGATE, '\ufffd').replace(MARKS, (c) => `‹U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}›`);
  return (s + more).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const e = (v: unknown, max?: number): string => escapeText(v, max);
/** Our own words (strings.ts): escaped, never cut. */
const w = (v: string): string => escapeText(v, Infinity);

/** The CSS of the document: screen and print (A4 and Letter), black-and-white safe. */
const STYLE = `
@page { size: auto; margin: 16mm 14mm; }
:root { color: #111827; background: #fff; font: 10.5pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
body { max-width: 190mm; margin: 0 auto; padding: 8mm 4mm; }
h1 { font-size: 18pt; margin: 0 0 2mm; }
h2 { font-size: 13.5pt; margin: 7mm 0 2mm; border-bottom: 1px solid #6b7280; break-after: avoid; }
h3 { font-size: 11.5pt; margin: 5mm 0 1.5mm; break-after: avoid; }
p, li { margin: 1mm 0; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; font-size: 9.5pt; }
caption { text-align: left; font-weight: 600; padding: 1mm 0; }
th, td { border: 1px solid #9ca3af; padding: 1mm 1.5mm; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f3f4f6; }
tr, figure, .verdict, .keep { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 8.5pt; overflow-wrap: anywhere; }
pre { white-space: pre-wrap; border: 1px solid #9ca3af; padding: 2mm; background: #f9fafb; }
.verdict { border: 2px solid; padding: 3mm 4mm; margin: 3mm 0; }
.verdict strong.word { font-size: 15pt; letter-spacing: .04em; }
.verdict.ok { color: ${STATE_COLOURS.verdictValid.text}; background: ${STATE_COLOURS.verdictValid.background}; border-color: ${STATE_COLOURS.verdictValid.text}; }
.verdict.bad { color: ${STATE_COLOURS.verdictInvalid.text}; background: ${STATE_COLOURS.verdictInvalid.background}; border-color: ${STATE_COLOURS.verdictInvalid.text}; border-style: double; border-width: 4px; }
.badge { display: inline-block; padding: 0 1.5mm; border: 1px solid; font-weight: 600; }
${STATE_ORDER.map((s) => `.s-${s} { color: ${STATE_COLOURS[s].text}; background: ${STATE_COLOURS[s].background}; }`).join('\n')}
.sev-invalid { color: ${STATE_COLOURS.invalid.text}; background: ${STATE_COLOURS.invalid.background}; font-weight: 700; }
.sev-notice { color: ${STATE_COLOURS.gap.text}; background: ${STATE_COLOURS.gap.background}; }
figure { margin: 2mm 0; }
figcaption { font-size: 9pt; }
svg { max-width: 100%; height: auto; }
.legend td:first-child { width: 8mm; }
th[scope="row"] { width: 28%; }
.legend td:nth-child(2), .legend td:nth-child(4), .legend th { white-space: nowrap; }
.nw { white-space: nowrap; }
table.findings td:first-child { width: 22%; overflow-wrap: normal; }
table.findings { font-size: 8.5pt; }
.page { break-before: page; page-break-before: always; }
.small { font-size: 8.5pt; color: #374151; }
@media print { body { max-width: none; padding: 0; } a { color: inherit; text-decoration: none; } }
`;

/** A table's rows (cells already HTML), with a caption and header cells. */
function table(caption: string | undefined, head: readonly string[], rows: ReadonlyArray<readonly string[]>, cls = ''): string {
  const c = caption === undefined ? '' : `<caption>${caption}</caption>`;
  const th = head.map((h) => `<th scope="col">${h}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((d) => `<td>${d}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}>${c}<thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Label/value rows (labels as header cells). */
function facts(rows: ReadonlyArray<readonly [string, string]>): string {
  return `<table><tbody>\n${rows.map(([k, v]) => `<tr><th scope="row">${k}</th><td>${v}</td></tr>`).join('\n')}\n</tbody></table>`;
}

/** A time as the report shows it: `2025-01-08 05:00 UTC`. */
const when = (iso: string | undefined): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '');

/** Hours drawn as a figure: a chain's, named. */
interface Drawn {
  /** The chain's name (its region), as given (escaped when shown). */
  label: string;
  hours: Hour[];
  byState: Map<HourState, number>;
  /** The states its legend lists, and their words. */
  states: readonly HourState[];
  words: ReportStrings['hours'];
}

/** One chain's hours and counts. */
interface Chain extends Drawn {
  region: ReportRegion;
  findings: Finding[];
  /** Hours of the window (more than `hours` holds when the window is longer than the figure). */
  wanted: number;
}

/** The findings of each region, by the region each names (a finding naming none goes to the first region). */
function byRegion(doc: JsonReportDocument): Map<string, Finding[]> {
  const out = new Map<string, Finding[]>(doc.regions.map((r) => [r.region, []]));
  const first = doc.regions[0]?.region;
  for (const f of doc.findings) {
    const list = (f.region !== undefined ? out.get(f.region) : undefined) ?? (first !== undefined ? out.get(first) : undefined);
    list?.push(f);
  }
  return out;
}

function chains(doc: JsonReportDocument, t: ReportStrings): Chain[] {
  if (!doc.request) return [];
  const start = new Date(doc.request.startTime);
  const end = new Date(doc.request.endTime);
  const found = byRegion(doc);
  return doc.regions.map((region) => {
    const findings = found.get(region.region) ?? [];
    const hours = end < start ? [] : timeline(findings, start, end);
    const byState = new Map<HourState, number>();
    for (const h of hours) byState.set(h.state, (byState.get(h.state) ?? 0) + 1);
    const wanted = Math.max(1, Math.ceil((end.getTime() - Math.floor(start.getTime() / 3_600_000) * 3_600_000) / 3_600_000));
    return { label: region.region, region, hours, byState, findings, wanted, states: STATE_ORDER, words: t.hours };
  });
}

/** A chain's sentence: what was verified, and when it fails, what failed. */
function chainSentence(c: Chain, t: ReportStrings): string {
  const name = e(c.region.region, 64);
  const hours = c.hours.length;
  const valid = c.byState.get('valid') ?? 0;
  if (c.region.empty) return `${t.verdict.empty(name)}.`;
  const head = valid === hours ? t.verdict.allHours(hours, name) : t.verdict.someHours(valid, hours, name);
  if (c.region.ok && valid === hours) return `${head}: ${t.verdict.noneChanged}`;
  const others = STATE_ORDER.filter((s) => s !== 'valid' && (c.byState.get(s) ?? 0) > 0).map((s) => `${(c.byState.get(s) ?? 0).toLocaleString('en-US')} ${t.hours[s].name}`);
  return `${head}${others.length > 0 ? ` (${others.join(', ')})` : ''}.`;
}

/** What failed in a region, code by code, when it fails. */
function failures(region: ReportRegion, t: ReportStrings): string {
  const codes = invalidCodes(region.summary.byCode);
  if (region.ok) return '';
  const items = codes.map(([code, count]) => `<li>${t.verdict.chainLevel(count, `<code>${code}</code>`, w(t.codes[code].meaning))}</li>`);
  if (region.empty && codes.length === 0) items.push(`<li>${w(t.codes.CHAIN_EMPTY.meaning)}</li>`);
  if (items.length === 0 && region.summary.gaps > 0) items.push(`<li>${t.verdict.chainLevel(region.summary.gaps, '<code>CHAIN_GAP</code>', w(t.codes.CHAIN_GAP.meaning))}</li>`);
  return items.length === 0 ? '' : `<p>${t.verdict.failedBecause}</p><ul>${items.join('')}</ul>`;
}

function verdictSection(doc: JsonReportDocument, cs: Chain[], t: ReportStrings): string {
  const word = doc.error ? t.verdict.stopped : doc.ok ? t.verdict.valid : t.verdict.invalid;
  const lines: string[] = [];
  if (doc.error) lines.push(`<p>${t.verdict.stoppedBy(e(doc.error.code, 64), e(doc.error.message, 2000))}</p>`);
  for (const c of cs) {
    const mark = c.region.ok ? t.verdict.regionOk : t.verdict.regionInvalid;
    lines.push(`<p><span class="badge ${c.region.ok ? 's-valid' : 's-invalid'}">${mark}</span> ${chainSentence(c, t)}</p>${failures(c.region, t)}`);
  }
  return `<section aria-labelledby="verdict"><h2 id="verdict">${t.headings.verdict}</h2>
<div class="verdict ${doc.ok ? 'ok' : 'bad'}" role="status"><p><strong class="word">${word}</strong></p>
${lines.join('\n')}
</div></section>`;
}

function scopeSection(doc: JsonReportDocument, t: ReportStrings): string {
  const r = doc.request;
  const rows: Array<[string, string]> = [];
  if (r) {
    rows.push([t.scope.trail, `<span class="mono">${e(r.trailArn)}</span>`]);
    rows.push([t.scope.accounts, e(r.accountId)]);
    if (r.organizationId !== undefined) rows.push([t.scope.organization, e(r.organizationId)]);
    rows.push([t.scope.regions, r.regions.slice(0, 64).map((x) => e(x, 64)).join(', ') + (r.regions.length > 64 ? ` … (${r.regions.length})` : '')]);
    rows.push([t.scope.bucket, e(r.bucket)]);
    if (r.prefix !== undefined) rows.push([t.scope.prefix, e(r.prefix)]);
    rows.push([t.scope.source, Object.entries(r.source).slice(0, 8).map(([k, v]) => `${e(k, 32)}: ${e(v)}`).join('; ')]);
    rows.push([t.scope.asked, `${when(r.startTime)} – ${when(r.endTime)}`]);
  }
  rows.push([t.scope.found, doc.found ? `${when(doc.found.startTime)} – ${when(doc.found.endTime)}` : t.scope.nothingFound]);
  rows.push([t.scope.tool, `${e(doc.tool, 64)} ${e(doc.version, 64)}`]);
  rows.push([t.scope.ran, doc.run ? `${when(doc.run.startedAt)} – ${when(doc.run.finishedAt)}` : t.scope.notRecorded]);
  let keys = '';
  if (doc.run) {
    const shown = doc.run.keys.slice(0, MAX_KEYS_LISTED);
    const more = doc.run.keys.length > shown.length ? `<p class="small">… ${(doc.run.keys.length - shown.length).toLocaleString('en-US')} more</p>` : '';
    keys = `<h3>${t.headings.keys}</h3><p class="small">${w(t.scope.keysNote)}</p>${table(undefined, [t.scope.fingerprint, t.scope.validFrom, t.scope.validTo], shown.map((k) => [`<span class="mono">${e(k.fingerprint, 64)}</span>`, k.validFrom ? when(k.validFrom) : t.scope.open, k.validTo ? when(k.validTo) : t.scope.open]))}${more}`;
  }
  return `<section aria-labelledby="scope"><h2 id="scope">${t.headings.scope}</h2>${facts(rows)}${keys}</section>`;
}

/** The patterns of the figure: each state drawn differently in black and white too. */
function patterns(id: string): string {
  const p = (name: HourState, body: string): string =>
    `<pattern id="${id}-${name}" patternUnits="userSpaceOnUse" width="6" height="6"><rect width="6" height="6" fill="${STATE_COLOURS[name].fill}"/>${body}</pattern>`;
  return `<defs>
${p('invalid', '<path d="M0 0L6 6M6 0L0 6" stroke="#000" stroke-width="1.2"/>')}
${p('missing', '<circle cx="3" cy="3" r="1.3" fill="#000"/>')}
${p('rewritten', '<path d="M1.5 0V6M4.5 0V6" stroke="#000" stroke-width="1"/>')}
${p('tail', '<path d="M0 6L6 0" stroke="#000" stroke-width="1.2"/>')}
${p('gap', '<path d="M0 3H6" stroke="#000" stroke-width="1"/>')}
</defs>`;
}

/** A cell's fill: a pattern for a problem, a plain colour for valid and not covered. */
const fillOf = (id: string, s: HourState): string => (s === 'valid' || s === 'none' ? STATE_COLOURS[s].fill : `url(#${id}-${s})`);

/** The hours as a grid: one row per day, 24 columns, a letter in each problem cell. */
function figure(c: Drawn, index: number, t: ReportStrings): string {
  const id = `p${index}`;
  const first = c.hours[0];
  if (!first) return '';
  const day0 = Date.parse(`${first.start.slice(0, 10)}T00:00:00Z`);
  const days = Math.floor((Date.parse(c.hours.at(-1)!.start) - day0) / 86_400_000) + 1;
  const cell = days > 62 ? 5 : days > 7 ? 14 : 24;
  const left = 74;
  const top = 14;
  const width = left + 24 * cell + 2;
  const height = top + days * cell + 2;
  const cells: string[] = [];
  for (const h of c.hours) {
    const t0 = Date.parse(h.start);
    const row = Math.floor((t0 - day0) / 86_400_000);
    const col = new Date(t0).getUTCHours();
    const x = left + col * cell;
    const y = top + row * cell;
    cells.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fillOf(id, h.state)}" stroke="#6b7280" stroke-width="0.5"/>`);
    if (cell >= 12 && h.state !== 'valid' && h.state !== 'none') cells.push(`<text x="${x + cell / 2}" y="${y + cell * 0.72}" text-anchor="middle" font-size="${Math.round(cell * 0.62)}" font-weight="700" fill="#fff" stroke="#000" stroke-width="2.2" paint-order="stroke">${c.words[h.state].letter}</text>`);
  }
  const labels: string[] = [];
  const every = cell >= 12 ? 1 : 7;
  for (let d = 0; d < days; d += every) labels.push(`<text x="${left - 4}" y="${top + d * cell + Math.min(cell, 10)}" text-anchor="end" font-size="${cell >= 12 ? 9 : 8}">${new Date(day0 + d * 86_400_000).toISOString().slice(0, 10)}</text>`);
  for (const hh of [0, 6, 12, 18]) labels.push(`<text x="${left + hh * cell}" y="10" font-size="8">${String(hh).padStart(2, '0')}h</text>`);
  const capId = `fig-${index}`;
  const last = c.hours.at(-1)!;
  const caption = t.coverage.figureCaption(e(c.label, 64), when(first.start), when(new Date(Date.parse(last.start) + 3_600_000).toISOString()));
  return `<figure aria-labelledby="${capId}">
<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="${capId}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif">${patterns(id)}
${labels.join('')}
${cells.join('')}
</svg>
<figcaption id="${capId}">${caption} ${t.coverage.figureDescription}</figcaption>
</figure>
${legend(c, id, t)}`;
}

/** The legend, which is also the count of hours by state. */
function legend(c: Drawn, id: string, t: ReportStrings): string {
  const rows = c.states.map((s) => {
    const swatch = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><rect x="1" y="1" width="14" height="14" fill="${fillOf(id, s)}" stroke="#6b7280"/></svg>`;
    return [swatch, `<b>${c.words[s].letter}</b>`, `<span class="badge s-${s}">${c.words[s].name}</span> ${e(c.words[s].text)}`, (c.byState.get(s) ?? 0).toLocaleString('en-US')];
  });
  return table(`${t.coverage.legend}: ${t.coverage.countsCaption}`, ['', t.coverage.letter, t.coverage.state, t.coverage.hoursCol], rows, 'legend');
}

/** The figure as text: runs of hours of the same state. */
function runsTable(c: Drawn, t: ReportStrings): string {
  const runs: Array<{ from: string; to: string; state: HourState; n: number }> = [];
  for (const h of c.hours) {
    const last = runs.at(-1);
    if (last && last.state === h.state) {
      last.n++;
      last.to = h.start;
    } else runs.push({ from: h.start, to: h.start, state: h.state, n: 1 });
  }
  const end = (iso: string): string => when(new Date(Date.parse(iso) + 3_600_000).toISOString());
  return table(t.coverage.runsCaption, [t.coverage.fromCol, t.coverage.toCol, t.coverage.state, t.coverage.hoursCol], runs.map((r) => [when(r.from), end(r.to), `<span class="badge s-${r.state}">${c.words[r.state].letter} ${c.words[r.state].name}</span>`, r.n.toLocaleString('en-US')]));
}

function filesTable(region: ReportRegion, t: ReportStrings): string {
  const s = region.summary;
  const row = (label: string, c: { valid: number; invalid: number }): string[] => [label, c.valid.toLocaleString('en-US'), c.invalid > 0 ? `<span class="badge s-invalid">${c.invalid.toLocaleString('en-US')}</span>` : '0'];
  const rows = [row(t.coverage.digests, s.digests), row(t.coverage.logs, s.logs)];
  if (s.backfillDigests.valid + s.backfillDigests.invalid > 0) rows.push(row(t.coverage.backfillDigests, s.backfillDigests));
  if (s.objects.invalid > 0) rows.push(row(t.coverage.objects, s.objects));
  if (s.gaps > 0) rows.push([t.coverage.gaps, '', s.gaps.toLocaleString('en-US')]);
  const chainCodes = invalidCodes(s.byCode).filter(([code]) => code.startsWith('CHAIN_') || code.startsWith('CHECKPOINT_') || code === 'DIGEST_UNREACHED');
  for (const [code, count] of chainCodes) rows.push([`<code>${code}</code>`, '', `<span class="badge s-invalid">${count.toLocaleString('en-US')}</span>`]);
  return table(t.coverage.filesCaption, [t.coverage.kind, t.coverage.valid, t.coverage.invalid], rows);
}

function coverageSection(cs: Chain[], t: ReportStrings): string {
  const parts = cs.map((c, i) => {
    const allGreen = !c.region.ok && c.hours.length > 0 && (c.byState.get('valid') ?? 0) === c.hours.length;
    const cut = c.wanted > c.hours.length ? `<p>${t.coverage.cut(c.hours.length)}</p>` : '';
    return `<h3>${e(c.region.region, 64)} — <span class="badge ${c.region.ok ? 's-valid' : 's-invalid'}">${c.region.ok ? t.verdict.regionOk : t.verdict.regionInvalid}</span></h3>
${allGreen ? `<p class="badge s-invalid">${t.coverage.notAllGreen}</p>` : ''}${cut}
${figure(c, i, t)}
${runsTable(c, t)}
${filesTable(c.region, t)}`;
  });
  return `<section aria-labelledby="coverage"><h2 id="coverage">${t.headings.coverage}</h2>${parts.join('\n')}</section>`;
}

function findingsSection(doc: JsonReportDocument, t: ReportStrings): string {
  const problems = doc.findings.filter((f) => f.severity !== 'valid');
  if (problems.length === 0) return `<section aria-labelledby="findings"><h2 id="findings">${t.headings.findings}</h2><p>${t.findings.none}</p></section>`;
  const counts = new Map<FindingCode, number>();
  for (const f of problems) counts.set(f.code, (counts.get(f.code) ?? 0) + 1);
  const sev = (code: FindingCode): string => `<span class="sev-${FINDING_SEVERITY[code]}">${t.severities[FINDING_SEVERITY[code]]}</span>`;
  // A code may break after its underscores, never inside a word.
  const code = (c: FindingCode): string => `<code>${c.replaceAll('_', '_<wbr>')}</code>`;
  const byCode = table(t.findings.byCode, [t.findings.code, t.findings.count, t.findings.meaning, t.findings.action], [...counts].map(([c, n]) => [`${sev(c)}<br>${code(c)}`, n.toLocaleString('en-US'), w(t.codes[c].meaning), w(t.codes[c].action)]), 'findings');
  const shown = problems.slice(0, MAX_FINDINGS_LISTED);
  const rows = shown.map((f) => [
    `${sev(f.code)}<br>${code(f.code)}`,
    `<span class="mono">${e(f.object)}</span>${f.region !== undefined ? ` <span class="small">(${e(f.region, 64)})</span>` : ''}<br><span class="small">${e(f.message, 1024)}</span>`,
    `${f.expected !== undefined ? `<b>${t.findings.expected}:</b> <span class="mono">${e(f.expected, 256)}</span>` : ''}${f.expected !== undefined && f.actual !== undefined ? '<br>' : ''}${f.actual !== undefined ? `<b>${t.findings.actual}:</b> <span class="mono">${e(f.actual, 256)}</span>` : ''}`,
    `${w(t.codes[f.code].meaning)}<br><b>${t.findings.action}:</b> ${w(t.codes[f.code].action)}`,
  ]);
  const more = problems.length > shown.length ? `<p>${t.findings.more(shown.length, problems.length)}</p>` : '';
  return `<section aria-labelledby="findings"><h2 id="findings">${t.headings.findings}</h2>${byCode}
${table(undefined, [`${t.findings.severity}, ${t.findings.code}`, t.findings.object, `${t.findings.expected} / ${t.findings.actual}`, `${t.findings.meaning} / ${t.findings.action}`], rows, 'findings')}${more}</section>`;
}

/** The method on a page of its own, after an introduction when one is given (the period report's). */
function methodSection(t: ReportStrings, intro?: string): string {
  const items = t.method.map((m) => `<p><b>${w(m.title)}.</b> ${w(m.text)}</p>`).join('\n');
  const cannot = t.cannotProve.map((c) => `<li>${w(c)}</li>`).join('');
  return `<section class="page keep" aria-labelledby="method"><h2 id="method">${t.headings.method}</h2>${intro === undefined ? '' : `<p>${w(intro)}</p>`}${items}<h3>${t.cannotProveHeading}</h3><ul>${cannot}</ul></section>`;
}

function controlsSection(doc: JsonReportDocument, cs: Chain[], t: ReportStrings): string {
  const r = doc.request;
  const f: ControlFacts = {
    ok: doc.ok,
    hours: cs.reduce((a, c) => a + c.hours.length, 0),
    validHours: cs.reduce((a, c) => a + (c.byState.get('valid') ?? 0), 0),
    window: r ? `${when(r.startTime)} – ${when(r.endTime)} (${cs.length === 1 ? e(cs[0]!.region.region, 64) : `${cs.length} regions`})` : '—',
    invalid: doc.findings.filter((x) => x.severity === 'invalid').length,
    checkpoint: doc.run?.checkpoint !== undefined,
  };
  return controlBlocks(t, (c) => c.shows(f));
}

/** The control mapping: one block per control, its identifier a heading of its own (never cut, found by a search). */
function controlBlocks(t: ReportStrings, shows: (c: ReportStrings['controls'][number]) => string): string {
  const blocks = t.controls.map(
    (c) => `<div class="keep"><h3 class="nw">${w(c.id)}</h3>${facts([
      [t.controlColumns.requirement, w(c.requirement)],
      [t.controlColumns.shows, shows(c)],
      [t.controlColumns.limits, w(c.limits)],
    ])}</div>`,
  );
  return `<section aria-labelledby="controls"><h2 id="controls">${t.headings.controls}</h2><p>${w(t.controlsIntro)}</p>${blocks.join('\n')}</section>`;
}

function integritySection(doc: JsonReportDocument, t: ReportStrings): string {
  const sha = jsonReportSha256(doc);
  const parts = [
    `<p>${t.integrity.sha256}: <code id="report-sha256">${sha}</code></p>`,
    `<p class="small">${w(t.integrity.how)}</p>`,
    `<p>${t.integrity.check}</p><pre>validate-logs report --from report.json --sha256</pre>`,
  ];
  const cp = doc.run?.checkpoint;
  if (!cp) parts.push(`<p>${w(t.integrity.noCheckpoint)}</p>`);
  else {
    const line = /^report ([0-9a-f]{64})$/m.exec(cp.note)?.[1];
    const agrees = line === sha;
    parts.push(`<h3>${t.integrity.checkpointHeading}</h3>`);
    parts.push(facts([
      [t.integrity.checkpointFile, `<span class="mono">${e(cp.file)}</span>`],
      [t.integrity.checkpointReport, `<code id="checkpoint-report">${e(line ?? '', 64)}</code> <span class="badge ${agrees ? 's-valid' : 's-invalid'}">${agrees ? t.integrity.checkpointAgrees : t.integrity.checkpointDiffers}</span>`],
    ]));
    parts.push(`<pre>${e(cp.note, 64 * 1024)}</pre>`);
    parts.push(`<p>${t.integrity.checkpointVerify}</p><pre>validate-logs --trail-arn ${e(doc.request?.trailArn ?? 'ARN')} --checkpoint ${e(cp.file)} \\\n  --checkpoint-public-key NAME=KEY.pub.pem  (the run's source flags: --local-dir or S3)</pre>`);
    const ts = cp.timestamp;
    if (!ts) parts.push(`<p>${t.integrity.noTimestamp}</p>`);
    else {
      parts.push(`<h3>${t.integrity.timestampHeading}</h3>`);
      parts.push(facts([
        [t.integrity.checkpointFile, `<span class="mono">${e(ts.file)}</span>`],
        [t.integrity.timestampTime, ts.time ? when(ts.time) : '—'],
        [t.integrity.timestampAuthority, ts.authority ? e(ts.authority) : '—'],
      ]));
      parts.push(`<p>${t.integrity.timestampVerify}</p><pre>sed '/^$/,$d' ${e(cp.file)} &gt; note.text\nopenssl ts -verify -data note.text -in ${e(ts.file)} -CAfile tsa-ca.pem</pre>`);
    }
  }
  return `<section class="keep" aria-labelledby="integrity"><h2 id="integrity">${t.headings.integrity}</h2>${parts.join('\n')}</section>`;
}

/** The document around its sections: head (title, the policy that forbids any request, the styles), the first heading. */
function shell(t: ReportStrings, title: string, subtitle: string, generator: string, sections: readonly string[]): string {
  return `<!DOCTYPE html>
<html lang="${t.lang}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${generator}">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${title}</h1><p class="small">${subtitle}</p></header>
<main>
${sections.join('\n')}
</main>
</body>
</html>
`;
}

/**
 * The whole document, page one first: the verdict and the scope, then the hours of each chain,
 * the findings, the method, the control mapping and the report's own integrity.
 * @param doc - the run's JSON report (checked: {@link checkJsonReport})
 * @param strings - the words (English by default)
 * @returns the HTML document
 */
export function renderReportHtml(doc: JsonReportDocument, strings: ReportStrings = EN): string {
  const t = strings;
  const cs = chains(doc, t);
  const trail = doc.request ? ` — ${e(doc.request.trailArn.split('/').at(-1) ?? '', 128)}` : '';
  const subtitle = `${doc.request ? `<span class="mono">${e(doc.request.trailArn)}</span> · ` : ''}${doc.run ? when(doc.run.finishedAt) : ''}`;
  return shell(t, `${t.title}${trail}`, subtitle, `${e(doc.tool, 64)} ${e(doc.version, 64)}`, [
    verdictSection(doc, cs, t),
    scopeSection(doc, t),
    coverageSection(cs, t),
    findingsSection(doc, t),
    methodSection(t),
    controlsSection(doc, cs, t),
    integritySection(doc, t),
  ]);
}

/** A period's hours of one chain, in the figure's states: verified is valid, missing is missing, not due is not covered. */
function periodChain(c: ChainCoverage, t: ReportStrings): Drawn {
  const state: Record<HourStatus, HourState> = { verified: 'valid', missing: 'missing', 'not-due': 'none' };
  const hours = c.hours.slice(0, MAX_HOURS).map((h): Hour => ({ start: h.hour, state: state[h.status] ?? 'none', problems: 0 }));
  const byState = new Map<HourState, number>();
  for (const h of hours) byState.set(h.state, (byState.get(h.state) ?? 0) + 1);
  const words = {
    ...t.hours,
    valid: { ...t.hours.valid, name: 'verified', text: t.period.hourStates.verified },
    missing: { ...t.hours.missing, text: t.period.hourStates.missing },
    none: { ...t.hours.none, name: 'not yet due', text: t.period.hourStates.notDue },
  };
  return { label: c.region, hours, byState, states: ['missing', 'none', 'valid'], words };
}

const hoursOf = (ms: number | undefined): string => (ms === undefined ? '—' : `${(ms / 3_600_000).toFixed(1)} h`);

/**
 * The period report: what a watcher's history says about a period (the answer of
 * `validate-logs history`), as a document: the sentence an auditor quotes first ("every hour
 * of the period verified, N % within 2 h of delivery; K passes with findings, the first alerted
 * at ..."), the scope, each chain's hours as a figure, the passes that found something, the gaps
 * in the watching, the method, the control mapping, and the answer's canonical SHA-256.
 * @param answer - the history answer (checked: {@link checkHistoryAnswer})
 * @param strings - the words (English by default)
 * @returns the HTML document
 */
export function renderPeriodHtml(answer: HistoryAnswer, strings: ReportStrings = EN): string {
  const t = strings;
  const p = t.period;
  const sum = answer.summary;
  const within = sum.shareWithin === null ? 0 : Math.floor(sum.shareWithin * 1000) / 10;
  const withinHours = Math.round(sum.withinMs / 360_000) / 10;
  const ok = sum.hoursMissing === 0 && answer.findings.every((f) => f.status !== 'invalid');
  const first = answer.findings[0];
  const period = `${when(answer.from)} – ${when(answer.to)}`;
  const verdict = `<section aria-labelledby="verdict"><h2 id="verdict">${t.headings.verdict}</h2>
<div class="verdict ${ok ? 'ok' : 'bad'}" role="status"><p><strong class="word">${ok ? t.verdict.valid : t.verdict.invalid}</strong></p>
<p>${sum.hoursExpected === 0 ? p.noHours : p.summary(sum.hoursExpected, sum.hoursVerified, within, withinHours)} ${p.findingsLine(answer.findings.length, first && when(first.endedAt))}</p></div></section>`;
  const sc = answer.scope;
  const scopeRows: Array<[string, string]> = [
    [p.scope.trail, sc ? `<span class="mono">${e(sc.trailArn)}</span>` : p.scope.notRecorded],
    ...(sc ? ([[t.scope.accounts, e(sc.accountId)], [t.scope.bucket, e(sc.bucket)], ...(sc.prefix !== undefined ? [[t.scope.prefix, e(sc.prefix)]] : []), ...(sc.organizationId !== undefined ? [[t.scope.organization, e(sc.organizationId)]] : [])] as Array<[string, string]>) : []),
    [p.scope.period, period],
    [t.scope.regions, answer.chains.slice(0, 64).map((c) => e(c.region, 64)).join(', ')],
    [p.scope.passes, `${sum.passes.toLocaleString('en-US')} (${sum.passesWithFindings.toLocaleString('en-US')} with findings)`],
    [p.scope.firstPass, sum.firstPass ? `#${sum.firstPass.pass} ${when(sum.firstPass.startedAt)}` : '—'],
    [p.scope.lastPass, sum.lastPass ? `#${sum.lastPass.pass} ${when(sum.lastPass.startedAt)}` : '—'],
    [p.scope.format, e(answer.format, 64)],
  ];
  const scope = `<section aria-labelledby="scope"><h2 id="scope">${t.headings.scope}</h2>${facts(scopeRows)}</section>`;
  const chainRows = answer.chains.map((c) => [e(c.region, 64), c.expected.toLocaleString('en-US'), c.verified.toLocaleString('en-US'), c.missing > 0 ? `<span class="badge s-invalid">${c.missing.toLocaleString('en-US')}</span>` : '0', c.notDue.toLocaleString('en-US'), hoursOf(c.worstLatencyMs)]);
  const drawn = answer.chains.slice(0, 64).map((c) => periodChain(c, t));
  const coverage = `<section aria-labelledby="coverage"><h2 id="coverage">${t.headings.coverage}</h2>
${table(p.chains, [p.chain, p.expected, p.verifiedHours, p.missing, p.notDue, p.worst], chainRows)}
${drawn.map((d, i) => `<h3>${e(d.label, 64)}</h3>\n${figure(d, i, t)}\n${runsTable(d, t)}`).join('\n')}</section>`;
  const gaps = answer.gaps.slice(0, MAX_FINDINGS_LISTED);
  const watch = `<section aria-labelledby="watch"><h2 id="watch">${p.watchGaps}</h2>${
    gaps.length === 0 ? `<p>${p.noWatchGaps}</p>` : table(undefined, [t.coverage.fromCol, t.coverage.toCol, p.length, p.status], gaps.map((g) => [when(g.from), when(g.to), hoursOf(g.ms), e(p.gapWhere[g.where] ?? g.where, 64)]))
  }</section>`;
  const listed = answer.findings.slice(0, MAX_FINDINGS_LISTED);
  const findingRows = listed.map((f) => [
    `#${f.pass}`,
    `${when(f.startedAt)} – ${when(f.endedAt)}`,
    `<span class="sev-invalid">${e(f.status, 16)}</span>${f.error !== undefined ? `<br><span class="small">${e(f.error, 1024)}</span>` : ''}`,
    (Object.entries(f.byCode) as Array<[string, number]>).slice(0, 40).map(([code, n]) => `<code>${e(code, 64)}</code> ${Number(n).toLocaleString('en-US')}`).join('<br>'),
    f.regions.slice(0, 64).map((r) => e(r, 64)).join(', '),
    f.alerts.slice(0, 20).map((a) => `<span class="mono">${e(a, 64)}</span>`).join('<br>'),
  ]);
  const findings = `<section aria-labelledby="findings"><h2 id="findings">${p.findings}</h2>${
    listed.length === 0 ? `<p>${p.noFindings}</p>` : table(undefined, [p.pass, t.coverage.fromCol, p.status, t.findings.code, p.regions, p.alerts], findingRows, 'findings')
  }${answer.findings.length > listed.length ? `<p>${t.findings.more(listed.length, answer.findings.length)}</p>` : ''}</section>`;
  const method = methodSection(t, p.method);
  const pf: PeriodFacts = { period, hours: sum.hoursExpected, verified: sum.hoursVerified, within, withinHours, passes: sum.passes, passesWithFindings: sum.passesWithFindings, gaps: answer.gaps.length };
  const controls = controlBlocks(t, (c) => c.period(pf));
  const sha = historyAnswerSha256(answer);
  const integrity = `<section class="keep" aria-labelledby="integrity"><h2 id="integrity">${t.headings.integrity}</h2><p>${p.integrity}: <code id="report-sha256">${sha}</code></p><p>${w(p.check)}</p><pre>validate-logs history --state STATE --from ${e(answer.from)} --to ${e(answer.to)} --output json &gt; history.json\nvalidate-logs report --from history.json --sha256</pre></section>`;
  const subtitle = `${sc ? `<span class="mono">${e(sc.trailArn)}</span> · ` : ''}${period}`;
  return shell(t, t.periodTitle, subtitle, 'validate-logs', [verdict, scope, coverage, findings, watch, method, controls, integrity]);
}
