// The page's hashing Workers choose between two SHA-256s by timing both on their first large
// objects: the choice must follow the cheaper way, whichever it is, and never change a hash.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SHA_TIMED_MIN, SHA_TRIALS, ShaChoice } from '../src/parallel/web.js';

const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * A ShaChoice whose two ways cost `wasmMs` and `webMs` per MiB on a fake clock, counting calls;
 * WebCrypto's answer comes after `webWait` (a microtask by default), and its `failAt`th call fails.
 */
function timed(wasmMs: number, webMs: number, webWait: () => Promise<void> = () => Promise.resolve(), failAt = 0) {
  let clock = 0;
  const calls = { wasm: 0, web: 0 };
  const choice = new ShaChoice(
    (b) => {
      calls.wasm++;
      clock += (wasmMs * b.byteLength) / (1 << 20);
      return hex(b);
    },
    async (b) => {
      const call = ++calls.web;
      clock += (webMs * b.byteLength) / (1 << 20);
      await webWait();
      if (call === failAt) throw new Error('OperationError');
      return hex(b);
    },
    () => clock,
  );
  return { choice, calls };
}

describe('the choice of SHA-256 in a hashing Worker', () => {
  const large = new Uint8Array(SHA_TIMED_MIN).map((_, i) => i * 7);
  const small = new Uint8Array(SHA_TIMED_MIN - 1).fill(3);

  it.each([
    { name: 'WebCrypto where its copy into fresh memory is cheap', wasmMs: 15, webMs: 3, chosen: 'webcrypto' },
    { name: 'WebAssembly where the copy costs more than its hash', wasmMs: 15, webMs: 21, chosen: 'wasm' },
  ])('keeps $name, after timing both alternately', async ({ wasmMs, webMs, chosen }) => {
    const { choice, calls } = timed(wasmMs, webMs);
    for (let i = 0; i < 2 * SHA_TRIALS; i++) {
      expect(choice.chosen).toBeUndefined();
      expect(await choice.hash(large)).toBe(hex(large));
    }
    expect(calls).toEqual({ wasm: SHA_TRIALS, web: SHA_TRIALS });
    expect(choice.chosen).toBe(chosen);
    for (let i = 0; i < 10; i++) expect(await choice.hash(large)).toBe(hex(large));
    expect(chosen === 'wasm' ? calls.wasm : calls.web).toBe(SHA_TRIALS + 10);
    expect(chosen === 'wasm' ? calls.web : calls.wasm).toBe(SHA_TRIALS);
  });

  it('hashes content under the bound in WebAssembly, untimed, whatever is chosen', async () => {
    const { choice, calls } = timed(15, 3);
    for (let i = 0; i < 5; i++) expect(await choice.hash(small)).toBe(hex(small));
    expect(calls).toEqual({ wasm: 5, web: 0 });
    expect(choice.chosen).toBeUndefined();
    for (let i = 0; i < 2 * SHA_TRIALS; i++) await choice.hash(large);
    expect(choice.chosen).toBe('webcrypto');
    await choice.hash(small);
    expect(calls.wasm).toBe(5 + SHA_TRIALS + 1);
  });

  it.each([
    { name: 'WebCrypto', wasmMs: 15, webMs: 3 },
    { name: 'WebAssembly', wasmMs: 3, webMs: 15 },
  ])('begun together (a Worker\'s interleaved groups), exactly SHA_TRIALS of each are timed, then every other by the one kept ($name cheaper)', async ({ wasmMs, webMs }) => {
    const { choice, calls } = timed(wasmMs, webMs, () => new Promise((resolve) => setTimeout(resolve, 5)));
    const hashes = await Promise.all(Array.from({ length: 2 * SHA_TRIALS + 4 }, () => choice.hash(large)));
    expect(hashes).toEqual(hashes.map(() => hex(large)));
    expect(choice.chosen).toBeDefined();
    const kept = choice.chosen === 'wasm' ? calls.wasm : calls.web;
    const other = choice.chosen === 'wasm' ? calls.web : calls.wasm;
    expect([kept, other]).toEqual([SHA_TRIALS + 4, SHA_TRIALS]);
  });

  it('a timed WebCrypto hash that fails fails that hash only: the way is timed again, nothing waits for ever', async () => {
    const { choice, calls } = timed(15, 3, () => new Promise((resolve) => setTimeout(resolve, 5)), 2);
    const settled = await Promise.allSettled(Array.from({ length: 2 * SHA_TRIALS + 2 }, () => choice.hash(large)));
    expect(settled.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(settled.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<string>).value)).toEqual(Array(2 * SHA_TRIALS + 1).fill(hex(large)));
    expect(choice.chosen).toBeDefined();
    expect(calls.wasm + calls.web).toBe(2 * SHA_TRIALS + 2);
  });
});
