// The one safe open, as files named by users meet it (readWholeFile, openUserFile): regular
// files only, never a blocking open, never a read past the bound, whatever the size said.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openUserFile, readWholeFile } from '../../src/sources/local/read.js';

const dir = mkdtempSync(join(tmpdir(), 'vl-whole-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readWholeFile', () => {
  it('reads a file of exactly the bound, and refuses one byte more', async () => {
    writeFileSync(join(dir, 'exact'), Buffer.alloc(1000, 1));
    writeFileSync(join(dir, 'more'), Buffer.alloc(1001, 1));
    const exact = await readWholeFile(join(dir, 'exact'), 1000);
    expect('bytes' in exact && exact.bytes.length).toBe(1000);
    expect(await readWholeFile(join(dir, 'more'), 1000)).toEqual({ why: 'larger than 1000 bytes' });
  });

  it('reads a regular file whose size says 0 (a /proc file) whole, and bounds it all the same', async () => {
    const read = await readWholeFile('/proc/self/status', 1024 * 1024);
    expect('bytes' in read && read.bytes.toString('utf8')).toMatch(/^Name:/);
    expect(await readWholeFile('/proc/self/status', 10)).toEqual({ why: 'larger than 10 bytes' });
  });

  it('names what is not a regular file, without blocking', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    mkdirSync(join(dir, 'folder'));
    symlinkSync(join(dir, 'fifo'), join(dir, 'to-fifo'));
    symlinkSync(join(dir, 'nothing'), join(dir, 'dangling'));
    expect(await readWholeFile(join(dir, 'fifo'), 10)).toEqual({ why: 'a FIFO (named pipe), not a regular file' });
    expect(await readWholeFile(join(dir, 'to-fifo'), 10)).toEqual({ why: 'a FIFO (named pipe), not a regular file' });
    expect(await readWholeFile('/dev/zero', 10)).toEqual({ why: 'a character device, not a regular file' });
    expect(await readWholeFile(join(dir, 'folder'), 10)).toEqual({ why: 'a folder, not a file' });
    expect(await readWholeFile(join(dir, 'dangling'), 10)).toEqual({ why: 'a symbolic link to nothing' });
    expect(await readWholeFile(join(dir, 'absent'), 10)).toEqual({ absent: true, why: 'no such file' });
    expect(await openUserFile(join(dir, 'fifo'))).toEqual({ why: 'a FIFO (named pipe), not a regular file' });
  });

  it('follows a link given to a regular file', async () => {
    writeFileSync(join(dir, 'target'), 'hello');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    const read = await readWholeFile(join(dir, 'link'), 10);
    expect('bytes' in read && read.bytes.toString()).toBe('hello');
  });
});
