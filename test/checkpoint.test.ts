// Checkpoint bodies (grammar vectors), and the extension check over chains made by the generator.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { devNull } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CHECKPOINT_HEADER,
  checkExtension,
  checkpointChain,
  createSigner,
  extensionFindings,
  formatCheckpoint,
  generateDigests,
  generateNoteSignerKey,
  openCheckpoint,
  signCheckpoint,
  signNote,
  noteSignerKeyFromPem,
  noteVerifierKeyFromPem,
  parseNote,
  parseNoteSignerKey,
  parseNoteVerifierKey,
  parseCheckpoint,
  parseDigest,
  reportSha256,
  serializeDigest,
  sha256,
  toHex,
  ValidateLogsError,
  verifyTimestamp,
  type Checkpoint,
  type DeliveredLog,
  type Finding,
  type GeneratedDigest,
  type TrailRef,
  collect,
} from './helpers/lib.js';
import { MemoryBucket } from './helpers/memory.js';
import { ROOT, loadJson } from './helpers/tamper.js';

interface CheckpointVectors {
  valid: { body: string } & Checkpoint;
  invalid: Array<{ name: string; body: string }>;
  report: { value: { findings: Finding[]; summary: unknown }; canonical: string; sha256: string };
}
const V = loadJson<CheckpointVectors>('checkpoint.json');

describe('checkpoint bodies', () => {
  it('parses the valid vector and writes it back byte for byte, whatever the order given', () => {
    const c = parseCheckpoint(V.valid.body);
    expect(c).toEqual({ chains: V.valid.chains, reportSha256: V.valid.reportSha256 });
    expect(formatCheckpoint(c)).toBe(V.valid.body);
    expect(formatCheckpoint({ ...c, chains: [...c.chains].reverse() })).toBe(V.valid.body);
  });

  it.each(V.invalid)('refuses $name', ({ body }) => {
    let code = 'accepted';
    try {
      parseCheckpoint(body, 'cp.note');
    } catch (e) {
      if (!(e instanceof ValidateLogsError)) throw e;
      code = e.code;
      expect(e.message).toMatch(/^cp\.note/);
    }
    expect(code).toBe('CHECKPOINT_FORMAT');
  });

  it('refuses to write what it could not read back', () => {
    const c = parseCheckpoint(V.valid.body);
    const chain = c.chains[0]!;
    expect(() => formatCheckpoint({ ...c, chains: [chain, chain] })).toThrow(/given twice/);
    expect(() => formatCheckpoint({ ...c, chains: [] })).toThrow(/no chain/);
    expect(() => formatCheckpoint({ ...c, chains: [{ ...chain, key: chain.key.replace('AWSLogs', 'my logs/AWSLogs') }] })).toThrow(/space/);
  });

  it('signs a checkpoint as a note and opens it only with every key', async () => {
    const log = await generateNoteSignerKey('example.com/log');
    const witness = await generateNoteSignerKey('example.com/witness');
    const c = parseCheckpoint(V.valid.body);
    const signed = await signCheckpoint(c, [log]);
    expect(signed.startsWith(`${V.valid.body}\n\u2014 example.com/log `)).toBe(true);
    expect((await openCheckpoint(signed, [log])).checkpoint).toEqual(c);
    const cosigned = await signCheckpoint((await openCheckpoint(signed, [log])).note, [witness]);
    expect((await openCheckpoint(new TextEncoder().encode(cosigned), [log, witness], 'cp.note')).note.verified).toHaveLength(2);
    await expect(openCheckpoint(signed, [log, witness], 'cp.note')).rejects.toThrow(/^cp\.note is not signed by key example\.com\/witness\+/);
    // A validly signed note whose text is not a checkpoint.
    await expect(openCheckpoint(await signNote('hello\n', [log]), [log], 'cp.note')).rejects.toThrow(/^cp\.note: line 1 is not/);
  });

  it('hashes the report as canonical JSON (the vector was hashed by an independent implementation)', () => {
    expect(reportSha256(V.report.value)).toBe(V.report.sha256);
    // The same values with every object's keys in reverse order hash the same.
    const reverse = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reverse) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverse(x)])) : v;
    const reordered = reverse(V.report.value) as typeof V.report.value;
    expect(Object.keys(reordered.findings[0]!)[0]).toBe('message');
    expect(reportSha256({ summary: reordered.summary, findings: reordered.findings })).toBe(V.report.sha256);
    expect(reportSha256({ ...V.report.value, findings: [] })).not.toBe(V.report.sha256);
  });
});

// A chain of seven hourly digests, as CloudTrail or write-digests makes them.
const trail: TrailRef = { accountId: '111122223333', region: 'us-east-1', trailName: 'sample-trail' };
const BUCKET = 'sample-bucket';
const T0 = Date.UTC(2025, 0, 8, 0);
const H = 3_600_000;
const signer = await createSigner(readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'));

function logs(changedHour?: number): DeliveredLog[] {
  return Array.from({ length: 7 }, (_, h) => ({
    key: `AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08/111122223333_CloudTrail_us-east-1_20250108T0${h}15Z_abcdefghijklmno${h}.json.gz`,
    deliveredAt: new Date(T0 + h * H + 15 * 60_000),
    sha256: toHex(sha256(new TextEncoder().encode(`log ${h}${h === changedHour ? ' rewritten' : ''}`))),
  }));
}
async function chain(changedHour?: number, from = T0): Promise<GeneratedDigest[]> {
  return collect(generateDigests({ trail, bucket: BUCKET, logs: logs(changedHour).filter((l) => l.deliveredAt.getTime() >= from), until: new Date(T0 + 7 * H), from: new Date(from), signer }));
}
function store(digests: GeneratedDigest[], into = new MemoryBucket()): MemoryBucket {
  for (const d of digests) into.objects.set(d.key, d.gzipped);
  return into;
}

describe('checkExtension', () => {
  let digests: GeneratedDigest[];
  let bucket: MemoryBucket;
  const pin = (i: number): { bucket: string; key: string; sha256: string; endTime: string } => ({
    bucket: BUCKET,
    key: digests[i]!.key,
    sha256: digests[i]!.sha256,
    endTime: digests[i]!.record.digestEndTime,
  });
  const head = (i: number): { bucket: string; key: string } => ({ bucket: BUCKET, key: digests[i]!.key });
  beforeAll(async () => {
    digests = await chain();
    bucket = store(digests);
    expect(digests).toHaveLength(7);
  });

  it('accepts a chain that leads back to the pinned digest, and the pinned digest itself', async () => {
    const r = await checkExtension({ source: (bucket).source(BUCKET), pinned: pin(2), head: { ...head(6), sha256: digests[6]!.sha256 } });
    expect(r.ok && r.steps).toBe(4);
    const same = await checkExtension({ source: (bucket).source(BUCKET), pinned: pin(6), head: head(6) });
    expect(same.ok && same.steps).toBe(0);
    expect(extensionFindings(r, pin(2))).toEqual([]);
  });

  it('reports a rollback when the newest digest is older than the pinned one', async () => {
    const r = await checkExtension({ source: (bucket).source(BUCKET), pinned: pin(5), head: head(3) });
    expect(r).toMatchObject({ ok: false, reason: 'rollback', key: digests[3]!.key, expected: '2025-01-08T06:00:00Z', actual: '2025-01-08T04:00:00Z' });
    expect(extensionFindings(r, pin(5), 'us-east-1').map((f) => [f.code, f.severity, f.key])).toEqual([['CHECKPOINT_ROLLBACK', 'invalid', digests[5]!.key]]);
  });

  it('reports a mismatch when a key holder rewrote history before the pin and relinked everything', async () => {
    const rewritten = store(await chain(1)); // the log of hour 1 changed: every digest from hour 1 on differs
    const r = await checkExtension({ source: (rewritten).source(BUCKET), pinned: pin(3), head: head(6) });
    expect(r).toMatchObject({ ok: false, reason: 'mismatch', key: digests[3]!.key, expected: digests[3]!.sha256, steps: 3 });
    // ... and the CLI's "new checkpoint" describes the rewritten head: its own hash does not match the old one either.
    expect(extensionFindings(r, pin(3)).map((f) => f.code)).toEqual(['CHECKPOINT_MISMATCH']);
  });

  it('reports a mismatch when the pinned digest changed in storage without relinking', async () => {
    const b = bucket.clone();
    const d = parseDigest(digests[3]!.bytes);
    b.objects.set(digests[3]!.key, gzipSync(serializeDigest({ ...d.record, logFiles: [] })));
    const r = await checkExtension({ source: (b).source(BUCKET), pinned: pin(3), head: head(6) });
    expect(r).toMatchObject({ ok: false, reason: 'mismatch', key: digests[3]!.key, expected: digests[3]!.sha256 });
  });

  it('reports a broken link, naming the digest: deleted, changed, not gzip', async () => {
    const deleted = bucket.clone();
    deleted.objects.delete(digests[4]!.key);
    expect(await checkExtension({ source: (deleted).source(BUCKET), pinned: pin(2), head: head(6) })).toMatchObject({ ok: false, reason: 'broken', key: digests[4]!.key, message: expect.stringMatching(/not found/) });

    const changed = bucket.clone();
    const d = parseDigest(digests[4]!.bytes);
    const bytes = serializeDigest({ ...d.record, logFiles: [] });
    changed.objects.set(digests[4]!.key, gzipSync(bytes));
    expect(await checkExtension({ source: (changed).source(BUCKET), pinned: pin(2), head: head(6) })).toMatchObject({
      ok: false,
      reason: 'broken',
      key: digests[4]!.key,
      expected: digests[4]!.sha256,
      actual: toHex(sha256(bytes)),
    });

    const garbage = bucket.clone();
    garbage.objects.set(digests[4]!.key, new TextEncoder().encode('not gzip'));
    const g = await checkExtension({ source: (garbage).source(BUCKET), pinned: pin(2), head: head(6) });
    expect(g).toMatchObject({ ok: false, reason: 'broken', key: digests[4]!.key, message: expect.stringMatching(/cannot be read/) });
    expect(extensionFindings(g, pin(2)).map((f) => [f.code, f.key])).toEqual([['CHECKPOINT_MISMATCH', digests[4]!.key]]);
  });

  it('reports a mismatch when the head is not what the newer checkpoint says, or the chain restarts after the pin', async () => {
    expect(await checkExtension({ source: (bucket).source(BUCKET), pinned: pin(2), head: { ...head(6), sha256: digests[5]!.sha256 } })).toMatchObject({ ok: false, reason: 'mismatch', key: digests[6]!.key });
    const restarted = store(await chain(undefined, T0 + 4 * H), bucket.clone()); // a new chain from hour 4 replaces the digests of hours 4 to 6
    const r = await checkExtension({ source: (restarted).source(BUCKET), pinned: pin(2), head: head(6) });
    expect(r).toMatchObject({ ok: false, reason: 'mismatch', key: digests[4]!.key, message: expect.stringMatching(/chain starts at/) });
  });

  it('stops on a link that does not go back in time (no loop can make it spin)', async () => {
    const b = bucket.clone();
    const d5 = parseDigest(digests[5]!.bytes);
    // Digest 5 now links forward to digest 6, with digest 6's true hash.
    const bytes = serializeDigest({ ...d5.record, previousDigestS3Object: digests[6]!.key, previousDigestHashValue: digests[6]!.sha256 });
    b.objects.set(digests[5]!.key, gzipSync(bytes));
    const r = await checkExtension({ source: (b).source(BUCKET), pinned: pin(2), head: head(5) });
    expect(r).toMatchObject({ ok: false, reason: 'broken', key: digests[6]!.key, message: expect.stringMatching(/does not end before/) });
  });

  it('gives findings the report schema accepts', async () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'report.schema.json'), 'utf8')) as { $defs: Record<string, unknown> };
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema(schema, 'report');
    const validate = ajv.getSchema('report#/$defs/finding')!;
    const rollback = extensionFindings(await checkExtension({ source: (bucket).source(BUCKET), pinned: pin(5), head: head(3) }), pin(5), 'us-east-1');
    const rewritten = extensionFindings(await checkExtension({ source: (store(await chain(1))).source(BUCKET), pinned: pin(3), head: head(6) }), pin(3), 'us-east-1');
    for (const f of [...rollback, ...rewritten]) expect(validate(f), JSON.stringify(validate.errors)).toBe(true);
  });

  it('makes checkpoint entries from a parsed newest digest', () => {
    const c = checkpointChain('arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail', 'us-east-1', BUCKET, parseDigest(digests[6]!.bytes));
    expect(c).toEqual({ trailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail', region: 'us-east-1', bucket: BUCKET, key: digests[6]!.key, endTime: '2025-01-08T07:00:00Z', sha256: digests[6]!.sha256 });
    expect(parseCheckpoint(formatCheckpoint({ chains: [c], reportSha256: 'a'.repeat(64) })).chains).toEqual([c]);
  });
});

describe('parsers of checkpoint material, fed anything', () => {
  const total = async (parse: () => unknown): Promise<void> => {
    try {
      await parse();
    } catch (e) {
      if (!(e instanceof ValidateLogsError)) throw e;
    }
  };
  const runs = { numRuns: Number(process.env.FC_RUNS ?? 300), ...(process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }) };
  const lines = fc.array(fc.oneof(fc.constantFrom('chain', 'report', CHECKPOINT_HEADER, '\u2014', '+', ' ', '\n', 'a'.repeat(64)), fc.string()), { maxLength: 12 }).map((a) => a.join(''));

  it('parseCheckpoint, parseNote, and the key parsers end in a result or ValidateLogsError', async () => {
    await fc.assert(
      fc.asyncProperty(lines, fc.uint8Array({ maxLength: 200 }), async (text, bytes) => {
        await total(() => parseCheckpoint(text));
        await total(() => parseCheckpoint(V.valid.body.slice(0, text.length % V.valid.body.length) + text));
        await total(() => parseNote(text));
        await total(() => parseNote(bytes));
        await total(() => parseNoteVerifierKey(text));
        await total(() => parseNoteSignerKey(`PRIVATE+KEY+${text}`));
        await total(() => noteSignerKeyFromPem(`-----BEGIN PRIVATE KEY-----\n${Buffer.from(bytes).toString('base64')}\n-----END PRIVATE KEY-----\n`, 'n'));
        await total(() => noteVerifierKeyFromPem(`-----BEGIN PUBLIC KEY-----\n${Buffer.from(bytes).toString('base64')}\n-----END PUBLIC KEY-----\n`, 'n'));
      }),
      runs,
    );
  });

  it('verifyTimestamp ends in TIMESTAMP_INVALID on random DER', async () => {
    const CERT = execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', devNull, '-subj', '/CN=fuzz', '-days', '1'], { encoding: 'utf8' });
    const ca = readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8'); // not a certificate: refused before any parsing of the token
    await expect(verifyTimestamp(new Uint8Array([0x30, 0]), { data: new Uint8Array(1), trusted: ca })).rejects.toThrow(ValidateLogsError);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        try {
          await verifyTimestamp(bytes, { data: new Uint8Array(1), trusted: CERT });
          throw new Error('accepted random bytes');
        } catch (e) {
          if (!(e instanceof ValidateLogsError) || e.code !== 'TIMESTAMP_INVALID') throw e;
        }
      }),
      { ...runs, numRuns: Math.min(runs.numRuns, 100) },
    );
  });
});
