/**
 * The HTML report on the command line: `validate-logs --report FILE.html` (a run writes the
 * document made from its own JSON report) and `validate-logs report --from report.json --out
 * FILE.html` (the same document from a saved JSON report: the same bytes, since the document
 * takes everything, the time it ran included, from the report).
 * @module
 */
import type { PublicKeySet } from '../crypto/keys.js';
import { ValidateLogsError } from '../errors.js';
import { checkJsonReport, jsonReportSha256, type JsonReportDocument, type ReportRun } from '../report/document.js';
import { renderReportHtml } from '../report/html.js';
import { readWholeFile } from '../sources/local/read.js';
import { outputExists } from '../sources/local/write.js';
import type { WrittenCheckpoint } from './checkpoint-run.js';
import { writeAtomically } from './checkpoint-files.js';
import { defineCommand, processIO, UsageError, write, type CommandIO } from './io.js';

/** The largest JSON report `report --from` reads: 256 MiB (about 800,000 findings). */
export const MAX_REPORT_BYTES: number = 256 * 1024 * 1024;

/**
 * Check, before the run, where `--report` will be written: nothing there, or a regular file.
 * @param path - the `--report` value
 * @param flag - the flag, for the message
 * @throws UsageError naming the flag and what is there (a symbolic link, a FIFO, a folder, a missing folder)
 */
export async function checkReportPath(path: string, flag = '--report'): Promise<void> {
  if (path === '') throw new UsageError(`${flag} needs a file name`);
  try {
    await outputExists(path);
  } catch (e) {
    if (e instanceof ValidateLogsError) throw new UsageError(`${flag} ${path}: ${e.message}`, { cause: e });
    throw new UsageError(`${flag} ${path}: cannot write there: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The report's `run` member: when the run started and finished, the keys it trusted (by
 * fingerprint, sorted), and the checkpoint it wrote.
 * @param startedAt - when it started
 * @param finishedAt - when it finished
 * @param keys - the keys it trusted (given and fetched)
 * @param checkpoint - what `--checkpoint-out` wrote, if anything
 * @returns the member
 */
export function runInfo(startedAt: Date, finishedAt: Date, keys: PublicKeySet, checkpoint?: WrittenCheckpoint): ReportRun {
  const list = [...keys]
    .map((k) => ({ fingerprint: k.fingerprint, ...(k.validFrom && { validFrom: isoSeconds(k.validFrom) }), ...(k.validTo && k.validTo.getUTCFullYear() < 9000 && { validTo: isoSeconds(k.validTo) }) }))
    .sort((a, b) => (a.fingerprint + (a.validFrom ?? '') < b.fingerprint + (b.validFrom ?? '') ? -1 : 1));
  const stamp = checkpoint?.stamp;
  return {
    startedAt: isoSeconds(startedAt),
    finishedAt: isoSeconds(finishedAt),
    keys: list,
    ...(checkpoint && {
      checkpoint: {
        file: checkpoint.path,
        note: checkpoint.note,
        ...(stamp && { timestamp: { file: stamp.path, ...(stamp.info && { time: isoSeconds(stamp.info.genTime), authority: stamp.info.signer }) } }),
      },
    }),
  };
}

/**
 * Render a run's JSON report and write it atomically: the document goes through JSON first, so
 * it is exactly what a reader of the printed report gets (`report --from` renders the same bytes).
 * @param path - the `--report` file
 * @param doc - the JSON report, as the run prints it
 * @throws UsageError when the file cannot be written (a link, a FIFO or a folder put there since the check)
 */
export async function writeRunReport(path: string, doc: JsonReportDocument): Promise<void> {
  await writeAtomically(path, renderReportHtml(checkJsonReport(JSON.parse(JSON.stringify(doc)))));
}

/**
 * Read a saved JSON report: a regular file, at most {@link MAX_REPORT_BYTES}, a JSON report.
 * @param file - the file
 * @returns the report
 * @throws UsageError naming the file and what is wrong
 */
export async function readJsonReport(file: string): Promise<JsonReportDocument> {
  const read = await readWholeFile(file, MAX_REPORT_BYTES);
  if ('absent' in read) throw new UsageError(`cannot read --from ${file}: no such file`);
  if ('why' in read) throw new UsageError(`cannot read --from ${file}: ${read.why}`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(read.bytes));
  } catch (e) {
    throw new UsageError(`--from ${file} is not a JSON document: ${e instanceof Error ? e.message.slice(0, 200) : String(e)}`);
  }
  try {
    return checkJsonReport(value);
  } catch (e) {
    throw new UsageError(`--from ${file}: ${(e as Error).message.slice(0, 300)}`);
  }
}

/** The help text of `validate-logs report`. */
export const REPORT_HELP: string = `Usage: validate-logs report --from REPORT.json --out FILE.html
       validate-logs report --from REPORT.json --sha256

Renders the auditor's report (one self-contained HTML file: the verdict, the scope, each
chain's hours as a figure, the findings with what they mean and what to do, the method, the
control mapping, and the report's own SHA-256 and checkpoint) from a JSON report that
"validate-logs --output json" printed. A run given --report writes the same document; from the
JSON report that run printed, this command writes the same bytes.

  --from FILE      The JSON report (at most 256 MiB).
  --out FILE       Where to write the HTML, atomically; a symbolic link, FIFO or folder
                   there is refused (exit 2), and nothing is written.
  --sha256         Print the JSON report's canonical SHA-256 (what the report shows, and the
                   "report" line of a checkpoint written by the same run).
  --help           Show this help.

Exit status: 0 written (or printed); 2 a usage error (the message says what to fix).
See docs/report.md.
`;

const REPORT_OPTIONS = {
  from: { type: 'string' },
  out: { type: 'string' },
  sha256: { type: 'boolean' },
} as const;

/**
 * Run `validate-logs report`.
 * @param argv - the arguments after `report`
 * @param io - streams, environment, clock and stop signal
 * @returns the exit status
 */
export function reportCommand(argv: string[], io: CommandIO = processIO()): Promise<number> {
  return defineCommand({
    name: 'validate-logs report',
    help: REPORT_HELP,
    options: REPORT_OPTIONS,
    run: async (flags, need, io) => {
      const from = need('from');
      if (flags.out === undefined && flags.sha256 !== true) throw new UsageError('validate-logs report needs --out FILE.html (or --sha256): see --help');
      if (flags.out !== undefined) await checkReportPath(flags.out, '--out');
      const doc = await readJsonReport(from);
      if (flags.sha256) await write(io.stdout, `${jsonReportSha256(doc)}\n`);
      if (flags.out !== undefined) await writeAtomically(flags.out, renderReportHtml(doc));
      return 0;
    },
  })(argv, io);
}
