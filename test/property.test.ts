// Property: flipping any single bit of any log or digest object, or of any digest's signature,
// is reported INVALID on that object whenever the flip changes the object's uncompressed
// content or breaks its gzip stream, and changes nothing in the report when it does not.
// fast-check prints the seed and the counterexample on failure; FC_SEED and FC_RUNS replay.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PublicKeySet, parseTrailArn, verifyTrail, type Finding } from './helpers/lib.js';
import { MemoryBucket } from './helpers/memory.js';
import { ROOT, tampering } from './helpers/tamper.js';

const t = tampering.trail;
const arn = parseTrailArn(t.trailArn);
const trail = { accountId: arn.accountId, region: arn.region, trailName: arn.trailName };
const keys = PublicKeySet.fromListPublicKeys(readFileSync(join(ROOT, t.publicKeys), 'utf8'));
const base = MemoryBucket.fromDir(join(ROOT, t.localDir));
const objectKeys = [...base.objects.keys()].sort();
const digestKeys = [...base.metadata.keys()].sort();

async function report(bucket: MemoryBucket): Promise<Array<Pick<Finding, 'code' | 'key' | 'severity'>>> {
  const out: Array<Pick<Finding, 'code' | 'key' | 'severity'>> = [];
  for await (const f of verifyTrail({ source: bucket.source(t.bucket), bucket: t.bucket, trail, keys, start: new Date(t.start), end: new Date(t.end) })) {
    out.push({ code: f.code, key: f.key, severity: f.severity });
  }
  return out;
}

/** What a plain gunzip makes of the bytes: the content, or undefined when it breaks. */
function content(bytes: Uint8Array): Buffer | undefined {
  try {
    return gunzipSync(bytes);
  } catch {
    return undefined; // a broken stream: the oracle's answer, not an error of the test
  }
}

const runs = Number(process.env.FC_RUNS ?? 500);
const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

describe('single-bit flips', () => {
  it('in an object: INVALID on it when its content or gzip changes, else an unchanged report', async () => {
    const baseline = await report(base);
    expect(baseline.every((f) => f.severity === 'valid')).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: objectKeys.length - 1 }), fc.nat(), async (which, bit) => {
        const key = objectKeys[which]!;
        const original = base.objects.get(key)!;
        const flipped = Uint8Array.from(original);
        const at = bit % (original.length * 8);
        flipped[at >> 3]! ^= 1 << (at & 7);
        const bucket = base.clone();
        bucket.objects.set(key, flipped);
        const before = content(original)!;
        const after = content(flipped);
        const findings = await report(bucket);
        if (after !== undefined && after.equals(before)) {
          expect(findings).toEqual(baseline);
        } else {
          expect(findings.filter((f) => f.key === key).map((f) => f.severity)).toContain('invalid');
        }
      }),
      { numRuns: runs, ...seed },
    );
  }, 120_000);

  it('in a gzip header time stamp (bytes 4-7) of any object: the report does not change', async () => {
    const baseline = await report(base);
    for (const key of objectKeys) {
      const bucket = base.clone();
      const flipped = Uint8Array.from(base.objects.get(key)!);
      flipped[4 + (key.length % 4)]! ^= 0x10;
      bucket.objects.set(key, flipped);
      expect(await report(bucket)).toEqual(baseline);
    }
  });

  it('in a digest signature: INVALID on that digest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: digestKeys.length - 1 }), fc.integer({ min: 0, max: 2047 }), async (which, bit) => {
        const key = digestKeys[which]!;
        const bucket = base.clone();
        const meta = bucket.metadata.get(key)!;
        const sig = Buffer.from(meta.signature!, 'hex');
        sig[bit >> 3]! ^= 1 << (bit & 7);
        meta.signature = sig.toString('hex');
        const findings = await report(bucket);
        expect(findings.filter((f) => f.key === key).map((f) => f.code)).toContain('DIGEST_SIGNATURE_INVALID');
      }),
      { numRuns: Math.ceil(runs / 3), ...seed },
    );
  }, 120_000);
});
