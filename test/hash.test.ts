import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gunzipInto, hashStream, nodePlatform, webPlatform, readAll, sha256, toHex, isValidateLogsError } from './helpers/lib.js';
import { pseudoRandomBytes } from './helpers/bytes.js';
import { hashWhole } from '../src/hash/hash-stream.js';

const nodeSha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const bytes = pseudoRandomBytes;

/** Split `b` at the given positions. */
const split = (b: Uint8Array, cuts: number[]): Uint8Array[] => {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const c of [...cuts, b.length]) {
    parts.push(b.subarray(at, c));
    at = c;
  }
  return parts;
};

async function gunzipToHex(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array> | Uint8Array): Promise<string> {
  const h = createHash('sha256');
  await gunzipInto(chunks, (c) => h.update(c));
  return h.digest('hex');
}

async function gzipError(data: Uint8Array, sizeHint?: number): Promise<string> {
  try {
    await gunzipInto([data], () => undefined, sizeHint === undefined ? {} : { sizeHint });
  } catch (e) {
    if (isValidateLogsError(e, 'GZIP_INVALID')) return e.message;
    throw e;
  }
  throw new Error('expected GZIP_INVALID');
}

describe('SHA-256 of both platforms', () => {
  it.each([nodePlatform, webPlatform])('$name matches node:crypto for every length 0..300', (platform) => {
    for (let n = 0; n <= 300; n++) {
      const b = bytes(n, n);
      expect(toHex(sha256(b, platform))).toBe(nodeSha(b));
    }
  });

  it('both platforms give the same digest for every two-way split of an input', () => {
    const b = bytes(257, 7);
    const want = nodeSha(b);
    for (const platform of [nodePlatform, webPlatform]) {
      for (let i = 0; i <= b.length; i++) {
        const h = platform.createSha256();
        h.update(b.subarray(0, i));
        h.update(b.subarray(i));
        expect(toHex(h.digest())).toBe(want);
      }
    }
  });

  it('both platforms agree on many random multi-way splits of a larger input', async () => {
    const b = bytes(100_000, 3);
    const want = nodeSha(b);
    let seed = 42;
    for (let round = 0; round < 30; round++) {
      const cuts: number[] = [];
      for (let k = 0; k < 10; k++) {
        seed = (seed * 48271) % 2147483647;
        cuts.push(seed % b.length);
      }
      cuts.sort((x, y) => x - y);
      for (const platform of [nodePlatform, webPlatform]) {
        const r = await hashStream(split(b, cuts), { platform });
        expect(r.sha256).toBe(want);
        expect(r.size).toBe(b.length);
      }
    }
  });

  it('hashes a known answer', () => {
    expect(toHex(sha256(new TextEncoder().encode('abc'), webPlatform))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('hashStream input shapes', () => {
  const content = bytes(70_000, 9);
  const gz = gzipSync(content);
  it.each([
    ['Uint8Array', () => new Uint8Array(gz)],
    ['array of chunks', () => split(gz, [1, 100, 5000])],
    ['Node stream', () => Readable.from(split(gz, [10, 20]))],
    ['Web ReadableStream', () => Readable.toWeb(Readable.from([gz])) as unknown as ReadableStream<Uint8Array>],
    ['async generator', () => (async function* () { yield gz.subarray(0, 7); yield gz.subarray(7); })()],
  ])('accepts a %s', async (_, make) => {
    const r = await hashStream(make(), { gzip: true });
    expect(r.sha256).toBe(nodeSha(content));
    expect(r.storedSize).toBe(gz.length);
  });
});

describe('strict gunzip', () => {
  const content = new TextEncoder().encode(JSON.stringify({ Records: Array.from({ length: 200 }, (_, i) => ({ i })) }));
  const gz = new Uint8Array(gzipSync(content));

  it('decodes the same content for every split point of the compressed bytes', async () => {
    const want = nodeSha(content);
    for (let i = 0; i <= gz.length; i++) {
      expect(await gunzipToHex(split(gz, [i]))).toBe(want);
    }
  });

  it('decodes when every chunk is one byte long', async () => {
    expect(await gunzipToHex(split(gz, Array.from({ length: gz.length - 1 }, (_, i) => i + 1)))).toBe(nodeSha(content));
  });

  it('handles every optional header field (FEXTRA, FNAME, FCOMMENT, FHCRC)', async () => {
    const raw = deflateRawSync(content);
    const header = [0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 3];
    const extra = [4, 0, 1, 2, 3, 4];
    const name = [...new TextEncoder().encode('log.json'), 0];
    const comment = [...new TextEncoder().encode('hi'), 0];
    const { crc32 } = await import('node:zlib');
    const pre = Uint8Array.from([...header, ...extra, ...name, ...comment]);
    const hcrc = crc32(pre) & 0xffff;
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(content), 0);
    trailer.writeUInt32LE(content.length, 4);
    const full = Buffer.concat([pre, Buffer.from([hcrc & 0xff, hcrc >> 8]), raw, trailer]);
    for (let i = 0; i <= full.length; i += 3) expect(await gunzipToHex(split(full, [i]))).toBe(nodeSha(content));
    const whole = createHash('sha256');
    await gunzipInto([full], (c) => whole.update(c), { sizeHint: full.length });
    expect(whole.digest('hex')).toBe(nodeSha(content));
    const badHcrc = Buffer.from(full);
    badHcrc[pre.length]! ^= 1;
    expect(await gzipError(badHcrc)).toMatch(/header CRC/);
    expect(await gzipError(badHcrc, badHcrc.length)).toMatch(/header CRC/);
  });

  it.each([
    ['data appended after the stream', () => Buffer.concat([gz, Buffer.from('x')]), /data after the end/],
    ['zero padding after the stream', () => Buffer.concat([gz, Buffer.alloc(16)]), /data after the end/],
    ['a second gzip member', () => Buffer.concat([gz, gzipSync(Buffer.from('more'))]), /data after the end/],
    ['an empty member before the real one', () => Buffer.concat([gzipSync(Buffer.alloc(0)), gz]), /data after the end/],
    ['truncated in the deflate data', () => gz.subarray(0, gz.length - 20), /unexpected end|truncated/],
    ['truncated in the trailer', () => gz.subarray(0, gz.length - 3), /truncated/],
    ['truncated in the header', () => gz.subarray(0, 5), /header/],
    ['empty', () => new Uint8Array(0), /empty/],
    ['not gzip', () => new TextEncoder().encode('{"Records":[]}'), /magic/],
    ['a wrong CRC in the trailer', () => { const b = Buffer.from(gz); b[b.length - 8]! ^= 1; return b; }, /CRC-32/],
    ['a wrong length in the trailer', () => { const b = Buffer.from(gz); b[b.length - 4]! ^= 1; return b; }, /length/],
    ['reserved flags', () => { const b = Buffer.from(gz); b[3] = 0x20; return b; }, /reserved/],
    ['an unknown method', () => { const b = Buffer.from(gz); b[2] = 7; return b; }, /method/],
    ['corrupt deflate data', () => { const b = Buffer.from(gz); b[12] = 0xff; b[13] = 0xff; return b; }, /./],
  ])('rejects %s, streaming and in one call', async (_, make, message) => {
    const bytes = make();
    expect(await gzipError(bytes)).toMatch(message);
    expect(await gzipError(bytes, bytes.length)).toMatch(message);
  });

  it('gives the same content in one call as streaming, for every split of the input', async () => {
    const want = nodeSha(content);
    for (let i = 0; i <= gz.length; i += 7) {
      const h = createHash('sha256');
      const r = await gunzipInto(split(gz, [i]), (c) => h.update(c), { sizeHint: gz.length });
      expect(h.digest('hex')).toBe(want);
      expect(r).toEqual({ compressedBytes: gz.length, uncompressedBytes: content.length });
    }
  });

  it('streams an object larger than its stated size, and one that inflates past the one-call limit', async () => {
    const big = gzipSync(bytes(600_000, 5));
    const h = createHash('sha256');
    await gunzipInto(split(big, [100, 300_000]), (c) => h.update(c), { sizeHint: 1000 });
    expect(h.digest('hex')).toBe(nodeSha(bytes(600_000, 5)));
    const bomb = gzipSync(Buffer.alloc(40_000_000));
    let out = 0;
    const r = await gunzipInto([bomb], (c) => (out += c.length), { sizeHint: bomb.length });
    expect(r.uncompressedBytes).toBe(40_000_000);
    expect(out).toBe(40_000_000);
    await expect(gunzipInto([bomb], () => undefined, { sizeHint: bomb.length, maxOutputBytes: 1_000_000 })).rejects.toMatchObject({ code: 'SIZE_LIMIT' });
  });

  it('stops at the size limit with SIZE_LIMIT, never holding the output', async () => {
    const big = gzipSync(Buffer.alloc(10_000_000));
    let seen = 0;
    await expect(
      gunzipInto([big], (c) => {
        seen += c.length;
      }, { maxOutputBytes: 1_000_000 }),
    ).rejects.toMatchObject({ code: 'SIZE_LIMIT' });
    expect(seen).toBeLessThanOrEqual(1_000_000);
  });

  it('readAll returns the whole content and honours its limit', async () => {
    expect(Buffer.from(await readAll([gz], { gzip: true, maxBytes: 1e6 })).equals(Buffer.from(content))).toBe(true);
    await expect(readAll([gz], { gzip: true, maxBytes: 10 })).rejects.toMatchObject({ code: 'SIZE_LIMIT' });
    await expect(readAll([content], { maxBytes: 10 })).rejects.toMatchObject({ code: 'SIZE_LIMIT' });
  });

  it('passes a sink exception through unchanged', async () => {
    const boom = new Error('sink failed');
    await expect(gunzipInto([gz], () => { throw boom; })).rejects.toBe(boom);
  });
});

describe('a whole small gzip object hashed in one call', () => {
  it('says what the streaming decoder says, for every byte of the header and the trailer changed', async () => {
    // hashWhole reads a plain 10-byte header (no optional field) itself, and the trailer by
    // hand; the streaming decoder (no size given) reads every header with its parser.
    const good = gzipSync('{"Records":[{"eventTime":"2025-01-08T00:00:00Z"}]}');
    const verdict = async (f: () => Promise<unknown> | unknown): Promise<unknown> => {
      try {
        return await f();
      } catch (e) {
        return isValidateLogsError(e) ? `${e.code}: ${e.message}` : e;
      }
    };
    const places = [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 8 }, (_, i) => good.length - 8 + i)];
    let checked = 0;
    for (const at of places) {
      for (const x of [0x01, 0x02, 0x04, 0x08, 0x10, 0x80, 0xff]) {
        const b = Uint8Array.from(good);
        b[at]! ^= x;
        const whole = await verdict(() => hashWhole(b, { gzip: true, what: 'o', platform: nodePlatform }));
        const streamed = await verdict(() => hashStream([b], { gzip: true, what: 'o', platform: nodePlatform }));
        expect(whole, `byte ${at} ^ ${x}`).toEqual(streamed);
        checked++;
      }
    }
    expect(checked).toBe(places.length * 7);
    expect(hashWhole(good, { gzip: true, platform: nodePlatform })).toEqual(await hashStream([good], { gzip: true, platform: nodePlatform }));
    expect(hashWhole(gzipSync(''), { gzip: true, platform: nodePlatform })?.sha256).toBe(nodeSha(new Uint8Array(0)));
  });
});
