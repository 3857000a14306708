import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalDirectory, isValidateLogsError } from '../helpers/lib.js';
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
  return { source: new LocalDirectory(root, { bucket }), cleanup: () => rmSync(root, { recursive: true, force: true }) };
});

describe('LocalDirectory specifics', () => {
  it('refuses a symbolic link that points outside the copy, and lists no sidecars', async () => {
    const outside = tempDir();
    const root = tempDir();
    writeFileSync(join(outside, 'secret'), 'secret');
    mkdirSync(join(root, 'a'));
    symlinkSync(join(outside, 'secret'), join(root, 'a', 'link'));
    symlinkSync(outside, join(root, 'dirlink'));
    writeFileSync(join(root, 'a', 'x'), 'x');
    writeFileSync(join(root, 'a', 'x.metadata.json'), '{}');
    const src = new LocalDirectory(root);
    await expect(src.get('b', 'a/link')).rejects.toSatisfy((e) => isValidateLogsError(e, 'UNSAFE_KEY'));
    await expect(src.get('b', 'dirlink/secret')).rejects.toSatisfy((e) => isValidateLogsError(e, 'UNSAFE_KEY'));
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
