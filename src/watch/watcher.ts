/**
 * The watcher's loop: a pass every interval (measured from the start of a pass; a pass longer
 * than the interval is followed at once), until stopped. A stop (SIGTERM, SIGINT) abandons a
 * walk in progress (the state stays as the last pass committed it: the next start redoes the
 * walk) and lets a commit or a delivery in progress finish; the loop then ends with status 0.
 * @module
 */
import { UsageError } from '../cli/io.js';
import { ValidateLogsError } from '../errors.js';
import type { PassOutcome } from './pass.js';

/** What the loop runs. */
export interface WatchLoopOptions {
  /**
   * One pass.
   * @param signal - aborted when the watcher is stopped
   */
  pass(signal: AbortSignal): Promise<PassOutcome>;
  /** Time between the starts of two passes (ms). */
  intervalMs: number;
  /** One pass, then the exit status it gives. */
  once: boolean;
  /** Stops the watcher. */
  signal?: AbortSignal;
  /** The clock. */
  now: () => Date;
  /** Writes one line on stderr. */
  say: (line: string) => void;
  /** After each pass (metrics, EMF lines). */
  afterPass?: (outcome: PassOutcome) => Promise<void> | void;
}

/**
 * The exit status of a single pass (`--once`): 0 when everything new verified and every alert
 * was delivered, 1 when the pass found something invalid, 2 when the trail could not be read or
 * an alert is still undelivered; 0 when stopped (nothing was written).
 * @param outcome - the pass
 * @returns the status
 */
export function onceStatus(outcome: PassOutcome): number {
  if (outcome.status === 'stopped') return 0;
  if (outcome.status === 'error' || outcome.undelivered > 0) return 2;
  return outcome.status === 'invalid' ? 1 : 0;
}

/**
 * Whether an error that escaped a pass ends the watcher: another watcher's write, a state that
 * is not one, a usage mistake. Anything else (the state's storage unreachable) is said, and the
 * next pass tries again.
 * @param e - the error
 * @returns true when the watcher must stop with status 2
 */
export function isFatal(e: unknown): boolean {
  if (e instanceof UsageError) return true;
  return e instanceof ValidateLogsError && (e.code === 'STATE_CONFLICT' || e.code === 'STATE_INVALID' || e.code === 'OUTPUT_UNSAFE');
}

/**
 * Run passes until stopped (or one, with `once`).
 * @param o - the pass and the timing
 * @returns the exit status: with `once`, {@link onceStatus}; else 0 when stopped
 * @throws what a pass throws that {@link isFatal} says ends the watcher (with `once`: anything)
 */
export async function watchLoop(o: WatchLoopOptions): Promise<number> {
  const signal = o.signal ?? new AbortController().signal;
  for (;;) {
    const started = o.now().getTime();
    let outcome: PassOutcome | undefined;
    try {
      outcome = await o.pass(signal);
    } catch (e) {
      if (o.once || isFatal(e) || !(e instanceof Error)) throw e;
      o.say(`the pass failed: ${e.message}; trying again at the next interval`);
    }
    if (outcome) await o.afterPass?.(outcome);
    if (o.once) return outcome ? onceStatus(outcome) : 2;
    if (signal.aborted) return 0;
    const wait = Math.max(0, started + o.intervalMs - o.now().getTime());
    if (outcome?.status !== 'stopped') o.say(`next pass at ${new Date(o.now().getTime() + wait).toISOString()}`);
    if (await sleep(wait, signal)) return 0;
  }
}

/**
 * Wait, or stop waiting when the signal aborts.
 * @param ms - how long
 * @param signal - the stop
 * @returns true when stopped
 */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (stopped: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(stopped);
    };
    const onAbort = (): void => done(true);
    const timer = setTimeout(() => done(false), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
