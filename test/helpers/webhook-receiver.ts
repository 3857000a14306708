// A webhook receiver on loopback: records every request and answers as the test scripts it:
// success, a failure status (500, 429 with Retry-After, 400), a redirect, no answer at all, or
// an answer whose body never ends.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as received. */
export interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

/** How the receiver answers one request. */
export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'hang' }
  | { kind: 'endless'; status: number };

export interface WebhookReceiver {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Every request, in order. */
  received: Received[];
  /** Answer the next requests this way, one behaviour per request (then `ok`). */
  script(...behaviours: Behaviour[]): void;
  /** Forget what was received and what was scripted. */
  reset(): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const queue: Behaviour[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const b = queue.shift() ?? { kind: 'ok' };
      switch (b.kind) {
        case 'ok':
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
          return;
        case 'status':
          res.writeHead(b.status, { 'content-type': 'text/plain', ...(b.retryAfter !== undefined && { 'retry-after': b.retryAfter }) }).end(b.body ?? 'no');
          return;
        case 'redirect':
          res.writeHead(302, { location: b.location }).end();
          return;
        case 'hang':
          open.add(res);
          return;
        case 'endless': {
          open.add(res);
          res.writeHead(b.status, { 'content-type': 'text/plain' });
          const block = Buffer.alloc(64 * 1024, 'x');
          const pump = (): void => {
            while (!res.destroyed && res.write(block));
            if (!res.destroyed) res.once('drain', pump);
          };
          res.on('close', () => open.delete(res));
          pump();
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    script: (...b) => queue.push(...b),
    reset: () => {
      received.length = 0;
      queue.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of open) r.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
