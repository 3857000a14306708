/**
 * A one-line progress display on a terminal's stderr: objects done, bytes, rate and ETA.
 * Silent unless stderr is a terminal and the run is not in CI.
 * @module
 */
import { plural } from './words.js';

const REDRAW_MS = 250;
const SHOW_AFTER_MS = 1000;

/**
 * Whether a progress display belongs on this stderr.
 * @param stderr - the stream
 * @param env - the environment
 * @returns true for an interactive terminal outside CI
 */
export function progressWanted(stderr: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stderr.isTTY === true && !env.CI && env.TERM !== 'dumb';
}

function human(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** The progress line. */
export class Progress {
  readonly #write: (s: string) => void;
  readonly #enabled: boolean;
  readonly #now: () => number;
  readonly #started: number;
  #last = 0;
  #shown = false;
  objects = 0;
  bytes = 0;
  digestsDone = 0;
  digestsTotal = 0;

  /**
   * @param write - writes to stderr
   * @param enabled - whether to draw at all
   * @param now - the clock, in milliseconds
   */
  constructor(write: (s: string) => void, enabled: boolean, now: () => number = Date.now) {
    this.#write = write;
    this.#enabled = enabled;
    this.#now = now;
    this.#started = now();
  }

  /** Redraw if enough time has passed. */
  tick(): void {
    if (!this.#enabled) return;
    const now = this.#now();
    if (now - this.#started < SHOW_AFTER_MS || now - this.#last < REDRAW_MS) return;
    this.#last = now;
    const secs = (now - this.#started) / 1000;
    const rate = this.bytes / secs;
    const left = this.digestsTotal > 0 && this.digestsDone > 0 ? (secs / this.digestsDone) * (this.digestsTotal - this.digestsDone) : Number.NaN;
    this.#write(
      `\r\x1b[K${plural(this.objects, 'object')}, ${human(this.bytes)}, ${human(rate)}/s` +
        (this.digestsTotal > 0 ? `, digest ${this.digestsDone}/${this.digestsTotal}, ETA ${duration(left)}` : ''),
    );
    this.#shown = true;
  }

  /** Erase the line (before other stderr output, and at the end). */
  clear(): void {
    if (this.#shown) this.#write('\r\x1b[K');
    this.#shown = false;
  }
}
