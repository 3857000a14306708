/**
 * What a command needs from its process, passed in so that commands are plain functions
 * (tested in-process and end to end), and one error type for usage and environment mistakes.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { parseUserTime } from '../format/time.js';
import { createNodePlatform, nodePlatform } from '../parallel/node.js';
import type { PooledPlatform } from '../chain/offload.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GLOBAL_OPTIONS, readGlobalFlags } from './global.js';
import { packageVersion, processIO, StopError, stoppedBy, write, type CommandIO } from './process.js';
import { UsageError } from './usage-error.js';

export { UsageError };
export {
  compileCacheDir,
  HEAP_GROWING_PERCENT,
  keepHeapsSmall,
  packageVersion,
  processIO,
  runIfMain,
  runProgram,
  StopError,
  stoppedBy,
  useCompileCache,
  write,
  type CommandIO,
  type ProgramOptions,
  type StopCode,
} from './process.js';

/**
 * Wait for `work`, or stop waiting when `signal` aborts (rejecting with its reason): a run
 * stopped from outside ends at once, even while a read is in flight.
 * @param work - what to wait for
 * @param signal - the stop signal, if any
 * @returns what `work` resolves to
 */
export function untilStopped<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const stopped = (): void => reject(signal.reason);
    if (signal.aborted) stopped();
    signal.addEventListener('abort', stopped, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', stopped);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', stopped);
        reject(e);
      },
    );
  });
}

type OptionTable = NonNullable<ParseArgsConfig['options']>;

/**
 * Parse flags strictly: unknown flags, missing values and stray arguments are usage errors.
 * @param argv - the arguments
 * @param options - the option table
 * @returns the parsed values
 * @throws UsageError
 */
export function parseFlags<const T extends OptionTable>(
  argv: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values'] {
  return parseCommandLine(argv, options, false).values;
}

/**
 * {@link parseFlags}, with arguments that are not flags (`merge REPORT...`) when `positionals` is true.
 * @param argv - the arguments
 * @param options - the option table
 * @param positionals - whether stray arguments are allowed
 * @returns the parsed values and the other arguments
 * @throws UsageError
 */
export function parseCommandLine<const T extends OptionTable>(
  argv: string[],
  options: T,
  positionals: boolean,
): { values: ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values']; positionals: string[] } {
  unknownFlag(argv, options);
  try {
    const r = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals });
    return { values: r.values as ReturnType<typeof parseFlags<T>>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : String(e)} (see --help)`);
  }
}

/**
 * Refuse the first flag not in the table, with the known flag it is likely a typo of.
 * @param argv - the arguments
 * @param options - the option table
 * @throws UsageError: `Unknown option '--trail-ar': did you mean --trail-arn? (see --help)`
 */
function unknownFlag(argv: string[], options: OptionTable): void {
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option' || Object.hasOwn(options, t.name)) continue;
    const near = t.rawName.startsWith('--') ? closestFlag(t.name, Object.keys(options)) : undefined;
    throw new UsageError(`Unknown option '${t.rawName}'${near ? `: did you mean --${near}?` : ''} (see --help)`);
  }
}

/**
 * The flag a mistyped name most likely meant: the one nearest by edit distance (a letter
 * added, dropped, changed, or two swapped), when it is near enough (1 edit for names up to 4
 * letters, 2 up to 8, 3 beyond) and no other flag is as near.
 * @param name - the name given, without dashes
 * @param known - the command's flags
 * @returns the flag, or undefined when none is close
 */
export function closestFlag(name: string, known: readonly string[]): string | undefined {
  const most = name.length <= 4 ? 1 : name.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = most + 1;
  let tie = false;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k);
    if (d < bestDistance) [best, bestDistance, tie] = [k, d, false];
    else if (d === bestDistance) tie = true;
  }
  return tie ? undefined : best;
}

/** The optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Write to a stream, waiting for it to drain when its buffer is full (back-pressure), so a
 * slow reader never makes the output pile up in memory.
 * @param stream - the stream
 * @param text - the text
 */
export async function writeWithBackpressure(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (stream.write(text)) return;
  // Wait for room; a stream that fails or closes meanwhile (EPIPE) will never drain.
  await new Promise<void>((resolve, reject) => {
    const done = (e?: unknown): void => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', closed);
      if (e) reject(e instanceof Error ? e : new Error(String(e)));
      else resolve();
    };
    const closed = (): void => done(Object.assign(new Error('the stream was closed'), { code: 'EPIPE' }));
    stream.on('drain', done);
    stream.on('error', done);
    stream.on('close', closed);
  });
}

/** The flags parsed from an option table. */
export type Flags<T extends OptionTable> = ReturnType<typeof parseFlags<T>>;

/** What a command is: its name, help, options and body. */
export interface CommandSpec<T extends OptionTable> {
  /** Command name, the prefix of its error lines. */
  name: string;
  /** The `--help` text. */
  help: string;
  /** Its flags (`--help` and `--version` are added). */
  options: T;
  /** Whether it takes arguments that are not flags (given to `run` as `args`). */
  positionals?: boolean;
  /**
   * The command's work.
   * @param flags - the parsed flags
   * @param need - returns a required string flag, or throws the usage error naming it
   * @param io - streams, environment and clock
   * @param args - the arguments that are not flags (with `positionals`)
   * @returns the exit status
   */
  run(flags: Flags<T>, need: (flag: keyof T & string) => string, io: CommandIO, args: string[]): Promise<number>;
  /**
   * Optional: true when the flags name a run that reaches no AWS endpoint (see
   * {@link readGlobalFlags}'s `offline`); judged conservatively, as a wrong true loses the named
   * refusal of a certificate in `AWS_CA_BUNDLE` that does not parse (TLS skips it silently).
   * @param flags - the parsed flags
   */
  offline?(flags: Flags<T>): boolean;
  /**
   * Optional: called with whatever stopped the run (a usage or data error, a {@link StopError},
   * an unexpected exception), before its line on stderr, to end the command's output properly.
   * @param error - what was thrown
   * @param argv - the arguments
   * @param io - streams, environment and clock
   */
  failed?(error: unknown, argv: string[], io: CommandIO): Promise<void>;
}

const HELP_AND_VERSION = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } } as const;

/** The flags every command has: `--help`, `--version`, and the AWS CLI's global options. */
export const COMMON_OPTIONS: typeof HELP_AND_VERSION & typeof GLOBAL_OPTIONS = { ...HELP_AND_VERSION, ...GLOBAL_OPTIONS };

/**
 * Make a command: strict flags, `--help`, `--version`, and every usage or data error (or a
 * stop from outside) turned into one line on stderr and exit status 2.
 * @param spec - the command
 * @returns the command as a function of its arguments
 */
export function defineCommand<T extends OptionTable>(spec: CommandSpec<T>): (argv: string[], io?: CommandIO) => Promise<number> {
  return async (argv, io = processIO()) => {
    try {
      const parsed = parseCommandLine(argv, { ...spec.options, ...COMMON_OPTIONS }, spec.positionals === true);
      const flags = parsed.values as Record<string, unknown>;
      if (flags.help) {
        await write(io.stdout, spec.help);
        return 0;
      }
      if (flags.version) {
        await write(io.stdout, `${packageVersion()}\n`);
        return 0;
      }
      const global = await readGlobalFlags(flags, io.env, (line) => void io.stderr.write(`${spec.name}: ${line}\n`), spec.offline?.(flags as unknown as Flags<T>) ?? false);
      io = { ...io, http: global.http, ...(global.debug && { debug: global.debug }) };
      const need = (flag: keyof T & string): string => {
        const v = flags[flag];
        if (typeof v !== 'string' || v === '') throw new UsageError(`--${flag} is required (see --help)`);
        return v;
      };
      const status = await spec.run(flags as unknown as Flags<T>, need, io, parsed.positionals);
      io.debug?.(`exit status ${status}`);
      return status;
    } catch (e) {
      const error = stoppedBy(e, io.signal) ?? e;
      await spec.failed?.(error, argv, io);
      if (error instanceof UsageError || error instanceof ValidateLogsError || error instanceof StopError) {
        await write(io.stderr, `${spec.name}: error: ${error.message}\n`);
        return 2;
      }
      throw e;
    }
  };
}

/**
 * A time flag as the AWS CLI accepts it, or a usage error naming the flag.
 * @param text - the flag's value
 * @param flag - the flag's name, with dashes
 * @returns the time
 * @throws UsageError
 */
export function timeFlag(text: string, flag: string): Date {
  try {
    return parseUserTime(text, flag);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * `--concurrency`: objects read from storage at once.
 * @param text - the flag's value
 * @returns the number, from 1 to 1024
 * @throws UsageError
 */
export function concurrencyFlag(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 1024) throw new UsageError(`--concurrency must be a whole number from 1 to 1024, not ${JSON.stringify(text)}`);
  return n;
}

/** Platforms made for `--threads` values, one per size: a command that reads the flag twice (to start the threads early) gets the same pool. */
const sized = new Map<number, PooledPlatform>();

/**
 * `--threads`: the Node platform with a pool of that many hashing threads.
 * @param text - the flag's value; the default (every available core) when undefined
 * @param warm - start the threads now, while the command reads its other inputs (they take tens of milliseconds to start)
 * @returns the platform (the same one for the same value)
 * @throws UsageError
 */
export function threadsFlag(text: string | undefined, warm = false): PooledPlatform {
  let platform = nodePlatform;
  if (text !== undefined) {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n > 1024) throw new UsageError(`--threads must be a whole number from 0 to 1024, not ${JSON.stringify(text)}`);
    platform = sized.get(n) ?? createNodePlatform({ threads: n });
    sized.set(n, platform);
  }
  if (warm) platform.offload?.warm();
  return platform;
}
