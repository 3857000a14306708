/**
 * The Worker: receives one {@link RunRequest}, runs it off the page's thread, posts back.
 * @module
 */
import type { RunRequest, WorkerMessage } from './protocol.js';
import { runValidation } from './run.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<RunRequest>) => void) | null;
  postMessage(message: WorkerMessage): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  if (event.data?.type !== 'run') return;
  scope.onmessage = null; // one run per Worker: the page starts a new one for the next run
  void runValidation(event.data, (m) => scope.postMessage(m));
};
