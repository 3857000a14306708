/**
 * A raw inflater that works synchronously, for the pool's threads: each chunk is inflated
 * during the call, its output handed to the sink at once, with one reused output buffer. It
 * drives zlib's native handle the way `node:zlib`'s own synchronous functions do (they are
 * one-shot; a stream needs the same calls, chunk after chunk). When this Node.js lacks that
 * handle, {@link syncInflateAvailable} says so and the thread uses the asynchronous inflater
 * instead.
 * @module
 */
import { constants, InflateRaw } from 'node:zlib';
import type { RawInflater, WholeInflate } from './platform.js';

/** The parts of zlib's stream object this inflater drives. */
interface ZlibInternals {
  _handle?: {
    writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
    close(): void;
  } | null;
  _writeState?: Uint32Array;
  errored?: Error | null;
  reset(): void;
}

/**
 * This thread's zlib streams, free for the next object. A stream is made only when there is
 * work for it, and kept for the next: a pool thread may be stopped at any moment (the process
 * exits, or is stopped, while it is idle or busy), and Node.js aborts the whole process when a
 * thread is stopped while it is making a zlib stream (its native half is cleaned up before
 * it was set up). Making streams once per thread, never at start-up, keeps that window to a
 * thread's first objects.
 */
const spare: Stream[] = [];
/** At most this many free streams are kept (each holds about 40 KB of zlib state). */
const KEEP = 8;
let usable: boolean | undefined;

type Stream = ZlibInternals & InflateRaw;

/** A free stream, or a new one. */
function take(): Stream {
  const free = spare.pop();
  if (free) return free;
  const made = new InflateRaw() as unknown as Stream;
  made.on('error', () => undefined); // seen synchronously through `errored`
  return made;
}

/** A stream its user is done with: kept for the next (reset), unless it failed or enough are kept. */
function giveBack(inf: Stream): void {
  if (inf._handle && !inf.errored && spare.length < KEEP) {
    inf.reset();
    spare.push(inf);
  } else {
    inf.close();
  }
}

/**
 * Whether this Node.js has what a synchronous inflater needs. Asked first, it makes a stream to
 * look at (kept for the first object).
 * @returns true when zlib's handle can be driven directly
 */
export function syncInflateAvailable(): boolean {
  if (usable === undefined) {
    const probe = take();
    usable = typeof probe._handle?.writeSync === 'function' && probe._writeState instanceof Uint32Array && 'errored' in probe;
    if (usable) spare.push(probe);
    else probe.close();
  }
  return usable;
}

/**
 * Start a synchronous raw inflater (on a free stream of this thread when there is one).
 * @param sink - receives each output chunk (valid until the call returns)
 * @param options - `small: true` for a small object (a smaller output buffer)
 * @returns the inflater
 */
export function createSyncInflater(sink: (chunk: Uint8Array) => void, options: { small: boolean }): RawInflater {
  const outSize = options.small ? 16 * 1024 : 256 * 1024;
  let inf: Stream | undefined = take();
  const out = new Uint8Array(outSize);
  const state = inf._writeState!;
  /** Inflate `input`; returns how many of its bytes lie after the end of the deflate stream. */
  const run = (input: Uint8Array, flush: number): number => {
    const stream = inf; // undefined once given back
    const handle = stream?._handle;
    if (!stream || !handle) throw stream?.errored ?? new Error('the inflater is closed');
    let at = 0;
    let left = input.byteLength;
    for (;;) {
      handle.writeSync(flush, input, at, left, out, 0, outSize);
      if (stream.errored) throw stream.errored;
      const outLeft = state[0]!;
      const inLeft = state[1]!;
      if (outLeft < outSize) sink(out.subarray(0, outSize - outLeft));
      at += left - inLeft;
      left = inLeft;
      // Output room to spare: zlib took all it could of the input (or the stream ended).
      if (outLeft !== 0) return left;
    }
  };
  return {
    write: async (chunk) => run(chunk, constants.Z_NO_FLUSH),
    async end() {
      // Finishing reports a stream that ended early ("unexpected end of file").
      run(new Uint8Array(0), constants.Z_FINISH);
      return new Uint8Array(0);
    },
    destroy() {
      if (inf) giveBack(inf);
      inf = undefined;
    },
  };
}

/**
 * A one-call inflater for whole small objects that keeps one zlib stream and one output buffer
 * from call to call (reset in between): many small objects cost no allocation each, where
 * `inflateRawSync` makes a stream object, a zlib state and an output buffer every time. The
 * output it returns is valid until the next call.
 * @returns an `inflateWhole` for a platform, or undefined when this Node.js lacks what it needs
 */
export function createWholeInflater(): ((input: Uint8Array, maxOutputBytes: number) => WholeInflate | undefined) | undefined {
  if (!syncInflateAvailable()) return undefined;
  // The output buffer grows to the largest object seen and is kept up to this size: objects of
  // about the same size follow one another, and growing it again for each would cost an
  // allocation and a copy of every size below it, each time.
  const RETAIN = 8 * 1024 * 1024;
  let inf: Stream | undefined;
  let out: Uint8Array = Buffer.allocUnsafe(64 * 1024);
  return (input, maxOutputBytes) => {
    if (!inf) inf = take();
    else inf.reset();
    const handle = inf._handle!;
    const state = inf._writeState!;
    let size = 0;
    let at = 0;
    let left = input.byteLength;
    try {
      for (;;) {
        if (size === out.byteLength) {
          if (size > maxOutputBytes) return undefined;
          // Written before it is read; never empty (a buffer given away would be, and
          // doubling it would never end).
          const bigger = Buffer.allocUnsafe(Math.max(64 * 1024, out.byteLength * 2));
          bigger.set(out);
          out = bigger;
        }
        const room = out.byteLength - size;
        handle.writeSync(constants.Z_FINISH, input, at, left, out, size, room);
        if (inf.errored) throw inf.errored;
        const outLeft = state[0]!;
        const inLeft = state[1]!;
        size += room - outLeft;
        at += left - inLeft;
        left = inLeft;
        if (size > maxOutputBytes) return undefined;
        if (outLeft !== 0) return { output: out.subarray(0, size), consumed: at };
      }
    } catch (e) {
      giveBack(inf); // closed: it failed
      inf = undefined;
      throw e;
    } finally {
      if (out.byteLength > RETAIN) out = Buffer.allocUnsafe(64 * 1024);
    }
  };
}
