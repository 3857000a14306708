// The browser side of the tests and the benchmark: the main entry bundled by esbuild for
// browsers, a page served on loopback that loads it, and headless Chromium driving the page.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import type { Browser } from 'playwright-core';
import { ROOT } from './tamper.js';
import { CHROMIUM, chromiumRequirement } from './tools.js';

export { CHROMIUM };
/** Whether the bench can run its Chromium measurements (the tests use chromiumRequirement). */
export const chromiumPresent = (): boolean => chromiumRequirement().missing === undefined;

/** Headless Chromium as every browser test starts it: no sandbox (root), no background network. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** The built main entry (dist/index.js) bundled for browsers, as one ES module. */
export async function browserBundle(): Promise<{ code: string; metafile: Metafile }> {
  const r = await build({
    entryPoints: [join(ROOT, 'dist', 'index.js')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: r.outputFiles[0]!.text, metafile: r.metafile };
}

/** The conformance functions (test/browser/conformance.ts) as a module for the page. */
async function conformanceModule(): Promise<string> {
  const r = await build({ entryPoints: [join(ROOT, 'test', 'browser', 'conformance.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
  return r.outputFiles[0]!.text;
}

export interface BrowserPage {
  /** Run `fn(lib, conformance, arg)` in the page, where `lib` is the bundle and `conformance` the shared functions. */
  run<A, R>(fn: (lib: unknown, conformance: unknown, arg: A) => Promise<R>, arg: A): Promise<R>;
  /** The browser's version. */
  version: string;
  close(): Promise<void>;
}

/** Serve the bundle on loopback and open it in headless Chromium. */
export async function openBrowserPage(): Promise<BrowserPage> {
  const files: Record<string, [string, string]> = {
    '/': ['text/html', '<!doctype html><meta charset="utf-8"><title>validate-logs</title>'],
    '/validate-logs.js': ['text/javascript', (await browserBundle()).code],
    '/conformance.js': ['text/javascript', await conformanceModule()],
  };
  const server: Server = createServer((req, res) => {
    const f = files[req.url ?? ''];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  // Loaded once, by a string the test runner's transforms leave alone.
  await page.evaluate("(async () => { globalThis.lib = await import('/validate-logs.js'); globalThis.conformance = await import('/conformance.js'); })()");
  return {
    version: browser.version(),
    async run(fn, arg) {
      // The function is sent as source and called with the two modules the page loaded.
      return page.evaluate(
        ({ source, arg: a }) => {
          const g = globalThis as unknown as { lib: unknown; conformance: unknown };
          const f = new Function(`return (${source})`)() as (l: unknown, c: unknown, x: unknown) => Promise<unknown>;
          return f(g.lib, g.conformance, a);
        },
        { source: fn.toString(), arg },
      ) as Promise<Awaited<ReturnType<typeof fn>>>;
    },
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
      if (errors.length > 0) throw new Error(`errors in the page: ${errors.join('; ')}`);
    },
  };
}
