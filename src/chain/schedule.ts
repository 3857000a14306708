/**
 * Scheduling of the walk's reads: retries of transient storage failures, and the ordered
 * window through which findings leave in walk order while their checks run concurrently.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import type { Platform } from '../platform/platform.js';
import type { Finding } from './findings.js';

/** Reads of one object, retries included, when storage fails in a way worth another try. */
export const READ_ATTEMPTS = 3;
const RETRY_BASE_MS = 200;

/** The outcome of a read that was retried: its value, or the transient error that persisted. */
export type Attempt<T> = { ok: true; value: T } | { ok: false; error: ValidateLogsError };

/**
 * Run a read, again after a transient storage failure (with backoff), up to
 * {@link READ_ATTEMPTS} times. Other errors are thrown at once.
 * @param read - the read
 * @param platform - the runtime (its timers wait between attempts)
 * @returns the value, or the last transient error
 */
export async function attempt<T>(read: () => Promise<T>, platform: Platform): Promise<Attempt<T>> {
  for (let i = 1; ; i++) {
    try {
      return { ok: true, value: await read() };
    } catch (e) {
      if (!(e instanceof ValidateLogsError && e.transient)) throw e;
      if (i >= READ_ATTEMPTS) return { ok: false, error: e };
      await platform.sleep(RETRY_BASE_MS * 2 ** (i - 1));
    }
  }
}

/**
 * Findings in walk order, each possibly still being computed. Checks run concurrently; at most
 * `window` findings wait for their turn to leave, which bounds memory whatever the number of
 * objects, and a slow object does not hold the others back.
 */
export class OrderedFindings {
  /** Single findings, and groups (one promise for several findings, as a group of logs is checked). */
  readonly #pending: Array<{ one: Promise<Finding> } | { group: Promise<readonly Finding[]>; count: number }> = [];
  /** Findings queued (a group counts each of its findings). */
  #size = 0;
  readonly #window: number;
  readonly #decorate: (f: Finding) => Finding;

  /**
   * @param window - findings held before the producer must wait
   * @param decorate - applied to each finding as it is settled (for example, setting its region)
   */
  constructor(window: number, decorate: (f: Finding) => Finding) {
    this.#window = window;
    this.#decorate = decorate;
  }

  /**
   * Queue a finding, or the promise of one.
   * @param f - the finding
   */
  push(f: Finding | Promise<Finding>): void {
    const one = Promise.resolve(f);
    one.catch(() => undefined); // a rejection is rethrown when the finding is taken in order
    this.#pending.push({ one });
    this.#size++;
  }

  /**
   * Queue the promise of several findings at once, in their order (one promise for the group,
   * not one per finding).
   * @param group - the findings, once settled; exactly `count` of them
   * @param count - how many
   */
  pushGroup(group: Promise<readonly Finding[]>, count: number): void {
    if (count === 0) return;
    group.catch(() => undefined); // rethrown when the group is taken in order
    this.#pending.push({ group, count });
    this.#size += count;
  }

  /** Number of findings queued. */
  get size(): number {
    return this.#size;
  }

  /** Whether more findings are queued than the window holds: the producer should {@link OrderedFindings.takePage} before queuing more. */
  get full(): boolean {
    return this.#size > this.#window;
  }

  /**
   * Take findings in order while more than `keep` are queued (a group leaves whole), as one
   * page: the consumer takes one step for all of them.
   * @param keep - how many may stay (the window by default; 0 to drain)
   * @returns the findings taken, in order (none when no more than `keep` are queued)
   */
  async takePage(keep: number = this.#window): Promise<Finding[]> {
    const page: Finding[] = [];
    while (this.#size > keep) {
      const next = this.#pending.shift()!;
      if ('one' in next) {
        this.#size--;
        page.push(this.#decorate(await next.one));
        continue;
      }
      this.#size -= next.count;
      const all = await next.group;
      for (let i = 0; i < next.count; i++) page.push(this.#decorate(all[i]!));
    }
    return page;
  }
}
