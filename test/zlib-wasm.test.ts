// zlib in WebAssembly (vendor/zlib-wasm, src/platform/zlib-wasm.ts), the page's hashing Workers'
// fast gzip reader: it must say yes exactly when the command's strict reader does, with the same
// content, and never hold more than the room it is given. Run here in Node (the same module runs
// in Chromium; test/web-speed.test.ts holds the hashing Worker's answers to the strict path's there).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as lib from './helpers/lib.js';
import { ROOT } from './helpers/tamper.js';
import { wasmGunzip } from '../src/platform/zlib-wasm.js';
import { ZLIB_GUNZIP_WASM } from '../src/platform/zlib-wasm-bytes.js';

/** The wasm reader's answer: the content, or null when it gives up. */
async function wasm(bytes: Uint8Array, capacity: number): Promise<Buffer | null> {
  const z = (await wasmGunzip())!;
  z.input(bytes.byteLength)!.set(bytes);
  const out = z.gunzip(capacity);
  return out ? Buffer.from(out) : null;
}

/** The command's answer: the content, or null when its strict reader refuses the bytes. */
async function strict(bytes: Uint8Array): Promise<Buffer | null> {
  const parts: Uint8Array[] = [];
  try {
    await lib.gunzipInto([bytes.slice()], (c) => parts.push(c.slice()), { platform: lib.nodePlatform, what: 'x' });
    return Buffer.concat(parts);
  } catch (e) {
    expect((e as lib.ValidateLogsError).code).toBe('GZIP_INVALID');
    return null;
  }
}

const text = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `{"eventTime":"2025-01-08T00:${String(i % 60).padStart(2, '0')}:00Z","n":${(i * 2654435761) % 2 ** 32}}`).join(','));

describe('zlib in WebAssembly', () => {
  it('is the committed module, vendor/zlib-wasm/gunzip.wasm, byte for byte', () => {
    const file = readFileSync(join(ROOT, 'vendor', 'zlib-wasm', 'gunzip.wasm'));
    const inlined = Buffer.from(ZLIB_GUNZIP_WASM, 'base64');
    expect(createHash('sha256').update(inlined).digest('hex')).toBe(createHash('sha256').update(file).digest('hex'));
  });

  it('inflates into room of exactly the content\'s length, refuses one byte less, and reuses its memory for objects of every size', async () => {
    // Small, large, small again: the memory grows once and is reused.
    for (const content of [text(10), text(50_000), Buffer.alloc(0), text(3), Buffer.alloc(5 << 20, 7)]) {
      const gz = gzipSync(content);
      expect((await wasm(gz, content.length))?.equals(content)).toBe(true);
      if (content.length > 0) expect(await wasm(gz, content.length - 1)).toBeNull();
    }
  });

  it('gives up, rather than fail, when its memory cannot grow to the room asked for', async () => {
    const gz = gzipSync(text(10));
    expect(await wasm(gz, 2 ** 32)).toBeNull();
    expect((await wasm(gz, text(10).length))?.equals(text(10))).toBe(true);
  });

  it('refuses what the strict reader refuses: bytes after the member, a second member, a wrong CRC or length, truncations, corrupt data', async () => {
    const gz = gzipSync(text(5000));
    const n = gz.length;
    const flip = (at: number): Buffer => {
      const c = Buffer.from(gz);
      c[at]! ^= 0x5a;
      return c;
    };
    const lengthOff = (d: number): Buffer => {
      const c = Buffer.from(gz);
      c.writeUInt32LE(c.readUInt32LE(n - 4) + d, n - 4);
      return c;
    };
    for (const bytes of [Buffer.concat([gz, Buffer.from([0])]), Buffer.concat([gz, gz]), flip(n - 8), lengthOff(1), lengthOff(-1), gz.subarray(0, n - 1), gz.subarray(0, n >> 1), flip(n >> 1), gz.subarray(0, 9), Buffer.alloc(0)]) {
      expect(await strict(bytes)).toBeNull();
      expect(await wasm(bytes, 1 << 24)).toBeNull();
    }
  });

  it('never says yes where the strict reader says no, and gives its content where both say yes (random damage to valid members)', async () => {
    const member = fc.tuple(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 0, max: 9 }), fc.boolean()).map(([bytes, level, repetitive]) => {
      const content = repetitive ? Buffer.from(Array.from(bytes, (b, i) => (b % 4) + (i % 3))) : Buffer.from(bytes);
      return gzipSync(content, { level });
    });
    const damage = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(member, damage, fc.nat({ max: 4 }), fc.nat({ max: 12 }), async (gz, flips, cut, extra) => {
        let bytes = Buffer.from(gz);
        for (const [at, x] of flips) bytes[at % bytes.length]! ^= x;
        if (cut > 0) bytes = bytes.subarray(0, Math.max(0, bytes.length - cut));
        if (extra > 0 && extra < 4) bytes = Buffer.concat([bytes, Buffer.alloc(extra)]);
        const fromWasm = await wasm(bytes, 1 << 20);
        const fromStrict = await strict(bytes);
        if (fromWasm !== null) expect(fromWasm).toEqual(fromStrict);
        if (flips.length === 0 && cut === 0 && (extra === 0 || extra >= 4)) expect(fromWasm).not.toBeNull();
      }),
      { numRuns: 400 },
    );
  });
});
