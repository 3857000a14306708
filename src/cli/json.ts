/**
 * The JSON report of `validate-logs` (schema/report.schema.json), streamed: the request, then
 * each finding as it is made, then the counts. Whatever stops a run (a usage error, a storage
 * error, a signal, a closed stdout), the document is ended: the findings so far, the counts so
 * far, and an `error` member saying what stopped it. A reader never gets a cut-off document.
 * @module
 */
import type { Finding } from '../chain/findings.js';
import { reportTail, type Judgement, type ReportRequest } from '../chain/report.js';

export type { ReportRequest };
import { ValidateLogsError } from '../errors.js';
import { StopError, UsageError, writeWithBackpressure } from './io.js';
import type { RegionSink } from './regions.js';


/** Where `--save-to` kept the evidence (the report's `evidence` member). */
export interface EvidenceInfo {
  /** The `--save-to` folder. */
  dir: string;
  /** What to pass as `--local-dir` to validate the evidence offline. */
  localDir: string;
  /** What to pass as `--public-keys`. */
  publicKeys: string;
  /** Objects kept. */
  objects: number;
  /** Bytes kept. */
  bytes: number;
}

/** What stopped a run (the report's `error` member). */
export interface ReportError {
  /** `USAGE`, a library error code (`SOURCE_ERROR`, ...), `SIGINT`, `SIGTERM`, `EPIPE` or `INTERNAL`. */
  code: string;
  /** The message, as printed on stderr. */
  message: string;
}

/**
 * The report's `error` member for what a run threw.
 * @param e - the thrown value
 * @returns its code and message
 */
export function reportError(e: unknown): ReportError {
  if (e instanceof UsageError) return { code: 'USAGE', message: e.message };
  if (e instanceof ValidateLogsError || e instanceof StopError) return { code: e.code, message: e.message };
  if ((e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') return { code: 'EPIPE', message: 'standard output was closed' };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}


/** The JSON document, written piece by piece to a stream. */
export class JsonReport implements RegionSink {
  readonly #stream: NodeJS.WritableStream;
  readonly #version: string;
  #started = false;
  #first = true;
  #ended = false;
  #broken = false;

  /**
   * @param stream - standard output
   * @param version - the package version
   */
  constructor(stream: NodeJS.WritableStream, version: string) {
    this.#stream = stream;
    this.#version = version;
  }

  /** Whether the document has begun (its request written). */
  get started(): boolean {
    return this.#started;
  }

  /**
   * Write the head of the document, up to the opening of the findings array.
   * @param request - the request, or null when the run stopped before it was known
   */
  async begin(request: ReportRequest | null): Promise<void> {
    this.#started = true;
    await this.#write(`{"tool":"validate-logs","version":${JSON.stringify(this.#version)},"request":${JSON.stringify(request)},"findings":[`);
  }

  /** Whether stdout failed (EPIPE): nothing more can be written. */
  get broken(): boolean {
    return this.#broken;
  }

  /**
   * Every finding is written.
   * @returns true
   */
  wants(): boolean {
    return true;
  }

  /**
   * Write one finding (waits while stdout is full). Once the document is ended, nothing more
   * is written.
   * @param _region - its region (each finding names it)
   * @param f - the finding
   */
  async finding(_region: string, f: Finding): Promise<void> {
    if (this.#ended) return;
    await this.#write(`${this.#first ? '\n' : ',\n'}${JSON.stringify(f)}`);
    this.#first = false;
  }

  /** A region is done: the counts come at the end of the document. */
  regionEnd(): void {
    // nothing to write yet
  }

  /**
   * Close the findings and write the counts: the end of the document.
   * @param judgement - the merged, judged results (so far, when the run stopped)
   * @param extra - the evidence kept, and what stopped the run
   */
  async end(judgement: Judgement, extra: { evidence?: EvidenceInfo; error?: ReportError } = {}): Promise<void> {
    if (this.#ended) return;
    if (!this.#started) await this.begin(null);
    this.#ended = true;
    const t = reportTail(judgement);
    const tail = {
      found: t.found,
      summary: t.summary,
      regions: t.regions,
      ...(extra.evidence && { evidence: extra.evidence }),
      empty: t.empty,
      ok: t.ok && !extra.error,
      ...(extra.error && { error: extra.error }),
    };
    await this.#write(`${this.#first ? '' : '\n'}],${JSON.stringify(tail).slice(1)}\n`);
  }

  async #write(text: string): Promise<void> {
    if (this.#broken) return;
    try {
      await writeWithBackpressure(this.#stream, text);
    } catch (e) {
      // Nobody reads any more (EPIPE): the rest of the document has nowhere to go.
      this.#broken = true;
      throw e;
    }
  }
}
