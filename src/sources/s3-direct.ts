/**
 * GetObject without the SDK's per-request machinery, for the many small reads of a run. The
 * SDK spends about 2 ms of the main thread on each request (its middleware, endpoint rules,
 * schema and signer); the same signed GET made here costs a tenth of that.
 *
 * It learns from the SDK, never guesses: once the SDK has made and signed one GetObject of a
 * bucket that succeeded, the request it sent says where the bucket's objects are (scheme, host,
 * port, the path before the key) and how it was signed. Only a request signed with plain SigV4
 * for the service `s3` is taken as a route; anything else (SigV4a, S3 Express sessions, a path
 * the key is not the end of) leaves the bucket to the SDK. A direct GET is then signed the same
 * way (SigV4, `UNSIGNED-PAYLOAD`, with the credentials and clock offset of the SDK's client).
 * Anything but a 200 answer, and any failure before one, is handed back: the caller asks the
 * SDK, which retries, follows redirects and names the error as it always does.
 * @module
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { requestUrl, tlsAgentOptions, type AwsHttpOptions } from './http.js';

/** Where a bucket's objects are, and the region its requests are signed for. */
export interface DirectRoute {
  /** `http:` or `https:`. */
  protocol: 'http:' | 'https:';
  /** The host to connect to. */
  hostname: string;
  /** The port, when not the scheme's default. */
  port: number | undefined;
  /** The Host header, as the SDK sent it. */
  host: string;
  /** The path before the encoded key (`/` or `/BUCKET/`). */
  prefix: string;
  /** The signing region. */
  region: string;
}

/** The parts of a request the SDK sent that a route is learned from. */
export interface SentRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number | undefined;
  path: string;
  headers: Record<string, string>;
}

/** Credentials as the SDK's provider gives them. */
export interface DirectCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

const SCOPE_RE = /^AWS4-HMAC-SHA256 Credential=[^/,]+\/\d{8}\/([^/,]+)\/s3\/aws4_request,/;
/** How long a direct GET may go without a byte before it is given up (the SDK then tries), unless a read timeout is set. */
const IDLE_TIMEOUT_MS = 60_000;
const UNSIGNED = 'UNSIGNED-PAYLOAD';
/** The User-Agent of a direct GET (not signed). */
export const DIRECT_USER_AGENT = 'validate-logs (direct GET)';

/**
 * An S3 key as it appears in a request path: each `/`-separated part URI-encoded as the SDK
 * does (every byte but `A-Z a-z 0-9 - . _ ~` percent-encoded).
 * @param key - the key
 * @returns the encoded key
 */
export function encodeKey(key: string): string {
  return key
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/**
 * The route a successful GetObject of `key` shows, or undefined when it is not one a direct GET
 * can follow exactly.
 * @param sent - the request as the SDK sent it (signed)
 * @param key - the key it got
 * @returns the route, or undefined
 */
export function routeFrom(sent: SentRequest, key: string): DirectRoute | undefined {
  if (sent.method !== 'GET' || (sent.protocol !== 'http:' && sent.protocol !== 'https:')) return undefined;
  const header = (name: string): string | undefined => {
    for (const [k, v] of Object.entries(sent.headers)) if (k.toLowerCase() === name) return v;
    return undefined;
  };
  const scope = SCOPE_RE.exec(header('authorization') ?? '');
  if (!scope || header('x-amz-s3session-token') !== undefined) return undefined;
  const encoded = encodeKey(key);
  if (!sent.path.endsWith(encoded)) return undefined;
  const prefix = sent.path.slice(0, sent.path.length - encoded.length);
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) return undefined;
  const port = sent.port === undefined || sent.port === (sent.protocol === 'https:' ? 443 : 80) ? undefined : sent.port;
  const host = header('host') ?? (port === undefined ? sent.hostname : `${sent.hostname}:${port}`);
  return { protocol: sent.protocol, hostname: sent.hostname, port, host, prefix, region: scope[1]! };
}

/**
 * The SigV4 signing key of a day, region and the service `s3`.
 * @param secret - the secret access key
 * @param day - `YYYYMMDD`
 * @param region - the signing region
 * @returns the key
 */
function signingKey(secret: string, day: string, region: string): Buffer {
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 's3'), 'aws4_request');
}

/**
 * The headers of a GET signed with SigV4 as S3 takes it: host, the date, an unsigned payload,
 * the session token when there is one, and the authorization.
 * @param route - the bucket's route
 * @param path - the request path (the key encoded, {@link encodeKey})
 * @param c - the credentials
 * @param now - the signing time
 * @param keyFor - the signing key of a scope (a cache; made afresh when omitted)
 * @returns the headers to send
 */
export function signGet(route: DirectRoute, path: string, c: DirectCredentials, now: Date, keyFor?: (scope: string, day: string) => Buffer): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${route.region}/s3/aws4_request`;
  const headers: Record<string, string> = { host: route.host, 'x-amz-content-sha256': UNSIGNED, 'x-amz-date': amzDate };
  if (c.sessionToken) headers['x-amz-security-token'] = c.sessionToken;
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const canonical = `GET\n${path}\n\n${names.map((n) => `${n}:${headers[n]}\n`).join('')}\n${signedHeaders}\n${UNSIGNED}`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
  const key = keyFor ? keyFor(scope, day) : signingKey(c.secretAccessKey, day, route.region);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${c.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

/** A direct GET's answer: the response of a 200, or undefined to ask the SDK instead. */
export type DirectAnswer = IncomingMessage | undefined;

/** Signs and sends direct GETs over kept-alive connections. */
export class DirectGets {
  readonly #credentials: () => Promise<DirectCredentials>;
  readonly #clockOffset: () => number;
  readonly #agents: { 'http:': HttpAgent; 'https:': HttpsAgent };
  readonly #http: AwsHttpOptions | undefined;
  /** The signing key of the last (day, region). */
  #signingKey: { scope: string; secret: string; key: Buffer } | undefined;

  /**
   * @param credentials - the SDK client's credential provider (cached and refreshed by the SDK)
   * @param clockOffset - the SDK client's clock correction, in ms
   * @param sockets - connections kept per host
   * @param http - the SDK client's CA bundle, certificate checks, read timeout and request lines
   */
  constructor(credentials: () => Promise<DirectCredentials>, clockOffset: () => number, sockets: number, http?: AwsHttpOptions) {
    this.#credentials = credentials;
    this.#clockOffset = clockOffset;
    this.#http = http;
    this.#agents = { 'http:': new HttpAgent({ keepAlive: true, maxSockets: sockets }), 'https:': new HttpsAgent({ keepAlive: true, maxSockets: sockets, ...tlsAgentOptions(http) }) };
  }

  /**
   * GET an object along a route.
   * @param route - the bucket's route
   * @param key - the key
   * @returns the response of a 200 (its body not yet read), or undefined for anything else
   */
  async get(route: DirectRoute, key: string): Promise<DirectAnswer> {
    let credentials: DirectCredentials;
    try {
      credentials = await this.#credentials();
    } catch {
      return undefined; // the SDK says what is wrong with them
    }
    const path = route.prefix + encodeKey(key);
    const now = new Date(Date.now() + this.#clockOffset());
    const headers = signGet(route, path, credentials, now, (scope, day) => this.#keyFor(scope, day, route.region, credentials.secretAccessKey));
    const send = route.protocol === 'https:' ? httpsRequest : httpRequest;
    const idle = this.#http?.readTimeoutMs || IDLE_TIMEOUT_MS;
    const say = this.#http?.onRequest;
    const started = say && performance.now();
    const trace = (what: string): void => say?.(`S3 GetObject GET ${requestUrl({ ...route, path })} (direct) -> ${what} (${Math.round(performance.now() - started!)} ms)`);
    return new Promise<DirectAnswer>((resolve) => {
      const req = send(
        { protocol: route.protocol, hostname: route.hostname, port: route.port, path, method: 'GET', headers: { ...headers, 'user-agent': DIRECT_USER_AGENT }, agent: this.#agents[route.protocol] },
        (res) => {
          trace(String(res.statusCode));
          if (res.statusCode === 200) {
            resolve(res);
            return;
          }
          res.resume(); // drained: the connection is kept
          resolve(undefined);
        },
      );
      req.setTimeout(idle, () => req.destroy(new Error(`no answer in ${idle} ms`)));
      req.on('error', (e) => {
        trace(`failed: ${e.message}`);
        resolve(undefined); // (after a 200, the body's reader sees the error)
      });
      req.end();
    });
  }

  #keyFor(scope: string, day: string, region: string, secret: string): Buffer {
    const cached = this.#signingKey;
    if (cached && cached.scope === scope && cached.secret === secret) return cached.key;
    const key = signingKey(secret, day, region);
    this.#signingKey = { scope, secret, key };
    return key;
  }

  /** Close the kept connections. */
  close(): void {
    this.#agents['http:'].destroy();
    this.#agents['https:'].destroy();
  }
}
