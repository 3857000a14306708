/**
 * zlib's gzip reader in WebAssembly (inflate and CRC-32 of zlib 1.2.13, `vendor/zlib-wasm/`), for
 * whole objects held in memory: the stored bytes are copied into the module's memory, inflated
 * there, and the content is handed out as a view of that memory. The memory is kept from one
 * object to the next, so a log costs no fresh buffer (on the bench's machine, filling fresh
 * memory cost many times as much as filling memory already in use).
 *
 * zlib reads the whole member: header, deflate data, CRC-32 and length; the object must end
 * exactly where the member does. It only ever says yes: anything else (not one valid member,
 * content past the capacity given) is undefined, and the caller reads the same bytes again with
 * its strict reader, which names what is wrong.
 * @module
 */
import { ZLIB_GUNZIP_WASM } from './zlib-wasm-bytes.js';

/** The WebAssembly page: the unit the module's memory grows by. */
const PAGE = 65536;

/** What the module exports (`vendor/zlib-wasm/gunzip.c`). */
interface Exports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  __heap_base: { readonly value: number };
  gunzip(input: number, inputSize: number, output: number, capacity: number): number;
}

/** The part of the runtime's `WebAssembly` used here (the package's types are Node's, which lack it). */
interface WebAssemblyApi {
  instantiate(bytes: Uint8Array<ArrayBuffer>): Promise<{ instance: { exports: unknown } }>;
}

/** A gzip reader in WebAssembly whose memory is kept from one object to the next. */
export interface WasmGunzip {
  /**
   * Room for a stored object of `size` bytes in the module's memory: write the object there,
   * then call {@link WasmGunzip.gunzip}. Valid until the next call of either. Undefined when the
   * memory cannot grow that far (the caller's strict reader then reads the object).
   */
  input(size: number): Uint8Array<ArrayBuffer> | undefined;
  /**
   * Inflate the object last written into {@link WasmGunzip.input}.
   * @param capacity - the most content accepted (the memory grows to hold it)
   * @returns the content, a view of the module's memory valid until the next call; undefined
   *   when the bytes are not exactly one valid gzip member, its content is over `capacity`, or
   *   the memory cannot grow to `capacity`
   */
  gunzip(capacity: number): Uint8Array<ArrayBuffer> | undefined;
}

const align = (n: number): number => (n + 15) & ~15;

function reader(e: Exports): WasmGunzip {
  // The stored object, then its content.
  const base = align(e.__heap_base.value);
  let inputSize = 0;
  const ensure = (end: number): void => {
    const have = e.memory.buffer.byteLength;
    if (end > have) e.memory.grow(Math.ceil((end - have) / PAGE));
  };
  return {
    input(size) {
      try {
        ensure(base + size);
      } catch {
        return undefined; // more than the runtime will give the module now
      }
      inputSize = size;
      return new Uint8Array(e.memory.buffer, base, size);
    },
    gunzip(capacity) {
      const output = align(base + inputSize);
      try {
        ensure(output + capacity);
      } catch {
        return undefined; // more than the runtime will give a module (4 GiB at most): the caller's strict reader streams it
      }
      const n = e.gunzip(base, inputSize, output, capacity);
      return n < 0 ? undefined : new Uint8Array(e.memory.buffer, output, n);
    },
  };
}

let loaded: Promise<WasmGunzip | undefined> | undefined;

/**
 * This thread's gzip reader in WebAssembly, made on first use.
 * @returns the reader, or undefined where WebAssembly is missing or may not be compiled (a
 *   Content-Security-Policy without `'wasm-unsafe-eval'`)
 */
export function wasmGunzip(): Promise<WasmGunzip | undefined> {
  return (loaded ??= (async () => {
    try {
      const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
      if (!wasm) return undefined;
      const text = atob(ZLIB_GUNZIP_WASM);
      const bytes = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
      const { instance } = await wasm.instantiate(bytes);
      return reader(instance.exports as unknown as Exports);
    } catch {
      return undefined;
    }
  })());
}
