/**
 * The Worker: receives one {@link RunRequest}, runs it off the page's thread, posts back.
 * @module
 */
import { unreadableFile } from './file-source.js';
import type { PageMessage, PickedFile, SentFile, WorkerMessage } from './protocol.js';
import { runValidation } from './run.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<PageMessage>) => void) | null;
  postMessage(message: WorkerMessage): void;
}

/** A file as sent, as the run reads it: one the page could not open fails every read. */
const picked = (f: SentFile): PickedFile => ('unreadable' in f ? { path: f.path, file: unreadableFile(f.unreadable) } : f);

const scope = globalThis as unknown as WorkerScope;
/** The run's files sent ahead of its request. */
const sent: PickedFile[] = [];
scope.onmessage = (event) => {
  const m = event.data;
  if (m?.type === 'files') {
    for (const f of m.files) sent.push(picked(f));
    return;
  }
  if (m?.type !== 'run') return;
  scope.onmessage = null; // one run per Worker: the page starts a new one for the next run
  void runValidation({ ...m, files: sent.concat(m.files), keyFiles: m.keyFiles.map(picked) }, (w) => scope.postMessage(w));
};
