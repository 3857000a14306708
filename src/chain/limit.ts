/**
 * Bounded concurrency: at most `n` tasks run at once, each starting as soon as another ends.
 * @module
 */

/**
 * A limiter: wrap each task in it; at most `n` run at once, in the order they were given. A
 * task that throws synchronously, or returns something other than a promise, still gives its
 * slot back.
 * @param n - tasks at once
 * @returns the wrapper
 * @example
 * ```ts
 * const limit = createLimiter(4);
 * const results = await Promise.all(files.map((f) => limit(() => hash(f))));
 * ```
 */
export function createLimiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queued: Array<() => void> = [];
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const run = (): void => {
        running++;
        // `new Promise` turns a synchronous throw into a rejection, so `finally` always runs.
        new Promise<T>((ok) => ok(task()))
          .then(resolve, reject)
          .finally(() => {
            running--;
            queued.shift()?.();
          });
      };
      if (running < n) run();
      else queued.push(run);
    });
}
