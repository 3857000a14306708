/**
 * Work on the page's thread in slices: a folder of many thousand files is walked a few
 * milliseconds at a time, the thread given back to the browser (input, drawing) between slices,
 * so that no task of the page's runs past the 50 ms the Long Tasks API calls long.
 * @module
 */

/** Work done between two yields, ms: well under the 50 ms of a long task, whatever a step costs. */
export const SLICE_MS = 10;

const now = (): number => (typeof performance === 'undefined' ? Date.now() : performance.now());

/**
 * Give the thread back to the event loop and resume: `scheduler.yield()` where the runtime has
 * it (it resumes ahead of other tasks), else a message to a channel of our own (a macrotask, but
 * not clamped as a nested `setTimeout(0)` is).
 * @returns when the thread is ours again
 */
export function yieldToPage(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (typeof scheduler?.yield === 'function') return scheduler.yield();
  return new Promise((resolve) => {
    // (Typed loosely: this file is also type-checked against Node's MessageChannel.)
    const channel = new MessageChannel() as unknown as { port1: { onmessage: (() => void) | null; close(): void }; port2: { postMessage(m: null): void } };
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * Wait for the browser's next frame (`requestAnimationFrame`; a task where there is none): DOM
 * added before each such wait is laid out and drawn a part at a time, where yields alone may let
 * many parts pile up for one frame.
 * @returns at the next frame
 */
export function nextFrame(): Promise<void> {
  const frame = (globalThis as { requestAnimationFrame?: (callback: () => void) => unknown }).requestAnimationFrame;
  return new Promise((resolve) => (typeof frame === 'function' ? frame(() => resolve()) : setTimeout(resolve, 0)));
}

/**
 * Wait for the browser's next frame to be drawn, then for a task of the page's own after it:
 * DOM added then is laid out and painted by the following frame, in a task of its own, so the
 * script that builds a part and the frame that lays it out never add up to one long task (work
 * done in a frame's callback is laid out and painted in the same task).
 * @returns in a task of its own, after the next frame
 */
export async function afterFrame(): Promise<void> {
  await nextFrame();
  await yieldToPage();
}

/**
 * Call `step` on each item in order, yielding whenever a slice of {@link SLICE_MS} has been
 * spent (the time is read every `check` items, which must each take far less than a slice).
 * @param items - the items
 * @param step - what to do with one (its index given)
 * @param options - `check`: items between two readings of the clock (default 64);
 *   `stopped`: asked after each yield, ends the walk early when true; `pause`: how to yield
 *   (default {@link yieldToPage})
 * @returns whether every item was taken (false: `stopped` said so)
 */
export async function inSlices<T>(
  items: ArrayLike<T>,
  step: (item: T, index: number) => void,
  options: { check?: number; stopped?: () => boolean; pause?: () => Promise<void> } = {},
): Promise<boolean> {
  const check = Math.max(1, options.check ?? 64);
  const pause = options.pause ?? yieldToPage;
  let until = now() + SLICE_MS;
  for (let i = 0; i < items.length; i++) {
    step(items[i]!, i);
    if ((i + 1) % check === 0 && now() >= until) {
      await pause();
      if (options.stopped?.()) return false;
      until = now() + SLICE_MS;
    }
  }
  return true;
}
