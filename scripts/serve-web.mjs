// npm run web: serve the built page (dist/web) on loopback and print its address. Serves only
// the page's own files: GET and HEAD, no listing, nothing outside the folder.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
};
const CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Serve a folder of static files on 127.0.0.1.
 * @param {string} dir - the folder
 * @param {number} port - the port (0: any free one)
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function serveStatic(dir, port = 0) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    const type = TYPES[file.slice(file.lastIndexOf('.'))];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !file.startsWith(dir + sep) || !type) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405).end();
      return;
    }
    let body;
    try {
      body = await readFile(file);
    } catch {
      res.writeHead(404).end(); // absent (or a folder): nothing else is served
      return;
    }
    res.writeHead(200, {
      'content-type': type,
      'content-length': body.length,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': CSP,
      'referrer-policy': 'no-referrer',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address();
  return { url: `http://127.0.0.1:${bound}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'web');
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8417;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`web: --port must be a port number, not ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  const { url } = await serveStatic(dir, port).catch((e) => {
    console.error(`web: cannot listen on 127.0.0.1:${port}: ${e.code ?? e.message} (choose another with -- --port N)`);
    process.exit(2);
  });
  console.log(`validate-logs page: ${url}  (loopback only; Ctrl+C to stop)`);
}
