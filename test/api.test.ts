// The package's entries: a small root that loads no ASN.1 code and registers nothing globally,
// and the checkpoint and sharding names in `validate-logs/checkpoint` and `validate-logs/scale`,
// reached through package.json's "exports" by the package's name.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as checkpoint from '../src/checkpoint.js';
import * as root from '../src/index.js';
import * as scale from '../src/scale.js';
import { writeResolveProbe } from './helpers/resolved.js';
import { run } from './helpers/cli.js';
import { ROOT } from './helpers/tamper.js';

/** The most runtime names the root may export (types are free). */
const ROOT_LIMIT = 40;

/** Checkpoints, signed notes, report hashes, extensions and time stamps. */
const CHECKPOINT_NAMES = [
  'CHECKPOINT_HEADER', 'MAX_NOTE_BYTES', 'MAX_NOTE_SIGNATURES', 'MAX_TIMESTAMP_RESPONSE_BYTES', 'NOTE_ED25519',
  'checkExtension', 'checkTimestampResponse', 'checkpointChain', 'createTimestampRequest', 'extensionFindings',
  'formatCheckpoint', 'formatNote', 'formatNoteSignerKey', 'formatNoteVerifierKey', 'generateNoteSignerKey',
  'noteKeyId', 'noteKeyLabel', 'noteKeyToPem', 'noteSignerKey', 'noteSignerKeyFromPem', 'noteVerifierKey',
  'noteVerifierKeyFromPem', 'openCheckpoint', 'parseCheckpoint', 'parseNote', 'parseNoteSignerKey',
  'parseNoteVerifierKey', 'reportSha256', 'requestTimestamp', 'signCheckpoint', 'signNote', 'verifyNote', 'verifyTimestamp',
];

/** Shards: the manifest, discovery, one shard's run, the merge and its coverage helpers. */
const SCALE_NAMES = [
  'SHARD_FORMAT_VERSION', 'SHARD_INDEX_VARIABLES', 'chainId', 'checkShardItem', 'checkShardReport', 'cutWindow',
  'discoverChains', 'formatManifest', 'mergeChain', 'mergeSpans', 'missingShards', 'ownership', 'parseManifest',
  'planShards', 'runShard', 'shardTrail', 'unreferencedReason',
];

/** The modules of pkijs and the ASN.1 code it brings. */
const ASN1_CODE = /\/node_modules\/(pkijs|asn1js|pvtsutils|pvutils|bytestreamjs|@peculiar\/[^/]+)\//;

describe('the root entry, validate-logs', () => {
  it(`exports at most ${ROOT_LIMIT} runtime names, none of those of the checkpoint and scale entries`, () => {
    const names = Object.keys(root);
    expect(names.length).toBeLessThanOrEqual(ROOT_LIMIT);
    expect(names.filter((n) => CHECKPOINT_NAMES.includes(n) || SCALE_NAMES.includes(n))).toEqual([]);
    // What an embedder verifying or generating a chain needs is still there.
    for (const n of ['verifyTrail', 'verifyTrailPages', 'generateDigests', 'PublicKeySet', 'createSigner', 'MemorySource', 'parseDigest', 'FINDING_CODES', 'ValidateLogsError', 'webPlatform']) {
      expect(names, n).toContain(n);
    }
  });
});

describe('what importing an entry loads, in a fresh node process', () => {
  let dir: string;
  let probeUrl: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vl-api-'));
    probeUrl = writeResolveProbe(dir);
    // The names on globalThis before and after the import (and a pause for anything it starts).
    writeFileSync(
      join(dir, 'load.mjs'),
      'const names = () => Reflect.ownKeys(globalThis).map(String);\n' +
        'const before = new Set(names());\n' +
        'await import(process.env.VL_ENTRY);\n' +
        'await new Promise((resolve) => setTimeout(resolve, 50));\n' +
        'console.log(JSON.stringify(names().filter((n) => !before.has(n))));\n',
    );
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Import one built module (`entry` is its path in dist/, without `.js`): the URLs the loader resolved and the names it added to globalThis. */
  async function load(entry: string): Promise<{ urls: string[]; added: string[] }> {
    const log = join(dir, `${entry.replaceAll('/', '-')}.resolved`);
    writeFileSync(log, '');
    const r = await run(process.execPath, ['--import', probeUrl, join(dir, 'load.mjs')], {
      VL_RESOLVED: log,
      VL_ENTRY: pathToFileURL(join(ROOT, 'dist', `${entry}.js`)).href,
      NODE_OPTIONS: undefined,
    });
    expect(r.status, r.stderr).toBe(0);
    return { urls: readFileSync(log, 'utf8').split('\n').filter(Boolean), added: JSON.parse(r.stdout) as string[] };
  }

  it('import "validate-logs" loads no pkijs, asn1js or their helpers, and adds nothing to globalThis', async () => {
    const { urls, added } = await load('index');
    // The hook saw the import and what it loaded.
    expect(urls).toContain(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);
    expect(urls.some((u) => u.includes('/dist/chain/verifier.js'))).toBe(true);
    expect(urls.filter((u) => ASN1_CODE.test(u))).toEqual([]);
    expect(added).toEqual([]);
  });

  it('the same probe sees pkijs and asn1js where they are loaded: the time-stamp module', async () => {
    const { urls } = await load('checkpoint/timestamp');
    expect(urls.some((u) => /\/node_modules\/pkijs\//.test(u))).toBe(true);
    expect(urls.some((u) => /\/node_modules\/asn1js\//.test(u))).toBe(true);
  });

  it('the scale entry loads no pkijs or asn1js either', async () => {
    const { urls } = await load('scale');
    expect(urls.some((u) => u.includes('/dist/scale/shard.js'))).toBe(true);
    expect(urls.filter((u) => ASN1_CODE.test(u))).toEqual([]);
  });
});

describe('validate-logs/checkpoint and validate-logs/scale', () => {
  it('export every checkpoint, note, time-stamp and sharding name', () => {
    expect(Object.keys(checkpoint).sort()).toEqual([...CHECKPOINT_NAMES].sort());
    expect(Object.keys(scale).sort()).toEqual([...SCALE_NAMES].sort());
  });

  it('resolve by the package name through package.json "exports", for node and for TypeScript', async () => {
    const app = mkdtempSync(join(tmpdir(), 'vl-exports-'));
    try {
      mkdirSync(join(app, 'node_modules'));
      symlinkSync(ROOT, join(app, 'node_modules', 'validate-logs'), 'dir');
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
      const code =
        "import { verifyTrail } from 'validate-logs';\n" +
        "import { openCheckpoint, verifyTimestamp } from 'validate-logs/checkpoint';\n" +
        "import { planShards, runShard } from 'validate-logs/scale';\n" +
        "const where = (s: string): string => import.meta.resolve(s).replace(/^.*\\/dist\\//, 'dist/');\n" +
        "console.log(JSON.stringify([typeof verifyTrail, typeof openCheckpoint, typeof verifyTimestamp, typeof planShards, typeof runShard, where('validate-logs/checkpoint'), where('validate-logs/scale')]));\n";
      writeFileSync(join(app, 'check.ts'), code);
      // Types: TypeScript resolves each subpath to its declarations through "exports".
      const tsc = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), 'check.ts'], {}, app);
      expect(tsc.stdout + tsc.stderr).toBe('');
      expect(tsc.status).toBe(0);
      // Node: the same file as JavaScript.
      writeFileSync(join(app, 'check.mjs'), code.replace('(s: string): string =>', '(s) =>'));
      const r = await run(process.execPath, ['check.mjs'], { NODE_OPTIONS: undefined }, app);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual(['function', 'function', 'function', 'function', 'function', 'dist/checkpoint.js', 'dist/scale.js']);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  }, 60_000);
});
