import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  digestKey,
  logKey,
  parseDigest,
  parseDigestKey,
  parseLogKey,
  parseTrailArn,
  parseUserTime,
  parseDigestTime,
  serializeDigest,
  isValidateLogsError,
  EventTimeScanner,
  type TrailRef,
} from './helpers/lib.js';
import { loadJson } from './helpers/tamper.js';

interface AwsDigest { text: string; sha256: string; logFiles: number; record: Record<string, unknown> }
const aws = loadJson<AwsDigest>('aws-digest.json');
const awsBytes = new TextEncoder().encode(aws.text);

interface KeyVectors {
  digests: Array<{ name: string; trail: TrailRef; endTime: string; backfill: boolean; key: string }>;
  logs: Array<{ name: string; trail: TrailRef; deliveryTime: string; unique: string; key: string }>;
  notKeys: string[];
}
const keys = loadJson<KeyVectors>('keys.json');

function formatError(bytes: Uint8Array): string {
  try {
    parseDigest(bytes, 's3://b/k');
  } catch (e) {
    if (isValidateLogsError(e, 'DIGEST_FORMAT')) return e.message;
    throw e;
  }
  throw new Error('expected DIGEST_FORMAT');
}

const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
const base = JSON.parse(aws.text) as Record<string, unknown>;

describe('the real AWS digest', () => {
  it('parses, keeps its exact bytes and hashes them', () => {
    const d = parseDigest(awsBytes);
    expect(d.sha256).toBe(aws.sha256);
    expect(d.bytes).toBe(awsBytes);
    expect(d.record.logFiles).toHaveLength(aws.logFiles);
    expect(d.record.digestS3Object).toBe(aws.record.digestS3Object);
    expect(d.isStarting).toBe(false);
    expect(d.endTime.toISOString()).toBe('2023-10-15T23:04:04.000Z');
  });

  it('is written back byte for byte by serializeDigest (Java-style \\/ escapes, CloudTrail field order)', () => {
    const d = parseDigest(awsBytes);
    expect(new TextDecoder().decode(serializeDigest(d.record))).toBe(aws.text);
  });
});

describe('serializeDigest writes what JSON.stringify writes, with every / escaped', () => {
  // The reference: the record in CloudTrail's field order through JSON.stringify.
  const reference = (r: Record<string, unknown>): string => {
    const fields = Object.keys(base);
    const ordered = Object.fromEntries(fields.filter((f) => f !== 'logFiles').map((f) => [f, r[f]]));
    const entries = (r.logFiles as Array<Record<string, unknown>>).map((l) => ({
      s3Bucket: l.s3Bucket,
      s3Object: l.s3Object,
      hashValue: l.hashValue,
      hashAlgorithm: l.hashAlgorithm,
      newestEventTime: l.newestEventTime,
      oldestEventTime: l.oldestEventTime,
    }));
    return JSON.stringify({ ...ordered, logFiles: entries }).replaceAll('/', '\\/');
  };
  // Strings of every kind JSON escapes: quotes, backslashes, controls, slashes, non-ASCII,
  // astral characters and lone surrogates.
  const hostile = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.string({ unit: fc.constantFrom('/', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '\u2028', '\ud83d', '\ude00', '😀', 'a') }),
  );
  const value = fc.oneof(hostile, fc.constant(null));

  it('for entries with any strings in any field, and nulls', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ s3Bucket: hostile, s3Object: hostile, hashValue: hostile, hashAlgorithm: hostile, newestEventTime: value, oldestEventTime: value }), { maxLength: 8 }),
        hostile,
        (logFiles, account) => {
          const r = { ...base, awsAccountId: account, logFiles };
          expect(new TextDecoder().decode(serializeDigest(r as never))).toBe(reference(r));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('for values of other types from untyped code (numbers, missing fields, objects)', () => {
    const odd = [1, undefined, { a: '/' }, true, ['x/y']];
    for (const v of odd) {
      const entry = { s3Bucket: 'b', s3Object: 'a/b', hashValue: v, hashAlgorithm: 'SHA-256', newestEventTime: null, oldestEventTime: v };
      const r = { ...base, logFiles: [entry, { ...entry, hashValue: 'h' }] };
      expect(new TextDecoder().decode(serializeDigest(r as never))).toBe(reference(r));
    }
  });

  it('for a digest of thousands of entries (the buffer grows)', () => {
    const logFiles = Array.from({ length: 3000 }, (_, i) => ({
      s3Bucket: 'bucket',
      s3Object: `AWSLogs/1/CloudTrail/us-east-1/2025/03/01/${'x/'.repeat(i % 50)}${i}.json.gz`,
      hashValue: 'a'.repeat(64),
      hashAlgorithm: 'SHA-256',
      newestEventTime: '2025-03-01T00:59:59Z',
      oldestEventTime: i % 7 === 0 ? null : '2025-03-01T00:00:00Z',
    }));
    const r = { ...base, logFiles };
    expect(new TextDecoder().decode(serializeDigest(r as never))).toBe(reference(r));
  });
});

describe('digest format checks name the field', () => {
  it.each([
    ['not JSON', new TextEncoder().encode('{"a":'), /not valid JSON/],
    ['not UTF-8', Uint8Array.from([0x7b, 0xff, 0x7d]), /UTF-8/],
    ['an array', enc([]), /not a JSON object/],
    ['missing digestS3Object', enc({ ...base, digestS3Object: undefined }), /"digestS3Object" must be a string/],
    ['numeric account', enc({ ...base, awsAccountId: 327878933619 }), /"awsAccountId" must be a string/],
    ['bad end time', enc({ ...base, digestEndTime: '2023-10-15 23:04:04' }), /"digestEndTime"/],
    ['logFiles not an array', enc({ ...base, logFiles: {} }), /"logFiles" must be an array/],
    ['a log entry without hashValue', enc({ ...base, logFiles: [{ ...(base.logFiles as object[])[0], hashValue: undefined }] }), /"logFiles\[0\]\.hashValue"/],
    ['a short log hash', enc({ ...base, logFiles: [{ ...(base.logFiles as object[])[0], hashValue: 'abc' }] }), /logFiles\[0\]\.hashValue" must be 64 hex/],
    ['a missing event time field', enc({ ...base, newestEventTime: undefined }), /"newestEventTime" is missing/],
    ['previousDigest* half null', enc({ ...base, previousDigestSignature: null }), /all null or all set/],
    ['previous hash not hex', enc({ ...base, previousDigestHashValue: 'nothex' }), /previousDigestHashValue/],
    // 64 characters each, one of them no hex digit: just past a digit, just past F and f, a control character that a case fold would turn into a digit.
    ...['/', ':', 'G', 'g', '@', '`', '\u0010', '\u0660'].map((c): [string, Uint8Array, RegExp] => [
      `a log hash holding ${JSON.stringify(c)}`,
      enc({ ...base, logFiles: [{ ...(base.logFiles as object[])[0], hashValue: 'aB'.repeat(31) + c + '0' }] }),
      /logFiles\[0\]\.hashValue" must be 64 hex/,
    ]),
    // A real U+FFFD first, then a byte sequence that is no UTF-8 (C3 28).
    ['not UTF-8 after a U+FFFD that is', Uint8Array.from([...new TextEncoder().encode('{"a":"\uFFFD'), 0xc3, 0x28, 0x22, 0x7d]), /UTF-8/],
    ['a duplicated field', new TextEncoder().encode(aws.text.replace('{"awsAccountId":"327878933619"', '{"awsAccountId":"327878933619","awsAccountId":"111122223333"')), /"awsAccountId" appears twice in \$/],
    ['a duplicated field in a log entry', new TextEncoder().encode(aws.text.replace('"hashAlgorithm":"SHA-256",', '"hashAlgorithm":"SHA-256","hashAlgorithm":"MD5",')), /"hashAlgorithm" appears twice in \$\.logFiles\[0\]/],
    ['a huge number for a string field', new TextEncoder().encode(aws.text.replace('"awsAccountId":"327878933619"', '"awsAccountId":1e999999')), /"awsAccountId" must be a string/],
    ['nesting 200,000 deep', new TextEncoder().encode('['.repeat(200_000) + ']'.repeat(200_000)), /not a JSON object/],
    ['an object nested 200,000 deep', new TextEncoder().encode('{"a":'.repeat(200_000) + '1' + '}'.repeat(200_000)), /"awsAccountId" must be a string/],
  ])('rejects %s', (_, bytes, message) => {
    expect(formatError(bytes)).toMatch(message);
  });

  it('accepts hashes in either case, and a text holding U+FFFD written as UTF-8', () => {
    const entry = (base.logFiles as object[])[0];
    const d = parseDigest(enc({ ...base, logFiles: [{ ...entry, hashValue: 'aBcDeF0123456789'.repeat(4) }, { ...entry, s3Object: 'x\uFFFDy' }] }));
    expect(d.record.logFiles.map((l) => [l.hashValue.length, l.s3Object.includes('\uFFFD')])).toEqual([
      [64, false],
      [64, true],
    ]);
  });

  it('accepts a starting digest (five nulls) and an empty one', () => {
    const d = parseDigest(
      enc({
        ...base,
        previousDigestS3Bucket: null,
        previousDigestS3Object: null,
        previousDigestHashValue: null,
        previousDigestHashAlgorithm: null,
        previousDigestSignature: null,
        newestEventTime: null,
        oldestEventTime: null,
        logFiles: [],
      }),
    );
    expect(d.isStarting).toBe(true);
    expect(d.record.logFiles).toEqual([]);
  });
});

describe('object keys', () => {
  it.each(keys.digests)('builds and parses a digest key: $name', (v) => {
    expect(digestKey(v.trail, new Date(v.endTime), v.backfill)).toBe(v.key);
    const p = parseDigestKey(v.key);
    expect(p.accountId).toBe(v.trail.accountId);
    expect(p.region).toBe(v.trail.region);
    expect(p.homeRegion).toBe(v.trail.homeRegion ?? v.trail.region);
    expect(p.trailName).toBe(v.trail.trailName);
    expect(p.prefix).toBe(v.trail.prefix);
    expect(p.organizationId).toBe(v.trail.organizationId);
    expect(p.backfill).toBe(v.backfill);
    expect(p.endTime.toISOString()).toBe(new Date(v.endTime).toISOString());
  });

  it.each(keys.logs)('builds and parses a log key: $name', (v) => {
    expect(logKey(v.trail, new Date(v.deliveryTime), v.unique)).toBe(v.key);
    const p = parseLogKey(v.key);
    expect(p.accountId).toBe(v.trail.accountId);
    expect(p.unique).toBe(v.unique);
    expect(p.deliveryTime.toISOString()).toBe(new Date(v.deliveryTime).toISOString());
    expect(p.prefix).toBe(v.trail.prefix);
    expect(p.organizationId).toBe(v.trail.organizationId);
  });

  it.each(keys.notKeys)('refuses %s', (key) => {
    expect(() => parseDigestKey(key)).toThrow(/not a CloudTrail digest key|not a real date/);
  });

  it('parses trail ARNs and refuses others', () => {
    expect(parseTrailArn('arn:aws:cloudtrail:us-west-2:327878933619:trail/llm-guard-trail')).toEqual({
      partition: 'aws',
      region: 'us-west-2',
      accountId: '327878933619',
      trailName: 'llm-guard-trail',
    });
    expect(parseTrailArn('arn:aws-us-gov:cloudtrail:us-gov-west-1:111122223333:trail/x').partition).toBe('aws-us-gov');
    for (const bad of ['', 'arn:aws:s3:::bucket', 'arn:aws:cloudtrail:us-east-1:12345:trail/x', 'arn:aws:cloudtrail:us-east-1:111122223333:trail/']) {
      expect(() => parseTrailArn(bad)).toThrow(/not a trail ARN/);
    }
  });
});

describe('times', () => {
  it.each([
    ['2025-01-08T05:21:42Z', '2025-01-08T05:21:42.000Z'],
    ['2025-01-08', '2025-01-08T00:00:00.000Z'],
    ['2025-01-08T05:21Z', '2025-01-08T05:21:00.000Z'],
    ['2025-01-08T05:21:42', '2025-01-08T05:21:42.000Z'],
    ['2025-01-08 05:21:42', '2025-01-08T05:21:42.000Z'],
    ['20250108T052142Z', '2025-01-08T05:21:42.000Z'],
    ['2025-01-08T07:21:42+02:00', '2025-01-08T05:21:42.000Z'],
    ['2025-01-08T00:21:42-0500', '2025-01-08T05:21:42.000Z'],
    ['2025-01-08T05:21:42.250Z', '2025-01-08T05:21:42.250Z'],
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
  ])('reads the user time %s', (text, iso) => {
    expect(parseUserTime(text).toISOString()).toBe(iso);
  });

  it.each(['', 'yesterday', '2025-13-01', '2025-02-30', '2023-02-29', '2025-01-08T24:00:00Z', '2025-01-08T05:60Z', '2025-01-08T05:21:42+25:00', '1/8/2025'])(
    'refuses the user time %j',
    (text) => {
      expect(() => parseUserTime(text, '--start-time')).toThrow(/--start-time/);
    },
  );

  it('reads digest times strictly', () => {
    expect(parseDigestTime('2023-10-15T23:04:04Z').getTime()).toBe(Date.UTC(2023, 9, 15, 23, 4, 4));
    expect(() => parseDigestTime('2023-10-15T23:04:04.000Z')).toThrow();
    expect(() => parseDigestTime('2023-10-15T23:04:04+00:00')).toThrow();
  });

  it('gives Date.UTC\'s time for every day of every year a key or digest can name (computed without it)', () => {
    let wrong = 0;
    for (let y = 100; y <= 9999; y++) {
      for (let mo = 1; mo <= 12; mo++) {
        for (let d = 1; d <= 31; d++) {
          const expected = new Date(Date.UTC(y, mo - 1, d, 23, 59, 58));
          const real = expected.getUTCMonth() === mo - 1; // not (say) February 30th
          const at = `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T23:59:58Z`;
          if (real ? parseDigestTime(at).getTime() !== expected.getTime() : !throws(() => parseDigestTime(at))) wrong++;
        }
      }
    }
    expect(wrong).toBe(0);
    expect(parseDigestTime('0100-01-01T00:00:00Z').getTime()).toBe(Date.UTC(100, 0, 1));
    expect(parseDigestTime('9999-12-31T23:59:59Z').getTime()).toBe(Date.UTC(9999, 11, 31, 23, 59, 59));
    expect(parseLogKey('AWSLogs/111122223333/CloudTrail/us-east-1/2000/02/29/111122223333_CloudTrail_us-east-1_20000229T2359Z_AAAAAAAAAAAAAAAA.json.gz').deliveryTime.getTime()).toBe(Date.UTC(2000, 1, 29, 23, 59));
  });
});

const throws = (f: () => unknown): boolean => {
  try {
    f();
    return false;
  } catch {
    return true;
  }
};

describe('event time scanning', () => {
  const text =
    '{"Records":[{"eventTime":"2025-01-08T00:10:00Z","userAgent":"é日本\u{1F600}"},' +
    '{"eventTime":"2025-01-07T23:59:59Z"},{"eventTime":"not a time at all...."},{"eventTime":"2025-01-08T00:59:00Z"}]}';
  const bytes = new TextEncoder().encode(text);

  it('finds the newest and oldest, whatever the chunk boundaries (non-ASCII bytes before them included)', () => {
    for (let i = 0; i <= bytes.length; i++) {
      for (const j of [i, Math.min(bytes.length, i + 7), Math.min(bytes.length, i + 40)]) {
        const scan = new EventTimeScanner();
        scan.update(bytes.subarray(0, i));
        scan.update(bytes.subarray(i, j));
        scan.update(bytes.subarray(j));
        expect([scan.newest, scan.oldest], `split at ${i}, ${j}`).toEqual(['2025-01-08T00:59:00Z', '2025-01-07T23:59:59Z']);
      }
    }
  });

  it('agrees with a regular expression over the whole text, on random logs in random pieces', () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const pieces = ['"eventTime":"', '"eventTime":"2025-0', 'T', '"', ':', 'Z', 'é', '{"eventTime":"2024-12-31T23:59:59Z"}', '1', '-', '9', 'x'];
    for (let round = 0; round < 300; round++) {
      const text = Array.from({ length: 60 }, () => (rand(3) === 0 ? `"eventTime":"20${rand(10)}${rand(10)}-${rand(2)}${rand(10)}-1${rand(10)}T${rand(3)}${rand(10)}:0${rand(10)}:5${rand(10)}Z"` : pieces[rand(pieces.length)])).join('');
      const all = [...text.matchAll(/"eventTime":"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)/g)].map((m) => m[1]!).sort();
      const bytes = new TextEncoder().encode(text);
      const scan = new EventTimeScanner();
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + rand(40);
        scan.update(bytes.subarray(i, i + n));
        i += n;
      }
      expect([scan.newest, scan.oldest], text).toEqual([all.at(-1) ?? null, all[0] ?? null]);
    }
  });

  it('finds none in a log of another shape', () => {
    const scan = new EventTimeScanner();
    scan.update(new TextEncoder().encode('{"eventTime": "2025-01-08T00:10:00Z", "time":"2025-01-08T00:10:00Z"}'));
    expect([scan.newest, scan.oldest]).toEqual([null, null]);
  });
});
