// An HTTP proxy in front of a loopback S3 server that adds latency and injects faults, the way
// a real network and a busy S3 behave: 5xx and SlowDown answers, connections reset mid-body,
// bodies shorter than their Content-Length.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type Fault = 'slowdown' | 'internal' | 'reset-mid-body' | 'short-body';

export interface FaultRule {
  /** Requests whose method and path (decoded) match. */
  match: (method: string, path: string) => boolean;
  fault: Fault;
  /** How many matching requests get the fault (then they pass); Infinity for all. */
  times: number;
}

export interface Proxy {
  url: string;
  rules: FaultRule[];
  /** Milliseconds added before each response. */
  latencyMs: number;
  /** Requests seen: method and path. */
  seen: string[];
  /** The User-Agent header of each request seen. */
  agents: string[];
  close: () => Promise<void>;
}

export async function startProxy(target: string, latencyMs = 0): Promise<Proxy> {
  const upstream = new URL(target);
  const proxy: Proxy = { url: '', rules: [], latencyMs, seen: [], agents: [], close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    proxy.seen.push(`${req.method} ${path}`);
    proxy.agents.push(req.headers['user-agent'] ?? '');
    const rule = proxy.rules.find((r) => r.times > 0 && r.match(req.method ?? 'GET', path));
    if (rule) rule.times--;
    const go = (): void => {
      if (rule?.fault === 'slowdown' || rule?.fault === 'internal') {
        req.resume();
        const [status, code, message] = rule.fault === 'slowdown' ? [503, 'SlowDown', 'Please reduce your request rate.'] : [500, 'InternalError', 'We encountered an internal error. Please try again.'];
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
        return;
      }
      const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (rule?.fault === 'reset-mid-body' || rule?.fault === 'short-body') {
          let sent = 0;
          const total = Number(upRes.headers['content-length'] ?? 0);
          upRes.on('data', (chunk: Buffer) => {
            if (sent >= total / 2) return;
            const part = chunk.subarray(0, Math.max(0, Math.ceil(total / 2) - sent));
            sent += part.length;
            res.write(part);
          });
          upRes.on('end', () => {
            if (rule.fault === 'reset-mid-body') res.socket?.destroy();
            else res.socket?.end();
          });
          return;
        }
        upRes.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (proxy.latencyMs > 0) setTimeout(go, proxy.latencyMs);
    else go();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  proxy.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
