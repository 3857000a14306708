/**
 * The JSON report of `validate-logs` (schema/report.schema.json), streamed: the request, then
 * each finding as it is made, then the counts. Whatever stops a run (a usage error, a storage
 * error, a signal, a closed stdout), the document is ended: the findings so far, the counts so
 * far, and an `error` member saying what stopped it. A reader never gets a cut-off document.
 * The subcommands (`plan`, `merge`, `cosign`) build their document whole before writing it
 * ({@link DocumentBuffer}), and print {@link failureDocument}'s in its place when they fail.
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, open, rm, rmdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding } from '../chain/findings.js';
import { reportTail, type Judgement, type ReportRequest } from '../chain/report.js';
import type { JsonReportDocument, ReportRun } from '../report/document.js';

export type { ReportRequest };
import { ValidateLogsError } from '../errors.js';
import { packageVersion, StopError, UsageError, writeWithBackpressure, type CommandIO } from './io.js';
import { wantsJson } from './plan.js';
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


/** What the report's tail holds besides the judgement. */
export interface ReportExtra {
  /** The evidence kept (`--save-to`). */
  evidence?: EvidenceInfo;
  /** What stopped the run. */
  error?: ReportError;
  /** When it ran, the keys and the checkpoint (runs with `--report`). */
  run?: ReportRun;
}

/**
 * The members of the report after its findings, in the order the document writes them: what
 * {@link JsonReport.end} writes, and what `--report` renders from.
 * @param judgement - the merged, judged results
 * @param extra - the evidence, the error, the run
 * @returns the members
 */
export function reportTailMembers(judgement: Judgement, extra: ReportExtra = {}): Omit<JsonReportDocument, 'tool' | 'version' | 'request' | 'findings'> {
  const t = reportTail(judgement);
  return {
    found: t.found,
    summary: t.summary,
    regions: t.regions,
    ...(extra.evidence && { evidence: extra.evidence }),
    ...(extra.run && { run: extra.run }),
    empty: t.empty,
    ok: t.ok && !extra.error,
    ...(extra.error && { error: extra.error }),
  };
}

/** Characters of findings gathered before they are written: one write for many findings, not one each. */
const FINDINGS_CHUNK_CHARS = 64 * 1024;

/** The JSON document, written piece by piece to a stream. */
export class JsonReport implements RegionSink {
  readonly #stream: NodeJS.WritableStream;
  readonly #version: string;
  #started = false;
  #first = true;
  #ended = false;
  #broken = false;
  /** Findings' text not written yet, and its length. */
  #pending: string[] = [];
  #pendingChars = 0;

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
   * Write one finding. Once the document is ended, nothing more is written.
   * @param _region - its region (each finding names it)
   * @param f - the finding
   * @returns a promise only when the findings gathered were written and stdout is full (the
   *   caller waits for it): most findings are only gathered, with no promise to wait for
   */
  finding(_region: string, f: Finding): Promise<void> | undefined {
    if (this.#ended) return undefined;
    const text = `${this.#first ? '\n' : ',\n'}${JSON.stringify(f)}`;
    this.#first = false;
    this.#pending.push(text);
    this.#pendingChars += text.length;
    return this.#pendingChars >= FINDINGS_CHUNK_CHARS ? this.#flush() : undefined;
  }

  /** Write the findings gathered so far. */
  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const text = this.#pending.join('');
    this.#pending = [];
    this.#pendingChars = 0;
    await this.#write(text);
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
  async end(judgement: Judgement, extra: ReportExtra = {}): Promise<void> {
    if (this.#ended) return;
    if (!this.#started) await this.begin(null);
    this.#ended = true;
    const tail = reportTailMembers(judgement, extra);
    this.#pending.push(`${this.#first ? '' : '\n'}],${JSON.stringify(tail).slice(1)}\n`);
    await this.#flush();
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

/** Text a {@link DocumentBuffer} keeps in memory before it moves it to a file. */
const BUFFER_MEMORY_CHARS = 16 * 1024 * 1024;

/**
 * A JSON document built whole before any of it is written, so that standard output gets the
 * complete document or nothing: the text is kept in memory, and past 16 Mi characters in a
 * temporary file (readable by this user only, and removed from its folder as soon as it is
 * opened where the system allows it, so that a killed run leaves nothing behind).
 */
export class DocumentBuffer {
  #parts: string[] = [];
  #chars = 0;
  #file: { handle: FileHandle; dir: string; removed: boolean } | undefined;

  /**
   * Add text to the document.
   * @param text - the text
   */
  async append(text: string): Promise<void> {
    if (this.#file) {
      await this.#file.handle.write(text);
      return;
    }
    this.#parts.push(text);
    this.#chars += text.length;
    if (this.#chars > BUFFER_MEMORY_CHARS) await this.#spill();
  }

  async #spill(): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'validate-logs-'));
    const path = join(dir, 'document.json');
    const handle = await open(path, 'wx+', 0o600);
    this.#file = { handle, dir, removed: false };
    try {
      await unlink(path);
      await rmdir(dir);
      this.#file.removed = true;
    } catch (e) {
      // Windows keeps an open file's name: discard() removes it.
      if (!['EPERM', 'EBUSY', 'EACCES'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
    await handle.write(this.#parts.join(''));
    this.#parts = [];
  }

  /**
   * Write the whole document to a stream (waiting while it is full), then let it go.
   * @param stream - standard output
   */
  async writeTo(stream: NodeJS.WritableStream): Promise<void> {
    try {
      if (!this.#file) {
        await writeWithBackpressure(stream, this.#parts.join(''));
        return;
      }
      for await (const chunk of this.#file.handle.createReadStream({ start: 0, encoding: 'utf8', autoClose: false })) await writeWithBackpressure(stream, chunk as string);
    } finally {
      await this.discard();
    }
  }

  /** Let the document go, written or not: nothing of it is kept. */
  async discard(): Promise<void> {
    this.#parts = [];
    const file = this.#file;
    this.#file = undefined;
    if (!file) return;
    await file.handle.close();
    if (!file.removed) await rm(file.dir, { recursive: true, force: true });
  }
}

/** What a subcommand's failure document says besides the error (see {@link failureDocument}). */
export interface FailureState {
  /** The command's own document was (begun to be) written: nothing more goes to standard output. */
  written?: boolean;
  /** Members known before the command stopped (`request`, an empty `findings`). */
  fields?: Record<string, unknown>;
}

/**
 * The `failed` hook of a subcommand that builds its document whole: when it fails (exit 2) with
 * `--output json` asked for, standard output gets, in place of its document, one document saying
 * so: `{"tool":"validate-logs","version":…, …fields, "ok":false, "error":{"code","message"}}`.
 * Nothing else was written to standard output before it.
 * @param state - what the run got to (read when it fails)
 * @returns the hook
 */
export function failureDocument(state: FailureState = {}): (error: unknown, argv: string[], io: CommandIO) => Promise<void> {
  return async (error, argv, io) => {
    if (state.written || !wantsJson(argv)) return;
    const doc = { tool: 'validate-logs', version: packageVersion(), ...state.fields, ok: false, error: reportError(error) };
    try {
      await writeWithBackpressure(io.stdout, JSON.stringify(doc) + '\n');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e; // nobody reads: the line on stderr is all that can be said
    }
  };
}
