/**
 * Starting a thread under Node (`worker_threads`): the Node platform's
 * {@link Platform.startThread}. A module of TypeScript sources (a `.ts` URL: tests and tools
 * that run the sources) is started through `tsx`'s loader, with the package's source
 * condition, so that it runs exactly as the built module would.
 * @module
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Platform, ThreadEvents, ThreadHandle, ThreadOptions } from './platform.js';

/** The condition under which the package's `imports` resolve to its TypeScript sources. */
const SOURCE_CONDITION = 'validate-logs-source';

/**
 * The code of a thread that loads a TypeScript module: it registers `tsx` (its ES module
 * entry, resolved from here), then imports the module.
 */
function sourceBootstrap(module: URL): string {
  const api = new URL('index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api'))).href;
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(module.href)}); });`;
}

/**
 * Start a thread running `module` ({@link Platform.startThread}).
 * @param module - the module's URL (`.js`, or `.ts` from the sources)
 * @param events - where its messages and its failure go
 * @param options - its young generation
 * @returns the thread, unreferenced
 */
export const startThread: NonNullable<Platform['startThread']> = (module: URL, events: ThreadEvents, options: ThreadOptions = {}): ThreadHandle => {
  const fromSource = module.pathname.endsWith('.ts');
  // No flags of the parent's command line: they are for its main module (--input-type, --eval).
  const worker = new Worker(fromSource ? sourceBootstrap(module) : module, {
    eval: fromSource,
    execArgv: fromSource ? [`--conditions=${SOURCE_CONDITION}`] : [],
    ...(options.youngGenerationMb !== undefined && { resourceLimits: { maxYoungGenerationSizeMb: options.youngGenerationMb } }),
  });
  worker.on('message', (m: unknown) => events.message(m));
  worker.on('error', (e) => events.failed(e));
  worker.on('exit', (code) => events.failed(new Error(`the thread stopped (exit code ${code})`)));
  worker.unref(); // after the listeners: adding a 'message' listener refs the thread's port again
  return {
    post: (m, transfer = []) => worker.postMessage(m, transfer),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    terminate: () => void worker.terminate(),
  };
};
