// The auditor's page, in Node: folder discovery, the files-as-a-bucket source (the source
// contract), the Worker's run compared with the CLI's JSON report on the sample and on every
// tampered copy of it, the timeline, and the equivalent command (run as printed).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../src/index.js';
import { commandLine, equivalentCommand, shellQuote } from '../web/src/command.js';
import { discover } from '../web/src/discover.js';
import { FileSource } from '../web/src/file-source.js';
import type { PickedFile, Report, RunRequest, WorkerMessage } from '../web/src/protocol.js';
import { runValidation } from '../web/src/run.js';
import { timeline, type HourState } from '../web/src/timeline.js';
import { node, VALIDATE } from './helpers/cli.js';
import { sampleFolder } from './helpers/page.js';
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
      expect((await pageRun({ ...base, startTime: base.endTime, endTime: base.startTime })).failed).toMatch(/start time/);
      expect((await pageRun({ ...base, startTime: 'yesterday' })).failed).toMatch(/start time/);
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
  });
});
