/**
 * Normalising the many shapes a byte stream comes in to one: an async iterable of
 * `Uint8Array` chunks, consumed without copying.
 * @module
 */

/**
 * Anything the hashing core accepts as a byte stream: a Web `ReadableStream`, a Node
 * readable stream (which is an async iterable), any (async) iterable of chunks, or one
 * `Uint8Array`.
 */
export type ByteSource =
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | Uint8Array;

async function* fromReader(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * View any {@link ByteSource} as an async iterable of chunks (no copies).
 * @param source - the bytes
 * @returns an async iterable over the same chunks
 * @throws TypeError when `source` is none of the accepted shapes
 */
export function toChunks(source: ByteSource): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  if (source instanceof Uint8Array) return [source];
  if (typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return source as AsyncIterable<Uint8Array>;
  }
  if (typeof (source as Iterable<Uint8Array>)[Symbol.iterator] === 'function') {
    return source as Iterable<Uint8Array>;
  }
  if (typeof (source as ReadableStream<Uint8Array>).getReader === 'function') {
    return fromReader(source as ReadableStream<Uint8Array>);
  }
  throw new TypeError('expected a ReadableStream, an (async) iterable of Uint8Array, or a Uint8Array');
}
