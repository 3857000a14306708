// The checkpoint core is portable: bundled for the browser (where a `node:` import cannot
// resolve) and run in headless Chromium, it signs and verifies notes, writes and reads a
// checkpoint body, and builds a time-stamp request, with the same answers as in Node.
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadJson, ROOT } from './helpers/tamper.js';
import { CHROMIUM, chromiumRequirement } from './helpers/tools.js';

const browserTool = chromiumRequirement();
const ENTRY = `
import { formatCheckpoint, parseCheckpoint } from './src/checkpoint/checkpoint.ts';
import { reportSha256 } from './src/checkpoint/report-hash.ts';
import { parseNoteSignerKey, parseNoteVerifierKey, signNote, verifyNote, generateNoteSignerKey } from './src/checkpoint/note.ts';
import { createTimestampRequest } from './src/checkpoint/timestamp.ts';
globalThis.run = async (v) => {
  const signer = await parseNoteSignerKey(v.signer);
  const note = await signNote(v.text, [signer]);
  const witness = await generateNoteSignerKey('example.com/witness');
  const both = await signNote(await verifyNote(note, [parseNoteVerifierKey(v.verifier)]), [witness]);
  const body = formatCheckpoint(parseCheckpoint(v.body));
  const req = createTimestampRequest(new TextEncoder().encode(body));
  return { note, verified: (await verifyNote(both, [signer, witness])).verified.length, body, report: reportSha256(v.report), request: req.der.length };
};
`;

let browser: Browser | undefined;
afterAll(async () => browser?.close());

describe.skipIf(browserTool.skip)('the checkpoint core in a browser', () => {
  it('bundles with no node: module and gives the same answers in Chromium', async () => {
    browserTool.check();
    const out = await build({
      stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'ts' },
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'iife',
      logLevel: 'silent',
    });
    const notes = loadJson<{ signerKeys: Record<string, string>; verifierKeys: Record<string, string>; signing: { text: string; note: string } }>('signed-note.json');
    const cp = loadJson<{ valid: { body: string }; report: { value: unknown; sha256: string } }>('checkpoint.json');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage();
    await page.addScriptTag({ content: out.outputFiles[0]!.text });
    const v = { signer: notes.signerKeys.PeterNeumann, verifier: notes.verifierKeys.PeterNeumann, text: notes.signing.text, body: cp.valid.body, report: cp.report.value };
    const got = await page.evaluate((arg) => (globalThis as unknown as { run: (a: unknown) => Promise<unknown> }).run(arg), v);
    expect(got).toEqual({ note: notes.signing.note, verified: 2, body: cp.valid.body, report: cp.report.sha256, request: expect.any(Number) });
  });
});

