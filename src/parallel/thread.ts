/**
 * A pool thread under Node (`worker_threads`), the module the pool starts: it takes messages
 * from the pool and runs the parallel layer's jobs ({@link hashBatch}, {@link hashStreamed},
 * {@link checkDigestJob}), and answers.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { ValidateLogsError } from '../errors.js';
import { checkDigestJob, hashBatch, hashStreamed } from './jobs.js';
import type { DigestMessage, FromWorker, ToWorker, WireError } from './protocol.js';

const port = parentPort!;
const send = (m: FromWorker): void => port.postMessage(m);

// V8 compiles typed-array code on the assumption that no ArrayBuffer of the thread has ever
// been detached, and throws away every function compiled so once one is. This thread detaches
// one with its first digest (the bytes move to the caller's thread), by then after its hot
// functions (the open, read, inflate and hash of every log) are compiled: detaching one now,
// before anything is compiled, spares compiling them all twice.
const detached = new ArrayBuffer(0);
structuredClone(detached, { transfer: [detached] });

async function runDigest(m: DigestMessage): Promise<void> {
  try {
    const result = await checkDigestJob(m.job);
    // The digest's bytes move to the caller's thread: no copy.
    port.postMessage({ t: 'digest-done', id: m.id, result } satisfies FromWorker, result.parsed ? [result.bytes.buffer as ArrayBuffer] : []);
  } catch (e) {
    const error: WireError | undefined = e instanceof ValidateLogsError ? { code: e.code, message: e.message, transient: e.transient } : undefined;
    send(error ? { t: 'digest-done', id: m.id, error } : { t: 'digest-done', id: m.id, crash: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}

/** Chunks of a streamed object as they arrive, acknowledged as they are consumed. */
class Feed implements AsyncIterable<Uint8Array> {
  readonly #id: number;
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  constructor(id: number) {
    this.#id = id;
  }
  push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#wake?.();
  }
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = this.#chunks.shift();
      if (next) {
        yield next;
        send({ t: 'ack', id: this.#id });
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

const feeds = new Map<number, Feed>();

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'batch':
      void hashBatch(m).then(send);
      break;
    case 'digest':
      void runDigest(m);
      break;
    case 'open': {
      const feed = new Feed(m.id);
      feeds.set(m.id, feed);
      void hashStreamed(m.id, m.request, feed).then((done) => {
        feeds.delete(m.id);
        send(done);
      });
      break;
    }
    case 'chunk':
      feeds.get(m.id)?.push(m.bytes);
      break;
    case 'end':
      feeds.get(m.id)?.end();
      break;
    case 'abort': {
      const feed = feeds.get(m.id);
      if (feed) {
        feeds.delete(m.id);
        feed.end(); // it then fails as truncated; the answer is ignored
      }
      break;
    }
  }
});
