// Every recipe in README.md and docs/*.md, run as a reader would run it: a recipe that is not
// run rots. Shell blocks (```sh) run in bash with `set -euo pipefail`, TypeScript blocks (```ts)
// with tsx, in document order, in one fresh folder per page. The folder holds a copy of the
// built-in sample (sample/bucket, sample/public-keys.json, as in a clone); `validate-logs` and
// `write-digests` are on PATH (shims to the built dist/cli/, as `npm link` gives), `aws` talks to
// an S3 server (s3rver) and a CloudTrail/Organizations endpoint on loopback, and so does
// validate-logs (AWS_ENDPOINT_URL_S3 and friends); `import 'validate-logs'` resolves to this
// package through a node_modules link, so its "exports" map is what a user gets. A time-stamping
// authority runs on loopback too: TSA_URL is its address, tsa-ca.pem its root (what the docs ask
// the reader to provide).
//
// Conventions in the docs (docs/README-style, checked here):
// - ```sh exit=N: the block's last command exits N (default 0: every command succeeds).
// - a ```text block right after a recipe: each of its lines must appear in the recipe's output.
// - ```sh norun: cannot run here (a real AWS account, the test suite itself); the line before it
//   must say "Not run by the tests:" and why, and there may be only a handful.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './helpers/cli.js';
import { awsCliUnusable, loopbackEnv, startAwsApi, startS3, uploadDir, type S3Server } from './helpers/aws.js';
import type { ListPublicKeysDocument } from './helpers/lib.js';
import { ROOT } from './helpers/tamper.js';
import { startTsa, type Tsa } from './helpers/tsa.js';

/** A fenced block of a page. */
interface Block {
  page: string;
  line: number;
  lang: string;
  info: string[];
  code: string;
  /** The ```text block that follows it, if any: lines its output must hold. */
  expect?: string[];
  /** The text just before it (the visible marker of a block that is not run). */
  before: string;
}

const SHELL = new Set(['sh', 'bash', 'shell']);
const TS = new Set(['ts', 'typescript']);
/** At most this many blocks may be marked as not run. */
const MAX_NORUN = 4;

/** README.md and every docs/*.md page (docs/api/ is typedoc's output, not ours). */
function pages(): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((n) => n.endsWith('.md')).sort();
  return ['README.md', ...docs.map((n) => `docs/${n}`)];
}

/** The fenced blocks of a page, with the ```text block that follows each. */
function blocks(page: string, markdown: string): Block[] {
  const out: Block[] = [];
  const fence = /^```([^\n`]*)\n([\s\S]*?)^```[ \t]*$/gm;
  let prevEnd = 0;
  let previous: Block | undefined;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    const [lang = '', ...info] = m[1]!.trim().split(/\s+/);
    const between = markdown.slice(prevEnd, m.index);
    const block: Block = {
      page,
      line: markdown.slice(0, m.index).split('\n').length,
      lang,
      info,
      code: m[2]!,
      before: between.trim().split('\n').slice(-3).join('\n'),
    };
    if (lang === 'text' && previous && (SHELL.has(previous.lang) || TS.has(previous.lang)) && between.trim() === '') {
      previous.expect = m[2]!.split('\n').map((l) => l.trim()).filter(Boolean);
    }
    out.push(block);
    previous = block;
    prevEnd = m.index + m[0].length;
  }
  return out;
}

const all = pages().flatMap((p) => blocks(p, readFileSync(join(ROOT, p), 'utf8')));
const recipes = all.filter((b) => SHELL.has(b.lang) || TS.has(b.lang));
const norun = recipes.filter((b) => b.info.includes('norun'));

describe('the docs mark their recipes', () => {
  it('finds the recipes (README.md and docs/cli.md hold the most)', () => {
    for (const page of ['README.md', 'docs/cli.md']) expect(recipes.filter((b) => b.page === page && !b.info.includes('norun')).length, page).toBeGreaterThan(4);
    expect(recipes.length).toBeGreaterThan(20);
  });

  it('marks at most a handful as not run, each visibly and with a reason', () => {
    expect(norun.length).toBeLessThanOrEqual(MAX_NORUN);
    for (const b of norun) expect(b.before, `${b.page}:${b.line}`).toMatch(/Not run by the tests: \S.{10,}/);
  });

  it('hides no command in a block that is not run (an untagged or text block holding a command line)', () => {
    const command = /^\s*(\$ )?(validate-logs|write-digests|npm|npx|aws|openssl) /m;
    for (const b of all) {
      if (SHELL.has(b.lang) || TS.has(b.lang) || b.lang === 'text') continue;
      expect(command.test(b.code), `${b.page}:${b.line} (\`\`\`${b.lang}) holds a command: tag it sh`).toBe(false);
    }
  });
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

describe('the docs link to what exists', () => {
  it('every relative link names a file of the repository, and a heading of it when it has an anchor', () => {
    const anchors = new Map<string, Set<string>>();
    const headings = (file: string): Set<string> => {
      let set = anchors.get(file);
      if (!set) {
        const text = readFileSync(join(ROOT, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
        set = new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1]!)));
        anchors.set(file, set);
      }
      return set;
    };
    let links = 0;
    for (const page of pages()) {
      const text = readFileSync(join(ROOT, page), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
        const [path = '', hash] = target.split('#');
        const file = path === '' ? page : posix.normalize(posix.join(posix.dirname(page), path));
        expect(existsSync(join(ROOT, file)), `${page} links to ${target}: no ${file}`).toBe(true);
        if (hash !== undefined && file.endsWith('.md')) expect(headings(file).has(hash), `${page} links to ${target}: no such heading in ${file}`).toBe(true);
        links++;
      }
    }
    expect(links).toBeGreaterThan(20);
  });
});

let s3: S3Server;
let api: Awaited<ReturnType<typeof startAwsApi>>;
let tsa: Tsa;
const work = mkdtempSync(join(tmpdir(), 'vl-recipes-'));

beforeAll(async () => {
  const keys = JSON.parse(readFileSync(join(ROOT, 'sample', 'public-keys.json'), 'utf8')) as ListPublicKeysDocument;
  [s3, api, tsa] = await Promise.all([
    startS3(['sample-bucket', 'ops-bucket']),
    startAwsApi({
      keys,
      trails: [{ Name: 'sample-trail', TrailARN: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail', S3BucketName: 'sample-bucket', HomeRegion: 'us-east-1', IsMultiRegionTrail: false }],
    }),
    startTsa(),
  ]);
  await uploadDir(s3, 'sample-bucket', join(ROOT, 'sample', 'bucket'));
});

afterAll(async () => {
  await Promise.all([s3?.close(), api?.close(), tsa?.close()]);
  rmSync(work, { recursive: true, force: true });
});

/** A fresh folder for a page: the sample, the commands on PATH, the package importable. */
function folder(page: string): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = join(work, page.replace(/[^a-z0-9]+/gi, '-'));
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const name of ['validate-logs', 'write-digests']) {
    writeFileSync(join(dir, 'bin', name), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'dist', 'cli', `${name}.js`)}" "$@"\n`);
    chmodSync(join(dir, 'bin', name), 0o755);
  }
  cpSync(join(ROOT, 'sample'), join(dir, 'sample'), { recursive: true });
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'validate-logs'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module","private":true}\n');
  cpSync(join(tsa.dir, 'ca.pem'), join(dir, 'tsa-ca.pem')); // the authority's root, as the docs ask the reader to save it
  mkdirSync(join(dir, '.aws'));
  writeFileSync(join(dir, '.aws', 'config'), '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n');
  const env: NodeJS.ProcessEnv = {
    ...loopbackEnv(api.url),
    PATH: `${join(dir, 'bin')}:${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, '.aws', 'config'),
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_PAGER: '',
    TSA_URL: tsa.url,
    AWS_PROFILE: undefined,
    AWS_SESSION_TOKEN: undefined,
    NODE_OPTIONS: '',
  };
  return { dir, env };
}

// Pages run side by side (each in its own folder); a page's blocks run in order.
describe.concurrent('every recipe runs', () => {
  for (const page of pages()) {
    const mine = recipes.filter((b) => b.page === page && !b.info.includes('norun'));
    if (mine.length === 0) continue;
    describe.sequential(page, () => {
      let place: { dir: string; env: NodeJS.ProcessEnv };
      beforeAll(() => {
        place = folder(page);
      });
      for (const b of mine) {
        const title = `line ${b.line}: ${b.code.trim().split('\n').find((l) => !l.startsWith('#')) ?? ''}`.slice(0, 110);
        it(title, async (ctx) => {
          const why = /^\s*aws /m.test(b.code) ? awsCliUnusable() : undefined;
          if (why && process.env.CI === 'true') throw new Error(`${page}:${b.line} runs the AWS CLI: ${why}`);
          if (why) return ctx.skip(`${page}:${b.line} runs the AWS CLI: ${why}`);
          const file = join(place.dir, `recipe-${b.line}.${SHELL.has(b.lang) ? 'sh' : 'ts'}`);
          writeFileSync(file, SHELL.has(b.lang) ? `set -euo pipefail\n${b.code}` : b.code);
          const r = SHELL.has(b.lang)
            ? await run('bash', [file], place.env, place.dir, 90_000)
            : await run(join(ROOT, 'node_modules', '.bin', 'tsx'), [file], place.env, place.dir, 90_000);
          const wanted = Number(b.info.find((i) => i.startsWith('exit='))?.slice(5) ?? 0);
          const output = r.stdout + r.stderr;
          expect(r.status, `${page}:${b.line} exited ${r.status}\n${output.slice(-3000)}`).toBe(wanted);
          for (const line of b.expect ?? []) expect(output, `${page}:${b.line} should print: ${line}`).toContain(line);
        }, 120_000);
      }
    });
  }
});
