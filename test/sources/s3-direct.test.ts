// Direct GETs (src/sources/s3-direct.ts) against s3rver, which checks SigV4 signatures: the
// route is learned from one GetObject the SDK made, later reads skip the SDK and give the same
// bytes and metadata, and anything but a 200 is the SDK's again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import { DIRECT_USER_AGENT, DirectGets, encodeKey, routeFrom, signGet, type DirectRoute, type SentRequest } from '../../src/sources/s3-direct.js';
import { S3Storage, contentLength } from '../../src/sources/s3.js';
import { startS3, putObject, type S3Server } from '../helpers/aws.js';
import { startProxy, type Proxy } from '../helpers/proxy.js';
import { pseudoRandomBytes } from '../helpers/bytes.js';

const BUCKET = 'direct';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
// Keys with every kind of character a path must encode: the route is only right if ours is the SDK's encoding.
const KEYS = ['plain/a.json.gz', "odd/sp ace+plus=eq&amp!'()*~.gz", 'odd/ünï-cødé/日本.gz', 'odd/%41-percent;semi,comma@at$.gz'];

let server: S3Server;
let proxy: Proxy;
const bodies = new Map<string, Uint8Array>();
beforeAll(async () => {
  server = await startS3([BUCKET]);
  proxy = await startProxy(server.url);
  KEYS.forEach((key, i) => bodies.set(key, pseudoRandomBytes(200_000 + i * 777, i + 1)));
  for (const [key, body] of bodies) await putObject(server.url, BUCKET, key, body, { signature: `sig-${key.length}`, 'signature-algorithm': 'SHA256withRSA' });
});
afterAll(async () => {
  await proxy?.close();
  await server?.close();
});

async function read(storage: S3Storage, key: string, metadata = false): Promise<{ bytes: Buffer; metadata?: Record<string, string>; size?: number } | undefined> {
  const o = await storage.get(BUCKET, key, { metadata });
  if (!o) return undefined;
  const parts: Uint8Array[] = [];
  for await (const chunk of o.body) parts.push(Uint8Array.from(chunk));
  return { bytes: Buffer.concat(parts), ...(o.metadata && { metadata: o.metadata }), ...(o.size !== undefined && { size: o.size }) };
}

const storage = (options: { directGets?: boolean } = {}): S3Storage => new S3Storage({ endpoint: proxy.url, region: 'us-east-1', credentials: CREDENTIALS, ...options });
/** The requests since `from` that were direct GETs, and those the SDK made. */
function since(from: number): { direct: number; sdk: number } {
  const agents = proxy.agents.slice(from);
  return { direct: agents.filter((a) => a === DIRECT_USER_AGENT).length, sdk: agents.filter((a) => a !== DIRECT_USER_AGENT).length };
}

describe('direct GETs', () => {
  it('learn the route from one SDK GetObject, then read every key directly: same bytes, size and metadata', async () => {
    const direct = storage();
    const viaSdk = storage({ directGets: false });
    const from = proxy.agents.length;
    for (let round = 0; round < 2; round++) {
      for (const key of KEYS) {
        const a = await read(direct, key, true);
        const b = await read(viaSdk, key, true);
        expect(a).toEqual(b);
        expect(a!.bytes.equals(Buffer.from(bodies.get(key)!))).toBe(true);
        expect(a!.metadata).toEqual({ signature: `sig-${key.length}`, 'signature-algorithm': 'SHA256withRSA' });
      }
    }
    // The first read of `direct` went through the SDK; its other 7 reads were direct (s3rver checked each signature).
    const counts = since(from);
    expect(counts.direct).toBe(2 * KEYS.length - 1);
    expect(counts.sdk).toBe(1 + 2 * KEYS.length);
  });

  it('hand back anything but a 200 to the SDK: an absent key is still absent, a 503 still retried', async () => {
    const s = storage();
    await read(s, KEYS[0]!); // learns the route
    let from = proxy.agents.length;
    expect(await read(s, 'plain/absent.json.gz')).toBeUndefined();
    expect(since(from)).toEqual({ direct: 1, sdk: 1 });
    proxy.rules.push({ match: (m, p) => m === 'GET' && p.endsWith(KEYS[1]!), fault: 'slowdown', times: 2 });
    from = proxy.agents.length;
    const r = await read(s, KEYS[1]!);
    expect(r!.bytes.equals(Buffer.from(bodies.get(KEYS[1]!)!))).toBe(true);
    expect(since(from)).toEqual({ direct: 1, sdk: 2 }); // direct: 503; the SDK: 503, then 200
  });

  it('never give a body that ended early as whole', async () => {
    const s = storage();
    await read(s, KEYS[0]!);
    proxy.rules.push({ match: (m, p) => m === 'GET' && p.endsWith(KEYS[2]!), fault: 'short-body', times: 1 });
    const from = proxy.agents.length;
    await expect(read(s, KEYS[2]!)).rejects.toMatchObject({ code: 'SOURCE_ERROR', transient: true });
    expect(since(from)).toEqual({ direct: 1, sdk: 0 });
  });

  it('follow a route learned elsewhere, over kept connections', async () => {
    const sent: SentRequest = { method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: Number(new URL(proxy.url).port), path: `/${BUCKET}/${encodeKey(KEYS[3]!)}`, headers: { authorization: 'AWS4-HMAC-SHA256 Credential=S3RVER/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00' } };
    const route = routeFrom(sent, KEYS[3]!)!;
    expect(route).toMatchObject({ prefix: `/${BUCKET}/`, region: 'us-east-1', host: `127.0.0.1:${new URL(proxy.url).port}` });
    const gets = new DirectGets(async () => CREDENTIALS, () => 0, 4);
    try {
      for (let i = 0; i < 3; i++) {
        const res = await gets.get(route, KEYS[3]!);
        expect(res?.statusCode).toBe(200);
        const parts: Buffer[] = [];
        for await (const chunk of res!) parts.push(chunk as Buffer);
        expect(Buffer.concat(parts).equals(Buffer.from(bodies.get(KEYS[3]!)!))).toBe(true);
      }
      expect(await gets.get(route, 'plain/absent')).toBeUndefined();
    } finally {
      gets.close();
    }
  });
});

// s3rver does not check SigV4 signatures: ours are compared with the SDK's own signer's.
describe('signGet', () => {
  class NodeSha256 {
    readonly #h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
    constructor(secret?: SourceData) {
      this.#h = secret === undefined ? createHash('sha256') : createHmac('sha256', Buffer.from(secret as Uint8Array));
    }
    update(data: SourceData): void {
      this.#h.update(typeof data === 'string' ? data : Buffer.from(data as Uint8Array));
    }
    async digest(): Promise<Uint8Array> {
      return new Uint8Array(this.#h.digest());
    }
  }
  const cases: Array<[string, DirectRoute, string, { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, string]> = [
    ['virtual-hosted, https', { protocol: 'https:', hostname: 'trail-logs.s3.eu-west-1.amazonaws.com', port: undefined, host: 'trail-logs.s3.eu-west-1.amazonaws.com', prefix: '/', region: 'eu-west-1' }, KEYS[1]!, { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }, '2013-05-24T00:00:00Z'],
    ['path-style on a port, a session token', { protocol: 'http:', hostname: '127.0.0.1', port: 9000, host: '127.0.0.1:9000', prefix: '/my-bucket/', region: 'us-east-1' }, KEYS[2]!, { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'FwoGZXIvYXdzE//token+/=' }, '2026-11-23T23:59:59Z'],
  ];
  it.each(cases)('%s: the same Authorization as @smithy/signature-v4', async (_, route, key, credentials, at) => {
    const path = route.prefix + encodeKey(key);
    const ours = signGet(route, path, credentials, new Date(at));
    const signer = new SignatureV4({ service: 's3', region: route.region, credentials, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
    const theirs = await signer.sign(
      { method: 'GET', protocol: route.protocol, hostname: route.hostname, ...(route.port !== undefined && { port: route.port }), path, query: {}, headers: { host: route.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
      { signingDate: new Date(at) },
    );
    expect(ours.authorization).toBe(theirs.headers.authorization);
    expect(ours['x-amz-date']).toBe(theirs.headers['x-amz-date']);
    expect(ours['x-amz-security-token']).toBe(theirs.headers['x-amz-security-token']);
  });
});

describe('routeFrom', () => {
  const base: SentRequest = {
    method: 'GET',
    protocol: 'https:',
    hostname: 'my-bucket.s3.eu-west-1.amazonaws.com',
    path: '/AWSLogs/1/a%20b.json.gz',
    headers: { host: 'my-bucket.s3.eu-west-1.amazonaws.com', authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab' },
  };
  it('takes a plain SigV4 request for s3: virtual-hosted and path-style', () => {
    expect(routeFrom(base, 'AWSLogs/1/a b.json.gz')).toEqual({ protocol: 'https:', hostname: base.hostname, port: undefined, host: base.hostname, prefix: '/', region: 'eu-west-1' });
    expect(routeFrom({ ...base, port: 443 }, 'AWSLogs/1/a b.json.gz')?.port).toBeUndefined();
  });
  it('takes nothing else: SigV4a, another service, an S3 Express session, a path the key does not end, another method', () => {
    const key = 'AWSLogs/1/a b.json.gz';
    expect(routeFrom({ ...base, headers: { ...base.headers, authorization: 'AWS4-ECDSA-P256-SHA256 Credential=AKID/20260101/s3/aws4_request, SignedHeaders=host, Signature=ab' } }, key)).toBeUndefined();
    expect(routeFrom({ ...base, headers: { ...base.headers, authorization: base.headers.authorization!.replace('/s3/', '/s3-object-lambda/') } }, key)).toBeUndefined();
    expect(routeFrom({ ...base, headers: { ...base.headers, 'x-amz-s3session-token': 't' } }, key)).toBeUndefined();
    expect(routeFrom({ ...base, path: '/AWSLogs/1/a+b.json.gz' }, key)).toBeUndefined();
    expect(routeFrom({ ...base, method: 'HEAD' }, key)).toBeUndefined();
    expect(routeFrom({ ...base, headers: {} }, key)).toBeUndefined();
  });
  it('takes a Content-Length only as a plain whole number (else the body is not held to one)', () => {
    expect(contentLength('65536')).toBe(65536);
    expect(contentLength('0')).toBe(0);
    for (const bad of [undefined, '', 'abc', '-1', '1e3', ' 12', '12, 12', '1.5', '9999999999999999']) expect(contentLength(bad)).toBeUndefined();
  });
  it('encodes keys as the SDK does', () => {
    expect(encodeKey("a b/c+d=e&f!'()*~_-.g/日")).toBe('a%20b/c%2Bd%3De%26f%21%27%28%29%2A~_-.g/%E6%97%A5');
  });
});
