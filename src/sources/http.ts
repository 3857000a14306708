/**
 * How the AWS clients (S3, CloudTrail, Organizations, and the direct GETs of `s3-direct`)
 * reach AWS: the certificate authorities trusted, whether certificates are verified at all,
 * how long a connection and a read may take, and a line for each request sent. These are the
 * AWS CLI's `--ca-bundle`, `--no-verify-ssl`, `--cli-connect-timeout`, `--cli-read-timeout`
 * and `--debug`; without them every client keeps the SDK's defaults.
 * @module
 */
import type { AgentOptions } from 'node:https';

/** How the AWS clients connect (every member optional: absent, the SDK's default). */
export interface AwsHttpOptions {
  /** PEM certificates of the authorities trusted for HTTPS, instead of Node.js's own list. */
  caBundle?: string;
  /** false: accept any certificate, verifying no endpoint's identity (default true). */
  verifyTls?: boolean;
  /** Milliseconds a connection may take to open; 0: no limit. */
  connectTimeoutMs?: number;
  /** Milliseconds a request may wait for the next bytes of its answer; 0: no limit. */
  readTimeoutMs?: number;
  /**
   * Called once for each HTTP request sent (each attempt of a retried one): its method, URL
   * (never its headers, so never a credential), status or error, and time taken.
   */
  onRequest?: (line: string) => void;
}

/**
 * The TLS options of an HTTPS agent: the CA bundle, and whether certificates are verified.
 * @param o - the options
 * @returns the agent options (empty for the defaults)
 */
export function tlsAgentOptions(o: AwsHttpOptions | undefined): AgentOptions {
  return { ...(o?.caBundle !== undefined && { ca: o.caBundle }), ...(o?.verifyTls === false && { rejectUnauthorized: false }) };
}

/** The request handler options of an SDK client (the shape `requestHandler` takes for Node.js). */
export interface SdkHandlerOptions {
  /** Milliseconds to connect. */
  connectionTimeout?: number;
  /** Milliseconds a socket may stay idle. */
  socketTimeout?: number;
  /** The HTTPS agent's options. */
  httpsAgent?: AgentOptions;
}

/**
 * The part of an SDK client's configuration these options set.
 * @param o - the options
 * @returns `{ requestHandler }` when anything differs from the SDK's defaults, else nothing
 */
export function sdkHttpConfig(o: AwsHttpOptions | undefined): { requestHandler?: SdkHandlerOptions } {
  if (!o) return {};
  const tls = tlsAgentOptions(o);
  const handler: SdkHandlerOptions = {
    ...(o.connectTimeoutMs !== undefined && { connectionTimeout: o.connectTimeoutMs }),
    ...(o.readTimeoutMs !== undefined && { socketTimeout: o.readTimeoutMs }),
    ...(Object.keys(tls).length > 0 && { httpsAgent: tls }),
  };
  return Object.keys(handler).length > 0 ? { requestHandler: handler } : {};
}

/** The request and response as an SDK middleware sees them, innermost. */
interface WireRequest {
  method?: string;
  protocol?: string;
  hostname?: string;
  port?: number | undefined;
  path?: string;
  query?: Record<string, string | string[] | null>;
}

/** An SDK middleware's next handler, as far as tracing uses it. */
type Next = (args: { request: unknown }) => Promise<{ response: unknown }>;

/** What the SDK tells a middleware about the call (`commandName`: `ListObjectsV2Command`). */
interface CallContext {
  commandName?: string;
}

/** An SDK client, as far as tracing uses it (any client: its stack's types differ per service). */
export interface TraceableClient {
  /** The client's middleware stack. */
  middlewareStack: { add(middleware: never, options: never): void };
}

/** The one middleware tracing adds, in the innermost step of every request. */
type Trace = (next: Next, context: CallContext) => Next;

/**
 * A request's URL as a line shows it: scheme, host, port, path and query (no headers).
 * @param r - the request
 * @returns the URL
 */
export function requestUrl(r: WireRequest): string {
  const query = Object.entries(r.query ?? {})
    .flatMap(([k, v]) => (v === null ? [k] : (Array.isArray(v) ? v : [v]).map((x) => `${k}=${encodeURIComponent(x)}`)))
    .join('&');
  return `${r.protocol ?? 'https:'}//${r.hostname ?? ''}${r.port !== undefined ? `:${r.port}` : ''}${r.path ?? '/'}${query ? `?${query}` : ''}`;
}

/**
 * Have a client call `o.onRequest` once for each request it sends (each attempt): `S3
 * ListObjectsV2 GET https://... -> 200 (12 ms)`.
 * @param client - the SDK client
 * @param o - the options; nothing is added without `onRequest`
 * @param service - the service named in each line (`S3`, `CloudTrail`)
 * @returns the client
 */
export function traceRequests<C extends TraceableClient>(client: C, o: AwsHttpOptions | undefined, service: string): C {
  const say = o?.onRequest;
  if (!say) return client;
  const trace: Trace = (next, context) => async (args) => {
    const r = args.request as WireRequest;
    const what = [service, context.commandName?.replace(/Command$/, ''), r.method ?? '?', requestUrl(r)].filter(Boolean).join(' ');
    const started = performance.now();
    const took = (): string => `${Math.round(performance.now() - started)} ms`;
    try {
      const out = await next(args);
      say(`${what} -> ${(out.response as { statusCode?: number }).statusCode ?? '?'} (${took()})`);
      return out;
    } catch (e) {
      say(`${what} -> failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} (${took()})`);
      throw e;
    }
  };
  client.middlewareStack.add(trace as never, { step: 'deserialize', priority: 'low', name: 'validateLogsTraceRequests' } as never);
  return client;
}
