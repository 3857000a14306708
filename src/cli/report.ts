/**
 * The HTML report on the command line: `validate-logs --report FILE.html` (a run writes the
 * document made from its own JSON report) and `validate-logs report --from report.json --out
 * FILE.html` (the same document from a saved JSON report: the same bytes, since the document
 * takes everything, the time it ran included, from the report).
 * @module
 */
import type { PublicKeySet } from '../crypto/keys.js';
import { ValidateLogsError } from '../errors.js';
import { PassThrough } from 'node:stream';
import { checkHistoryAnswer, checkJsonReport, historyAnswerSha256, jsonReportSha256, type JsonReportDocument, type ReportRun } from '../report/document.js';
import { renderPeriodHtml, renderReportHtml } from '../report/html.js';
import type { HistoryAnswer } from '../watch/history.js';
import { readWholeFile } from '../sources/local/read.js';
import { outputExists } from '../sources/local/write.js';
import type { WrittenCheckpoint } from './checkpoint-run.js';
import { writeAtomically } from './checkpoint-files.js';
import { defineCommand, processIO, UsageError, write, type CommandIO, type Flags } from './io.js';

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

/** The help text of `validate-logs report`. */
export const REPORT_HELP: string = `Usage: validate-logs report --from REPORT.json --out FILE.html
       validate-logs report --from REPORT.json --sha256
       validate-logs report --history STATE --from TIME --to TIME --out FILE.html

Renders the auditor's report (one self-contained HTML file: the verdict, the scope, each
chain's hours as a figure, the findings with what they mean and what to do, the method, the
control mapping, and the report's own SHA-256 and checkpoint) from a JSON report that
"validate-logs --output json" printed. A run given --report writes the same document; from the
JSON report that run printed, this command writes the same bytes.

A period report comes from a watcher's history ("validate-logs watch --state STATE"): every
hour of the period verified or not, how soon after delivery, the passes that found something
and when they alerted, the gaps in the watching; it is the answer "validate-logs history
--output json" gives, as a document (that answer saved to a file renders the same document
with --from).

  --from FILE      The JSON report, or a history answer (at most 256 MiB).
  --history STATE  A watcher's state (a folder, or s3://BUCKET/PREFIX/): a period report;
                   --from and --to are then the period's start and end (UTC ISO 8601).
  --to TIME        With --history: the period's end (exclusive).
  --interval DURATION, --profile NAME, --endpoint-url URL, --region REGION
                   With --history: as "validate-logs history" takes them.
  --out FILE       Where to write the HTML, atomically; a symbolic link, FIFO or folder
                   there is refused (exit 2), and nothing is written.
  --sha256         Print the canonical SHA-256 of the JSON report (what the document shows,
                   and the "report" line of a checkpoint written by the same run), or of the
                   history answer.
  --help           Show this help.

Exit status: 0 written (or printed); 2 a usage error (the message says what to fix).
See docs/report.md.
`;

const REPORT_OPTIONS = {
  from: { type: 'string' },
  out: { type: 'string' },
  sha256: { type: 'boolean' },
  history: { type: 'string' },
  to: { type: 'string' },
  interval: { type: 'string' },
  profile: { type: 'string' },
  'endpoint-url': { type: 'string' },
  region: { type: 'string' },
} as const;

/** What a document is made from: a run's JSON report, or a history's answer. */
type Source = { report: JsonReportDocument } | { answer: HistoryAnswer };

/**
 * The period's answer, as `validate-logs history --output json` gives it (the same command
 * run in this process, its document kept): one source of truth for what a history says.
 */
async function historyAnswer(flags: Flags<typeof REPORT_OPTIONS>, io: CommandIO): Promise<HistoryAnswer | undefined> {
  if (flags.from === undefined || flags.to === undefined) throw new UsageError('--history needs --from TIME and --to TIME: the period to report');
  const args = ['--state', flags.history!, '--from', flags.from, '--to', flags.to, '--output', 'json'];
  for (const k of ['interval', 'profile', 'endpoint-url', 'region'] as const) if (flags[k] !== undefined) args.push(`--${k}`, flags[k]);
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const { historyCommand } = await import('./history.js');
  const status = await historyCommand(args, { ...io, stdout: out });
  if (status === 2) return undefined; // its error is on stderr already
  return checkHistoryAnswer(JSON.parse(Buffer.concat(chunks).toString('utf8')));
}

/** A saved document: a JSON report, or a history answer (it has a `format`). */
async function readSource(file: string): Promise<Source> {
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
    return value !== null && typeof value === 'object' && 'format' in value ? { answer: checkHistoryAnswer(value) } : { report: checkJsonReport(value) };
  } catch (e) {
    throw new UsageError(`--from ${file}: ${(e as Error).message.slice(0, 300)}`);
  }
}

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
      if (flags.history === undefined) {
        for (const k of ['to', 'interval', 'profile', 'endpoint-url', 'region'] as const) if (flags[k] !== undefined) throw new UsageError(`--${k} is for a period report: give --history STATE`);
      }
      if (flags.out !== undefined) await checkReportPath(flags.out, '--out');
      let source: Source;
      if (flags.history !== undefined) {
        const answer = await historyAnswer(flags, io);
        if (!answer) return 2;
        source = { answer };
      } else source = await readSource(from);
      if (flags.sha256) await write(io.stdout, `${'report' in source ? jsonReportSha256(source.report) : historyAnswerSha256(source.answer)}\n`);
      if (flags.out !== undefined) await writeAtomically(flags.out, 'report' in source ? renderReportHtml(source.report) : renderPeriodHtml(source.answer));
      return 0;
    },
  })(argv, io);
}
