// The auditor's page, in Node: folder discovery, the files-as-a-bucket source (the source
// contract), the Worker's run compared with the CLI's JSON report on the sample and on every
// tampered copy of it, the timeline, and the equivalent command (run as printed).
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINDING_CODES, FINDING_SEVERITY, digestKey, isChainLevel, type Finding, type FindingCode } from '../src/index.js';
import { commandLine, equivalentCommand, shellQuote } from '../web/src/command.js';
import { discover } from '../web/src/discover.js';
import { FileSource } from '../web/src/file-source.js';
import type { PickedFile, Report, RunRequest, WorkerMessage } from '../web/src/protocol.js';
import { runValidation } from '../web/src/run.js';
import { timeline, type HourState } from '../web/src/timeline.js';
import { node, VALIDATE } from './helpers/cli.js';
import { checkpointKeyPairs, rewritePinnedDigest, sampleCheckpoint, sampleDigest, sampleFolder } from './helpers/page.js';
import { ROOT, tampering, type Action } from './helpers/tamper.js';
import { sourceContract } from './sources/contract.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

/** A folder as the page gets it from a file input: every file, its path starting with the folder's name. */
function pick(dir: string): PickedFile[] {
  const parent = dirname(dir);
  return walk(dir).map((f) => {
    const bytes = readFileSync(f);
    return { path: relative(parent, f).split(sep).join('/'), file: new File([bytes], basename(f), { lastModified: statSync(f).mtimeMs }) };
  });
}

/** What the page sends for a picked folder with the first trail it found and its whole range. */
function requestFor(files: PickedFile[]): RunRequest {
  const found = discover(files);
  const t = found.trails[0]!;
  return {
    type: 'run',
    version: VERSION,
    files,
    root: t.root,
    keyFiles: files.filter((f) => found.keyFiles.includes(f.path)),
    trailArn: `arn:aws:cloudtrail:${t.homeRegion}:${t.accountId}:trail/${t.trailName}`,
    trail: { accountId: t.accountId, region: t.region, homeRegion: t.homeRegion, trailName: t.trailName },
    startTime: t.startTime,
    endTime: t.endTime,
  };
}

/** Run as the Worker does; the report as the page assembles it, and every message. */
async function pageRun(request: RunRequest): Promise<{ report?: Report; messages: WorkerMessage[]; failed?: string }> {
  const messages: WorkerMessage[] = [];
  await runValidation(request, (m) => messages.push(m));
  const findings = messages.flatMap((m) => ('findings' in m ? m.findings : []));
  const started = messages.find((m) => m.type === 'started');
  const last = messages.at(-1)!;
  if (last.type === 'failed') return { messages, failed: last.message };
  if (last.type !== 'done' || started?.type !== 'started') throw new Error(`the run ended with ${last.type}`);
  return { report: { tool: 'validate-logs', version: request.version, request: started.request, findings, ...last.tail }, messages };
}

const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as object;
const validateSchema = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

/** A picked copy of the sample (tampered by `actions`), with its parent folder. */
function sampleCopy(actions: Action[] = []): { files: PickedFile[]; parent: string; cleanup: () => void } {
  const { folder, parent, cleanup } = sampleFolder(actions);
  return { files: pick(folder), parent, cleanup };
}

describe('discover: the trails in a picked folder', () => {
  it('finds the sample trail, its bucket root, its keys and its whole range', () => {
    const found = discover(pick(join(ROOT, 'sample')));
    expect(found.folder).toBe('sample');
    expect(found.keyFiles).toEqual(['sample/public-keys.json']);
    expect(found.trails).toEqual([
      {
        root: 'sample/bucket/',
        accountId: '111122223333',
        region: 'us-east-1',
        homeRegion: 'us-east-1',
        trailName: 'sample-trail',
        digests: 6,
        backfillDigests: 0,
        startTime: tampering.trail.start,
        endTime: tampering.trail.end,
      },
    ]);
  });

  const digest = (root: string, region: string, trail: string, time: string, extra = ''): { path: string } => ({
    path: `${root}AWSLogs/111122223333/CloudTrail-Digest/${region}/2025/01/${time.slice(6, 8)}/111122223333_CloudTrail-Digest_${region}_${trail}_us-east-1_${time}${extra}.json.gz`,
  });

  it('takes an evidence folder (keys beside the bucket folder), several trails and regions, backfill digests', () => {
    const found = discover([
      { path: 'evidence/public-keys.json' },
      digest('evidence/my-bucket/', 'us-east-1', 'main', '20250108T010000Z'),
      digest('evidence/my-bucket/', 'us-east-1', 'main', '20250109T120000Z'),
      digest('evidence/my-bucket/', 'us-east-1', 'main', '20250108T050000Z', '_backfill'),
      digest('evidence/my-bucket/', 'eu-west-1', 'main', '20250108T030000Z'),
      digest('evidence/my-bucket/', 'us-east-1', 'other', '20250108T030000Z'),
      { path: 'evidence/my-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/not-a-digest.json.gz' },
      { path: 'evidence/my-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/x.json.gz.metadata.json' },
    ]);
    expect(found.keyFiles).toEqual(['evidence/public-keys.json']);
    expect(found.trails.map((t) => [t.root, t.trailName, t.region, t.digests, t.backfillDigests, t.startTime, t.endTime])).toEqual([
      ['evidence/my-bucket/', 'main', 'eu-west-1', 1, 0, '2025-01-08T02:00:00Z', '2025-01-08T03:00:00Z'],
      ['evidence/my-bucket/', 'main', 'us-east-1', 2, 1, '2025-01-08T00:00:00Z', '2025-01-09T12:00:00Z'],
      ['evidence/my-bucket/', 'other', 'us-east-1', 1, 0, '2025-01-08T02:00:00Z', '2025-01-08T03:00:00Z'],
    ]);
  });

  it('takes a bucket copy with a key prefix, an organization trail, and the folder itself as bucket root', () => {
    const org = { path: 'copy/audit/AWSLogs/o-abcdef1234/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/111122223333_CloudTrail-Digest_us-east-1_org_us-east-1_20250108T010000Z.json.gz' };
    expect(discover([org]).trails).toEqual([expect.objectContaining({ root: 'copy/', prefix: 'audit', organizationId: 'o-abcdef1234', trailName: 'org', digests: 1 })]);
    // With a key list beside it, the folder reads as evidence: the bucket's folder, then no prefix.
    const withKeys = discover([org, { path: 'copy/keys-us-east-1.json' }]);
    expect(withKeys.keyFiles).toEqual(['copy/keys-us-east-1.json']);
    expect(withKeys.trails).toEqual([expect.not.objectContaining({ prefix: expect.anything() })]);
    expect(withKeys.trails[0]?.root).toBe('copy/audit/');
    // Keys in the picked folder, which is itself the bucket root.
    expect(discover([{ path: 'copy/public-keys.json' }, digest('copy/', 'us-east-1', 'main', '20250108T010000Z')]).trails[0]?.root).toBe('copy/');
    expect(discover([{ path: 'empty/readme.txt' }]).trails).toEqual([]);
  });
});

sourceContract('FileSource (the page)', async (_bucket, objects) => {
  const entries: Array<{ key: string; file: File }> = [];
  for (const [key, o] of Object.entries(objects)) {
    entries.push({ key, file: new File([o.body], basename(key), { lastModified: Date.UTC(2025, 0, 8) }) });
    if (o.metadata) entries.push({ key: `${key}.metadata.json`, file: new File([JSON.stringify(o.metadata)], 'metadata.json') });
  }
  return { source: new FileSource(entries, { bucket: _bucket }), cleanup: () => undefined };
});

describe('FileSource', () => {
  it('reports a malformed sidecar and counts the bytes it reads', async () => {
    let read = 0;
    const s = new FileSource(
      [
        { key: 'd.json.gz', file: new File([new Uint8Array(10)], 'd') },
        { key: 'd.json.gz.metadata.json', file: new File(['{"signature":1}'], 'm') },
      ],
      { onRead: (n) => void (read += n) },
    );
    await expect(s.get('b', 'd.json.gz', { metadata: true })).rejects.toMatchObject({ code: 'METADATA_INVALID' });
    const o = await s.get('b', 'd.json.gz');
    for await (const c of o!.body) expect(c.byteLength).toBe(10);
    expect(read).toBe(10);
    expect(s.as('other').size).toBe(1);
    expect(await s.as('other').get('b', 'd.json.gz')).toBeUndefined();
  });
});

describe('the page run equals the CLI report', () => {
  /** The CLI, run with the very command the page offers to copy (paths resolved from the picked folder's parent). */
  async function cliReport(report: Report, files: PickedFile[], parent: string, keyPaths: string[]): Promise<{ status: number | null; report: Report }> {
    const args = equivalentCommand({
      trailArn: report.request.trailArn,
      startTime: report.request.startTime,
      endTime: report.request.endTime,
      root: report.request.source.path!,
      bucket: report.request.bucket,
      keyFiles: keyPaths,
      accountId: report.request.accountId,
      region: report.request.region,
    }).slice(1);
    const resolved = args.map((a, i) => (args[i - 1] === '--local-dir' || args[i - 1] === '--public-keys' ? join(parent, a) : a));
    const r = await node(VALIDATE, resolved);
    expect(r.stderr).toBe('');
    void files;
    return { status: r.status, report: JSON.parse(r.stdout) as Report };
  }

  const cases = tampering.cases;
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { files, parent, cleanup } = sampleCopy(c.actions);
    try {
      const request = requestFor(files);
      const { report, messages } = await pageRun(request);
      expect(report).toBeDefined();
      const page = report!;
      const cli = await cliReport(page, files, parent, request.keyFiles.map((k) => k.path));
      expect(cli.status).toBe(page.ok ? 0 : 1);
      expect(cli.status).toBe(c.exit);
      expect(page.findings).toEqual(cli.report.findings);
      const { findings: _pf, request: pageRequest, ...pageTail } = page;
      const { findings: _cf, request: cliRequest, ...cliTail } = cli.report;
      expect(pageTail).toEqual(cliTail);
      expect({ ...pageRequest, source: undefined }).toEqual({ ...cliRequest, source: undefined });
      expect(validateSchema(page), JSON.stringify(validateSchema.errors)).toBe(true);
      // The findings the vectors name are there (the run is not merely equal to a broken CLI).
      for (const f of c.findings) expect(page.findings.some((x) => x.code === f.code && x.key === f.key)).toBe(true);
      // Progress came before the end, and counted what the findings count.
      const done = messages.at(-1)!;
      expect(done.type).toBe('done');
      if (done.type === 'done') {
        expect(done.progress.logsDone).toBe(page.findings.filter((f) => f.kind === 'log').length);
        expect(done.progress.digestsDone).toBe(page.findings.filter((f) => f.kind === 'digest').length);
        expect(done.progress.bytesRead).toBeGreaterThan(0);
      }
    } finally {
      cleanup();
    }
  });

  it('says why it cannot run: no key list, a key list that is not one, a range backwards', async () => {
    const { files, cleanup } = sampleCopy();
    try {
      const base = requestFor(files);
      expect((await pageRun({ ...base, keyFiles: [] })).failed).toMatch(/no public keys/);
      const bogus = { path: 'notes/keys.json', file: new File(['{"PublicKeyList":[{"Value":"AAAA"}]}'], 'keys.json') };
      expect((await pageRun({ ...base, keyFiles: [bogus] })).failed).toMatch(/keys\.json/);
      expect((await pageRun({ ...base, startTime: base.endTime, endTime: base.startTime! })).failed).toMatch(/start time/);
      expect((await pageRun({ ...base, startTime: 'yesterday' })).failed).toMatch(/start time/);
    } finally {
      cleanup();
    }
  });
});

describe('a checkpoint on the page', () => {
  let keyDir: string;
  beforeAll(() => {
    keyDir = mkdtempSync(join(tmpdir(), 'vl-web-cp-'));
    checkpointKeyPairs(keyDir, ['log', 'witness']);
  });
  afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

  const picked = (path: string): PickedFile => ({ path: basename(path), file: new File([readFileSync(path)], basename(path)) });

  /** The sample (rewritten after the checkpoint when asked), a checkpoint of it up to 02:00, and the page's request from it with no start. */
  async function setup(rewrite: boolean, keyNames = ['log']): Promise<{ request: RunRequest; parent: string; cleanup: () => void }> {
    const { folder, parent, cleanup } = sampleFolder();
    const cp = await sampleCheckpoint(folder, keyDir);
    if (rewrite) rewritePinnedDigest(join(folder, 'bucket'));
    for (const n of keyNames) copyFileSync(join(keyDir, `${n}.pub.pem`), join(parent, `${n}.pub.pem`));
    const { startTime: _whole, ...request } = requestFor(pick(folder));
    const keys = keyNames.map((n) => ({ ...picked(join(parent, `${n}.pub.pem`)), name: `example.com/${n}` }));
    return { request: { ...request, checkpoint: { file: picked(cp), keys } }, parent, cleanup };
  }

  /** The CLI with the command the page offers, run from the folder that holds the picked folder. */
  async function cli(page: Report, request: RunRequest, parent: string): Promise<{ status: number | null; report: Report }> {
    const cp = request.checkpoint!;
    const args = equivalentCommand({
      trailArn: page.request.trailArn,
      endTime: page.request.endTime,
      root: page.request.source.path!,
      bucket: page.request.bucket,
      keyFiles: request.keyFiles.map((k) => k.path),
      accountId: page.request.accountId,
      region: page.request.region,
      checkpoint: { file: cp.file.path, keys: cp.keys.map((k) => ({ path: k.path, ...(k.name && { name: k.name }) })) },
    }).slice(1);
    expect(args).not.toContain('--start-time');
    expect(args).toContain('--checkpoint');
    const files = new Set(['--local-dir', '--public-keys', '--checkpoint']);
    const resolved = args.map((a, i) =>
      files.has(args[i - 1]!) ? join(parent, a) : args[i - 1] === '--checkpoint-public-key' ? a.replace(/=(.*)$/, (_m, f: string) => `=${join(parent, f)}`) : a,
    );
    const r = await node(VALIDATE, resolved);
    expect(r.stderr).toBe('');
    return { status: r.status, report: JSON.parse(r.stdout) as Report };
  }

  it('starts at the pinned digest and reports what validate-logs --checkpoint reports', async () => {
    const { request, parent, cleanup } = await setup(false);
    try {
      const { report, messages } = await pageRun(request);
      const page = report!;
      const started = messages.find((m) => m.type === 'started');
      expect(started?.type === 'started' && started.checkpoint).toMatchObject({ key: sampleDigest(3), endTime: '2025-01-08T03:00:00Z', signedBy: [expect.stringMatching(/^example\.com\/log\+[0-9a-f]{8}$/)] });
      expect(page.request.startTime).toBe('2025-01-08T03:00:00Z');
      // The pinned digest is reached and not read again: only the digests after it, and it.
      expect(page.findings.filter((f) => f.code === 'DIGEST_VALID').map((f) => f.key)).toEqual([sampleDigest(6), sampleDigest(5), sampleDigest(4), sampleDigest(3)]);
      expect(page.findings.some((f) => f.code.startsWith('CHECKPOINT'))).toBe(false);
      const c = await cli(page, request, parent);
      expect(c.status).toBe(0);
      expect(page.findings).toEqual(c.report.findings);
      const { findings: _p, request: pr, ...pageTail } = page;
      const { findings: _c, request: cr, ...cliTail } = c.report;
      expect(pageTail).toEqual(cliTail);
      expect({ ...pr, source: undefined }).toEqual({ ...cr, source: undefined });
      expect(validateSchema(page), JSON.stringify(validateSchema.errors)).toBe(true);
      // A start given by the user wins over the pinned digest's end.
      const whole = (await pageRun({ ...request, startTime: tampering.trail.start })).report!;
      expect(whole.request.startTime).toBe(tampering.trail.start);
    } finally {
      cleanup();
    }
  });

  it('history rewritten after the checkpoint: CHECKPOINT_MISMATCH, as the command says', async () => {
    const { request, parent, cleanup } = await setup(true);
    try {
      const page = (await pageRun(request)).report!;
      expect(page.ok).toBe(false);
      expect(page.findings.filter((f) => f.code === 'CHECKPOINT_MISMATCH').map((f) => f.key)).toEqual([sampleDigest(3)]);
      const c = await cli(page, request, parent);
      expect(c.status).toBe(1);
      expect(page.findings).toEqual(c.report.findings);
      expect(page.summary).toEqual(c.report.summary);
    } finally {
      cleanup();
    }
  });

  it('refuses a checkpoint a key did not sign (naming the key), a malformed one, one of another chain, a PEM key with no name; nothing runs', async () => {
    const { request, cleanup } = await setup(false, ['log', 'witness']);
    try {
      const refused = async (r: RunRequest): Promise<string> => {
        const { failed, messages } = await pageRun(r);
        expect(messages.some((m) => m.type === 'started' || m.type === 'progress')).toBe(false);
        expect(failed).toMatch(/^the checkpoint is refused: /);
        return failed!;
      };
      const cp = request.checkpoint!;
      expect(await refused(request)).toMatch(/cp\.note is not signed by key example\.com\/witness\+[0-9a-f]{8}/);
      // A key by the right name but another key: its ID differs, so it did not sign.
      const impostor = { ...cp.keys[1]!, name: 'example.com/log' };
      expect(await refused({ ...request, checkpoint: { ...cp, keys: [impostor] } })).toMatch(/not signed by key example\.com\/log\+/);
      const logOnly = { ...cp, keys: [cp.keys[0]!] };
      const garbage = { path: 'cp.note', file: new File(['validate-logs checkpoint v1\n'], 'cp.note') };
      expect(await refused({ ...request, checkpoint: { ...logOnly, file: garbage } })).toMatch(/cp\.note/);
      expect(await refused({ ...request, checkpoint: logOnly, trailArn: request.trailArn.replace('sample-trail', 'other-trail') })).toMatch(/pins no chain of arn:aws:cloudtrail:us-east-1:111122223333:trail\/other-trail in us-east-1/);
      const { name: _n, ...unnamed } = cp.keys[0]!;
      expect(await refused({ ...request, checkpoint: { ...cp, keys: [unnamed] } })).toMatch(/log\.pub\.pem is a PEM key: give the name/);
      expect(await refused({ ...request, checkpoint: { ...cp, keys: [] } })).toMatch(/public key/);
    } finally {
      cleanup();
    }
  });
});

describe('timeline', () => {
  const hoursOf = async (actions: Action[]): Promise<HourState[]> => {
    const { files, cleanup } = sampleCopy(actions);
    try {
      const { report } = await pageRun(requestFor(files));
      return timeline(report!.findings, new Date(tampering.trail.start), new Date(tampering.trail.end)).map((h) => h.state);
    } finally {
      cleanup();
    }
  };
  const named = (name: string): Action[] => tampering.cases.find((c) => c.name === name)!.actions;

  it('shows each hour of the sample valid', async () => {
    expect(await hoursOf([])).toEqual(['valid', 'valid', 'valid', 'valid', 'valid', 'valid']);
  });
  it('shows the hour of a modified or injected log invalid, a deleted digest missing, a deleted tail', async () => {
    expect(await hoursOf(named('log modified'))).toEqual(['valid', 'invalid', 'valid', 'valid', 'valid', 'valid']);
    expect(await hoursOf(named('a log injected into an hour that has a digest'))).toEqual(['valid', 'invalid', 'valid', 'valid', 'valid', 'valid']);
    expect(await hoursOf(named('digest deleted'))).toEqual(['valid', 'valid', 'missing', 'valid', 'valid', 'valid']);
    expect(await hoursOf(named('the newest three digests deleted while their logs remain'))).toEqual(['valid', 'valid', 'valid', 'tail', 'tail', 'tail']);
  });
  it('shows a gap between the segments of a restarted chain, and nothing outside the chain', () => {
    const f = (x: Partial<Finding>): Finding => ({ code: 'DIGEST_VALID', severity: 'valid', kind: 'digest', object: 's3://b/k', bucket: 'b', key: 'k', message: '', backfill: false, ...x });
    const hours = timeline(
      [
        f({ key: 'x', object: 's3://b/new', startTime: '2025-01-08T04:00:00Z', endTime: '2025-01-08T05:00:00Z' }),
        f({ code: 'CHAIN_GAP', severity: 'notice', kind: 'chain', startTime: '2025-01-08T02:00:00Z', endTime: '2025-01-08T04:00:00Z' }),
        f({ key: 'y', object: 's3://b/old', startTime: '2025-01-08T01:00:00Z', endTime: '2025-01-08T02:00:00Z' }),
      ],
      new Date('2025-01-08T00:00:00Z'),
      new Date('2025-01-08T06:00:00Z'),
    );
    expect(hours.map((h) => h.state)).toEqual(['none', 'valid', 'gap', 'gap', 'valid', 'none']);
    expect(hours[1]).toMatchObject({ start: '2025-01-08T01:00:00Z', digest: 's3://b/old', problems: 0 });
    expect(() => timeline([], new Date(1), new Date(0))).toThrow(RangeError);
  });
});

describe('the timeline never shows all green under a chain-level finding, nor grey hours a chain covers', () => {
  const trail = { accountId: '111122223333', region: 'us-east-1', trailName: 't' };
  const H = 3_600_000;
  const t0 = Date.parse('2025-01-08T00:00:00Z');
  const at = (ms: number): string => new Date(ms).toISOString().slice(0, 19) + 'Z';
  const base = { bucket: 'b', message: '', backfill: false };
  /** A valid digest ending at `end`, covering the hour before it, with its key. */
  const valid = (end: number): Finding => {
    const key = digestKey(trail, new Date(end));
    return { ...base, code: 'DIGEST_VALID', severity: 'valid', kind: 'digest', key, object: `s3://b/${key}`, startTime: at(end - H), endTime: at(end) };
  };
  const chain = (code: FindingCode, fields: Partial<Finding>): Finding => ({ ...base, code, severity: FINDING_SEVERITY[code], kind: 'chain', key: '', object: '', ...fields });
  /** A finding about a digest made without reading it has no start time. */
  const withoutStart = ({ startTime: _s, ...f }: Finding): Finding => f;
  const states = (findings: Finding[], from = t0, to = t0 + 6 * H): HourState[] => timeline(findings, new Date(from), new Date(to)).map((h) => h.state);

  it('digests ending at :17 past the hour (as CloudTrail writes them) cover every hour of their range, the first one too', () => {
    const offset = 17 * 60_000;
    const chainOf = [1, 2, 3, 4, 5, 6].map((h) => valid(t0 + h * H + offset));
    // From the first digest's start, and from the hour before it.
    expect(states(chainOf, t0 + offset, t0 + 6 * H + offset)).toEqual(Array(7).fill('valid'));
    expect(states(chainOf, t0, t0 + 6 * H + offset)).toEqual(Array(7).fill('valid'));
    // A digest missing at 03:17 leaves both hours it overlaps missing, never valid.
    const missing = chainOf.map((f): Finding => (f.endTime === at(t0 + 3 * H + offset) ? { ...withoutStart(f), code: 'DIGEST_NOT_FOUND', severity: 'invalid' } : f));
    expect(states(missing, t0 + offset, t0 + 6 * H + offset)).toEqual(['valid', 'valid', 'missing', 'missing', 'valid', 'valid', 'valid']);
  });

  it('history rewritten after a checkpoint: every hour from the pinned digest on is "rewritten", though each digest is valid', () => {
    const digests = [1, 2, 3, 4, 5, 6].map((h) => valid(t0 + h * H));
    const pinned = digestKey(trail, new Date(t0 + 3 * H));
    const hours = timeline([...digests, chain('CHECKPOINT_MISMATCH', { key: pinned, object: `s3://b/${pinned}` })], new Date(t0), new Date(t0 + 6 * H));
    expect(hours.map((h) => h.state)).toEqual(['valid', 'valid', 'rewritten', 'rewritten', 'rewritten', 'rewritten']);
    expect(hours[2]!.problems).toBe(1);
  });

  it('a rollback: from the newest digest left (or the whole range, when none is) to the end is a deleted tail', () => {
    const pinned = digestKey(trail, new Date(t0 + 5 * H));
    const rollback = (actual: string): Finding => chain('CHECKPOINT_ROLLBACK', { key: pinned, object: `s3://b/${pinned}`, actual });
    expect(states([rollback('none')], t0 + 3 * H)).toEqual(['tail', 'tail', 'tail']);
    expect(states([valid(t0 + H), valid(t0 + 2 * H), rollback(at(t0 + 2 * H))])).toEqual(['valid', 'valid', 'tail', 'tail', 'tail', 'tail']);
  });

  it('a loop marks the hour of the digest it leads from invalid', () => {
    const digests = [1, 2, 3].map((h) => valid(t0 + h * H));
    expect(states([...digests, chain('CHAIN_LOOP', { key: digests[1]!.key, object: digests[2]!.object })], t0, t0 + 3 * H)).toEqual(['valid', 'invalid', 'valid']);
  });

  // Each invalid chain-level code, as the verifier makes it about a chain of valid digests; a new code must be added here.
  const made: Record<string, (digests: Finding[]) => Finding> = {
    DIGEST_UNREACHED: (d) => ({ ...withoutStart(d[2]!), code: 'DIGEST_UNREACHED', severity: 'invalid' }),
    CHAIN_TAIL_MISSING: (d) => chain('CHAIN_TAIL_MISSING', { key: d.at(-1)!.key, startTime: d.at(-1)!.endTime! }),
    CHAIN_LOOP: (d) => chain('CHAIN_LOOP', { key: d[1]!.key, object: d[2]!.object }),
    CHECKPOINT_MISMATCH: (d) => chain('CHECKPOINT_MISMATCH', { key: d[3]!.key }),
    CHECKPOINT_ROLLBACK: (d) => chain('CHECKPOINT_ROLLBACK', { key: digestKey(trail, new Date(t0 + 9 * H)), actual: d.at(-1)!.endTime! }),
  };
  it('every invalid chain-level code leaves at least one hour not green', () => {
    expect(Object.keys(made).sort()).toEqual(FINDING_CODES.filter((c) => isChainLevel(c) && FINDING_SEVERITY[c] === 'invalid').sort());
    const digests = [1, 2, 3, 4].map((h) => valid(t0 + h * H));
    for (const [code, make] of Object.entries(made)) {
      const shown = states([...digests, make(digests)], t0 + 0, t0 + 6 * H);
      expect(shown.some((s) => s !== 'valid' && s !== 'none'), `${code}: ${shown.join(' ')}`).toBe(true);
    }
  });
});

describe('the equivalent command', () => {
  it('quotes what a shell would split or expand, and names only what differs from the ARN', () => {
    expect(shellQuote('sample/bucket')).toBe('sample/bucket');
    expect(shellQuote("my copy's keys.json")).toBe(`'my copy'\\''s keys.json'`);
    expect(shellQuote('$(rm -rf ~)')).toBe("'$(rm -rf ~)'");
    const line = commandLine({
      trailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/t',
      startTime: '2025-01-08T00:00:00Z',
      endTime: '2025-01-08T06:00:00Z',
      root: 'ev/my bucket/',
      bucket: 'my-bucket',
      keyFiles: ['ev/public-keys.json'],
      accountId: '111122223333',
      region: 'eu-west-1',
      prefix: 'audit',
    });
    expect(line).toBe(
      "validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/t --start-time 2025-01-08T00:00:00Z --end-time 2025-01-08T06:00:00Z --local-dir 'ev/my bucket' --s3-bucket my-bucket --s3-prefix audit --region eu-west-1 --public-keys ev/public-keys.json --output json",
    );
    // From a checkpoint with no start: no --start-time; each key as NAME=FILE (PEM) or as given.
    const fromCheckpoint = commandLine({
      trailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/t',
      endTime: '2025-01-08T06:00:00Z',
      root: 'ev/b/',
      bucket: 'b',
      keyFiles: ['ev/public-keys.json'],
      accountId: '111122223333',
      region: 'us-east-1',
      checkpoint: { file: 'cp.note', keys: [{ path: 'log.pub.pem', name: 'example.com/log' }, { path: 'example.com/w+0123abcd+AQID' }] },
    });
    expect(fromCheckpoint).toBe(
      'validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/t --end-time 2025-01-08T06:00:00Z --local-dir ev/b --s3-bucket b --public-keys ev/public-keys.json --checkpoint cp.note --checkpoint-public-key example.com/log=log.pub.pem --checkpoint-public-key example.com/w+0123abcd+AQID --output json',
    );
  });
});
