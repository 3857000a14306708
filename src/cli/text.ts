/**
 * The AWS CLI's `validate-logs` text output, character for character: valid lines (with
 * `--verbose`) on stdout, INVALID lines on stderr framed by blank lines as the AWS CLI frames
 * them, and its summary.
 * @module
 */
import type { Finding } from '../chain/findings.js';
import { chainLevelCounts, type Summary } from '../chain/report.js';
import type { RegionSink } from './regions.js';

/**
 * The AWS CLI's line for a finding: `Digest file<TAB>URI<TAB>valid`, `Log file<TAB>URI<TAB>INVALID: ...`.
 * Findings the AWS CLI has no line for follow its shape: `Digest chain<TAB>URI<TAB>INVALID: ...`
 * for the chain, `Object<TAB>URI<TAB>INVALID: ...` for another object found in the trail's
 * folders, and `NOTICE: ...` for a notice (a region with no digest in range).
 * @param f - the finding
 * @returns the line, without newline
 */
export function findingLine(f: Finding): string {
  if (f.code === 'CHAIN_GAP') {
    return `${f.backfill ? '(backfill) ' : ''}No log files were delivered by CloudTrail between ${f.startTime} and ${f.endTime}`;
  }
  return `${KIND_LABEL[f.kind](f)}\t${f.object}\t${statusText(f)}`;
}

/** The first column of a finding's line: what the object is. */
const KIND_LABEL: Readonly<Record<Finding['kind'], (f: Finding) => string>> = {
  digest: (f) => `${f.backfill ? '(backfill) ' : ''}Digest file`,
  log: () => 'Log file',
  chain: () => 'Digest chain',
  object: () => 'Object',
};

function statusText(f: Finding): string {
  switch (f.code) {
    case 'DIGEST_VALID':
    case 'LOG_VALID':
      return 'valid';
    case 'DIGEST_NOT_FOUND':
    case 'LOG_NOT_FOUND':
      return 'INVALID: not found';
    case 'DIGEST_INVALID_FORMAT':
    case 'LOG_INVALID_FORMAT':
      return 'INVALID: invalid format';
    case 'DIGEST_MOVED':
      return 'INVALID: has been moved from its original location';
    case 'DIGEST_KEY_NOT_FOUND':
      return `INVALID: ${f.message}`;
    case 'DIGEST_SIGNATURE_INVALID':
      return 'INVALID: signature verification failed';
    case 'LOG_HASH_MISMATCH':
      return "INVALID: hash value doesn't match";
    case 'LOG_UNREFERENCED':
      return 'INVALID: not listed in any digest (injected, or withheld from the digests)';
    default:
      return f.severity === 'notice' ? `NOTICE: ${f.message}` : `INVALID: ${f.message}`;
  }
}

/** Writes findings as the AWS CLI does, tracking its blank-line framing. */
export class TextWriter {
  #lastDoubleSpace = true;
  readonly #out: (s: string) => void;
  readonly #err: (s: string) => void;
  readonly #verbose: boolean;

  /**
   * @param out - writes to stdout
   * @param err - writes to stderr
   * @param verbose - print valid lines too
   */
  constructor(out: (s: string) => void, err: (s: string) => void, verbose: boolean) {
    this.#out = out;
    this.#err = err;
    this.#verbose = verbose;
  }

  /**
   * The first line: `Validating log files for trail ARN between START and END`.
   * @param trailArn - the ARN
   * @param start - requested start, `YYYY-MM-DDTHH:MM:SSZ`
   * @param end - requested end
   */
  startup(trailArn: string, start: string, end: string): void {
    this.#out(`Validating log files for trail ${trailArn} between ${start} and ${end}\n\n`);
  }

  /**
   * Print one finding.
   * @param f - the finding
   */
  finding(f: Finding): void {
    if (f.severity === 'valid') {
      if (!this.#verbose) return; // before its line is made: most findings are valid
      this.#lastDoubleSpace = false;
      this.#out(`${findingLine(f)}\n`);
      return;
    }
    const line = findingLine(f);
    this.#err(this.#lastDoubleSpace ? `${line}\n\n` : `\n${line}\n\n`);
    this.#lastDoubleSpace = true;
  }

  /**
   * The summary: the AWS CLI's lines, then one line per other kind of finding the verdict
   * rests on that they cannot show (other objects, each chain-level code: {@link chainLevelCounts}).
   * @param s - the summary
   * @param start - requested start
   * @param end - requested end
   * @param options - `failOnGap`: gaps fail the run, and get their line too
   */
  summary(s: Summary, start: string, end: string, options: { failOnGap?: boolean } = {}): void {
    let text = this.#lastDoubleSpace ? '' : '\n';
    text += `Results requested for ${start} to ${end}\n`;
    const tail = objectsLine(s) + chainLines(s, options.failOnGap === true);
    const totalDigests = s.digests.valid + s.digests.invalid + s.backfillDigests.valid + s.backfillDigests.invalid;
    if (totalDigests === 0) {
      this.#out(text + 'No digests found\n' + tail);
      return;
    }
    text += s.foundStart && s.foundEnd ? `Results found for ${s.foundStart} to ${s.foundEnd}:\n` : 'No valid digests found in range\n';
    const ratio = (valid: number, invalid: number, name: string): string => {
      const total = valid + invalid;
      if (total === 0) return '';
      return `\n${valid}/${total} ${name} files valid` + (invalid > 0 ? `, ${invalid}/${total} ${name} files INVALID` : '');
    };
    text += ratio(s.digests.valid, s.digests.invalid, 'digest');
    text += ratio(s.backfillDigests.valid, s.backfillDigests.invalid, 'backfill digest');
    text += ratio(s.logs.valid, s.logs.invalid, 'log');
    this.#out(text + '\n' + tail);
  }
}

/** The summary line for other objects (neither logs nor digests), only when there are some. */
function objectsLine(s: Summary): string {
  const n = s.objects.valid + s.objects.invalid;
  return n === 0 ? '' : `${s.objects.invalid}/${n} other objects INVALID (neither a log nor a digest file of this trail)\n`;
}

/** One summary line per chain-level code the verdict rests on: `1 CHECKPOINT_MISMATCH INVALID (what it means)`. */
function chainLines(s: Summary, failOnGap: boolean): string {
  return chainLevelCounts(s, failOnGap)
    .map((c) => `${c.count} ${c.code} INVALID (${c.meaning})\n`)
    .join('');
}

/**
 * The text report of a run, region by region: with several regions each begins with a
 * `Region NAME:` line and has its own AWS CLI output. A region's first line waits for its
 * first finding or its end, so that a run that cannot start prints only its error.
 */
export class TextReport implements RegionSink {
  readonly #out: (s: string) => void;
  readonly #err: (s: string) => void;
  readonly #verbose: boolean;
  readonly #head: { trailArn: string; start: string; end: string; multi: boolean; failOnGap?: boolean };
  #writer: TextWriter | undefined;
  #closed = false;

  /**
   * @param out - writes to stdout
   * @param err - writes to stderr
   * @param verbose - print valid lines too
   * @param head - the ARN and requested range of the first line, whether several regions are reported, and whether gaps fail the run
   */
  constructor(out: (s: string) => void, err: (s: string) => void, verbose: boolean, head: { trailArn: string; start: string; end: string; multi: boolean; failOnGap?: boolean }) {
    this.#out = out;
    this.#err = err;
    this.#verbose = verbose;
    this.#head = head;
  }

  /**
   * Whether a finding is printed: INVALID lines and notices always, valid ones with --verbose.
   * @param f - the finding
   * @returns true when it gets a line
   */
  wants(f: Finding): boolean {
    return this.#verbose || f.severity !== 'valid';
  }

  /**
   * Print a finding of the current region.
   * @param region - its region
   * @param f - the finding
   */
  finding(region: string, f: Finding): void {
    if (!this.#closed) this.#region(region).finding(f);
  }

  /**
   * Print the summary of the current region.
   * @param region - the region
   * @param summary - its summary
   */
  regionEnd(region: string, summary: Summary): void {
    if (this.#closed) return;
    this.#region(region).summary(summary, this.#head.start, this.#head.end, { failOnGap: this.#head.failOnGap === true });
    this.#writer = undefined;
  }

  /** Print nothing more (the run stopped and its error is being said). */
  close(): void {
    this.#closed = true;
  }

  #region(region: string): TextWriter {
    if (this.#writer) return this.#writer;
    if (this.#head.multi) this.#out(`Region ${region}:\n`);
    this.#writer = new TextWriter(this.#out, this.#err, this.#verbose);
    this.#writer.startup(this.#head.trailArn, this.#head.start, this.#head.end);
    return this.#writer;
  }
}
