import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalDirectory, SavingSource } from '../helpers/lib.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'vl-saving-'));
  dirs.push(d);
  return d;
};

describe('SavingSource', () => {
  it('saves an object read twice at once (a digest listing one log twice) whole, once', async () => {
    const copy = tempDir();
    const evidence = tempDir();
    mkdirSync(join(copy, 'logs'));
    const body = Buffer.alloc(200 * 1024, 'l'); // several chunks
    writeFileSync(join(copy, 'logs', 'twice.json.gz'), body);
    writeFileSync(join(copy, 'logs', 'twice.json.gz.metadata.json'), '{"k":"v"}');
    const saving = new SavingSource(new LocalDirectory(copy, { bucket: 'b' }), evidence);
    const a = await saving.get('b', 'logs/twice.json.gz');
    const b = await saving.get('b', 'logs/twice.json.gz');
    const ia = (a!.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const ib = (b!.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    // Both reads under way before either ends: each must save through its own temporary file.
    const sizes: [number, number] = [0, 0];
    let ra = await ia.next();
    let rb = await ib.next();
    while (!ra.done || !rb.done) {
      if (!ra.done) {
        sizes[0] += ra.value.byteLength;
        ra = await ia.next();
      }
      if (!rb.done) {
        sizes[1] += rb.value.byteLength;
        rb = await ib.next();
      }
    }
    expect(sizes).toEqual([body.length, body.length]);
    await saving.complete(); // each file is flushed and moved into place off the reader's path: complete() waits for them
    const saved = join(evidence, 'b', 'logs');
    expect(readFileSync(join(saved, 'twice.json.gz')).equals(body)).toBe(true);
    expect(JSON.parse(readFileSync(join(saved, 'twice.json.gz.metadata.json'), 'utf8'))).toEqual({ k: 'v' });
    expect(readdirSync(saved).sort()).toEqual(['twice.json.gz', 'twice.json.gz.metadata.json']); // no temporary file left
    expect([saving.objects, saving.bytes]).toEqual([1, body.length]);
    // Read again later: passed through, not saved again.
    const c = await saving.get('b', 'logs/twice.json.gz');
    let n = 0;
    for await (const chunk of c!.body) n += chunk.byteLength;
    expect([n, saving.objects]).toEqual([body.length, 1]);
  });

  it('a file that cannot be moved into place fails the run (by the read or by complete()), never a silent loss', async () => {
    const copy = tempDir();
    const evidence = tempDir();
    mkdirSync(join(copy, 'logs'));
    writeFileSync(join(copy, 'logs', 'a.json.gz'), Buffer.alloc(1000, 'a'));
    mkdirSync(join(evidence, 'b', 'logs', 'a.json.gz'), { recursive: true }); // a folder where the copy goes
    const saving = new SavingSource(new LocalDirectory(copy, { bucket: 'b' }), evidence);
    const run = async (): Promise<void> => {
      const obj = await saving.get('b', 'logs/a.json.gz');
      for await (const _ of obj!.body) {
        // the check reads it
      }
      await saving.complete();
    };
    await expect(run()).rejects.toMatchObject({ code: 'OUTPUT_UNSAFE' });
    expect(readdirSync(join(evidence, 'b', 'logs'))).toEqual(['a.json.gz']); // no temporary file left
  });
});
