// Every parser, fed anything, ends in a result or the library's own error: never another
// exception, never a hang. fast-check prints the seed on failure; FC_SEED and FC_RUNS replay.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PublicKeySet,
  ValidateLogsError,
  findDuplicateKey,
  findDuplicateKeyIn,
  gunzipInto,
  keySegments,
  parseDigest,
  parseDigestKey,
  parseDigestTime,
  digestTimeMs,
  parseIsoOrEpoch,
  parseKeyTime,
  parseLogKey,
  parseMetadata,
  parsePublicKey,
  parseTrailArn,
  parseUserTime,
} from './helpers/lib.js';
import { ROOT, loadJson } from './helpers/tamper.js';

const runs = Number(process.env.FC_RUNS ?? 300);
const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const options = { numRuns: runs, ...seed };

/** Run `parse`; only a result or a ValidateLogsError may come out. */
function total(parse: () => unknown): void {
  try {
    parse();
  } catch (e) {
    if (!(e instanceof ValidateLogsError)) throw e;
  }
}
async function totalAsync(parse: () => Promise<unknown>): Promise<void> {
  try {
    await parse();
  } catch (e) {
    if (!(e instanceof ValidateLogsError)) throw e;
  }
}

const digestText = loadJson<{ text: string }>('aws-digest.json').text;
const keyList = readFileSync(join(ROOT, 'sample', 'public-keys.json'), 'utf8');

/** A valid text with a few characters replaced, inserted or removed. */
const mutated = (text: string): fc.Arbitrary<string> =>
  fc.array(fc.tuple(fc.nat({ max: text.length }), fc.oneof(fc.constant(''), fc.string({ maxLength: 3 })), fc.nat({ max: 3 })), { minLength: 1, maxLength: 4 }).map((edits) => {
    let s = text;
    for (const [at, insert, remove] of edits) s = s.slice(0, at % (s.length + 1)) + insert + s.slice((at % (s.length + 1)) + remove);
    return s;
  });

const anything = fc.oneof(fc.anything(), fc.jsonValue(), fc.string(), fc.double(), fc.bigInt().map(String));

describe('fuzzing the parsers', () => {
  it('parseDigest: bytes, JSON values, and mutations of a real digest', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => total(() => parseDigest(b))), options);
    fc.assert(fc.property(fc.jsonValue(), (v) => total(() => parseDigest(new TextEncoder().encode(JSON.stringify(v) ?? 'null')))), options);
    fc.assert(fc.property(mutated(digestText), (s) => total(() => parseDigest(new TextEncoder().encode(s)))), options);
  });

  it('parsePublicKey and the key list', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => total(() => parsePublicKey(b))), options);
    fc.assert(fc.property(fc.string(), (s) => total(() => parsePublicKey(s))), options);
    fc.assert(fc.property(mutated(keyList), (s) => total(() => PublicKeySet.fromListPublicKeys(s))), options);
    fc.assert(fc.property(anything, (v) => total(() => PublicKeySet.fromListPublicKeys(v))), options);
  });

  it('metadata sidecars', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), mutated('{"signature":"ab","signature-algorithm":"SHA256withRSA"}')), (s) => total(() => parseMetadata(s, 'x'))), options);
  });

  it('times', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), mutated('2025-01-08T05:21:42+02:00')), (s) => {
      total(() => parseUserTime(s));
      total(() => parseDigestTime(s));
      total(() => parseKeyTime(s));
    }), options);
    fc.assert(fc.property(anything, (v) => total(() => parseIsoOrEpoch(v, 'x'))), options);
  });

  it('the allocation-free digest time check agrees with the parser on any text', () => {
    // Valid times, impossible dates (Feb 30, hour 24, year 0099), and any text near the form.
    const real = fc.date({ min: new Date(Date.UTC(100, 0, 1)), max: new Date(Date.UTC(9999, 11, 31, 23, 59, 59)), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 19) + 'Z');
    const near = fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }), fc.integer({ min: 0, max: 61 }))
      .map((n) => n.map((v, i) => String(v).padStart(i === 0 ? 4 : 2, '0')))
      .map(([y, mo, d, h, mi, s]) => `${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
    fc.assert(fc.property(fc.oneof(real, near, mutated('2025-01-08T05:21:42Z'), fc.string()), (s) => {
      let parsed: number | undefined;
      try {
        parsed = parseDigestTime(s).getTime();
      } catch {
        parsed = undefined;
      }
      expect(digestTimeMs(s), s).toBe(parsed);
    }), options);
  });

  it('object keys and ARNs', () => {
    const digestKey = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20250108T010000Z.json.gz';
    fc.assert(fc.property(fc.oneof(fc.string(), mutated(digestKey)), (s) => {
      total(() => parseDigestKey(s));
      total(() => parseLogKey(s));
      total(() => keySegments(s));
      total(() => parseTrailArn(s));
    }), options);
  });

  it('duplicate-key scan on any valid JSON: nothing where JSON.stringify wrote it, the key where one is written twice', () => {
    // JSON.stringify never writes a key twice: nothing is found ...
    fc.assert(fc.property(fc.json(), fc.constantFrom(undefined, 2, '\t', ' \r\n'), (s, space) => {
      const text = JSON.stringify(JSON.parse(s), null, space);
      expect(findDuplicateKey(text)).toBeUndefined();
      expect(findDuplicateKeyIn(text, JSON.parse(text))).toBeUndefined();
    }), options);
    // ... and a key written twice, at any depth, is found and named.
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.jsonValue(), fc.array(fc.string(), { maxLength: 3 }), (obj, again, path) => {
        const key = Object.keys(obj)[0]!;
        let text = `${JSON.stringify(obj).slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(again) ?? 'null'}}`;
        for (const p of path) text = `{${JSON.stringify(p)}:${text}}`;
        expect(findDuplicateKey(text)?.key).toBe(key);
        // The cheaper route, which counts keys first, names the same one.
        expect(findDuplicateKeyIn(text, JSON.parse(text))).toEqual(findDuplicateKey(text));
      }),
      options,
    );
  });

  it('gunzip: random bytes and mutated gzip streams', async () => {
    const good = gzipSync('{"Records":[{"eventTime":"2025-01-08T00:00:00Z"}]}');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
            const b = Uint8Array.from(good);
            b[at]! ^= x;
            return b;
          }),
          fc.nat({ max: good.length }).map((n) => good.subarray(0, n)),
        ),
        fc.integer({ min: 1, max: 64 }),
        async (bytes, chunk) => {
          const parts: Uint8Array[] = [];
          for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
          await totalAsync(() => gunzipInto(parts, () => undefined, { maxOutputBytes: 1 << 20 }));
          await totalAsync(() => gunzipInto(parts, () => undefined, { maxOutputBytes: 1 << 20, sizeHint: bytes.length }));
        },
      ),
      options,
    );
  });
});
