// A loopback proxy in front of s3rver that gives PutObject Amazon S3's conditional writes.
// s3rver 3.7 ignores If-Match and If-None-Match on PUT (its object controller checks them on
// GET only), so a test of a conditional write against it alone would prove nothing. Here a PUT
// carrying either header is checked against the object's current ETag first (a HEAD to s3rver),
// and the check and the write are serialized per key, as S3 serializes them:
// - If-None-Match: * -> 412 PreconditionFailed when the key exists;
// - If-Match: ETAG   -> 412 PreconditionFailed when the key is absent or its ETag differs.
// Everything else (and a PUT without a condition) is forwarded untouched, Host header and
// signature included, and s3rver's answer sent back. One more thing S3 has and s3rver lacks:
// s3rver answers a PUT before the object's file is fully written, so a GET right after it can
// read part of the object; the proxy answers a successful PUT only once a GET returns the whole
// object (its MD5 is the ETag s3rver computed), as S3's read-after-write consistency promises.
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** One conditional PUT the proxy judged. */
export interface ConditionalPut {
  /** The object path, `/BUCKET/KEY`. */
  path: string;
  /** The condition: `If-Match: ETAG` or `If-None-Match: *`. */
  condition: string;
  /** 412 when refused, else s3rver's status. */
  status: number;
}

export interface ConditionalS3 {
  /** The proxy's address: the endpoint to give the SDK. */
  url: string;
  /** Every conditional PUT judged, in order. */
  puts: ConditionalPut[];
  /** Milliseconds to wait between the check and the write (widens a race, for tests). */
  holdMs: number;
  close: () => Promise<void>;
}

/** An ETag without quotes or a weak marker, for comparison (S3 compares them so). */
const bare = (etag: string | undefined): string => (etag ?? '').trim().replace(/^W\//, '').replace(/"/g, '');

function forward(upstream: URL, method: string, path: string, headers: IncomingHttpHeaders, body: Buffer | undefined): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: upstream.hostname, port: upstream.port, method, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Wait until a GET of `path` returns bytes whose MD5 is `etag` (s3rver's PUT answers early). */
async function untilWhole(upstream: URL, path: string, host: string, etag: string | undefined): Promise<void> {
  const want = bare(etag);
  if (!/^[0-9a-f]{32}$/.test(want)) return;
  for (let i = 0; i < 200; i++) {
    const got = await forward(upstream, 'GET', path, { host }, undefined);
    if (got.status === 200 && createHash('md5').update(got.body).digest('hex') === want) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function preconditionFailed(res: ServerResponse, path: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition><Resource>${path}</Resource><RequestId>0</RequestId></Error>`;
  res.writeHead(412, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': '0' });
  res.end(body);
}

/**
 * Start the proxy in front of an s3rver.
 * @param target - s3rver's URL (http://127.0.0.1:PORT)
 * @returns the proxy
 */
export async function startConditionalS3(target: string): Promise<ConditionalS3> {
  const upstream = new URL(target);
  const queues = new Map<string, Promise<void>>();
  const proxy: ConditionalS3 = { url: '', puts: [], holdMs: 0, close: async () => undefined };

  /** Run `work` after every earlier conditional PUT of the same key. */
  const serialized = async (key: string, work: () => Promise<void>): Promise<void> => {
    const before = queues.get(key) ?? Promise.resolve();
    const mine = before.then(work, work);
    const tail = mine.catch(() => undefined);
    queues.set(key, tail);
    try {
      await mine;
    } finally {
      if (queues.get(key) === tail) queues.delete(key);
    }
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      const url = req.url ?? '/';
      const path = url.split('?')[0]!;
      const query = new URLSearchParams(url.split('?')[1] ?? '');
      const ifMatch = req.headers['if-match'];
      const ifNoneMatch = req.headers['if-none-match'];
      const conditional = req.method === 'PUT' && !query.has('partNumber') && (ifMatch !== undefined || ifNoneMatch !== undefined);
      const pass = async (): Promise<number> => {
        const answer = await forward(upstream, req.method ?? 'GET', url, req.headers, req.method === 'GET' || req.method === 'HEAD' ? undefined : body);
        if (req.method === 'PUT' && answer.status === 200 && !query.has('partNumber')) await untilWhole(upstream, path, req.headers.host ?? upstream.host, answer.headers.etag as string | undefined);
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return answer.status;
      };
      const work = conditional
        ? serialized(path, async () => {
            const head = await forward(upstream, 'HEAD', path, { host: req.headers.host ?? upstream.host }, undefined);
            const current = head.status === 200 ? bare(head.headers.etag as string | undefined) : undefined;
            const condition = ifMatch !== undefined ? `If-Match: ${ifMatch}` : `If-None-Match: ${String(ifNoneMatch)}`;
            const refused = ifMatch !== undefined ? current === undefined || current !== bare(ifMatch) : String(ifNoneMatch).trim() === '*' && current !== undefined;
            if (proxy.holdMs > 0) await new Promise((resolve) => setTimeout(resolve, proxy.holdMs));
            if (refused) {
              proxy.puts.push({ path, condition, status: 412 });
              preconditionFailed(res, path);
              return;
            }
            // Forwarded untouched (the condition headers are signed; s3rver ignores them on PUT).
            const status = await forward(upstream, 'PUT', url, req.headers, body).then(async (answer) => {
              if (answer.status === 200) await untilWhole(upstream, path, req.headers.host ?? upstream.host, answer.headers.etag as string | undefined);
              res.writeHead(answer.status, answer.headers);
              res.end(answer.body);
              return answer.status;
            });
            proxy.puts.push({ path, condition, status });
          })
        : pass().then(() => undefined);
      work.catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(e));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  proxy.url = `http://127.0.0.1:${address.port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
