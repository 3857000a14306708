// Every output stays inside its target: evidence (--save-to), checkpoints (--checkpoint-out),
// key lists (--public-keys-out), digests (write-digests --local-dir), manifests and shard
// reports. An attacker who can write into the target plants symbolic links (to a file outside,
// dangling, to a folder outside), FIFOs and folders where a file or folder is to be written; each
// write refuses (exit 2 naming the path) and leaves what the link points to untouched.
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DocumentStore } from '../src/scale/store.js';
import { OutputFolder, outputExists, putIfAbsent, writeOutput } from '../src/sources/local/write.js';
import { LocalDirectory, SavingSource, isValidateLogsError } from './helpers/lib.js';
import { VALIDATE, WRITE, node, sampleArgs, type Run } from './helpers/cli.js';
import { ROOT, copySample, setDeliveryTimes, tampering } from './helpers/tamper.js';
import { openssl } from './helpers/tools.js';
import { startTsa } from './helpers/tsa.js';

const t = tampering.trail;
const VICTIM = 'do not overwrite\n';
const DIGESTS = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08';
const LOGS = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'vl-outputs-'));
  for (const name of ['log', 'witness']) openssl(['genpkey', '-algorithm', 'ed25519', '-out', join(work, `${name}.pem`)]);
  openssl(['pkey', '-in', join(work, 'log.pem'), '-pubout', '-out', join(work, 'log.pub.pem')]);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A fresh folder for one test. */
function fresh(): string {
  const d = mkdtempSync(join(work, 't-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A folder outside every target, holding a file an attacker wants overwritten. */
function elsewhere(): { dir: string; victim: string; untouched: () => void } {
  const dir = fresh();
  const victim = join(dir, 'victim');
  writeFileSync(victim, VICTIM);
  return {
    dir,
    victim,
    untouched: () => {
      expect(readFileSync(victim, 'utf8')).toBe(VICTIM);
      expect(readdirSync(dir)).toEqual(['victim']); // nothing written beside it either
    },
  };
}

/** Plant `what` at `path` (its folders made). */
function plant(path: string, what: { link: string } | 'fifo' | 'folder'): void {
  mkdirSync(dirname(path), { recursive: true });
  if (what === 'fifo') execFileSync('mkfifo', [path]);
  else if (what === 'folder') mkdirSync(path);
  else symlinkSync(what.link, path);
}

/** Let go of a reader stuck on a FIFO, if any (a hang is then a failure, not a stuck run). */
function unblock(fifo: string): void {
  try {
    closeSync(openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
  } catch {
    // no reader
  }
}

/** A refusal as the user sees it: exit 2, one line naming the path, nothing else said wrong. */
function refused(r: Run, path: string, kind: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toContain(`refusing to write`);
  expect(r.stderr).toContain(path);
  expect(r.stderr).toMatch(kind);
  expect(r.stderr).not.toMatch(/internal error/);
}

/** Files under `dir` whose names are temporary files of a write. */
function temporaries(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((n) => /\.tmp-\d+-[0-9a-f]{12}$/.test(n));
}

const save = (evidence: string): Promise<Run> => node(VALIDATE, sampleArgs(join(ROOT, t.localDir), ['--save-to', evidence]));

describe('validate-logs --save-to DIR', () => {
  it('refuses a symbolic link at DIR/public-keys.json (to a file outside, dangling, to a folder), before the run, and leaves its target untouched', async () => {
    for (const target of ['victim', 'absent', '.']) {
      const out = elsewhere();
      const evidence = fresh();
      plant(join(evidence, 'public-keys.json'), { link: join(out.dir, target) });
      const r = await save(evidence);
      refused(r, join(evidence, 'public-keys.json'), /it is a symbolic link, not a regular file/);
      expect(r.stdout, 'refused before the run, not after it').toBe('');
      out.untouched();
      expect(readdirSync(evidence)).toEqual(['public-keys.json']);
    }
  });

  it('refuses a FIFO or a folder at DIR/public-keys.json, without hanging', async () => {
    for (const what of ['fifo', 'folder'] as const) {
      const evidence = fresh();
      const at = join(evidence, 'public-keys.json');
      plant(at, what);
      const r = await save(evidence);
      if (what === 'fifo') unblock(at);
      refused(r, at, what === 'fifo' ? /it is a FIFO \(named pipe\), not a regular file/ : /it is a folder, not a regular file/);
      expect(lstatSync(at).isFIFO() || lstatSync(at).isDirectory()).toBe(true);
    }
  });

  it('refuses a symbolically linked folder under DIR (bucket, account, region, date of logs or digests) and writes nothing through it', async () => {
    const folders = ['sample-bucket', 'sample-bucket/AWSLogs/111122223333', 'sample-bucket/AWSLogs/111122223333/CloudTrail/us-east-1', `sample-bucket/${LOGS}`, `sample-bucket/${DIGESTS}`];
    for (const folder of folders) {
      const out = elsewhere();
      const evidence = fresh();
      plant(join(evidence, folder), { link: out.dir });
      const r = await save(evidence);
      refused(r, join(evidence, folder), /it is a symbolic link, not a folder/);
      out.untouched();
      expect(temporaries(evidence)).toEqual([]);
    }
  });

  it('refuses a link, a FIFO or a folder in place of a saved object, leaving the pointed-to file untouched', async () => {
    const log = `sample-bucket/${LOGS}/${readdirSync(join(ROOT, t.localDir, LOGS))[0]!}`;
    for (const what of [{ link: 'victim' }, 'fifo', 'folder'] as const) {
      const out = elsewhere();
      const evidence = fresh();
      const at = join(evidence, log);
      plant(at, typeof what === 'object' ? { link: out.victim } : what);
      const r = await save(evidence);
      if (what === 'fifo') unblock(at);
      refused(r, at, /not a regular file/);
      out.untouched();
      expect(temporaries(evidence)).toEqual([]);
    }
  });

  it('follows DIR itself when it is a symbolic link the user made, and writes the evidence in the folder it names', async () => {
    const real = fresh();
    const link = join(fresh(), 'evidence');
    symlinkSync(real, link);
    const r = await save(link);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(real, 'public-keys.json'))).toBe(true);
    expect(existsSync(join(real, 'sample-bucket', DIGESTS))).toBe(true);
    expect(temporaries(real)).toEqual([]);
    // And the evidence saved twice over itself (regular files replaced) stays valid offline.
    expect((await save(link)).status).toBe(0);
    const offline = await node(VALIDATE, sampleArgs(join(real, 'sample-bucket'), []));
    expect(offline.status, offline.stderr).toBe(0);
  });
});

describe('validate-logs --checkpoint-out FILE', () => {
  const checkpointArgs = (out: string): string[] => [
    ...sampleArgs(join(ROOT, t.localDir)),
    '--checkpoint-out', out, '--checkpoint-key', join(work, 'log.pem'), '--checkpoint-name', 'example.com/log',
  ];

  it('refuses FILE when it is a symbolic link (to a file outside, dangling), a FIFO or a folder', async () => {
    for (const what of [{ link: 'victim' }, { link: 'absent' }, 'fifo', 'folder'] as const) {
      const out = elsewhere();
      const file = join(fresh(), 'today.note');
      plant(file, typeof what === 'object' ? { link: join(out.dir, what.link) } : what);
      const r = await node(VALIDATE, checkpointArgs(file));
      if (what === 'fifo') unblock(file);
      refused(r, file, /not a regular file/);
      out.untouched();
      expect(temporaries(dirname(file))).toEqual([]);
    }
  });

  it('still writes FILE over an earlier checkpoint (a regular file)', async () => {
    const file = join(fresh(), 'today.note');
    writeFileSync(file, 'an earlier checkpoint\n');
    const r = await node(VALIDATE, checkpointArgs(file));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`checkpoint written to ${file}`);
    expect(readFileSync(file, 'utf8')).not.toBe('an earlier checkpoint\n');
    expect(temporaries(dirname(file))).toEqual([]);
  });

  it('refuses a symbolic link at FILE.tsr (the time stamp kept beside it)', async () => {
    const tsa = await startTsa();
    try {
      const out = elsewhere();
      const file = join(fresh(), 'today.note');
      plant(`${file}.tsr`, { link: out.victim });
      const r = await node(VALIDATE, [...checkpointArgs(file), '--timestamp-url', tsa.url]);
      refused(r, `${file}.tsr`, /it is a symbolic link, not a regular file/);
      out.untouched();
    } finally {
      await tsa.close();
    }
  });

  it('cosign refuses --out when it is a symbolic link, a FIFO or a folder, and writes it otherwise', async () => {
    const folder = fresh();
    const checkpoint = join(folder, 'today.note');
    expect((await node(VALIDATE, checkpointArgs(checkpoint))).status).toBe(0);
    const cosign = (out: string): Promise<Run> =>
      node(VALIDATE, ['cosign', '--checkpoint', checkpoint, '--checkpoint-public-key', `example.com/log=${join(work, 'log.pub.pem')}`, '--key', join(work, 'witness.pem'), '--name', 'example.com/witness', '--out', out]);
    for (const what of [{ link: 'victim' }, { link: 'absent' }, 'fifo', 'folder'] as const) {
      const out = elsewhere();
      const file = join(folder, `cosigned-${typeof what === 'object' ? what.link : what}.note`);
      plant(file, typeof what === 'object' ? { link: join(out.dir, what.link) } : what);
      const r = await cosign(file);
      if (what === 'fifo') unblock(file);
      refused(r, file, /not a regular file/);
      out.untouched();
    }
    const r = await cosign(join(folder, 'cosigned.note'));
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(folder, 'cosigned.note'), 'utf8')).toContain('example.com/witness');
    expect(temporaries(folder)).toEqual([]);
  });
});

describe('write-digests --local-dir DIR', () => {
  function logsOnly(): string {
    const c = copySample();
    cleanups.push(c.cleanup);
    rmSync(join(c.dir, 'AWSLogs', '111122223333', 'CloudTrail-Digest'), { recursive: true });
    setDeliveryTimes(c.dir);
    return c.dir;
  }
  const writeArgs = (dir: string, extra: string[] = []): string[] => [
    '--local-dir', dir, '--s3-bucket', 'sample-bucket', '--account-id', '111122223333', '--region', 'us-east-1',
    '--trail-name', 'sample-trail', '--private-key', join(ROOT, 'vectors', 'test-key.pem'), '--until', '2025-01-08T06:00:00Z', ...extra,
  ];

  it('refuses a symbolically linked digest folder (date, region, CloudTrail-Digest) and writes no digest through it', async () => {
    for (const folder of [DIGESTS, 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1', 'AWSLogs/111122223333/CloudTrail-Digest']) {
      const out = elsewhere();
      const dir = logsOnly();
      plant(join(dir, folder), { link: out.dir });
      const r = await node(WRITE, writeArgs(dir));
      refused(r, join(dir, folder), /it is a symbolic link, not a folder/);
      out.untouched();
    }
  });

  it('refuses a symbolic link (to a file outside, dangling), a FIFO or a folder at a digest\'s name or its sidecar\'s', async () => {
    const name = '111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T010000Z.json.gz';
    for (const file of [name, `${name}.metadata.json`]) {
      for (const what of [{ link: 'victim' }, { link: 'absent' }, 'fifo', 'folder'] as const) {
        const out = elsewhere();
        const dir = logsOnly();
        const at = join(dir, DIGESTS, file);
        plant(at, typeof what === 'object' ? { link: join(out.dir, what.link) } : what);
        const r = await node(WRITE, writeArgs(dir));
        if (what === 'fifo') unblock(at);
        // Refused as the writer reads the chain's folder (the object cannot be read), or as it writes there.
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toContain(`${DIGESTS}/${file}`);
        expect(r.stderr).toMatch(/refusing to write|cannot be read from the local copy/);
        expect(r.stderr).not.toMatch(/internal error/);
        out.untouched();
        expect(readdirSync(join(dir, DIGESTS)).filter((n) => n !== file && !n.endsWith('.metadata.json'))).toEqual([]); // no digest
      }
    }
  }, 60_000);

  it('refuses --public-keys-out when it is a symbolic link, a FIFO or a folder, and writes it otherwise', async () => {
    for (const what of [{ link: 'victim' }, { link: 'absent' }, 'fifo', 'folder'] as const) {
      const out = elsewhere();
      const keys = join(fresh(), 'public-keys.json');
      plant(keys, typeof what === 'object' ? { link: join(out.dir, what.link) } : what);
      const r = await node(WRITE, writeArgs(logsOnly(), ['--public-keys-out', keys]));
      if (what === 'fifo') unblock(keys);
      refused(r, keys, /--public-keys-out: refusing to write .* not a regular file/);
      out.untouched();
    }
    const keys = join(fresh(), 'public-keys.json');
    const r = await node(WRITE, writeArgs(logsOnly(), ['--public-keys-out', keys]));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(keys, 'utf8'))).toHaveProperty('PublicKeyList');
  });
});

describe('validate-logs plan and shard outputs', () => {
  it('refuses a link at --manifest and at a shard report, and writes neither through it', async () => {
    const dir = join(ROOT, t.localDir);
    const folder = fresh();
    const out = elsewhere();
    const manifest = join(folder, 'manifest.jsonl');
    const reports = join(folder, 'reports');
    const planArgs = ['plan', '--s3-bucket', t.bucket, '--local-dir', dir, '--start-time', t.start, '--end-time', t.end, '--manifest', manifest, '--reports', reports];
    symlinkSync(out.victim, manifest);
    refused(await node(VALIDATE, planArgs), manifest, /it is a symbolic link, not a regular file/);
    out.untouched();
    rmSync(manifest);
    expect((await node(VALIDATE, planArgs)).status).toBe(0);
    plant(join(reports, 'shard-000000.json'), { link: out.victim });
    const shard = await node(VALIDATE, ['--manifest', manifest, '--shard-index', '0', '--local-dir', dir, '--public-keys', join(ROOT, t.publicKeys)]);
    refused(shard, join(reports, 'shard-000000.json'), /it is a symbolic link, not a regular file/);
    out.untouched();
    // The reports folder itself a link planted under the manifest's folder: the user named it, so it is followed.
  });
});

describe('the one write routine', () => {
  it('refuses anything but a regular file at the destination and leaves no temporary file', async () => {
    for (const what of [{ link: 'victim' }, { link: 'absent' }, { link: '.' }, 'fifo', 'folder'] as const) {
      const out = elsewhere();
      const target = fresh();
      const at = join(target, 'f');
      plant(at, typeof what === 'object' ? { link: join(out.dir, what.link) } : what);
      await expect(writeOutput(at, 'x')).rejects.toSatisfy((e) => isValidateLogsError(e, 'OUTPUT_UNSAFE') && (e as Error).message.includes(at));
      await expect(outputExists(at)).rejects.toSatisfy((e) => isValidateLogsError(e, 'OUTPUT_UNSAFE'));
      await expect(new DocumentStore().write(at, 'x')).rejects.toSatisfy((e) => isValidateLogsError(e, 'OUTPUT_UNSAFE'));
      if (what === 'fifo') unblock(at);
      out.untouched();
      expect(readdirSync(target)).toEqual(['f']);
    }
  });

  it('replaces a regular file whole, and makes the folders under the target', async () => {
    const target = fresh();
    await writeOutput(join(target, 'f'), 'one');
    await writeOutput(join(target, 'f'), 'two');
    expect(readFileSync(join(target, 'f'), 'utf8')).toBe('two');
    expect(await outputExists(join(target, 'f'))).toBe(true);
    const folder = await OutputFolder.open(target, ['a', 'b', 'c']);
    await folder.replace('g', 'three');
    await folder.close();
    expect(readFileSync(join(target, 'a', 'b', 'c', 'g'), 'utf8')).toBe('three');
    expect(temporaries(target)).toEqual([]);
    for (const bad of ['..', '.', '', 'a/b', 'a\0b']) {
      await expect(OutputFolder.open(target, ['a', bad])).rejects.toSatisfy((e) => isValidateLogsError(e, 'UNSAFE_KEY'));
    }
  });

  it('writes into the folder it opened even when that folder is swapped for a link afterwards (no check-then-use window)', async () => {
    const out = elsewhere();
    const target = fresh();
    const folder = await OutputFolder.open(target, ['day']);
    // The attacker moves the folder away and plants a link to the outside in its place.
    renameSync(join(target, 'day'), join(target, 'moved'));
    symlinkSync(out.dir, join(target, 'day'));
    await folder.replace('f', 'evidence');
    const file = await folder.begin('g');
    await file.write('more');
    expect(await file.addIfAbsent()).toBe(true);
    await folder.close();
    out.untouched();
    expect(readdirSync(join(target, 'moved')).sort()).toEqual(['f', 'g']);
  });

  it('putIfAbsent refuses a link on a key\'s path or at the key (never reporting it as an existing object)', async () => {
    const out = elsewhere();
    const root = fresh();
    plant(join(root, 'a', 'linked'), { link: out.dir });
    plant(join(root, 'a', 'key'), { link: out.victim });
    await expect(putIfAbsent(root, 'a/linked/k', new Uint8Array(1), { signature: 's' })).rejects.toSatisfy((e) => isValidateLogsError(e, 'OUTPUT_UNSAFE'));
    await expect(putIfAbsent(root, 'a/key', new Uint8Array(1), {})).rejects.toSatisfy((e) => isValidateLogsError(e, 'OUTPUT_UNSAFE'));
    await expect(new LocalDirectory(root).lock('b', 'a/linked/')).rejects.toSatisfy((e) => isValidateLogsError(e, 'OUTPUT_UNSAFE'));
    out.untouched();
    expect(temporaries(root)).toEqual([]);
  });

  it('SavingSource stops the read with OUTPUT_UNSAFE (no finding about the object) for a link in place of a saved object', async () => {
    const copy = fresh();
    mkdirSync(join(copy, 'logs'));
    writeFileSync(join(copy, 'logs', 'l.json.gz'), 'log');
    const out = elsewhere();
    const evidence = fresh();
    plant(join(evidence, 'b', 'logs', 'l.json.gz'), { link: out.victim });
    const saving = new SavingSource(new LocalDirectory(copy, { bucket: 'b' }), evidence);
    await expect(saving.get('b', 'logs/l.json.gz')).rejects.toSatisfy((e) => isValidateLogsError(e, 'OUTPUT_UNSAFE'));
    out.untouched();
  });
});
