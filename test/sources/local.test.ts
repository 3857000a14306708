import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, constants as fsConstants, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalDirectory, isValidateLogsError } from '../helpers/lib.js';
import { ROOT } from '../helpers/tamper.js';
import { requireTool } from '../helpers/tools.js';
import { sourceContract } from './contract.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vl-local-'));
}

sourceContract('LocalDirectory', async (bucket, objects) => {
  const root = tempDir();
  for (const [key, o] of Object.entries(objects)) {
    const p = join(root, key);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, o.body);
    if (o.metadata) writeFileSync(p + '.metadata.json', JSON.stringify(o.metadata));
  }
  const fifo = join(root, 'odd', 'fifo.json.gz');
  return {
    source: new LocalDirectory(root, { bucket }),
    plantUnreadable: () => {
      mkdirSync(join(root, 'odd'));
      execFileSync('mkfifo', [fifo]);
      symlinkSync('..', join(root, 'odd', 'up'));
      symlinkSync('self', join(root, 'odd', 'self'));
      symlinkSync(tmpdir(), join(root, 'odd', 'out'));
      writeFileSync(join(root, 'odd', 'back\\slash'), 'x');
      return ['odd/back\\slash', 'odd/fifo.json.gz', 'odd/out/', 'odd/self', 'odd/up/'];
    },
    cleanup: () => {
      unblock(fifo);
      rmSync(root, { recursive: true, force: true });
    },
  };
});

describe('LocalDirectory specifics', () => {
  it('refuses a symbolic link that points outside the copy (NOT_READABLE), and lists no sidecars', async () => {
    const outside = tempDir();
    const root = tempDir();
    writeFileSync(join(outside, 'secret'), 'secret');
    mkdirSync(join(root, 'a'));
    symlinkSync(join(outside, 'secret'), join(root, 'a', 'link'));
    symlinkSync(outside, join(root, 'dirlink'));
    writeFileSync(join(root, 'a', 'x'), 'x');
    writeFileSync(join(root, 'a', 'x.metadata.json'), '{}');
    const src = new LocalDirectory(root);
    await expect(src.get('b', 'a/link')).rejects.toSatisfy((e) => isValidateLogsError(e, 'NOT_READABLE'));
    await expect(src.get('b', 'dirlink/secret')).rejects.toSatisfy((e) => isValidateLogsError(e, 'NOT_READABLE'));
    const listed: string[] = [];
    for await (const o of src.list('b', '')) listed.push(o.key);
    expect(listed).not.toContain('a/x.metadata.json');
    expect(listed).toContain('a/x');
    rmSync(outside, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });

  it('reports a malformed sidecar as METADATA_INVALID', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'd'), 'x');
    for (const bad of ['{', '[]', '{"signature": 5}']) {
      writeFileSync(join(root, 'd.metadata.json'), bad);
      await expect(new LocalDirectory(root).get('b', 'd', { metadata: true })).rejects.toSatisfy((e) => isValidateLogsError(e, 'METADATA_INVALID'));
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('writes atomically, never overwrites, and replaces only an orphan sidecar', async () => {
    const root = tempDir();
    const dir = new LocalDirectory(root, { bucket: 'b' });
    writeFileSync(join(root, 'k.metadata.json'), '{"signature":"stale"}'); // left by a crash
    expect(await dir.putIfAbsent('b', 'k', new TextEncoder().encode('one'), { signature: 'new' })).toBe(true);
    expect(JSON.parse(readFileSync(join(root, 'k.metadata.json'), 'utf8'))).toEqual({ signature: 'new' });
    expect(await dir.putIfAbsent('b', 'k', new TextEncoder().encode('two'), { signature: 'other' })).toBe(false);
    expect(readFileSync(join(root, 'k'), 'utf8')).toBe('one');
    expect(JSON.parse(readFileSync(join(root, 'k.metadata.json'), 'utf8'))).toEqual({ signature: 'new' });
    expect(readdirSync(root).filter((n) => n.includes('.tmp-'))).toEqual([]);
    await expect(dir.putIfAbsent('b', '../escape', new Uint8Array(1), {})).rejects.toSatisfy((e) => isValidateLogsError(e, 'UNSAFE_KEY'));
    await expect(dir.putIfAbsent('other', 'k2', new Uint8Array(1), {})).rejects.toSatisfy((e) => isValidateLogsError(e, 'SOURCE_ERROR'));
    rmSync(root, { recursive: true, force: true });
  });

  it('fails with SOURCE_ERROR when the root does not exist', async () => {
    await expect(new LocalDirectory(join(tmpdir(), 'does-not-exist-vl')).get('b', 'k')).rejects.toSatisfy((e) => isValidateLogsError(e, 'SOURCE_ERROR'));
  });
});

// Storage that cannot be fooled: one odd, planted or unreadable entry is a finding about that
// entry (`unreadable` in the listing, NOT_READABLE from get); it never hangs the run, stops it,
// or hides anything else. Every case here fails on a source that opens FIFOs for a blocking
// read, follows links differently when listing and reading, or skips what it cannot read.

/** Reject when `p` has not settled after `ms`: a hang is a failure, not a stuck test run. */
function settles<T>(p: Promise<T>, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: the read hangs`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Open a FIFO's write end, so that a reader blocked on it (a source under test that hangs) is let go. */
function unblock(fifo: string): void {
  try {
    closeSync(openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
  } catch {
    // no reader was waiting (ENXIO), or the FIFO is gone: nothing is stuck on it
  }
}

async function listAll(src: LocalDirectory, prefix = '', after?: string): Promise<Array<{ key: string; unreadable?: string }>> {
  const out: Array<{ key: string; unreadable?: string }> = [];
  for await (const o of src.list('b', prefix, after)) out.push(o.unreadable === undefined ? { key: o.key } : { key: o.key, unreadable: o.unreadable });
  return out;
}

async function text(src: LocalDirectory, key: string): Promise<string | undefined> {
  const o = await settles(src.get('b', key));
  if (!o) return undefined;
  const parts: Buffer[] = [];
  for await (const c of o.body) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('utf8');
}

/** `get` rejects with NOT_READABLE whose message names the key and matches `why`, without hanging. */
async function refused(src: LocalDirectory, key: string, why: RegExp, options: { metadata?: boolean } = {}, names = key): Promise<void> {
  const e = await settles(src.get('b', key, options)).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(isValidateLogsError(e, 'NOT_READABLE'), `get ${key}: ${String(e)}`).toBe(true);
  expect((e as Error).message).toContain(JSON.stringify(names));
  expect((e as Error).message).toMatch(why);
}

describe('LocalDirectory: special files', () => {
  const roots: string[] = [];
  const fifos: string[] = [];
  afterEach(() => {
    for (const f of fifos.splice(0)) unblock(f);
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });
  const root = (): string => {
    const r = tempDir();
    roots.push(r);
    return r;
  };
  const fifo = (path: string): void => {
    mkdirSync(dirname(path), { recursive: true });
    execFileSync('mkfifo', [path]);
    fifos.push(path);
  };

  it('a FIFO in place of a log is listed as unreadable and refused, never opened for a blocking read', async () => {
    const r = root();
    mkdirSync(join(r, 'logs'));
    writeFileSync(join(r, 'logs', 'a.json.gz'), 'a');
    fifo(join(r, 'logs', 'b.json.gz'));
    writeFileSync(join(r, 'logs', 'c.json.gz'), 'c');
    const src = new LocalDirectory(r);
    expect(await settles(listAll(src))).toEqual([
      { key: 'logs/a.json.gz' },
      { key: 'logs/b.json.gz', unreadable: expect.stringMatching(/FIFO/) },
      { key: 'logs/c.json.gz' },
    ]);
    await refused(src, 'logs/b.json.gz', /FIFO \(named pipe\), not a regular file/);
    expect(await text(src, 'logs/c.json.gz')).toBe('c'); // the run goes on
  });

  it('a FIFO in place of a digest or of its sidecar is refused, never opened for a blocking read', async () => {
    const r = root();
    fifo(join(r, 'd', 'digest.json.gz'));
    writeFileSync(join(r, 'd', 'other.json.gz'), 'x');
    fifo(join(r, 'd', 'other.json.gz.metadata.json'));
    const src = new LocalDirectory(r);
    await refused(src, 'd/digest.json.gz', /FIFO/, { metadata: true });
    await refused(src, 'd/other.json.gz', /FIFO/, { metadata: true }, 'd/other.json.gz.metadata.json');
    // A sidecar's name does not hide a FIFO from the listing.
    expect(await settles(listAll(src, 'd/'))).toEqual([
      { key: 'd/digest.json.gz', unreadable: expect.stringMatching(/FIFO/) },
      { key: 'd/other.json.gz' },
      { key: 'd/other.json.gz.metadata.json', unreadable: expect.stringMatching(/FIFO/) },
    ]);
  });

  it('a socket in place of a log is listed as unreadable and refused', async () => {
    const r = root();
    mkdirSync(join(r, 'logs'));
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(r, 'logs', 's.json.gz'), resolve));
    try {
      const src = new LocalDirectory(r);
      expect(await settles(listAll(src))).toEqual([{ key: 'logs/s.json.gz', unreadable: expect.stringMatching(/socket/) }]);
      await refused(src, 'logs/s.json.gz', /socket, not a regular file/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a FIFO in place of the writer's lock is refused, naming it, never opened for a blocking read", async () => {
    const r = root();
    fifo(join(r, 'chain', '.write-digests.lock'));
    const e = await settles(new LocalDirectory(r, { bucket: 'b' }).lock('b', 'chain/')).catch((error: unknown) => error);
    expect(isValidateLogsError(e, 'NOT_READABLE'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/"chain\/\.write-digests\.lock" .*FIFO .*not a writer's lock/);
  });

  it('a device in place of a log is listed as unreadable and refused (root only: making a device node needs it)', async (ctx) => {
    const r = root();
    mkdirSync(join(r, 'logs'));
    try {
      execFileSync('mknod', [join(r, 'logs', 'null.json.gz'), 'c', '1', '3'], { stdio: 'ignore' }); // reads as an empty file
    } catch (e) {
      // Not root, or a file system without device nodes: skipped elsewhere, a failure under CI.
      const mknod = requireTool('mknod', `cannot make a device node here: ${String((e as Error).message).split('\n')[0]}`, 'run the tests as root with device nodes allowed, as .ci/run does');
      if (mknod.skip) ctx.skip();
      mknod.check();
    }
    const src = new LocalDirectory(r);
    expect(await settles(listAll(src))).toEqual([{ key: 'logs/null.json.gz', unreadable: expect.stringMatching(/character device/) }]);
    await refused(src, 'logs/null.json.gz', /character device, not a regular file/);
  });
});

describe('LocalDirectory: links, loops and names', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });
  const root = (): string => {
    const r = tempDir();
    roots.push(r);
    return r;
  };

  it('a symbolically linked date folder is listed and read alike: an injected log in it is visible to both', async () => {
    const r = root();
    const day = 'AWSLogs/1/CloudTrail/us-east-1/2025/01';
    mkdirSync(join(r, day, '07'), { recursive: true });
    writeFileSync(join(r, day, '07', 'old.json.gz'), 'old');
    mkdirSync(join(r, 'elsewhere'));
    writeFileSync(join(r, 'elsewhere', 'injected.json.gz'), 'injected');
    symlinkSync(join(r, 'elsewhere'), join(r, day, '08'));
    const src = new LocalDirectory(r);
    expect(await listAll(src, 'AWSLogs/1/CloudTrail/us-east-1/')).toEqual([
      { key: `${day}/07/old.json.gz` },
      { key: `${day}/08/injected.json.gz` },
    ]);
    expect(await listAll(src, `${day}/08/`)).toEqual([{ key: `${day}/08/injected.json.gz` }]);
    expect(await text(src, `${day}/08/injected.json.gz`)).toBe('injected');
    const details: Array<number | undefined> = [];
    for await (const o of src.list('b', `${day}/08/`, undefined, { details: true })) details.push(o.size);
    expect(details).toEqual([8]);
  });

  it('a symbolic link loop is an unreadable entry and NOT_READABLE, never an endless listing', async () => {
    const r = root();
    mkdirSync(join(r, 'a'));
    writeFileSync(join(r, 'a', 'x.json.gz'), 'x');
    symlinkSync('..', join(r, 'a', 'up')); // a folder that holds its own link
    symlinkSync('self', join(r, 'a', 'self')); // a link to itself (ELOOP)
    const src = new LocalDirectory(r);
    expect(await settles(listAll(src))).toEqual([
      { key: 'a/self', unreadable: expect.stringMatching(/loop/) },
      { key: 'a/up/', unreadable: expect.stringMatching(/loop/) },
      { key: 'a/x.json.gz' },
    ]);
    await refused(src, 'a/self', /loop/);
    await refused(src, 'a/up/a/x.json.gz', /loop/, {}, 'a/up/');
    expect(await text(src, 'a/x.json.gz')).toBe('x');
  });

  it('a symbolic link out of the copy, to a file or a folder, is an unreadable entry and NOT_READABLE', async () => {
    const r = root();
    const outside = root();
    writeFileSync(join(outside, 'secret.json.gz'), 'secret');
    mkdirSync(join(r, 'a'));
    symlinkSync(join(outside, 'secret.json.gz'), join(r, 'a', 'file-out.json.gz'));
    symlinkSync(outside, join(r, 'a', 'dir-out'));
    symlinkSync(join(r, 'missing'), join(r, 'a', 'dangling.json.gz'));
    const src = new LocalDirectory(r);
    expect(await listAll(src)).toEqual([
      { key: 'a/dangling.json.gz', unreadable: expect.stringMatching(/link to nothing/) },
      { key: 'a/dir-out/', unreadable: expect.stringMatching(/outside the local copy/) },
      { key: 'a/file-out.json.gz', unreadable: expect.stringMatching(/outside the local copy/) },
    ]);
    await refused(src, 'a/file-out.json.gz', /outside the local copy/);
    await refused(src, 'a/dir-out/secret.json.gz', /outside the local copy/, {}, 'a/dir-out/');
    await refused(src, 'a/dangling.json.gz', /link to nothing/);
  });

  it('follows one symbolic link on a key path, not two, in listing and reading alike', async () => {
    const r = root();
    mkdirSync(join(r, 'real', 'inner'), { recursive: true });
    writeFileSync(join(r, 'real', 'f.json.gz'), 'f');
    writeFileSync(join(r, 'real', 'inner', 'g.json.gz'), 'g');
    symlinkSync(join(r, 'real', 'f.json.gz'), join(r, 'real', 'flink.json.gz'));
    symlinkSync(join(r, 'real'), join(r, 'via'));
    const src = new LocalDirectory(r);
    expect(await listAll(src, 'via/')).toEqual([
      { key: 'via/f.json.gz' },
      { key: 'via/flink.json.gz', unreadable: expect.stringMatching(/already went through 1/) },
      { key: 'via/inner/g.json.gz' },
    ]);
    expect(await text(src, 'real/flink.json.gz')).toBe('f');
    expect(await text(src, 'via/inner/g.json.gz')).toBe('g');
    await refused(src, 'via/flink.json.gz', /already went through 1/);
  });

  it('lists names no key can read back (a backslash, bytes that are not UTF-8, a key over 1024 bytes) as unreadable', async () => {
    const r = root();
    mkdirSync(join(r, 'a'));
    writeFileSync(join(r, 'a', 'back\\slash.json.gz'), 'x');
    mkdirSync(join(r, 'a', 'back\\folder'));
    writeFileSync(join(r, 'a', 'back\\folder', 'hidden.json.gz'), 'x');
    writeFileSync(Buffer.concat([Buffer.from(join(r, 'a') + '/'), Buffer.from([0x62, 0xff, 0x2e, 0x67, 0x7a])]), 'x');
    const deep = ['d', 'x'.repeat(250), 'y'.repeat(250), 'z'.repeat(250), 'w'.repeat(250)]; // a/d/x…/y…/z…/w…/: 1008 bytes
    mkdirSync(join(r, 'a', ...deep, 'v'.repeat(250)), { recursive: true });
    writeFileSync(join(r, 'a', ...deep, 'v'.repeat(250), 'hidden.json.gz'), 'x');
    writeFileSync(join(r, 'a', ...deep, 'f'.repeat(20)), 'x');
    writeFileSync(join(r, 'a', 'z.json.gz'), 'z');
    const listed = await listAll(new LocalDirectory(r), 'a/');
    expect(listed).toEqual([
      { key: 'a/back\\folder/', unreadable: expect.stringMatching(/backslash/) },
      { key: 'a/back\\slash.json.gz', unreadable: expect.stringMatching(/backslash/) },
      { key: 'a/b\uFFFD.gz', unreadable: expect.stringMatching(/not valid UTF-8/) },
      { key: `a/${deep.join('/')}/${'f'.repeat(20)}`, unreadable: expect.stringMatching(/longer than 1024 bytes/) },
      { key: `a/${deep.join('/')}/${'v'.repeat(250)}/`, unreadable: expect.stringMatching(/longer than 1024 bytes/) },
      { key: 'a/z.json.gz' },
    ]);
  });

  it('yields an unreadable folder that may hold keys after startAfter, and goes on past it', async () => {
    const r = root();
    mkdirSync(join(r, 'f', '2025'), { recursive: true });
    writeFileSync(join(r, 'f', '2025', 'in.json.gz'), 'x');
    symlinkSync('.', join(r, 'f', '2025', '01')); // a loop where the listing starts
    mkdirSync(join(r, 'f', '2026'));
    writeFileSync(join(r, 'f', '2026', 'later.json.gz'), 'x');
    const src = new LocalDirectory(r);
    expect(await listAll(src, 'f/', 'f/2025/01/08')).toEqual([
      { key: 'f/2025/01/', unreadable: expect.stringMatching(/loop/) },
      { key: 'f/2025/in.json.gz' },
      { key: 'f/2026/later.json.gz' },
    ]);
  });

  it('permission denied on a file or a folder is an unreadable entry and NOT_READABLE; the listing goes on', async (ctx) => {
    const r = root();
    mkdirSync(join(r, 'a', 'locked'), { recursive: true });
    writeFileSync(join(r, 'a', 'locked', 'inside.json.gz'), 'x');
    writeFileSync(join(r, 'a', 'secret.json.gz'), 'x');
    writeFileSync(join(r, 'a', 'z.json.gz'), 'z');
    chmodSync(join(r, 'a', 'locked'), 0o000);
    chmodSync(join(r, 'a', 'secret.json.gz'), 0o000);
    chmodSync(r, 0o755);
    // Root reads through any permission: then the same checks run in a child process as an
    // unprivileged user (nobody), on the built package.
    const script = `
      const { LocalDirectory } = await import(${JSON.stringify(join(ROOT, 'dist', 'node.js'))});
      const src = new LocalDirectory(${JSON.stringify(r)});
      const listed = [];
      for await (const o of src.list('b', 'a/')) listed.push(o);
      const refused = [];
      for (const key of ['a/secret.json.gz', 'a/locked/inside.json.gz']) {
        try { await src.get('b', key); refused.push({ key, code: 'none' }); }
        catch (e) { refused.push({ key, code: e.code, message: e.message }); }
      }
      console.log(JSON.stringify({ listed, refused }));`;
    let out: string;
    if (process.getuid?.() === 0) {
      try {
        out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
        // No right to switch users here: skipped elsewhere, a failure under CI.
        const setuid = requireTool('setuid', 'root here has no right to run a process as another user (EPERM)', 'run the tests as root with CAP_SETUID, as .ci/run does');
        if (setuid.skip) ctx.skip();
        setuid.check();
        throw e;
      }
    } else {
      out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    }
    const { listed, refused: denied } = JSON.parse(out) as { listed: unknown[]; refused: Array<{ key: string; code: string; message: string }> };
    chmodSync(join(r, 'a', 'locked'), 0o755);
    expect(listed).toEqual([
      { key: 'a/locked/', unreadable: 'permission denied' },
      { key: 'a/secret.json.gz' },
      { key: 'a/z.json.gz' },
    ]);
    expect(denied.map((d) => [d.key, d.code])).toEqual([
      ['a/secret.json.gz', 'NOT_READABLE'],
      ['a/locked/inside.json.gz', 'NOT_READABLE'],
    ]);
    expect(denied[0]!.message).toMatch(/"a\/secret.json.gz" .*permission denied/);
  });

  it('refuses metadata that gives one key twice in different cases', async () => {
    const r = root();
    writeFileSync(join(r, 'd'), 'x');
    writeFileSync(join(r, 'd.metadata.json'), '{"signature":"aa","Signature":"bb"}');
    const e = await new LocalDirectory(r).get('b', 'd', { metadata: true }).catch((error: unknown) => error);
    expect(isValidateLogsError(e, 'METADATA_INVALID')).toBe(true);
    expect((e as Error).message).toMatch(/d\.metadata\.json: "signature" and "Signature" are one metadata key/);
  });
});
