// RFC 3161: `openssl ts -reply` as the time-stamping authority on loopback, and our verification
// compared with `openssl ts -verify` on a good token and on altered ones.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTsa, type Tsa } from './helpers/tsa.js';
import { checkTimestampResponse, createTimestampRequest, requestTimestamp, sha256, ValidateLogsError, verifyTimestamp } from './helpers/lib.js';

const run = promisify(execFile);
let dir: string;
let url: string;


const openssl = (args: string[]): Promise<{ stdout: string; stderr: string }> => run('openssl', args, { cwd: dir });
/** `openssl ts -verify`: true when it says the token is good. */
async function opensslVerifies(data: string, response: string, ca: string, extra: string[] = []): Promise<boolean> {
  try {
    // The token carries its signer's certificate (certReq), so no -untrusted is needed.
    const r = await openssl(['ts', '-verify', ...(extra.length ? extra : ['-data', data]), '-in', response, '-CAfile', ca]);
    return /Verification: OK/.test(r.stdout);
  } catch {
    return false; // openssl exits 1 on a failed verification: that is the answer sought
  }
}
async function ourVerdict(response: Uint8Array, data: Uint8Array, nonce: Uint8Array | undefined, ca: string): Promise<string> {
  try {
    await verifyTimestamp(response, { data, ...(nonce && { nonce }), trusted: readFileSync(join(dir, ca), 'utf8') });
    return 'ok';
  } catch (e) {
    if (e instanceof ValidateLogsError && e.code === 'TIMESTAMP_INVALID') return e.message;
    throw e;
  }
}

let tsa: Tsa;
beforeAll(async () => {
  tsa = await startTsa();
  dir = tsa.dir;
  url = tsa.url;
});
afterAll(() => tsa.close());

const checkpointBytes = new TextEncoder().encode('validate-logs checkpoint v1\nreport ' + 'a'.repeat(64) + '\n\n\u2014 example.com/log AAAAAAAAAAAA\n');

describe('RFC 3161 time stamps', () => {
  it('builds a request openssl reads as ours: SHA-256 imprint, a nonce, certReq', async () => {
    const req = createTimestampRequest(checkpointBytes);
    writeFileSync(join(dir, 'mine.tsq'), req.der);
    const { stdout } = await openssl(['ts', '-query', '-in', 'mine.tsq', '-text']);
    expect(stdout).toContain('Hash Algorithm: sha256');
    expect(stdout).toMatch(new RegExp(`Nonce: 0x${Buffer.from(req.nonce).toString('hex').toUpperCase().replace(/^0+/, '')}`, 'i'));
    expect(stdout).toContain('Certificate required: yes');
    expect(createTimestampRequest(checkpointBytes).nonce).not.toEqual(req.nonce);
  });

  it('gets a token from the authority; openssl and we both accept it, at the same time', async () => {
    const { request, response } = await requestTimestamp(url, checkpointBytes);
    writeFileSync(join(dir, 'data'), checkpointBytes);
    writeFileSync(join(dir, 'good.tsr'), response);
    writeFileSync(join(dir, 'good.tsq'), request.der);
    expect(await opensslVerifies('data', 'good.tsr', 'ca.pem')).toBe(true);
    expect(await opensslVerifies('', 'good.tsr', 'ca.pem', ['-queryfile', 'good.tsq'])).toBe(true);
    const info = await verifyTimestamp(response, { data: checkpointBytes, nonce: request.nonce, trusted: readFileSync(join(dir, 'ca.pem'), 'utf8') });
    const { stdout } = await openssl(['ts', '-reply', '-in', 'good.tsr', '-text']);
    const time = /Time stamp: (.+)/.exec(stdout)![1]!;
    expect(info.genTime.getTime()).toBe(new Date(time.replace(' GMT', 'Z').replace(/^(\w+) +(\d+) ([\d:]+) (\d+)Z$/, '$1 $2 $4 $3 UTC')).getTime());
    expect(info.policy).toBe('1.2.3.4.1');
    expect(info.signer).toBe('CN=tsa');
    expect(Math.abs(info.genTime.getTime() - Date.now())).toBeLessThan(120_000);
  });

  it('agrees with openssl ts -verify on altered tokens, and names what failed', async () => {
    const { request, response } = await requestTimestamp(url, checkpointBytes);
    writeFileSync(join(dir, 'data'), checkpointBytes);
    writeFileSync(join(dir, 't.tsr'), response);

    // Other bytes (one byte of the checkpoint flipped): the imprint does not match.
    const flipped = checkpointBytes.slice();
    flipped[5] = flipped[5]! ^ 1;
    writeFileSync(join(dir, 'flipped'), flipped);
    expect(await opensslVerifies('flipped', 't.tsr', 'ca.pem')).toBe(false);
    expect(await ourVerdict(response, flipped, request.nonce, 'ca.pem')).toMatch(/imprint is not the SHA-256 of the data/);

    // Another request's nonce.
    const other = createTimestampRequest(checkpointBytes);
    writeFileSync(join(dir, 'other.tsq'), other.der);
    expect(await opensslVerifies('', 't.tsr', 'ca.pem', ['-queryfile', 'other.tsq'])).toBe(false);
    expect(await ourVerdict(response, checkpointBytes, other.nonce, 'ca.pem')).toMatch(/the nonce is [0-9a-f]+, not the request's/);

    // Another CA.
    expect(await opensslVerifies('data', 't.tsr', 'other-ca.pem')).toBe(false);
    expect(await ourVerdict(response, checkpointBytes, request.nonce, 'other-ca.pem')).toMatch(/does not chain to a trusted certificate/);

    // The signature's last byte flipped.
    const signed = new pkijs.SignedData({ schema: pkijs.TimeStampResp.fromBER(response).timeStampToken!.content });
    const sig = Buffer.from(signed.signerInfos[0]!.signature.valueBlock.valueHexView);
    const at = Buffer.from(response).indexOf(sig);
    expect(at).toBeGreaterThan(0);
    const tampered = response.slice();
    tampered[at + sig.length - 1] = tampered[at + sig.length - 1]! ^ 1;
    writeFileSync(join(dir, 'tampered.tsr'), tampered);
    expect(await opensslVerifies('data', 'tampered.tsr', 'ca.pem')).toBe(false);
    expect(await ourVerdict(tampered, checkpointBytes, request.nonce, 'ca.pem')).toMatch(/CMS signature does not verify|does not verify/);

    // Garbage and a truncated response.
    expect(await ourVerdict(response.slice(0, response.length - 10), checkpointBytes, request.nonce, 'ca.pem')).toMatch(/not one well-formed DER|not a TimeStampResp/);
    expect(await ourVerdict(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x02]), checkpointBytes, request.nonce, 'ca.pem')).toMatch(/^time stamp: /);
  });

  it('refuses a token signed with a certificate without the time-stamping key usage, as openssl does', async () => {
    const { request, response } = await requestTimestamp(url, checkpointBytes);
    // openssl ts -reply will not sign with such a certificate: re-sign the token ourselves.
    const forged = await resign(response, 'noeku');
    writeFileSync(join(dir, 'data'), checkpointBytes);
    writeFileSync(join(dir, 'noeku.tsr'), forged);
    expect(await opensslVerifies('data', 'noeku.tsr', 'ca.pem')).toBe(false);
    expect(await ourVerdict(forged, checkpointBytes, request.nonce, 'ca.pem')).toMatch(/CN=noeku.*no extended key usage of time stamping/);
    // The same re-signing with the real authority's key and certificate gives a token both accept.
    const resigned = await resign(response, 'tsa');
    writeFileSync(join(dir, 'resigned.tsr'), resigned);
    expect(await opensslVerifies('data', 'resigned.tsr', 'ca.pem')).toBe(true);
    expect(await ourVerdict(resigned, checkpointBytes, request.nonce, 'ca.pem')).toBe('ok');
  });

  it('refuses a token whose signing-certificate attribute names another certificate, as openssl does', async () => {
    const { request, response } = await requestTimestamp(url, checkpointBytes);
    const forged = await resign(response, 'tsa', 'ca');
    writeFileSync(join(dir, 'data'), checkpointBytes);
    writeFileSync(join(dir, 'ess.tsr'), forged);
    expect(await opensslVerifies('data', 'ess.tsr', 'ca.pem')).toBe(false);
    expect(await ourVerdict(forged, checkpointBytes, request.nonce, 'ca.pem')).toMatch(/signing-certificate attribute does not name the signer's certificate/);
  });

  it('says when the authority cannot be reached or does not answer a time stamp', async () => {
    const fail = async (u: string): Promise<ValidateLogsError> => {
      try {
        await requestTimestamp(u, checkpointBytes);
      } catch (e) {
        if (e instanceof ValidateLogsError) return e;
        throw e;
      }
      throw new Error('no error');
    };
    expect((await fail(`${url}fail`)).message).toMatch(/answered HTTP 503/);
    expect((await fail(`${url}html`)).message).toMatch(/answered "text\/html"/);
    const closed = await fail('http://127.0.0.1:1/');
    expect(closed.message).toMatch(/cannot be reached/);
    expect(closed.transient).toBe(true);
  });
});

/**
 * Re-sign a token as `signer` (its .pem and .key): that certificate in the token, the signer id,
 * a signing-certificate attribute naming `named` (default: the signer), a new signature.
 */
async function resign(response: Uint8Array, signer: string, named = signer): Promise<Uint8Array> {
  const resp = pkijs.TimeStampResp.fromBER(response);
  const signed = new pkijs.SignedData({ schema: resp.timeStampToken!.content });
  const cert = pkijs.Certificate.fromBER(pemDer(readFileSync(join(dir, `${signer}.pem`), 'utf8')));
  const namedDer = new Uint8Array(pkijs.Certificate.fromBER(pemDer(readFileSync(join(dir, `${named}.pem`), 'utf8'))).toSchema().toBER());
  signed.certificates = [cert];
  const info = signed.signerInfos[0]!;
  info.sid = new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber });
  // SigningCertificateV2 { certs: [ ESSCertIDv2 { certHash: SHA-256 of the certificate } ] }
  const attr = info.signedAttrs!.attributes.find((a) => a.type === '1.2.840.113549.1.9.16.2.47')!;
  attr.values = [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: sha256(namedDer).slice().buffer })] })] })] })];
  const engine = new pkijs.CryptoEngine({ name: 'webcrypto', crypto: globalThis.crypto });
  const key = await globalThis.crypto.subtle.importKey('pkcs8', pemDer(readFileSync(join(dir, `${signer}.key`), 'utf8')), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  await signed.sign(key, 0, 'SHA-256', undefined, engine);
  resp.timeStampToken = new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: signed.toSchema(true) });
  return new Uint8Array(resp.toSchema().toBER());
}

function pemDer(pem: string): ArrayBuffer {
  return Uint8Array.from(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')).buffer;
}

describe('an authority reply is checked before anyone keeps it', () => {
  it('reads no more than the bound of an answer that never ends, and says so', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 64 * 1024;
        controller.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const stub = (async () => new Response(endless, { headers: { 'content-type': 'application/timestamp-reply' } })) as typeof fetch;
    await expect(requestTimestamp('https://tsa.example/', checkpointBytes, { fetch: stub })).rejects.toThrow(/answered more than 1048576 bytes/);
    expect(pulled).toBeLessThanOrEqual(1024 * 1024 + 3 * 64 * 1024);
  });

  it('refuses a declared length over the bound without reading the body', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(1));
      },
    });
    const stub = (async () => new Response(body, { headers: { 'content-type': 'application/timestamp-reply', 'content-length': String(2 * 1024 * 1024) } })) as typeof fetch;
    await expect(requestTimestamp('https://tsa.example/', checkpointBytes, { fetch: stub })).rejects.toThrow(/answered more than 1048576 bytes/);
    expect(pulled).toBeLessThanOrEqual(1);
  });

  it('checkTimestampResponse: a good reply passes with its nonce, and fails with another nonce or other data', async () => {
    const { request, response } = await requestTimestamp(url, checkpointBytes);
    const checked = checkTimestampResponse(response, { data: checkpointBytes, nonce: request.nonce });
    expect(checked.genTime.getTime()).toBeGreaterThan(Date.now() - 600_000);
    expect(() => checkTimestampResponse(response, { data: new TextEncoder().encode('other'), nonce: request.nonce })).toThrow(/stamps other bytes/);
    expect(() => checkTimestampResponse(response, { data: checkpointBytes, nonce: new Uint8Array([0x41, 1, 2, 3, 4, 5, 6, 7]) })).toThrow(/not the request's 4101020304050607/);
    expect(() => checkTimestampResponse(response.slice(1), { data: checkpointBytes })).toThrow(ValidateLogsError);
  });
});
