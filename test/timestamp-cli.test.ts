// --timestamp-url as a user runs it (the built command, a real `openssl ts` authority on
// loopback): a reply is checked before it is kept, with or without --tsa-cert, and the README's
// daily job with a witness and a time stamp works day after day.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { VALIDATE, node } from './helpers/cli.js';
import { opensslEd25519 } from './helpers/ed25519.js';
import { sha256 } from './helpers/lib.js';
import { ROOT, copySample, tampering } from './helpers/tamper.js';
import { startTsa, type Tsa } from './helpers/tsa.js';

const t = tampering.trail;
let work: string;
let tsa: Tsa;
let hostile: Server;
let hostileUrl: string;

/** Ask the real authority for a reply to `query` (DER TimeStampReq). */
async function realReply(query: Uint8Array): Promise<Uint8Array> {
  const res = await fetch(tsa.url, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: query });
  return new Uint8Array(await res.arrayBuffer());
}

/** The request with its imprint or its nonce changed (or its nonce left out): a genuine token, for other bytes or another request. */
function altered(query: Uint8Array, what: 'imprint' | 'nonce' | 'no-nonce'): Uint8Array {
  const req = pkijs.TimeStampReq.fromBER(query);
  if (what === 'imprint') req.messageImprint.hashedMessage = new asn1js.OctetString({ valueHex: sha256(new TextEncoder().encode('other bytes')).slice().buffer });
  if (what === 'nonce') req.nonce = new asn1js.Integer({ valueHex: new Uint8Array([0x41, 2, 3, 4, 5, 6, 7, 8]).buffer });
  if (what === 'no-nonce') delete req.nonce;
  return new Uint8Array(req.toSchema().toBER());
}

/** What the hostile authority answers at each path. */
const ANSWERS: Record<string, (query: Uint8Array) => Promise<Uint8Array>> = {
  garbage: async () => new TextEncoder().encode('<html>not a time stamp</html>'),
  empty: async () => new Uint8Array(0),
  imprint: (q) => realReply(altered(q, 'imprint')),
  nonce: (q) => realReply(altered(q, 'nonce')),
  'no-nonce': (q) => realReply(altered(q, 'no-nonce')),
  rejection: async () =>
    new Uint8Array(new pkijs.TimeStampResp({ status: new pkijs.PKIStatusInfo({ status: pkijs.PKIStatus.rejection, statusStrings: [new asn1js.Utf8String({ value: 'bad request' })] }) }).toSchema().toBER()),
  truncated: async (q) => (await realReply(q)).slice(0, 200),
  trailing: async (q) => new Uint8Array([...(await realReply(q)), 0]),
  huge: async () => new Uint8Array(3 * 1024 * 1024),
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vl-ts-cli-'));
  opensslEd25519(work, 'log');
  opensslEd25519(work, 'witness');
  tsa = await startTsa();
  hostile = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = ANSWERS[(req.url ?? '/').slice(1)];
      if (!answer) return void res.writeHead(404).end();
      answer(new Uint8Array(Buffer.concat(chunks))).then(
        (body) => res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(body),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    });
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  hostileUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => hostile.close(() => resolve()));
  await tsa.close();
  rmSync(work, { recursive: true, force: true });
});

/** A copy of the sample bucket, removed when the test ends. */
function bucket(): string {
  const { dir, cleanup } = copySample();
  onTestFinished(cleanup);
  return dir;
}
const base = (dir: string): string[] => ['--trail-arn', t.trailArn, '--local-dir', dir, '--s3-bucket', t.bucket, '--public-keys', join(ROOT, t.publicKeys), '--threads', '0'];
const signing = (out: string): string[] => ['--checkpoint-out', out, '--checkpoint-key', join(work, 'log.pem'), '--checkpoint-name', 'example.com/log'];
const caPem = (): string => join(tsa.dir, 'ca.pem');

describe('--timestamp-url keeps only a reply that is a token for this checkpoint', () => {
  const cases: Array<[string, RegExp]> = [
    ['garbage', /is not one well-formed DER structure|is not a TimeStampResp/],
    ['empty', /is not one well-formed DER structure|is not a TimeStampResp/],
    ['imprint', /stamps other bytes/],
    ['nonce', /the nonce is 4102030405060708, not the request's/],
    ['no-nonce', /the nonce is missing/],
    ['rejection', /did not grant it \(status 2: bad request\)/],
    ['truncated', /is not one well-formed DER structure|is not a TimeStampResp/],
    ['trailing', /is not one well-formed DER structure/],
    ['huge', /answered more than 1048576 bytes/],
  ];
  for (const [mode, why] of cases) {
    it(`a reply that is ${mode}: a clear error, exit 2, no .tsr kept (without --tsa-cert)`, async () => {
      const dir = bucket();
      const cp = join(dir, '..', 'today.note');
      const r = await node(VALIDATE, [...base(dir), '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(cp), '--timestamp-url', `${hostileUrl}${mode}`]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`validate-logs: error: time stamp: (the reply of )?the authority at ${hostileUrl}${mode}`));
      expect(r.stderr).toMatch(why);
      expect(r.stderr).not.toMatch(/time stamp kept/);
      expect(existsSync(`${cp}.tsr`)).toBe(false);
      expect(existsSync(cp)).toBe(false); // written with its token or not at all
    });
  }

  it('with --tsa-cert too, a token for other bytes is refused before its signature is looked at', async () => {
    const dir = bucket();
    const cp = join(dir, '..', 'today.note');
    const r = await node(VALIDATE, [...base(dir), '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(cp), '--timestamp-url', `${hostileUrl}imprint`, '--tsa-cert', caPem()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/stamps other bytes/);
    expect(existsSync(`${cp}.tsr`)).toBe(false);
  });

  it('a checkpoint advanced in place keeps its old note and token whole when the new reply is refused', async () => {
    const dir = bucket();
    const cp = join(dir, '..', 'last.note');
    const first = await node(VALIDATE, [...base(dir), '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(cp), '--timestamp-url', tsa.url]);
    expect(first.status, first.stderr).toBe(0);
    const before = [readFileSync(cp), readFileSync(`${cp}.tsr`)];
    const keys = ['--checkpoint-public-key', `example.com/log=${join(work, 'log.pub.pem')}`];
    const r = await node(VALIDATE, [...base(dir), '--checkpoint', cp, ...keys, '--end-time', t.end, ...signing(cp), '--timestamp-url', `${hostileUrl}nonce`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not the request's/);
    expect([readFileSync(cp), readFileSync(`${cp}.tsr`)]).toEqual(before);
    const next = await node(VALIDATE, [...base(dir), '--checkpoint', cp, ...keys, '--tsa-cert', caPem(), '--end-time', t.end]);
    expect(next.status, next.stderr).toBe(0);
  });

  it('a good reply without --tsa-cert is kept, saying it was checked but not verified', async () => {
    const dir = bucket();
    const cp = join(dir, '..', 'today.note');
    const r = await node(VALIDATE, [...base(dir), '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(cp), '--timestamp-url', tsa.url]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`time stamp kept in ${cp}.tsr: checked against the request (give --tsa-cert to verify its signature)`);
    expect(existsSync(`${cp}.tsr`)).toBe(true);
  });
});

describe("the README's daily job with a witness and a time stamp", () => {
  it('runs day after day: the witness line appended after the token leaves the token valid', async () => {
    const dir = bucket();
    const home = mkdtempSync(join(tmpdir(), 'vl-daily-'));
    onTestFinished(() => rmSync(home, { recursive: true, force: true }));
    mkdirSync(join(home, 'state'));
    mkdirSync(join(home, 'witness-state'));
    const today = join(home, 'today.note');
    const operatorKeys = ['--checkpoint-public-key', `example.com/log=${join(work, 'log.pub.pem')}`, '--checkpoint-public-key', `example.com/witness=${join(work, 'witness.pub.pem')}`];
    const stamping = ['--timestamp-url', tsa.url, '--tsa-cert', caPem()];
    const witness = (previous: boolean): ReturnType<typeof node> =>
      node(VALIDATE, [
        'cosign', '--checkpoint', today, ...(previous ? ['--previous', join(home, 'witness-state', 'last.note')] : []),
        '--checkpoint-public-key', `example.com/log=${join(work, 'log.pub.pem')}`,
        '--key', join(work, 'witness.pem'), '--name', 'example.com/witness', '--local-dir', dir,
      ]);
    /** What the job keeps after each day: the witness its last note, the operator the note and its token. */
    const keep = (): void => {
      copyFileSync(today, join(home, 'witness-state', 'last.note'));
      copyFileSync(today, join(home, 'state', 'last.note'));
      copyFileSync(`${today}.tsr`, join(home, 'state', 'last.note.tsr'));
    };

    // The first day: a full run that pins what it verified, time-stamped; the witness cosigns it.
    const first = await node(VALIDATE, [...base(dir), '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(today), ...stamping]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/time stamp kept in .*today\.note\.tsr: verified, 20\d\d-/);
    const w1 = await witness(false);
    expect(w1.status, w1.stderr).toBe(0);
    keep();

    // Every day after: from the last checkpoint (both signatures and its time stamp verified), the next one.
    for (const end of ['2025-01-08T03:00:00Z', t.end]) {
      const day = await node(VALIDATE, [...base(dir), '--checkpoint', join(home, 'state', 'last.note'), ...operatorKeys, '--end-time', end, ...signing(today), ...stamping]);
      expect(day.status, day.stderr).toBe(0);
      expect(day.stderr).toMatch(/last\.note was time-stamped at 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ by CN=tsa/);
      expect(day.stderr).toMatch(/time stamp kept in .*today\.note\.tsr: verified/);
      const w = await witness(true);
      expect(w.status, w.stderr).toBe(0);
      expect(w.stdout).toMatch(/every chain pinned by .* is extended/);
      keep();
    }

    // The token covers the note's text: openssl agrees, with the witness's line in the file.
    const note = readFileSync(join(home, 'state', 'last.note'), 'utf8');
    expect(note).toMatch(/\u2014 example\.com\/witness /);
    const check = `sed '/^$/,$d' "$1" > "$1.text" && openssl ts -verify -data "$1.text" -in "$1.tsr" -CAfile "$2"`;
    expect(execFileSync('sh', ['-c', check, 'sh', join(home, 'state', 'last.note'), caPem()]).toString()).toMatch(/Verification: OK/);

    // A token moved beside another checkpoint is refused: it stamps other bytes.
    copyFileSync(join(home, 'state', 'last.note.tsr'), join(home, 'other.note.tsr'));
    const first2 = await node(VALIDATE, [...base(dir), '--start-time', t.start, '--end-time', '2025-01-08T02:00:00Z', ...signing(join(home, 'other.note'))]);
    expect(first2.status, first2.stderr).toBe(0);
    const moved = await node(VALIDATE, [...base(dir), '--checkpoint', join(home, 'other.note'), '--checkpoint-public-key', `example.com/log=${join(work, 'log.pub.pem')}`, '--tsa-cert', caPem(), '--end-time', t.end]);
    expect(moved.status).toBe(2);
    expect(moved.stderr).toMatch(/time stamp: the imprint is not the SHA-256 of the data: it stamps other bytes/);
  });
});
