/**
 * A hashing Worker, started by the run's Worker (the parallel layer's Web pool): it answers
 * each group of picked files with {@link runWebHashJob}, the same hashing as the run's own.
 * @module
 */
import { runWebHashJob, type WebHashJob } from '../../src/parallel/web.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<WebHashJob>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  const job = event.data;
  void runWebHashJob(job).then((answers) => scope.postMessage({ id: job.id, answers }));
};
