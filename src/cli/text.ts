/**
 * The AWS CLI's `validate-logs` text output, character for character: valid lines (with
 * `--verbose`) on stdout, INVALID lines on stderr framed by blank lines as the AWS CLI frames
 * them, and its summary.
 * @module
 */
import type { Finding } from '../chain/findings.js';
import type { Summary } from '../chain/report.js';

/**
 * The AWS CLI's line for a finding: `Digest file<TAB>URI<TAB>valid`, `Log file<TAB>URI<TAB>INVALID: ...`.
 * @param f - the finding
 * @returns the line, without newline
 */
export function findingLine(f: Finding): string {
  if (f.code === 'CHAIN_GAP') {
    return `${f.backfill ? '(backfill) ' : ''}No log files were delivered by CloudTrail between ${f.startTime} and ${f.endTime}`;
  }
  const what = f.kind === 'digest' ? `${f.backfill ? '(backfill) ' : ''}Digest file` : f.kind === 'log' ? 'Log file' : 'Digest chain';
  return `${what}\t${f.object}\t${statusText(f)}`;
}

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
    case 'DIGEST_SIGNATURE_MISSING':
      return 'INVALID: signature verification failed';
    case 'LOG_HASH_MISMATCH':
      return "INVALID: hash value doesn't match";
    case 'LOG_UNREFERENCED':
      return 'INVALID: not listed in any digest (injected, or withheld from the digests)';
    default:
      return `INVALID: ${f.message}`;
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
    const line = findingLine(f);
    if (f.severity === 'valid') {
      if (!this.#verbose) return;
      this.#lastDoubleSpace = false;
      this.#out(`${line}\n`);
      return;
    }
    this.#err(this.#lastDoubleSpace ? `${line}\n\n` : `\n${line}\n\n`);
    this.#lastDoubleSpace = true;
  }

  /**
   * The summary.
   * @param s - the summary
   * @param start - requested start
   * @param end - requested end
   */
  summary(s: Summary, start: string, end: string): void {
    let text = this.#lastDoubleSpace ? '' : '\n';
    text += `Results requested for ${start} to ${end}\n`;
    const totalDigests = s.digests.valid + s.digests.invalid + s.backfillDigests.valid + s.backfillDigests.invalid;
    if (totalDigests === 0) {
      this.#out(text + 'No digests found\n');
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
    this.#out(text + '\n');
  }
}
