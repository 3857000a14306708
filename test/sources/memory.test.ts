import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalDirectory, MemorySource, PublicKeySet, isValidateLogsError, parseTrailArn, verifyTrail, type Finding, type ObjectSource } from '../helpers/lib.js';
import { MemoryBucket } from '../helpers/memory.js';
import { ROOT, tampering } from '../helpers/tamper.js';
import { sourceContract } from './contract.js';

sourceContract('MemorySource', async (bucket, objects) => ({
  source: new MemorySource(Object.entries(objects).map(([key, o]) => ({ key, bytes: o.body, ...(o.metadata && { metadata: o.metadata }) })), { bucket }),
  cleanup: () => undefined,
}));

async function keys(source: ObjectSource, bucket: string, prefix: string, after?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of source.list(bucket, prefix, after)) out.push(o.key);
  return out;
}

describe('MemorySource specifics', () => {
  const bytes = new Uint8Array([1]);

  it('holds records of several buckets, each named once or per record', async () => {
    const s = new MemorySource([{ key: 'a', bytes }, { bucket: 'other', key: 'b', bytes }], { bucket: 'main' });
    expect(await keys(s, 'main', '')).toEqual(['a']);
    expect(await keys(s, 'other', '')).toEqual(['b']);
    expect(await s.get('main', 'b')).toBeUndefined();
    expect(await s.get('other', 'b')).toBeDefined();
  });

  it('lists in S3 order, by UTF-8 bytes, not by UTF-16 code units', async () => {
    // U+FF01 sorts after U+1F600 in UTF-16 (0xFF01 > 0xD83D) but before it in UTF-8 (EF.. < F0..).
    const s = new MemorySource([{ key: 'k/\u{1F600}', bytes }, { key: 'k/\uFF01', bytes }, { key: 'k/a', bytes }], { bucket: 'b' });
    expect(await keys(s, 'b', 'k/')).toEqual(['k/a', 'k/\uFF01', 'k/\u{1F600}']);
    expect(await keys(s, 'b', 'k/', 'k/\uFF01')).toEqual(['k/\u{1F600}']);
  });

  it('lists a key that could climb out of a copy, and refuses to read it', async () => {
    const s = new MemorySource([{ key: 'a/../b', bytes }], { bucket: 'b' });
    expect(await keys(s, 'b', 'a/')).toEqual(['a/../b']);
    await expect(s.get('b', 'a/../b')).rejects.toSatisfy((e) => isValidateLogsError(e, 'UNSAFE_KEY'));
  });

  it('refuses records without a bucket, and two records at one key', () => {
    expect(() => new MemorySource([{ key: 'a', bytes }])).toThrow(TypeError);
    expect(() => new MemorySource([{ key: 'a', bytes }, { key: 'a', bytes }], { bucket: 'b' })).toThrow(/two records for s3:\/\/b\/a/);
  });

  it('names the folders under a prefix, and writes only where nothing is', async () => {
    const s = new MemorySource([{ key: 'r/us-east-1/x', bytes }, { key: 'r/us-east-1/y', bytes }, { key: 'r/eu-west-1/x', bytes }, { key: 'r/top', bytes }], { bucket: 'b' });
    const names: string[] = [];
    for await (const n of s.folders('b', 'r/')) names.push(n);
    expect(names).toEqual(['eu-west-1', 'us-east-1']);
    expect(await s.putIfAbsent('b', 'r/new', bytes, { signature: 'ab' })).toBe(true);
    expect(await s.putIfAbsent('b', 'r/new', new Uint8Array([2]), {})).toBe(false);
    expect((await s.get('b', 'r/new', { metadata: true }))?.metadata).toEqual({ signature: 'ab' });
    expect(await keys(s, 'b', 'r/')).toEqual(['r/eu-west-1/x', 'r/new', 'r/top', 'r/us-east-1/x', 'r/us-east-1/y']);
  });

  it('gives the same findings as the local copy it was loaded from', async () => {
    const t = tampering.trail;
    const arn = parseTrailArn(t.trailArn);
    const trail = { accountId: arn.accountId, region: arn.region, trailName: arn.trailName };
    const keySet = PublicKeySet.fromListPublicKeys(readFileSync(join(ROOT, t.publicKeys), 'utf8'));
    const run = async (source: ObjectSource): Promise<Finding[]> => {
      const out: Finding[] = [];
      for await (const f of verifyTrail({ source, bucket: t.bucket, trail, keys: keySet, start: new Date(t.start), end: new Date(t.end) })) out.push(f);
      return out;
    };
    const fromMemory = await run(MemoryBucket.fromDir(join(ROOT, t.localDir)).source(t.bucket));
    const fromDisk = await run(new LocalDirectory(join(ROOT, t.localDir), { bucket: t.bucket }));
    expect(fromMemory.length).toBeGreaterThan(10);
    expect(fromMemory).toEqual(fromDisk);
  });
});
