/**
 * The Worker: receives one {@link RunRequest}, runs it off the page's thread, posts back.
 * @module
 */
import type { PageMessage, PickedFile, WorkerMessage } from './protocol.js';
import { runValidation } from './run.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<PageMessage>) => void) | null;
  postMessage(message: WorkerMessage): void;
}

const scope = globalThis as unknown as WorkerScope;
/** The run's files sent ahead of its request. */
const sent: PickedFile[] = [];
scope.onmessage = (event) => {
  const m = event.data;
  if (m?.type === 'files') return void sent.push(...m.files);
  if (m?.type !== 'run') return;
  scope.onmessage = null; // one run per Worker: the page starts a new one for the next run
  void runValidation(sent.length > 0 ? { ...m, files: sent.concat(m.files) } : m, (w) => scope.postMessage(w));
};
