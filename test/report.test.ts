// The summary (each object counted once), merging regions, judging a run, and the text lines
// of the codes the AWS CLI has none for.
import { describe, expect, it } from 'vitest';
import { CHAIN_LEVEL_MEANING, FINDING_CODES, FINDING_SEVERITY, Tally, chainLevelCounts, finding, isChainLevel, isEmptySummary, judgeRegions, mergeSummaries, type Finding, type FindingCode, type ObjectKind } from './helpers/lib.js';
import { TextWriter, findingLine } from '../src/cli/text.js';

const start = new Date('2025-01-08T00:00:00Z');
const end = new Date('2025-01-08T06:00:00Z');
const B = 'sample-bucket';

function f(code: FindingCode, kind: ObjectKind, key: string, extra: Partial<Finding> = {}): Finding {
  return finding(code, { kind, object: `s3://${B}/${key}`, bucket: B, key, message: `${code} about ${key}`, backfill: false, ...extra });
}
const log = (code: FindingCode, name: string): Finding => f(code, 'log', `AWSLogs/L/${name}.json.gz`);
const digest = (code: FindingCode, name: string, extra: Partial<Finding> = {}): Finding => f(code, 'digest', `AWSLogs/D/${name}.json.gz`, extra);

function tally(findings: Finding[]): ReturnType<Tally['summary']> {
  const t = new Tally(start, end);
  for (const x of findings) t.add(x);
  return t.summary();
}

describe('Tally counts each object once', () => {
  it('a log verified valid by one digest and reported LOG_DUPLICATE by the next counts once, as invalid', () => {
    const s = tally([log('LOG_VALID', 'a'), log('LOG_VALID', 'b'), log('LOG_DUPLICATE', 'a')]);
    expect(s.logs).toEqual({ valid: 1, invalid: 1 });
    expect(s.byCode).toEqual({ LOG_VALID: 2, LOG_DUPLICATE: 1 });
    expect(s.ok).toBe(false);
  });

  it('a log invalid at its first listing and duplicated later counts once', () => {
    const s = tally([log('LOG_HASH_MISMATCH', 'a'), log('LOG_DUPLICATE', 'a'), log('LOG_DUPLICATE', 'a'), log('LOG_VALID', 'b')]);
    expect(s.logs).toEqual({ valid: 1, invalid: 1 });
    expect(s.byCode.LOG_DUPLICATE).toBe(2);
  });

  it('an object with several invalid findings counts once; a valid finding after an invalid one does not count', () => {
    const s = tally([
      digest('DIGEST_SIGNATURE_INVALID', 'x'),
      digest('DIGEST_TIME_INVALID', 'x'),
      digest('DIGEST_UNREACHED', 'y'),
      digest('DIGEST_VALID', 'y'),
      digest('DIGEST_VALID', 'z', { backfill: true }),
      digest('DIGEST_LINK_MISMATCH', 'w', { backfill: true }),
    ]);
    expect(s.digests).toEqual({ valid: 0, invalid: 2 });
    expect(s.backfillDigests).toEqual({ valid: 1, invalid: 1 });
  });

  it('other objects (kind object) count in objects, once each, never valid', () => {
    const s = tally([
      f('OBJECT_UNEXPECTED', 'object', 'AWSLogs/L/planted.txt'),
      f('OBJECT_UNREADABLE', 'object', 'AWSLogs/L/planted.txt'),
      f('OBJECT_UNREADABLE', 'object', 'AWSLogs/L/fifo'),
      log('LOG_VALID', 'a'),
    ]);
    expect(s.objects).toEqual({ valid: 0, invalid: 2 });
    expect(s.logs).toEqual({ valid: 1, invalid: 0 });
    expect(s.digests).toEqual({ valid: 0, invalid: 0 });
  });

  it('chain findings count only by code (and gaps); CHAIN_EMPTY is a notice, not a failure', () => {
    const s = tally([f('CHAIN_EMPTY', 'chain', 'AWSLogs/D/'), f('CHAIN_GAP', 'chain', 'AWSLogs/D/g.json.gz')]);
    expect(s.ok).toBe(true);
    expect(s.gaps).toBe(1);
    expect(isEmptySummary(s)).toBe(true);
    expect(tally([f('CHAIN_LOOP', 'chain', 'AWSLogs/D/x.json.gz')]).ok).toBe(false);
  });

  it('the found range comes from valid digests, clipped to the request', () => {
    const s = tally([digest('DIGEST_VALID', 'a', { startTime: '2025-01-07T23:00:00Z', endTime: '2025-01-08T01:00:00Z' }), digest('DIGEST_VALID', 'b', { startTime: '2025-01-08T01:00:00Z', endTime: '2025-01-08T02:00:00Z' })]);
    expect([s.foundStart, s.foundEnd]).toEqual(['2025-01-08T00:00:00Z', '2025-01-08T02:00:00Z']);
  });
});

describe('merging and judging regions', () => {
  const full = tally([digest('DIGEST_VALID', 'a', { startTime: '2025-01-08T01:00:00Z', endTime: '2025-01-08T02:00:00Z' }), log('LOG_VALID', 'a'), log('LOG_VALID', 'b'), log('LOG_DUPLICATE', 'b')]);
  const other = tally([digest('DIGEST_VALID', 'b', { startTime: '2025-01-08T03:00:00Z', endTime: '2025-01-08T04:00:00Z' }), f('OBJECT_UNEXPECTED', 'object', 'AWSLogs/L/x')]);
  const empty = tally([f('CHAIN_EMPTY', 'chain', 'AWSLogs/D/')]);

  it('adds counts and codes, widens the found range, and is ok only when all are', () => {
    const m = mergeSummaries([full, other, empty]);
    expect(m.digests).toEqual({ valid: 2, invalid: 0 });
    expect(m.logs).toEqual({ valid: 1, invalid: 1 });
    expect(m.objects).toEqual({ valid: 0, invalid: 1 });
    expect(m.byCode).toEqual({ DIGEST_VALID: 2, LOG_VALID: 2, LOG_DUPLICATE: 1, OBJECT_UNEXPECTED: 1, CHAIN_EMPTY: 1 });
    expect([m.foundStart, m.foundEnd]).toEqual(['2025-01-08T01:00:00Z', '2025-01-08T04:00:00Z']);
    expect(m.ok).toBe(false);
    expect(mergeSummaries([empty, empty]).ok).toBe(true);
  });

  it('an empty region fails unless --allow-empty, or --regions all found another with digests', () => {
    const ok = tally([digest('DIGEST_VALID', 'a')]);
    const regions = [
      { region: 'eu-west-1', summary: empty },
      { region: 'us-east-1', summary: ok },
    ];
    expect(judgeRegions(regions).regions.map((r) => [r.region, r.empty, r.ok])).toEqual([
      ['eu-west-1', true, false],
      ['us-east-1', false, true],
    ]);
    expect(judgeRegions(regions).ok).toBe(false);
    expect(judgeRegions(regions, { emptyRegionsAllowed: true }).ok).toBe(true);
    expect(judgeRegions(regions, { allowEmpty: true }).ok).toBe(true);
    const allEmpty = judgeRegions([{ region: 'eu-west-1', summary: empty }], { emptyRegionsAllowed: true });
    expect([allEmpty.empty, allEmpty.ok]).toEqual([true, false]);
    expect(judgeRegions([{ region: 'eu-west-1', summary: empty }], { emptyRegionsAllowed: true, allowEmpty: true }).ok).toBe(true);
  });

  it('a gap fails a region only with failOnGap', () => {
    const gap = tally([digest('DIGEST_VALID', 'a'), f('CHAIN_GAP', 'chain', 'AWSLogs/D/a.json.gz')]);
    expect(judgeRegions([{ region: 'us-east-1', summary: gap }]).ok).toBe(true);
    expect(judgeRegions([{ region: 'us-east-1', summary: gap }], { failOnGap: true }).ok).toBe(false);
  });
});

describe('text lines for findings the AWS CLI has no line for', () => {
  it('other objects, the chain, and notices', () => {
    expect(findingLine(f('OBJECT_UNEXPECTED', 'object', 'AWSLogs/L/planted.txt'))).toBe(`Object\ts3://${B}/AWSLogs/L/planted.txt\tINVALID: OBJECT_UNEXPECTED about AWSLogs/L/planted.txt`);
    expect(findingLine(f('CHAIN_LOOP', 'chain', 'AWSLogs/D/x.json.gz'))).toBe(`Digest chain\ts3://${B}/AWSLogs/D/x.json.gz\tINVALID: CHAIN_LOOP about AWSLogs/D/x.json.gz`);
    expect(findingLine(f('CHAIN_EMPTY', 'chain', 'AWSLogs/D/'))).toBe(`Digest chain\ts3://${B}/AWSLogs/D/\tNOTICE: CHAIN_EMPTY about AWSLogs/D/`);
    expect(findingLine(log('LOG_DUPLICATE', 'a'))).toBe(`Log file\ts3://${B}/AWSLogs/L/a.json.gz\tINVALID: LOG_DUPLICATE about AWSLogs/L/a.json.gz`);
    expect(findingLine(digest('DIGEST_UNREACHED', 'a', { backfill: true }))).toBe(`(backfill) Digest file\ts3://${B}/AWSLogs/D/a.json.gz\tINVALID: DIGEST_UNREACHED about AWSLogs/D/a.json.gz`);
    // The AWS CLI's own lines are unchanged.
    expect(findingLine(log('LOG_HASH_MISMATCH', 'a'))).toBe(`Log file\ts3://${B}/AWSLogs/L/a.json.gz\tINVALID: hash value doesn't match`);
  });

  it('the summary has a line for other objects only when there are some', () => {
    const print = (findings: Finding[]): string => {
      let out = '';
      const w = new TextWriter((s) => (out += s), () => undefined, false);
      w.summary(tally(findings), '2025-01-08T00:00:00Z', '2025-01-08T06:00:00Z');
      return out;
    };
    const valid = [digest('DIGEST_VALID', 'a', { startTime: '2025-01-08T00:00:00Z', endTime: '2025-01-08T01:00:00Z' }), log('LOG_VALID', 'a')];
    expect(print(valid)).toBe('Results requested for 2025-01-08T00:00:00Z to 2025-01-08T06:00:00Z\nResults found for 2025-01-08T00:00:00Z to 2025-01-08T01:00:00Z:\n\n1/1 digest files valid\n1/1 log files valid\n');
    expect(print([...valid, f('OBJECT_UNEXPECTED', 'object', 'AWSLogs/L/x'), f('OBJECT_UNREADABLE', 'object', 'AWSLogs/L/y')])).toBe(
      'Results requested for 2025-01-08T00:00:00Z to 2025-01-08T06:00:00Z\nResults found for 2025-01-08T00:00:00Z to 2025-01-08T01:00:00Z:\n\n1/1 digest files valid\n1/1 log files valid\n' +
        '2/2 other objects INVALID (neither a log nor a digest file of this trail)\n',
    );
    expect(print([f('OBJECT_UNEXPECTED', 'object', 'AWSLogs/L/x')])).toBe(
      'Results requested for 2025-01-08T00:00:00Z to 2025-01-08T06:00:00Z\nNo digests found\n1/1 other objects INVALID (neither a log nor a digest file of this trail)\n',
    );
  });
});

describe('the summary never hides a chain-level finding', () => {
  const print = (findings: Finding[], failOnGap = false): string => {
    let out = '';
    const w = new TextWriter((x) => (out += x), () => undefined, false);
    w.summary(tally(findings), '2025-01-08T00:00:00Z', '2025-01-08T06:00:00Z', { failOnGap });
    return out;
  };
  const valid = [digest('DIGEST_VALID', 'a', { startTime: '2025-01-08T00:00:00Z', endTime: '2025-01-08T01:00:00Z' }), log('LOG_VALID', 'a')];
  const head = 'Results requested for 2025-01-08T00:00:00Z to 2025-01-08T06:00:00Z\nResults found for 2025-01-08T00:00:00Z to 2025-01-08T01:00:00Z:\n\n1/1 digest files valid\n1/1 log files valid\n';

  it('one predicate decides which codes are about the chain: exactly these, out of the closed set', () => {
    expect(FINDING_CODES.filter(isChainLevel)).toEqual(['DIGEST_UNREACHED', 'CHAIN_GAP', 'CHAIN_TAIL_MISSING', 'CHAIN_LOOP', 'CHAIN_EMPTY', 'CHECKPOINT_MISMATCH', 'CHECKPOINT_ROLLBACK']);
    // Every code of the union is placed, on one side or the other (the record is typed over the union; checked at run time too).
    expect(Object.keys(CHAIN_LEVEL_MEANING).sort()).toEqual([...FINDING_CODES].sort());
  });

  it('under INVALID, each chain-level code gets a line after the counts, whatever the counts say', () => {
    for (const code of FINDING_CODES.filter((c) => isChainLevel(c) && FINDING_SEVERITY[c] === 'invalid')) {
      const extra = code === 'DIGEST_UNREACHED' ? digest(code, 'b') : f(code, 'chain', 'AWSLogs/D/a.json.gz');
      const out = print([...valid, extra]);
      expect(out, code).toMatch(new RegExp(`\\n1 ${code} INVALID \\(.+\\)\\n$`));
      expect(out.startsWith(code === 'DIGEST_UNREACHED' ? head.replace('1/1 digest files valid', '1/2 digest files valid, 1/2 digest files INVALID') : head), code).toBe(true);
    }
    // The case: every count green, and a checkpoint mismatch.
    expect(print([...valid, f('CHECKPOINT_MISMATCH', 'chain', 'AWSLogs/D/p.json.gz')])).toBe(
      head + '1 CHECKPOINT_MISMATCH INVALID (the chain does not lead back to the digest a checkpoint pins: history rewritten after the checkpoint was taken)\n',
    );
  });

  it('a rollback with no digest left: "No digests found", then the rollback', () => {
    expect(print([f('CHECKPOINT_ROLLBACK', 'chain', 'AWSLogs/D/p.json.gz')])).toBe(
      'Results requested for 2025-01-08T00:00:00Z to 2025-01-08T06:00:00Z\nNo digests found\n' +
        '1 CHECKPOINT_ROLLBACK INVALID (the newest digests, the one a checkpoint pins included, were deleted after the checkpoint was taken)\n',
    );
  });

  it('several of one code are counted on one line; codes come in a stable order', () => {
    const out = print([...valid, f('CHAIN_LOOP', 'chain', 'AWSLogs/D/x.json.gz'), f('CHAIN_TAIL_MISSING', 'chain', 'AWSLogs/D/t.json.gz'), f('CHAIN_LOOP', 'chain', 'AWSLogs/D/y.json.gz')]);
    expect(out.split('\n').filter((l) => / INVALID \(/.test(l)).map((l) => l.split(' (')[0])).toEqual(['1 CHAIN_TAIL_MISSING INVALID', '2 CHAIN_LOOP INVALID']);
  });

  it('notices add nothing, as the AWS CLI prints; a gap gets its line only when gaps fail the run', () => {
    expect(print(valid)).toBe(head);
    const gap = [...valid, f('CHAIN_GAP', 'chain', 'AWSLogs/D/g.json.gz')];
    expect(print(gap)).toBe(head);
    expect(print(gap, true)).toBe(head + '1 CHAIN_GAP INVALID (gaps in the chain: no digest covers the hours between its segments)\n');
    expect(print([f('CHAIN_EMPTY', 'chain', 'AWSLogs/D/')])).toBe('Results requested for 2025-01-08T00:00:00Z to 2025-01-08T06:00:00Z\nNo digests found\n');
    expect(chainLevelCounts(tally(gap), true).map((c) => [c.code, c.count, c.severity])).toEqual([['CHAIN_GAP', 1, 'notice']]);
    expect(chainLevelCounts(tally(gap))).toEqual([]);
  });

  it('a digest without its signature is said as such, not as a signature that failed', () => {
    const missing = finding('DIGEST_SIGNATURE_MISSING', { kind: 'digest', object: `s3://${B}/AWSLogs/D/a.json.gz`, bucket: B, key: 'AWSLogs/D/a.json.gz', backfill: false, message: 'signature not found: no signature metadata' });
    expect(findingLine(missing)).toBe(`Digest file\ts3://${B}/AWSLogs/D/a.json.gz\tINVALID: signature not found: no signature metadata`);
    expect(findingLine({ ...missing, code: 'DIGEST_SIGNATURE_INVALID', severity: 'invalid' })).toBe(`Digest file\ts3://${B}/AWSLogs/D/a.json.gz\tINVALID: signature verification failed`);
  });
});
